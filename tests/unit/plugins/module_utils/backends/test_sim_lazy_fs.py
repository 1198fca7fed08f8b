# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The simulator loads its file system half (and the host side) only when a task uses it.

AnsiballZ makes a module compile every file it imports on every run, so what a LUN
task imports is what it pays (benchmarks/noop_vs_ping). These tests pin that down and
check that the file system half still behaves as the mixin it is written as.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.stormgmt.core.plugins.module_utils.backends import _sim_fs, sim
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin

PROBE = """
import sys
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
backend = connect(sys.argv[1])
{action}
backend.close()
heavy = [name for name in ("backends._sim_fs", "._host", "._runner", "backends.tgt", "backends.external")
         if any(module.endswith(name) for module in sys.modules)]
print(",".join(heavy))
"""


def loaded_after(uri: str, action: str) -> list:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    done = subprocess.run([sys.executable, "-c", PROBE.format(action=action), uri], capture_output=True, text=True,
                          check=True, env=env)
    return [name for name in done.stdout.strip().split(",") if name]


def test_a_lun_task_on_an_existing_store_imports_neither_file_systems_nor_the_host_side(sim_uri):
    assert "backends._sim_fs" in loaded_after(sim_uri, "backend.create_lun('db01', 'pool0', 1048576, True, None)")
    assert loaded_after(sim_uri, "assert backend.get_lun('db01')['size'] == 1048576") == []


def test_a_file_system_call_loads_the_file_system_half(sim_uri):
    loaded_after(sim_uri, "backend.get_server()")
    assert "backends._sim_fs" in loaded_after(sim_uri, "assert backend.list_filesystems() == []")


def test_the_file_system_half_works_through_the_backend(sim):
    export = {"clients": ["*"], "access_groups": [], "options": []}
    record = sim.create_filesystem("fs1", "pool0", 1 << 30, export)
    assert record["name"] == "fs1" and record["access_path"].startswith(sim.fs_root)
    assert sim.create_fs_snapshot("fs1", "s1")["name"] == "s1"
    assert sim.fs_dependents("fs1")["snapshots"] == ["s1"]
    assert [fs["name"] for fs in sim.list_filesystems()] == ["fs1"]
    sim.delete_filesystem("fs1", force=True)
    assert sim.get_filesystem("fs1") is None


def test_a_missing_attribute_is_still_an_attribute_error(sim):
    try:
        sim.no_such_thing  # pylint: disable=pointless-statement
    except AttributeError as error:
        assert "no_such_thing" in str(error)
    else:
        raise AssertionError("no AttributeError")


def test_the_file_system_half_overrides_only_file_system_methods():
    # SimBackend forwards the FileSystemPlugin methods and looks up what it lacks in
    # SimFileSystems; anything else SimFileSystems defined would be silently ignored.
    own = set(vars(_sim_fs.SimFileSystems)) - {"__module__", "__doc__", "__dict__", "__weakref__", "__qualname__"}
    shadowed = set()
    for cls in sim.SimBackend.__mro__:
        if cls is not FileSystemPlugin:
            shadowed.update(name for name in vars(cls) if not (cls is sim.SimBackend and name in vars(FileSystemPlugin)))
    assert own & shadowed == set()
    assert issubclass(sim.SimBackend, StorageArrayPlugin) and issubclass(sim.SimBackend, FileSystemPlugin)
