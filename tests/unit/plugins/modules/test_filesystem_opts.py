# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""filesystem: extra mkfs arguments (``opts``, issue 11). Real mkfs on image files through
loop devices (root); the refusals are checked in-process, and each leaves the device as it was."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

from ansible_collections.stormgmt.core.plugins.module_utils import _host
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx


def _blank(scratch, name="disk.img", size="64M") -> str:
    image = scratch.path(name)
    subprocess.run(["truncate", "--size", size, image], check=True)
    return image


def _ext4_block_size(image: str) -> int:
    out = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True, check=True).stdout
    return int([line for line in out.splitlines() if line.startswith("Block size:")][0].split()[-1])


def _reserved(image: str) -> int:
    out = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True, check=True).stdout
    return int([line for line in out.splitlines() if line.startswith("Reserved block count:")][0].split()[-1])


@needs_root
def test_opts_reach_mkfs_when_the_file_system_is_made(scratch, module, module_process):
    image = _blank(scratch)
    args = dict(device=image, fstype="ext4", opts=["-b", "1024", "-m", "0"])
    predicted = module("filesystem", args, check_mode=True)
    assert predicted["changed"] and predicted["opts_applied"] is True
    assert _host.probe(image).get("TYPE") is None  # check mode made nothing
    made = module("filesystem", args)
    assert made["changed"] and made["action"] == "create" and made["opts_applied"] is True
    assert _ext4_block_size(image) == 1024 and _reserved(image) == 0
    for check_mode in (True, False):
        # in a process of its own, as Ansible runs it: the warning is part of what Ansible receives
        again = module_process("filesystem", args, check_mode=check_mode)
        assert not again["changed"] and again["opts_applied"] is False, again
        assert "opts were not applied" in json.dumps(again.get("warnings") or []), again
    # other opts on the existing file system: not made again, said so, nothing changes
    uuid = _host.probe(image)["UUID"]
    other = module("filesystem", dict(args, opts=["-b", "4096"]))
    assert not other["changed"] and other["opts_applied"] is False
    assert _host.probe(image)["UUID"] == uuid and _ext4_block_size(image) == 1024
    # without opts: no key, no warning
    plain = module("filesystem", dict(device=image, fstype="ext4"))
    assert "opts_applied" not in plain and not plain.get("warnings")


@needs_root
@pytest.mark.parametrize("fstype, opts, command, shown", [
    ("xfs", ["-b", "size=2048", "-K"], ["xfs_db", "-r", "-c", "sb 0", "-c", "p blocksize"], "blocksize = 2048"),
    ("btrfs", ["--nodesize=8192", "-m", "single"], ["btrfs", "inspect-internal", "dump-super"], "nodesize\t\t8192"),
])
def test_opts_of_xfs_and_btrfs(scratch, module, fstype, opts, command, shown):
    image = _blank(scratch, size="320M")
    made = module("filesystem", dict(device=image, fstype=fstype, opts=opts))
    assert made["changed"] and made["opts_applied"] is True, made
    assert _host.probe(image)["TYPE"] == fstype
    assert shown in subprocess.run(command + [image], capture_output=True, text=True, check=True).stdout


HOSTILE = [
    ["/dev/sda"],                      # an operand: would be another device
    ["-b", "1024", "/dev/sda"],        # an operand after an option's value
    ["-O"],                            # a value-taking option last would take the "--"
    ["--"], ["-"],                      # the module's own end of options
    ["-b\n1024"], ["-b", "10\u202824"], ["-\x00"], [""],
    ["-F"], ["-qF"],                   # force is the module's option
    ["-t", "ext2"],                    # another file system type
    ["-L", "x"],                       # the label is the name option
    ["-n"], ["-V"],                    # would make nothing and report a change
    ["-d", "/etc"],                    # would copy host files into the file system
    ["-J", "device=/dev/sdb"],         # an external journal on another device
    ["-O", "journal_dev"],             # a journal device, not a file system
    ["-E lazy_itable_init=0"],         # option and value in one word
    ["--label=x"],                     # ext4 has no long options
]


@needs_root
@pytest.mark.parametrize("opts", HOSTILE)
def test_hostile_opts_are_refused_and_nothing_changes(scratch, module, opts):
    image = _blank(scratch, size="16M")
    result = module("filesystem", dict(device=image, fstype="ext4", opts=opts))
    assert result["failed"] and result["error"] == "InvalidValueEx", result
    assert "opts" in result["msg"] and "Traceback" not in result["msg"]
    assert _host.probe(image).get("TYPE") is None
    assert scratch.loops() == []


@pytest.mark.parametrize("fstype, opts", [
    # mke2fs -z writes an undo file (2.5 MiB for 32 MiB, as root) at any path it names; -l reads a host file
    ("ext4", ["-z", "/etc/fstab"]), ("ext4", ["-z/etc/fstab"]), ("ext4", ["-l", "/etc/shadow"]),
    ("xfs", ["-l", "logdev=/dev/sdb"]), ("xfs", ["-lsize=10m,logdev=/dev/sdb"]), ("xfs", ["-r", "rtdev=/dev/sdc"]),
    ("xfs", ["-d", "name=/tmp/x"]), ("xfs", ["-f"]), ("xfs", ["-N"]), ("xfs", ["-p", "/tmp/proto"]),
    ("btrfs", ["--rootdir=/etc"]), ("btrfs", ["-r", "/etc"]), ("btrfs", ["--force"]), ("btrfs", ["-L", "x"]),
    ("btrfs", ["--nodesize", "16384"]), ("btrfs", ["/dev/sdb"]),
])
def test_hostile_opts_of_xfs_and_btrfs(fstype, opts):
    with pytest.raises(InvalidValueEx) as error:
        _host.check_mkfs_opts(fstype, opts)
    assert error.value.key == "opts"


def test_opts_go_before_the_end_of_options_and_the_device(monkeypatch):
    seen = []
    runner = _host.MKFS["ext4"]
    monkeypatch.setattr(runner, "executor", lambda argv, *rest: (seen.append(argv), (0, "", ""))[1])
    monkeypatch.setattr(_host, "fault_point", lambda name: None)
    _host.mkfs("ext4", "/dev/loop9", "data", ["-b", "1024", "-E", "lazy_itable_init=0"])
    assert [os.path.basename(seen[0][0])] + seen[0][1:] == ["mkfs.ext4", "-F", "-q", "-L", "data", "-b", "1024", "-E", "lazy_itable_init=0", "--", "/dev/loop9"]


def test_opts_of_a_network_file_system_are_refused(sim_uri, module):
    result = module("filesystem", dict(server=sim_uri, name="home", size="10M", opts=["-b", "1024"]))
    assert result["failed"] and result["error"] == "InvalidValueEx" and "opts" in result["msg"]


@needs_root
def test_opts_with_state_absent_are_refused(scratch, module):
    image = scratch.image("fs.img")
    result = module("filesystem", dict(device=image, state="absent", opts=["-b", "1024"]))
    assert result["failed"] and result["error"] == "InvalidValueEx"
    assert _host.probe(image)["TYPE"] == "ext4"
