# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One way to run external programs (tgtadm, mkfs, mount, qemu-storage-daemon, ...). Private to this collection.

A :class:`Runner` is one program: where to find it, how each of its arguments
is written (declared once), which values are secrets. Calls pass values by name
and get a :class:`Result`; a non-zero exit raises a typed exception with the
program's own message, secrets masked. Nothing is ever built as a shell string.

Unit tests replace :attr:`Runner.executor` to check the exact argv a backend
runs without running it (see tests/unit/plugins/module_utils/test_runner.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess

from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
MASK = "********"
# Output is parsed (blkid, tgtadm --op show, xfs_info...): messages, number formats and
# sort orders must not follow the user's locale.
PARSEABLE_LOCALE = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": ""}


def parseable_env(env: dict | None) -> dict:
    """``env`` (or this process's environment) with the C locale."""
    return dict(os.environ if env is None else env, **PARSEABLE_LOCALE)


# --- argument formats: value -> list of argv words ----------------------------

def opt_val(option: str):
    """--op VALUE (nothing when the value is None)."""
    return lambda value: [] if value is None else [option, str(value)]


def opt_eq_val(option: str):
    """--option=VALUE (nothing when the value is None)."""
    return lambda value: [] if value is None else ["%s=%s" % (option, value)]


def flag(option: str):
    """-f when the value is true."""
    return lambda value: [option] if value else []


def positional():
    """VALUE as is; a list spreads into several words."""
    return lambda value: [] if value is None else [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def fixed(*words: str):
    """Always these words, whatever the value."""
    return lambda value: list(words)


def key_values(option: str, separator: str = ","):
    """--blockdev a=1,b=2 from a dict (order kept, None values dropped)."""
    def render(value):
        if not value:
            return []
        return [option, separator.join("%s=%s" % (k, v) for k, v in value.items() if v is not None)]
    return render


class Result:
    def __init__(self, argv: list, rc: int, out: str, err: str) -> None:
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def lines(self) -> list:
        return self.out.splitlines()


def _subprocess_executor(argv: list, input_text: str | None, timeout: float | None, env: dict | None) -> tuple:
    proc = subprocess.run(  # noqa: S603 - argv list, never a shell
        argv, input=input_text, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def _subprocess_spawner(argv: list, env: dict | None, stderr) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - argv list, never a shell
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env, close_fds=True)


class Runner:
    """One external program with its argument formats."""

    #: (argv, input, timeout, env) -> (rc, stdout, stderr); tests replace it
    executor = staticmethod(_subprocess_executor)
    #: (argv, env, stderr) -> a Popen-like process with stdin/stdout pipes
    spawner = staticmethod(_subprocess_spawner)

    def __init__(self, program: str, formats: dict | None = None, *, package: str | None = None,
                 secrets: tuple = (), error=OperationFailedEx, timeout: float | None = 120) -> None:
        self.program = program
        self.formats = dict(formats or {})
        self.package = package
        self.secrets = frozenset(secrets)
        self.error = error
        self.timeout = timeout
        self._path = None

    def path(self) -> str:
        """Absolute path of the program; OperationPreReqNotMetEx naming the package when missing."""
        if self._path is None:
            found = shutil.which(self.program, path=os.pathsep.join(
                [os.environ.get("PATH", "")] + list(SYSTEM_PATH)))
            if found is None:
                hint = " (install the %s package)" % self.package if self.package else ""
                raise OperationPreReqNotMetEx("%s is not installed on this host%s" % (self.program, hint), self.program)
            self._path = found
        return self._path

    def available(self) -> bool:
        try:
            self.path()
        except OperationPreReqNotMetEx:
            return False
        return True

    def argv(self, order, values: dict) -> list:
        """The argument vector for ``order`` (names of formats, space separated or a list)."""
        names = order.split() if isinstance(order, str) else list(order)
        argv = [self.path()]
        for name in names:
            if name not in self.formats:
                raise OperationFailedEx("internal error: %s has no argument format '%s'" % (self.program, name))
            argv.extend(self.formats[name](values.get(name)))
        return argv

    def masked(self, argv: list, values: dict) -> str:
        secrets = [str(values[name]) for name in self.secrets if values.get(name)]
        words = []
        for word in argv:
            for secret in secrets:
                word = word.replace(secret, MASK)
            words.append(word)
        return " ".join(words)

    def __call__(self, order="", *, check_rc: bool = True, input_text: str | None = None,
                 timeout: float | None = None, env: dict | None = None, error=None, **values) -> Result:
        argv = self.argv(order, values)
        try:
            rc, out, err = self.executor(argv, input_text, timeout or self.timeout, parseable_env(env))
        except subprocess.TimeoutExpired:
            raise (error or self.error)("%s did not finish within %ss" % (self.masked(argv, values), timeout or self.timeout)) from None
        except OSError as exc:
            raise (error or self.error)("cannot run %s: %s" % (self.program, exc.strerror)) from None
        result = Result(argv, rc, out or "", err or "")
        if check_rc and rc != 0:
            detail = (err or out or "").strip().splitlines()
            raise (error or self.error)("%s failed (exit %d): %s" % (
                self.masked(argv, values), rc, self._mask_text(detail[-1] if detail else "no message", values)))
        return result

    def spawn(self, order="", *, env: dict | None = None, stderr=None, error=None, **values):
        """Start the program as a co-process that converses over stdin/stdout (the
        external backend's plug-ins) and return the process; the caller owns it."""
        argv = self.argv(order, values)
        try:
            return self.spawner(argv, parseable_env(env), stderr)
        except OSError as exc:
            raise (error or self.error)("cannot run %s: %s" % (self.program, exc.strerror)) from None

    def _mask_text(self, text: str, values: dict) -> str:
        for name in self.secrets:
            if values.get(name):
                text = text.replace(str(values[name]), MASK)
        return text
