# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups of the tgt backend without a tgtd (FakeTgtd of test_tgt.py).

What is pinned here: a group snapshot of mapped members copies the files inside the hold of
tgtd and asks tgtd nothing meanwhile (a tgtadm call to a stopped tgtd would never return),
a pool without reflink copies refuses it while members are mapped, and the all-or-nothing
rules. The hold itself (SIGSTOP/SIGCONT, watchdog) is tested for real in test_tgtd_pause.py,
and the whole against a real tgtd with an iSCSI writer in the iscsi molecule scenario.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import errors
from ansible_collections.stormgmt.core.plugins.module_utils.backends import _tgt_groups

from test_tgt import backend, pool, tgtd  # noqa: F401 pylint: disable=import-error,unused-import

MiB = 1024 * 1024
HOST = "iqn.2026-11.io.stormgmt.test:host-a"


@pytest.fixture
def group(backend):  # noqa: F811
    array = backend()
    for name in ("a", "b"):
        array.create_lun(name, "pool0", MiB, True, None)
    array.create_consistency_group("g", ["a", "b"], [])
    return array


@pytest.fixture
def held(monkeypatch, tgtd):  # noqa: F811
    """hold() replaced by a recorder; FICLONE by a plain copy (tmp_path need not share extents)."""
    events = []

    @contextlib.contextmanager
    def fake_hold(control_port):
        events.append(("stop", control_port, len(tgtd.calls)))
        yield 0.0
        events.append(("go on", control_port, len(tgtd.calls)))

    def fake_reflink(source, dest):
        events.append(("reflink", os.path.basename(source)))
        shutil.copyfile(source, dest)

    monkeypatch.setattr(_tgt_groups, "hold", fake_hold)
    monkeypatch.setattr(_tgt_groups, "reflink_file", fake_reflink)
    return events


def test_mapped_members_are_copied_inside_the_hold_and_tgtd_is_not_asked(group, held, pool):  # noqa: F811
    group.create_access_group("hosts", [HOST], [{"name": "a", "lun_id": 1}], None)
    with open(os.path.join(pool, "a.img"), "r+b") as handle:
        handle.write(b"written-before")
    snap = group.create_cg_snapshot("g", "s1")
    assert [event[0] for event in held] == ["stop", "reflink", "reflink", "go on"]
    assert held[0][2] == held[-1][2], "no tgtadm call while tgtd is stopped"
    assert (snap["luns"], snap["state"]) == (["a", "b"], "ONLINE")
    with open(os.path.join(pool, ".snapshots", "a", "s1.img"), "rb") as handle:
        assert handle.read(14) == b"written-before"
    assert oct(os.stat(os.path.join(pool, ".snapshots", "b", "s1.img")).st_mode & 0o777) == "0o400"
    members = [group.get_snapshot(lun, "s1") for lun in ("a", "b")]
    assert set(member["created"] for member in members) == {snap["created"]}
    assert all(member["consistency_group"] == "g" for member in members)


def test_unmapped_members_need_no_hold(group, held):
    group.create_cg_snapshot("g", "s1")
    assert held == []


def test_a_pool_without_reflink_refuses_mapped_members(group, held, tgtd):  # noqa: F811
    tgtd.reflink = False
    array = group
    array.create_access_group("hosts", [HOST], [{"name": "b", "lun_id": 1}], None)
    fresh = type(array)(array.uri)  # a new run: it probes reflink anew
    assert fresh.get_abilities()["cg_snapshot"] == "OFFLINE"
    with pytest.raises(errors.OperationPreReqNotMetEx) as info:
        fresh.create_cg_snapshot("g", "s1")
    assert "reflink" in info.value.msg and "b" in info.value.msg
    assert fresh.list_cg_snapshots() == [] and fresh.list_snapshots() == [] and held == []


def test_member_rules(group, held, pool):
    group.create_cg_snapshot("g", "s1")
    with pytest.raises(errors.StorageElementBusyEx):
        group.delete_snapshot("a", "s1")
    with pytest.raises(errors.StorageElementBusyEx):
        group.delete_lun("a")
    with pytest.raises(errors.StorageElementBusyEx):
        group.delete_consistency_group("g")
    group.delete_lun("a", True)
    assert group.get_consistency_group("g")["luns"] == ["b"]
    assert group.get_cg_snapshot("g", "s1")["luns"] == ["b"]
    assert not os.path.exists(os.path.join(pool, ".snapshots", "a", "s1.img"))
    group.delete_consistency_group("g", True)
    assert group.list_snapshots() == [] and not os.path.exists(os.path.join(pool, ".snapshots", "b", "s1.img"))


def test_restore_is_all_or_nothing(group, held, pool, tgtd):  # noqa: F811
    group.create_cg_snapshot("g", "s1")
    for name in ("a", "b"):
        group.resize_lun(name, 2 * MiB)
    real_cp = tgtd._cp
    calls = []

    def failing_cp(args):
        calls.append(args)
        if len(calls) == 2:
            return 1, "", "cp: error writing: No space left on device\n"
        return real_cp(args)

    tgtd._cp = failing_cp
    with pytest.raises(errors.OperationFailedEx):
        group.restore_cg_snapshot("g", "s1")
    assert [group.get_lun(name)["size"] for name in ("a", "b")] == [2 * MiB, 2 * MiB]
    assert os.listdir(os.path.join(pool, ".stormgmt", "tmp")) == []
    tgtd._cp = real_cp
    group.restore_cg_snapshot("g", "s1")
    assert [group.get_lun(name)["size"] for name in ("a", "b")] == [MiB, MiB]
