# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lun module, driven through AnsibleModule as Ansible runs it, on the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import SimBackend
from ansible_collections.stormgmt.core.plugins.modules import lun as lun_module

MiB = 1024 ** 2
GiB = 1024 ** 3
TiB = 1024 ** 4


def test_create_cycle(sim_uri, sim, cycle):
    result = cycle("lun", dict(server=sim_uri, name="db01", size="1.5G"))
    lun = result["lun"]
    assert result["action"] == "create"
    assert (lun["name"], lun["size"], lun["vol_group_name"], lun["thin"], lun["se_type"]) == ("db01", 1536 * MiB, "pool0", True, "LUN")
    assert result["diff"] == {"before": {}, "after": lun}
    predicted = result["_predicted"]["lun"]
    assert (predicted["size"], predicted["vol_group_name"], predicted["thin"]) == (lun["size"], "pool0", True)
    assert sim.get_lun("db01") == lun


def test_sizes_compare_after_rounding(sim_uri, module):
    created = module("lun", dict(server=sim_uri, name="db01", size=1000))
    assert created["lun"]["size"] == 1024  # rounded up to the 512-byte block
    for same in ("1K", 1024, "1024", "1KiB"):
        assert module("lun", dict(server=sim_uri, name="db01", size=same))["changed"] is False


def test_grow_thick_lun_with_qos(sim_uri, sim, cycle):
    cycle("lun", dict(server=sim_uri, name="db01", size="10G", thin=False, pool="pool1"))
    result = cycle("lun", dict(server=sim_uri, name="db01", size="20GiB", qos="gold"))
    assert result["action"] == "update"
    assert result["diff"]["before"]["size"] == 10 * GiB and result["diff"]["after"]["size"] == 20 * GiB
    assert result["lun"]["qos"] == "gold" and result["lun"]["thin"] is False
    assert sim.list_pools()[1]["vol_used_sz"] == 20 * GiB


def test_shrink_needs_allow_shrink(sim_uri, sim, module, cycle):
    module("lun", dict(server=sim_uri, name="db01", size="2G"))
    refused = module("lun", dict(server=sim_uri, name="db01", size="1G"))
    assert refused["failed"] and refused["error"] == "InvalidValueEx"
    assert "allow_shrink" in refused["msg"] and "LUN 'db01'" in refused["msg"]
    assert sim.get_lun("db01")["size"] == 2 * GiB
    assert cycle("lun", dict(server=sim_uri, name="db01", size="1G", allow_shrink=True))["lun"]["size"] == GiB


def test_delete_cycle(sim_uri, sim, module, cycle):
    module("lun", dict(server=sim_uri, name="db01", size="1G"))
    result = cycle("lun", dict(server=sim_uri, name="db01", state="absent"))
    assert result["action"] == "delete" and result["lun"] == {}
    assert result["diff"]["after"] == {} and result["diff"]["before"]["name"] == "db01"
    assert sim.get_lun("db01") is None


def test_absent_lun_that_never_existed_is_no_change(sim_uri, module):
    result = module("lun", dict(server=sim_uri, name="ghost", state="absent"))
    assert result["changed"] is False and result["lun"] == {}


def test_mapped_lun_needs_force(sim_uri, sim, module):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.create_snapshot("db01", "s1")
    sim.create_access_group("web", ["iqn.2026-01.com.example:h1"], [{"name": "db01", "lun_id": None}], None)
    refused = module("lun", dict(server=sim_uri, name="db01", state="absent"))
    assert refused["error"] == "StorageElementBusyEx"
    assert refused["msg"] == ("LUN 'db01' is mapped to access group(s) web and has snapshot(s) s1;"
                              " unmap/delete them first or set force: true")
    assert sim.get_lun("db01") is not None
    assert module("lun", dict(server=sim_uri, name="db01", state="absent", force=True))["changed"] is True
    assert sim.get_lun("db01") is None and sim.get_access_group("web")["luns"] == []


@pytest.mark.parametrize("args, error, words", [
    (dict(name="../etc", size="1G"), "InvalidValueEx", ["../etc"]),
    (dict(name="", size="1G"), "InvalidValueEx", ["name"]),
    (dict(name="x" * 64, size="1G"), "InvalidValueEx", ["1 to 63"]),
    (dict(name="with space", size="1G"), "InvalidValueEx", ["with space"]),
    (dict(name=".hidden", size="1G"), "InvalidValueEx", [".hidden"]),
    (dict(name="-opt", size="1G"), "InvalidValueEx", ["-opt"]),
    (dict(name="new", size="ten"), "ValueFormatEx", ["ten"]),
    (dict(name="new", size=0), "ValueFormatEx", ["greater than zero"]),
    (dict(name="new", size="-5G"), "ValueFormatEx", ["-5G"]),
    (dict(name="new"), "MissingKeyEx", ["LUN 'new'", "size"]),
    (dict(name="new", size="1G", pool="pool9"), "InvalidValueEx", ["pool9"]),
    (dict(name="new", size="1G", pool="../pool0"), "InvalidValueEx", ["pool"]),
    (dict(name="new", size="1G", qos="diamond"), "InvalidValueEx", ["diamond"]),
    (dict(name="new", size="20T"), "InvalidValueEx", ["LUN 'new'", "pool0"]),
    (dict(name="db01", size="1G", thin=False), "NoSuchOperationEx", ["thin"]),
    (dict(name="db01", size="1G", pool="pool1"), "InvalidValueEx", ["pool0", "pool1"]),
    (dict(name="db01", size="512M"), "InvalidValueEx", ["allow_shrink"]),
    (dict(name="db01", size="1G", wait_timeout=0), "InvalidValueEx", ["wait_timeout"]),
])
def test_bad_input_fails_cleanly_and_changes_nothing(sim_uri, sim, module, args, error, words):
    sim.create_lun("db01", "pool0", GiB, True, None)
    before = (sim.list_luns(), sim.list_pools())
    for check_mode in (True, False):
        result = module("lun", dict(args, server=sim_uri), check_mode=check_mode)
        assert result["failed"] is True and result["error"] == error, result
        assert "Traceback" not in result["_stdout"] and "exception" not in result
        for word in words:
            assert word in result["msg"], result["msg"]
    assert (sim.list_luns(), sim.list_pools()) == before


def test_bad_server_uri(module):
    result = module("lun", dict(server="nosuch:///x", name="db01", size="1G"))
    assert result["error"] == "ValueFormatEx" and "nosuch" in result["msg"]


def test_state_file_that_is_not_a_simulator(tmp_path, module):
    path = tmp_path / "precious.txt"
    path.write_text("not a database\n" * 300)
    result = module("lun", dict(server="sim://%s" % path, name="db01", size="1G"))
    assert result["error"] == "InvalidStorageArrayEx" and str(path) in result["msg"]
    assert path.read_text().startswith("not a database")


def test_password_never_appears_in_the_output(sim_uri, module):
    secret = "Pw-Never-Shown-4417"
    for args in (dict(name="db01", size="1G"), dict(name="../bad", size="1G")):
        result = module("lun", dict(args, server=sim_uri, username="admin", password=secret), diff=True)
        assert secret not in result["_stdout"]


def test_diff_only_when_asked(sim_uri, module):
    assert "diff" not in module("lun", dict(server=sim_uri, name="db01", size="1G"))
    assert "diff" in module("lun", dict(server=sim_uri, name="db01", size="1G"), diff=True)


def test_server_from_the_environment(sim_uri, sim, module, monkeypatch):
    monkeypatch.setenv("STORMGMT_SERVER", sim_uri)
    assert module("lun", dict(name="db01", size="1G"))["changed"] is True
    assert sim.get_lun("db01") is not None


def test_async_job_is_polled_with_progress(tmp_path, module):
    uri = "sim://%s/slow.db?job_delay=0.2" % tmp_path
    result = module("lun", dict(server=uri, name="db01", size="1G"))
    assert result["changed"] is True and result["lun"]["state"] == "ONLINE"
    assert result["job"]["status"] == "COMPLETE" and result["job"]["progress"] == 100 and result["job"]["elapsed"] > 0


def test_wait_false_returns_the_job(tmp_path, module):
    uri = "sim://%s/slow.db?job_delay=60" % tmp_path
    result = module("lun", dict(server=uri, name="db01", size="1G", wait=False))
    assert result["changed"] is True and result["job"]["status"] == "RUNNING"
    assert result["lun"]["state"] == "BUSY_CREATE"
    again = module("lun", dict(server=uri, name="db01", size="2G", wait=False))
    assert again["failed"] and again["error"] == "StorageElementBusyEx" and "BUSY_CREATE" in again["msg"]


def test_wait_timeout_reports_the_unfinished_job(tmp_path, module):
    uri = "sim://%s/slow.db?job_delay=60" % tmp_path
    result = module("lun", dict(server=uri, name="db01", size="1G", wait_timeout=1))
    assert result["failed"] and result["error"] == "OperationFailedEx" and "wait_timeout=1" in result["msg"]
    assert result["job"]["status"] == "RUNNING"


def test_runs_as_a_program_reading_its_arguments_on_stdin(sim_uri, sim):
    """The way Ansible runs a module on a node: a separate Python reading JSON on stdin."""
    top = lun_module.__file__
    for _number in range(5):  # .../ansible_collections/stormgmt/core/plugins/modules/lun.py -> the dir above
        top = os.path.dirname(top)
    top = os.path.dirname(top)
    args = {"ANSIBLE_MODULE_ARGS": {"server": sim_uri, "name": "db01", "size": "2G", "_ansible_check_mode": False}}
    env = dict(os.environ, PYTHONPATH=top)
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.stormgmt.core.plugins.modules.lun"],
                          input=json.dumps(args), capture_output=True, text=True, env=env, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["changed"] is True and result["lun"]["size"] == 2 * GiB
    assert sim.get_lun("db01")["size"] == 2 * GiB


def test_an_unexpected_error_is_a_message_not_a_traceback(sim_uri, module, monkeypatch):
    def broken(self, name):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(SimBackend, "get_lun", broken)
    result = module("lun", dict(server=sim_uri, name="db01", size="1G"))
    assert result["failed"] and result["error"] == "OperationFailedEx"
    assert result["msg"] == "LUN 'db01': unexpected error: disk on fire"


# Cases moved here from the lun integration target, which keeps one representative of each
# through Ansible (size spellings, rounding, names, bad sizes, busy LUNs): the same assertions,
# without a module round trip each.

def _unchanged(module, args, record):
    """A check-mode run and a real run, in diff mode, that change nothing and return ``record``."""
    check = module("lun", args, check_mode=True, diff=True)
    real = module("lun", args, diff=True)
    for result in (check, real):
        assert result["changed"] is False and not result.get("failed") and "action" not in result, result
        assert result["lun"] == record and result["diff"]["before"] == result["diff"]["after"], result


@pytest.mark.parametrize("spelling", ["10GiB", "10G", 10 * GiB, str(10 * GiB), "10240M", "10240MiB", "10 GiB"])
def test_size_spellings_change_nothing(sim_uri, sim, module, cycle, spelling):
    created = cycle("lun", dict(server=sim_uri, name="lun-a", size="10G"))["lun"]
    assert created["size"] == 10 * GiB
    _unchanged(module, dict(server=sim_uri, name="lun-a", size=spelling), created)
    assert sim.get_lun("lun-a") == created


def test_sizes_that_round_to_the_size_change_nothing(sim_uri, module, cycle):
    created = cycle("lun", dict(server=sim_uri, name="lun-c", size=1000))["lun"]
    assert created["size"] >= 1000 and created["size"] % 512 == 0
    for same in (created["size"], created["size"] - 1, 1000, str(created["size"])):
        _unchanged(module, dict(server=sim_uri, name="lun-c", size=same), created)


def test_name_of_63_characters_cycle(sim_uri, sim, cycle):
    name = "lun-" + "x" * 59
    assert len(name) == 63
    created = cycle("lun", dict(server=sim_uri, name=name, size="1M"))
    assert created["lun"]["name"] == name and sim.get_lun(name) == created["lun"]
    deleted = cycle("lun", dict(server=sim_uri, name=name, state="absent"))
    assert deleted["action"] == "delete" and deleted["lun"] == {} and sim.get_lun(name) is None


def _refused(module, sim, args, error, words, names_object=True):
    """Fails in check mode and for real with ``error`` and the same message, changes nothing."""
    before = (sim.list_luns(), sim.list_pools(), sim.list_snapshots(), sim.list_access_groups())
    check = module("lun", args, check_mode=True)
    real = module("lun", args)
    for result in (check, real):
        assert result["failed"] is True and not result.get("changed") and result["error"] == error, result
        assert "Traceback" not in result["_stdout"] and "exception" not in result
    assert real["msg"] == check["msg"]
    for word in words:
        assert word in real["msg"], real["msg"]
    if names_object:
        assert str(args["name"]) in real["msg"], real["msg"]
    assert (sim.list_luns(), sim.list_pools(), sim.list_snapshots(), sim.list_access_groups()) == before


@pytest.mark.parametrize("name", ["a/b", "..", "", "-lead", ".lead", "with space", "lun-" + "x" * 60, "lun-ü",
                                  "../../etc/passwd"])
def test_bad_names_are_refused_before_anything_is_written(sim_uri, sim, module, name):
    sim.create_lun("lun-a", "pool0", GiB, True, None)
    _refused(module, sim, dict(server=sim_uri, name=name, size="1G"), "InvalidValueEx", ["LUN name '%s'" % name])


@pytest.mark.parametrize("size", ["ten", 0, "-1G", "1.5XB", "10 GB of disk"])
def test_bad_sizes_are_refused(sim_uri, sim, module, size):
    sim.create_lun("lun-a", "pool0", GiB, True, None)
    _refused(module, sim, dict(server=sim_uri, name="lun-new", size=size), "ValueFormatEx", ["size"])


@pytest.mark.parametrize("server, error, word", [
    ("not-a-uri", "ValueFormatEx", "not-a-uri"),
    ("nosuchbackend:///x", "ValueFormatEx", "nosuchbackend"),
])
def test_refused_before_the_backend(sim_uri, sim, module, server, error, word):
    sim.create_lun("lun-a", "pool0", GiB, True, None)
    _refused(module, sim, dict(server=server, name="lun-new", size="1G"), error, [word])


def test_lun_with_a_snapshot_or_a_mapping_needs_force(sim_uri, sim, module):
    sim.create_lun("lun-busy", "pool0", GiB, True, None)
    sim.create_snapshot("lun-busy", "lun-busy-snap")
    _refused(module, sim, dict(server=sim_uri, name="lun-busy", state="absent"), "StorageElementBusyEx",
             ["lun-busy-snap", "force"])
    sim.create_lun("lun-mapped", "pool0", GiB, True, None)
    sim.create_access_group("lun-grp", ["iqn.2026-01.com.example:lun-host"], [{"name": "lun-mapped", "lun_id": None}],
                            None)
    _refused(module, sim, dict(server=sim_uri, name="lun-mapped", state="absent"), "StorageElementBusyEx",
             ["lun-grp", "force"])
