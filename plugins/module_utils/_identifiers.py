# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Names and identifiers: object names, iSCSI names, FC WWPNs, NFS clients. Private to this collection.

Every parser returns the normalised form that backends store and records carry,
so comparing what a user asked for with what a server holds is a string compare.
"""

from __future__ import annotations

import re

from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)


_NAME = lazy_compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")

# RFC 3720 3.2.6.3.1: iqn.<yyyy-mm>.<reversed domain>[:<unique>], after stringprep:
# lower-case ASCII letters, digits, '-', '.', ':'; at most 223 bytes
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_IQN = lazy_compile(r"^iqn\.[0-9]{4}-(?:0[1-9]|1[0-2])\.%s(?:\.%s)*(?::[a-z0-9.:-]+)?$" % (_LABEL, _LABEL))
_EUI = lazy_compile(r"^eui\.[0-9a-f]{16}$", re.IGNORECASE)
_NAA = lazy_compile(r"^naa\.(?:[0-9a-f]{16}|[0-9a-f]{32})$", re.IGNORECASE)
_WWPN_HEX = lazy_compile(r"^(?:0x)?([0-9a-f]{16})$", re.IGNORECASE)
# one separator throughout: netaddr refuses a mixed one with an error of its own
_WWPN_SEP = lazy_compile(r"^[0-9a-f]{2}([:-])[0-9a-f]{2}(?:\1[0-9a-f]{2}){6}$", re.IGNORECASE)

# exports(5) host names may carry wildcards; a netgroup starts with '@'
_HOSTNAME = lazy_compile(r"^(?=.{1,253}$)(?:[a-z0-9*?](?:[a-z0-9*?-]{0,61}[a-z0-9*?])?)(?:\.[a-z0-9*?](?:[a-z0-9*?-]{0,61}[a-z0-9*?])?)*$")
_NETGROUP = lazy_compile(r"^@[A-Za-z0-9_.-]+$")


def validate_name(name, what: str = "name") -> str:
    """Object names: 1-63 of [A-Za-z0-9_.-], not starting with '.' or '-'."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):  # match() lets 'db01\n' through
        raise InvalidValueEx(
            "%s %r is not a valid name: use 1 to 63 characters from A-Z a-z 0-9 _ . - "
            "not starting with '.' or '-'" % (what, name), what)
    return name


def _netaddr(what: str):
    """Import netaddr when first needed: most runs never parse an address."""
    try:
        import netaddr
    except ImportError:
        raise OperationPreReqNotMetEx(
            "the Python library netaddr is needed on the managed node to read %s; "
            "install it (pip install netaddr, or the python3-netaddr package)" % what, what) from None
    return netaddr


def normalize_iqn(value: str) -> str:
    iqn = value.strip().lower()
    if len(iqn.encode("utf-8")) > 223 or not _IQN.match(iqn):
        raise ValueFormatEx(
            "%r is not an iSCSI qualified name: expected iqn.YYYY-MM.reversed.domain[:unique], "
            "for example iqn.2026-01.com.example:host1" % value, "initiators")
    return iqn


def normalize_wwpn(value: str) -> str:
    """Return a WWPN as '0x' + 16 lower-case hex digits."""
    text = value.strip()
    match = _WWPN_HEX.match(text)
    if match:
        return "0x" + match.group(1).lower()
    if _WWPN_SEP.match(text):
        netaddr = _netaddr("the WWPN %r" % value)
        # a WWPN is an EUI-64 shaped identifier; netaddr reads the separated forms
        return "0x%016x" % int(netaddr.EUI(text, version=64))
    raise ValueFormatEx(
        "%r is not a Fibre Channel WWPN: expected 0x followed by 16 hex digits, 16 hex digits, "
        "or 8 bytes separated by ':' or '-'" % value, "initiators")


def initiator_type(value: str) -> str:
    """Return the kind of a normalised initiator: iqn, eui, naa or wwpn."""
    return value.split(".", 1)[0] if value[:4] in ("iqn.", "eui.", "naa.") else "wwpn"


def normalize_initiator(value) -> str:
    """Normalise an iSCSI name (IQN, EUI, NAA) or FC WWPN."""
    if not isinstance(value, str) or not value.strip():
        raise ValueFormatEx("an initiator must be a non-empty string, got %r" % (value,), "initiators")
    text = value.strip()
    prefix = text[:4].lower()
    if prefix == "iqn.":
        return normalize_iqn(text)
    if prefix == "eui.":
        if not _EUI.match(text):
            raise ValueFormatEx("%r is not an EUI-64 iSCSI name: expected eui. and 16 hex digits" % value, "initiators")
        return "eui." + text[4:].upper()
    if prefix == "naa.":
        if not _NAA.match(text):
            raise ValueFormatEx("%r is not an NAA iSCSI name: expected naa. and 16 or 32 hex digits" % value, "initiators")
        return "naa." + text[4:].upper()
    try:
        return normalize_wwpn(text)
    except ValueFormatEx:
        raise ValueFormatEx(
            "%r is not an initiator name: expected an iSCSI name (iqn.YYYY-MM.reversed.domain[:unique], "
            "eui. + 16 hex digits, naa. + 16 or 32 hex digits) or a Fibre Channel WWPN (0x + 16 hex "
            "digits, or 8 bytes separated by ':' or '-')" % value, "initiators") from None


def normalize_nfs_client(value) -> str:
    """Normalise an NFS client: '*', an IP address, a network in CIDR form, a host name or @netgroup."""
    if not isinstance(value, str) or not value.strip():
        raise ValueFormatEx("an NFS client must be a non-empty string, got %r" % (value,), "clients")
    text = value.strip()
    if text == "*":
        return text
    if _NETGROUP.match(text):
        return text
    if "/" in text:
        netaddr = _netaddr("the NFS client %r" % value)
        try:
            return str(netaddr.IPNetwork(text).cidr)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise ValueFormatEx(
                "%r is not a network: expected an address with a prefix length such as 192.0.2.0/24" % value,
                "clients") from None
    looks_numeric = ":" in text or re.match(r"^[0-9.]+$", text)
    if looks_numeric:
        netaddr = _netaddr("the NFS client %r" % value)
        try:
            return str(netaddr.IPAddress(text))
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise ValueFormatEx("%r is not an IP address" % value, "clients") from None
    host = text.lower().rstrip(".")
    if not _HOSTNAME.match(host):
        raise ValueFormatEx(
            "%r is not an NFS client: expected '*', an IP address, a network in CIDR form, "
            "a host name (wildcards * and ? allowed) or @netgroup" % value, "clients")
    return host


def unique(values) -> list:
    """Drop duplicates, keep order."""
    seen = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out
