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
                            "consistency_groups", "group_snapshots", "rotation", "jobs"}
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


# --- filters, the minimum subset, jobs (issue 11) ------------------------------------------------------

def test_minimum_is_server_and_abilities(sim_uri, populated, module):
    result = module("storage_info", dict(server=sim_uri, gather_subset=["minimum"]), check_mode=True)
    assert result["changed"] is False
    assert set(result["storage"]) == {"server", "abilities"}
    records.validate("storage_server", result["storage"]["server"])


def test_minimum_adds_to_other_subsets(sim_uri, populated, module):
    result = module("storage_info", dict(server=sim_uri, gather_subset=["minimum", "luns"]))
    assert set(result["storage"]) == {"server", "abilities", "luns"}


def test_names_filter_every_named_subset(sim_uri, populated, module):
    populated.create_lun("web01", "pool0", GiB, True, None)
    result = module("storage_info", dict(server=sim_uri, names=["db01", "web", "s1"]))
    storage = result["storage"]
    assert [lun["name"] for lun in storage["luns"]] == ["db01"]
    assert [snap["name"] for snap in storage["snapshots"]] == ["s1"]
    assert [group["grp_name"] for group in storage["access_groups"]] == ["web"]
    assert storage["pools"] == []
    # server and abilities are not lists of named objects: never filtered
    records.validate("storage_server", storage["server"])
    assert storage["abilities"]


def test_name_pattern_is_a_case_sensitive_glob(sim_uri, populated, module):
    populated.create_lun("db02", "pool0", GiB, True, None)
    populated.create_lun("DB03", "pool0", GiB, True, None)
    populated.create_lun("web01", "pool0", GiB, True, None)

    def luns(pattern):
        result = module("storage_info", dict(server=sim_uri, gather_subset=["luns"], name_pattern=pattern))
        return [lun["name"] for lun in result["storage"]["luns"]]
    assert luns("db*") == ["db01", "db02"]
    assert luns("db0[2-9]") == ["db02"]
    assert luns("?1") == ["c1"]
    assert luns("*") == ["DB03", "c1", "db01", "db02", "web01"]
    assert luns("db") == []
    # regular expression syntax is not special beyond the glob: '.' is a dot, '+' a plus
    assert luns("db.*") == []
    assert luns("db0+") == []


def test_pattern_that_would_backtrack_is_fast(sim_uri, populated, module):
    import time
    started = time.monotonic()
    result = module("storage_info", dict(server=sim_uri, gather_subset=["luns"], name_pattern="*a" * 120 + "b"))
    assert result["storage"]["luns"] == []
    assert time.monotonic() - started < 30  # a catastrophic pattern would take hours, not a bound on speed


@pytest.mark.parametrize("args, word", [
    (dict(names=["db01\n"]), "names"),
    (dict(names=["db01\u2028"]), "names"),
    (dict(names=["a\x00b"]), "names"),
    (dict(names=[""]), "names"),
    (dict(names=[]), "names"),
    (dict(names=["x" * 256]), "names"),
    (dict(name_pattern="db*\r"), "name_pattern"),
    (dict(name_pattern="db\u200b*"), "name_pattern"),
    (dict(name_pattern=""), "name_pattern"),
    (dict(name_pattern="*" * 256), "name_pattern"),
    (dict(names=["db01"], name_pattern="db*"), "names"),
])
def test_bad_filters_are_refused_and_read_nothing(sim_uri, sim_path, module, args, word):
    result = module("storage_info", dict(server=sim_uri, **args))
    assert result["failed"] and result["error"] == "InvalidValueEx", result
    assert word in result["msg"]
    assert "Traceback" not in result["msg"]
    assert not os.path.exists(sim_path)  # the server was not even opened


def test_jobs_subset_shows_progress(tmp_path, module):
    uri = "sim://%s/jobs.db?job_delay=30" % tmp_path
    started = module("lun", dict(server=uri, name="big", size="1G", wait=False))
    assert started["changed"] is True
    job = started["job"]
    assert job["status"] == "RUNNING" and job["progress"] == 0
    # the record the task returns names the job and its progress
    assert started["lun"]["state"] == "BUSY_CREATE"
    assert started["lun"]["async_handle"] == job["job_id"]
    assert 0 <= started["lun"]["async_progress"] < 100
    info = module("storage_info", dict(server=uri, gather_subset=["jobs", "luns"]), check_mode=True)
    assert info["changed"] is False
    [listed] = info["storage"]["jobs"]
    records.validate("job", listed)
    assert listed["job_id"] == job["job_id"] and listed["status"] == "RUNNING"
    assert listed["op"] == "create LUN big"
    assert 0 <= listed["progress"] < 100
    [lun] = info["storage"]["luns"]
    assert lun["async_handle"] == job["job_id"] and lun["async_progress"] is not None
    # polling with the module itself (wait: false) shows the progress in the record, and changes nothing
    again = module("lun", dict(server=uri, name="big", size="1G", wait=False))
    assert again["changed"] is False
    assert again["lun"]["async_handle"] == job["job_id"]
    assert again["lun"]["async_progress"] >= started["lun"]["async_progress"]


def test_finished_jobs_are_listed_complete(tmp_path, module):
    uri = "sim://%s/jobs.db?job_delay=0.2" % tmp_path
    created = module("lun", dict(server=uri, name="small", size="1M"))
    assert created["job"]["status"] == "COMPLETE"
    assert created["lun"]["async_handle"] is None and created["lun"]["async_progress"] is None
    jobs = module("storage_info", dict(server=uri, gather_subset=["jobs"]))["storage"]["jobs"]
    assert [(job["job_id"], job["status"], job["progress"]) for job in jobs] == [
        (created["job"]["job_id"], "COMPLETE", 100)]


def test_jobs_are_empty_without_async_jobs(sim_uri, populated, module):
    assert module("storage_info", dict(server=sim_uri, gather_subset=["jobs"]))["storage"]["jobs"] == []
