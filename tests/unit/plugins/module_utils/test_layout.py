# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The layering of module_utils: who may import whom."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

MODULE_UTILS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "module_utils")


def imported_names(relative: str) -> set:
    """Every module_utils module that ``relative`` imports, at the top or inside a function."""
    with open(os.path.join(MODULE_UTILS, relative), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and "module_utils" in node.module:
            base = node.module.rsplit("module_utils", 1)[1].lstrip(".")
            if base:
                names.add(base)
            names.update("%s.%s" % (base, alias.name) if base else alias.name for alias in node.names)
    return names


def test_iscsi_never_imports_host():
    """_host uses _iscsi for iscsi:// devices; _iscsi reads mounts and loops through _mountinfo."""
    names = imported_names("_iscsi.py")
    assert not any(name == "_host" or name.endswith("._host") for name in names), names
    assert "_mountinfo" in names


def test_mountinfo_is_a_leaf():
    names = imported_names("_mountinfo.py")
    assert not any(name.split(".")[0] in ("_host", "_iscsi") for name in names), names


@pytest.mark.parametrize("module", ["_iscsi", "_host", "_mountinfo"])
def test_each_host_module_imports_alone(module):
    """Imported first in a fresh interpreter, each works (no import order trap left by a cycle)."""
    code = "import ansible_collections.stormgmt.core.plugins.module_utils.%s" % module
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), check=False)
    assert result.returncode == 0, result.stderr


def test_iscsi_alone_does_not_load_host():
    code = ("import sys; import ansible_collections.stormgmt.core.plugins.module_utils._iscsi; "
            "print(any(name.endswith('module_utils._host') for name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), check=True)
    assert result.stdout.strip() == "False"


def test_host_keeps_the_mount_table_names():
    from ansible_collections.stormgmt.core.plugins.module_utils import _host, _mountinfo
    for name in ("mountinfo", "mount_at", "parse_mountinfo", "MountEntry", "loops_of", "loop_backing_file",
                 "unescape", "LOSETUP"):
        assert getattr(_host, name) is getattr(_mountinfo, name)
    # _host's loop_attach/loop_detach note a temporary attachment for the next run's repair
    # (see test_host_faults); the bare ones in _mountinfo serve _iscsi, whose loops outlive the task


def test_secret_helpers_live_in_their_own_module():
    from ansible_collections.stormgmt.core.plugins.module_utils import _secrets
    from ansible_collections.stormgmt.core.plugins.module_utils.backends import sim
    assert sim.hash_secret is _secrets.hash_secret and sim.secret_matches is _secrets.secret_matches
    assert "backends.sim" not in " ".join(imported_names("backends/tgt.py"))
