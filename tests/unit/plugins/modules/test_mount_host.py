# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mount module against the real kernel, mount(8) and a scratch fstab (root): the
defects of issue 10 that a hostile user found, each as a user would notice it. Every
mount point, image and fstab is under the test's temporary directory; host_scratch takes
off whatever is left mounted or attached there.

Items: 6 (flags reach the live mount), 7 (a source is never an option), 8 (share_path
stays in the file system), 9 (fstab lines), 10 (symlinked mount points), 17 (option
order), 18 (symlinked fstab), 21 (opts as a list).
"""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

from ansible_collections.stormgmt.core.plugins.module_utils import _host

pytestmark = needs_root


def _args(scratch, **values):
    args = dict(fstab=scratch.fstab, server=scratch.server)
    args.update(values)
    return args


def _tmpfs(scratch, name="m", **values):
    args = dict(path=scratch.path(name), src="tmpfs", fstype="tmpfs", state="mounted")
    args.update(values)
    return _args(scratch, **args)


# --- item 6: options added to a live mount reach it ------------------------------------

@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
def test_flags_added_to_a_live_mount_are_applied_to_it(scratch, module, kind):
    if kind == "bind":
        os.mkdir(scratch.path("data"))
        args = _args(scratch, path=scratch.path("m"), src=scratch.path("data"), state="mounted")
    else:
        args = _tmpfs(scratch, opts="size=1m")
    assert module("mount", args)["changed"]
    point = scratch.path("m")
    assert "nosuid" not in scratch.mount_of(point)[2]
    size = ",size=1m" if kind == "tmpfs" else ""
    # the flags alone (no ro, which the kernel shows either way): a missing nosuid is not "met"
    for opts, flags in (("nosuid,nodev,noexec", ("rw", "nosuid", "nodev", "noexec")),
                        ("nosuid,nodev,noexec,nodiratime,ro", ("ro", "nosuid", "nodev", "noexec", "nodiratime"))):
        for check_mode in (True, False):
            applied = module("mount", dict(args, opts=opts + size), check_mode=check_mode)
            assert applied["changed"] and applied["action"] == "remount", applied
        live = scratch.mount_of(point)[2]
        for flag in flags:
            assert flag in live, (flag, live)
        for check_mode in (True, False):
            again = module("mount", dict(args, opts=opts + size), check_mode=check_mode)
            assert not again["changed"], again
        assert opts in scratch.fstab_text()
    # and back to the defaults: every flag not named takes its default again
    back = module("mount", args)
    assert back["changed"] and back["action"] == "remount"
    assert scratch.mount_of(point)[2][:1] == ["rw"] and "nosuid" not in scratch.mount_of(point)[2]


def test_a_flag_the_kernel_cannot_give_is_an_error_not_a_silent_ok(scratch, module):
    """dirsync changes only with a new mount: a remount that cannot apply it says so."""
    args = _tmpfs(scratch, opts="size=1m")
    module("mount", args)
    result = module("mount", dict(args, opts="size=1m,dirsync"))
    assert result["failed"] and result["error"] == "OperationFailedEx", result
    assert "dirsync" in result["msg"] and "unmount it and mount it again" in result["msg"]
    assert "dirsync" not in scratch.fstab_text()  # fstab is written only after the mount is right


# --- item 7: a source is never read as an option -----------------------------------------

def test_a_source_starting_with_a_dash_is_refused(scratch, module):
    other = scratch.path("other-fstab")
    with open(other, "w") as handle:
        handle.write("tmpfs %s tmpfs size=1m 0 0\n" % scratch.path("m"))
    for src in ("--fstab=" + other, "-o", "-"):
        result = module("mount", _tmpfs(scratch, src=src))
        assert result["failed"] and result["error"] == "InvalidValueEx", result
        assert "starts with '-'" in result["msg"]
    assert scratch.mounts() == [] and scratch.fstab_text() == ""


def test_every_operand_follows_a_double_dash(scratch):
    """mount(8) gets "--" before its operands: a source "--fstab=..." is a name (tmpfs takes any)."""
    os.mkdir(scratch.path("m"))
    _host.mount("--fstab=/nonexistent", scratch.path("m"), "tmpfs", ["size=1m"])
    assert scratch.mount_of(scratch.path("m"))[1] == "--fstab=/nonexistent"
    _host.umount(scratch.path("m"))
    assert scratch.mounts() == []


def _runner_calls(source: str) -> list:
    """(runner name, order) of every Runner call with a literal order in ``source``."""
    import re

    return re.findall(r"\b([A-Z][A-Z0-9_]*(?:\[[a-z]+\])?)\(\s*\"([a-z_ ]+)\"", source)


@pytest.mark.parametrize("name", ["_host", "_iscsi"])
def test_every_runner_call_puts_a_double_dash_before_its_operands(name):
    """The audit of item 7, kept: every call of a program with an operand (a device, a
    path) passes "--" before it, so no value can be read as an option."""
    import importlib

    module = importlib.import_module("ansible_collections.stormgmt.core.plugins.module_utils." + name)
    with open(module.__file__) as handle:
        source = handle.read()
    calls = _runner_calls(source)
    assert calls
    checked = 0
    for runner_name, order in calls:
        runner = getattr(module, runner_name.split("[")[0])
        runner = next(iter(runner.values())) if isinstance(runner, dict) else runner
        words = order.split()
        operands = [index for index, word in enumerate(words)
                    if runner.formats[word]("x") == ["x"]]  # a positional: the value as it is
        if operands:
            checked += 1
            assert "end" in words and words.index("end") < operands[0], (runner_name, order)
            assert runner.formats["end"](None) == ["--"]
    assert checked


# --- item 8: share_path stays in the file system -------------------------------------------

@pytest.fixture
def shared(scratch, module):
    made = module("filesystem", dict(server=scratch.server, name="fs1", size="10M",
                                     export=dict(clients=["localhost"])))
    assert not made.get("failed"), made
    return made["filesystem"]["access_path"]


def test_share_path_through_a_symlink_out_of_the_file_system_is_refused(scratch, module, shared):
    outside = scratch.path("outside")
    os.mkdir(outside)
    with open(os.path.join(outside, "secret"), "w") as handle:
        handle.write("not in the share\n")
    os.symlink(outside, os.path.join(shared, "evil"))
    os.mkdir(os.path.join(shared, "sub"))
    os.symlink("/etc", os.path.join(shared, "sub", "etc"))
    for share_path in ("evil", "sub/etc", "evil/"):
        args = _args(scratch, path=scratch.path("m"), filesystem="fs1", share_path=share_path, state="mounted")
        for check_mode in (True, False):
            result = module("mount", args, check_mode=check_mode)
            assert result["failed"] and result["error"] == "PermissionDeniedEx", result
            assert "leads out of the file system" in result["msg"]
        present = module("mount", dict(args, state="present"))
        assert present["failed"] and present["error"] == "PermissionDeniedEx"
    assert scratch.mounts() == [] and scratch.fstab_text() == ""


def test_share_path_through_a_symlink_inside_mounts_the_real_directory(scratch, module, shared):
    os.mkdir(os.path.join(shared, "real"))
    with open(os.path.join(shared, "real", "file"), "w") as handle:
        handle.write("inside\n")
    os.symlink("real", os.path.join(shared, "alias"))
    args = _args(scratch, path=scratch.path("m"), filesystem="fs1", share_path="alias", state="mounted")
    result = module("mount", args)
    assert result["changed"] and not result.get("failed"), result
    assert result["mount"]["src"] == os.path.join(os.path.realpath(shared), "real")
    assert result["mount"]["fstab_entry"].startswith(os.path.join(os.path.realpath(shared), "real") + " ")
    with open(scratch.path("m", "file")) as handle:
        assert handle.read() == "inside\n"
    assert not module("mount", args)["changed"]


def test_the_directory_checked_is_the_directory_mounted(scratch):
    """The bind mount takes the directory from the fd opened when it was checked: a
    symlink put in its place afterwards changes nothing."""
    share = scratch.path("share")
    os.makedirs(os.path.join(share, "dir"))
    with open(os.path.join(share, "dir", "marker"), "w") as handle:
        handle.write("checked\n")
    os.mkdir(scratch.path("m"))
    real, fd = _host.open_inside(share, "dir", "share_path 'dir'")
    try:
        os.rename(os.path.join(share, "dir"), os.path.join(share, "moved"))
        os.symlink("/etc", os.path.join(share, "dir"))
        _host.mount(real, scratch.path("m"), None, ["bind"], source_fd=fd)
    finally:
        os.close(fd)
    with open(scratch.path("m", "marker")) as handle:
        assert handle.read() == "checked\n"
    assert not os.path.exists(scratch.path("m", "passwd"))


# --- item 10: a symlinked mount point is never followed ----------------------------------------

def test_a_symlink_mount_point_is_refused_and_its_target_stays_mounted(scratch, module):
    real = scratch.path("real")
    os.mkdir(real)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", real], check=True)
    os.symlink(real, scratch.path("link"))
    os.mkdir(scratch.path("dir"))
    os.symlink(scratch.path("dir"), scratch.path("parent-link"))
    cases = [
        dict(path=scratch.path("link"), state="absent"),
        dict(path=scratch.path("link"), state="unmounted"),
        dict(path=scratch.path("link"), state="remounted"),
        dict(path=scratch.path("link"), src="tmpfs", fstype="tmpfs", state="mounted"),
        dict(path=scratch.path("parent-link", "m"), src="tmpfs", fstype="tmpfs", state="mounted"),
        dict(path=scratch.path("parent-link", "m"), src="tmpfs", fstype="tmpfs", state="present"),
    ]
    for case in cases:
        for check_mode in (True, False):
            result = module("mount", _args(scratch, **case), check_mode=check_mode)
            assert result["failed"] and result["error"] == "InvalidValueEx", (case, result)
            assert "symbolic link" in result["msg"], result
    assert [entry[0] for entry in scratch.mounts()] == [real]
    assert scratch.fstab_text() == "" and os.listdir(scratch.path("dir")) == []


def test_unmount_reaches_the_mount_point_without_following_symlinks(scratch):
    """A directory on the way swapped for a symlink after the check: umount does not follow it."""
    os.makedirs(scratch.path("a", "m"))
    os.makedirs(scratch.path("victim", "m"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", scratch.path("victim", "m")], check=True)
    pinned = _host.Pinned(scratch.path("a", "m"))
    with pinned:
        os.rename(scratch.path("a"), scratch.path("a-moved"))
        os.symlink(scratch.path("victim"), scratch.path("a"))
        result = _host.UMOUNT("nocanon end target", check_rc=False, target=pinned.proc_path)
    assert result.rc != 0  # a-moved/m is not a mount point: nothing was unmounted
    assert scratch.mount_of(scratch.path("victim", "m")) is not None


# --- items 17 and 21: option order, opts as a list --------------------------------------------

def test_opts_as_a_list_reach_the_mount_and_fstab(scratch, module):
    os.mkdir(scratch.path("data"))
    args = _args(scratch, path=scratch.path("m"), src=scratch.path("data"), opts=["ro", "nosuid"], state="mounted")
    result = module("mount", args)
    assert result["changed"] and not result.get("failed"), result
    assert result["mount"]["fstab_entry"] == "%s %s none bind,ro,nosuid 0 0" % (scratch.path("data"), scratch.path("m"))
    assert scratch.fstab_text() == result["mount"]["fstab_entry"] + "\n"
    flags = scratch.mount_of(scratch.path("m"))[2]
    assert flags[0] == "ro" and "nosuid" in flags
    assert not module("mount", args)["changed"]
    assert not module("mount", dict(args, opts="ro,nosuid"))["changed"]  # the same as a string


def test_reordered_options_are_no_change(scratch, module):
    args = _tmpfs(scratch, opts="size=1m,nosuid,nodev,noatime")
    assert module("mount", args)["changed"]
    line = scratch.fstab_text()
    for opts in ("noatime,nodev,nosuid,size=1m", ["nodev", "size=1m", "noatime", "nosuid"],
                 "defaults,nosuid,size=1m,nodev,noatime,nosuid"):
        for check_mode in (True, False):
            result = module("mount", dict(args, opts=opts), check_mode=check_mode)
            assert not result["changed"], (opts, result)
    assert scratch.fstab_text() == line


# --- item 18: a symlinked fstab stays a symlink ----------------------------------------------

def test_a_symlinked_fstab_is_written_through(scratch, module):
    os.mkdir(scratch.path("etc"))
    real = scratch.path("etc", "fstab.real")
    with open(real, "w") as handle:
        handle.write("# the real fstab\n")
    os.chmod(real, 0o640)
    os.chown(real, 0, 4)
    os.symlink(real, scratch.fstab)
    result = module("mount", _args(scratch, path=scratch.path("m"), src="tmpfs", fstype="tmpfs", state="present"))
    assert result["changed"] and not result.get("failed"), result
    assert os.path.islink(scratch.fstab) and os.readlink(scratch.fstab) == real
    with open(real) as handle:
        assert handle.read() == "# the real fstab\ntmpfs %s tmpfs defaults 0 0\n" % scratch.path("m")
    info = os.stat(real)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 0, 4)
    assert [name for name in os.listdir(scratch.path("etc")) if name != "fstab.real"] == []
    removed = module("mount", _args(scratch, path=scratch.path("m"), state="absent"))
    assert removed["changed"] and os.path.islink(scratch.fstab)
    with open(real) as handle:
        assert handle.read() == "# the real fstab\n"


# --- item 9: fstab lines through the module ---------------------------------------------------

@pytest.mark.parametrize("src", [
    "#foo", " #foo", "tmp\x0bfs", "tmp\x0cfs", "tmp\rfs", "tmp\x1cfs", "tmp\x1dfs", "tmp\x1efs", "tmp\x85fs",
    "tmp\u2028fs", "tmp\u2029fs", "tmp\nfs", "a b\tc", "back\\040slash", "caf\xe9",
])
def test_every_source_is_one_fstab_line_that_reads_back(scratch, module, src):
    path = scratch.path("m\u2028x")
    with open(scratch.fstab, "w") as handle:
        handle.write("# kept\n")
    args = _args(scratch, path=path, src=src, fstype="tmpfs", opts="size=1m,x-a\x23b", state="present")
    assert module("mount", args)["changed"]
    for check_mode in (True, False):
        assert not module("mount", args, check_mode=check_mode)["changed"]
    text = scratch.fstab_text()
    assert text.count("\n") == 2 and len(text.splitlines()) == 2 and text.startswith("# kept\n"), repr(text)
    entry = _host.FstabEntry.parse(text.split("\n")[1])
    assert (entry.src, entry.path, entry.fstype, entry.options) == (src, path, "tmpfs", ["size=1m", "x-a#b"])
    # and mount(8)'s own library reads the same entry
    found = subprocess.run(["findmnt", "--tab-file", scratch.fstab, "--raw", "--noheadings", "--output",
                            "SOURCE,TARGET,OPTIONS"], capture_output=True, check=True).stdout
    expected = " ".join(_findmnt_raw(value) for value in (src, path, "size=1m,x-a#b")) + "\n"
    assert found.decode("utf-8", "surrogateescape") == expected


def _findmnt_raw(value: str) -> str:
    """How findmnt --raw prints a value: unsafe bytes as \\xHH."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        out.append(char if 0x20 < byte < 0x7f and char != "\\" else "\\x%02x" % byte)
    return "".join(out)
