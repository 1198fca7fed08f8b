# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How the mount module compares what a task asks for with the live mount's options,
and who an export lets mount (pure functions; the integration target mounts for real)."""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _mount
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx


def test_parse_opts():
    assert _mount.parse_opts(None) == ["defaults"]
    assert _mount.parse_opts("") == ["defaults"]
    assert _mount.parse_opts(" ro, noatime ,") == ["ro", "noatime"]
    with pytest.raises(InvalidValueEx):
        _mount.parse_opts("ro,no atime")


def test_defaults_mean_the_default_of_every_flag():
    assert _mount.wanted_options(["defaults"]) == ["rw", "relatime", "async", "suid", "dev", "exec"]
    assert _mount.wanted_options(["ro", "noatime", "loop", "x-systemd.automount"]) == [
        "ro", "noatime", "async", "suid", "dev", "exec"]
    assert _mount.wanted_options(["atime"]) == ["atime", "rw", "async", "suid", "dev", "exec"]


@pytest.mark.parametrize("opts, live, unmet", [
    ("defaults", "rw,relatime", []),
    ("defaults", "ro,relatime", ["rw"]),                     # a read-only mount is not what defaults means
    ("ro", "rw,relatime", ["ro"]),
    ("noatime", "rw,relatime", ["noatime"]),
    ("defaults", "rw,noatime", ["relatime"]),
    ("nosuid,nodev", "rw,nosuid,nodev,relatime", []),
    ("defaults", "rw,nosuid,relatime", ["suid"]),
    ("discard", "rw,relatime", []),                          # not shown by the kernel: taken as met
    ("nodiscard", "rw,relatime,discard", ["nodiscard"]),
    ("commit=30", "rw,relatime,commit=5", ["commit=30"]),
    ("commit=30", "rw,relatime,commit=30", []),
    ("data=ordered", "rw,relatime", []),
])
def test_unmet_options(opts, live, unmet):
    wanted = _mount.wanted_options(_mount.parse_opts(opts))
    assert _mount.unmet_options(wanted, live.split(",")) == unmet


def test_bind_mounts_compare_flags_only():
    wanted = _mount.wanted_options(["nodiscard"])
    assert _mount.unmet_options(wanted, ["rw", "relatime", "discard"], flags_only=True) == []


def test_predicted_options_after_a_remount():
    assert _mount._predict_options(["rw", "relatime", "discard"], _mount.wanted_options(["ro"])) == [
        "relatime", "discard", "ro"]


@pytest.mark.parametrize("client, allowed", [
    ("*", True),
    ("localhost", True),
    ("local*", True),
    ("otherhost", False),
    ("127.0.0.1", True),
    ("127.0.0.0/8", True),
    ("192.0.2.0/24", False),
    ("::1", True),
    ("@trusted", False),
])
def test_export_clients_that_cover_this_host(client, allowed):
    names, addresses = {"localhost", "node1"}, {"127.0.0.1", "::1"}
    assert _mount.client_allows(client, names, addresses) is allowed


def test_values_the_kernel_rewrites_count_once_recorded_in_fstab():
    wanted = _mount.wanted_options(["size=4m"])
    live = ["rw", "relatime", "size=4096k"]
    assert _mount.unmet_options(wanted, live) == ["size=4m"]
    assert _mount.unmet_options(wanted, live, recorded=["size=4m"]) == []
    assert _mount.unmet_options(_mount.wanted_options(["size=8m"]), live, recorded=["size=4m"]) == ["size=8m"]
