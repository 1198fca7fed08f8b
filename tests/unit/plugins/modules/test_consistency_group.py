# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The consistency_group module on the simulator, and what membership changes for the lun module."""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _registry
from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import SimBackend

GiB = 1024 ** 3


@pytest.fixture
def luns(sim):
    for name in ("db-data", "db-redo", "db-logs", "other"):
        sim.create_lun(name, "pool0", GiB, True, None)
    return sim


def test_create_append_exact_delete(sim_uri, luns, cycle, module):
    created = cycle("consistency_group", dict(server=sim_uri, name="db", luns=["db-data", "db-redo", "db-data"]))
    assert created["consistency_group"]["luns"] == ["db-data", "db-redo"]
    assert created["_predicted"]["consistency_group"]["luns"] == ["db-data", "db-redo"]
    assert created["diff"]["before"] == {} and created["diff"]["after"] == created["consistency_group"]
    assert luns.get_lun("db-data")["consistency_group"] == "db"
    appended = cycle("consistency_group", dict(server=sim_uri, name="db", luns=["db-logs"], append=True))
    assert appended["action"] == "update" and appended["consistency_group"]["luns"] == ["db-data", "db-logs", "db-redo"]
    # a list not given is left alone
    assert module("consistency_group", dict(server=sim_uri, name="db", filesystems=[]))["changed"] is False
    exact = cycle("consistency_group", dict(server=sim_uri, name="db", luns=["db-logs"]))
    assert exact["consistency_group"]["luns"] == ["db-logs"]
    assert luns.get_lun("db-data")["consistency_group"] is None
    deleted = cycle("consistency_group", dict(server=sim_uri, name="db", state="absent"))
    assert deleted["consistency_group"] == {} and luns.list_consistency_groups() == []
    assert luns.get_lun("db-logs") is not None  # members stay


@pytest.mark.parametrize("args, error, words", [
    (dict(luns=["db-data", "ghost"]), "OperationPreReqNotMetEx", ["ghost", "does not exist"]),
    (dict(luns=["other"]), "InvalidValueEx", ["other", "already in consistency group 'taken'"]),
    (dict(luns=["bad/name"]), "InvalidValueEx", ["bad/name"]),
    (dict(filesystems=["nofs"]), "OperationPreReqNotMetEx", ["nofs"]),
])
def test_bad_input_changes_nothing(sim_uri, luns, module, args, error, words):
    luns.create_consistency_group("taken", ["other"], [])
    before = luns.list_consistency_groups()
    for check_mode in (True, False):
        result = module("consistency_group", dict(args, server=sim_uri, name="db"), check_mode=check_mode)
        assert result["failed"] and result["error"] == error, result
        assert all(word in result["msg"] for word in words), result["msg"]
        assert "consistency group 'db'" in result["msg"]
    assert luns.list_consistency_groups() == before


def test_a_group_with_snapshots_goes_only_with_force_and_never_under_a_clone(sim_uri, luns, module):
    luns.create_consistency_group("db", ["db-data", "db-redo"], [])
    luns.create_cg_snapshot("db", "s1")
    result = module("consistency_group", dict(server=sim_uri, name="db", state="absent"), check_mode=True)
    assert result["error"] == "StorageElementBusyEx" and "s1" in result["msg"]
    luns.create_clone("probe", "db-data", "s1")
    result = module("consistency_group", dict(server=sim_uri, name="db", state="absent", force=True))
    assert result["error"] == "StorageElementBusyEx" and "probe" in result["msg"]
    assert luns.get_cg_snapshot("db", "s1") is not None
    luns.delete_lun("probe")
    result = module("consistency_group", dict(server=sim_uri, name="db", state="absent", force=True))
    assert result["changed"] and luns.list_cg_snapshots() == [] and luns.list_snapshots() == []


def test_a_member_lun_is_deleted_only_with_force(sim_uri, luns, module):
    luns.create_consistency_group("db", ["db-data", "db-redo"], [])
    for check_mode in (True, False):
        result = module("lun", dict(server=sim_uri, name="db-data", state="absent"), check_mode=check_mode)
        assert result["error"] == "StorageElementBusyEx" and "consistency group 'db'" in result["msg"], result
    assert luns.get_lun("db-data") is not None
    result = module("lun", dict(server=sim_uri, name="db-data", state="absent", force=True))
    assert result["changed"] and luns.get_consistency_group("db")["luns"] == ["db-redo"]


def test_a_member_clone_is_not_deleted_by_the_clone_module(sim_uri, luns, module):
    luns.create_clone("copy", "db-data")
    luns.create_consistency_group("db", ["copy"], [])
    result = module("clone", dict(server=sim_uri, name="copy", lun="db-data", state="absent"), check_mode=True)
    assert result["error"] == "StorageElementBusyEx" and "consistency group 'db'" in result["msg"]


class NoGroups(SimBackend):
    scheme = "nogroups"

    def get_abilities(self):
        abilities = super().get_abilities()
        for key in ("consistency_group", "cg_snapshot", "cg_snapshot_restore", "cg_filesystems"):
            abilities.pop(key)
        return abilities


def test_a_backend_without_the_ability_refuses_before_any_write(sim_path, monkeypatch, module):
    monkeypatch.setitem(_registry._REGISTERED, "nogroups", NoGroups)
    uri = "nogroups://" + sim_path
    module("lun", dict(server=uri, name="a", size="1G"))
    for args in (dict(name="db", luns=["a"]), dict(name="db", state="absent")):
        result = module("consistency_group", dict(args, server=uri))
        assert result["error"] == "NoSuchOperationEx" and "consistency_group=UNSUPPORTED" in result["msg"]
    result = module("snapshot", dict(server=uri, name="s", consistency_group="db"))
    assert result["error"] == "NoSuchOperationEx"
    info = module("storage_info", dict(server=uri, gather_subset=["consistency_groups", "group_snapshots"]))
    assert info["storage"] == {"consistency_groups": [], "group_snapshots": []}


class Caseless(SimBackend):
    """A server whose LUN names are case-insensitive (as some arrays' are)."""

    scheme = "caseless"

    def get_lun(self, name):
        return super().get_lun(name.lower())


def test_no_member_twice_in_any_spelling(sim_path, monkeypatch, module):
    monkeypatch.setitem(_registry._REGISTERED, "caseless", Caseless)
    uri = "caseless://" + sim_path
    module("lun", dict(server=uri, name="db-data", size="1G"))
    created = module("consistency_group", dict(server=uri, name="db", luns=["DB-DATA", "db-data", "Db-Data"]))
    assert created["changed"] and created["consistency_group"]["luns"] == ["db-data"]
    for check_mode in (True, False):
        again = module("consistency_group", dict(server=uri, name="db", luns=["DB-DATA"]), check_mode=check_mode)
        assert again["changed"] is False, again
