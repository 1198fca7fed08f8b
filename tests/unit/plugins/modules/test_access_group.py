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


# Cases moved here from the access_group integration target, which keeps one representative of
# each kind through Ansible: the same inputs and assertions, without module round trips.
AG_WWPN = "0x21000024ff314c5a"
AG_SECRET = "ag-Secret-One-1234"


@pytest.fixture
def ag_g1(sim_uri, sim, module):
    """ag-g1 as the integration target makes it: host1 and a WWPN, ag-l1 and ag-l2 at LUN 5."""
    for name in ("ag-l1", "ag-l2", "ag-l3", "ag-l4"):
        sim.create_lun(name, "pool0", GiB, True, None)
    created = module("access_group", dict(server=sim_uri, name="ag-g1",
                                          initiators=["IQN.2026-01.COM.Example:Host1", "21:00:00:24:FF:31:4C:5A"],
                                          luns=["ag-l1", {"name": "ag-l2", "lun_id": 5}]))
    assert created["changed"] and created["access_group"]["grp_entries"] == [AG_WWPN, IQN1]
    return created["access_group"]


def _unchanged(module, args, record):
    for check_mode in (True, False):
        result = module("access_group", args, check_mode=check_mode, diff=True)
        assert result["changed"] is False and not result.get("failed") and "action" not in result, result
        assert result["access_group"] == record and result["diff"]["before"] == result["diff"]["after"], result


def _state(sim):
    return (sim.list_access_groups(), sim.list_luns())


def _refused(module, sim, args, error, words, secrets=()):
    """Fails in check mode and for real with ``error`` and the same message naming the group,
    shows no secret, changes nothing."""
    before = _state(sim)
    check = module("access_group", args, check_mode=True)
    real = module("access_group", args)
    for result in (check, real):
        assert result["failed"] is True and not result.get("changed") and result["error"] == error, result
        assert "Traceback" not in result["_stdout"] and "exception" not in result
        for secret in tuple(secrets) + ("********",):
            assert secret not in result["msg"]
    assert real["msg"] == check["msg"]
    for word in tuple(words) + (str(args["name"]),):
        assert word in real["msg"], real["msg"]
    assert _state(sim) == before


@pytest.mark.parametrize("spelling", [
    dict(initiators=[IQN1, AG_WWPN]),
    dict(initiators=["21-00-00-24-ff-31-4c-5a", "iqn.2026-01.com.EXAMPLE:HOST1"]),
    dict(initiators=["21000024FF314C5A", IQN1, " %s " % IQN1]),
    dict(luns=[{"name": "ag-l2", "lun_id": 5}, "ag-l1"]),
    dict(luns=[{"name": "ag-l1", "lun_id": "FROM_RECORD"}, {"name": "ag-l2"}]),
    dict(luns=["ag-l1", "ag-l2"], initiators=["0X21000024FF314C5A", IQN1.upper()]),
])
def test_other_spellings_change_nothing(sim_uri, sim, module, ag_g1, spelling):
    l1_id = [lun["lun_id"] for lun in ag_g1["luns"] if lun["name"] == "ag-l1"][0]
    if "luns" in spelling:
        spelling = dict(spelling, luns=[dict(lun, lun_id=l1_id) if isinstance(lun, dict) and lun.get("lun_id") == "FROM_RECORD"
                                        else lun for lun in spelling["luns"]])
    _unchanged(module, dict(spelling, server=sim_uri, name="ag-g1"), ag_g1)
    assert sim.get_access_group("ag-g1") == ag_g1


@pytest.mark.parametrize("luns, error, word", [
    ([{"name": "ag-l3", "lun_id": 9}, {"name": "ag-l4", "lun_id": 9}], "InvalidValueEx", "9"),
    ([{"name": "ag-l3", "lun_id": 16384}], "InvalidValueEx", "16384"),
    ([{"name": "ag-l3", "lun_id": -1}], "InvalidValueEx", "-1"),
    ([{"name": "ag-l3", "lun_id": "abc"}], "ValueFormatEx", "abc"),
    ([{"name": "ag-l3", "lun_id": True}], "ValueFormatEx", "ag-l3"),
    (["ag-l3", "ag-l3"], "InvalidValueEx", "ag-l3"),
    ([{"lun": "ag-l3"}], "ValueFormatEx", "luns"),
    (["a/b"], "InvalidValueEx", "a/b"),
])
def test_bad_lun_lists_are_refused(sim_uri, sim, module, ag_g1, luns, error, word):
    _refused(module, sim, dict(server=sim_uri, name="ag-g1", luns=luns), error, [word])


@pytest.mark.parametrize("initiator", ["iqn.bad", "iqn.2026-13.com.example:x", "eui.123", "naa.12", "21:00:00:24",
                                       "0x21000024ff314c5", "host1", " "])
def test_malformed_initiators_are_refused(sim_uri, sim, module, ag_g1, initiator):
    _refused(module, sim, dict(server=sim_uri, name="ag-g1", initiators=[IQN1, initiator]), "ValueFormatEx",
             [initiator.strip()])


@pytest.mark.parametrize("name", ["a/b", "..", "", "ag-" + "x" * 61])
def test_bad_group_names_are_refused(sim_uri, sim, module, ag_g1, name):
    _refused(module, sim, dict(server=sim_uri, name=name, initiators=[IQN1]), "InvalidValueEx", ["access group name"])


@pytest.mark.parametrize("chap, word", [
    (dict(username="ag-user", password="short"), "password"),
    (dict(username="ag-user", password="x" * 256), "password"),
    (dict(username="ag-user", password=AG_SECRET, mutual_username="ag-target", mutual_password=AG_SECRET),
     "mutual_password"),
])
def test_bad_chap_is_refused(sim_uri, sim, module, ag_g1, chap, word):
    secrets = [value for key, value in chap.items() if "password" in key]
    _refused(module, sim, dict(server=sim_uri, name="ag-g1", chap=chap), "InvalidValueEx", [word], secrets)


@pytest.mark.parametrize("client", ["bad host!", "300.1.1.1", "192.0.2.0/33", "a_b.example.com"])
def test_malformed_clients_are_refused(sim_uri, sim, module, client):
    module("access_group", dict(server=sim_uri, name="ag-nfs", clients=["192.0.2.5/24"]))
    _refused(module, sim, dict(server=sim_uri, name="ag-nfs", clients=[client]), "ValueFormatEx", [client])


@pytest.mark.parametrize("chap, word", [
    (dict(username="ag-user", password=AG_SECRET, mutual_username="ag-target"), "mutual_password"),
    (dict(username="ag-user"), "password"),
])
def test_chap_options_are_checked_together(sim_uri, sim, module, ag_g1, chap, word):
    before = _state(sim)
    result = module("access_group", dict(server=sim_uri, name="ag-g1", chap=chap))
    assert result["failed"] and word in result["msg"] and AG_SECRET not in result["_stdout"], result
    assert _state(sim) == before
