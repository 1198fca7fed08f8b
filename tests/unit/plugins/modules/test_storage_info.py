# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The storage_info module: read-only facts, every record valid, never a change."""

from __future__ import annotations

import os

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import check_abilities

GiB = 1024 ** 3
SECRET = "Chap-Secret-Value-0042"


@pytest.fixture
def populated(sim):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_snapshot("db01", "s1")
    sim.create_clone("c1", "db01", "s1")
    sim.create_access_group("web", ["iqn.2026-01.com.example:h1"], [{"name": "db01", "lun_id": None}],
                            {"username": "u", "password": SECRET, "mutual_username": None, "mutual_password": None})
    return sim


def test_all_subsets(sim_uri, populated, module):
    result = module("storage_info", dict(server=sim_uri, password="Admin-Pass-991"), check_mode=True)
    assert result["changed"] is False
    storage = result["storage"]
    assert set(storage) == {"server", "abilities", "pools", "luns", "snapshots", "access_groups", "filesystems",
                            "consistency_groups", "group_snapshots", "rotation"}
    records.validate("storage_server", storage["server"])
    check_abilities(storage["abilities"])
    for pool in storage["pools"]:
        records.validate("vol_group", pool)
    assert [lun["name"] for lun in storage["luns"]] == ["c1", "db01"]
    assert [snap["name"] for snap in storage["snapshots"]] == ["s1"]
    assert storage["access_groups"][0]["chap_username"] == "u"
    for record in storage["luns"] + storage["snapshots"]:
        records.validate("storage_element", record)
    for secret in (SECRET, "Admin-Pass-991"):
        assert secret not in result["_stdout"]


def test_one_subset(sim_uri, populated, module):
    result = module("storage_info", dict(server=sim_uri, gather_subset=["luns"]))
    assert list(result["storage"]) == ["luns"]


def test_unknown_subset_is_refused(sim_uri, module):
    result = module("storage_info", dict(server=sim_uri, gather_subset=["disks"]))
    assert result["failed"] and "disks" in result["msg"]


def test_info_writes_nothing(sim_uri, sim_path, module):
    module("storage_info", dict(server=sim_uri))
    assert not os.path.exists(sim_path)  # not even a new state file
    module("lun", dict(server=sim_uri, name="db01", size="1G"))
    with open(sim_path, "rb") as handle:
        first = handle.read()
    module("storage_info", dict(server=sim_uri))
    with open(sim_path, "rb") as handle:
        assert handle.read() == first


def test_bad_server_fails_with_the_error_class(tmp_path, module):
    path = tmp_path / "x.db"
    path.write_text("garbage" * 1000)
    result = module("storage_info", dict(server="sim://%s" % path))
    assert result["failed"] and result["error"] == "InvalidStorageArrayEx"
