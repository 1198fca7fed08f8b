# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups of the simulator: file system members, one transaction, the migration of older state files."""

from __future__ import annotations

import hashlib
import os
import sqlite3

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import errors
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect

GiB = 1024 ** 3


def _digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_luns_and_file_systems_in_one_group(sim):
    sim.create_lun("db-data", "pool0", GiB, True, None)
    fs = sim.create_filesystem("db-arch", "pool0", GiB, {})
    with open(os.path.join(fs["access_path"], "wal.0001"), "w") as handle:
        handle.write("first")
    group = sim.create_consistency_group("db", ["db-data"], ["db-arch"])
    assert (group["luns"], group["filesystems"]) == (["db-data"], ["db-arch"])
    assert sim.get_filesystem("db-arch")["consistency_group"] == "db"
    snap = sim.create_cg_snapshot("db", "s1")
    assert (snap["luns"], snap["filesystems"], snap["size"]) == (["db-data"], ["db-arch"], 2 * GiB)
    member = sim.get_fs_snapshot("db-arch", "s1")
    assert member["consistency_group"] == "db" and member["created"] == snap["created"]
    with pytest.raises(errors.FileSystemBusyEx):
        sim.delete_fs_snapshot("db-arch", "s1")
    with pytest.raises(errors.FileSystemBusyEx):
        sim.delete_filesystem("db-arch")
    with open(os.path.join(fs["access_path"], "wal.0001"), "w") as handle:
        handle.write("second")
    sim.resize_lun("db-data", 2 * GiB)
    sim.restore_cg_snapshot("db", "s1")
    with open(os.path.join(fs["access_path"], "wal.0001")) as handle:
        assert handle.read() == "first"
    assert sim.get_lun("db-data")["size"] == GiB
    snap_dir = member["path"][0]
    assert os.path.isdir(snap_dir)
    sim.delete_cg_snapshot("db", "s1")
    assert not os.path.exists(snap_dir) and sim.list_fs_snapshots() == [] and sim.list_snapshots() == []


def test_a_failed_group_snapshot_leaves_nothing(sim):
    sim.create_lun("a", "pool0", GiB, True, None)
    sim.create_lun("b", "pool0", GiB, True, None)
    sim.create_consistency_group("g", ["a", "b"], [])
    sim.create_snapshot("b", "s1")
    with pytest.raises(errors.InvalidValueEx):
        sim.create_cg_snapshot("g", "s1")
    assert [snap["name"] for snap in sim.list_snapshots()] == ["s1"] and sim.list_cg_snapshots() == []


def test_a_state_file_of_an_older_release_is_read_in_check_mode_and_migrated_on_write(sim_uri, sim_path):
    backend = connect(sim_uri)
    backend.create_lun("a", "pool0", GiB, True, None)
    backend.close()
    with sqlite3.connect(sim_path) as con:  # as a release before consistency groups wrote it
        for table in ("cg_snapshot_members", "cg_snapshots", "cg_members", "cgroups"):
            con.execute("DROP TABLE %s" % table)
    before = _digest(sim_path)
    reader = connect(sim_uri)
    reader.read_only = True  # check mode, storage_info
    assert reader.list_consistency_groups() == [] and reader.get_lun("a")["consistency_group"] is None
    assert reader.list_cg_snapshots() == [] and reader.get_consistency_group("g") is None
    reader.close()
    assert _digest(sim_path) == before
    writer = connect(sim_uri)
    assert writer.create_consistency_group("g", ["a"], [])["luns"] == ["a"]
    writer.close()
