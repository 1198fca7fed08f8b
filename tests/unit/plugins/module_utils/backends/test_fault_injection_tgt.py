# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""kill -9 at every named step of every apply path of the Linux server backend (tgt://), for real.

A real tgtd is started for this module on a free iSCSI port and a free control port
(chosen at run time, so the suite runs beside others), and stopped at the end. As in
test_fault_injection_sim.py, each task runs as a module in a forked process that kills
itself with SIGKILL at one fault point; then the next run of another module repairs and
says so exactly when something was left (a pending entry in the state, a temporary copy,
a tgtd configuration that differs from the state), the task converges and changes nothing
the time after, and nothing is orphaned or duplicated: LUN and snapshot files match the
state, tgtd holds one target per access group with the LUNs, ACL and CHAP accounts of the
state, and no CHAP account nobody uses.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils import _gw_iscsi as gw_mod
from ansible_collections.stormgmt.core.plugins.module_utils.backends import tgt as tgt_mod

MiB = 1024 * 1024
CTX = multiprocessing.get_context("fork")
PATIENCE = 120
IQN = "iqn.2026-01.com.example:host%d"
CHAP = dict(username="fault-in", password="Fault-Secret-0001")
CHAP2 = dict(username="fault-in2", password="Fault-Secret-0002")

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tgtd") or not shutil.which("tgtadm"),
                                reason="needs root and tgt (tgtd, tgtadm)")


# --- a tgtd of our own -------------------------------------------------------------------------------

def _free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tgtadm(control, *words, check=True):
    return subprocess.run(["tgtadm", "-C", str(control)] + list(words), capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def tgtd(tmp_path_factory):
    """(portal, control port) of a tgtd started for this module only."""
    log = tmp_path_factory.mktemp("tgtd") / "tgtd.log"
    for _attempt in range(20):
        control = random.randint(2000, 60000)
        if os.path.exists("/var/run/tgtd/socket.%d" % control):
            continue
        port = _free_tcp_port()
        with open(str(log), "w") as handle:
            proc = subprocess.Popen(["tgtd", "-f", "-C", str(control), "--iscsi", "portal=127.0.0.1:%d" % port],
                                    stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if "127.0.0.1:%d" % port in _tgtadm(control, "--mode", "portal", "--op", "show", check=False).stdout:
                break
            time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        pytest.fail("could not start a tgtd: %s" % log.read_text())
    yield "127.0.0.1:%d" % port, control
    targets = gw_mod.parse_targets(_tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "show").stdout)
    for tid in targets:
        _tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", str(tid),
                check=False)
    _tgtadm(control, "--op", "update", "--mode", "sys", "--name", "State", "-v", "offline", check=False)
    _tgtadm(control, "--op", "delete", "--mode", "system", check=False)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for suffix in ("", ".lock"):
        try:
            os.unlink("/var/run/tgtd/socket.%d%s" % (control, suffix))
        except OSError:
            pass


# --- the scenarios -----------------------------------------------------------------------------------

def _luns(backend):
    backend.create_lun("db", "pool0", MiB, True, None)
    backend.create_lun("logs", "pool0", MiB, True, None)
    with open(os.path.join(backend.pool_dir, "db.img"), "r+b") as handle:
        handle.write(b"original")


def _snapped(backend):
    _luns(backend)
    backend.create_snapshot("db", "s1")
    path = os.path.join(backend.pool_dir, "db.img")
    with open(path, "r+b") as handle:
        handle.write(b"changed!")
    os.utime(path, ns=(1, 1))


def _group(backend):
    _luns(backend)
    backend.create_access_group("web", [IQN % 1], [{"name": "db", "lun_id": None}],
                                dict(CHAP, mutual_username=None, mutual_password=None))


def _nothing(backend):
    backend.get_server()


def points(*names):
    return ["tgt.%s" % name for name in names]


RECONCILE = points("reconcile.accounts_bound", "reconcile.luns_added")
NEW_TARGET = points("reconcile.target_made") + RECONCILE

SCENARIOS = {
    "lun_create": (_nothing, "lun", dict(name="db", size="1M"),
                   points("create_lun.pending", "create_lun.tmp_made", "create_lun.placed", "create_lun.saved")),
    "lun_resize_mapped": (_group, "lun", dict(name="db", size="2M"),
                          RECONCILE + points("resize_lun.truncated", "resize_lun.saved", "resize_lun.offline")),
    "lun_delete_mapped": (_group, "lun", dict(name="db", state="absent", force=True),
                          RECONCILE + points("delete_lun.unmapped", "delete_lun.saved", "delete_lun.removed")),
    "snapshot_create": (_luns, "snapshot", dict(name="s1", lun="db"),
                        points("create_snapshot.pending", "create_snapshot.copied", "create_snapshot.placed",
                               "create_snapshot.saved")),
    "snapshot_delete": (_snapped, "snapshot", dict(name="s1", lun="db", state="absent"),
                        points("delete_snapshot.saved", "delete_snapshot.removed")),
    "snapshot_restore": (_snapped, "snapshot", dict(name="s1", lun="db", state="restored"),
                         points("restore_snapshot.copied", "restore_snapshot.placed", "restore_snapshot.saved")),
    "clone_create_split": (_snapped, "clone", dict(name="copy", lun="db", snapshot="s1", split=True),
                           points("create_clone.pending", "create_clone.copied", "create_clone.placed",
                                  "create_clone.saved", "split_clone.saved")),
    "group_create": (_luns, "access_group", dict(name="web", initiators=[IQN % 1], luns=["db", "logs"], chap=CHAP),
                     points("commit_groups.saved", "push.closed", "push.accounts_made") + NEW_TARGET),
    "group_update": (_group, "access_group", dict(name="web", initiators=[IQN % 2], luns=["logs"], chap=CHAP2),
                     RECONCILE + points("commit_groups.saved", "push.closed", "push.accounts_made") + RECONCILE),
    "group_delete": (_group, "access_group", dict(name="web", state="absent", force=True),
                     RECONCILE + points("delete_access_group.target_deleted", "delete_access_group.accounts_deleted",
                                        "delete_access_group.saved")),
}


# --- machinery ---------------------------------------------------------------------------------------------

@pytest.fixture
def server(tgtd, tmp_path):
    """A fresh pool on the module's tgtd; its targets (iqn_base unique to the test) go at the end."""
    portal, control = tgtd
    pool = tmp_path / "pool0"
    pool.mkdir()
    base = "iqn.2026-12.io.stormgmt.fault%s" % os.urandom(4).hex()
    uri = "tgt://%s?portal=%s&control_port=%d&iqn_base=%s" % (pool, portal, control, base)
    yield uri
    shown = _tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "show").stdout
    for tid, target in gw_mod.parse_targets(shown).items():
        if target["name"].startswith(base + ":"):
            _tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", str(tid))
    for user in gw_mod.parse_accounts(_tgtadm(control, "--lld", "iscsi", "--mode", "account", "--op", "show").stdout):
        if user.startswith("fault-in"):
            _tgtadm(control, "--lld", "iscsi", "--mode", "account", "--op", "delete", "--user", user, check=False)


def prepare(uri, scenario) -> None:
    backend = connect(uri)
    try:
        SCENARIOS[scenario][0](backend)
    finally:
        backend.close()


def _run_killed(uri, name, args, point, trace):
    if point:
        os.environ["STORMGMT_FAULT_POINT"] = point
    if trace:
        os.environ["STORMGMT_FAULT_TRACE"] = trace
    from conftest import run_module  # pylint: disable=import-outside-toplevel
    result = run_module(name, dict(args, server=uri))
    os._exit(4 if result.get("failed") else 3)


def run_in_child(uri, name, args, point=None, trace=None) -> int:
    child = CTX.Process(target=_run_killed, args=(uri, name, args, point, trace))
    child.start()
    child.join(PATIENCE)
    return child.exitcode


def _pool(uri) -> str:
    return uri[len("tgt://"):].split("?")[0]


def _state(uri) -> dict:
    with open(os.path.join(_pool(uri), ".stormgmt", "state.json")) as handle:
        return json.load(handle)


def _control(uri) -> int:
    return int(uri.split("control_port=")[1].split("&")[0])


def _base(uri) -> str:
    return uri.split("iqn_base=")[1].split("&")[0]


def tgtd_view(uri) -> dict:
    """The targets of this pool and the CHAP accounts, as tgtd has them."""
    control = _control(uri)
    targets = gw_mod.parse_targets(_tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "show").stdout)
    mine = dict((t["name"], dict(luns=sorted(n for n in t["luns"] if n), acl=sorted(t["acl"]),
                                 accounts=sorted(t["accounts"] + t["outgoing"])))
                for t in targets.values() if t["name"].startswith(_base(uri) + ":"))
    accounts = sorted(user for user in gw_mod.parse_accounts(
        _tgtadm(control, "--lld", "iscsi", "--mode", "account", "--op", "show").stdout) if user.startswith("fault-in"))
    return dict(targets=mine, accounts=accounts, names=[t["name"] for t in targets.values()])


def leftovers(uri) -> list:
    state = _state(uri)
    tmp = os.path.join(_pool(uri), ".stormgmt", "tmp")
    return list(state.get("pending") or []) + [name for name in os.listdir(tmp) if not name.startswith("reflink")]


def assert_consistent(uri) -> None:
    state = _state(uri)
    pool = _pool(uri)
    assert state.get("pending", []) == []
    assert os.listdir(os.path.join(pool, ".stormgmt", "tmp")) == []
    assert sorted(name for name in os.listdir(pool) if not name.startswith(".")) == sorted(
        lun["file"] for lun in state["luns"].values())
    on_disk = set()
    if os.path.isdir(os.path.join(pool, ".snapshots")):
        for lun in os.listdir(os.path.join(pool, ".snapshots")):
            on_disk.update(os.path.join(".snapshots", lun, name) for name in os.listdir(os.path.join(pool, ".snapshots", lun)))
    assert on_disk == set(snap["file"] for snaps in state["snapshots"].values() for snap in snaps.values())
    view = tgtd_view(uri)
    assert len(view["names"]) == len(set(view["names"]))  # no target twice
    assert sorted(view["targets"]) == sorted(group["target"] for group in state["groups"].values())
    for group in state["groups"].values():
        target = view["targets"][group["target"]]
        assert target["luns"] == sorted(group["luns"].values())
        assert target["acl"] == sorted(group["entries"])
        chap = group.get("chap") or {}
        assert target["accounts"] == sorted(user for user in (chap.get("username"), chap.get("mutual_username")) if user)
    assert view["accounts"] == sorted(gw_mod.chap_users(state))  # no account nobody uses


def scenario_points():
    for scenario, (_setup, _name, _args, expected) in SCENARIOS.items():
        for point in sorted(set(expected), key=expected.index):
            yield pytest.param(scenario, point, id="%s:%s" % (scenario, point))


# --- the tests ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_points_listed_are_the_points_the_path_passes(server, tmp_path, scenario):
    prepare(server, scenario)
    trace = str(tmp_path / "trace")
    _setup, name, args, expected = SCENARIOS[scenario]
    assert run_in_child(server, name, args, trace=trace) == 3
    with open(trace) as handle:
        assert handle.read().split() == expected


@pytest.mark.parametrize("scenario, point", list(scenario_points()))
def test_killed_at_a_point_the_next_run_repairs_and_converges(server, scenario, point, module):
    prepare(server, scenario)
    _setup, name, args, _expected = SCENARIOS[scenario]
    assert run_in_child(server, name, args, point=point) == -signal.SIGKILL
    left, seen = leftovers(server), tgtd_view(server)
    probe = module("lun", dict(server=server, name="probe", state="absent"))
    assert not probe.get("failed") and probe["changed"] is False, probe
    resynced = tgtd_view(server) != seen
    assert bool(probe.get("repaired")) == bool(left or resynced), (left, resynced, probe.get("repaired"))
    assert leftovers(server) == []
    again = module(name, dict(args, server=server))
    assert not again.get("failed"), again
    final = module(name, dict(args, server=server))
    assert final["changed"] is False and not final.get("failed"), final
    assert_consistent(server)


def test_the_suite_covers_every_point_the_backend_has():
    listed = set(point for _setup, _name, _args, expected in SCENARIOS.values() for point in expected)
    source = ""
    for path in (tgt_mod.__file__, gw_mod.__file__):  # the backend and its iSCSI gateway
        with open(path) as handle:
            source += handle.read()
    named = set()
    for chunk in source.split('fault_point("')[1:]:
        name = chunk.split('"', 1)[0]
        if "%s" in name:  # tgt.<op>.pending of _begin: one per operation that records a pending entry
            named.update("tgt.%s.pending" % op for op in ("create_lun", "create_snapshot", "create_clone"))
        else:
            named.add(name)
    assert named <= listed, named - listed
