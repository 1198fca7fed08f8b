# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fault injection on the host side (root, for real): the mount module and the block based
filesystem module are killed with SIGKILL at each named step of their apply paths
(_faults.fault_point: mkdir, mount, remount, unmount, fstab write, loop attach, mkfs,
wipe, scratch mount, loop detach). The next run must converge, leave no orphan (loop
device, mount, duplicate or half-written fstab line, temporary file, note of the dead
run) and say what it repaired; the run after that changes nothing.

Each killed run is a forked copy of this process (the module runs in process, as
run_module runs it), so SIGKILL ends it and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

from ansible_collections.stormgmt.core.plugins.module_utils import _host

pytestmark = needs_root


def _forked(module, name: str, args: dict, env: dict):
    """Run module ``name`` in a forked child with ``env``; (killed, result)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the module, send its result, never return into pytest
        code = 0
        try:
            os.close(reader)
            os.environ.update(env)
            result = module(name, args)
            result.pop("_stdout", None)
            os.write(writer, json.dumps(result).encode())
        except BaseException:  # pylint: disable=broad-except
            code = 1
        finally:
            os._exit(code)  # pylint: disable=protected-access
    os.close(writer)
    with os.fdopen(reader, "rb") as handle:
        data = handle.read()
    _pid, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True, None
    assert os.WEXITSTATUS(status) == 0, "the module run crashed"
    return False, json.loads(data)


@pytest.fixture
def isolated(scratch, monkeypatch):
    """Notes of attachments and scratch mounts, and temporary directories, inside the scratch
    directory (so that the test sees only what its own runs left). Warnings go into the
    result as on a managed node, even when another test imported controller code."""
    from ansible.module_utils import _internal

    monkeypatch.setattr(_internal, "is_controller", False)
    monkeypatch.setattr(_host, "HOST_STATE_DIR", scratch.path("notes"))
    os.mkdir(scratch.path("tmp"))
    monkeypatch.setattr(tempfile, "tempdir", scratch.path("tmp"))
    return scratch


def _points(module, name: str, args: dict, scratch) -> list:
    trace = scratch.path("trace")
    killed, result = _forked(module, name, args, {"STORMGMT_FAULT_TRACE": trace})
    assert not killed and not result.get("failed"), result
    with open(trace) as handle:
        points = handle.read().split()
    os.unlink(trace)
    return points


def _leftovers(scratch, expect_mounts=(), image_loops_ok=False) -> dict:
    """What is there that should not be."""
    fstab_dir = os.path.dirname(scratch.fstab)
    return dict(
        mounts=sorted(entry[0] for entry in scratch.mounts() if entry[0] not in expect_mounts),
        loops=[] if image_loops_ok else scratch.loops(),
        temporaries=sorted(name for name in os.listdir(fstab_dir) if ".stormgmt-new-" in name),
        notes=sorted(os.listdir(scratch.path("notes"))) if os.path.isdir(scratch.path("notes")) else [],
        scratch_dirs=sorted(os.listdir(scratch.path("tmp"))),
    )


CLEAN = dict(mounts=[], loops=[], temporaries=[], notes=[], scratch_dirs=[])


def _fstab_lines(scratch, path: str) -> list:
    return [line for line in scratch.fstab_text().split("\n") if (" %s " % path) in line]


def _converges(module, name, args, scratch, point, repaired=None):
    """The run after the kill: no failure, and (when the kill left something) a warning."""
    result = module(name, args)
    assert not result.get("failed"), (point, result)
    warnings = json.dumps(result.get("warnings") or [])
    if repaired:
        assert repaired in warnings, (point, result.get("warnings"))
    again = module(name, args)
    assert not again.get("failed") and not again["changed"], (point, again)
    return result


# --- the mount module --------------------------------------------------------------------------

def test_mount_killed_at_each_step_converges(isolated, module):
    scratch = isolated
    image = scratch.image("a.img")
    path = scratch.path("mnt", "data")
    mounted = _host_args(scratch, path=path, src=image, opts="nosuid", state="mounted")
    points = _points(module, "mount", mounted, scratch)
    assert points == ["host.mount.mkdir", "host.mount.mounted", "host.fstab.temp_written", "host.fstab.replaced"]
    module("mount", dict(mounted, state="absent"))
    subprocess.run(["rmdir", scratch.path("mnt", "data"), scratch.path("mnt")], check=True)
    for point in points:
        killed, _result = _forked(module, "mount", mounted, {"STORMGMT_FAULT_POINT": point})
        assert killed, point
        repaired = "half-written copy" if point == "host.fstab.temp_written" else None
        result = _converges(module, "mount", mounted, scratch, point, repaired)
        assert result["mount"]["mounted"] and result["mount"]["src"] == image, (point, result)
        assert "nosuid" in scratch.mount_of(path)[2]
        assert len(_fstab_lines(scratch, path)) == 1, (point, scratch.fstab_text())
        assert _leftovers(scratch, expect_mounts=[path], image_loops_ok=True) == CLEAN, point
        assert len(scratch.loops()) == 1  # the one loop device of the mount
        module("mount", dict(mounted, state="absent"))
        subprocess.run(["rmdir", path, scratch.path("mnt")], check=True)
    assert _leftovers(scratch) == CLEAN


def _host_args(scratch, **values):
    return dict(values, fstab=scratch.fstab, server=scratch.server)


def test_mount_remount_and_unmount_killed_at_each_step_converge(isolated, module):
    scratch = isolated
    image = scratch.image("a.img")
    path = scratch.path("data")
    os.mkdir(path)
    base = _host_args(scratch, path=path, src=image, state="mounted")
    changed = dict(base, opts="nosuid,nodev")
    absent = _host_args(scratch, path=path, state="absent")
    module("mount", base)
    remount_points = _points(module, "mount", changed, scratch)
    assert remount_points == ["host.mount.remounted", "host.fstab.temp_written", "host.fstab.replaced"]
    absent_points = _points(module, "mount", absent, scratch)
    assert absent_points == ["host.umount.done", "host.fstab.temp_written", "host.fstab.replaced"]
    for point in remount_points:
        module("mount", base)
        killed, _result = _forked(module, "mount", changed, {"STORMGMT_FAULT_POINT": point})
        assert killed, point
        repaired = "half-written copy" if point == "host.fstab.temp_written" else None
        _converges(module, "mount", changed, scratch, point, repaired)
        assert {"nosuid", "nodev"} <= set(scratch.mount_of(path)[2])
        assert _fstab_lines(scratch, path) == ["%s %s ext4 loop,nosuid,nodev 0 0" % (image, path)]
        assert _leftovers(scratch, expect_mounts=[path], image_loops_ok=True) == CLEAN, point
    for point in absent_points:
        module("mount", base)
        killed, _result = _forked(module, "mount", absent, {"STORMGMT_FAULT_POINT": point})
        assert killed, point
        repaired = "half-written copy" if point == "host.fstab.temp_written" else None
        _converges(module, "mount", absent, scratch, point, repaired)
        assert scratch.mount_of(path) is None and _fstab_lines(scratch, path) == []
        assert _leftovers(scratch) == CLEAN, point
    assert os.path.isdir(path)  # the mount point stays


# --- the block based filesystem module -----------------------------------------------------------

def test_mkfs_and_wipe_killed_at_each_step_converge(isolated, module):
    scratch = isolated
    image = scratch.path("disk.img")
    subprocess.run(["truncate", "--size", "16M", image], check=True)
    make = dict(device=image, fstype="ext4", name="faulty", server=scratch.server)
    wipe = dict(make, state="absent")
    make_points = _points(module, "filesystem", make, scratch)
    assert make_points == ["host.loop.attached", "host.mkfs.done", "host.loop.detached"]
    wipe_points = _points(module, "filesystem", wipe, scratch)
    assert wipe_points == ["host.loop.attached", "host.wipe.done", "host.loop.detached"]
    for path, points, wanted in ((make, make_points, "ext4"), (wipe, wipe_points, None)):
        for point in points:
            module("filesystem", wipe if wanted else make)  # start from the other state
            killed, _result = _forked(module, "filesystem", path, {"STORMGMT_FAULT_POINT": point})
            assert killed, point
            repaired = "detached loop device" if point in ("host.loop.attached", "host.mkfs.done",
                                                           "host.wipe.done") else None
            result = _converges(module, "filesystem", path, scratch, point, repaired)
            found = subprocess.run(["blkid", "-p", "-o", "value", "-s", "TYPE", image], capture_output=True,
                                   text=True, check=False).stdout.strip()
            assert (found or None) == wanted, (point, found)
            if wanted:
                assert result["filesystem"]["name"] == "faulty"
            assert _leftovers(scratch) == CLEAN, point


def test_grow_of_an_unmounted_xfs_killed_at_each_step_converges(isolated, module):
    scratch = isolated
    image = scratch.path("big.img")
    subprocess.run(["truncate", "--size", "320M", image], check=True)
    grow = dict(device=image, fstype="xfs", server=scratch.server)
    assert not module("filesystem", grow).get("failed")
    size = 320 << 20
    points = None
    for point in [None, "host.loop.attached", "host.mount.mounted", "host.grow.mounted", "host.umount.done",
                  "host.loop.detached"]:
        size += 32 << 20
        subprocess.run(["truncate", "--size", str(size), image], check=True)
        if point is None:
            points = _points(module, "filesystem", grow, scratch)
            assert points == ["host.loop.attached", "host.mount.mounted", "host.grow.mounted", "host.umount.done",
                              "host.loop.detached"]
            continue
        assert point in points
        killed, _result = _forked(module, "filesystem", grow, {"STORMGMT_FAULT_POINT": point})
        assert killed, point
        repaired = None if point == "host.loop.detached" else "detached loop device"
        if point in ("host.mount.mounted", "host.grow.mounted"):
            repaired = "unmounted"
        result = _converges(module, "filesystem", grow, scratch, point, repaired)
        assert result["filesystem"]["size"] >= size - (16 << 20), (point, result["filesystem"])
        assert _leftovers(scratch) == CLEAN, point
