# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The simulator under parallel processes and crashes, as Ansible forks use it.

Each child is a separate process (fork) with its own SQLite connection, as each
module run is. These are the deliberately slower unit tests (a few seconds).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import traceback

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _registry
from ansible_collections.stormgmt.core.plugins.module_utils._access_group import (
    AccessGroupResource,
    access_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._lun import LunResource, lun_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner
from ansible_collections.stormgmt.core.plugins.module_utils.backends import sim as sim_mod
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidStorageArrayEx

MiB, GiB = 1024 ** 2, 1024 ** 3
FORKS = 20
LUNS_PER_FORK = 5
# how long the parent waits for a child to reach a point; generous, never asserted as a duration
PATIENCE = 120

CTX = multiprocessing.get_context("fork")


def lun_params(name, size="64M", thin=True, **extra):
    params = dict((key, spec.get("default")) for key, spec in lun_argument_spec().items())
    params.update(name=name, size=size, thin=thin, **extra)
    return params


def converge_lun(uri, name, size="64M", thin=True):
    backend = _registry.connect(uri)
    try:
        return converge(LunResource(backend, lun_params(name, size, thin)), False, Waiter(backend))
    finally:
        backend.close()


def _report(queue, fn, *args):
    try:
        queue.put(("ok", fn(*args)))
    except BaseException:  # pylint: disable=broad-exception-caught
        queue.put(("error", traceback.format_exc()))


def _results(queue, count):
    results = [queue.get(timeout=PATIENCE) for _number in range(count)]
    errors = [detail for status, detail in results if status == "error"]
    assert not errors, "\n".join(errors)
    return [detail for _status, detail in results]


# --- 20 forks creating LUNs at once -----------------------------------------------

def _fork_creates(uri, index, go):
    go.wait(PATIENCE)
    changed = []
    for number in range(LUNS_PER_FORK):
        result = converge_lun(uri, "f%02d-lun%d" % (index, number), thin=number % 2 == 0)
        changed.append(result["changed"])
    return changed


@pytest.mark.parametrize("round_", range(3))
def test_twenty_forks_creating_luns_lose_nothing(tmp_path, counters_ok, round_):
    # a fresh state file each round: the forks also race to create the schema
    uri = "sim://%s/round%d/sim.db?create=true" % (tmp_path, round_)
    queue, go = CTX.Queue(), CTX.Event()
    children = [CTX.Process(target=_report, args=(queue, _fork_creates, uri, index, go)) for index in range(FORKS)]
    for child in children:
        child.start()
    go.set()
    changed = _results(queue, FORKS)
    for child in children:
        child.join(PATIENCE)
        assert child.exitcode == 0
    assert all(all(flags) for flags in changed)
    backend = _registry.connect(uri)
    try:
        names = sorted(lun["name"] for lun in backend.list_luns())
        assert names == sorted("f%02d-lun%d" % (i, n) for i in range(FORKS) for n in range(LUNS_PER_FORK))
        counters_ok(backend)
        pool0 = backend.list_pools()[0]
        assert pool0["vol_alloc_sz"] == FORKS * LUNS_PER_FORK * 64 * MiB
        assert pool0["vol_used_sz"] == FORKS * (LUNS_PER_FORK // 2) * 64 * MiB  # the thick ones
    finally:
        backend.close()


def _fork_opens(uri, go):
    go.wait(PATIENCE)
    backend = _registry.connect(uri)
    try:
        return len(backend.list_pools())
    finally:
        backend.close()


def test_twenty_forks_opening_a_new_state_file_at_once(tmp_path):
    # the first run of a playbook with forks=20: all of them find no state file yet
    for round_ in range(20):
        uri = "sim://%s/new%d/sim.db?create=true" % (tmp_path, round_)
        queue, go = CTX.Queue(), CTX.Event()
        children = [CTX.Process(target=_report, args=(queue, _fork_opens, uri, go)) for _number in range(FORKS)]
        for child in children:
            child.start()
        go.set()
        assert _results(queue, FORKS) == [2] * FORKS
        for child in children:
            child.join(PATIENCE)


# --- 50 forks on one state file reached through two names (issue 10, item 4) ------------------------

def converge_group_member(uri, group, initiator):
    backend = _registry.connect(uri)
    params = dict((key, spec.get("default")) for key, spec in access_group_argument_spec().items())
    params.update(name=group, initiators=[initiator], append=True)
    try:
        return converge(AccessGroupResource(backend, params), False, Waiter(backend))
    finally:
        backend.close()


def _fork_through(uri, index, go):
    go.wait(PATIENCE)
    lun = converge_lun(uri, "fork%02d" % index, "64M")
    group = converge_group_member(uri, "shared", "iqn.2026-01.com.example:fork%02d" % index)
    return [lun["changed"], group["changed"], lun["lun"]["name"]]


def test_fifty_forks_through_a_symlink_and_a_hard_link_lose_nothing(tmp_path, counters_ok):
    """Half of 50 processes reach one state file through a symlink, half through a hard link:
    every LUN and every initiator each of them reported is kept (81 asked, 51 kept before)."""
    state = tmp_path / "real" / "sim.db"
    state.parent.mkdir()
    converge_lun("sim://%s" % state, "first", "64M")  # made under its own name, which it records
    names = tmp_path / "names"
    names.mkdir()
    (names / "symlink.db").symlink_to(state)
    os.link(str(state), str(names / "hardlink.db"))
    uris = ["sim://%s" % (names / ("symlink.db" if index % 2 else "hardlink.db")) for index in range(50)]
    queue, go = CTX.Queue(), CTX.Event()
    children = [CTX.Process(target=_report, args=(queue, _fork_through, uri, index, go))
                for index, uri in enumerate(uris)]
    for child in children:
        child.start()
    go.set()
    outcomes = _results(queue, 50)
    for child in children:
        child.join(PATIENCE)
        assert child.exitcode == 0
    assert all(lun_changed and group_changed for lun_changed, group_changed, _name in outcomes)
    backend = _registry.connect("sim://%s" % state)
    try:
        assert sorted(lun["name"] for lun in backend.list_luns()) == ["first"] + ["fork%02d" % i for i in range(50)]
        group = backend.get_access_group("shared")
        assert group["grp_entries"] == ["iqn.2026-01.com.example:fork%02d" % i for i in range(50)]
        counters_ok(backend)
    finally:
        backend.close()
    # one set of -wal/-shm files and one file system root: those of the real name
    assert sorted(os.listdir(str(names))) == ["hardlink.db", "symlink.db"]
    assert os.stat(str(state)).st_nlink == 2


def test_a_hard_link_without_a_recorded_name_is_refused(tmp_path):
    state = tmp_path / "sim.db"
    converge_lun("sim://%s" % state, "first", "64M")
    os.removexattr(str(state), sim_mod.PATH_XATTR)  # as a file system without extended attributes leaves it
    os.link(str(state), str(tmp_path / "other.db"))
    for path in (state, tmp_path / "other.db"):
        backend = _registry.connect("sim://%s" % path)
        with pytest.raises(InvalidStorageArrayEx) as info:
            backend.list_luns()
        assert "has 2 names (hard links)" in info.value.msg and "remove the extra hard links" in info.value.msg
    assert sorted(os.listdir(str(tmp_path))) == ["other.db", "sim.db"]


def test_the_second_name_a_killed_creation_left_is_removed(tmp_path):
    """Killed right after linking the new state into place: its temporary name is a second hard
    link; the next run that may write removes it (also where extended attributes are missing)."""
    state = tmp_path / "sim.db"
    converge_lun("sim://%s" % state, "first", "64M")
    os.removexattr(str(state), sim_mod.PATH_XATTR)
    dead = tmp_path / ("sim.db" + sim_mod.NEW_SUFFIX + "deadbeef_1_1")  # no such boot: its owner is gone
    os.link(str(state), str(dead))
    backend = _registry.connect("sim://%s" % state)
    try:
        assert [lun["name"] for lun in backend.list_luns()] == ["first"]
        assert any(str(dead) in text for text in backend.repaired)
    finally:
        backend.close()
    assert not dead.exists() and state.stat().st_nlink == 1


# --- kill -9 in the middle of a file system copy (issue 10, item 5) -----------------------------------

def _killed_halfway_through_the_copy(uri, source_kind):
    real_executor = Runner.executor

    def copy_half_then_die(argv, *args):
        if os.path.basename(argv[0]) != "cp":
            return real_executor(argv, *args)
        source, dest = os.path.dirname(argv[-2]), argv[-1]  # cp ... SOURCE/. DEST
        for name in sorted(os.listdir(source))[:5]:
            with open(os.path.join(source, name), "rb") as src, open(os.path.join(dest, name), "wb") as dst:
                dst.write(src.read())
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9, the copy half made

    Runner.executor = staticmethod(copy_half_then_die)
    backend = _registry.connect(uri)
    if source_kind == "snapshot":
        backend.create_fs_snapshot("data", "nightly")
    else:
        backend.create_fs_clone("copy", "data")
    os._exit(3)


@pytest.mark.parametrize("source_kind", ["snapshot", "clone"])
def test_a_copy_killed_halfway_is_removed_by_the_next_run_of_any_module(tmp_path, source_kind, module_process):
    uri = "sim://%s/sim.db" % tmp_path
    backend = _registry.connect(uri)
    directory = backend.create_filesystem("data", "pool0", GiB, {})["access_path"]
    for index in range(20):
        with open(os.path.join(directory, "file%02d" % index), "wb") as handle:
            handle.write(os.urandom(4096))
    scratch = os.path.join(backend.fs_root, ".tmp")
    backend.close()
    child = CTX.Process(target=_killed_halfway_through_the_copy, args=(uri, source_kind))
    child.start()
    child.join(PATIENCE)
    assert child.exitcode == -signal.SIGKILL
    left = os.listdir(scratch)
    assert len(left) == 1 and len(os.listdir(os.path.join(scratch, left[0]))) == 5  # the partial copy
    # the next run of any module against the server: here a LUN task that changes nothing
    result = module_process("lun", dict(server=uri, name="unrelated", state="absent"))
    assert result["changed"] is False and not result.get("failed"), result
    assert os.listdir(scratch) == []
    assert any("removed the partial copy %s" % os.path.join(scratch, left[0]) in text for text in result["repaired"])
    assert "repaired: removed the partial copy" in json.dumps(result["warnings"])  # shown to the user too
    # and the task that was killed converges
    backend = _registry.connect(uri)
    try:
        if source_kind == "snapshot":
            assert backend.get_fs_snapshot("data", "nightly") is None
            backend.create_fs_snapshot("data", "nightly")
            assert backend.fs_snapshot_is_current("data", "nightly")
        else:
            assert backend.get_filesystem("copy") is None
            assert len(os.listdir(backend.create_fs_clone("copy", "data")["access_path"])) == 20
        assert backend._conn().execute("SELECT COUNT(*) FROM scratch").fetchone()[0] == 0
    finally:
        backend.close()


def test_a_copy_another_run_is_still_making_is_left_alone(tmp_path):
    uri = "sim://%s/sim.db" % tmp_path
    maker = _registry.connect(uri)
    maker.create_filesystem("data", "pool0", GiB, {})
    row_id, temp = maker._scratch_begin("snapshot 'nightly' of file system 'data'", "create_fs_snapshot",
                                        ".snapshots/x/nightly")
    os.mkdir(temp)  # this process is alive and "copying"
    other = _registry.connect(uri)
    try:
        other.create_lun("unrelated", "pool0", GiB, True, None)
        assert os.path.isdir(temp) and other.repaired == []
    finally:
        other.close()
    maker._scratch_abandon(row_id, temp)
    assert not os.path.exists(temp)
    maker.close()


# --- two forks racing for one name --------------------------------------------------

def _racer(uri, barrier):
    backend = _registry.connect(uri)
    real_apply = LunResource.apply

    def apply_when_both_have_planned(self, plan, before, run):
        barrier.wait(PATIENCE)  # both read "absent" and planned a create before either writes
        return real_apply(self, plan, before, run)

    LunResource.apply = apply_when_both_have_planned
    try:
        result = converge(LunResource(backend, lun_params("contested", "1G")), False, Waiter(backend))
        return {"changed": result["changed"], "size": result["lun"]["size"], "uuid": result["lun"]["uuid"]}
    finally:
        backend.close()


@pytest.mark.parametrize("job_delay", [0, 0.2])
def test_two_forks_racing_for_one_name(tmp_path, job_delay):
    uri = "sim://%s/race.db?job_delay=%s" % (tmp_path, job_delay)
    queue, barrier = CTX.Queue(), CTX.Barrier(2)
    children = [CTX.Process(target=_report, args=(queue, _racer, uri, barrier)) for _number in range(2)]
    for child in children:
        child.start()
    results = _results(queue, 2)
    for child in children:
        child.join(PATIENCE)
    assert sorted(result["changed"] for result in results) == [False, True]  # exactly one created it
    assert results[0]["uuid"] == results[1]["uuid"] and results[0]["size"] == GiB  # and both see that LUN
    backend = _registry.connect(uri)
    try:
        assert [lun["name"] for lun in backend.list_luns()] == ["contested"]
    finally:
        backend.close()


# --- SIGKILL inside a write transaction -------------------------------------------------

def _hold(inside, release_never):
    """Tell the parent we are inside the transaction, then wait to be killed."""
    inside.set()
    release_never.wait(PATIENCE)
    os._exit(3)  # not killed in time: the parent sees exit code 3 and fails


def _killed_during_create(uri, inside, never):
    backend = _registry.connect(uri)
    backend.get_server()  # the schema exists before the transaction we interrupt
    real_start_job = sim_mod.SimBackend._start_job

    def start_job_then_hang(self, *args):
        real_start_job(self, *args)  # the LUN row and the pool counters are written, not committed
        _hold(inside, never)

    sim_mod.SimBackend._start_job = start_job_then_hang
    converge(LunResource(backend, lun_params("victim", "1G", thin=False)), False, Waiter(backend))


def _killed_during_group_update(uri, inside, never):
    backend = _registry.connect(uri)
    real_map = sim_mod.SimBackend._map

    def map_then_hang(self, *args):
        real_map(self, *args)
        _hold(inside, never)

    sim_mod.SimBackend._map = map_then_hang
    backend.update_access_group("web", {"add_entries": ["iqn.2026-01.com.example:new"], "map": [{"name": "b", "lun_id": 2}]})


def _kill_inside(target, uri):
    inside, never = CTX.Event(), CTX.Event()
    child = CTX.Process(target=target, args=(uri, inside, never))
    child.start()
    try:
        assert inside.wait(PATIENCE), "the child never reached the transaction"
        path = uri[len("sim://"):].split("?")[0]
        probe = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            probe.execute("BEGIN IMMEDIATE")  # proof: the child holds the write lock right now
        probe.close()
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(PATIENCE)
    assert child.exitcode == -signal.SIGKILL


def test_sigkill_during_a_create_leaves_a_store_that_converges(tmp_path, counters_ok):
    uri = "sim://%s/crash.db?job_delay=0.01" % tmp_path
    converge_lun(uri, "survivor", "2G", thin=False)
    _kill_inside(_killed_during_create, uri)
    backend = _registry.connect(uri)
    try:
        assert [lun["name"] for lun in backend.list_luns()] == ["survivor"]  # no half-made LUN
        counters_ok(backend)  # and no space leaked from the pool
        assert backend.list_pools()[0]["vol_used_sz"] == 2 * GiB
    finally:
        backend.close()
    first = converge_lun(uri, "victim", "1G", thin=False)
    assert first["changed"] is True and first["lun"]["size"] == GiB
    assert converge_lun(uri, "victim", "1G", thin=False)["changed"] is False


def test_sigkill_during_a_group_update_loses_no_mapping(tmp_path):
    uri = "sim://%s/crash.db" % tmp_path
    backend = _registry.connect(uri)
    backend.create_lun("a", "pool0", GiB, True, None)
    backend.create_lun("b", "pool0", GiB, True, None)
    before = backend.create_access_group("web", ["iqn.2026-01.com.example:old"], [{"name": "a", "lun_id": 1}], None)
    backend.close()
    _kill_inside(_killed_during_group_update, uri)
    backend = _registry.connect(uri)
    try:
        assert backend.get_access_group("web") == before
        after = backend.update_access_group("web", {"map": [{"name": "b", "lun_id": 2}]})
        assert after["luns"] == [{"name": "a", "lun_id": 1}, {"name": "b", "lun_id": 2}]
    finally:
        backend.close()


def _killed_at(uri, point):
    os.environ["STORMGMT_FAULT_POINT"] = point
    _registry.connect(uri).list_luns()
    os._exit(3)  # the point was not reached: the parent sees exit code 3 and fails


@pytest.mark.parametrize("point", ["sim.create_state.temp_made", "sim.create_state.schema",
                                   "sim.create_state.before_link", "sim.create_state.linked"])
def test_sigkill_while_creating_the_state_file(tmp_path, counters_ok, point):
    uri = "sim://%s/new/sim.db?create=true" % tmp_path
    child = CTX.Process(target=_killed_at, args=(uri, point))
    child.start()
    child.join(PATIENCE)
    assert child.exitcode == -signal.SIGKILL
    # the state file is there complete or not at all: never empty, never half-made
    state = tmp_path / "new" / "sim.db"
    assert not state.exists() or state.stat().st_size > 0
    result = converge_lun(uri, "first", "1G")
    assert result["changed"] is True
    backend = _registry.connect(uri)
    try:
        assert [pool["vol_name"] for pool in backend.list_pools()] == ["pool0", "pool1"]
        counters_ok(backend)
    finally:
        backend.close()
    # and what the killed run was making is gone
    assert [name for name in os.listdir(str(tmp_path / "new")) if ".new-" in name] == []
    assert state.stat().st_nlink == 1
