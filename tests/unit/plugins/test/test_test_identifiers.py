# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The identifier tests: true for what the modules accept, false for the rest, errors only for a missing library."""

from __future__ import annotations

import builtins

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.stormgmt.core.plugins.test import identifiers as test_plugin

TESTS = test_plugin.TestModule().tests()

CASES = {
    "iqn": (
        ["iqn.2026-01.com.example:host1", "IQN.2026-01.COM.EXAMPLE:HOST1", "iqn.2001-04.com.example"],
        ["iqn.2026-00.com.example:h", "eui.02004567a425678d", "21:00:00:24:ff:31:4c:5a", "iqn.", ""],
    ),
    "wwpn": (
        ["0x21000024ff314c5a", "21000024FF314C5A", "21:00:00:24:ff:31:4c:5a", "21-00-00-24-FF-31-4C-5A"],
        ["0x21000024ff314c", "iqn.2026-01.com.example:h1", "21:00:00:24:ff:31:4c:zz", ""],
    ),
    "initiator": (
        ["iqn.2026-01.com.example:h1", "eui.02004567A425678D", "naa.600a0b80001111550000a7c34c8e6f4c",
         "naa.5000c5000a1b2c3d", "21:00:00:24:ff:31:4c:5a"],
        ["eui.0200", "naa.123", "host1", "192.0.2.1", ""],
    ),
    "nfs_client": (
        ["*", "192.0.2.1", "192.0.2.0/24", "2001:db8::1", "host1.example.com", "*.example.com", "@lab"],
        ["192.0.2.0/33", "999.0.0.1", "a host", "/srv/share", ""],
    ),
}


@pytest.mark.parametrize("name, value", [(n, v) for n, (good, _bad) in CASES.items() for v in good])
def test_true_for_what_the_modules_accept(name, value):
    assert TESTS[name](value) is True


@pytest.mark.parametrize("name, value", [(n, v) for n, (_good, bad) in CASES.items() for v in bad])
def test_false_for_malformed_values(name, value):
    assert TESTS[name](value) is False


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("value", [None, 42, 1.5, ["*"], {"name": "x"}])
def test_false_for_values_that_are_not_strings(name, value):
    assert TESTS[name](value) is False


def test_the_documented_tests_exist():
    assert sorted(TESTS) == sorted(CASES)


def test_a_missing_netaddr_is_an_error_not_a_false(monkeypatch):
    """Without netaddr a separated WWPN cannot be read: say so instead of answering False."""
    real_import = builtins.__import__

    def no_netaddr(name, *args, **kwargs):
        if name == "netaddr":
            raise ImportError("No module named 'netaddr'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_netaddr)
    with pytest.raises(AnsibleFilterError, match="netaddr is needed"):
        TESTS["wwpn"]("21:00:00:24:ff:31:4c:5a")
    # the plain hex form needs no library
    assert TESTS["wwpn"]("0x21000024ff314c5a") is True
