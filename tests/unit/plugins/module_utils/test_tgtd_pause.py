# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Holding a tgtd: real signals on a stand-in process with several threads.

The stand-in names itself ``tgtd`` (``/proc/self/comm``) and holds a POSIX lock on a lock
file, as tgtd does on ``/var/run/tgtd/socket.N.lock``; its threads count in a file, so the
tests see whether it runs. A real tgtd is held in the iscsi molecule scenario.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _tgtd_pause as pause
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    CreateSnapFailedEx,
    OperationPreReqNotMetEx,
)

STAND_IN = textwrap.dedent("""
    import fcntl, os, sys, threading, time
    lock, counter, name = sys.argv[1], sys.argv[2], sys.argv[3]
    with open("/proc/self/comm", "w") as handle:
        handle.write(name)
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o644)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1)
    count = [0]
    def work():
        while True:
            count[0] += 1
            time.sleep(0.001)
    for _ in range(3):
        threading.Thread(target=work, daemon=True).start()
    while True:
        with open(counter + ".tmp", "w") as handle:
            handle.write(str(count[0]))
        os.replace(counter + ".tmp", counter)
        time.sleep(0.005)
""")


def _start(tmp_path, name):
    lock = tmp_path / "socket.77.lock"
    counter = tmp_path / "count"
    proc = subprocess.Popen([sys.executable, "-c", STAND_IN, str(lock), str(counter), name])
    deadline = time.monotonic() + 20
    while not counter.exists() or pause._comm(proc.pid) != name:
        assert time.monotonic() < deadline and proc.poll() is None, "the stand-in did not start"
        time.sleep(0.01)
    return proc, counter


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    monkeypatch.setattr(pause, "IPC_LOCK", str(tmp_path / "socket.%d.lock"))
    monkeypatch.setattr(pause, "HOLD_LOCK_DIR", str(tmp_path / "holds"))
    started = []

    def start(name="tgtd"):
        started.append(_start(tmp_path, name))
        return started[-1]
    yield start
    for proc, _counter in started:
        proc.kill()
        proc.wait()


def _count(counter) -> int:
    return int(counter.read_text() or 0)


def _running(pid) -> bool:
    return not pause.all_stopped(pid)


def test_the_pid_comes_from_the_lock_on_the_control_socket(stand_in, tmp_path):
    proc, _counter = stand_in()
    assert pause.tgtd_pid(77) == proc.pid
    with pytest.raises(OperationPreReqNotMetEx):
        pause.tgtd_pid(78)  # no such lock file


def test_a_lock_holder_that_is_not_tgtd_is_refused(stand_in, tmp_path):
    stand_in("impostor")
    with pytest.raises(OperationPreReqNotMetEx) as info:
        pause.tgtd_pid(77)
    assert "no process holds the lock" in info.value.msg


def test_every_thread_stops_inside_and_goes_on_after(stand_in):
    proc, counter = stand_in()
    with pause.hold(77) as waited:
        assert pause.all_stopped(proc.pid) and len(os.listdir("/proc/%d/task" % proc.pid)) >= 4
        frozen = _count(counter)
        time.sleep(0.2)
        assert _count(counter) == frozen, "nothing runs while it is held"
    assert waited < pause.STOP_TIMEOUT
    deadline = time.monotonic() + 10
    while _count(counter) == frozen:
        assert time.monotonic() < deadline, "it did not go on"
        time.sleep(0.01)
    assert _running(proc.pid)


def test_a_hold_longer_than_allowed_is_ended_by_the_watchdog_and_fails(stand_in):
    proc, counter = stand_in()
    with pytest.raises(CreateSnapFailedEx) as info:
        with pause.hold(77, max_hold=0.5):
            deadline = time.monotonic() + 10
            while pause.all_stopped(proc.pid):
                assert time.monotonic() < deadline, "the watchdog did not let it go on"
                time.sleep(0.02)
    assert "watchdog" in info.value.msg
    assert _running(proc.pid)


def test_a_module_killed_while_it_holds_tgtd_lets_it_go_on(stand_in, tmp_path):
    """The module process dies (SIGKILL) inside the hold: the watchdog notices at once."""
    proc, counter = stand_in()
    holder = textwrap.dedent("""
        import os, sys, time
        from ansible_collections.stormgmt.core.plugins.module_utils import _tgtd_pause as pause
        pause.IPC_LOCK, pause.HOLD_LOCK_DIR = sys.argv[1], sys.argv[2]
        with pause.hold(77, max_hold=600):
            open(sys.argv[3], "w").close()
            time.sleep(600)
    """)
    flag = tmp_path / "holding"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    module = subprocess.Popen([sys.executable, "-c", holder, pause.IPC_LOCK, pause.HOLD_LOCK_DIR, str(flag)], env=env)
    deadline = time.monotonic() + 20
    while not flag.exists():
        assert time.monotonic() < deadline and module.poll() is None, "the holder did not start"
        time.sleep(0.01)
    assert pause.all_stopped(proc.pid)
    module.kill()
    module.wait()
    deadline = time.monotonic() + 5
    while pause.all_stopped(proc.pid):
        assert time.monotonic() < deadline, "tgtd stayed stopped after the module died"
        time.sleep(0.01)
