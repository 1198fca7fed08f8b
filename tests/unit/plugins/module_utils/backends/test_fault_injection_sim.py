# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kill -9 at every named step of every apply path of the simulator (issue 10, "Regression tests that stay").

Each scenario is a module task (LUNs, snapshots, clones, access groups, file systems,
file system snapshots and clones, the first run on a new state, the upgrade of an old
one). ``POINTS`` lists, per scenario, the fault points (``_faults.fault_point``) its
apply path passes, in order: the first test checks that list against a trace of a real
run, so that a step added without a case here fails. For every point:

1. the task runs as a module in a forked process with ``STORMGMT_FAULT_POINT`` set, and
   kills itself there with SIGKILL (no cleanup of any kind, as kill -9 or a power cut);
2. the next run of *another* module (a LUN task that changes nothing) opens the store,
   repairs what the killed run left and says so in ``repaired`` exactly when something
   was left (scratch rows, a state file half made);
3. the task again converges, and once more changes nothing;
4. nothing is orphaned or duplicated: SQLite's integrity check passes, the pool counters
   add up, every file system and snapshot row has its directory and every directory a
   row, the scratch directories and the scratch table are empty, no half-made state file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.backends import sim as sim_mod

GiB = 1024 ** 3
CTX = multiprocessing.get_context("fork")
PATIENCE = 120
IQN = "iqn.2026-01.com.example:host%d"


def commit(op):
    return ["sim.%s.before_commit" % op, "sim.%s.committed" % op]


def scratch(key):
    """The steps of a copy made aside and put in place by the transaction of ``key``."""
    return commit(key + ".register") + ["sim.%s.copied" % key] + commit(key + ".made") + commit(key)


def discard(key, moved=True):
    return (["sim.%s.discard.moved" % key] if moved else []) + ["sim.%s.discard.removed" % key] + commit(
        key + ".discard")


# --- the scenarios: what exists before, the task, the points its apply path passes -----------------

def _luns(backend):
    backend.create_lun("db", "pool0", GiB, False, None)
    backend.create_lun("logs", "pool0", GiB, True, None)


def _lun_snapped(backend):
    _luns(backend)
    backend.create_snapshot("db", "s1")
    backend.resize_lun("db", 2 * GiB)


def _group(backend):
    _luns(backend)
    backend.create_access_group("web", [IQN % 1], [{"name": "db", "lun_id": None}], None)


def _fs(backend):
    directory = backend.create_filesystem("home", "pool0", GiB, {"clients": ["*"]})["access_path"]
    for index in range(3):
        with open(os.path.join(directory, "file%d" % index), "w") as handle:
            handle.write("data %d" % index)
    os.mkdir(os.path.join(directory, "sub"))
    with open(os.path.join(directory, "sub", "deep"), "w") as handle:
        handle.write("deep")


def _fs_snapped(backend):
    _fs(backend)
    backend.create_fs_snapshot("home", "s1")
    with open(os.path.join(backend.fs_root, "home", "file0"), "w") as handle:
        handle.write("changed after the snapshot")


def _fs_cloned(backend):
    _fs_snapped(backend)
    backend.create_fs_clone("copy", "home", "s1")


def _nothing(backend):
    backend.get_server()  # the state exists, empty


SCENARIOS = {
    "lun_create": (_nothing, "lun", dict(name="db", size="1G", thin=False), commit("create_lun")),
    "lun_resize": (_luns, "lun", dict(name="db", size="2G"), commit("resize_lun")),
    "lun_qos": (_luns, "lun", dict(name="db", qos="gold"), commit("set_lun_qos")),
    "lun_delete": (_lun_snapped, "lun", dict(name="db", state="absent", force=True), commit("delete_lun")),
    "snapshot_create": (_luns, "snapshot", dict(name="s1", lun="db"), commit("create_snapshot")),
    "snapshot_delete": (_lun_snapped, "snapshot", dict(name="s1", lun="db", state="absent"),
                        commit("delete_snapshot")),
    "snapshot_restore": (_lun_snapped, "snapshot", dict(name="s1", lun="db", state="restored"),
                         commit("restore_snapshot")),
    "clone_create_split": (_lun_snapped, "clone", dict(name="copy", lun="db", snapshot="s1", split=True),
                           commit("create_clone") + commit("split_clone")),
    "group_create": (_luns, "access_group", dict(name="web", initiators=[IQN % 1], luns=["db", "logs"],
                                                 chap=dict(username="web-in", password="Chap-Secret-0001")),
                     commit("create_access_group")),
    "group_update": (_group, "access_group", dict(name="web", initiators=[IQN % 2], luns=["logs"]),
                     commit("update_access_group")),
    "group_delete": (_group, "access_group", dict(name="web", state="absent", force=True),
                     commit("delete_access_group")),
    "new_state": (None, "lun", dict(name="db", size="1G"),
                  ["sim.create_state.temp_made", "sim.create_state.schema", "sim.create_state.before_link",
                   "sim.create_state.linked"] + commit("create_lun")),
    "old_state": ("schema1", "lun", dict(name="fresh", size="1G"), ["sim.migrate.before_commit"] + commit("create_lun")),
    "fs_create": (_nothing, "filesystem", dict(name="home", size="1G", export=dict(clients=["*"])),
                  scratch("create_filesystem")),
    "fs_resize": (_fs, "filesystem", dict(name="home", size="2G"), commit("resize_filesystem")),
    "fs_export": (_fs, "filesystem", dict(name="home", export=dict(clients=["10.0.0.0/8"])), commit("set_export")),
    # removed one by one: the snapshot, the snapshots' directory, the file system
    "fs_delete": (_fs_snapped, "filesystem", dict(name="home", state="absent", force=True),
                  commit("delete_filesystem") + discard("delete_filesystem") * 3),
    "fs_snapshot_create": (_fs, "snapshot", dict(name="s1", filesystem="home"), scratch("create_fs_snapshot")),
    "fs_snapshot_delete": (_fs_snapped, "snapshot", dict(name="s1", filesystem="home", state="absent"),
                           commit("delete_fs_snapshot") + discard("delete_fs_snapshot")),
    "fs_snapshot_restore": (_fs_snapped, "snapshot", dict(name="s1", filesystem="home", state="restored"),
                            scratch("restore_fs_snapshot")[:-2] + commit("restore_fs_snapshot")
                            + ["sim.restore_fs_snapshot.moved_aside", "sim.restore_fs_snapshot.swapped"]
                            + commit("restore_fs_snapshot.swapped") + ["sim.restore_fs_snapshot.discard.removed"]
                            + commit("restore_fs_snapshot.discard")),
    "fs_clone_create_split": (_fs_snapped, "clone", dict(name="copy", filesystem="home", snapshot="s1", split=True),
                              scratch("create_fs_clone") + commit("split_fs_clone")),
    "fs_clone_delete": (_fs_cloned, "clone", dict(name="copy", filesystem="home", snapshot="s1", state="absent"),
                        commit("delete_filesystem") + discard("delete_filesystem")),
}


# --- machinery ----------------------------------------------------------------------------------------

def prepare(tmp_path, scenario) -> str:
    """A state holding what the scenario starts from; returns its URI."""
    directory = tmp_path / "store"
    directory.mkdir()
    uri = "sim://%s/sim.db" % directory
    setup = SCENARIOS[scenario][0]
    if setup is None:
        return uri
    backend = connect(uri)
    try:
        if setup == "schema1":
            _luns(backend)
            _fs(backend)
            db = backend._conn()
            db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        else:
            setup(backend)
    finally:
        backend.close()
    return uri


def _run_killed(uri, name, args, point, trace):
    os.environ.pop("STORMGMT_FAULT_POINT", None)
    if point:
        os.environ["STORMGMT_FAULT_POINT"] = point
    if trace:
        os.environ["STORMGMT_FAULT_TRACE"] = trace
    from conftest import run_module  # pylint: disable=import-outside-toplevel
    result = run_module(name, dict(args, server=uri))
    os._exit(4 if result.get("failed") else 3)  # 3: the point was never reached


def run_in_child(uri, name, args, point=None, trace=None) -> int:
    child = CTX.Process(target=_run_killed, args=(uri, name, args, point, trace))
    child.start()
    child.join(PATIENCE)
    return child.exitcode


def leftovers(uri) -> list:
    """What a killed run left for the next one to repair: scratch rows, half-made state files."""
    path = uri[len("sim://"):].split("?")[0]
    found = [name for name in os.listdir(os.path.dirname(path)) if ".new-" in name]
    if os.path.exists(path) and os.path.getsize(path):
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
        try:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            if "scratch" in tables:
                found += [row[0] for row in db.execute("SELECT op FROM scratch")]
        finally:
            db.close()
    return found


def assert_consistent(uri) -> None:
    """No orphan and no duplicate, in the rows or on disk."""
    backend = connect(uri)
    try:
        db = backend._conn()
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT COUNT(*) FROM scratch").fetchone()[0] == 0
        for pool in backend.list_pools():
            luns = [lun for lun in backend.list_luns() if lun["vol_group_name"] == pool["vol_name"]]
            filesystems = [fs for fs in backend.list_filesystems() if fs["vol_group_name"] == pool["vol_name"]]
            assert pool["vol_alloc_sz"] == sum(lun["size"] for lun in luns) + sum(fs["size"] for fs in filesystems)
            assert pool["vol_used_sz"] == sum(lun["size"] for lun in luns if not lun["thin"]) + sum(
                fs["size"] for fs in filesystems)
        root = backend.path + ".fs"
        rows = dict((row["name"], row["uuid"]) for row in db.execute("SELECT name, uuid FROM filesystems"))
        if os.path.isdir(root):
            visible = sorted(name for name in os.listdir(root) if not name.startswith("."))
            assert visible == sorted(rows), "directories without a row, or rows without a directory"
            for kind in (".tmp", ".trash"):
                assert os.listdir(os.path.join(root, kind)) == [], kind
            snaps = set("%s/%s" % (row[0], row[1]) for row in db.execute(
                "SELECT f.uuid, s.name FROM fs_snapshots s JOIN filesystems f ON f.id = s.fs_id"))
            on_disk = set()
            if os.path.isdir(os.path.join(root, ".snapshots")):
                for fs_uuid in os.listdir(os.path.join(root, ".snapshots")):
                    assert fs_uuid in rows.values(), "snapshots of a file system that is gone"
                    on_disk.update("%s/%s" % (fs_uuid, name)
                                   for name in os.listdir(os.path.join(root, ".snapshots", fs_uuid)))
            assert on_disk == snaps
        else:
            assert rows == {}
        directory = os.path.dirname(backend.path)
        assert [name for name in os.listdir(directory) if ".new-" in name] == []
        assert os.stat(backend.path).st_nlink == 1
    finally:
        backend.close()


def points():
    for scenario, (_setup, _name, _args, expected) in SCENARIOS.items():
        for point in sorted(set(expected), key=expected.index):
            yield pytest.param(scenario, point, id="%s:%s" % (scenario, point))


# --- the tests -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_points_listed_are_the_points_the_path_passes(tmp_path, scenario):
    uri = prepare(tmp_path, scenario)
    trace = str(tmp_path / "trace")
    _setup, name, args, expected = SCENARIOS[scenario]
    assert run_in_child(uri, name, args, trace=trace) == 3
    with open(trace) as handle:
        assert handle.read().split() == expected


@pytest.mark.parametrize("scenario, point", list(points()))
def test_killed_at_a_point_the_next_run_repairs_and_converges(tmp_path, scenario, point, module):
    uri = prepare(tmp_path, scenario)
    _setup, name, args, _expected = SCENARIOS[scenario]
    assert run_in_child(uri, name, args, point=point) == -signal.SIGKILL
    left = leftovers(uri)
    # the next run of any module: a LUN task that changes nothing
    probe = module("lun", dict(server=uri, name="probe", state="absent"))
    assert not probe.get("failed") and probe["changed"] is False, probe
    assert bool(probe.get("repaired")) == bool(left), (left, probe.get("repaired"))
    assert leftovers(uri) == []
    # the task converges, then changes nothing
    again = module(name, dict(args, server=uri))
    assert not again.get("failed"), again
    assert again.get("repaired") is None, again  # nothing left to repair
    final = module(name, dict(args, server=uri))
    assert final["changed"] is False and not final.get("failed"), final
    assert_consistent(uri)


def test_a_scratch_row_names_only_what_the_store_made(tmp_path, module):
    """Repairs remove what scratch rows name under the store's own directories, and only that:
    a directory put in place by a killed run is removed only if it is the one the run made."""
    uri = prepare(tmp_path, "fs_create")
    assert run_in_child(uri, "filesystem", dict(name="home", size="1G"), point="sim.create_filesystem.made.committed") \
        == -signal.SIGKILL
    root = uri[len("sim://"):] + ".fs"  # not connecting: a connection would repair it now
    made = os.listdir(os.path.join(root, ".tmp"))
    assert len(made) == 1
    # someone puts their own directory where the killed run would have put its own
    os.makedirs(os.path.join(root, "home"))
    with open(os.path.join(root, "home", "mine"), "w") as handle:
        handle.write("not the simulator's")
    probe = module("lun", dict(server=uri, name="probe", state="absent"))
    assert probe["repaired"] and os.listdir(os.path.join(root, ".tmp")) == []
    with open(os.path.join(root, "home", "mine")) as handle:
        assert handle.read() == "not the simulator's"
    refused = module("filesystem", dict(server=uri, name="home", size="1G"))
    assert refused["error"] == "InvalidStorageArrayEx"


def test_the_suite_covers_every_point_the_simulator_has():
    """Every fault point name in the simulator's code appears in a scenario."""
    here = os.path.dirname(sim_mod.__file__)
    listed = set(point for _setup, _name, _args, expected in SCENARIOS.values() for point in expected)
    for filename in ("sim.py", "_sim_fs.py"):
        with open(os.path.join(here, filename)) as handle:
            for line in handle:
                if 'fault_point("sim.' in line and "%s" not in line:
                    name = line.split('fault_point("', 1)[1].split('"', 1)[0]
                    assert name in listed, name
