# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The SQLite simulator: a storage array as a user of the modules sees it.

Every test works on a fresh state file. ``counters_ok`` checks after the fact that
the pool counters (kept incrementally so each operation is O(1)) still equal what
the LUNs add up to. Parallel processes and crashes are in test_sim_processes.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils.backends import sim as sim_mod
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidStorageArrayEx,
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)

MiB, GiB, TiB = 1024 ** 2, 1024 ** 3, 1024 ** 4
IQN1 = "iqn.2026-01.com.example:host1"
IQN2 = "iqn.2026-01.com.example:host2"
CHAP_SECRET = "Zebra-Quartz-71-Lantern"
MUTUAL_SECRET = "Harbor-Violet-93-Meadow"


def pool(backend, name="pool0"):
    return [p for p in backend.list_pools() if p["vol_name"] == name][0]


def wait_for_job(backend, job, limit=600.0):
    """Poll a job until it is done; returns the progress values seen (no timing asserted)."""
    seen = [job["progress"]]
    deadline = time.monotonic() + limit
    while job["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.02)
        job = backend.job_status(job["job_id"])
        seen.append(job["progress"])
    assert job["status"] == "COMPLETE", job
    return seen


# --- the state file -----------------------------------------------------------

def test_new_state_has_default_pools_and_a_valid_server_record(sim, sim_path):
    assert [p["vol_name"] for p in sim.list_pools()] == ["pool0", "pool1"]
    assert sim.default_pool() == "pool0"
    assert pool(sim)["vol_total_sz"] == 10 * TiB and pool(sim, "pool1")["vol_total_sz"] == TiB
    server = records.validate("storage_server", sim.get_server())
    assert server["backend"] == "sim" and server["storage_server_id"] == sim_path
    assert server["total_sz"] == 11 * TiB and server["free_sz"] == 11 * TiB and server["alloc_sz"] == 0
    assert server["vol_groups"] == ["pool0", "pool1"] and server["access_grps"] == []
    assert [q["value"] for q in sim.list_qos()] == ["platinum", "gold", "silver", "bronze"]


def test_state_file_is_private(sim, sim_path):
    sim.create_lun("db01", "pool0", GiB, True, None)
    assert stat.S_IMODE(os.stat(os.path.dirname(sim_path)).st_mode) == 0o700
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(sim_path + suffix):
            assert stat.S_IMODE(os.stat(sim_path + suffix).st_mode) == 0o600, suffix
    assert os.path.exists(sim_path + "-wal")  # WAL mode: the -wal file was checked too


def test_state_survives_reopening(sim, sim_uri, open_backend):
    sim.create_lun("db01", "pool0", GiB, False, "gold")
    uuid = sim.server_uuid
    sim.close()
    again = open_backend(sim_uri)
    assert again.server_uuid == uuid
    assert again.get_lun("db01")["size"] == GiB and again.get_lun("db01")["qos"] == "gold"


def test_default_path_follows_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert sim_mod.default_state_path() == str(tmp_path / "xdg" / "stormgmt" / "sim.db")
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert sim_mod.default_state_path() == str(tmp_path / "home" / ".local" / "state" / "stormgmt" / "sim.db")


def test_schema_version_mismatch_is_a_clear_error(sim, sim_path, sim_uri, open_backend):
    sim.get_server()
    sim.close()
    db = sqlite3.connect(sim_path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(InvalidStorageArrayEx) as info:
        open_backend(sim_uri).list_luns()
    assert "schema version 99" in info.value.msg and "version %d" % sim_mod.SCHEMA_VERSION in info.value.msg
    assert sim_path in info.value.msg


def test_a_file_that_is_not_sqlite_is_refused_and_kept(tmp_path, open_backend):
    path = tmp_path / "notes.db"
    path.write_bytes(b"my precious notes, not a database\n" * 200)
    with pytest.raises(InvalidStorageArrayEx) as info:
        open_backend("sim://%s" % path).list_luns()
    assert "is not a stormgmt simulator state file" in info.value.msg and str(path) in info.value.msg
    assert path.read_bytes().startswith(b"my precious notes")


def test_another_applications_sqlite_file_is_refused(tmp_path, open_backend):
    path = tmp_path / "app.db"
    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(InvalidStorageArrayEx) as info:
        open_backend("sim://%s" % path).get_server()
    assert "not a stormgmt simulator state" in info.value.msg


def test_unwritable_location_is_a_clear_error(tmp_path, open_backend):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidStorageArrayEx) as info:
        open_backend("sim://%s/sub/sim.db?create=true" % blocker).list_luns()
    assert "cannot create the directory %s/sub" % blocker in info.value.msg
    assert blocker.read_text() == "x"


@pytest.mark.parametrize("uri", ["sim://host/x.db", "sim:///x.db?job_delay=-1", "sim:///x.db?job_delay=soon",
                                 "sim:///x.db?job_dealy=1", "sim:///", "sim:///x/"])
def test_bad_sim_uris(uri, open_backend):
    with pytest.raises(ValueFormatEx) as info:
        open_backend(uri)
    assert info.value.key == "server"


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-inf", "3601", "1e3", "0x10", "1_000", "\u0661", "",
                                   "1&job_delay=2"])
def test_job_delay_is_finite_and_bounded(value, sim_path, open_backend):
    """job_delay=inf or 1e308 wedged a LUN in BUSY_CREATE for ever; nan failed with a SQL constraint."""
    with pytest.raises(ValueFormatEx) as info:
        open_backend("sim://%s?job_delay=%s" % (sim_path, value)).create_lun("db01", "pool0", GiB, True, None)
    assert "job_delay" in info.value.msg and info.value.key == "server"
    assert not os.path.exists(sim_path)


def test_largest_job_delay_still_ends(sim_path, open_backend):
    backend = open_backend("sim://%s?job_delay=3600" % sim_path)
    job = backend.create_lun("db01", "pool0", GiB, True, None)
    assert job["status"] == "RUNNING" and backend.get_lun("db01")["state"] == "BUSY_CREATE"
    row = backend._conn().execute("SELECT busy_until - created FROM luns").fetchone()[0]
    assert 3599 < row <= 3601


def test_an_element_a_former_release_wedged_for_ever_is_freed_by_the_upgrade(sim, sim_path, sim_uri, open_backend):
    sim.create_lun("db01", "pool0", GiB, True, None)
    db = sim._conn()
    db.execute("UPDATE luns SET busy_state = 'BUSY_CREATE', busy_until = 9e999")  # job_delay=inf, schema 1
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    sim.close()
    again = open_backend(sim_uri)
    assert again.get_lun("db01")["state"] == "ONLINE"
    again.delete_lun("db01")


# --- LUNs ---------------------------------------------------------------------

def test_create_lun_record(sim, counters_ok):
    lun = sim.create_lun("db01", "pool0", GiB, True, None)
    assert records.validate("storage_element", lun) is lun
    assert (lun["name"], lun["se_type"], lun["size"], lun["thin"], lun["vol_group_name"]) == ("db01", "LUN", GiB, True, "pool0")
    assert lun["state"] == "ONLINE" and lun["parent"] is None and lun["access_grp_names"] == []
    assert lun["page83_id"].startswith("6001405") and len(lun["page83_id"]) == 32
    assert lun["ss_uuid"] == sim.server_uuid
    assert sim.get_lun("db01") == lun and sim.list_luns() == [lun]
    counters_ok(sim)


def test_duplicate_lun_is_invalid_value_and_changes_nothing(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, False, None)
    with pytest.raises(InvalidValueEx) as info:
        sim.create_lun("db01", "pool1", 2 * GiB, False, None)
    assert "already exists" in info.value.msg
    assert sim.get_lun("db01")["size"] == GiB and pool(sim, "pool1")["vol_alloc_sz"] == 0
    counters_ok(sim)


def test_unknown_pool_and_qos(sim):
    with pytest.raises(InvalidValueEx) as info:
        sim.create_lun("db01", "pool9", GiB, True, None)
    assert "pool9" in info.value.msg and "pool0, pool1" in info.value.msg
    with pytest.raises(InvalidValueEx) as info:
        sim.create_lun("db01", "pool0", GiB, True, "diamond")
    assert "diamond" in info.value.msg
    assert sim.list_luns() == []


def test_thin_and_thick_free_space_accounting(sim, counters_ok):
    sim.create_lun("thin", "pool0", 3 * GiB, True, None)
    after_thin = pool(sim)
    assert after_thin["vol_used_sz"] == 0 and after_thin["vol_free_sz"] == 10 * TiB
    assert after_thin["vol_alloc_sz"] == 3 * GiB
    sim.create_lun("thick", "pool0", 2 * GiB, False, None)
    after_thick = pool(sim)
    assert after_thick["vol_used_sz"] == 2 * GiB and after_thick["vol_free_sz"] == 10 * TiB - 2 * GiB
    assert after_thick["vol_alloc_sz"] == 5 * GiB
    sim.resize_lun("thick", 4 * GiB)
    assert pool(sim)["vol_used_sz"] == 4 * GiB
    sim.delete_lun("thick")
    sim.delete_lun("thin")
    assert pool(sim)["vol_used_sz"] == 0 and pool(sim)["vol_alloc_sz"] == 0
    counters_ok(sim)


def test_pool_cannot_be_overfilled(sim, counters_ok):
    sim.create_lun("big", "pool1", TiB - GiB, False, None)
    sim.create_lun("fits", "pool1", GiB, False, None)
    assert pool(sim, "pool1")["vol_free_sz"] == 0
    for thin in (False, True):
        with pytest.raises(InvalidValueEx) as info:
            sim.create_lun("more", "pool1", 512, thin, None)
        assert "pool 'pool1'" in info.value.msg
    with pytest.raises(InvalidValueEx):
        sim.create_lun("huge", "pool0", 11 * TiB, True, None)
    assert sim.get_lun("more") is None and sim.get_lun("huge") is None
    counters_ok(sim)


def test_thick_lun_grows_into_the_space_its_old_size_frees(sim, counters_ok):
    # pool1 is 1 TiB; a thick 600 GiB LUN leaves 424 GiB free. Growing it to 900 GiB needs
    # 300 GiB more: it fits, even though 900 GiB is more than the 424 GiB shown free.
    sim.create_lun("db", "pool1", 600 * GiB, False, None)
    assert sim.resize_lun("db", 900 * GiB)["size"] == 900 * GiB
    assert pool(sim, "pool1")["vol_free_sz"] == 124 * GiB
    with pytest.raises(InvalidValueEx):
        sim.resize_lun("db", TiB + 512)
    assert sim.get_lun("db")["size"] == 900 * GiB
    counters_ok(sim)


def test_resize_grow_and_shrink(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, True, None)
    assert sim.resize_lun("db01", 2 * GiB)["size"] == 2 * GiB
    assert sim.resize_lun("db01", 512 * MiB)["size"] == 512 * MiB
    assert sim.get_lun("db01")["size"] == 512 * MiB
    counters_ok(sim)


def test_operations_on_a_missing_lun(sim):
    for call in (lambda: sim.resize_lun("nope", GiB), lambda: sim.delete_lun("nope"),
                 lambda: sim.set_lun_qos("nope", "gold"), lambda: sim.create_snapshot("nope", "s1"),
                 lambda: sim.create_clone("c1", "nope")):
        with pytest.raises(OperationPreReqNotMetEx) as info:
            call()
        assert "LUN 'nope' does not exist" in info.value.msg
    assert sim.get_lun("nope") is None


def test_set_qos(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    assert sim.set_lun_qos("db01", "gold")["qos"] == "gold"
    assert sim.set_lun_qos("db01", None)["qos"] is None
    with pytest.raises(InvalidValueEx):
        sim.set_lun_qos("db01", "diamond")


# --- snapshots, restore -------------------------------------------------------

def test_snapshot_lifecycle(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, False, None)
    snap = sim.create_snapshot("db01", "s1")
    records.validate("storage_element", snap)
    assert (snap["se_type"], snap["parent"], snap["size"], snap["vol_group_name"]) == ("SNAP", "db01", GiB, "pool0")
    sim.create_snapshot("db01", "s2")
    assert [s["name"] for s in sim.list_snapshots("db01")] == ["s1", "s2"]
    assert [s["name"] for s in sim.list_snapshots()] == ["s1", "s2"]
    assert sim.get_snapshot("db01", "s1") == snap and sim.get_snapshot("db01", "nope") is None
    with pytest.raises(InvalidValueEx):
        sim.create_snapshot("db01", "s1")
    sim.delete_snapshot("db01", "s1")
    assert [s["name"] for s in sim.list_snapshots("db01")] == ["s2"]
    with pytest.raises(OperationPreReqNotMetEx):
        sim.delete_snapshot("db01", "s1")
    assert pool(sim)["vol_used_sz"] == GiB  # snapshots take no pool space in the simulator
    counters_ok(sim)


def test_snapshot_names_are_per_lun(sim):
    sim.create_lun("a", "pool0", GiB, True, None)
    sim.create_lun("b", "pool0", GiB, True, None)
    sim.create_snapshot("a", "daily")
    sim.create_snapshot("b", "daily")
    assert [(s["parent"], s["name"]) for s in sim.list_snapshots()] == [("a", "daily"), ("b", "daily")]


def test_restore_rolls_the_lun_back(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, False, None)
    sim.create_snapshot("db01", "s1")
    assert sim.snapshot_is_current("db01", "s1")
    sim.resize_lun("db01", 3 * GiB)
    assert not sim.snapshot_is_current("db01", "s1")
    restored = sim.restore_snapshot("db01", "s1")
    assert restored["size"] == GiB and restored["name"] == "db01"
    assert sim.snapshot_is_current("db01", "s1")
    assert pool(sim)["vol_used_sz"] == GiB
    counters_ok(sim)


def test_restore_of_a_mapped_lun_is_not_safe_and_changes_nothing(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_snapshot("db01", "s1")
    sim.resize_lun("db01", 2 * GiB)
    sim.create_access_group("web", [IQN1], [{"name": "db01", "lun_id": None}], None)
    with pytest.raises(SnapRestoreNotSafeEx) as info:
        sim.restore_snapshot("db01", "s1")
    assert "web" in info.value.msg
    assert sim.get_lun("db01")["size"] == 2 * GiB and not sim.snapshot_is_current("db01", "s1")


# --- clones ---------------------------------------------------------------------

def test_clone_and_split(sim, counters_ok):
    sim.create_lun("gold", "pool0", GiB, False, "silver")
    clone = sim.create_clone("copy", "gold")
    records.validate("storage_element", clone)
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"]) == ("LUN", "gold", None)
    assert clone["size"] == GiB and clone["thin"] is False and clone["qos"] == "silver"
    assert "1 dependent clone" in sim.get_lun("gold")["status"]
    assert pool(sim)["vol_used_sz"] == 2 * GiB  # a thick clone reserves its size
    with pytest.raises(StorageElementBusyEx) as info:
        sim.delete_lun("gold", force=True)  # force does not orphan clones
    assert "copy" in info.value.msg
    split = sim.split_clone("copy")
    assert split["parent"] is None and split["se_type"] == "LUN"
    with pytest.raises(InvalidValueEx):
        sim.split_clone("copy")  # no longer a clone
    sim.delete_lun("gold")
    assert sim.get_lun("copy")["size"] == GiB
    counters_ok(sim)


def test_snapshot_clone_and_split(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_snapshot("db01", "s1")
    sim.resize_lun("db01", 2 * GiB)
    clone = sim.create_clone("c1", "db01", "s1")
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"], clone["size"]) == ("SNAPCLONE", "db01", "s1", GiB)
    with pytest.raises(StorageElementBusyEx) as info:
        sim.delete_snapshot("db01", "s1")
    assert "c1" in info.value.msg
    with pytest.raises(StorageElementBusyEx):
        sim.delete_lun("db01", force=True)
    split = sim.split_clone("c1")
    assert (split["se_type"], split["parent"], split["parent_snapshot"]) == ("LUN", None, None)
    sim.delete_snapshot("db01", "s1")
    sim.delete_lun("db01")
    counters_ok(sim)


def test_clone_errors(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    with pytest.raises(InvalidValueEx):
        sim.create_clone("db01", "db01")
    with pytest.raises(OperationPreReqNotMetEx) as info:
        sim.create_clone("c1", "db01", "nosnap")
    assert "nosnap" in info.value.msg
    assert [lun["name"] for lun in sim.list_luns()] == ["db01"]


def test_clone_needs_pool_space(sim, counters_ok):
    sim.create_lun("big", "pool1", 600 * GiB, False, None)
    with pytest.raises(InvalidValueEx):
        sim.create_clone("big2", "big")
    assert sim.get_lun("big2") is None
    counters_ok(sim)


# --- dependency rules -------------------------------------------------------------

def test_lun_with_snapshots_needs_force(sim, counters_ok):
    sim.create_lun("db01", "pool0", GiB, False, None)
    sim.create_snapshot("db01", "s1")
    with pytest.raises(StorageElementBusyEx) as info:
        sim.delete_lun("db01")
    assert "s1" in info.value.msg and "force" in info.value.msg
    assert sim.get_lun("db01") is not None
    sim.delete_lun("db01", force=True)
    assert sim.get_lun("db01") is None and sim.list_snapshots() == []
    counters_ok(sim)


def test_mapped_lun_needs_force_and_force_unmaps_it(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": "db01", "lun_id": 3}], None)
    with pytest.raises(StorageElementBusyEx) as info:
        sim.delete_lun("db01")
    assert "web" in info.value.msg
    sim.delete_lun("db01", force=True)
    group = sim.get_access_group("web")
    assert group["luns"] == [] and group["grp_entries"] == [IQN1]


def test_group_with_luns_needs_force(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": "db01", "lun_id": None}], None)
    with pytest.raises(StorageElementBusyEx) as info:
        sim.delete_access_group("web")
    assert "db01" in info.value.msg
    sim.delete_access_group("web", force=True)
    assert sim.get_access_group("web") is None
    assert sim.get_lun("db01")["access_grp_names"] == []


# --- access groups -----------------------------------------------------------------

def test_access_group_record_and_masking(sim):
    for name in ("a", "b", "c"):
        sim.create_lun(name, "pool0", GiB, True, None)
    group = sim.create_access_group("web", [IQN2, IQN1], [{"name": "a", "lun_id": None}], None)
    records.validate("access_group", group)
    assert group["grp_entries"] == [IQN1, IQN2]
    assert group["luns"] == [{"name": "a", "lun_id": 1}]
    assert group["target_iqn"] == "iqn.2026-11.io.stormgmt:sim.web" and group["chap_username"] is None
    # masking: a LUN shows the groups it is mapped to, and only those
    assert sim.get_lun("a")["access_grp_names"] == ["web"] and sim.get_lun("b")["access_grp_names"] == []
    assert sim.get_server()["access_grps"] == ["web"]
    sim.create_access_group("db", [], [{"name": "a", "lun_id": 7}], None)
    assert sim.get_lun("a")["access_grp_names"] == ["db", "web"]
    assert [g["grp_name"] for g in sim.list_access_groups()] == ["db", "web"]


def test_lun_numbers_are_the_lowest_free_from_one(sim):
    for name in ("a", "b", "c", "d"):
        sim.create_lun(name, "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": n, "lun_id": None} for n in ("a", "b", "c")], None)
    assert sim.get_access_group("web")["luns"] == [{"name": "a", "lun_id": 1}, {"name": "b", "lun_id": 2},
                                                   {"name": "c", "lun_id": 3}]
    sim.update_access_group("web", {"unmap": ["b"]})
    group = sim.update_access_group("web", {"map": [{"name": "d", "lun_id": None}]})
    assert group["luns"] == [{"name": "a", "lun_id": 1}, {"name": "d", "lun_id": 2}, {"name": "c", "lun_id": 3}]


def test_lun_id_conflict_fails_the_whole_update(sim):
    sim.create_lun("a", "pool0", GiB, True, None)
    sim.create_lun("b", "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": "a", "lun_id": 5}], None)
    before = sim.get_access_group("web")
    with pytest.raises(InvalidValueEx) as info:
        sim.update_access_group("web", {"add_entries": [IQN2], "map": [{"name": "b", "lun_id": 5}]})
    assert "LUN number 5" in info.value.msg and "'a'" in info.value.msg
    assert sim.get_access_group("web") == before  # one transaction: the new initiator was not added either
    assert sim.get_lun("b")["access_grp_names"] == []


def test_lun_ids_can_be_swapped_in_one_update(sim):
    sim.create_lun("a", "pool0", GiB, True, None)
    sim.create_lun("b", "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": "a", "lun_id": 1}, {"name": "b", "lun_id": 2}], None)
    group = sim.update_access_group("web", {"map": [{"name": "a", "lun_id": 2}, {"name": "b", "lun_id": 1}]})
    assert group["luns"] == [{"name": "b", "lun_id": 1}, {"name": "a", "lun_id": 2}]


def test_remapping_a_lun_to_another_number(sim):
    sim.create_lun("a", "pool0", GiB, True, None)
    sim.create_access_group("web", [IQN1], [{"name": "a", "lun_id": 1}], None)
    assert sim.update_access_group("web", {"map": [{"name": "a", "lun_id": 9}]})["luns"] == [{"name": "a", "lun_id": 9}]


def test_entries_add_and_remove(sim):
    sim.create_access_group("web", [IQN1], [], None)
    group = sim.update_access_group("web", {"add_entries": [IQN2, IQN1], "remove_entries": [IQN1]})
    assert group["grp_entries"] == [IQN1, IQN2]  # removals first, then additions
    assert sim.update_access_group("web", {"remove_entries": [IQN1, IQN2]})["grp_entries"] == []


def test_duplicate_entries_in_a_new_group_are_one_entry(sim):
    group = sim.create_access_group("web", [IQN1, IQN1], [], None)
    assert group["grp_entries"] == [IQN1]


def test_access_group_errors(sim):
    sim.create_access_group("web", [], [], None)
    with pytest.raises(InvalidValueEx):
        sim.create_access_group("web", [IQN1], [], None)
    with pytest.raises(OperationPreReqNotMetEx):
        sim.update_access_group("nope", {"add_entries": [IQN1]})
    with pytest.raises(OperationPreReqNotMetEx):
        sim.delete_access_group("nope")
    with pytest.raises(OperationPreReqNotMetEx):
        sim.create_access_group("db", [], [{"name": "nolun", "lun_id": None}], None)
    assert sim.get_access_group("db") is None  # the half-made group was rolled back


# --- CHAP ------------------------------------------------------------------------

def test_chap_is_stored_only_as_salted_hashes(sim, sim_path):
    chap = {"username": "web-in", "password": CHAP_SECRET, "mutual_username": "web-out", "mutual_password": MUTUAL_SECRET}
    group = sim.create_access_group("web", [IQN1], [], chap)
    sim.create_access_group("db", [IQN2], [], dict(chap, mutual_username=None, mutual_password=None))
    assert group["chap_username"] == "web-in" and group["mutual_chap_username"] == "web-out"
    assert CHAP_SECRET not in repr(group) and CHAP_SECRET not in repr(sim.get_server())
    sim.close()
    raw = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(sim_path + suffix):
            with open(sim_path + suffix, "rb") as handle:
                raw += handle.read()
    for secret in (CHAP_SECRET, MUTUAL_SECRET):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            assert secret.encode(encoding) not in raw
        assert secret.encode("utf-8").hex().encode() not in raw
    db = sqlite3.connect(sim_path)
    hashes = [row[0] for row in db.execute("SELECT chap_hash FROM access_groups ORDER BY name")]
    db.close()
    assert all(h.startswith("pbkdf2_sha256$") for h in hashes)
    assert hashes[0] != hashes[1]  # same secret, different salt


def test_chap_matches(sim):
    chap = {"username": "u1", "password": CHAP_SECRET, "mutual_username": "m1", "mutual_password": MUTUAL_SECRET}
    sim.create_access_group("web", [IQN1], [], chap)
    assert sim.chap_matches("web", chap)
    assert not sim.chap_matches("web", dict(chap, password=CHAP_SECRET + "x"))
    assert not sim.chap_matches("web", dict(chap, username="u2"))
    assert not sim.chap_matches("web", dict(chap, mutual_password=CHAP_SECRET))
    assert not sim.chap_matches("web", dict(chap, mutual_username=None, mutual_password=None))
    group = sim.update_access_group("web", {"chap": None})
    assert group["chap_username"] is None and group["mutual_chap_username"] is None
    assert not sim.chap_matches("web", chap)


def test_hash_secret_round_trip():
    stored = sim_mod.hash_secret("s3cr3t-s3cr3t")
    assert sim_mod.secret_matches("s3cr3t-s3cr3t", stored)
    assert not sim_mod.secret_matches("s3cr3t-s3cr3T", stored)
    assert not sim_mod.secret_matches("x", None) and not sim_mod.secret_matches("x", "garbage")
    assert sim_mod.hash_secret("a", b"0" * 16) == sim_mod.hash_secret("a", b"0" * 16)


# --- async jobs ----------------------------------------------------------------------

@pytest.fixture
def slow_sim(tmp_path, open_backend):
    return open_backend("sim://%s/slow.db?job_delay=0.3" % tmp_path)


def test_create_runs_as_a_job(slow_sim):
    job = slow_sim.create_lun("db01", "pool0", GiB, True, None)
    records.validate("job", job)
    assert job["status"] == "RUNNING" and job["progress"] == 0 and "db01" in job["op"]
    assert slow_sim.get_lun("db01")["state"] == "BUSY_CREATE"
    with pytest.raises(StorageElementBusyEx) as info:
        slow_sim.resize_lun("db01", 2 * GiB)
    assert "BUSY_CREATE" in info.value.msg
    progress = wait_for_job(slow_sim, job)
    assert progress == sorted(progress) and progress[-1] == 100 and len(set(progress)) >= 2
    assert slow_sim.get_lun("db01")["state"] == "ONLINE"
    assert slow_sim.resize_lun("db01", 2 * GiB)["size"] == 2 * GiB  # resize is immediate


def test_clone_split_and_restore_run_as_jobs(slow_sim):
    wait_for_job(slow_sim, slow_sim.create_lun("db01", "pool0", GiB, True, None))
    slow_sim.create_snapshot("db01", "s1")
    job = slow_sim.create_clone("c1", "db01", "s1")
    assert slow_sim.get_lun("c1")["state"] == "BUSY_CLONE"
    wait_for_job(slow_sim, job)
    job = slow_sim.split_clone("c1")
    assert slow_sim.get_lun("c1")["state"] == "BUSY_COPY"
    wait_for_job(slow_sim, job)
    slow_sim.resize_lun("db01", 2 * GiB)
    job = slow_sim.restore_snapshot("db01", "s1")
    assert slow_sim.get_lun("db01")["state"] == "BUSY_COPY"
    wait_for_job(slow_sim, job)
    assert slow_sim.get_lun("db01")["size"] == GiB


def test_unknown_job(sim):
    with pytest.raises(InvalidValueEx):
        sim.job_status("0123")


# --- schema 1 -> 2: a state an older release wrote opens and is upgraded ------------------------------

# The tables of schema version 1, as the release before this one made them.
SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pools (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, total_sz INTEGER NOT NULL,
    used_sz INTEGER NOT NULL DEFAULT 0,   -- reserved by thick LUNs
    alloc_sz INTEGER NOT NULL DEFAULT 0,  -- provisioned (thin and thick)
    description TEXT);
CREATE TABLE IF NOT EXISTS luns (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    pool_id INTEGER NOT NULL REFERENCES pools(id), size INTEGER NOT NULL, thin INTEGER NOT NULL,
    qos TEXT, parent_id INTEGER REFERENCES luns(id), parent_snap_id INTEGER REFERENCES snapshots(id),
    content_gen INTEGER NOT NULL DEFAULT 0, busy_state TEXT, busy_until REAL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS luns_parent ON luns(parent_id);
CREATE INDEX IF NOT EXISTS luns_parent_snap ON luns(parent_snap_id);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL,
    lun_id INTEGER NOT NULL REFERENCES luns(id), size INTEGER NOT NULL,
    content_gen INTEGER NOT NULL, created REAL NOT NULL, UNIQUE (lun_id, name));
CREATE TABLE IF NOT EXISTS access_groups (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    chap_user TEXT, chap_hash TEXT, mutual_user TEXT, mutual_hash TEXT);
CREATE TABLE IF NOT EXISTS group_entries (
    group_id INTEGER NOT NULL REFERENCES access_groups(id), entry TEXT NOT NULL,
    PRIMARY KEY (group_id, entry));
CREATE TABLE IF NOT EXISTS mappings (
    group_id INTEGER NOT NULL REFERENCES access_groups(id), lun_id INTEGER NOT NULL REFERENCES luns(id),
    lun_number INTEGER NOT NULL, PRIMARY KEY (group_id, lun_id), UNIQUE (group_id, lun_number));
CREATE INDEX IF NOT EXISTS mappings_lun ON mappings(lun_id);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, op TEXT NOT NULL, started REAL NOT NULL, until REAL NOT NULL);

CREATE TABLE IF NOT EXISTS filesystems (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    pool_id INTEGER NOT NULL REFERENCES pools(id), size INTEGER NOT NULL,
    parent_id INTEGER REFERENCES filesystems(id), parent_snap_id INTEGER REFERENCES fs_snapshots(id),
    export_opts TEXT NOT NULL DEFAULT '[]', created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS filesystems_parent ON filesystems(parent_id);
CREATE INDEX IF NOT EXISTS filesystems_parent_snap ON filesystems(parent_snap_id);
CREATE TABLE IF NOT EXISTS fs_snapshots (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL,
    fs_id INTEGER NOT NULL REFERENCES filesystems(id), size INTEGER NOT NULL, created REAL NOT NULL,
    UNIQUE (fs_id, name));
CREATE TABLE IF NOT EXISTS fs_exports (
    fs_id INTEGER NOT NULL REFERENCES filesystems(id), kind TEXT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY (fs_id, kind, entry));
"""


def _schema_1_state(path: str) -> None:
    """A schema 1 state: a LUN with an unsplit and a split clone, a file system exported to a group
    that no longer exists, a LUN a job_delay=inf left busy, a copy a killed run left in .tmp."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_1)
    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                   [("schema_version", "1"), ("uuid", "11111111-2222-3333-4444-555555555555"), ("created", "0")])
    db.executemany("INSERT INTO pools (name, total_sz, description) VALUES (?, ?, ?)", sim_mod.DEFAULT_POOLS)
    db.executemany("INSERT INTO luns (id, uuid, name, pool_id, size, thin, parent_id, busy_state, busy_until, created)"
                   " VALUES (?, ?, ?, 1, ?, 1, ?, ?, ?, 0)", [
                       (1, "u-gold", "gold", GiB, None, None, None),
                       (2, "u-copy", "copy", GiB, 1, None, None),         # a clone of gold
                       (3, "u-split", "split", GiB, None, None, None),    # split before: no lineage
                       (4, "u-wedged", "wedged", GiB, None, "BUSY_CREATE", float("inf"))])
    db.execute("UPDATE pools SET alloc_sz = ? WHERE id = 1", (4 * GiB,))
    db.execute("INSERT INTO filesystems (id, uuid, name, pool_id, size, created) VALUES (1, 'u-home', 'home', 1, ?, 0)",
               (GiB,))
    db.execute("INSERT INTO fs_exports (fs_id, kind, entry) VALUES (1, 'group', 'gone')")
    db.commit()
    db.close()
    root = path + ".fs"
    os.makedirs(os.path.join(root, "home"))
    os.makedirs(os.path.join(root, ".tmp", "0123abcd"))  # a copy a killed run of that release left


@pytest.mark.parametrize("read_only", [True, False])
def test_a_schema_1_state_opens_and_is_upgraded(sim_path, open_backend, read_only):
    _schema_1_state(sim_path)
    backend = open_backend("sim://%s" % sim_path)
    backend.read_only = read_only  # check mode / storage_info: read an upgraded copy, write nothing
    assert [lun["name"] for lun in backend.list_luns()] == ["copy", "gold", "split", "wedged"]
    assert backend.get_lun("copy")["parent"] == "gold"
    assert backend.clone_origin("copy") == {"parent": "gold", "parent_snapshot": None, "parent_uuid": "u-gold"}
    assert backend.clone_origin("split") is None  # cannot be proven: the clone module leaves it alone
    assert backend.get_lun("wedged")["state"] == "ONLINE"
    assert backend.get_filesystem("home")["access_grp_names"] == []
    assert backend.server_uuid == "11111111-2222-3333-4444-555555555555"
    backend.close()
    db = sqlite3.connect(sim_path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    db.close()
    leftover = os.path.join(sim_path + ".fs", ".tmp", "0123abcd")
    if read_only:
        assert version == "1" and os.path.isdir(leftover)  # nothing written
    else:
        assert version == str(sim_mod.SCHEMA_VERSION) and not os.path.exists(leftover)
        assert any("0123abcd" in text and "older release" in text for text in backend.repaired)
        assert os.getxattr(sim_path, sim_mod.PATH_XATTR) == os.fsencode(sim_path)
