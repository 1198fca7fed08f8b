# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The NFS gateway: exports served by nfs-ganesha. Private to this collection.

One piece that any backend exports directories through: the Linux server (``FSAL VFS``
over btrfs subvolumes) and the Ceph backend (``FSAL CEPH`` over CephFS directories). The
FSAL block is a parameter; nothing here knows what is behind the path.

* **Validation for the destination.** A client, a path, an option reaches ganesha's
  configuration only in a form ganesha reads back as exactly that value: clients as
  the typed, unquoted terms ganesha's lexer expects (it refuses quoted clients), strings
  double-quoted with no quote, backslash or control character (no line break of any
  Unicode kind can pass), options mapped from exports(5) words to ganesha parameters;
  anything else is ``InvalidValueEx`` before a file is touched. Every term is lexed
  again with the rules of ganesha's ``conf_lex.l`` (longest match, first rule on a tie),
  and every rendered file is parsed again and must give the tree it was made from.
* **One EXPORT block per export**, all permissions explicit (``EXPORT_DEFAULTS`` of the
  main configuration cannot widen them): the export itself grants nothing
  (``Access_Type = None``), one CLIENT block per client list, then a last CLIENT block
  that refuses everyone else. NFSv4 only, with a pseudo path.
* **Secrets** an FSAL needs (FSAL CEPH's ``Secret_Access_Key``) are in the EXPORT block only:
  the header keeps a digest, files are made mode 0600, and no message quotes them.
* **Files.** An owner (a pool, a file system) has one file ``<exports dir>/<name>.conf``
  with its exports and a header line holding what it was made from (JSON) and a digest
  of the blocks, so an edit by hand shows. The main configuration reads the directory
  with ``%dir "<exports dir>/*.conf"``; files are written under another name and renamed
  into place, so ganesha never reads half a file. Export ids are unique per ganesha and
  kept per export across changes (ganesha cannot change the path of an id).
* **Live changes** touch only the exports that changed: ``AddExport``, ``UpdateExport``
  and ``RemoveExport`` over DBus when ganesha is on a bus (the bus of its environment,
  else the system bus); without a bus, ``SIGHUP`` (ganesha re-reads its exports and
  swaps each client list atomically) and the wait for "Reread exports complete" in its
  log. Either way the other exports keep their clients, and a restart reads the same files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import socket
import time

from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner, fixed, opt_eq_val, positional
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

DEFAULT_CONF = "/etc/ganesha/ganesha.conf"
DEFAULT_PORT = 2049
EXPORTS_DIR = "exports.d"        # beside the main configuration
FORMAT_VERSION = 1
HEADER = "# stormgmt: "
MAX_EXPORT_ID = 65535            # 0 is the pseudo root
ANONYMOUS_ID = 65534             # exports(5): nobody
RELOAD_TIMEOUT = 30.0

DBUS_SEND = Runner("dbus-send", dict(
    bus=opt_eq_val("--bus"), reply=fixed("--print-reply"), dest=fixed("--dest=org.ganesha.nfsd"),
    dest_bus=fixed("--dest=org.freedesktop.DBus"),
    object=positional(), method=positional(), args=positional()), package="dbus-bin", timeout=60)
EXPORT_MGR = "/org/ganesha/nfsd/ExportMgr"
EXPORT_IFACE = "org.ganesha.nfsd.exportmgr."

# --- ganesha's lexer (conf_lex.l), the part that reads values --------------------------------

_OCT, _HEX, _DEC = r"0[0-7][0-7]*", r"0[xX][0-9a-fA-F]+", r"(?:0|[1-9][0-9]*)"
_NUM = (_OCT, _DEC, _HEX)
_V4 = r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = r"(?:%s:%s|%s)" % (_H16, _H16, _V4)
_V6 = (  # RFC 3986 IPv6address, as conf_lex.l spells it
    r"(?:%s:){6}%s" % (_H16, _LS32), r"::(?:%s:){5}%s" % (_H16, _LS32),
    r"(?:%s)?::(?:%s:){4}%s" % (_H16, _H16, _LS32), r"(?:(?:%s:){0,1}%s)?::(?:%s:){3}%s" % (_H16, _H16, _H16, _LS32),
    r"(?:(?:%s:){0,2}%s)?::(?:%s:){2}%s" % (_H16, _H16, _H16, _LS32), r"(?:(?:%s:){0,3}%s)?::%s:%s" % (_H16, _H16, _H16, _LS32),
    r"(?:(?:%s:){0,4}%s)?::%s" % (_H16, _H16, _LS32), r"(?:(?:%s:){0,5}%s)?::%s" % (_H16, _H16, _H16),
    r"(?:(?:%s:){0,6}%s)?::" % (_H16, _H16))
_WC = r"[a-zA-Z0-9._-]"
_WP = r"(?:\[!?%s+\]|\*|\?)" % _WC

# (token type, alternatives) in the order of conf_lex.l: flex takes the longest match and,
# on a tie, the rule written first
_TERM_RULES = [
    ("DQUOTE", [r'"(?:\\.|[^"])*"']),
    ("SQUOTE", [r"'[^']*'"]),
    ("TRUE", [r"[Yy][Ee][Ss]", r"[Tt][Rr][Uu][Ee]", r"[Oo][Nn]"]),
    ("FALSE", [r"[Nn][Oo]", r"[Ff][Aa][Ll][Ss][Ee]", r"[Oo][Ff][Ff]"]),
    ("ARITH_OP", [r"-", r"~"]),
    ("NINEP", [r"9[pP]"]),
    ("FSID", [r"%s\.%s" % (left, right) for left in _NUM for right in _NUM]),
    ("OCTNUM", [_OCT]),
    ("HEXNUM", [_HEX]),
    ("DECNUM", [_DEC]),
    ("V4_ANY", [r"\*", r"0\.0\.0\.0"]),
    ("V4ADDR", [_V4 + r"(?:/(?:0|[1-9][0-9]?))?"]),
    ("V6ADDR", [alt + r"(?:/(?:0|[1-9][0-9]{0,2}))?" for alt in _V6]),
    ("NETGROUP", [r"@[a-zA-Z_][a-zA-Z0-9_.-]*"]),
    ("PATH", [r"/(?:[a-zA-Z0-9._-]+/?)?", r"/?[a-zA-Z0-9._-]+(?:/[a-zA-Z0-9._-]+)+/?"]),
    ("TOKEN", [r"[a-zA-Z_?][a-zA-Z0-9._-]*"]),
    ("REGEX", [r"(?:%s*%s)+%s*" % (_WC, _WP, _WC)]),
]
_PUNCT = {"=": "EQUAL", ",": "COMMA", ";": "SEMI", "{": "LCURLY", "}": "RCURLY"}
_ID = lazy_compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
_DIRECTIVE = lazy_compile(r"%(include|dir|url|plugin)\b")
_INCL = lazy_compile(r'"?(/?[a-zA-Z0-9._*-]+(?:/[a-zA-Z0-9._*-]+)*/?)"?')
_COMPILED = [(kind, [lazy_compile(alt) for alt in alts]) for kind, alts in _TERM_RULES]


class ConfigSyntaxError(ValueError):
    """Text that nfs-ganesha's parser would not read as meant."""


def _term_at(text: str, pos: int):
    """(type, text) of the longest term at ``pos``; the earlier rule wins a tie."""
    best = None
    for kind, patterns in _COMPILED:
        for pattern in patterns:
            match = pattern.match(text, pos)
            if match and match.end() > pos and (best is None or match.end() - pos > len(best[1])):
                best = (kind, match.group(0))
    return best


def tokenize(text: str) -> list:
    """Tokens of a ganesha configuration: (type, text). Raises ConfigSyntaxError."""
    tokens, pos, state, depth = [], 0, "INIT", 0
    while pos < len(text):
        char = text[pos]
        if char in " \t\r\f\n":
            pos += 1
            continue
        if char == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        if state == "INIT" and char == "%":
            match = _DIRECTIVE.match(text, pos)
            if not match:
                raise ConfigSyntaxError("unknown directive at %r" % text[pos:pos + 20])
            pos = match.end()
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            argument = _INCL.match(text, pos)
            if not argument:
                raise ConfigSyntaxError("%%%s without a path" % match.group(1))
            tokens.append(("DIRECTIVE", match.group(1), argument.group(1)))
            pos = argument.end()
            continue
        if char in _PUNCT:
            kind = _PUNCT[char]
            tokens.append((kind, char))
            pos += 1
            if kind == "EQUAL":
                state = "TERM"
            elif kind in ("SEMI", "LCURLY"):
                depth += kind == "LCURLY"
                state = "DEFINITION"
            elif kind == "RCURLY":
                depth -= 1
                state = "INIT" if depth <= 0 else "DEFINITION"
            continue
        if state in ("INIT", "DEFINITION"):
            match = _ID.match(text, pos)
            if not match:
                raise ConfigSyntaxError("unexpected character %r" % char)
            tokens.append(("IDENTIFIER", match.group(0)))
            pos = match.end()
            state = "DEFINITION"
            continue
        term = _term_at(text, pos)
        if term is None:
            raise ConfigSyntaxError("unexpected character %r" % char)
        tokens.append(term)
        pos += len(term[1])
    return tokens


def term_value(token: tuple) -> str:
    """The value ganesha takes from a term (quotes off, escapes resolved)."""
    kind, text = token[0], token[1]
    if kind == "DQUOTE":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "SQUOTE":
        return text[1:-1]
    return text


def parse(text: str) -> list:
    """A configuration as a tree: ("block", NAME, [children]), ("param", NAME, [(type, value)]),
    ("directive", KIND, PATH). Raises ConfigSyntaxError."""
    tokens = tokenize(text)
    position = [0]

    def peek(offset=0):
        index = position[0] + offset
        return tokens[index] if index < len(tokens) else ("EOF", "")

    def take(kind=None):
        token = peek()
        if kind is not None and token[0] != kind:
            raise ConfigSyntaxError("expected %s, found %r" % (kind, token[1]))
        position[0] += 1
        return token

    def statements(inside: bool) -> list:
        items = []
        while True:
            token = peek()
            if token[0] == "EOF":
                if inside:
                    raise ConfigSyntaxError("a block is not closed")
                return items
            if token[0] == "RCURLY":
                if not inside:
                    raise ConfigSyntaxError("'}' without a block")
                take()
                return items
            if token[0] == "DIRECTIVE":
                take()
                items.append(("directive", token[1], token[2]))
                continue
            name = take("IDENTIFIER")[1]
            if peek()[0] == "LCURLY":
                take()
                items.append(("block", name, statements(True)))
            elif peek()[0] == "EQUAL":
                take()
                terms = []
                while peek()[0] not in ("SEMI", "RCURLY", "EOF"):
                    if peek()[0] == "COMMA":
                        take()
                        continue
                    term = take()
                    if term[0] in ("IDENTIFIER", "LCURLY", "EQUAL", "DIRECTIVE"):
                        raise ConfigSyntaxError("unexpected %r in the value of %s" % (term[1], name))
                    terms.append((term[0], term_value(term)))
                if peek()[0] == "SEMI":
                    take()
                items.append(("param", name, terms))
            else:
                raise ConfigSyntaxError("expected '{' or '=' after %s" % name)

    return statements(False)


# --- values, checked for the destination --------------------------------------------------------

# line breaks of every kind, and every other control character
_UNSAFE = lazy_compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\"\\]")


def quoted(value: str, what: str) -> str:
    """``value`` as a double-quoted string ganesha reads back unchanged."""
    if not isinstance(value, str) or not value or _UNSAFE.search(value) or not value.isprintable() \
            or not all(ord(char) < 128 for char in value):
        raise InvalidValueEx("%s %r cannot be written into nfs-ganesha's configuration: use printable ASCII "
                             "without quotes, backslashes or line breaks" % (what, value), "export")
    return '"%s"' % value


def _single_term(text: str, kind: str, what: str) -> str:
    """``text`` if ganesha's lexer reads it as one term of type ``kind``, else InvalidValueEx."""
    term = _term_at(text, 0) if text else None
    if term is None or term[1] != text or term[0] != kind:
        read = "nothing" if term is None else "%s %r" % (term[0], term[1])
        raise InvalidValueEx("%s %r cannot be written into nfs-ganesha's configuration: it would read it as %s"
                             % (what, text, read), "export")
    return text


_V4_PLAIN = lazy_compile(r"^[0-9]{1,3}(?:\.[0-9]{1,3}){3}$")
_HOST = lazy_compile(r"^[a-z_][a-z0-9_.-]*$")
_PATTERN = lazy_compile(r"^[a-z0-9_.*?-]*[*?][a-z0-9_.*?-]*$")
_NETGROUP = lazy_compile(r"^@[a-zA-Z_][a-zA-Z0-9_.-]*$")


def client_kind(client: str) -> str:
    """The ganesha term type a normalised NFS client must be written as."""
    if client == "*":
        return "V4_ANY"
    if client.startswith("@"):
        return "NETGROUP"
    if ":" in client:
        return "V6ADDR"
    if _V4_PLAIN.match(client.split("/")[0]):
        return "V4ADDR"
    if "*" in client or "?" in client:
        return "REGEX"
    return "TOKEN"


def client_term(client: str) -> str:
    """A normalised NFS client (``_identifiers.normalize_nfs_client``) as ganesha's Clients term."""
    what = "NFS client"
    if not isinstance(client, str):
        raise InvalidValueEx("%s %r is not a string" % (what, client), "clients")
    kind = client_kind(client)
    shapes = {"NETGROUP": _NETGROUP, "TOKEN": _HOST, "REGEX": _PATTERN}
    if kind in shapes and not shapes[kind].match(client):
        hint = {"NETGROUP": "a netgroup must start with a letter or '_' and hold letters, digits, '_', '.', '-'",
                "TOKEN": "a host name must start with a letter or '_' (nfs-ganesha reads a leading digit as a number)",
                "REGEX": "a host name pattern holds letters, digits, '.', '-', '_', '*' and '?'"}[kind]
        raise InvalidValueEx("%s %r cannot be served by nfs-ganesha: %s" % (what, client, hint), "clients")
    return _single_term(client, kind, what)


def check_resolvable(client: str) -> None:
    """A host name client must resolve on the server: ganesha resolves it when it reads the
    export and serves the export without it otherwise."""
    if client_kind(client) != "TOKEN":
        return
    try:
        socket.getaddrinfo(client, None)
    except (socket.gaierror, UnicodeError, OSError):
        raise InvalidValueEx("NFS client %r does not resolve on the storage server; nfs-ganesha resolves host "
                             "names when it reads the export and would leave this one out" % client, "clients") from None


# --- exports(5) options -> ganesha permissions ------------------------------------------------------

SEC_FLAVORS = ("sys", "krb5", "krb5i", "krb5p", "none")
FLAGS = {
    "rw": ("access", "RW"), "ro": ("access", "RO"),
    "root_squash": ("squash", "root_squash"), "no_root_squash": ("squash", "no_root_squash"),
    "all_squash": ("all", True), "no_all_squash": ("all", False),
    "secure": ("privileged_port", True), "insecure": ("privileged_port", False),
    # what nfs-ganesha always does: replies after the data is stable, never checks subtrees
    "sync": ("sync", True), "no_subtree_check": ("subtree_check", False),
}
VALUED = ("anonuid", "anongid", "sec")
ACCEPTED = sorted(FLAGS) + ["anonuid=N", "anongid=N", "sec=FLAVOR[:FLAVOR...]"]


def export_rule(options: list) -> dict:
    """exports(5) options -> the permissions of a CLIENT block; InvalidValueEx for what ganesha
    does not do (``async``, ``subtree_check``, ``crossmnt``, ``fsid=``...) or contradicting options.

    Defaults are those of exports(5): read-only, root squashed to 65534, any source port, AUTH_SYS.
    """
    settings: dict = {}
    for option in options or []:
        if not isinstance(option, str):
            raise InvalidValueEx("export option %r is not a string" % (option,), "export")
        key, sep, value = option.partition("=")
        if not sep and key in FLAGS:
            field, wanted = FLAGS[key]
        elif sep and key in VALUED:
            field, wanted = key, _option_value(key, value)
        else:
            raise InvalidValueEx("export option %r is not one nfs-ganesha serves; use %s"
                                 % (option, ", ".join(ACCEPTED)), "export")
        if field in settings and settings[field][1] != wanted:
            raise InvalidValueEx("export options %r and %r contradict each other" % (settings[field][0], option),
                                 "export")
        settings[field] = (option, wanted)
    value = dict((field, wanted) for field, (_option, wanted) in settings.items())
    squash = "all_squash" if value.get("all") else value.get("squash", "root_squash")
    if value.get("all") and value.get("squash") == "no_root_squash":
        raise InvalidValueEx("export options all_squash and no_root_squash contradict each other", "export")
    return dict(access=value.get("access", "RO"), squash=squash, anon_uid=value.get("anonuid", ANONYMOUS_ID),
                anon_gid=value.get("anongid", ANONYMOUS_ID), sec=value.get("sec", ["sys"]),
                privileged_port=value.get("privileged_port", False))


def _option_value(key: str, value: str):
    if key == "sec":
        flavors = value.split(":")
        if not value or any(flavor not in SEC_FLAVORS for flavor in flavors) or len(set(flavors)) != len(flavors):
            raise InvalidValueEx("export option sec=%s: flavors are %s, separated by ':'"
                                 % (value, ", ".join(SEC_FLAVORS)), "export")
        return flavors
    if not re.match(r"^(0|[1-9][0-9]{0,9})$", value) or int(value) > 4294967295:
        raise InvalidValueEx("export option %s=%s: give a number from 0 to 4294967295" % (key, value), "export")
    return int(value)


def canonical_options(options: list) -> list:
    """Options as records carry them: checked, without duplicates, sorted (order means nothing)."""
    export_rule(options)
    return sorted(set(options or []))


# --- rendering ----------------------------------------------------------------------------------

_PSEUDO = lazy_compile(r"^(/[A-Za-z0-9_.][A-Za-z0-9_.-]*)+$")
_FSAL_KEY = lazy_compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _param(name: str, *terms) -> tuple:
    return ("param", name, list(terms))


def _rule_tree(rule: dict) -> tuple:
    clients = [(client_kind(client), client_term(client)) for client in rule["clients"]]
    return ("block", "CLIENT", [
        _param("Clients", *clients),
        _param("Protocols", ("DECNUM", "4")),
        _param("Transports", ("TOKEN", "TCP")),
        _param("Access_Type", ("TOKEN", rule["access"])),
        _param("Squash", ("TOKEN", rule["squash"])),
        _param("Anonymous_uid", ("DECNUM", str(rule["anon_uid"]))),
        _param("Anonymous_gid", ("DECNUM", str(rule["anon_gid"]))),
        _param("SecType", *[("TOKEN", flavor) for flavor in rule["sec"]]),
        _param("PrivilegedPort", ("TRUE", "true") if rule["privileged_port"] else ("FALSE", "false")),
    ])


def _fsal_tree(fsal: dict) -> tuple:
    children = []
    for key, value in fsal.items():
        if not _FSAL_KEY.match(key):
            raise InvalidValueEx("FSAL parameter name %r is not valid" % key, "export")
        if key.lower() == "name":
            term = ("TOKEN", _single_term(value, "TOKEN", "FSAL name"))
        elif isinstance(value, bool):
            term = ("TRUE", "true") if value else ("FALSE", "false")
        elif isinstance(value, int):
            term = ("DECNUM", _single_term(str(value), "DECNUM", "FSAL parameter %s" % key))
        else:
            term = ("DQUOTE", value)
            quoted(value, "FSAL parameter %s" % key)
        children.append(_param(key, term))
    return ("block", "FSAL", children)


def export_tree(export: dict) -> tuple:
    """The EXPORT block of ``export`` ({export_id, path, pseudo, fsal, rules}) as a tree."""
    export_id = export["export_id"]
    if not isinstance(export_id, int) or not 1 <= export_id <= MAX_EXPORT_ID:
        raise OperationFailedEx("internal error: export id %r outside 1-%d" % (export_id, MAX_EXPORT_ID))
    quoted(export["path"], "export path")
    if not os.path.isabs(export["path"]):
        raise InvalidValueEx("export path %r is not absolute" % export["path"], "export")
    if not _PSEUDO.match(export["pseudo"]) or "/./" in export["pseudo"] + "/" or "/../" in export["pseudo"] + "/":
        raise InvalidValueEx("NFSv4 pseudo path %r is not valid" % export["pseudo"], "export")
    children = [
        _param("Export_Id", ("DECNUM", str(export_id))),
        _param("Path", ("DQUOTE", export["path"])),
        _param("Pseudo", ("DQUOTE", export["pseudo"])),
        _param("Protocols", ("DECNUM", "4")),
        _param("Transports", ("TOKEN", "TCP")),
        # the export grants nothing by itself: only the CLIENT blocks below do
        _param("Access_Type", ("TOKEN", "None")),
        _param("Squash", ("TOKEN", "root_squash")),
        _param("SecType", ("TOKEN", "sys")),
        _fsal_tree(export.get("fsal") or {"Name": "VFS"}),
    ]
    children.extend(_rule_tree(rule) for rule in export["rules"] if rule["clients"])
    # everyone else: nothing (also keeps the CLIENT lists of EXPORT_DEFAULTS out)
    children.append(("block", "CLIENT", [_param("Clients", ("V4_ANY", "*")), _param("Access_Type", ("TOKEN", "None"))]))
    return ("block", "EXPORT", children)


def _write_term(term: tuple) -> str:
    kind, value = term
    return quoted(value, "value") if kind == "DQUOTE" else value


def _write(tree: list, indent: int = 0) -> str:
    lines = []
    pad = "    " * indent
    for node in tree:
        if node[0] == "block":
            lines.append("%s%s {" % (pad, node[1]))
            lines.append(_write(node[2], indent + 1))
            lines.append("%s}" % pad)
        else:
            lines.append("%s%s = %s;" % (pad, node[1], ", ".join(_write_term(term) for term in node[2])))
    return "\n".join(line for line in lines if line)


def _key(tree) -> list:
    """A tree with names in lower case (ganesha's names are case-insensitive)."""
    out = []
    for node in tree:
        if node[0] == "block":
            out.append(("block", node[1].lower(), _key(node[2])))
        elif node[0] == "param":
            out.append(("param", node[1].lower(), [tuple(term) for term in node[2]]))
        else:
            out.append(tuple(node))
    return out


#: FSAL parameters that are secrets (FSAL CEPH's cephx key): written into the EXPORT block, which
#: ganesha needs, but never into the header line; it keeps a digest, so a changed key shows
SECRET_FSAL_KEYS = ("secret_access_key",)


def public_export(export: dict) -> dict:
    """``export`` as the header records it: secret FSAL values replaced by their digest."""
    fsal = export.get("fsal") or {}
    if not any(key.lower() in SECRET_FSAL_KEYS for key in fsal):
        return export
    masked = dict((key, "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()
                   if key.lower() in SECRET_FSAL_KEYS else value) for key, value in fsal.items())
    return dict(export, fsal=masked)


def render(meta: dict, exports: list) -> str:
    """The text of an export file: the header line, then one EXPORT block per export.

    The text is parsed again before it is returned and must give back the exact tree it
    was written from (OperationFailedEx otherwise): what ganesha reads is what was meant.
    """
    tree = [export_tree(export) for export in exports]
    body = _write(tree) + "\n" if tree else ""
    try:
        reparsed = parse(body)
    except ConfigSyntaxError as error:
        raise OperationFailedEx("internal error: the export configuration does not parse: %s" % error) from None
    if _key(reparsed) != _key(tree):
        raise OperationFailedEx("internal error: the export configuration does not read back as written")
    header = dict(meta, version=FORMAT_VERSION, exports=[public_export(export) for export in exports],
                  digest=_digest(body))
    return "# Managed by stormgmt.core; changes made here are replaced.\n%s%s\n%s" % (
        HEADER, json.dumps(header, sort_keys=True, ensure_ascii=True), body)


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def read_export_file(text: str) -> dict | None:
    """The header of an export file with ``intact`` (False when the blocks were edited by hand)
    and ``exports``; None when the file is not one of ours."""
    header = None
    for line in text.splitlines()[:3]:
        if line.startswith(HEADER):
            try:
                header = json.loads(line[len(HEADER):])
            except ValueError:
                return None
            break
    if not isinstance(header, dict) or header.get("version") != FORMAT_VERSION or not isinstance(header.get("exports"), list):
        return None
    body = text.split("\n", 2)[2] if text.count("\n") >= 2 else ""
    header["intact"] = header.get("digest") == _digest(body)
    return header


def export_ids_in(text: str) -> set:
    """Export_Id values of the EXPORT blocks of a configuration text (unparsable: none)."""
    try:
        tree = parse(text)
    except ConfigSyntaxError:
        return set(int(match) for match in re.findall(r"(?im)^\s*export_id\s*=\s*([0-9]+)", text))
    ids = set()
    for node in tree:
        if node[0] == "block" and node[1].lower() == "export":
            for child in node[2]:
                if child[0] == "param" and child[1].lower() == "export_id" and child[2]:
                    with contextlib.suppress(ValueError):
                        ids.add(int(child[2][0][1], 0))
    return ids


# --- the server -----------------------------------------------------------------------------------

class Ganesha:
    """One nfs-ganesha, named by its main configuration file."""

    def __init__(self, conf: str = DEFAULT_CONF, host: str | None = None) -> None:
        if not isinstance(conf, str) or not os.path.isabs(conf):
            raise InvalidValueEx("the nfs-ganesha configuration %r must be an absolute path" % (conf,), "server")
        self.conf = os.path.normpath(conf)
        self.exports_dir = os.path.join(os.path.dirname(self.conf), EXPORTS_DIR)
        self.host = host
        self._config = None
        self._process = False

    # -- the main configuration --
    def config(self) -> dict:
        """Port, bind address, whether it reads our exports, and the ids its own exports use."""
        if self._config is None:
            try:
                with open(self.conf, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError as error:
                raise OperationPreReqNotMetEx(
                    "cannot read the nfs-ganesha configuration %s: %s; set it up with the stormgmt.core.nfs_server "
                    "role, or name yours with the server URI parameter nfs_conf" % (self.conf, error.strerror),
                    "server") from None
            try:
                tree = parse(text)
            except ConfigSyntaxError as error:
                raise OperationPreReqNotMetEx("cannot read the nfs-ganesha configuration %s: %s" % (self.conf, error),
                                              "server") from None
            port, bind = DEFAULT_PORT, None
            includes = False
            wanted = os.path.join(self.exports_dir, "*.conf")
            for node in tree:
                if node[0] == "directive" and node[1] == "dir" and os.path.normpath(node[2]) == wanted:
                    includes = True
                if node[0] == "block" and node[1].lower() == "nfs_core_param":
                    for child in node[2]:
                        if child[0] == "param" and child[2] and child[1].lower() == "nfs_port":
                            with contextlib.suppress(ValueError):
                                port = int(child[2][0][1], 0)
                        if child[0] == "param" and child[2] and child[1].lower() == "bind_addr":
                            bind = child[2][0][1]
            self._config = dict(port=port, bind=bind, includes=includes, ids=export_ids_in(text), text=text)
        return self._config

    def check_config(self) -> None:
        if not self.config()["includes"]:
            raise OperationPreReqNotMetEx(
                'the nfs-ganesha configuration %s does not read the exports of stormgmt: add the line\n'
                '%%dir "%s/*.conf"\nto it (the stormgmt.core.nfs_server role writes it)' % (self.conf, self.exports_dir),
                "server")

    def address(self) -> tuple:
        """(host, port) NFS clients reach this server at."""
        config = self.config()
        host = self.host
        if host is None:
            bind = config["bind"]
            host = bind if bind and bind not in ("0.0.0.0", "::", "*") else socket.getfqdn()
        return host, config["port"]

    # -- the process --
    def process(self) -> dict | None:
        """{pid, log, bus} of the ganesha.nfsd running with this configuration, or None."""
        if self._process and not _alive(self._process["pid"]):
            self._process = False  # restarted since this run first looked
        if self._process is False:
            hint = os.path.join(self.exports_dir, ".ganesha-pid")
            self._process = find_process(self.conf, _read_hint(hint))
            if self._process is not None:
                _write_hint(hint, self._process["pid"])
        return self._process

    def require_running(self) -> dict:
        found = self.process()
        if found is None:
            raise OperationPreReqNotMetEx(
                "nfs-ganesha is not running with the configuration %s; start it (the start phase of the "
                "stormgmt.core.nfs_server role does)" % self.conf, "server")
        return found

    # -- export files --
    def path_of(self, name: str) -> str:
        if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]*$", name):
            raise OperationFailedEx("internal error: export file name %r" % name)
        return os.path.join(self.exports_dir, name + ".conf")

    def files(self) -> dict:
        """{name: path} of the export files."""
        try:
            entries = os.listdir(self.exports_dir)
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise OperationFailedEx("cannot list %s: %s" % (self.exports_dir, error.strerror)) from None
        return dict((entry[:-5], os.path.join(self.exports_dir, entry)) for entry in sorted(entries)
                    if entry.endswith(".conf") and not entry.startswith("."))

    def read(self, name: str) -> dict | None:
        try:
            with open(self.path_of(name), encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise OperationFailedEx("cannot read %s: %s" % (self.path_of(name), error.strerror)) from None
        header = read_export_file(text)
        if header is None:
            raise OperationFailedEx("%s is not an export file of stormgmt; move it out of %s"
                                    % (self.path_of(name), self.exports_dir))
        return header

    @contextlib.contextmanager
    def locked(self):
        """One writer of the export files of this ganesha at a time (id allocation, files, reload)."""
        try:
            os.makedirs(self.exports_dir, mode=0o755, exist_ok=True)
            fd = os.open(os.path.join(self.exports_dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise OperationFailedEx("cannot lock %s: %s" % (self.exports_dir, error.strerror)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _taken_ids(self, skip: str) -> set:
        taken = set(self.config()["ids"])
        for name, path in self.files().items():
            if name == skip:
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read()
            except OSError:
                continue
            header = read_export_file(text)
            if header is not None:
                taken.update(export.get("export_id") for export in header["exports"])
            if header is None or not header["intact"]:
                taken.update(export_ids_in(text))  # a file of someone else's, or one edited by hand
        return taken

    def commit(self, name: str, meta: dict, exports: list) -> dict:
        """Make ``name``'s file hold ``exports`` (each {key, path, pseudo, fsal, rules}; [] removes the
        file) and apply the difference to the running ganesha. Call under :meth:`locked`.

        Returns the header as written (exports with their ids). An export keeps its id while its
        key and path stay; ganesha's errors put the previous file back and raise OperationFailedEx.
        """
        old = self.read(name)
        old_by_key = dict((export["key"], export) for export in (old or {}).get("exports", []))
        # an export keeps its id; only new ones need the ids of every other file (the cost of a
        # change must not grow with the number of exports of the server)
        keep = dict((export["key"], old_by_key[export["key"]]["export_id"]) for export in exports
                    if export["key"] in old_by_key and old_by_key[export["key"]]["path"] == export["path"])
        taken = self._taken_ids(name) if len(keep) < len(exports) else set()
        used = taken | set(export["export_id"] for export in old_by_key.values())
        placed = []
        for export in exports:
            export_id = keep.get(export["key"])
            if export_id is None:
                export_id = next((i for i in range(1, MAX_EXPORT_ID + 1) if i not in used), None)
                if export_id is None:
                    raise InvalidValueEx("nfs-ganesha has no free export id left (1-%d)" % MAX_EXPORT_ID, "export")
                used.add(export_id)
            placed.append(dict(export, export_id=export_id))
        text = render(meta, placed) if placed else None
        old_ids = dict((export["export_id"], export) for export in (old or {}).get("exports", []))
        new_ids = dict((export["export_id"], public_export(export)) for export in placed)
        changes = dict(
            removed=sorted(set(old_ids) - set(new_ids)),
            added=sorted(set(new_ids) - set(old_ids)),
            updated=sorted(i for i in set(old_ids) & set(new_ids)
                           if old_ids[i] != new_ids[i] or not (old or {}).get("intact", True)))
        old_text = self._raw(name)
        if text == old_text:
            return read_export_file(text) if text else {"exports": []}
        self._replace(name, text)
        try:
            self.apply(name, changes)
        except OperationFailedEx:
            self._replace(name, old_text)
            with contextlib.suppress(OperationFailedEx, OperationPreReqNotMetEx):
                self.apply(name, dict(removed=changes["added"], added=changes["removed"], updated=changes["updated"]))
            raise
        return read_export_file(text) if text else {"exports": []}

    def _raw(self, name: str) -> str | None:
        try:
            with open(self.path_of(name), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _replace(self, name: str, text: str | None) -> None:
        """Write a whole new file (or remove it) so ganesha never reads half of one."""
        path = self.path_of(name)
        if text is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        temp = os.path.join(self.exports_dir, ".%s.%d.tmp" % (name, os.getpid()))
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, text.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except OSError as error:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise OperationFailedEx("cannot write %s: %s" % (path, error.strerror)) from None

    # -- telling the running ganesha --
    def apply(self, name: str, changes: dict) -> str:
        """Make the running ganesha serve the file's exports as they now are. Returns the way
        it was done: dbus, sighup, or none (ganesha not running: it reads the file when it starts)."""
        if not any(changes.values()):
            return "none"
        found = self.process()
        if found is None:
            return "none"
        if found.get("bus") and DBUS_SEND.available():
            done = self._apply_dbus(found["bus"], name, changes)
            if done:
                return "dbus"
        self._apply_sighup(found, name)
        return "sighup"

    def refresh(self, name: str, ids: list) -> str:
        """Make ganesha forget what it cached of exports ``ids`` of file ``name`` (their files were
        changed behind its back, a restore): it takes them down and back up with the same ids, so
        the clients' file handles stay valid. Call under :meth:`locked`."""
        found = self.process()
        if found is None or not ids:
            return "none"
        if found.get("bus") and DBUS_SEND.available():
            if self._apply_dbus(found["bus"], name, dict(removed=list(ids), added=[], updated=[])):
                self._apply_dbus(found["bus"], name, dict(removed=[], added=list(ids), updated=[]))
                return "dbus"
        text = self._raw(name)
        self._replace(name, None)
        try:
            self._apply_sighup(found, name)
        finally:
            self._replace(name, text)
        self._apply_sighup(found, name)
        return "sighup"

    def _dbus(self, bus: str, method: str, *args) -> tuple:
        result = DBUS_SEND("bus reply dest object method args", check_rc=False, bus=bus, object=EXPORT_MGR,
                           method=EXPORT_IFACE + method, args=list(args))
        return result.rc, (result.err or result.out).strip()

    def _apply_dbus(self, bus: str, name: str, changes: dict) -> bool:
        """False when ganesha does not answer on ``bus`` (then SIGHUP is used)."""
        path = self.path_of(name)
        calls = [("RemoveExport", "uint16:%d" % i) for i in changes["removed"]]
        calls += [("UpdateExport", "string:" + path, "string:EXPORT(Export_Id=%d)" % i) for i in changes["updated"]]
        calls += [("AddExport", "string:" + path, "string:EXPORT(Export_Id=%d)" % i) for i in changes["added"]]
        for index, call in enumerate(calls):
            rc, message = self._dbus(bus, *call)
            if rc != 0 and index == 0 and _unreachable(message):
                return False
            if rc != 0 and call[0] == "RemoveExport" and "not found" in message.lower():
                continue  # already gone
            if rc != 0 and call[0] == "AddExport" and "already active" in message.lower():
                rc, message = self._dbus(bus, "UpdateExport", *call[1:])
            if rc != 0:
                raise OperationFailedEx("nfs-ganesha refused %s of export %s: %s"
                                        % (call[0], call[-1].split(":", 1)[1], _ganesha_message(message)))
            if "errors found" in message.lower():
                raise OperationFailedEx("nfs-ganesha took export %s with errors: %s"
                                        % (call[-1].split(":", 1)[1], _ganesha_message(message)))
        return True

    def _apply_sighup(self, found: dict, name: str) -> None:
        log = found.get("log")
        offset = _size(log)
        try:
            os.kill(found["pid"], signal.SIGHUP)
        except OSError as error:
            raise OperationFailedEx("cannot signal nfs-ganesha (pid %d): %s" % (found["pid"], error.strerror)) from None
        if offset is None:
            return  # logs to syslog: nothing to wait on
        deadline = time.monotonic() + RELOAD_TIMEOUT
        delay = 0.002
        while True:
            text = _read_from(log, offset)
            if "Reread exports complete" in text:
                break
            if time.monotonic() > deadline:
                raise OperationFailedEx("nfs-ganesha (pid %d) did not finish reading its exports within %ds"
                                        % (found["pid"], RELOAD_TIMEOUT))
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        path = self.path_of(name)
        errors = [line for line in text.splitlines() if ":CONFIG :CRIT" in line and path in line]
        if errors:
            raise OperationFailedEx("nfs-ganesha could not read %s: %s" % (path, _ganesha_message(errors[-1])))

    def serves(self, ids) -> bool | None:
        """Whether ganesha serves every one of ``ids`` now (None: it cannot say, it is on no bus)."""
        found = self.process()
        if found is None:
            return False
        if not found.get("bus") or not DBUS_SEND.available():
            return None
        for export_id in ids:
            rc, message = self._dbus(found["bus"], "DisplayExport", "uint16:%d" % export_id)
            if rc != 0:
                return None if _unreachable(message) else False
        return True

    def live_ids(self) -> set | None:
        """Ids of the exports ganesha serves right now, when it answers on a bus; else None."""
        found = self.process()
        if found is None or not found.get("bus") or not DBUS_SEND.available():
            return None
        rc, message = self._dbus(found["bus"], "ShowExports")
        if rc != 0:
            return None
        return set(int(value) for value in re.findall(r"uint16 ([0-9]+)", message))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _unreachable(message: str) -> bool:
    lowered = message.lower()
    return any(text in lowered for text in ("serviceunknown", "failed to connect", "failed to open connection",
                                            "no such file", "connection refused", "was not provided"))


def _ganesha_message(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    lines = [re.sub(r"^Error org\.freedesktop\.DBus\.Error\.[A-Za-z]+: ", "", line) for line in lines]
    lines = [re.sub(r"^.*?:CONFIG :CRIT :", "", line) for line in lines]
    return " ".join(lines)[:600] or "no message"


def _size(path: str | None) -> int | None:
    if not path or not os.path.isabs(path):
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path: str, offset: int) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return ""


# --- finding the daemon --------------------------------------------------------------------------

PROC = "/proc"
SYSTEM_BUS = ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket")


def ganesha_arguments(argv: list) -> dict:
    """-f, -L, -p of a ganesha.nfsd command line (getopt: "-f X" or "-fX")."""
    found: dict = {}
    index = 1
    while index < len(argv):
        word = argv[index]
        for flag, key in (("-f", "conf"), ("-L", "log"), ("-p", "pidfile")):
            if word == flag and index + 1 < len(argv):
                found[key] = argv[index + 1]
                index += 1
                break
            if word.startswith(flag) and len(word) > 2:
                found[key] = word[2:]
                break
        index += 1
    return found


def _read_hint(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except (OSError, UnicodeError):
        return None
    return text if text.isdigit() else None


def _write_hint(path: str, pid: int) -> None:
    if _read_hint(path) != str(pid):
        with contextlib.suppress(OSError):
            with open(path, "w", encoding="ascii") as handle:
                handle.write("%d\n" % pid)


def find_process(conf: str, hint: str | None = None) -> dict | None:
    """The live ganesha.nfsd whose -f is ``conf``: {pid, log, bus}. ``hint``: a pid to look at
    first (the one found last time; it is checked like any other)."""
    wanted = os.path.realpath(conf)
    try:
        pids = [entry for entry in os.listdir(PROC) if entry.isdigit()]
    except OSError:
        return None
    if hint in pids:
        pids.remove(hint)
        pids.insert(0, hint)
    for pid in pids:
        base = os.path.join(PROC, pid)
        try:
            with open(os.path.join(base, "cmdline"), "rb") as handle:
                argv = [word.decode("utf-8", "replace") for word in handle.read().split(b"\0") if word]
            if not argv or os.path.basename(argv[0]) != "ganesha.nfsd":
                continue
            with open(os.path.join(base, "stat")) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    continue
            cwd = os.readlink(os.path.join(base, "cwd"))
        except (OSError, IndexError):
            continue
        args = ganesha_arguments(argv)
        used = os.path.realpath(os.path.join(cwd, args.get("conf", DEFAULT_CONF)))
        if used != wanted:
            continue
        log = args.get("log")
        return dict(pid=int(pid), log=os.path.join(cwd, log) if log and log != "SYSLOG" else None,
                    bus=_bus_of(base, int(pid)))
    return None


def _bus_of(proc_dir: str, pid: int) -> str | None:
    """The bus where ``pid`` owns org.ganesha.nfsd: its DBUS_SYSTEM_BUS_ADDRESS, else the system
    bus. None when another ganesha owns the name there (its exports are not ours to change)."""
    bus = None
    try:
        with open(os.path.join(proc_dir, "environ"), "rb") as handle:
            for item in handle.read().split(b"\0"):
                if item.startswith(b"DBUS_SYSTEM_BUS_ADDRESS="):
                    bus = item.split(b"=", 1)[1].decode("utf-8", "replace") or None
    except OSError:
        pass
    if bus is None:
        bus = next(("unix:path=" + path for path in SYSTEM_BUS if os.path.exists(path)), None)
    if bus is None or not DBUS_SEND.available():
        return None
    result = DBUS_SEND("bus reply dest_bus object method args", check_rc=False, bus=bus, object="/",
                       method="org.freedesktop.DBus.GetConnectionUnixProcessID", args=["string:org.ganesha.nfsd"])
    owner = re.search(r"uint32 ([0-9]+)", result.out or "")
    return bus if result.rc == 0 and owner and int(owner.group(1)) == pid else None
