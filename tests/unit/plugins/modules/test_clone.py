# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The clone module on the simulator: clones, snapshot clones, split."""

from __future__ import annotations

import pytest

GiB = 1024 ** 3


@pytest.fixture
def gold(sim):
    sim.create_lun("gold", "pool0", GiB, False, None)
    sim.create_snapshot("gold", "s1")
    sim.resize_lun("gold", 2 * GiB)
    return sim


def test_clone_cycle(sim_uri, gold, cycle):
    result = cycle("clone", dict(server=sim_uri, name="copy", lun="gold"))
    clone = result["clone"]
    assert (clone["se_type"], clone["parent"], clone["size"], clone["thin"]) == ("LUN", "gold", 2 * GiB, False)
    predicted = result["_predicted"]["clone"]
    assert (predicted["se_type"], predicted["parent"], predicted["size"]) == ("LUN", "gold", 2 * GiB)


def test_snapshot_clone_then_split(sim_uri, gold, cycle):
    result = cycle("clone", dict(server=sim_uri, name="copy", lun="gold", snapshot="s1"))
    clone = result["clone"]
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"], clone["size"]) == ("SNAPCLONE", "gold", "s1", GiB)
    split = cycle("clone", dict(server=sim_uri, name="copy", lun="gold", snapshot="s1", split=True))
    assert split["action"] == "split"
    assert (split["clone"]["se_type"], split["clone"]["parent"]) == ("LUN", None)
    assert split["_predicted"]["clone"]["parent"] is None
    gold.delete_snapshot("gold", "s1")  # no longer needed by the clone


def test_create_and_split_in_one_task(sim_uri, gold, cycle):
    result = cycle("clone", dict(server=sim_uri, name="copy", lun="gold", split=True))
    assert result["clone"]["parent"] is None and result["_predicted"]["clone"]["parent"] is None
    assert gold.get_lun("gold")["status"] == "OK"


def test_delete_cycle(sim_uri, gold, module, cycle):
    module("clone", dict(server=sim_uri, name="copy", lun="gold"))
    cycle("clone", dict(server=sim_uri, name="copy", lun="gold", state="absent"))
    assert gold.get_lun("copy") is None and gold.get_lun("gold") is not None


def test_clone_of_another_parent_is_refused(sim_uri, gold, module):
    gold.create_lun("silver", "pool0", GiB, True, None)
    module("clone", dict(server=sim_uri, name="copy", lun="gold"))
    for state in ("present", "absent"):
        result = module("clone", dict(server=sim_uri, name="copy", lun="silver", state=state))
        assert result["error"] == "InvalidValueEx" and "gold" in result["msg"] and "silver" in result["msg"]
    assert gold.get_lun("copy")["parent"] == "gold"


@pytest.mark.parametrize("args, error, words", [
    (dict(name="copy", lun="nolun"), "OperationPreReqNotMetEx", ["nolun"]),
    (dict(name="copy", lun="gold", snapshot="nosnap"), "OperationPreReqNotMetEx", ["nosnap"]),
    (dict(name="gold", lun="gold"), "InvalidValueEx", ["gold"]),
    (dict(name="co py", lun="gold"), "InvalidValueEx", ["co py"]),
    (dict(name="copy", lun="gold", snapshot=".s1"), "InvalidValueEx", [".s1"]),
])
def test_bad_input(sim_uri, gold, module, args, error, words):
    before = gold.list_luns()
    result = module("clone", dict(args, server=sim_uri))
    assert result["failed"] and result["error"] == error
    assert all(word in result["msg"] for word in words), result["msg"]
    assert gold.list_luns() == before


def test_parent_with_clones_cannot_be_deleted(sim_uri, gold, module):
    module("clone", dict(server=sim_uri, name="copy", lun="gold"))
    result = module("lun", dict(server=sim_uri, name="gold", state="absent", force=True))
    assert result["error"] == "StorageElementBusyEx" and "copy" in result["msg"]


# Cases moved here from the clone integration target, which keeps a/b as the representative:
# each fails in check mode and for real with the same class and message naming the clone, and
# changes nothing.
@pytest.mark.parametrize("name", ["a/b", "..", ""])
def test_refused_in_check_mode_and_for_real(sim_uri, gold, module, name):
    before = (gold.list_luns(), gold.list_snapshots())
    check = module("clone", dict(server=sim_uri, name=name, lun="gold"), check_mode=True)
    real = module("clone", dict(server=sim_uri, name=name, lun="gold"))
    for result in (check, real):
        assert result["failed"] and not result.get("changed") and result["error"] == "InvalidValueEx", result
        assert "Traceback" not in result["_stdout"]
    assert real["msg"] == check["msg"] and "clone name" in real["msg"] and name in real["msg"]
    assert (gold.list_luns(), gold.list_snapshots()) == before
