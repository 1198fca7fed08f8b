# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A plug-in program a backend converses with. Private to this collection.

Shared by the backends that drive a separate program (``plugin+NAME``: JSON-RPC on
stdin/stdout; ``lsm+NAME``: libstoragemgmt's framing on a socket): how the program is
found, started, read from and written to within a deadline, and ended, and how its
misbehaviour becomes an error. Whatever the program does (dies, hangs, writes
garbage), the backend raises ``OperationFailedEx`` naming the plug-in and what it was
asked, quoting the end of its stderr with every secret masked, and the program is
killed: it never outlives the module.

* The program runs in a session of its own, so that killing it ends whatever it
  started too (a shell launcher's interpreter), and on Linux it is told to die with
  the module's process should the module itself be killed.
* stderr goes to an unnamed temporary file, read only to quote its last lines.
* Every read and write waits with ``select`` until a deadline; the first failure
  is remembered, later calls of the same run raise it again.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile

from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

MASK = "********"
STDERR_TAIL_BYTES = 4096
STDERR_TAIL_LINES = 8
# how long a program that closed its end gets to report its exit status
EXIT_STATUS_WAIT = 5.0
_PR_SET_PDEATHSIG = 1


def search(program: str, dirs: list) -> str | None:
    """Absolute path of the first executable ``program`` in ``dirs``, or None.

    ``program`` is a plain file name (the callers validate it): it never names a path.
    """
    if not program or "/" in program or program in (".", ".."):
        return None
    found = shutil.which(program, path=os.pathsep.join(dirs))
    if found is None or not os.path.isfile(found):
        return None
    return os.path.abspath(found)


def env_dirs(variable: str) -> list:
    """The directories of a PATH-like environment variable, empty entries left out."""
    return [d for d in os.environ.get(variable, "").split(os.pathsep) if d]


def _die_with_parent():
    """A function for the child to run before exec: SIGKILL it when the module's process ends.

    Linux only (prctl PR_SET_PDEATHSIG); elsewhere None, and close() alone ends the program.
    libc is looked up here, in the parent: the child only makes the call.
    """
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError, ImportError):
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return preexec


class CoProcess:
    """One run of a plug-in program.

    ``label`` names it in messages ("plug-in flaky"). The owner sends and receives
    through :meth:`send` and :meth:`receive` on file descriptors it chose, and calls
    :meth:`fail` when what it read makes no sense.
    """

    #: ``start(stdout=...)``: the program's stdout goes where its stderr goes
    TO_STDERR = "stderr"

    def __init__(self, label: str) -> None:
        self.label = label
        self.proc = None
        self.failure: str | None = None
        self.secrets: set = set()
        self._stderr = None

    # --- life cycle -----------------------------------------------------------------
    def start(self, path: str, args: tuple = (), *, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
              pass_fds: tuple = (), env: dict | None = None):
        """Start ``path`` with ``args``; stderr goes to a private temporary file."""
        self._stderr = tempfile.TemporaryFile(prefix="stormgmt-plugin-", suffix=".stderr")
        if stdout == self.TO_STDERR:
            stdout = self._stderr
        runner = Runner(path, {"args": list}, error=OperationPreReqNotMetEx)
        self.proc = runner.spawn("args", args=args, stderr=self._stderr, stdin=stdin, stdout=stdout,
                                 pass_fds=pass_fds, env=env, new_session=True, preexec=_die_with_parent())
        return self.proc

    @property
    def running(self) -> bool:
        return self.proc is not None

    def check(self) -> None:
        """Raise the failure that ended the conversation, if any."""
        if self.failure is not None:
            raise OperationFailedEx(self.failure)

    def stop(self, grace: float = 0.0, hang_up=None) -> None:
        """End the program: ``hang_up()`` (close its input), wait up to ``grace`` seconds, then
        kill its session. Never raises."""
        proc, self.proc = self.proc, None
        if proc is not None:
            if hang_up is not None:
                try:
                    hang_up(proc)
                except OSError:
                    pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
            self._kill_session(proc)
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    @staticmethod
    def _kill_session(proc) -> None:
        """SIGKILL the program's session (it leads it: its pid is the group id), then reap it."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()

    # --- transport ------------------------------------------------------------------------
    def send(self, fd: int, data: bytes, what: str, deadline: float, timeout: float) -> None:
        """Write all of ``data`` to ``fd`` before ``deadline`` (time.monotonic)."""
        import time

        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                self.fail("%s did not read the %s request within %ss" % (self.label, what, timeout))
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                continue
            except OSError:  # EPIPE, ECONNRESET: it is gone
                self.gone(what)
            view = view[written:]

    def receive(self, fd: int, what: str, deadline: float, timeout: float, hint: str = "") -> bytes:
        """Read what is there on ``fd`` (at least one byte) before ``deadline``."""
        import time

        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            self.fail("%s did not answer %s within %ss%s" % (self.label, what, timeout, hint))
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # ECONNRESET
            chunk = b""
        if not chunk:
            self.gone(what)
        return chunk

    # --- failures -------------------------------------------------------------------------
    def gone(self, what: str) -> None:
        """The program closed its end: report how it ended."""
        try:
            status = self.proc.wait(timeout=EXIT_STATUS_WAIT)
        except subprocess.TimeoutExpired:
            status = None
        if status is None:
            how = "closed its end of the conversation"
        elif status < 0:
            how = "was killed by signal %d" % -status
        else:
            how = "exited with status %d" % status
        self.fail("%s %s while answering %s" % (self.label, how, what))

    def fail(self, msg: str) -> None:
        """Give up: kill the program and raise OperationFailedEx with its stderr tail.

        Later calls raise the same error: the conversation cannot be resumed.
        """
        tail = self.stderr_tail()
        msg = self.mask(msg + ("; its stderr ends with: %s" % tail if tail else "; it wrote nothing to stderr"))
        self.stop()
        self.failure = msg
        raise OperationFailedEx(msg)

    def stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        data = os.pread(fd, STDERR_TAIL_BYTES, max(0, size - STDERR_TAIL_BYTES))
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
        return " | ".join(lines[-STDERR_TAIL_LINES:])

    def mask(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return text
