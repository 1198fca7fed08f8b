# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hold the I/O of one tgtd for a moment. Private to this collection.

tgt has no I/O barrier: taking a target offline (``tgtadm --mode target --op update --name
state --value offline``) makes tgtd drop the SCSI commands that arrive meanwhile
(``target_cmd_queue`` answers -EBUSY and the iSCSI layer discards the task): the initiator
never gets an answer and hangs until its own command timeout. Taking a LUN offline
(``--params online=0``) answers NOT READY: an error. Neither is a pause.

What tgt does offer is its process: one event loop plus the backing-store worker threads.
Stopping it (``SIGSTOP``) is a barrier. A thread stops at the end of the system call it is
in, so once every thread of tgtd is stopped no ``pwrite`` is half done, and the LUN files
hold exactly the writes tgtd has carried out. ``cp --reflink`` (``FICLONE``) of every
member file then gives copies of one and the same instant; ``SIGCONT`` lets tgtd go on.
The initiators see their commands answered a few milliseconds later than usual: their
TCP connections stay up and the kernel buffers what they send meanwhile.

The process is found by the lock tgtd holds on its management socket's lock file
(``/var/run/tgtd/socket.<control port>.lock``, listed in ``/proc/locks``). A watchdog
process sends ``SIGCONT`` if the module dies while tgtd is stopped (it notices at once)
or when the hold outlasts ``MAX_HOLD`` seconds (the hold then fails). Holds of one tgtd
are serialised with a lock file of their own, so two pools served by the same tgtd
cannot let it go on under each other's copies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time

from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    CreateSnapFailedEx,
    OperationPreReqNotMetEx,
)

IPC_LOCK = "/var/run/tgtd/socket.%d.lock"
HOLD_LOCK_DIR = "/run/stormgmt/tgt"
#: seconds tgtd may stay stopped; initiators ping every few seconds and give up after some more
MAX_HOLD = 8.0
#: seconds to wait until every thread of tgtd has stopped
STOP_TIMEOUT = 5.0

_WATCHDOG = r"""
import os, signal, sys, time
pid, parent, deadline = int(sys.argv[1]), int(sys.argv[2]), time.monotonic() + float(sys.argv[3])
signal.signal(signal.SIGTERM, lambda *args: os._exit(0))
while time.monotonic() < deadline and os.getppid() == parent:
    time.sleep(0.01)
try:
    os.kill(pid, signal.SIGCONT)
except OSError:
    pass
os._exit(3)
"""


def tgtd_pid(control_port: int) -> int:
    """The pid of the tgtd that serves ``control_port``, from the lock it holds."""
    path = IPC_LOCK % control_port
    try:
        st = os.stat(path)
    except OSError:
        raise OperationPreReqNotMetEx("cannot find tgtd of control port %d: %s does not exist" % (control_port, path),
                                      "server") from None
    wanted = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks", "r", encoding="ascii", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            # "1: POSIX  ADVISORY  WRITE 1234 00:19:5678 0 0"
            if len(fields) >= 6 and fields[1] == "POSIX" and fields[5] == wanted and fields[4].isdigit():
                pid = int(fields[4])
                if _comm(pid) == "tgtd":
                    return pid
    raise OperationPreReqNotMetEx("cannot find tgtd of control port %d: no process holds the lock on %s"
                                  % (control_port, path), "server")


def _comm(pid: int) -> str | None:
    try:
        with open("/proc/%d/comm" % pid, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _thread_states(pid: int) -> list:
    states = []
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, task), "r", encoding="ascii", errors="replace") as handle:
                states.append(handle.read().rsplit(")", 1)[1].split()[0])
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
    return states


def all_stopped(pid: int) -> bool:
    return all(state in ("T", "t") for state in _thread_states(pid))


@contextlib.contextmanager
def _hold_lock(control_port: int):
    os.makedirs(HOLD_LOCK_DIR, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(HOLD_LOCK_DIR, "hold.%d.lock" % control_port), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def hold(control_port: int, max_hold: float = MAX_HOLD, clock=time.monotonic):
    """Stop tgtd of ``control_port`` for the body of the ``with``; yields how long it waited to stop.

    Raises CreateSnapFailedEx when tgtd did not stop in time or stayed stopped longer than
    ``max_hold`` (the watchdog let it go on: what was copied is not of one instant).
    """
    with _hold_lock(control_port):
        pid = tgtd_pid(control_port)
        try:
            watchdog = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                [sys.executable, "-c", _WATCHDOG, str(pid), str(os.getpid()), str(max_hold)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                close_fds=True, start_new_session=True)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot start the watchdog that guards the hold of tgtd (%s %s): nothing "
                                          "was stopped" % (sys.executable, error.strerror), "server") from None
        started = clock()
        try:
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError as error:
                raise OperationPreReqNotMetEx("cannot stop tgtd (pid %d) to hold its I/O: %s" % (pid, error.strerror),
                                              "server") from None
            while not all_stopped(pid):
                if clock() - started > STOP_TIMEOUT:
                    raise CreateSnapFailedEx("tgtd (pid %d) did not stop within %ss (a thread is stuck in I/O); "
                                             "nothing was snapshotted" % (pid, STOP_TIMEOUT))
                time.sleep(0.0005)
            yield clock() - started
        finally:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
            if watchdog.poll() is None:
                with contextlib.suppress(OSError):
                    watchdog.terminate()
            fired = watchdog.wait() == 3
        if fired:
            raise CreateSnapFailedEx("tgtd stayed stopped for more than %ss while the snapshots were taken, so the "
                                     "watchdog let it go on; nothing was snapshotted" % max_hold)
