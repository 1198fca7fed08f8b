# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The NFS gateway: ganesha's lexer as we follow it, values checked for the destination,
rendering that reads back as written, export files and ids, and the live mechanisms
(DBus calls and SIGHUP) with recorded runs. The same code is run against a real
nfs-ganesha by tests/conformance/test_linux_server.py."""

from __future__ import annotations

import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.stormgmt.core.plugins.module_utils import _gw_nfs as gw
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import normalize_nfs_client
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    IPluginException,
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

MAIN = """# the main configuration
NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = 12049;   # a comment after a value
    Bind_addr = 127.0.0.1;
}
NFSV4 { Graceless = true; RecoveryRoot = "/var/lib/x"; }
EXPORT { Export_Id = 7; Path = "/srv/own"; Pseudo = "/own"; FSAL { Name = VFS; } }
%dir "/etc/stormgmt/ganesha/exports.d/*.conf"
"""


def rule(**values):
    base = gw.export_rule(["rw", "no_root_squash"])
    base.update(clients=["127.0.0.1"])
    base.update(values)
    return base


def export(export_id=5, path="/srv/nas0/fs/home", pseudo="/nas0/home", **values):
    item = dict(key="fs", export_id=export_id, path=path, pseudo=pseudo, fsal={"Name": "VFS"}, rules=[rule()])
    item.update(values)
    return item


# --- the lexer and parser ---------------------------------------------------------------------

def test_parse_reads_blocks_params_lists_and_directives():
    tree = gw.parse(MAIN)
    assert [node[:2] for node in tree] == [
        ("block", "NFS_CORE_PARAM"), ("block", "NFSV4"), ("block", "EXPORT"), ("directive", "dir")]
    core = dict((child[1], child[2]) for child in tree[0][2])
    assert core["NFS_Port"] == [("DECNUM", "12049")] and core["Bind_addr"] == [("V4ADDR", "127.0.0.1")]
    assert tree[1][2][1] == ("param", "RecoveryRoot", [("DQUOTE", "/var/lib/x")])
    assert tree[3][2] == "/etc/stormgmt/ganesha/exports.d/*.conf"
    assert gw.export_ids_in(MAIN) == {7}


@pytest.mark.parametrize("text, kind", [
    ("*", "V4_ANY"), ("0.0.0.0", "V4_ANY"), ("192.0.2.1", "V4ADDR"), ("192.0.2.0/24", "V4ADDR"),
    ("2001:db8::1", "V6ADDR"), ("2001:db8::/32", "V6ADDR"), ("::1", "V6ADDR"), ("@net_group", "NETGROUP"),
    ("host.example.com", "TOKEN"), ("*.example.com", "REGEX"), ("web?", "REGEX"), ("/a/b", "PATH"),
    ("yes", "TRUE"), ("On", "TRUE"), ("off", "FALSE"), ("9P", "NINEP"), ("0755", "OCTNUM"), ("0x1f", "HEXNUM"),
    ("12", "DECNUM"), ("1.2", "FSID"), ("None", "TOKEN"), ("no_root_squash", "TOKEN"), ("?x", "TOKEN"),
])
def test_terms_are_typed_as_ganesha_types_them(text, kind):
    """Longest match, and the rule written first on a tie (flex), as in conf_lex.l."""
    assert gw.tokenize("X { Y = %s; }" % text)[4] == (kind, text)


@pytest.mark.parametrize("text", ["X { Y = ; ", "X { Y = 1 ", "}", "X Y", "X { Y = \x01; }", "%bogus x"])
def test_parse_errors(text):
    with pytest.raises(gw.ConfigSyntaxError):
        gw.parse(text)


# --- clients ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("client", ["*", "192.0.2.7", "192.0.2.0/24", "2001:db8::/32", "::1", "host.example.com",
                                    "web-01", "*.example.com", "web??.example.com", "@hosts", "_srv"])
def test_clients_ganesha_reads(client):
    assert gw.client_term(client) == client


@pytest.mark.parametrize("client", ["yes", "on", "off", "no", "true", "9p", "1host.example.com", "?x", "@1group",
                                    "a,b", "a;b", "a}", "a\nb", "a b", '"a"', "a#b", "(a)"])
def test_clients_ganesha_would_misread_are_refused(client):
    with pytest.raises(InvalidValueEx):
        gw.client_term(client)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=30))
def test_any_client_string_is_refused_or_reads_back_as_itself(text):
    """Property: whatever a user writes, it is refused with a typed error, or it is written as
    one term that ganesha's lexer reads back as exactly the client meant (no injection)."""
    try:
        client = normalize_nfs_client(text)
        term = gw.client_term(client)
    except IPluginException:
        return
    tree = gw.parse("CLIENT { Clients = %s; }" % term)
    assert tree == [("block", "CLIENT", [("param", "Clients", [(gw.client_kind(client), client)])])]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=40))
def test_any_quoted_string_reads_back_unchanged_or_is_refused(text):
    try:
        written = gw.quoted(text, "value")
    except InvalidValueEx:
        assert not text or any(char in text for char in '"\\') or not text.isprintable() or \
            any(ord(char) > 127 or ord(char) < 32 for char in text)
        return
    assert gw.parse("X { Path = %s; }" % written) == [("block", "X", [("param", "Path", [("DQUOTE", text)])])]


@pytest.mark.parametrize("text", ["a\u2028b", "a\u2029b", "a\x85b", "a\x0bb", "a\x0cb", "a\x1cb", "a\rb", "a\nb",
                                  'a"b', "a\\b", "\u00e9"])
def test_no_line_break_of_any_kind_reaches_a_string(text):
    with pytest.raises(InvalidValueEx):
        gw.quoted(text, "path")


def test_host_names_must_resolve(monkeypatch):
    def fail(*_args):
        raise gw.socket.gaierror("no")
    monkeypatch.setattr(gw.socket, "getaddrinfo", fail)
    with pytest.raises(InvalidValueEx, match="does not resolve"):
        gw.check_resolvable("nowhere.example")
    gw.check_resolvable("192.0.2.1")  # addresses and networks are not looked up


# --- options ------------------------------------------------------------------------------------------

def test_exports5_defaults():
    assert gw.export_rule([]) == dict(access="RO", squash="root_squash", anon_uid=65534, anon_gid=65534, sec=["sys"],
                                      privileged_port=False)


@pytest.mark.parametrize("options, expected", [
    (["rw"], dict(access="RW")), (["no_root_squash"], dict(squash="no_root_squash")),
    (["all_squash", "anonuid=1000", "anongid=100"], dict(squash="all_squash", anon_uid=1000, anon_gid=100)),
    (["sec=krb5p:sys"], dict(sec=["krb5p", "sys"])), (["secure"], dict(privileged_port=True)),
    (["sync", "no_subtree_check", "rw"], dict(access="RW")),
])
def test_options_map_to_ganesha(options, expected):
    got = gw.export_rule(options)
    assert dict((key, got[key]) for key in expected) == expected


@pytest.mark.parametrize("options", [["async"], ["subtree_check"], ["crossmnt"], ["fsid=0"], ["rw", "ro"],
                                     ["root_squash", "no_root_squash"], ["all_squash", "no_root_squash"],
                                     ["anonuid=1", "anonuid=2"], ["anonuid=-1"], ["anonuid=4294967296"],
                                     ["sec="], ["sec=sys:sys"], ["rw,ro"], ["rw\n"], [1]])
def test_options_ganesha_does_not_serve_fail(options):
    with pytest.raises(InvalidValueEx):
        gw.export_rule(options)


def test_canonical_options_are_sorted_and_unique():
    assert gw.canonical_options(["sync", "rw", "sync"]) == ["rw", "sync"]


# --- rendering ---------------------------------------------------------------------------------------

def test_render_writes_one_export_block_with_every_permission_explicit():
    text = gw.render({"owner": "test"}, [
        export(), export(export_id=6, key="snap:a", path="/srv/s", pseudo="/nas0/.s/a", rules=[rule(access="RO")])])
    tree = gw.parse(text)
    assert [node[1] for node in tree] == ["EXPORT", "EXPORT"]
    first = dict((child[1], child[2]) for child in tree[0][2] if child[0] == "param")
    assert first["Export_Id"] == [("DECNUM", "5")] and first["Access_Type"] == [("TOKEN", "None")]
    assert first["Protocols"] == [("DECNUM", "4")] and first["Pseudo"] == [("DQUOTE", "/nas0/home")]
    clients = [child for child in tree[0][2] if child[0] == "block" and child[1] == "CLIENT"]
    assert len(clients) == 2
    granted = dict((child[1], child[2]) for child in clients[0][2])
    assert granted["Access_Type"] == [("TOKEN", "RW")] and granted["Squash"] == [("TOKEN", "no_root_squash")]
    assert clients[1][2] == [("param", "Clients", [("V4_ANY", "*")]), ("param", "Access_Type", [("TOKEN", "None")])]
    header = gw.read_export_file(text)
    assert header["intact"] and header["owner"] == "test" and [e["export_id"] for e in header["exports"]] == [5, 6]


def test_an_edit_by_hand_shows():
    text = gw.render({}, [export()])
    assert gw.read_export_file(text)["intact"]
    assert not gw.read_export_file(text.replace("Squash = root_squash", "Squash = None"))["intact"]
    assert gw.read_export_file("EXPORT { Export_Id = 1; }") is None


def test_empty_client_lists_grant_nothing_and_the_fsal_is_a_parameter():
    text = gw.render({}, [export(rules=[rule(clients=[])], fsal={"Name": "CEPH", "User_Id": "nfs", "Filesystem": "cephfs"})])
    tree = gw.parse(text)[0][2]
    assert [child[1] for child in tree if child[0] == "block"] == ["FSAL", "CLIENT"]
    fsal = [child for child in tree if child[1] == "FSAL"][0][2]
    assert fsal == [("param", "Name", [("TOKEN", "CEPH")]), ("param", "User_Id", [("DQUOTE", "nfs")]),
                    ("param", "Filesystem", [("DQUOTE", "cephfs")])]


@pytest.mark.parametrize("bad", [dict(path='/srv/"x"'), dict(path="relative"), dict(pseudo="/a/../b"),
                                 dict(pseudo="nas0/home"), dict(pseudo="/a b"), dict(fsal={"Name": "VFS; }"}),
                                 dict(fsal={"Name": "VFS", "bad key": "x"}), dict(fsal={"Name": "VFS", "K": "a\nb"})])
def test_render_refuses_what_would_not_read_back(bad):
    with pytest.raises(InvalidValueEx):
        gw.render({}, [export(**bad)])


# --- the server: configuration, files, ids ---------------------------------------------------------

@pytest.fixture
def ganesha(tmp_path, monkeypatch):
    conf = tmp_path / "ganesha.conf"
    conf.write_text(MAIN.replace("/etc/stormgmt/ganesha", str(tmp_path)))
    monkeypatch.setattr(gw, "find_process", lambda conf, hint=None: None)
    return gw.Ganesha(str(conf))


def test_main_configuration(ganesha, tmp_path):
    assert ganesha.address() == ("127.0.0.1", 12049)
    assert ganesha.config()["includes"] and ganesha.config()["ids"] == {7}
    ganesha.check_config()
    assert gw.Ganesha(str(tmp_path / "ganesha.conf"), host="nas.example").address() == ("nas.example", 12049)


def test_a_configuration_without_the_exports_directory_is_refused(tmp_path):
    conf = tmp_path / "ganesha.conf"
    conf.write_text("NFS_CORE_PARAM { NFS_Port = 2049; }\n")
    with pytest.raises(OperationPreReqNotMetEx, match='%dir'):
        gw.Ganesha(str(conf)).check_config()
    with pytest.raises(OperationPreReqNotMetEx):
        gw.Ganesha(str(tmp_path / "missing.conf")).config()


def test_commit_keeps_ids_allocates_free_ones_and_removes(ganesha, tmp_path):
    with ganesha.locked():
        first = ganesha.commit("pool@a", {"x": 1}, [dict(export(), export_id=None)])
        assert [e["export_id"] for e in first["exports"]] == [1]
        other = ganesha.commit("pool@b", {}, [dict(export(path="/srv/b", pseudo="/b"), export_id=None)])
        assert [e["export_id"] for e in other["exports"]] == [2]
        again = ganesha.commit("pool@a", {"x": 2}, [
            dict(export(rules=[rule(access="RO")]), export_id=None),
            dict(export(key="snap:s", path="/srv/s", pseudo="/s"), export_id=None)])
        assert [(e["key"], e["export_id"]) for e in again["exports"]] == [("fs", 1), ("snap:s", 3)]
        assert ganesha.commit("pool@a", {}, []) == {"exports": []}
    assert sorted(ganesha.files()) == ["pool@b"]
    assert not [name for name in os.listdir(ganesha.exports_dir) if name.endswith(".tmp")]
    assert oct(os.stat(ganesha.path_of("pool@b")).st_mode & 0o777) == "0o600"


def test_a_foreign_file_in_the_exports_directory_is_never_taken_for_ours(ganesha):
    os.makedirs(ganesha.exports_dir, exist_ok=True)
    with open(os.path.join(ganesha.exports_dir, "admin.conf"), "w", encoding="utf-8") as handle:
        handle.write("EXPORT { Export_Id = 1; Path = \"/srv/x\"; }\n")
    with pytest.raises(OperationFailedEx, match="not an export file of stormgmt"):
        ganesha.read("admin")
    with ganesha.locked():
        placed = ganesha.commit("pool@a", {}, [dict(export(), export_id=None)])
    assert placed["exports"][0]["export_id"] == 2  # 1 is the admin's, 7 the main configuration's


# --- the live mechanisms -------------------------------------------------------------------------------

class Recorder:
    def __init__(self, answers=None):
        self.calls = []
        self.answers = list(answers or [])

    def __call__(self, argv, input_text, timeout, env):
        self.calls.append(argv)
        return self.answers.pop(0) if self.answers else (0, 'method return\n   string "1 exports added"\n', "")


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    monkeypatch.setattr(Runner, "path", lambda self: self.program)
    monkeypatch.setattr(Runner, "executor", staticmethod(rec))
    return rec


def test_dbus_calls_touch_only_the_exports_that_changed(ganesha, recorder, monkeypatch):
    monkeypatch.setattr(ganesha, "process", lambda: {"pid": 42, "log": None, "bus": "unix:path=/run/b"})
    assert ganesha.apply("pool@a", dict(removed=[3], updated=[1], added=[4])) == "dbus"
    path = ganesha.path_of("pool@a")
    prefix = ["dbus-send", "--bus=unix:path=/run/b", "--print-reply", "--dest=org.ganesha.nfsd", gw.EXPORT_MGR]
    assert recorder.calls == [
        prefix + [gw.EXPORT_IFACE + "RemoveExport", "uint16:3"],
        prefix + [gw.EXPORT_IFACE + "UpdateExport", "string:" + path, "string:EXPORT(Export_Id=1)"],
        prefix + [gw.EXPORT_IFACE + "AddExport", "string:" + path, "string:EXPORT(Export_Id=4)"],
    ]


def test_a_refusal_of_ganesha_is_an_error_with_its_message(ganesha, recorder, monkeypatch):
    monkeypatch.setattr(ganesha, "process", lambda: {"pid": 42, "log": None, "bus": "unix:path=/run/b"})
    recorder.answers = [(1, "", "Error org.freedesktop.DBus.Error.InvalidFileContent: 0 export entries added because "
                         "(block validation) errors. Details:\nConfig File (x:1): 1 validation errors in block FSAL\n")]
    with pytest.raises(OperationFailedEx, match="validation errors"):
        ganesha.apply("pool@a", dict(removed=[], updated=[], added=[4]))


def test_no_bus_means_sighup_and_the_wait_for_the_reread(ganesha, tmp_path, monkeypatch):
    log = tmp_path / "ganesha.log"
    log.write_text("started\n")
    sent = []

    def kill(pid, sig):
        sent.append((pid, sig))
        with open(log, "a", encoding="utf-8") as handle:
            handle.write("x reread_exports :CONFIG :EVENT :Reread exports complete\n")
    monkeypatch.setattr(gw.os, "kill", kill)
    monkeypatch.setattr(ganesha, "process", lambda: {"pid": 42, "log": str(log), "bus": None})
    assert ganesha.apply("pool@a", dict(removed=[], updated=[1], added=[])) == "sighup"
    assert sent == [(42, signal.SIGHUP)]


def test_a_dbus_that_does_not_answer_falls_back_to_sighup(ganesha, recorder, tmp_path, monkeypatch):
    recorder.answers = [(1, "", "Error org.freedesktop.DBus.Error.ServiceUnknown: The name org.ganesha.nfsd was not "
                         "provided by any .service files")]
    monkeypatch.setattr(gw.os, "kill", lambda pid, sig: None)
    monkeypatch.setattr(ganesha, "process", lambda: {"pid": 42, "log": None, "bus": "unix:path=/run/b"})
    assert ganesha.apply("pool@a", dict(removed=[], updated=[1], added=[])) == "sighup"


def test_not_running_changes_only_the_files(ganesha):
    assert ganesha.apply("pool@a", dict(removed=[], updated=[1], added=[])) == "none"
    with pytest.raises(OperationPreReqNotMetEx, match="not running"):
        ganesha.require_running()


@pytest.mark.parametrize("argv, expected", [
    (["/usr/bin/ganesha.nfsd", "-F", "-f", "/a.conf", "-L", "/l", "-p", "/p"], dict(conf="/a.conf", log="/l", pidfile="/p")),
    (["ganesha.nfsd", "-f/a.conf", "-L/l"], dict(conf="/a.conf", log="/l")),
    (["ganesha.nfsd", "-C", "-N", "NIV_EVENT"], {}),
])
def test_ganesha_arguments(argv, expected):
    assert gw.ganesha_arguments(argv) == expected


def test_find_process_by_its_configuration(tmp_path, monkeypatch):
    proc = tmp_path / "proc"
    for pid, argv in (("10", ["/usr/bin/ganesha.nfsd", "-f", "/other.conf"]), ("11", ["sleep", "1"]),
                      ("12", ["/usr/bin/ganesha.nfsd", "-f", "/etc/x/ganesha.conf", "-L", "/var/log/g.log"])):
        (proc / pid).mkdir(parents=True)
        (proc / pid / "cmdline").write_bytes(b"\0".join(word.encode() for word in argv) + b"\0")
        (proc / pid / "stat").write_text("%s (x) S 1 2 3" % pid)
        (proc / pid / "environ").write_bytes(b"PATH=/bin\0")
        os.symlink("/", str(proc / pid / "cwd"))
    monkeypatch.setattr(gw, "PROC", str(proc))
    monkeypatch.setattr(gw, "SYSTEM_BUS", ())
    assert gw.find_process("/etc/x/ganesha.conf") == {"pid": 12, "log": "/var/log/g.log", "bus": None}
    assert gw.find_process("/etc/none.conf") is None
