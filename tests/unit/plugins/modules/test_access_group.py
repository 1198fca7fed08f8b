# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The access_group module on the simulator: initiators, clients, LUN mappings, CHAP."""

from __future__ import annotations

import pytest

GiB = 1024 ** 3
IQN1 = "iqn.2026-01.com.example:host1"
IQN2 = "iqn.2026-01.com.example:host2"
SECRET = "Chap-Secret-Value-0042"
MUTUAL = "Mutual-Secret-Value-0043"


@pytest.fixture
def luns(sim):
    for name in ("a", "b", "c"):
        sim.create_lun(name, "pool0", GiB, True, None)
    return sim


def test_create_cycle_normalises_initiators(sim_uri, luns, cycle):
    result = cycle("access_group", dict(
        server=sim_uri, name="web",
        initiators=["IQN.2026-01.COM.EXAMPLE:Host1", "10:00:00:00:C9:12:34:56", "0x10000000c9123456"],
        luns=["a", {"name": "b", "lun_id": 5}]))
    group = result["access_group"]
    assert group["grp_entries"] == ["0x10000000c9123456", IQN1]
    assert group["luns"] == [{"name": "a", "lun_id": 1}, {"name": "b", "lun_id": 5}]
    assert result["_predicted"]["access_group"]["luns"] == group["luns"]
    assert sorted(result["_predicted"]["access_group"]["grp_entries"]) == group["grp_entries"]
    assert luns.get_lun("a")["access_grp_names"] == ["web"] and luns.get_lun("c")["access_grp_names"] == []


def test_lists_are_exact_unless_append(sim_uri, luns, module, cycle):
    module("access_group", dict(server=sim_uri, name="web", initiators=[IQN1], luns=["a", "b"]))
    appended = cycle("access_group", dict(server=sim_uri, name="web", initiators=[IQN2], luns=["c"], append=True))
    assert appended["access_group"]["grp_entries"] == [IQN1, IQN2]
    assert [lun["name"] for lun in appended["access_group"]["luns"]] == ["a", "b", "c"]
    exact = cycle("access_group", dict(server=sim_uri, name="web", initiators=[IQN2], luns=["c"]))
    assert exact["access_group"]["grp_entries"] == [IQN2]
    assert exact["access_group"]["luns"] == [{"name": "c", "lun_id": 3}]
    assert exact["diff"]["before"]["grp_entries"] == [IQN1, IQN2]
    assert luns.get_lun("a")["access_grp_names"] == []


def test_omitted_lists_are_left_alone(sim_uri, luns, module):
    module("access_group", dict(server=sim_uri, name="web", initiators=[IQN1], luns=["a"]))
    assert module("access_group", dict(server=sim_uri, name="web"))["changed"] is False
    result = module("access_group", dict(server=sim_uri, name="web", initiators=[]))
    assert result["changed"] and result["access_group"]["grp_entries"] == [] and result["access_group"]["luns"]


def test_lun_ids_swap_in_one_task(sim_uri, luns, module, cycle):
    module("access_group", dict(server=sim_uri, name="web", luns=[{"name": "a", "lun_id": 1}, {"name": "b", "lun_id": 2}]))
    result = cycle("access_group", dict(server=sim_uri, name="web", luns=[{"name": "a", "lun_id": 2}, {"name": "b", "lun_id": 1}]))
    assert result["access_group"]["luns"] == [{"name": "b", "lun_id": 1}, {"name": "a", "lun_id": 2}]


def test_nfs_clients(sim_uri, cycle):
    result = cycle("access_group", dict(server=sim_uri, name="nfs", clients=["192.0.2.77/24", "Host1.Example.com", "*"]))
    assert result["access_group"]["grp_entries"] == ["*", "192.0.2.0/24", "host1.example.com"]


def test_chap_cycle_never_shows_the_secret(sim_uri, cycle, module):
    chap = dict(username="web-in", password=SECRET, mutual_username="web-out", mutual_password=MUTUAL)
    result = cycle("access_group", dict(server=sim_uri, name="web", initiators=[IQN1], chap=chap))
    assert result["access_group"]["chap_username"] == "web-in"
    assert result["access_group"]["mutual_chap_username"] == "web-out"
    for secret in (SECRET, MUTUAL):
        assert secret not in result["_stdout"] and secret not in result["_predicted"]["_stdout"]
    changed = module("access_group", dict(server=sim_uri, name="web", chap=dict(chap, password=SECRET + "-new")), diff=True)
    assert changed["changed"] is True and SECRET not in changed["_stdout"]
    removed = cycle("access_group", dict(server=sim_uri, name="web", chap=dict(state="absent")))
    assert removed["access_group"]["chap_username"] is None


def test_delete_needs_force_when_luns_are_mapped(sim_uri, luns, module, cycle):
    module("access_group", dict(server=sim_uri, name="web", luns=["a"]))
    refused = module("access_group", dict(server=sim_uri, name="web", state="absent"))
    assert refused["error"] == "StorageElementBusyEx" and "LUN(s) a " in refused["msg"]
    cycle("access_group", dict(server=sim_uri, name="web", state="absent", force=True))
    assert luns.get_access_group("web") is None and luns.get_lun("a")["access_grp_names"] == []


@pytest.mark.parametrize("args, error, words", [
    (dict(initiators=["iqn.bogus"]), "ValueFormatEx", ["iqn.bogus"]),
    (dict(initiators=["10:00:00:00:c9:12:34"]), "ValueFormatEx", ["WWPN"]),
    (dict(clients=["300.1.1.1"]), "ValueFormatEx", ["300.1.1.1"]),
    (dict(clients=["10.0.0.0/33"]), "ValueFormatEx", ["10.0.0.0/33"]),
    (dict(luns=["nolun"]), "OperationPreReqNotMetEx", ["nolun"]),
    (dict(luns=["a", "a"]), "InvalidValueEx", ["more than once"]),
    (dict(luns=[{"name": "a", "lun_id": 3}, {"name": "b", "lun_id": 3}]), "InvalidValueEx", ["lun_id 3"]),
    (dict(luns=[{"name": "a", "lun_id": 99999}]), "InvalidValueEx", ["99999"]),
    (dict(luns=[{"name": "a", "lun_id": "x"}]), "ValueFormatEx", ["lun_id"]),
    (dict(luns=[{"name": "a", "lun_id": True}]), "ValueFormatEx", ["lun_id"]),
    (dict(luns=[{"lun_id": 1}]), "ValueFormatEx", ["luns"]),
    (dict(luns=[{"name": "c", "lun_id": 1}]), "InvalidValueEx", ["held by LUN 'a'"]),
    (dict(chap=dict(username="u", password="short")), "InvalidValueEx", ["12 to 255"]),
    (dict(chap=dict(username="u", password=SECRET, mutual_username="m", mutual_password=SECRET)), "InvalidValueEx",
     ["differ"]),
    (dict(name="we b"), "InvalidValueEx", ["we b"]),
])
def test_bad_input_fails_cleanly_and_changes_nothing(sim_uri, luns, module, args, error, words):
    luns.create_access_group("web", [IQN1], [{"name": "a", "lun_id": 1}], None)
    before = (luns.list_access_groups(), luns.list_luns())
    result = module("access_group", dict(dict(name="web", append=True), server=sim_uri, **args))
    assert result["failed"] and result["error"] == error, result
    assert all(word in result["msg"] for word in words), result["msg"]
    assert SECRET not in result["_stdout"]
    assert (luns.list_access_groups(), luns.list_luns()) == before
