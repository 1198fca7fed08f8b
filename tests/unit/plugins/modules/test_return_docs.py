# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""RETURN of lun, snapshot, clone, access_group and consistency_group documents what they return.

Two ways: every field of the records (records.SCHEMA) and of the job is documented where the
module returns that record, with the state enumerations listed; and every key a real run on
the simulator returns (records, job, list form) is found in RETURN.
"""

from __future__ import annotations

import importlib

import pytest
import yaml

from ansible_collections.stormgmt.core.plugins.module_utils import records

MODULES = ("lun", "snapshot", "clone", "access_group", "consistency_group")
# keys every module result may carry that Ansible itself documents (ansible-doc does not list them)
COMMON = {"changed", "failed", "msg", "invocation", "warnings", "deprecations", "exception", "_stdout", "_rc"}
# what the Waiter adds to a job record it waited for
JOB_FIELDS = set(records.SCHEMA["job"]) | {"elapsed"}

# (module, return key) -> record kinds whose every field it documents
RECORDS = {
    ("lun", "lun"): ("storage_element",),
    ("snapshot", "snapshot"): ("storage_element",),
    ("snapshot", "group_snapshot"): ("cg_snapshot",),
    ("clone", "clone"): ("storage_element", "file_system"),
    ("access_group", "access_group"): ("access_group",),
    ("consistency_group", "consistency_group"): ("consistency_group",),
}


def _return(name: str) -> dict:
    module = importlib.import_module("ansible_collections.stormgmt.core.plugins.modules.%s" % name)
    return yaml.safe_load(module.RETURN)


def _documentation(name: str) -> dict:
    module = importlib.import_module("ansible_collections.stormgmt.core.plugins.modules.%s" % name)
    return yaml.safe_load(module.DOCUMENTATION)


@pytest.mark.parametrize("name,key", sorted(RECORDS))
def test_every_record_field_is_documented(name, key):
    documented = set(_return(name)[key]["contains"])
    fields = set().union(*[records.SCHEMA[kind] for kind in RECORDS[(name, key)]])
    assert fields - documented == set(), "RETURN %s of %s lacks these record fields" % (key, name)
    assert documented - fields == set(), "RETURN %s of %s documents fields no record has" % (key, name)


@pytest.mark.parametrize("name", MODULES)
def test_job_is_documented_with_every_field(name):
    job = _return(name)["job"]
    assert set(job["contains"]) == JOB_FIELDS
    assert set(job["contains"]["status"]["choices"]) == set(records.JOB_STATUSES)


@pytest.mark.parametrize("name,key", sorted(RECORDS))
def test_state_lists_its_enumeration(name, key):
    state = _return(name)[key]["contains"]["state"] if "state" in _return(name)[key]["contains"] else None
    if state is None:
        assert "state" not in set().union(*[records.SCHEMA[kind] for kind in RECORDS[(name, key)]])
        return
    text = " ".join(state["description"]) if isinstance(state["description"], list) else state["description"]
    expected = set(records.SE_STATES)
    if "file_system" in RECORDS[(name, key)]:
        expected |= set(records.FS_STATES)
    assert set(state["choices"]) == expected
    for value in expected:
        assert "C(%s)" % value in text, "%s.%s of %s does not explain %s" % (key, "state", name, value)


@pytest.mark.parametrize("name", MODULES)
def test_requirements_are_listed(name):
    requirements = _documentation(name)["requirements"]
    text = " ".join(requirements)
    for scheme in ("sim://", "tgt://", "plugin+NAME://"):
        assert scheme in text
    assert ("netaddr" in text) == (name == "access_group")


def _undocumented(value, doc: dict, path: str) -> list:
    """Paths of the keys of ``value`` (a result, a record) that ``doc`` (RETURN, or a contains) lacks."""
    missing = []
    for key, item in value.items():
        where = "%s.%s" % (path, key) if path else key
        if key not in doc:
            if not (path == "" and key in COMMON):
                missing.append(where)
            continue
        contains = doc[key].get("contains")
        if contains and isinstance(item, dict):
            missing += _undocumented(item, contains, where)
        elif contains and isinstance(item, list):
            for element in item:
                if isinstance(element, dict):
                    missing += _undocumented(element, contains, where + "[]")
    return missing


def _documented(name: str, result: dict) -> None:
    assert not result.get("failed"), result
    assert _undocumented(result, _return(name), "") == []


def test_what_real_runs_return_is_documented(tmp_path, module):
    # job_delay: creations and copies run as jobs of the simulator, waited for (job.elapsed)
    uri = "sim://%s/docs.db?job_delay=0.05" % tmp_path
    server = dict(server=uri)
    _documented("lun", module("lun", dict(server, name="db01", size="1G"), diff=True))
    _documented("lun", module("lun", dict(server, luns=[{"name": "db02", "size": "1G"}, {"name": "db03", "size": "1G"}]),
                              diff=True))
    _documented("access_group", module("access_group", dict(
        server, name="db", initiators=["iqn.2026-01.com.example:db1"], luns=["db01"],
        chap=dict(username="db", password="Docs-Chap-Secret-01")), diff=True))
    _documented("access_group", module("access_group", dict(
        server, access_groups=[{"name": "web", "initiators": ["iqn.2026-01.com.example:web1"]}]), diff=True))
    _documented("consistency_group", module("consistency_group", dict(server, name="dbcg", luns=["db02", "db03"]),
                                            diff=True))
    _documented("snapshot", module("snapshot", dict(server, name="before", lun="db01"), diff=True))
    _documented("snapshot", module("snapshot", dict(server, name="set1", consistency_group="dbcg"), diff=True))
    _documented("snapshot", module("snapshot", dict(server, prefix="nightly-", every="1d", keep=2, lun="db01"),
                                   diff=True))
    _documented("clone", module("clone", dict(server, name="db01-test", lun="db01", snapshot="before"), diff=True))
    _documented("clone", module("clone", dict(server, name="db01-test", lun="db01", snapshot="before", split=True),
                                diff=True))


def test_file_system_snapshots_and_clones_are_documented(sim_uri, module):
    server = dict(server=sim_uri)
    assert module("filesystem", dict(server, name="home", size="100M"))["changed"] is True
    _documented("snapshot", module("snapshot", dict(server, name="before", filesystem="home"), diff=True))
    clone = module("clone", dict(server, name="home-test", filesystem="home", snapshot="before"), diff=True)
    _documented("clone", clone)
    assert clone["clone"]["state"] in records.FS_STATES and "free_sz" in clone["clone"]


def test_a_job_left_running_is_documented(tmp_path, module):
    uri = "sim://%s/slow.db?job_delay=60" % tmp_path
    result = module("lun", dict(server=uri, name="db01", size="1G", wait=False))
    assert result["job"]["status"] == "RUNNING" and result["lun"]["state"] == "BUSY_CREATE"
    _documented("lun", result)
