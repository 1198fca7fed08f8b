# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The snapshot module on the simulator: create, delete, restore."""

from __future__ import annotations

import pytest

GiB = 1024 ** 3


@pytest.fixture
def db01(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    return sim


def test_create_and_delete_cycles(sim_uri, db01, cycle):
    created = cycle("snapshot", dict(server=sim_uri, name="s1", lun="db01"))
    snap = created["snapshot"]
    assert (snap["name"], snap["se_type"], snap["parent"], snap["size"]) == ("s1", "SNAP", "db01", GiB)
    predicted = created["_predicted"]["snapshot"]
    assert (predicted["se_type"], predicted["parent"], predicted["size"]) == ("SNAP", "db01", GiB)
    assert db01.get_snapshot("db01", "s1") == snap
    deleted = cycle("snapshot", dict(server=sim_uri, name="s1", lun="db01", state="absent"))
    assert deleted["action"] == "delete" and db01.list_snapshots() == []


def test_restore_cycle(sim_uri, db01, module, cycle):
    module("snapshot", dict(server=sim_uri, name="s1", lun="db01"))
    db01.resize_lun("db01", 2 * GiB)
    result = cycle("snapshot", dict(server=sim_uri, name="s1", lun="db01", state="restored"))
    assert result["action"] == "restore"
    assert db01.get_lun("db01")["size"] == GiB


def test_restore_of_a_fresh_snapshot_changes_nothing(sim_uri, db01, module):
    module("snapshot", dict(server=sim_uri, name="s1", lun="db01"))
    assert module("snapshot", dict(server=sim_uri, name="s1", lun="db01", state="restored"))["changed"] is False


def test_restore_of_a_mapped_lun_is_refused(sim_uri, db01, module):
    module("snapshot", dict(server=sim_uri, name="s1", lun="db01"))
    db01.resize_lun("db01", 2 * GiB)
    db01.create_access_group("web", ["iqn.2026-01.com.example:h1"], [{"name": "db01", "lun_id": None}], None)
    for check_mode in (True, False):
        result = module("snapshot", dict(server=sim_uri, name="s1", lun="db01", state="restored"), check_mode=check_mode)
        assert result["error"] == "SnapRestoreNotSafeEx" and "web" in result["msg"]
    assert db01.get_lun("db01")["size"] == 2 * GiB


@pytest.mark.parametrize("args, error, words", [
    (dict(name="s1", lun="nolun"), "OperationPreReqNotMetEx", ["nolun"]),
    (dict(name="s/1", lun="db01"), "InvalidValueEx", ["s/1"]),
    (dict(name="s1", lun="../db01"), "InvalidValueEx", ["../db01"]),
    (dict(name="nosnap", lun="db01", state="restored"), "OperationPreReqNotMetEx", ["nosnap", "does not exist"]),
])
def test_bad_input(sim_uri, db01, module, args, error, words):
    result = module("snapshot", dict(args, server=sim_uri))
    assert result["failed"] and result["error"] == error
    assert all(word in result["msg"] for word in words), result["msg"]
    assert db01.list_snapshots() == []


def test_lun_and_filesystem_are_exclusive(sim_uri, module):
    result = module("snapshot", dict(server=sim_uri, name="s1", lun="a", filesystem="b"))
    assert result["failed"] and "mutually exclusive" in result["msg"]
    result = module("snapshot", dict(server=sim_uri, name="s1"))
    assert result["failed"] and "one of the following is required" in result["msg"] and "lun" in result["msg"]


def test_absent_snapshot_of_a_missing_lun_is_no_change(sim_uri, module):
    assert module("snapshot", dict(server=sim_uri, name="s1", lun="ghost", state="absent"))["changed"] is False
    for check_mode in (True, False):  # as the snapshot integration target asked it: check mode and real, diff
        result = module("snapshot", dict(server=sim_uri, name="snap-nosnap", lun="snap-nolun", state="absent"),
                        check_mode=check_mode, diff=True)
        assert result["changed"] is False and not result.get("failed") and "action" not in result, result
        assert result["snapshot"] == {} and result["diff"]["before"] == result["diff"]["after"]


# Cases moved here from the snapshot integration target, which keeps one representative of each
# kind through Ansible: each fails in check mode and for real with the same class and message
# naming the snapshot, and changes nothing.
@pytest.mark.parametrize("args, error, words", [
    (dict(name="..", lun="db01"), "InvalidValueEx", ["snapshot name"]),
    (dict(name="", lun="db01"), "InvalidValueEx", ["snapshot name"]),
    (dict(name="snap-" + "x" * 60, lun="db01"), "InvalidValueEx", ["snapshot name"]),
    (dict(name="bad/name", lun="db01"), "InvalidValueEx", ["snapshot name"]),
    (dict(name="snap-s1", lun="../x"), "InvalidValueEx", ["'../x'"]),
    (dict(name="snap-s1", lun="snap-nolun", state="restored"), "OperationPreReqNotMetEx", ["snap-nolun"]),
])
def test_refused_in_check_mode_and_for_real(sim_uri, db01, module, args, error, words):
    db01.create_snapshot("db01", "snap-s1")
    before = (db01.list_luns(), db01.list_snapshots())
    check = module("snapshot", dict(args, server=sim_uri), check_mode=True)
    real = module("snapshot", dict(args, server=sim_uri))
    for result in (check, real):
        assert result["failed"] and not result.get("changed") and result["error"] == error, result
        assert "Traceback" not in result["_stdout"]
    assert real["msg"] == check["msg"]
    assert all(word in real["msg"] for word in words + [args["name"]]), real["msg"]
    assert (db01.list_luns(), db01.list_snapshots()) == before


@pytest.mark.parametrize("args, word", [
    (dict(keep=0), "keep"),
    (dict(prefix="p" * 48), "prefix"),
])
def test_bad_rotation_options_are_refused(sim_uri, db01, module, args, word):
    args = dict(dict(prefix="nightly-", lun="db01", every="1d", keep=2), server=sim_uri, **args)
    for check_mode in (True, False):
        result = module("snapshot", args, check_mode=check_mode)
        assert result["failed"] and not result.get("changed") and result["error"] == "InvalidValueEx", result
        assert word in result["msg"] and "Traceback" not in result["_stdout"]
    assert db01.list_snapshots() == []
