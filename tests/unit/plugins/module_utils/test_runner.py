# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The command runner: argv built from declared formats, typed errors, secrets masked.

The programs run for real (this Python interpreter, with a small script); only the
executor-swap case replaces the executor, which is what backend unit tests do.
"""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _runner as runner_mod
from ansible_collections.stormgmt.core.plugins.module_utils._runner import (
    MASK,
    Runner,
    fixed,
    flag,
    key_values,
    opt_eq_val,
    opt_val,
    positional,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    LoginFailedEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

# prints its arguments (one per line) and, when asked, complains on stderr and exits 3
SCRIPT = (
    "import sys\n"
    "args = sys.argv[1:]\n"
    "print('\\n'.join(args))\n"
    "if 'fail' in args:\n"
    "    sys.stderr.write('first line\\nlogin refused for ' + ' '.join(args) + '\\n')\n"
    "    sys.exit(3)\n"
    "if 'sleep' in args:\n"
    "    import time; time.sleep(60)\n"
)


@pytest.fixture
def python():
    return Runner(sys.executable, dict(
        script=fixed("-c", SCRIPT),
        mode=opt_val("--mode"),
        user=opt_eq_val("--user"),
        secret=opt_val("--secret"),
        verbose=flag("-v"),
        words=positional(),
        blockdev=key_values("--blockdev"),
    ), secrets=("secret",), error=LoginFailedEx, package="python3")


@pytest.mark.parametrize("fmt, value, words", [
    (opt_val("--op"), "new", ["--op", "new"]),
    (opt_val("--op"), 3, ["--op", "3"]),
    (opt_val("--op"), None, []),
    (opt_eq_val("--size"), "10G", ["--size=10G"]),
    (opt_eq_val("--size"), None, []),
    (flag("-f"), True, ["-f"]),
    (flag("-f"), False, []),
    (flag("-f"), None, []),
    (positional(), "a b", ["a b"]),          # one word, never split like a shell would
    (positional(), ["a", 2], ["a", "2"]),
    (positional(), None, []),
    (fixed("--mode", "target"), None, ["--mode", "target"]),
    (key_values("--blockdev"), {"driver": "iscsi", "lun": 1, "skip": None}, ["--blockdev", "driver=iscsi,lun=1"]),
    (key_values("--blockdev"), {}, []),
])
def test_argument_formats(fmt, value, words):
    assert fmt(value) == words


def test_argv_follows_the_order_given(python):
    argv = python.argv("mode verbose words user", dict(mode="x", verbose=True, words=["w1", "w2"], user="u"))
    assert argv == [sys.executable, "--mode", "x", "-v", "w1", "w2", "--user=u"]
    assert python.argv(["user", "mode"], dict(user="u", mode="m"))[1:] == ["--user=u", "--mode", "m"]


def test_unknown_format_name_is_an_internal_error(python):
    with pytest.raises(OperationFailedEx) as info:
        python.argv("colour", {})
    assert "colour" in info.value.msg


def test_runs_the_program_and_returns_its_output(python):
    result = python("script mode words", mode="create", words=["a b", "c"])
    assert result.ok and result.rc == 0
    assert result.lines() == ["--mode", "create", "a b", "c"]
    assert result.argv[0] == sys.executable


def test_failure_raises_the_runners_error_with_the_last_stderr_line(python):
    with pytest.raises(LoginFailedEx) as info:
        python("script words", words=["fail"])
    assert "exit 3" in info.value.msg and "login refused for fail" in info.value.msg
    assert info.value.msg.endswith("failed (exit 3): login refused for fail")  # the last line, not the first


def test_error_class_can_be_chosen_per_call(python):
    with pytest.raises(OperationFailedEx) as info:
        python("script words", words=["fail"], error=OperationFailedEx)
    assert info.value.__class__ is OperationFailedEx  # exactly, not the runner's LoginFailedEx


def test_check_rc_false_returns_the_failure(python):
    result = python("script words", words=["fail"], check_rc=False)
    assert not result.ok and result.rc == 3 and "login refused" in result.err


def test_secrets_are_masked_in_errors(python):
    secret = "Tr0ub4dor-and-3"
    with pytest.raises(LoginFailedEx) as info:
        python("script secret words", secret=secret, words=["fail"])
    assert secret not in info.value.msg
    assert MASK in info.value.msg
    # masked both in the command line and in the program's own message, which echoed it
    assert info.value.msg.count(MASK) == 2


def test_missing_program_names_the_package():
    missing = Runner("stormgmt-no-such-program", package="stormgmt-tools")
    assert not missing.available()
    with pytest.raises(OperationPreReqNotMetEx) as info:
        missing()
    assert "stormgmt-no-such-program" in info.value.msg and "stormgmt-tools" in info.value.msg


def test_program_that_cannot_start_is_a_typed_error(tmp_path, monkeypatch):
    broken = tmp_path / "stormgmt-broken"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OperationFailedEx) as info:
        Runner("stormgmt-broken")()
    assert "cannot run stormgmt-broken" in info.value.msg


def test_timeout_is_a_typed_error_with_secrets_masked(python):
    with pytest.raises(LoginFailedEx) as info:
        python("script secret words", secret="sekret-value", words=["sleep"], timeout=0.5)
    assert "did not finish" in info.value.msg and "sekret-value" not in info.value.msg


def test_finds_programs_in_system_directories_outside_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    found = Runner("sh").path()
    assert os.path.dirname(found) in runner_mod.SYSTEM_PATH


def test_executor_can_be_replaced_to_check_argv_without_running(python, monkeypatch):
    seen = []

    def executor(argv, input_text, timeout, env):
        seen.append((argv, input_text))
        return 0, "ok\n", ""

    monkeypatch.setattr(Runner, "executor", staticmethod(executor))
    result = python("mode verbose", mode="delete", verbose=True, input_text="yes\n")
    assert seen == [([sys.executable, "--mode", "delete", "-v"], "yes\n")]
    assert result.out == "ok\n"


def test_spawn_starts_a_co_process(python):
    proc = python.spawn("script words", words=["hello"])
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.decode().split() == ["hello"]


def test_programs_run_in_the_c_locale_whatever_the_users_locale(monkeypatch):
    """Output is parsed: a German or Turkish locale must not change numbers or messages."""
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    monkeypatch.setenv("LC_ALL", "tr_TR.UTF-8")
    monkeypatch.setenv("LC_NUMERIC", "de_DE.UTF-8")
    show = Runner(sys.executable, dict(script=fixed(
        "-c", "import os; print(os.environ.get('LC_ALL'), os.environ.get('LANG'), os.environ.get('LC_NUMERIC'))")))
    assert show("script").out.split() == ["C", "C", "de_DE.UTF-8"]  # LC_ALL=C overrides LC_NUMERIC
    # an explicit environment gets the C locale too, and keeps its own variables
    assert show("script", env={"LC_ALL": "de_DE.UTF-8", "PATH": os.environ["PATH"]}).out.split()[:2] == ["C", "C"]
