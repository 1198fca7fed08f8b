# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reference plug-in contrib/plugins/stormgmt-plugin-jsonfile, as a third party would run it.

It is spoken to raw over its pipes (no collection code in between, Python started
without site-packages, so it cannot lean on the collection), and through the
external backend for what a module relies on: parallel runs lose nothing,
secrets are never stored in clear, the state file is private.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx, StorageElementBusyEx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))))
PLUGINS = os.path.join(ROOT, "contrib", "plugins")
PLUGIN = os.path.join(PLUGINS, "stormgmt-plugin-jsonfile")
SOURCE = os.path.join(PLUGINS, "stormgmt_plugin_jsonfile.py")
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def plugin_path(monkeypatch):
    monkeypatch.setenv("STORMGMT_PLUGIN_PATH", PLUGINS)


def converse(requests: list) -> list:
    """Send request objects to a fresh plug-in process; return the answers, one per line."""
    text = "".join(json.dumps(request) + "\n" for request in requests)
    # -I -S: no user site, no site-packages, no PYTHONPATH: the standard library only
    done = subprocess.run([sys.executable, "-I", "-S", SOURCE], input=text, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def request(ident, method, **params):
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


def test_it_is_executable_and_uses_no_collection_code():
    assert os.access(PLUGIN, os.X_OK)
    with open(SOURCE) as handle:
        source = handle.read()
    assert "ansible_collections" not in source and "import ansible" not in source


def test_a_raw_session_as_the_protocol_document_describes(tmp_path):
    uri = "plugin+jsonfile://%s/array.json" % tmp_path
    answers = converse([
        request(1, "plugin.info", api_version="1.1"),
        request(2, "plugin.open", uri=uri, username=None, password=None),
        request(3, "create_lun", name="db01", pool="pool0", size=MiB, thin=True, qos=None),
        request(4, "create_lun", name="db01", pool="pool0", size=MiB, thin=True, qos=None),
        request(5, "get_lun", name="nope"),
        request(6, "teleport", name="db01"),
        request(7, "plugin.close"),
    ])
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6, 7]
    assert answers[0]["result"] == {"name": "jsonfile", "version": answers[0]["result"]["version"],
                                    "api_version": "1.1", "types": ["array"]}
    assert answers[1]["result"] == {"block_size": 512, "min_lun_id": 1}
    assert answers[2]["result"]["name"] == "db01" and answers[2]["result"]["size"] == MiB
    assert answers[2]["result"]["created"].endswith("Z") and answers[2]["result"]["consistency_group"] is None
    assert answers[3]["error"]["data"] == {"error": "InvalidValueEx", "msg": "LUN 'db01' already exists", "key": "name"}
    assert answers[4]["result"] is None
    assert answers[5]["error"]["code"] == -32601
    assert answers[6] == {"jsonrpc": "2.0", "id": 7, "result": None}


def test_a_collection_of_protocol_1_0_gets_nothing_it_does_not_know(tmp_path):
    uri = "plugin+jsonfile://%s/array.json" % tmp_path
    answers = converse([
        request(1, "plugin.info", api_version="1.0"),
        request(2, "plugin.open", uri=uri, username=None, password=None),
        request(3, "create_lun", name="db01", pool="pool0", size=MiB, thin=True, qos=None),
        request(4, "create_snapshot", lun="db01", name="s1"),
        request(5, "get_abilities"),
    ])
    assert answers[0]["result"]["api_version"] == "1.1"
    for record in (answers[2]["result"], answers[3]["result"]):
        assert "created" not in record and "consistency_group" not in record
    assert "consistency_group" not in answers[4]["result"] and "cg_snapshot" not in answers[4]["result"]


def test_bad_requests_get_jsonrpc_errors_not_a_crash(tmp_path):
    text = "this is not json\n" + json.dumps(request(2, "create_lun", name="x")) + "\n"
    done = subprocess.run([sys.executable, "-I", "-S", SOURCE], input=text, capture_output=True, text=True,
                          timeout=60, check=False)
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert answers[0]["error"]["code"] == -32700 and answers[0]["id"] is None
    # create_lun before plugin.open is missing arguments: invalid params
    assert answers[1]["error"]["code"] == -32602


def _create(args) -> str:
    uri, name = args
    backend = connect(uri)
    try:
        backend.create_lun(name, "pool0", MiB, False, None)
        return "created"
    except InvalidValueEx:
        return "exists"
    finally:
        backend.close()


def test_parallel_module_runs_lose_nothing(tmp_path):
    uri = "plugin+jsonfile://%s/array.json" % tmp_path
    names = ["lun%02d" % index for index in range(20)]
    with multiprocessing.get_context("fork").Pool(10) as pool:
        outcome = pool.map(_create, [(uri, name) for name in names] + [(uri, "race")] * 4)
    assert outcome[:20] == ["created"] * 20
    assert sorted(outcome[20:]) == ["created", "exists", "exists", "exists"]
    backend = connect(uri)
    try:
        assert sorted(lun["name"] for lun in backend.list_luns()) == sorted(names + ["race"])
        pool0 = [pool for pool in backend.list_pools() if pool["vol_name"] == "pool0"][0]
        assert pool0["vol_used_sz"] == 21 * MiB  # thick: every LUN reserved once
    finally:
        backend.close()


def test_chap_secrets_are_stored_hashed_and_the_file_is_private(tmp_path, open_backend):
    path = tmp_path / "array.json"
    backend = open_backend("plugin+jsonfile://%s" % path)
    backend.create_lun("db01", "pool0", MiB, True, None)
    chap = {"username": "alice", "password": "wonderland-12", "mutual_username": "target",
            "mutual_password": "looking-glass-34"}
    backend.create_access_group("hosts", ["iqn.2026-01.io.example:a"], [{"name": "db01", "lun_id": None}], chap)
    assert backend.chap_matches("hosts", chap)
    assert not backend.chap_matches("hosts", dict(chap, password="wonderland-13"))
    text = path.read_text()
    assert "wonderland-12" not in text and "looking-glass-34" not in text
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    with pytest.raises(StorageElementBusyEx):
        backend.delete_lun("db01")


# --- issue 10: bounded URI parameters (item 13) and clone lineage (item 1) -------------------------

@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-1", "3601"])
def test_job_delay_is_finite_and_bounded(tmp_path, value):
    answers = converse([request(1, "plugin.open", uri="plugin+jsonfile://%s/a.json?job_delay=%s" % (tmp_path, value),
                                username=None, password=None)])
    assert answers[0]["error"]["data"]["error"] == "ValueFormatEx"
    assert "job_delay" in answers[0]["error"]["data"]["msg"]
    assert not (tmp_path / "a.json").exists()


def test_clone_origin_is_kept_after_a_split(tmp_path, open_backend):
    backend = open_backend("plugin+jsonfile://%s/array.json" % tmp_path)
    parent = backend.create_lun("gold", "pool0", MiB, True, None)
    assert backend.clone_origin("gold") is None  # not a clone
    backend.create_clone("copy", "gold")
    backend.split_clone("copy")
    assert backend.get_lun("copy")["parent"] is None
    assert backend.clone_origin("copy") == {"parent": "gold", "parent_snapshot": None, "parent_uuid": parent["uuid"]}
    assert backend.clone_origin("nope") is None
