# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shared fixtures of the unit tests (plain pytest).

The tests import ``ansible_collections.stormgmt.core.*``. ``make unit`` puts a
directory holding ``ansible_collections/stormgmt/core -> work tree`` on
PYTHONPATH; without it, the same layout is made here in a temporary directory,
so ``pytest tests/unit`` also works from a bare checkout.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from ansible.module_utils.common import warnings as _warnings

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _make_collection_importable() -> None:
    try:
        importlib.import_module("ansible_collections.stormgmt.core.plugins.module_utils.errors")
        return
    except ImportError:
        pass
    parts = ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "stormgmt", "core"]:
        sys.path.insert(0, os.sep.join(parts[:-3]) or os.sep)
    else:
        top = tempfile.mkdtemp(prefix="stormgmt-unit-path-")
        atexit.register(shutil.rmtree, top, True)
        os.makedirs(os.path.join(top, "ansible_collections", "stormgmt"))
        os.symlink(ROOT, os.path.join(top, "ansible_collections", "stormgmt", "core"))
        sys.path.insert(0, top)
    importlib.invalidate_caches()
    sys.modules.pop("ansible_collections", None)


_make_collection_importable()

# pylint: disable=wrong-import-position
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect  # noqa: E402


def _sim_path(tmp_path) -> str:
    directory = os.path.join(str(tmp_path), "state")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, "sim.db")


@pytest.fixture
def sim_path(tmp_path) -> str:
    """Path of a fresh simulator state file (not made yet, in an empty private directory)."""
    return _sim_path(tmp_path)


@pytest.fixture
def sim_uri(sim_path) -> str:
    return "sim://" + sim_path


@pytest.fixture
def sim(sim_uri):
    """A simulator backend on a fresh state file."""
    backend = connect(sim_uri)
    yield backend
    backend.close()


@pytest.fixture
def open_backend():
    """connect(uri) that closes every backend it opened at the end of the test."""
    opened = []

    def _open(uri, username=None, password=None):
        backend = connect(uri, username, password)
        opened.append(backend)
        return backend

    yield _open
    for backend in opened:
        backend.close()


def resource_params(argument_spec: dict, **values) -> dict:
    """Module parameters as AnsibleModule would hand them over: defaults filled in."""
    params = dict((key, spec.get("default")) for key, spec in argument_spec.items())
    params.update(dict(server="sim://", username=None, password=None, wait=True, wait_timeout=300))
    unknown = set(values) - set(params)
    if unknown:
        raise KeyError("not an option: %s" % ", ".join(sorted(unknown)))
    params.update(values)
    return params


@pytest.fixture
def params():
    return resource_params


def pool_counters_consistent(backend) -> None:
    """The simulator's pool counters equal what its LUNs add up to (nothing lost, nothing leaked)."""
    luns = backend.list_luns()
    for pool in backend.list_pools():
        mine = [lun for lun in luns if lun["vol_group_name"] == pool["vol_name"]]
        assert pool["vol_alloc_sz"] == sum(lun["size"] for lun in mine), pool
        assert pool["vol_used_sz"] == sum(lun["size"] for lun in mine if not lun["thin"]), pool
        assert pool["vol_free_sz"] == pool["vol_total_sz"] - pool["vol_used_sz"], pool


@pytest.fixture
def counters_ok():
    return pool_counters_consistent


@contextlib.contextmanager
def _module_args(args: dict):
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        from unittest import mock
        from ansible.module_utils import basic
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield
        return
    with patch_module_args(args):
        yield


def run_module(name: str, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Run plugins/modules/<name>.py main() in this process as Ansible would; return its result.

    The arguments reach AnsibleModule as the JSON document Ansible sends on stdin,
    so type conversion, defaults, no_log and check mode are AnsibleModule's own.
    """
    module = importlib.import_module("ansible_collections.stormgmt.core.plugins.modules.%s" % name)
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    _warnings._global_warnings.clear()  # pylint: disable=protected-access  # one run, one process in real life
    out = io.StringIO()
    with _module_args(args), contextlib.redirect_stdout(out):
        with pytest.raises(SystemExit) as exit_info:
            module.main()
    text = out.getvalue()
    result = json.loads(text.strip().splitlines()[-1])
    result["_stdout"] = text
    result["_rc"] = exit_info.value.code
    assert bool(result.get("failed")) == (exit_info.value.code not in (0, None)), result
    return result


@pytest.fixture
def module():
    return run_module


def run_module_process(name: str, args: dict, check_mode: bool = False, env: dict | None = None) -> dict:
    """Run plugins/modules/<name>.py as Ansible does on a node: a separate Python reading its
    arguments as JSON on stdin. Slower than :func:`run_module`, but what it prints is exactly
    what Ansible would receive (warnings included)."""
    args = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check_mode)}
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path), **(env or {}))
    done = subprocess.run([sys.executable, "-m", "ansible_collections.stormgmt.core.plugins.modules.%s" % name],
                          input=json.dumps(args), capture_output=True, text=True, env=environment, check=False,
                          timeout=600)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines else {}
    result["_rc"], result["_stderr"] = done.returncode, done.stderr
    return result


@pytest.fixture
def module_process():
    return run_module_process


def module_cycle(name: str, args: dict) -> dict:
    """check mode -> apply -> idempotence in check mode -> idempotence; returns the apply result."""
    predicted = run_module(name, args, check_mode=True, diff=True)
    assert predicted["changed"] is True and not predicted.get("failed"), predicted
    applied = run_module(name, args, diff=True)
    assert applied["changed"] is True and not applied.get("failed"), applied
    assert applied["action"] == predicted["action"]
    for check_mode in (True, False):
        again = run_module(name, args, check_mode=check_mode, diff=True)
        assert again["changed"] is False and not again.get("failed"), again
        assert "action" not in again
    applied["_predicted"] = predicted
    return applied


@pytest.fixture
def cycle():
    return module_cycle


def module_batch_cycle(name: str, args: dict) -> dict:
    """The same for the list form of a module (``luns``, ``access_groups``): the first two runs
    change something, the last two nothing, item by item; returns the apply result."""
    kind = {"lun": "lun", "access_group": "access_group"}[name]
    predicted = run_module(name, args, check_mode=True, diff=True)
    applied = run_module(name, args, diff=True)
    for result in (predicted, applied):
        assert result["changed"] is True and not result.get("failed"), result
    assert [r.get("action") for r in predicted["results"]] == [r.get("action") for r in applied["results"]]
    for check_mode in (True, False):
        again = run_module(name, args, check_mode=check_mode, diff=True)
        assert again["changed"] is False and not again.get("failed"), again
        assert not any(r["changed"] or "action" in r for r in again["results"]) and again["diff"] == []
        assert [r[kind] for r in again["results"]] == [r[kind] for r in applied["results"]]
    applied["_predicted"] = predicted
    return applied


@pytest.fixture
def batch_cycle():
    return module_batch_cycle
