# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The external backend (plugin+NAME://): the JSON-RPC transport and what it guards against.

Each test runs a real plug-in process: a tiny fake written to a temporary
directory, told by a JSON script what to answer (a result, a typed error, garbage,
a crash, silence), and logging every request it receives so the test can check
exactly what crossed the pipe.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.backends import external
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    FileSystemPlugin,
    StorageArrayPlugin,
)

FAKE = textwrap.dedent("""\
    #!{python}
    # A fake stormgmt plug-in for the unit tests: answers from a JSON script.
    import json, os, signal, sys, time
    HERE = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(HERE, "script.json")) as handle:
        SCRIPT = json.load(handle)
    log = open(os.path.join(HERE, "requests.log"), "a")
    log.write(json.dumps({{"pid": os.getpid()}}) + "\\n")
    log.flush()
    DEFAULTS = {{
        "plugin.info": {{"result": {{"name": "fake", "version": "0.1", "api_version": "1.0", "types": ["array"]}}}},
        "plugin.open": {{"result": {{"block_size": 4096}}}},
        "plugin.close": {{"result": None}},
    }}
    for line in sys.stdin:
        log.write(line)
        log.flush()
        request = json.loads(line)
        method = request["method"]
        plan = SCRIPT.get(method, DEFAULTS.get(method))
        if isinstance(plan, list):  # a different answer for each call
            plan = plan.pop(0) if len(plan) > 1 else plan[0]
        if plan is None:
            plan = {{"error": {{"code": -32601, "message": "no method " + method}}}}
        if "stderr" in plan:
            sys.stderr.write(plan["stderr"] + "\\n")
            sys.stderr.flush()
        if "sleep" in plan:
            time.sleep(plan["sleep"])
        if "signal" in plan:
            os.kill(os.getpid(), plan["signal"])
        if "exit" in plan:
            sys.exit(plan["exit"])
        if "raw" in plan:
            sys.stdout.write(plan["raw"])
        else:
            answer = {{"jsonrpc": "2.0", "id": plan.get("id", request["id"])}}
            if "error" in plan:
                answer["error"] = plan["error"]
            else:
                answer["result"] = plan.get("result")
            sys.stdout.write(json.dumps(answer) + "\\n")
        sys.stdout.flush()
        if method == "plugin.close":
            sys.exit(plan.get("close_exit", 0))
""")

LUN = records.make("storage_element", name="db01", uuid="u-1", se_type="LUN", size=1048576, thin=True,
                   vol_group_name="pool0", access_grp_names=[], state="ONLINE", status="OK")
# the same LUN as a terse plug-in would send it: required fields only
TERSE_LUN = dict((field, LUN[field]) for field, spec in records.SCHEMA["storage_element"].items() if spec[1])
ABILITIES = {"create_lun": "ONLINE", "delete_lun": "ONLINE", "thin_provisioning": "YES", "async_jobs": "YES"}


class Fake:
    """A fake plug-in in a directory of its own, found through STORMGMT_PLUGIN_PATH."""

    def __init__(self, directory, name: str = "fake") -> None:
        self.directory = directory
        self.name = name
        self.path = os.path.join(str(directory), "stormgmt-plugin-" + name)
        with open(self.path, "w") as handle:
            handle.write(FAKE.format(python=sys.executable))
        os.chmod(self.path, 0o755)
        self.script({})

    def script(self, answers: dict) -> None:
        with open(os.path.join(str(self.directory), "script.json"), "w") as handle:
            json.dump(answers, handle)

    def entries(self) -> list:
        try:
            with open(os.path.join(str(self.directory), "requests.log")) as handle:
                return [json.loads(line) for line in handle]
        except FileNotFoundError:
            return []

    def requests(self) -> list:
        return [entry for entry in self.entries() if "method" in entry]

    def methods(self) -> list:
        return [entry["method"] for entry in self.requests()]

    def pids(self) -> list:
        return [entry["pid"] for entry in self.entries() if "pid" in entry]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setenv("STORMGMT_PLUGIN_PATH", str(tmp_path))
    return Fake(tmp_path)


@pytest.fixture
def backend(fake, open_backend):
    return open_backend("plugin+fake:///some/where?plugin_timeout=5", "admin", "s3cret-pw")


# --- selection, lookup, life cycle ----------------------------------------------

def test_the_scheme_selects_the_external_backend_and_starts_nothing_yet(backend, fake):
    assert isinstance(backend, external.ExternalBackend)
    assert backend.scheme == "plugin+fake"
    assert fake.entries() == []  # started lazily, on the first call


def test_handshake_then_open_then_named_params_then_close(backend, fake):
    fake.script({"get_lun": {"result": LUN}})
    assert backend.get_lun("db01") == LUN
    backend.close()
    requests = fake.requests()
    assert [r["method"] for r in requests] == ["plugin.info", "plugin.open", "get_lun", "plugin.close"]
    assert all(r["jsonrpc"] == "2.0" for r in requests)
    assert [r["id"] for r in requests] == [1, 2, 3, 4]
    assert requests[0]["params"] == {"api_version": external.API_VERSION}
    # credentials travel once, in plugin.open, beside the URI
    assert requests[1]["params"] == {"uri": "plugin+fake:///some/where?plugin_timeout=5",
                                     "username": "admin", "password": "s3cret-pw"}
    assert requests[2]["params"] == {"name": "db01"}
    assert "s3cret-pw" not in json.dumps(requests[2:])
    assert not alive(fake.pids()[0])


def test_one_process_serves_the_whole_module_run(backend, fake):
    fake.script({"get_lun": {"result": LUN}, "list_pools": {"result": []}})
    backend.get_lun("db01")
    backend.list_pools()
    backend.get_lun("db01")
    assert len(fake.pids()) == 1
    assert fake.methods() == ["plugin.info", "plugin.open", "get_lun", "list_pools", "get_lun"]


def test_parameters_are_those_of_the_base_class_by_name_with_defaults(backend, fake):
    fake.script({"create_access_group": {"result": records.make("access_group", grp_name="g", grp_entries=[])},
                 "delete_lun": {"result": None}, "list_snapshots": {"result": []}})
    backend.create_access_group("g", ["iqn.2026-01.io.x:a"], [{"name": "db01", "lun_id": None}], None)
    backend.delete_lun("db01")
    backend.list_snapshots()
    sent = dict((r["method"], r["params"]) for r in fake.requests())
    assert sent["create_access_group"] == {"name": "g", "entries": ["iqn.2026-01.io.x:a"],
                                           "luns": [{"name": "db01", "lun_id": None}], "chap": None}
    assert sent["delete_lun"] == {"name": "db01", "force": False}
    assert sent["list_snapshots"] == {"lun": None}


def test_the_method_table_mirrors_the_base_classes_exactly():
    provided_locally = {"ability", "require", "close", "note_repair"}
    # the bulk reads of the list form, made of the plug-in's list_* calls (no method of the protocol)
    provided_locally |= {"get_luns", "get_access_groups"}
    # the jobs subset of storage_info: not in the protocol yet, a plug-in's jobs are followed by job_status
    provided_locally |= {"list_jobs"}
    api = set()
    for cls in (StorageArrayPlugin, FileSystemPlugin):
        api.update(name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name)))
    assert api - provided_locally == set(external.METHODS)


def test_block_size_and_lowest_lun_number_come_from_plugin_open(backend, fake):
    assert backend.block_size == 4096
    assert backend.min_lun_id == 1  # not given: the API's default


def test_a_missing_plugin_names_the_executable_and_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("STORMGMT_PLUGIN_PATH", str(tmp_path))
    backend = connect("plugin+absent:///x")
    with pytest.raises(OperationPreReqNotMetEx) as info:
        backend.get_server()
    assert "stormgmt-plugin-absent" in info.value.msg
    assert str(tmp_path) in info.value.msg and "/usr/libexec/stormgmt/plugins" in info.value.msg
    backend.close()


def test_the_plugin_is_also_found_on_path(tmp_path, monkeypatch):
    Fake(tmp_path, "onpath")
    monkeypatch.delenv("STORMGMT_PLUGIN_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    backend = connect("plugin+onpath:///x")
    assert backend.block_size == 4096
    backend.close()


@pytest.mark.parametrize("server", ["plugin+../evil:///x", "plugin+-dash:///x", "plugin+a_b:///x", "plugin+:///x"])
def test_a_plugin_name_that_could_escape_the_directories_is_refused(server):
    with pytest.raises(ValueFormatEx):
        connect(server)


@pytest.mark.parametrize("value", ["0", "inf", "nan", "1e308", "-5", "3601", "", "5s", "\u0665"])
def test_plugin_timeout_is_finite_and_bounded(value):
    # inf would wait for ever on a hung plug-in; nan compares false with everything
    with pytest.raises(ValueFormatEx) as info:
        connect("plugin+fake:///x?plugin_timeout=%s" % value)
    assert "plugin_timeout" in info.value.msg and "from 0.1 to 3600" in info.value.msg
    assert info.value.key == "server"


# --- handshake ---------------------------------------------------------------------

def test_another_major_protocol_version_is_refused_before_any_operation(backend, fake):
    fake.script({"plugin.info": {"result": {"name": "fake", "version": "9", "api_version": "2.0", "types": ["array"]}}})
    with pytest.raises(OperationPreReqNotMetEx) as info:
        backend.create_lun("db01", "pool0", 1048576, True, None)
    assert "2.0" in info.value.msg and external.API_VERSION in info.value.msg
    assert fake.methods() == ["plugin.info"]


def test_a_newer_minor_version_is_accepted(backend, fake):
    fake.script({"plugin.info": {"result": {"name": "fake", "version": "1", "api_version": "1.7", "types": ["array"]}},
                 "list_pools": {"result": []}})
    assert backend.list_pools() == []


@pytest.mark.parametrize("info", [
    {"name": "fake", "version": "1", "api_version": "1.0"},
    {"name": "fake", "version": "1", "api_version": "1.0", "types": ["tape"]},
    {"name": "fake", "version": 1, "api_version": "1.0", "types": ["array"]},
    ["not", "an", "object"],
])
def test_a_malformed_handshake_is_an_operation_failure(backend, fake, info):
    fake.script({"plugin.info": {"result": info}})
    with pytest.raises(OperationFailedEx) as info_:
        backend.list_pools()
    assert "plugin.info" in info_.value.msg


def test_credentials_refused_by_the_plugin_are_a_typed_error(backend, fake):
    fake.script({"plugin.open": {"error": {"code": -32000, "message": "denied", "data": {
        "error": "PermissionDeniedEx", "msg": "user admin may not log in"}}}})
    with pytest.raises(Exception) as info:
        backend.list_pools()
    assert type(info.value).__name__ == "PermissionDeniedEx"


# --- errors ------------------------------------------------------------------------------

def test_a_typed_error_comes_back_as_that_class_with_msg_and_key(backend, fake):
    fake.script({"create_lun": {"error": {"code": -32000, "message": "exists", "data": {
        "error": "InvalidValueEx", "msg": "LUN 'db01' already exists", "key": "name"}}}})
    with pytest.raises(InvalidValueEx) as info:
        backend.create_lun("db01", "pool0", 1048576, True, None)
    assert info.value.msg == "LUN 'db01' already exists"
    assert info.value.key == "name"


def test_an_unknown_error_class_becomes_operation_failed_and_says_so(backend, fake):
    fake.script({"delete_lun": {"error": {"code": -32000, "message": "x", "data": {
        "error": "DiskOnFireEx", "msg": "the disk is on fire"}}}})
    with pytest.raises(OperationFailedEx) as info:
        backend.delete_lun("db01")
    assert "the disk is on fire" in info.value.msg and "DiskOnFireEx" in info.value.msg


def test_a_plain_jsonrpc_error_is_an_operation_failure_naming_plugin_and_method(backend, fake):
    fake.script({"list_luns": {"error": {"code": -32603, "message": "internal error: KeyError 'x'"}}})
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    assert "fake" in info.value.msg and "list_luns" in info.value.msg and "KeyError" in info.value.msg


def test_an_unimplemented_operation_is_no_such_operation(backend, fake):
    with pytest.raises(NoSuchOperationEx) as info:
        backend.split_clone("c1")
    assert "split_clone" in info.value.msg


def test_an_unimplemented_lookup_falls_back_to_the_listing(backend, fake):
    other = dict(LUN, name="db02", uuid="u-2")
    fake.script({"list_luns": {"result": [LUN, other]}})
    assert backend.get_lun("db02")["uuid"] == "u-2"
    assert backend.get_lun("db03") is None
    # asked once whether get_lun exists, then straight to the listing
    assert fake.methods().count("get_lun") == 1
    assert fake.methods().count("list_luns") == 2


def test_an_operation_the_plugin_half_does_not_have_is_refused_without_asking(backend, fake):
    assert backend.list_filesystems() == []
    assert backend.get_filesystem("fs1") is None
    with pytest.raises(NoSuchOperationEx) as info:
        backend.create_filesystem("fs1", "pool0", 1048576, {})
    assert "filesystem" in info.value.msg
    assert "create_filesystem" not in fake.methods()


def test_secrets_are_masked_in_every_message(backend, fake):
    chap = {"username": "u", "password": "chap-secret-123"}
    fake.script({"create_access_group": {"stderr": "got password s3cret-pw and chap-secret-123", "error": {
        "code": -32000, "message": "no", "data": {"error": "InvalidValueEx", "msg": "bad secret chap-secret-123"}}},
        "list_luns": {"exit": 1, "stderr": "dying, password was s3cret-pw"}})
    with pytest.raises(InvalidValueEx) as info:
        backend.create_access_group("g", [], [], chap)
    assert "chap-secret-123" not in info.value.msg and "********" in info.value.msg
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    assert "dying" in info.value.msg
    assert "s3cret-pw" not in info.value.msg and "chap-secret-123" not in info.value.msg


# --- answers are validated ------------------------------------------------------------------

def test_terse_records_are_completed_with_the_optional_fields(backend, fake):
    fake.script({"get_lun": {"result": TERSE_LUN}})
    assert backend.get_lun("db01") == records.make("storage_element", **TERSE_LUN)


@pytest.mark.parametrize("method,args,answer,field", [
    ("get_lun", ("db01",), dict(LUN, size="1M"), "size"),
    ("get_lun", ("db01",), dict(LUN, state="HAPPY"), "state"),
    ("get_lun", ("db01",), dict((k, v) for k, v in LUN.items() if k != "se_type"), "se_type"),
    ("get_lun", ("db01",), dict(LUN, colour="blue"), "colour"),
    ("get_lun", ("db01",), dict(LUN, password="x"), "password"),
    ("get_lun", ("db01",), dict(LUN, name="db02"), "name"),
    ("list_luns", (), [LUN, dict(LUN, access_grp_names="g1")], "access_grp_names"),
    ("list_pools", (), [{"vol_name": "pool0"}], "vol_total_sz"),
    ("get_abilities", (), {"create_lun": "MAYBE"}, "create_lun"),
    ("get_abilities", (), {"teleport": "YES"}, "teleport"),
    ("create_lun", ("db01", "pool0", 1048576, True, None),
     {"job_id": "j1", "progress": 0, "status": "DREAMING", "op": "create"}, "status"),
])
def test_a_malformed_answer_is_value_format_naming_plugin_method_and_field(backend, fake, method, args, answer, field):
    fake.script({method: {"result": answer}})
    with pytest.raises(ValueFormatEx) as info:
        getattr(backend, method)(*args)
    assert info.value.key == field
    assert "plug-in fake" in info.value.msg and method in info.value.msg and field in info.value.msg


@pytest.mark.parametrize("method,args,answer", [
    ("list_luns", (), {"luns": []}),
    ("delete_lun", ("db01",), "deleted"),
    ("chap_matches", ("g", {"username": "u", "password": "p"}), "yes"),
    ("default_pool", (), ""),
])
def test_an_answer_of_the_wrong_shape_is_value_format(backend, fake, method, args, answer):
    fake.script({method: {"result": answer}})
    with pytest.raises(ValueFormatEx):
        getattr(backend, method)(*args)


def test_a_job_is_followed_through_job_status(backend, fake):
    job = {"job_id": "j1", "op": "create LUN db01", "progress": 0, "status": "RUNNING"}
    fake.script({"create_lun": {"result": job},
                 "job_status": [{"result": dict(job, progress=50)},
                                {"result": dict(job, progress=100, status="COMPLETE")}]})
    waiter = Waiter(backend, sleep=lambda seconds: None)
    done = waiter(backend.create_lun("db01", "pool0", 1048576, True, None))
    assert done["status"] == "COMPLETE"
    assert fake.methods().count("job_status") == 2


def test_a_failed_job_raises_its_error_class(backend, fake):
    job = {"job_id": "j1", "op": "delete", "progress": 0, "status": "RUNNING"}
    fake.script({"delete_lun": {"result": job}, "job_status": {"result": dict(
        job, progress=None, status="ERROR", error={"error": "StorageElementBusyEx", "msg": "in use"})}})
    with pytest.raises(StorageElementBusyEx):
        Waiter(backend, sleep=lambda seconds: None)(backend.delete_lun("db01"))


def test_abilities_are_asked_once_per_run(backend, fake):
    fake.script({"get_abilities": {"result": ABILITIES}})
    backend.require("create_lun", "create LUN 'db01'")
    backend.require("thin_provisioning", "create a thin LUN")
    with pytest.raises(NoSuchOperationEx):
        backend.require("snapshot", "snapshot LUN 'db01'")
    assert fake.methods().count("get_abilities") == 1


# --- a plug-in that misbehaves ----------------------------------------------------------------

def test_a_plugin_that_dies_is_an_operation_failure_with_its_stderr(backend, fake):
    fake.script({"list_luns": {"exit": 3, "stderr": "Traceback (most recent call last):\nKeyError: 'luns'"}})
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    msg = info.value.msg
    assert "exited with status 3" in msg and "list_luns" in msg and "KeyError: 'luns'" in msg
    # the conversation is over: later calls fail the same way, close() stays quiet
    with pytest.raises(OperationFailedEx) as again:
        backend.get_server()
    assert again.value.msg == msg
    backend.close()


def test_a_plugin_killed_by_a_signal_says_which(backend, fake):
    fake.script({"list_luns": {"signal": signal.SIGKILL}})
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    assert "signal 9" in info.value.msg


def test_a_plugin_that_hangs_is_killed_after_plugin_timeout(fake, open_backend):
    fake.script({"list_luns": {"sleep": 60}})
    backend = open_backend("plugin+fake:///x?plugin_timeout=0.5")
    started = time.monotonic()
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    assert "did not answer list_luns within 0.5s" in info.value.msg
    assert time.monotonic() - started < 30  # not the plug-in's 60 s
    assert not alive(fake.pids()[0])


@pytest.mark.parametrize("raw,words", [
    ("Loading the array...\n", "not JSON"),
    ("[1, 2, 3]\n", "not the JSON-RPC 2.0 response"),
    ('{"jsonrpc": "2.0", "id": 99, "result": []}\n', "not the JSON-RPC 2.0 response to request 3"),
    ('{"jsonrpc": "2.0", "id": 3}\n', "not the JSON-RPC 2.0 response"),
    ('{"jsonrpc": "2.0", "id": 3, "error": "oops"}\n', "malformed JSON-RPC error"),
    ("\xff\xfe garbage\n", "not JSON"),
])
def test_garbage_on_stdout_is_an_operation_failure_and_ends_the_plugin(backend, fake, raw, words):
    fake.script({"list_luns": {"raw": raw, "stderr": "debug: about to answer"}})
    with pytest.raises(OperationFailedEx) as info:
        backend.list_luns()
    assert words in info.value.msg
    assert "debug: about to answer" in info.value.msg
    assert not alive(fake.pids()[0])


def test_an_answer_split_across_writes_and_blank_lines_is_read_whole(backend, fake):
    text = json.dumps({"jsonrpc": "2.0", "id": 3, "result": [LUN] * 200})
    fake.script({"list_luns": {"raw": "\n\n" + text + "\n"}})
    assert len(backend.list_luns()) == 200


def test_close_kills_a_plugin_that_does_not_exit(backend, fake, monkeypatch):
    monkeypatch.setattr(external, "CLOSE_TIMEOUT", 0.3)
    fake.script({"plugin.close": {"result": None, "sleep": 60}, "list_pools": {"result": []}})
    backend.list_pools()
    backend.close()
    assert not alive(fake.pids()[0])


def test_close_never_raises_even_when_the_plugin_fails_to_close(backend, fake):
    fake.script({"plugin.close": {"exit": 7}, "list_pools": {"result": []}})
    backend.list_pools()
    backend.close()
    backend.close()


def test_a_big_request_is_written_whole(backend, fake):
    entries = ["iqn.2026-01.io.example:host-%05d" % index for index in range(20000)]
    fake.script({"update_access_group": {"result": records.make("access_group", grp_name="g", grp_entries=entries)}})
    assert len(backend.update_access_group("g", {"add_entries": entries})["grp_entries"]) == 20000
    assert fake.requests()[-1]["params"]["changes"]["add_entries"] == entries


# --- through a module: never a traceback ------------------------------------------------------

def test_the_lun_module_reports_a_crashing_plugin_cleanly(fake, module):
    fake.script({"get_abilities": {"result": ABILITIES}, "get_lun": {"exit": 2, "stderr": "segfault-ish"}})
    result = module("lun", {"server": "plugin+fake:///x", "name": "db01", "size": "1M"})
    assert result["failed"] and result["error"] == "OperationFailedEx"
    assert "exited with status 2" in result["msg"] and "segfault-ish" in result["msg"]
    assert "Traceback" not in result["_stdout"]


def test_the_lun_module_rounds_to_the_plugin_block_size(fake, module):
    created = dict(LUN, size=8192)
    fake.script({"get_abilities": {"result": ABILITIES}, "get_lun": [{"result": None}, {"result": created}],
                 "default_pool": {"result": "pool0"},
                 "list_pools": {"result": [records.make("vol_group", vol_name="pool0", vol_total_sz=1 << 40,
                                                        vol_used_sz=0, vol_free_sz=1 << 40)]},
                 "create_lun": {"result": created}})
    result = module("lun", {"server": "plugin+fake:///x", "name": "db01", "size": 5000})
    assert result["changed"] and result["lun"]["size"] == 8192
    create = [r for r in fake.requests() if r["method"] == "create_lun"][0]
    assert create["params"] == {"name": "db01", "pool": "pool0", "size": 8192, "thin": True, "qos": None}
    assert fake.methods()[-1] == "plugin.close"
