# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Object names, initiators and NFS clients: what is accepted and how it is normalised."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _identifiers as ids
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)


# --- names (SPEC section 3) -------------------------------------------------

@pytest.mark.parametrize("name", ["db01", "a", "A_b.c-d", "_x", "0", "9lives", "x" * 63, "lun.1", "a..b"])
def test_valid_names(name):
    assert ids.validate_name(name) == name


@pytest.mark.parametrize("name", [
    "", "x" * 64, "a/b", "/abs", "..", ".", ".hidden", "-opt", "with space", " lead", "trail ",
    "tab\there", "lun1\n", "\nlun1", "é", "a:b", "a@b", "a*", None, 5, ["db01"],
])
def test_invalid_names_are_invalid_value(name):
    with pytest.raises(InvalidValueEx) as info:
        ids.validate_name(name, "LUN name")
    assert info.value.key == "LUN name"
    assert "LUN name" in info.value.msg


# --- initiators -------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("iqn.2026-01.com.example:host1", "iqn.2026-01.com.example:host1"),
    ("IQN.2026-01.COM.Example:Host1", "iqn.2026-01.com.example:host1"),
    ("  iqn.1994-05.com.redhat:a1b2c3  ", "iqn.1994-05.com.redhat:a1b2c3"),
    ("iqn.2026-12.org.example", "iqn.2026-12.org.example"),
    ("eui.02004567a425678d", "eui.02004567A425678D"),
    ("EUI.02004567A425678D", "eui.02004567A425678D"),
    ("naa.52004567ba64678d", "naa.52004567BA64678D"),
    ("naa.6001405abcdef0123456789abcdef012", "naa.6001405ABCDEF0123456789ABCDEF012"),
    ("0x10000000C9123456", "0x10000000c9123456"),
    ("0X10000000c9123456", "0x10000000c9123456"),
    ("10000000c9123456", "0x10000000c9123456"),
    ("10:00:00:00:C9:12:34:56", "0x10000000c9123456"),
    ("10-00-00-00-c9-12-34-56", "0x10000000c9123456"),
])
def test_initiators_normalise(value, expected):
    assert ids.normalize_initiator(value) == expected


def test_every_wwpn_spelling_is_one_initiator():
    spellings = ["0x500143802426baf4", "500143802426BAF4", "50:01:43:80:24:26:ba:f4", "50-01-43-80-24-26-BA-F4"]
    assert len(set(ids.normalize_initiator(s) for s in spellings)) == 1


@pytest.mark.parametrize("value", [
    "", "   ", None, 42,
    "iqn.2026-13.com.example:h",        # month 13
    "iqn.26-01.com.example:h",          # year not 4 digits
    "iqn.2026-01.-bad.example:h",       # label starts with '-'
    "iqn.2026-01.com.example:h h",      # space
    "iqn.2026-01.com.exa_mple:h",       # underscore in the domain
    "iqn.2026-01.com.example:" + "x" * 220,  # longer than 223 bytes
    "eui.0200456",                      # too short
    "eui.02004567a425678g",             # not hex
    "naa.5200456",
    "naa.52004567ba64678d0",            # 17 digits
    "0x10000000c912345",                # 15 digits
    "0x10000000c91234567",              # 17 digits
    "10000000c912345g",
    "10:00:00:00:c9:12:34",             # 7 bytes
    "10:00-00:00:c9:12:34:56",          # mixed separators
    "10.00.00.00.c9.12.34.56",
    "1000:0000:c912:3456",
    "host1",
])
def test_malformed_initiators_are_value_format(value):
    with pytest.raises(ValueFormatEx) as info:
        ids.normalize_initiator(value)
    assert info.value.key == "initiators"


@pytest.mark.parametrize("value, kind", [
    ("iqn.2026-01.com.example:h", "iqn"), ("eui.02004567A425678D", "eui"),
    ("naa.52004567BA64678D", "naa"), ("0x10000000c9123456", "wwpn"),
])
def test_initiator_type(value, kind):
    assert ids.initiator_type(value) == kind


# --- NFS clients ------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("*", "*"),
    ("192.0.2.10", "192.0.2.10"),
    (" 192.0.2.10 ", "192.0.2.10"),
    ("192.0.2.0/24", "192.0.2.0/24"),
    ("192.0.2.77/24", "192.0.2.0/24"),          # CIDR normalised to its network
    ("10.1.2.3/8", "10.0.0.0/8"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:db8:0:0::1/32", "2001:db8::/32"),
    ("::1", "::1"),
    ("Client1.Example.COM", "client1.example.com"),
    ("client1.example.com.", "client1.example.com"),
    ("*.example.com", "*.example.com"),
    ("web?.example.com", "web?.example.com"),
    ("@trusted_hosts", "@trusted_hosts"),
    ("localhost", "localhost"),
])
def test_nfs_clients_normalise(value, expected):
    assert ids.normalize_nfs_client(value) == expected


@pytest.mark.parametrize("value", [
    "", "  ", None, 7,
    "300.1.1.1", "1.2.3", "010.0.0.1", "192.0.2.1/33", "192.0.2.0/abc", "2001:db8::/129", "fe80::1%eth0",
    "host_name", "a..b", "-host", "host-", "bad host", "@", "@net group", "x" * 64 + ".example.com",
])
def test_bad_nfs_clients_are_value_format(value):
    with pytest.raises(ValueFormatEx) as info:
        ids.normalize_nfs_client(value)
    assert info.value.key == "clients"


def test_without_netaddr_addresses_need_it_but_names_do_not(monkeypatch):
    # netaddr is the only third-party library on nodes; without it the error says what to install
    monkeypatch.setitem(sys.modules, "netaddr", None)
    assert ids.normalize_nfs_client("host1.example.com") == "host1.example.com"
    assert ids.normalize_initiator("0x10000000c9123456") == "0x10000000c9123456"
    with pytest.raises(OperationPreReqNotMetEx) as info:
        ids.normalize_nfs_client("192.0.2.0/24")
    assert "netaddr" in info.value.msg


def test_unique_keeps_order():
    assert ids.unique(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_an_unrecognised_initiator_is_told_every_accepted_form():
    # a bare host name is neither an iSCSI name nor a WWPN: the message lists both, not only WWPN
    with pytest.raises(ValueFormatEx) as info:
        ids.normalize_initiator("host1")
    assert info.value.msg.startswith("'host1' is not an initiator name")
    for form in ("iqn.", "eui.", "naa.", "WWPN"):
        assert form in info.value.msg
