# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The list form of lun and access_group (``luns:``, ``access_groups:``), through AnsibleModule as
Ansible runs it: on the simulator, and on the reference external plug-in (a real plug-in process)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.stormgmt.core.plugins.module_utils._access_group import access_group_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._lun import lun_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils.backends.external import ExternalBackend
from ansible_collections.stormgmt.core.plugins.modules import access_group as access_group_module
from ansible_collections.stormgmt.core.plugins.modules import lun as lun_module

GiB = 1024 ** 3
SECRET = "Batch-Chap-Secret-0042"
IQN = "iqn.2026-01.com.example:%s"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def test_lun_list_form_cycle(sim_uri, sim, batch_cycle):
    sim.create_lun("kept", "pool0", GiB, True, None)
    result = batch_cycle("lun", dict(server=sim_uri, luns=[
        dict(name="a", size="1G"), dict(name="kept", size="1G"), dict(name="b", size="2G", qos="gold")]))
    assert [(r["name"], r["changed"], r.get("action")) for r in result["results"]] == [
        ("a", True, "create"), ("kept", False, None), ("b", True, "create")]
    assert [r["lun"] for r in result["results"]] == [sim.get_lun("a"), sim.get_lun("kept"), sim.get_lun("b")]
    predicted = result["_predicted"]["results"]
    assert (predicted[0]["lun"]["size"], predicted[0]["lun"]["uuid"], predicted[2]["lun"]["qos"]) == (GiB, None, "gold")
    # one before/after per changed LUN, headed with its name; every item has its own diff too
    assert [(d["before_header"], d["before"], d["after"]["name"]) for d in result["diff"]] == [
        ("LUN 'a'", {}, "a"), ("LUN 'b'", {}, "b")]
    assert result["results"][1]["diff"]["before"] == result["results"][1]["diff"]["after"]
    assert "lun" not in result  # the records are per item


def test_lun_list_form_without_diff_mode_has_no_diff(sim_uri, module):
    result = module("lun", dict(server=sim_uri, luns=[dict(name="a", size="1G")]))
    assert result["changed"] and "diff" not in result and "diff" not in result["results"][0]


def test_task_options_are_the_defaults_of_the_items(sim_uri, sim, module):
    result = module("lun", dict(server=sim_uri, thin=False, pool="pool1", luns=[
        dict(name="a", size="1G"), dict(name="b", size="1G", thin=True)]))
    assert [(r["lun"]["thin"], r["lun"]["vol_group_name"]) for r in result["results"]] == [(False, "pool1"), (True, "pool1")]
    gone = module("lun", dict(server=sim_uri, state="absent", luns=[dict(name="a"), dict(name="b"), dict(name="c")]))
    assert [r.get("action") for r in gone["results"]] == ["delete", "delete", None]
    assert sim.list_luns() == []


def test_bad_items_fail_with_their_error_class_and_the_others_converge(sim_uri, sim, module):
    sim.create_lun("big", "pool0", 2 * GiB, True, None)
    result = module("lun", dict(server=sim_uri, luns=[
        dict(name="a", size="1G"),
        dict(size="1G"),                            # no name
        dict(name="typo", sise="1G"),               # unknown option
        dict(name="badsize", size="ten"),           # malformed size
        dict(name="bad/name", size="1G"),           # invalid name
        dict(name="big", size="1G"),                # shrink without allow_shrink
        dict(name="thin", size="1G", thin="maybe"),  # not a boolean
        dict(name="z", size="1G"),
    ]))
    assert result["failed"] and result["changed"] is True
    errors = [r.get("error") for r in result["results"]]
    assert errors == [None, "MissingKeyEx", "InvalidValueEx", "ValueFormatEx", "InvalidValueEx", "InvalidValueEx",
                      "ValueFormatEx", None]
    assert result["error"] == "MissingKeyEx"  # the first item that failed
    assert result["msg"].startswith("6 of 8 items of luns failed, the others were converged: ")
    for text in ("item 2 of luns", "LUN 'typo' (item 3 of luns): unsupported parameters: sise", "LUN 'badsize'",
                 "'bad/name'", "LUN 'big'", "allow_shrink", "LUN 'thin' (item 7 of luns)", "(MissingKeyEx)",
                 "(ValueFormatEx)"):
        assert text in result["msg"], text
    assert [r["name"] for r in result["results"]] == ["a", None, "typo", "badsize", "bad/name", "big", "thin", "z"]
    assert sorted(lun["name"] for lun in sim.list_luns()) == ["a", "big", "z"]
    assert sim.get_lun("big")["size"] == 2 * GiB
    assert "Traceback" not in result["_stdout"]


def test_items_naming_one_object_twice_all_fail(sim_uri, sim, module):
    result = module("lun", dict(server=sim_uri, luns=[
        dict(name="a", size="1G"), dict(name="b", size="1G"), dict(name="a", size="2G")]))
    assert [r.get("error") for r in result["results"]] == ["InvalidValueEx", None, "InvalidValueEx"]
    assert "LUN 'a' is given by items 1, 3 of luns" in result["results"][0]["msg"]
    assert [lun["name"] for lun in sim.list_luns()] == ["b"]


def test_a_failed_check_mode_item_predicts_the_same_failure(sim_uri, sim, module):
    args = dict(server=sim_uri, luns=[dict(name="a", size="1G"), dict(name="b", size="1G", qos="diamond")])
    checked = module("lun", args, check_mode=True)
    applied = module("lun", args)
    assert checked["msg"] == applied["msg"] and checked["error"] == applied["error"] == "InvalidValueEx"
    assert checked["results"][0]["lun"]["uuid"] is None and applied["results"][0]["lun"]["uuid"]
    assert [lun["name"] for lun in sim.list_luns()] == ["a"]


def test_an_empty_list_changes_nothing(sim_uri, module):
    result = module("lun", dict(server=sim_uri, luns=[]))
    assert result["changed"] is False and result["results"] == [] and not result.get("failed")


@pytest.mark.parametrize("args", [dict(name="a", luns=[dict(name="b")]), dict(size="1G")])
def test_name_or_the_list_one_of_them(sim_uri, sim, module, args):
    result = module("lun", dict(args, server=sim_uri))
    assert result["failed"] and "luns" in result["msg"] and "name" in result["msg"]
    assert sim.list_luns() == []


def test_access_group_list_form_cycle_hides_chap_secrets(sim_uri, sim, module, batch_cycle):
    for name in ("l1", "l2"):
        sim.create_lun(name, "pool0", GiB, True, None)
    args = dict(server=sim_uri, access_groups=[
        dict(name="g1", initiators=[IQN % "h1"], luns=["l1"], chap=dict(username="u1", password=SECRET)),
        dict(name="g2", initiators=[(IQN % "h2").upper()], luns=[dict(name="l2", lun_id=7), "l1"]),
    ])
    result = batch_cycle("access_group", args)
    groups = [r["access_group"] for r in result["results"]]
    assert [g["luns"] for g in groups] == [[{"name": "l1", "lun_id": 1}], [{"name": "l1", "lun_id": 1}, {"name": "l2", "lun_id": 7}]]
    assert groups[0]["chap_username"] == "u1" and groups[1]["grp_entries"] == [IQN % "h2"]
    assert sim.chap_matches("g1", dict(username="u1", password=SECRET, mutual_username=None, mutual_password=None))
    for result in (module("access_group", args, diff=True), module("access_group", args, check_mode=True, diff=True)):
        assert SECRET not in result["_stdout"]
        assert result["invocation"]["module_args"]["access_groups"][0]["chap"]["password"] != SECRET


def test_access_group_items_fail_alone_and_keep_secrets(sim_uri, sim, module):
    sim.create_lun("l1", "pool0", GiB, True, None)
    result = module("access_group", dict(server=sim_uri, access_groups=[
        dict(name="ok", initiators=[IQN % "h1"], luns=["l1"]),
        dict(name="nolun", initiators=[IQN % "h2"], luns=["ghost"]),
        dict(name="badiqn", initiators=["iqn.nope"]),
        dict(name="shortchap", initiators=[IQN % "h3"], chap=dict(username="u", password="2-short")),
        dict(name="nochappw", chap=dict(username="u", mutual_password=SECRET)),
        dict(name="chaplist", chap=[SECRET]),
    ]))
    errors = [r.get("error") for r in result["results"]]
    assert errors == [None, "OperationPreReqNotMetEx", "ValueFormatEx", "InvalidValueEx", "MissingKeyEx", "ValueFormatEx"]
    assert "LUN 'ghost' does not exist" in result["msg"] and "access group 'shortchap'" in result["msg"]
    assert [g["grp_name"] for g in sim.list_access_groups()] == ["ok"]
    assert SECRET not in result["_stdout"] and "2-short" not in result["_stdout"]


def test_list_form_on_an_external_plugin_reads_once(tmp_path, module, batch_cycle, monkeypatch):
    """The reference plug-in (contrib/plugins, a real process): the list form works through the
    plug-in's existing methods, and a no-op run asks it for each list once, not for every object."""
    monkeypatch.setenv("STORMGMT_PLUGIN_PATH", os.path.join(ROOT, "contrib", "plugins"))
    calls = []
    real_call = ExternalBackend.call

    def counting(self, method, params, fallback=None):
        calls.append(method)
        return real_call(self, method, params, fallback)
    monkeypatch.setattr(ExternalBackend, "call", counting)
    server = "plugin+jsonfile://%s/array.json" % tmp_path
    luns = dict(server=server, luns=[dict(name="lun%d" % index, size="64M") for index in range(5)])
    groups = dict(server=server, access_groups=[dict(name="grp%d" % index, initiators=[IQN % index],
                                                     luns=["lun%d" % index]) for index in range(5)])
    for args, name in ((luns, "lun"), (groups, "access_group")):
        applied = batch_cycle(name, args)
        assert [r["action"] for r in applied["results"]] == ["create"] * 5
    calls.clear()
    assert module("lun", luns)["changed"] is False
    assert calls.count("list_luns") == 1 and calls.count("get_lun") == 0 and calls.count("create_lun") == 0
    calls.clear()
    assert module("access_group", groups)["changed"] is False
    assert calls.count("list_access_groups") == 1 and calls.count("get_access_group") == 0
    refused = module("lun", dict(server=server, luns=[dict(name="lun0", size="32M"), dict(name="lun9", size="1M")]))
    assert [r.get("error") for r in refused["results"]] == ["InvalidValueEx", None]


# --- the documentation of the list options is the single form's argument spec -------------------

def _doc_options(module) -> dict:
    return yaml.safe_load(module.DOCUMENTATION)["options"]


def _matches(doc: dict, spec: dict, where: str) -> None:
    assert sorted(doc) == sorted(spec), where
    for name, option in spec.items():
        documented = doc[name]
        for key in ("type", "elements", "choices", "default"):
            assert documented.get(key) == option.get(key), "%s.%s: %s" % (where, name, key)
        assert bool(documented.get("required")) == bool(option.get("required")), "%s.%s: required" % (where, name)
        if "options" in option:
            _matches(documented["suboptions"], option["options"], "%s.%s" % (where, name))


@pytest.mark.parametrize("module_file, option, spec", [
    (lun_module, "luns", lun_argument_spec()),
    (access_group_module, "access_groups", access_group_argument_spec()),
])
def test_the_list_option_documents_the_single_form_options(module_file, option, spec):
    documented = _doc_options(module_file)
    _matches(documented[option]["suboptions"], spec, option)
    assert documented[option]["type"] == "list" and documented[option]["elements"] == "dict"
    assert not documented["name"].get("required")
