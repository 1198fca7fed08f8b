# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The snapshot module's group and rotation forms on the simulator.

Time passes on the storage server here by moving the creation times the simulator recorded
(its state file is the server's records), so a test need not wait a day.
"""

from __future__ import annotations

import sqlite3
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _rotation

GiB = 1024 ** 3
DAY = 86400


@pytest.fixture
def db(sim):
    for name in ("db-data", "db-redo", "db-logs"):
        sim.create_lun(name, "pool0", GiB, True, None)
    sim.create_consistency_group("db", ["db-data", "db-redo", "db-logs"], [])
    return sim


def age(sim_path, days: float, table: str = "snapshots") -> None:
    """Everything snapshotted so far was taken ``days`` earlier (also the group snapshots)."""
    with sqlite3.connect(sim_path) as con:
        con.execute("UPDATE %s SET created = created - ?" % table, (days * DAY,))
        if table == "snapshots":
            con.execute("UPDATE cg_snapshots SET created = created - ?", (days * DAY,))


def test_group_snapshot_create_restore_delete(sim_uri, db, cycle, module):
    created = cycle("snapshot", dict(server=sim_uri, name="before-upgrade", consistency_group="db"))
    snap = created["group_snapshot"]
    assert (snap["luns"], snap["size"], snap["state"]) == (["db-data", "db-logs", "db-redo"], 3 * GiB, "ONLINE")
    assert created["_predicted"]["group_snapshot"]["luns"] == snap["luns"]
    assert "snapshot" not in created
    # clone of a member's snapshot works as for any snapshot
    clone = module("clone", dict(server=sim_uri, name="db-test", lun="db-data", snapshot="before-upgrade"))
    assert clone["changed"] and clone["clone"]["parent_snapshot"] == "before-upgrade"
    module("lun", dict(server=sim_uri, name="db-test", state="absent"))
    # deleting one member's snapshot is refused, in check mode too
    for check_mode in (True, False):
        result = module("snapshot", dict(server=sim_uri, name="before-upgrade", lun="db-redo", state="absent"),
                        check_mode=check_mode)
        assert result["error"] == "StorageElementBusyEx" and "consistency_group: db" in result["msg"]
    for lun in ("db-data", "db-logs"):
        db.resize_lun(lun, 2 * GiB)
    restored = cycle("snapshot", dict(server=sim_uri, name="before-upgrade", consistency_group="db", state="restored"))
    assert restored["action"] == "restore"
    assert [db.get_lun(lun)["size"] for lun in ("db-data", "db-logs", "db-redo")] == [GiB] * 3
    deleted = cycle("snapshot", dict(server=sim_uri, name="before-upgrade", consistency_group="db", state="absent"))
    assert deleted["group_snapshot"] == {} and db.list_snapshots() == []


def test_group_snapshot_failures_change_nothing(sim_uri, db, module):
    db.create_snapshot("db-logs", "taken")
    db.create_consistency_group("empty", [], [])
    cases = [
        (dict(name="taken", consistency_group="db"), "InvalidValueEx", "db-logs"),
        (dict(name="s", consistency_group="empty"), "OperationPreReqNotMetEx", "no members"),
        (dict(name="s", consistency_group="ghost"), "OperationPreReqNotMetEx", "ghost"),
        (dict(name="ghost", consistency_group="db", state="restored"), "OperationPreReqNotMetEx", "does not exist"),
    ]
    for args, error, words in cases:
        for check_mode in (True, False):
            result = module("snapshot", dict(args, server=sim_uri), check_mode=check_mode)
            assert result["failed"] and result["error"] == error and words in result["msg"], result
    assert [s["name"] for s in db.list_snapshots()] == ["taken"] and db.list_cg_snapshots() == []


def test_group_restore_of_a_mapped_member_is_refused(sim_uri, db, module):
    db.create_cg_snapshot("db", "s1")
    db.resize_lun("db-data", 2 * GiB)
    db.create_access_group("web", ["iqn.2026-01.com.example:h1"], [{"name": "db-redo", "lun_id": None}], None)
    for check_mode in (True, False):
        result = module("snapshot", dict(server=sim_uri, name="s1", consistency_group="db", state="restored"),
                        check_mode=check_mode)
        assert result["error"] == "SnapRestoreNotSafeEx" and "db-redo" in result["msg"]
    assert db.get_lun("db-data")["size"] == 2 * GiB


def test_nightly_keep_3_of_a_group(sim_uri, sim_path, db, cycle, module):
    args = dict(server=sim_uri, prefix="nightly-", consistency_group="db", every="1d", keep=3)
    first = cycle("snapshot", args)
    assert first["action"] == "rotate" and first["pruned_snapshots"] == []
    assert first["rotation"]["count"] == 1 and first["rotation"]["newest"] == first["created_snapshot"]
    assert first["diff"]["before"]["snapshots"] == [] and first["diff"]["after"]["snapshots"] == [first["created_snapshot"]]
    names = [first["created_snapshot"]]
    for _night in range(4):
        age(sim_path, 1)
        time.sleep(1.01)  # the next name is one second later
        result = module("snapshot", args, diff=True)
        assert result["changed"] and result["created_snapshot"] not in names
        names.append(result["created_snapshot"])
        assert module("snapshot", args)["changed"] is False
    assert result["pruned_snapshots"] == [names[1]]
    series = [snap["name"] for snap in db.list_cg_snapshots("db")]
    assert series == names[2:] and len(series) == 3
    # every member has its own snapshot of each, and none is pruned alone
    assert sorted(snap["name"] for snap in db.list_snapshots("db-redo")) == sorted(series)


def test_rotation_check_mode_and_diff_show_what_would_happen(sim_uri, sim_path, db, module):
    args = dict(server=sim_uri, prefix="hourly-", lun="db-data", every="1h", keep=2)
    module("snapshot", args)
    age(sim_path, 1 / 24.0)
    time.sleep(1.01)
    module("snapshot", args)
    age(sim_path, 1 / 24.0)
    time.sleep(1.01)
    before = [snap["name"] for snap in db.list_snapshots("db-data")]
    predicted = module("snapshot", args, check_mode=True, diff=True)
    assert predicted["changed"] and predicted["pruned_snapshots"] == [before[0]]
    assert predicted["created_snapshot"].startswith("hourly-")
    assert predicted["diff"]["before"]["snapshots"] == before
    assert predicted["diff"]["after"]["snapshots"] == [before[1], predicted["created_snapshot"]]
    assert [snap["name"] for snap in db.list_snapshots("db-data")] == before  # check mode wrote nothing


def test_rotation_keeps_and_reports_what_a_clone_holds_and_what_it_did_not_make(sim_uri, sim_path, db, module):
    db.create_snapshot("db-data", "nightly-before-upgrade")
    old = _rotation.generated_name("nightly-", time.time() - 10 * DAY)
    db.create_snapshot("db-data", old)
    age(sim_path, 10)
    db.create_clone("db-test", "db-data", old)
    result = module("snapshot", dict(server=sim_uri, prefix="nightly-", lun="db-data", every="1d", max_age="7d"))
    assert result["changed"] and result["pruned_snapshots"] == []
    assert result["kept_snapshots"] == [{"name": old, "reason": "older than 1w, but clone(s) db-test depend on it"}]
    names = sorted(snap["name"] for snap in db.list_snapshots("db-data"))
    assert names == sorted([old, "nightly-before-upgrade", result["created_snapshot"]])
    # reported again by the next run, which changes nothing
    again = module("snapshot", dict(server=sim_uri, prefix="nightly-", lun="db-data", every="1d", max_age="7d"))
    assert again["changed"] is False and again["kept_snapshots"] == result["kept_snapshots"]


def test_rotation_of_a_file_system(sim_uri, sim_path, sim, cycle):
    sim.create_filesystem("home", "pool0", GiB, {})
    result = cycle("snapshot", dict(server=sim_uri, prefix="daily-", filesystem="home", every="1d", keep=3))
    assert result["rotation"]["parent_type"] == "filesystem"
    assert [snap["name"] for snap in sim.list_fs_snapshots("home")] == [result["created_snapshot"]]
    assert sim.list_fs_snapshots("home")[0]["created"] is not None


@pytest.mark.parametrize("args, error, words", [
    (dict(prefix="n-", lun="db-data", every="1d"), "MissingKeyEx", "keep, max_age or both"),
    (dict(prefix="n-", lun="db-data", keep=3), "MissingKeyEx", "every"),
    (dict(prefix="n-", lun="db-data", every="30s", keep=3), "InvalidValueEx", "at least 1m"),
    (dict(prefix="n-", lun="db-data", every="1 month", keep=3), "ValueFormatEx", "every"),
    (dict(prefix="n-", lun="db-data", every="1d", keep=0), "InvalidValueEx", "keep"),
    (dict(prefix="n-", lun="db-data", every="1d", max_age="soon"), "ValueFormatEx", "max_age"),
    (dict(prefix="n-", lun="db-data", every="1d", keep=3, state="absent"), "InvalidValueEx", "state present"),
    (dict(prefix="n/", lun="db-data", every="1d", keep=3), "InvalidValueEx", "prefix"),
    (dict(prefix="n-", lun="ghost", every="1d", keep=3), "OperationPreReqNotMetEx", "ghost"),
    (dict(name="s1", lun="db-data", keep=3), None, "prefix"),
])
def test_bad_rotations_change_nothing(sim_uri, db, module, args, error, words):
    result = module("snapshot", dict(args, server=sim_uri))
    assert result["failed"], result
    if error:
        assert result["error"] == error, result
    assert words in result["msg"], result["msg"]
    assert db.list_snapshots() == []


def test_rotation_status_in_storage_info(sim_uri, sim_path, db, module):
    module("snapshot", dict(server=sim_uri, prefix="nightly-", consistency_group="db", every="1d", keep=7))
    module("snapshot", dict(server=sim_uri, prefix="hourly-", lun="db-data", every="1h", keep=3))
    db.create_snapshot("db-logs", "nightly-by-hand")
    everything = module("storage_info", dict(server=sim_uri, gather_subset=["rotation"]))["storage"]["rotation"]
    assert [(s["parent_type"], s["parent"], s["prefix"], s["count"], s["next_due"]) for s in everything] == [
        ("consistency_group", "db", "nightly-", 1, None), ("lun", "db-data", "hourly-", 1, None)]
    age(sim_path, 2)
    nightly = module("storage_info", dict(server=sim_uri, gather_subset=["rotation"],
                                          rotation=dict(prefix="nightly-", every="1d")))["storage"]["rotation"]
    assert len(nightly) == 1 and nightly[0]["due"] is True and nightly[0]["every"] == "1d"
    bad = module("storage_info", dict(server=sim_uri, gather_subset=["rotation"], rotation=dict(every="often")))
    assert bad["error"] == "ValueFormatEx"
