# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""filesystem: bad input and other spellings of the same input, run in-process.

These were module round trips of the filesystem integration target (four or more Ansible tasks
each); the target keeps one representative of each kind (a bad name, a bad client, a missing
device, one other spelling of size and export) and these run here, with the same checks: the
task fails in check mode and for real with the same exception class and a message naming the
object, and nothing changes (the simulator's whole state; on the host: what blkid sees on the
image, the loop devices and mounts under the scratch directory). Block devices are real image
files (root, as the target).
"""

from __future__ import annotations

import subprocess

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

GiB = 1024 ** 3
EVERYTHING = ["pools", "luns", "snapshots", "access_groups", "filesystems", "consistency_groups", "group_snapshots"]


def _server_state(module, server: str) -> dict:
    result = module("storage_info", dict(server=server, gather_subset=EVERYTHING))
    assert not result.get("failed"), result
    return result["storage"]


def _refused(module, args: dict, error: str, words: list) -> dict:
    """Check mode and the real run fail alike: the same class, the same message naming the object."""
    predicted = module("filesystem", args, check_mode=True)
    failed = module("filesystem", args)
    for result in (predicted, failed):
        assert result["failed"] is True and not result.get("changed"), result
        assert result["error"] == error, result
        assert "Traceback" not in result["_stdout"]
    assert failed["msg"] == predicted["msg"]
    for word in words:
        assert word in failed["msg"], failed["msg"]
    return failed


@pytest.fixture
def fs_a(sim_uri, module):
    """fs-a of 1G exported to two clients, as the integration target makes it."""
    made = module("filesystem", dict(server=sim_uri, name="fs-a", size="1G",
                                     export=dict(clients=["localhost", "192.0.2.0/24"], options=["rw", "sync"])))
    assert made["changed"] and made["filesystem"]["export_clients"] == ["192.0.2.0/24", "localhost"], made
    return made["filesystem"]


@pytest.mark.parametrize("args, error, words", [
    (dict(name="a b", size="1G"), "InvalidValueEx", ["a b"]),
    (dict(name="fs-b", size="1G", pool="nopool"), "InvalidValueEx", ["fs-b", "nopool"]),
    (dict(name="fs-b", size="1P"), "InvalidValueEx", ["fs-b", "free"]),
    (dict(name="fs-a", export=dict(clients=["bad_host!"])), "ValueFormatEx", ["fs-a"]),
    (dict(name="fs-a", export=dict(access_groups=["nogroup"])), "OperationPreReqNotMetEx", ["fs-a", "nogroup"]),
    (dict(name="fs-a", export=dict(options=["rw sync"])), "ValueFormatEx", ["fs-a"]),
    (dict(name="fs-a", export=dict(options=["rw", "ro"])), "InvalidValueEx", ["fs-a", "contradict"]),
    (dict(name="fs-a", fstype="ext4"), "InvalidValueEx", ["fs-a", "fstype"]),
], ids=["name with a space", "unknown pool", "larger than the pool", "client not a host", "unknown access group",
        "export option with a space", "contradicting export options", "fstype of a network file system"])
def test_bad_network_input_is_refused_and_changes_nothing(sim_uri, fs_a, module, args, error, words):
    before = _server_state(module, sim_uri)
    _refused(module, dict(args, server=sim_uri), error, words)
    assert _server_state(module, sim_uri) == before


@pytest.mark.parametrize("size", ["1024M", "1073741824", "1g", "1 GiB"])
def test_other_spellings_of_size_and_export_change_nothing(sim_uri, fs_a, module, size):
    """Another spelling of the size, client names in other cases and the options in another order."""
    args = dict(server=sim_uri, name="fs-a", size=size,
                export=dict(clients=["192.0.2.0/24", "localhost", "LOCALHOST"], options=["sync", "rw"]))
    for check_mode in (True, False):
        again = module("filesystem", args, check_mode=check_mode, diff=True)
        assert again["changed"] is False and "action" not in again, again
        assert again["filesystem"] == fs_a
        assert again["diff"]["before"] == again["diff"]["after"]


def _host_state(scratch, image: str) -> dict:
    probe = subprocess.run(["blkid", "-p", "-o", "export", "--", image], capture_output=True, text=True, check=False)
    return dict(device=(probe.returncode, probe.stdout), loops=scratch.loops(), mounts=scratch.mounts())


@needs_root
@pytest.mark.parametrize("case, error, words", [
    (dict(device="misc.img", fstype="ext4"), "InvalidValueEx", ["misc.img", "absolute"]),
    (dict(device="@DIR@", fstype="ext4"), "InvalidValueEx", ["@DIR@"]),
    (dict(device="@IMAGE@", fstype="ext5"), "InvalidFSTypeEx", ["@IMAGE@", "ext5"]),
    (dict(device="@IMAGE@"), "MissingKeyEx", ["@IMAGE@", "fstype"]),
    (dict(device="@IMAGE@", fstype="xfs", name="a-label-of-20-chars"), "InvalidValueEx", ["a-label-of-20-chars", "at most 12"]),
    (dict(device="@IMAGE@", fstype="ext4", size="1G"), "InvalidValueEx", ["@IMAGE@", "network"]),
], ids=["relative device", "directory as device", "unknown fstype", "no fstype", "xfs label too long",
        "size of a network file system"])
def test_bad_block_input_is_refused_and_changes_nothing(scratch, module, case, error, words):
    image = scratch.path("misc.img")
    subprocess.run(["truncate", "--size", "160M", image], check=True)

    def fill(text):
        return text.replace("@DIR@", scratch.root).replace("@IMAGE@", image)

    before = _host_state(scratch, image)
    assert before["device"][0] == 2  # blank: blkid finds no signature
    _refused(module, dict((key, fill(value)) for key, value in case.items()), error, [fill(word) for word in words])
    assert _host_state(scratch, image) == before
