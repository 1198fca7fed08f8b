# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The identifier and size filters: what a template gets back, and the error it fails with."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.stormgmt.core.plugins.filter.identifiers import FilterModule
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import normalize_initiator

FILTERS = FilterModule().filters()


def test_the_documented_filters_exist():
    assert sorted(FILTERS) == ["initiator", "iqn", "nfs_client", "size_bytes", "wwpn"]


@pytest.mark.parametrize("value, expected", [
    (" IQN.2026-01.COM.Example:Host1 ", "iqn.2026-01.com.example:host1"),
    ("iqn.2026-01.com.example", "iqn.2026-01.com.example"),
])
def test_iqn_normalises(value, expected):
    assert FILTERS["iqn"](value) == expected


@pytest.mark.parametrize("value", [
    "iqn.2026-13.com.example:host1",       # no month 13
    "eui.02004567a425678d",                # an iSCSI name, but not an IQN
    "iqn.2026-01." + "a" * 220,            # longer than 223 bytes
    "",
])
def test_iqn_rejects_with_the_reason(value):
    with pytest.raises(AnsibleFilterError, match=r"stormgmt\.core\.iqn: .*not an iSCSI qualified name"):
        FILTERS["iqn"](value)


@pytest.mark.parametrize("value", [
    "21:00:00:24:FF:31:4C:5A",
    "21-00-00-24-ff-31-4c-5a",
    "0X21000024FF314C5A",
    "0x21000024ff314c5a",
    "21000024ff314c5a",
    " 21000024FF314C5A ",
])
def test_wwpn_every_accepted_form_gives_0x_and_16_lower_hex(value):
    assert FILTERS["wwpn"](value) == "0x21000024ff314c5a"


@pytest.mark.parametrize("value", [
    "21:00:00:24:ff:31:4c",        # 7 bytes
    "21000024ff314c5a00",          # 9 bytes
    "21:00-00:24:ff:31:4c:5a",     # mixed separators
    "0x21000024ff314c5g",          # not hex
])
def test_wwpn_rejects_with_the_reason(value):
    with pytest.raises(AnsibleFilterError, match=r"stormgmt\.core\.wwpn: .*is not a Fibre Channel WWPN"):
        FILTERS["wwpn"](value)


@pytest.mark.parametrize("value, expected", [
    ("IQN.2026-01.com.example:WEB1", "iqn.2026-01.com.example:web1"),
    ("eui.02004567a425678d", "eui.02004567A425678D"),
    ("NAA.600a0b80001111550000a7c34c8e6f4c", "naa.600A0B80001111550000A7C34C8E6F4C"),
    ("21:00:00:24:ff:31:4c:5a", "0x21000024ff314c5a"),
])
def test_initiator_normalises_like_the_access_group_module(value, expected):
    assert FILTERS["initiator"](value) == expected
    # the filter and the module share one parser: what a play computes is what the server stores
    assert FILTERS["initiator"](value) == normalize_initiator(value)


def test_initiator_rejects_a_short_eui():
    with pytest.raises(AnsibleFilterError, match="is not an EUI-64 iSCSI name"):
        FILTERS["initiator"]("eui.0200")


@pytest.mark.parametrize("value, expected", [
    ("*", "*"),
    ("192.0.2.10", "192.0.2.10"),
    ("192.0.2.7/24", "192.0.2.0/24"),
    ("2001:DB8::/32", "2001:db8::/32"),
    ("Host1.Example.COM.", "host1.example.com"),
    ("*.lab.example.com", "*.lab.example.com"),
    ("@lab", "@lab"),
])
def test_nfs_client_normalises(value, expected):
    assert FILTERS["nfs_client"](value) == expected


@pytest.mark.parametrize("value, reason", [
    ("192.0.2.0/33", "is not a network"),
    ("300.1.1.1", "is not an IP address"),
    ("host name", "is not an NFS client"),
    ("", "must be a non-empty string"),
])
def test_nfs_client_rejects_with_the_reason(value, reason):
    with pytest.raises(AnsibleFilterError, match=reason):
        FILTERS["nfs_client"](value)


@pytest.mark.parametrize("name", ["iqn", "wwpn", "initiator", "nfs_client"])
@pytest.mark.parametrize("value", [None, 42, ["iqn.2026-01.com.example:h1"]])
def test_identifier_filters_name_the_type_of_a_non_string(name, value):
    with pytest.raises(AnsibleFilterError, match="stormgmt.core.%s: expected a string" % name):
        FILTERS[name](value)


@pytest.mark.parametrize("value, block, expected", [
    ("10G", None, 10737418240),
    ("1.5GiB", None, 1610612736),
    ("512M", None, 536870912),
    (4096, None, 4096),
    ("4096", None, 4096),
    (1000, 512, 1024),
    ("1000", "512", 1024),
    ("1G", "4K", 1073741824),
])
def test_size_bytes(value, block, expected):
    assert FILTERS["size_bytes"](value, block) == expected


@pytest.mark.parametrize("value, block, reason", [
    ("ten gigs", None, "size 'ten gigs' is not a size"),
    (0, None, "size must be greater than zero"),
    (-1, None, "size must be greater than zero"),
    (True, None, "size must be a size"),
    ("1G", "0", "block_size must be greater than zero"),
])
def test_size_bytes_rejects_with_the_reason(value, block, reason):
    with pytest.raises(AnsibleFilterError, match="stormgmt.core.size_bytes: " + reason):
        FILTERS["size_bytes"](value, block)
