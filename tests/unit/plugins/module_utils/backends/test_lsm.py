# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lsm+NAME backend against a real process speaking libstoragemgmt's protocol.

The plug-in is tests/integration/targets/lsm_plugin/files/stormtest_lsmplugin (the test
plug-in of the lsm_plugin target), started as the backend starts any libstoragemgmt
plug-in: with a socket's number as argument. It logs every request it gets
($STORMTEST_LOG), so the tests see the bytes a client sent: where the password went, the
``flags`` parameter, objects handed back as they came. Faults are asked for by object name
(crash-, hang-, garbage-, badlen-, longlen-, leak-, errNNN-, bug-).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._access_group import AccessGroupResource
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._snapshot import CloneResource
from ansible_collections.stormgmt.core.plugins.module_utils.backends import _lsm_wire as wire
from ansible_collections.stormgmt.core.plugins.module_utils.backends import lsm
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    PermissionDeniedEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import is_job

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))))
PLUGIN_DIR = os.path.join(ROOT, "tests", "integration", "targets", "lsm_plugin", "files")
MiB = 1024 * 1024
PASSWORD = "Array-Secret-77x"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().split(")")[-1].split()[0] != "Z"


class Array:
    """A test plug-in's state file and request log."""

    def __init__(self, tmp_path) -> None:
        self.state = str(tmp_path / "array.json")
        self.log = str(tmp_path / "requests.log")

    def uri(self, query: str = "") -> str:
        return "lsm+stormtest://%s?lsm_plugin_dir=%s%s" % (self.state, PLUGIN_DIR, "&" + query if query else "")

    def requests(self) -> list:
        try:
            with open(self.log) as handle:
                return [json.loads(line) for line in handle]
        except FileNotFoundError:
            return []

    def methods(self) -> list:
        return [request["method"] for request in self.requests()]

    def pids(self) -> list:
        return sorted(set(request["pid"] for request in self.requests()))

    def snapshot(self) -> str:
        try:
            with open(self.state) as handle:
                return handle.read()
        except FileNotFoundError:
            return ""


@pytest.fixture
def array(tmp_path, monkeypatch):
    monkeypatch.setenv("STORMTEST_PYTHON", sys.executable)
    found = Array(tmp_path)
    monkeypatch.setenv("STORMTEST_LOG", found.log)
    return found


@pytest.fixture
def backend(array, open_backend):
    return open_backend(array.uri(), "admin", PASSWORD)


def settle(backend, answer):
    """Wait for a job as the engine would."""
    while is_job(answer) and answer["status"] == "RUNNING":
        time.sleep(0.05)
        answer = backend.job_status(answer["job_id"])
    return answer


# --- URI, lookup, life cycle ------------------------------------------------------------------------

@pytest.mark.parametrize("scheme,name,plugin_scheme", [
    ("lsm+sim", "sim", "sim"), ("lsm+smispy+ssl", "smispy", "smispy+ssl"), ("lsm+ontap", "ontap", "ontap")])
def test_the_scheme_names_the_plugin_and_its_own_scheme(scheme, name, plugin_scheme):
    assert lsm.parse_scheme(scheme) == (name, plugin_scheme)


@pytest.mark.parametrize("scheme", ["lsm+", "lsm+..", "lsm+a+b+c", "lsm+-x", "lsm+a_b", "lsm+a/b"])
def test_a_plugin_name_is_a_plain_name(scheme):
    with pytest.raises(ValueFormatEx):
        lsm.parse_scheme(scheme)


def test_the_plugin_gets_its_own_uri_with_the_username_and_without_our_parameters(open_backend):
    backend = open_backend("lsm+ontap://filer1.example.com/?ssl=yes&lsm_timeout=9&lsm_block_size=4096", "root")
    assert backend.plugin_uri == "ontap://root@filer1.example.com/?ssl=yes"
    assert (backend.timeout, backend.block_size) == (9.0, 4096)
    assert open_backend("lsm+sim://?statefile=/tmp/x.db&lsm_plugin_dir=/opt/lsm").plugin_uri == "sim://?statefile=/tmp/x.db"
    assert open_backend("lsm+sim://").plugin_uri == "sim://"


@pytest.mark.parametrize("uri,user", [
    ("lsm+sim://?lsm_timeout=0", None), ("lsm+sim://?lsm_plugin_dir=relative/dir", None),
    ("lsm+sim://?lsm_block_size=0", None), ("lsm+sim://", "root@evil"), ("lsm+sim://", "a/b")])
def test_bad_uri_parameters_and_usernames_are_refused(open_backend, uri, user):
    with pytest.raises(ValueFormatEx):
        open_backend(uri, user)


def test_a_missing_plugin_names_the_executable_and_the_directories(tmp_path, open_backend, monkeypatch):
    monkeypatch.setenv(lsm.PATH_ENV, str(tmp_path))
    backend = open_backend("lsm+nosuch://")
    with pytest.raises(OperationPreReqNotMetEx) as info:
        backend.list_luns()
    assert "nosuch_lsmplugin" in info.value.msg and str(tmp_path) in info.value.msg and "/usr/bin" in info.value.msg
    only_there = open_backend("lsm+stormtest:///x.json?lsm_plugin_dir=%s" % tmp_path)
    with pytest.raises(OperationPreReqNotMetEx) as info:
        only_there.list_luns()  # a plug-in elsewhere is not used when the URI names the directory
    assert str(tmp_path) in info.value.msg


def test_the_plugin_is_found_through_the_environment(array, open_backend, monkeypatch):
    monkeypatch.setenv(lsm.PATH_ENV, PLUGIN_DIR)
    assert open_backend("lsm+stormtest://%s" % array.state).list_luns() == []


def test_register_then_calls_with_flags_then_unregister_and_the_password_only_in_register(array, backend):
    backend.create_lun("db01", "pool0", MiB, True, None)
    backend.close()
    requests = array.requests()
    assert [r["method"] for r in requests][0] == "plugin_register"
    assert requests[-1]["method"] == "plugin_unregister"
    # the username goes into the plug-in's URI, as libstoragemgmt's URIs carry it
    assert requests[0]["params"] == {"uri": "stormtest://admin@%s" % array.state, "password": PASSWORD,
                                     "timeout": 120000, "flags": 0}
    assert all(r["id"] == wire.REQUEST_ID and r["params"]["flags"] == 0 for r in requests)
    assert PASSWORD not in json.dumps(requests[1:])
    create = [r for r in requests if r["method"] == "volume_create"][0]["params"]
    assert create["pool"]["class"] == "Pool" and create["pool"]["name"] == "pool0"  # the object as it came
    assert (create["volume_name"], create["size_bytes"], create["provisioning"]) == ("db01", MiB, wire.PROVISION_THIN)
    assert not alive(array.pids()[0])


def test_one_process_serves_a_module_run(array, backend):
    backend.list_pools()
    backend.list_luns()
    backend.get_server()
    assert len(array.pids()) == 1


def test_a_wrong_password_is_permission_denied_and_stays_so(array, open_backend, monkeypatch):
    monkeypatch.setenv("STORMTEST_PASSWORD", "the-right-one")
    backend = open_backend(array.uri(), None, PASSWORD)
    with pytest.raises(PermissionDeniedEx) as info:
        backend.list_luns()
    assert "PLUGIN_AUTH_FAILED(300)" in info.value.msg and PASSWORD not in info.value.msg
    with pytest.raises(PermissionDeniedEx):
        backend.list_pools()
    assert array.methods() == ["plugin_register"]
    backend.close()
    assert not alive(array.pids()[0])


# --- a plug-in that misbehaves: a clear error naming it, nothing changed, the process gone ------------

@pytest.mark.parametrize("name,words", [
    ("crash-1", ["exited with status 3 while answering volume_create (LUN 'crash-1')", "controller caught fire"]),
    ("garbage-1", ["length header that is not 10 decimal digits", "Creating garbage-1"]),
    ("badlen-1", ["length header that is not 10 decimal digits", "12 bytes"]),
    ("longlen-1", ["not JSON"]),
])
def test_a_plugin_that_dies_or_writes_garbage(array, backend, name, words):
    backend.create_lun("keep", "pool0", MiB, True, None)
    before = array.snapshot()
    with pytest.raises(OperationFailedEx) as info:
        backend.create_lun(name, "pool0", MiB, True, None)
    msg = info.value.msg
    assert "stormtest_lsmplugin" in msg and all(word in msg for word in words), msg
    assert "Traceback" not in msg
    assert array.snapshot() == before
    assert not alive(array.pids()[0])
    with pytest.raises(OperationFailedEx) as again:  # the conversation is over
        backend.list_luns()
    assert again.value.msg == msg
    backend.close()


def test_a_plugin_that_hangs_is_killed_after_lsm_timeout(array, open_backend):
    backend = open_backend(array.uri("lsm_timeout=1"))
    started = time.monotonic()
    with pytest.raises(OperationFailedEx) as info:
        backend.create_lun("hang-1", "pool0", MiB, True, None)
    assert "did not answer volume_create (LUN 'hang-1') within 1.0s" in info.value.msg
    assert "lsm_timeout" in info.value.msg
    assert time.monotonic() - started < 20
    assert not alive(array.pids()[0])


def test_the_password_is_masked_in_what_a_plugin_writes(array, backend):
    with pytest.raises(OperationFailedEx) as info:
        backend.create_lun("leak-1", "pool0", MiB, True, None)
    assert "exited with status 4" in info.value.msg
    assert PASSWORD not in info.value.msg and "********" in info.value.msg


@pytest.mark.parametrize("code,cls,name", [
    (50, InvalidValueEx, "NAME_CONFLICT"), (153, NoSuchOperationEx, "NO_SUPPORT"),
    (160, StorageElementBusyEx, "IS_MASKED"), (161, StorageElementBusyEx, "HAS_CHILD_DEPENDENCY"),
    (205, OperationPreReqNotMetEx, "NOT_FOUND_VOLUME"), (300, PermissionDeniedEx, "PLUGIN_AUTH_FAILED"),
    (350, InvalidValueEx, "NOT_ENOUGH_SPACE"), (11, OperationFailedEx, "TIMEOUT"),
    (999, OperationFailedEx, "UNKNOWN_ERROR"),
])
def test_error_numbers_become_exception_classes_with_the_plugins_message(array, backend, code, cls, name):
    before = array.snapshot()
    with pytest.raises(cls) as info:
        backend.create_lun("err%d-x" % code, "pool0", MiB, True, None)
    assert info.value.name == cls.__name__  # the class itself, not a subclass
    assert info.value.msg == "LUN 'err%d-x': plug-in stormtest refused volume_create: %s(%d): injected error for " \
                             "err%d-x" % (code, name, code, code)
    assert array.snapshot() == before
    backend.list_luns()  # an error answer is part of the conversation: it goes on


def test_a_plugin_traceback_is_cut_to_its_last_line(backend):
    with pytest.raises(OperationFailedEx) as info:
        backend.create_lun("bug-1", "pool0", MiB, True, None)
    assert info.value.msg.endswith("PLUGIN_BUG(2): Unhandled exception in plug-in (KeyError: 'pool_id')")
    assert "Traceback" not in info.value.msg


def test_the_plugin_dies_with_the_module(array, tmp_path):
    """A module killed while its plug-in works: the plug-in goes too (it runs in its own session and
    is told to die with the module's process)."""
    script = (
        "import sys\n"
        "from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect\n"
        "connect(%r).create_lun('hang-2', 'pool0', 1048576, True, None)\n" % array.uri())
    proc = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))
    deadline = time.monotonic() + 30
    while "volume_create" not in array.methods() and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = array.pids()[0]
    assert alive(pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


# --- capabilities -> abilities, refusals -------------------------------------------------------------

def test_abilities_follow_the_capabilities(array, open_backend):
    full = open_backend(array.uri()).get_abilities()
    assert full["clone"] == full["snapshot"] == full["access_groups"] == "ONLINE"
    assert (full["qos"], full["chap"], full["async_jobs"]) == ("NO", "YES", "YES")
    bare = open_backend(array.uri("without=VOLUME_REPLICATE_CLONE,FS,VOLUME_ISCSI_CHAP_AUTHENTICATION"))
    abilities = bare.get_abilities()
    assert abilities["clone"] == abilities["snap_clone"] == abilities["create_filesystem"] == "UNSUPPORTED"
    assert abilities["snapshot"] == "OFFLINE"  # full copies only
    assert abilities["chap"] == "NO"
    with pytest.raises(NoSuchOperationEx) as info:
        bare.require("clone", "clone LUN 'db01'")
    assert "VOLUME_REPLICATE_CLONE" in info.value.msg and "stormtest" in info.value.msg


def test_a_missing_capability_refuses_before_any_write(array, open_backend, params):
    backend = open_backend(array.uri("without=VOLUME_REPLICATE_CLONE"))
    settle(backend, backend.create_lun("db01", "pool0", MiB, True, None))
    before = array.snapshot()
    resource = CloneResource(backend, params(dict(name={}, lun={}, filesystem={}, snapshot={}, split={"default": False},
                                                  state={"default": "present"}), name="c1", lun="db01"))
    with pytest.raises(NoSuchOperationEx) as info:
        converge(resource, False, Waiter(backend))
    assert "VOLUME_REPLICATE_CLONE" in info.value.msg
    with pytest.raises(NoSuchOperationEx):
        backend.create_clone("c1", "db01")
    assert array.snapshot() == before
    assert "volume_replicate" not in array.methods()


# --- jobs ---------------------------------------------------------------------------------------------

def test_jobs_report_progress_and_are_freed(array, open_backend):
    backend = open_backend(array.uri("job_delay=0.3"))
    job = backend.create_lun("db01", "pool0", MiB, True, None)
    assert is_job(job) and job["status"] == "RUNNING" and job["op"] == "create LUN 'db01'"
    seen = [job["progress"]]
    while job["status"] == "RUNNING":
        time.sleep(0.05)
        job = backend.job_status(job["job_id"])
        seen.append(job["progress"])
    assert job["status"] == "COMPLETE" and seen[-1] == 100 and seen == sorted(seen)
    assert "job_free" in array.methods()
    with open(array.state) as handle:
        assert json.load(handle)["jobs"] == {}
    assert backend.get_lun("db01")["size"] == MiB


def test_a_failed_job_is_an_error_job(array, open_backend):
    backend = open_backend(array.uri())
    job = backend.job_status("JOB_99999")
    assert job["status"] == "ERROR" and job["error"]["error"] == "OperationFailedEx"
    assert "NOT_FOUND_JOB" in job["error"]["msg"]


# --- the model: names, lineage, groups ------------------------------------------------------------------

def test_snapshots_and_clones_live_in_volume_names(array, backend):
    settle(backend, backend.create_lun("db01", "pool0", MiB, True, None))
    settle(backend, backend.create_snapshot("db01", "s1"))
    settle(backend, backend.create_clone("c1", "db01", "s1"))
    settle(backend, backend.create_clone("c2", "db01"))
    volumes = sorted(lun["array_path"] for lun in backend.list_luns() + backend.list_snapshots())
    assert volumes == ["c1@@db01@s1", "c2@@db01", "db01", "db01@s1"]
    clone = backend.get_lun("c1")
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"]) == ("SNAPCLONE", "db01", "s1")
    assert json.loads(clone["extra_info"])["lsm_name"] == "c1@@db01@s1"
    with pytest.raises(StorageElementBusyEx):
        backend.delete_lun("db01", True)
    settle(backend, backend.split_clone("c2"))
    assert backend.get_lun("c2")["parent"] is None


@pytest.mark.parametrize("raw,parsed", [
    ("db01", ("lun", "db01", None, None)), ("db01@s1", ("snap", "s1", "db01", None)),
    ("c1@@db01", ("clone", "c1", "db01", None)), ("c1@@db01@s1", ("clone", "c1", "db01", "s1")),
    ("my volume", ("lun", "my volume", None, None)), ("a@b c", ("lun", "a@b c", None, None)),
    ("@x", ("lun", "@x", None, None)),
])
def test_volume_names_are_read_only_when_they_parse_whole(raw, parsed):
    assert lsm.LsmBackend.parse_volume_name(raw) == parsed


def test_two_volumes_of_one_name_make_it_ambiguous(array, backend):
    settle(backend, backend.create_lun("db01", "pool0", MiB, True, None))
    backend.close()
    with open(array.state) as handle:
        state = json.load(handle)
    state["volumes"]["VOL_09999"] = dict(state["volumes"]["VOL_00001"], vpd83="6" + "1" * 31)
    with open(array.state, "w") as handle:
        json.dump(state, handle)
    again = lsm.LsmBackend(backend.uri, None, None)
    try:
        with pytest.raises(InvalidValueEx) as info:
            again.get_lun("db01")
        assert "VOL_00001" in info.value.msg and "VOL_09999" in info.value.msg
        assert len(again.list_luns()) == 2
    finally:
        again.close()


def test_pools_use_their_id_when_their_name_is_not_a_stormgmt_name(backend):
    names = [pool["vol_name"] for pool in backend.list_pools()]
    assert names == ["pool0", "pool1", "POOL_0003"]
    assert "Pool 2 (fixed)" in backend.list_pools()[2]["vol_desc"]
    settle(backend, backend.create_lun("fixed", "POOL_0003", MiB, True, None))
    assert backend.get_lun("fixed")["vol_group_name"] == "POOL_0003"
    with pytest.raises(NoSuchOperationEx) as info:
        backend.resize_lun("fixed", 2 * MiB)  # the pool does not let volumes grow
    assert "Pool 2 (fixed)" in info.value.msg


def test_wwpns_cross_in_libstoragemgmts_form_and_come_back_in_ours(array, backend):
    settle(backend, backend.create_lun("db01", "pool0", MiB, True, None))
    group = backend.create_access_group("g1", ["0x500143802426baf4", "iqn.2026-01.io.example:h1"],
                                        [{"name": "db01", "lun_id": None}], None)
    assert group["grp_entries"] == ["0x500143802426baf4", "iqn.2026-01.io.example:h1"]
    sent = [r["params"] for r in array.requests() if r["method"] in ("access_group_create", "access_group_initiator_add")]
    assert [(p["init_id"], p["init_type"]) for p in sent] == [
        ("50:01:43:80:24:26:ba:f4", wire.INIT_TYPE_WWPN), ("iqn.2026-01.io.example:h1", wire.INIT_TYPE_ISCSI_IQN)]
    assert group["luns"] == [{"name": "db01", "lun_id": None}]


def test_a_failed_group_creation_leaves_no_group(array, backend):
    settle(backend, backend.create_lun("db01", "pool0", MiB, True, None))
    settle(backend, backend.create_access_group("other", ["iqn.2026-01.io.example:h2"], [], None))
    before = array.snapshot()
    with pytest.raises(InvalidValueEx) as info:  # h2 is in another group: EXISTS_INITIATOR on the second step
        backend.create_access_group("g1", ["iqn.2026-01.io.example:h1", "iqn.2026-01.io.example:h2"],
                                    [{"name": "db01", "lun_id": None}], None)
    assert "EXISTS_INITIATOR" in info.value.msg
    assert json.loads(array.snapshot())["ags"] == json.loads(before)["ags"]
    assert backend.get_access_group("g1") is None


def test_chap_goes_to_each_iscsi_initiator_and_is_never_stored_or_shown_in_clear(array, backend, params):
    chap = {"username": "host", "password": "Chap-Secret-123", "mutual_username": "array",
            "mutual_password": "Chap-Secret-456"}
    group = backend.create_access_group("g1", ["iqn.2026-01.io.example:h1", "0x500143802426baf4"], [], chap)
    calls = [r["params"] for r in array.requests() if r["method"] == "iscsi_chap_auth"]
    assert [(c["init_id"], c["in_user"], c["out_user"]) for c in calls] == [("iqn.2026-01.io.example:h1", "host", "array")]
    assert "Chap-Secret" not in array.snapshot() and "Chap-Secret" not in json.dumps(group)
    # write-only: the same task again changes nothing; an added initiator gets CHAP too
    spec = dict(name={}, initiators={}, clients={}, luns={}, chap={}, append={"default": False},
                state={"default": "present"}, force={"default": False})
    task = params(spec, name="g1", initiators=["iqn.2026-01.io.example:h1", "0x500143802426baf4"],
                  chap=dict(chap, state="present"))
    assert converge(AccessGroupResource(backend, task), False, Waiter(backend))["changed"] is False
    task["initiators"].append("iqn.2026-01.io.example:h3")
    assert converge(AccessGroupResource(backend, task), False, Waiter(backend))["changed"] is True
    calls = [r["params"] for r in array.requests() if r["method"] == "iscsi_chap_auth"]
    assert calls[-1]["init_id"] == "iqn.2026-01.io.example:h3"


def test_a_group_cannot_lose_its_last_initiator(backend):
    backend.create_access_group("g1", ["iqn.2026-01.io.example:h1"], [], None)
    with pytest.raises(InvalidValueEx) as info:
        backend.update_access_group("g1", {"remove_entries": ["iqn.2026-01.io.example:h1"]})
    assert "cannot be empty" in info.value.msg
    with pytest.raises(InvalidValueEx):
        backend.create_access_group("g2", [], [], None)
    with pytest.raises(InvalidValueEx):
        backend.create_access_group("g3", ["host.example.com"], [], None)  # an NFS client is no initiator


def test_the_lun_module_end_to_end(array, module, monkeypatch):
    server = array.uri()
    first = module("lun", {"server": server, "name": "db01", "size": "1G", "password": PASSWORD})
    assert first["changed"] and first["lun"]["size"] == 1 << 30 and first["lun"]["thin"] is None
    again = module("lun", {"server": server, "name": "db01", "size": "1G", "password": PASSWORD})
    assert not again["changed"] and again["lun"] == first["lun"]
    failed = module("lun", {"server": server, "name": "crash-2", "size": "1G", "password": PASSWORD})
    assert failed["failed"] and failed["error"] == "OperationFailedEx"
    assert "Traceback" not in failed["_stdout"] and PASSWORD not in failed["_stdout"]
    for request in array.requests():
        if request["method"] != "plugin_register":
            assert PASSWORD not in json.dumps(request)
    assert not any(alive(pid) for pid in array.pids())


def test_consistency_groups_are_reported_unsupported_and_refused_naming_the_ability(array, backend, module):
    # libstoragemgmt's API has no consistency groups: the table says so, and every way in refuses
    abilities = backend.get_abilities()
    assert [abilities[key] for key in ("consistency_group", "cg_snapshot", "cg_snapshot_restore", "cg_filesystems")] \
        == ["UNSUPPORTED", "UNSUPPORTED", "UNSUPPORTED", "NO"]
    server = array.uri()
    assert module("lun", {"server": server, "name": "db01", "size": "1G", "password": PASSWORD})["changed"]
    before = array.snapshot()
    for name, args, ability in (
            ("consistency_group", dict(name="db", luns=["db01"]), "consistency_group"),
            ("consistency_group", dict(name="db", state="absent"), "consistency_group"),
            ("snapshot", dict(name="s1", consistency_group="db"), "consistency_group"),
            ("snapshot", dict(consistency_group="db", prefix="nightly-", every="1d", keep=7), "consistency_group")):
        result = module(name, dict(args, server=server, password=PASSWORD))
        assert result["failed"] and result["error"] == "NoSuchOperationEx", result
        assert "%s=UNSUPPORTED" % ability in result["msg"] and "Traceback" not in result["_stdout"]
        assert PASSWORD not in result["_stdout"]
    assert array.snapshot() == before
