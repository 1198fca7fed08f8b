# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scratch directory for tests that mount for real (root): mount points, images, a
scratch fstab. Whatever a test leaves mounted or attached under it is taken off in
teardown, even when the test failed; the plain tools do it, not the code under test."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts and loop devices need root")


def _unescape(field: str) -> str:
    data = re.sub(rb"\\([0-7]{3})", lambda match: bytes((int(match.group(1), 8),)),
                  field.encode("utf-8", "surrogateescape"))
    return data.decode("utf-8", "surrogateescape")


def _mountinfo() -> list:
    """(mount point, source, per-mount options, super options) of every mount, from the kernel."""
    with open("/proc/self/mountinfo", "rb") as handle:
        text = handle.read().decode("utf-8", "surrogateescape")
    entries = []
    for line in text.split("\n"):
        fields = line.split(" ")
        if "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        entries.append((_unescape(fields[4]), _unescape(fields[sep + 2]), fields[5].split(","),
                        fields[sep + 3].split(",")))
    return entries


class Scratch:
    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.fstab = os.path.join(self.root, "fstab")
        self.server = "sim://" + os.path.join(self.root, "state", "sim.db") + "?create=true"

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def mounts(self) -> list:
        """Mounts under the scratch directory: [(mount point, source, vfs options, super options)]."""
        return [entry for entry in _mountinfo() if entry[0].startswith(self.root + "/")]

    def mount_of(self, path: str):
        found = [entry for entry in _mountinfo() if entry[0] == path]
        return found[-1] if found else None

    def loops(self) -> list:
        out = subprocess.run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"], capture_output=True,
                             text=True, check=True).stdout
        devices = json.loads(out).get("loopdevices", []) if out.strip() else []
        return [device["name"] for device in devices
                if (device.get("back-file") or "").startswith(self.root + "/")]

    def fstab_text(self) -> str:
        try:
            with open(self.fstab, "rb") as handle:
                return handle.read().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            return ""

    def image(self, name: str, fstype: str = "ext4", size: str = "16M") -> str:
        image = self.path(name)
        subprocess.run(["truncate", "--size", size, image], check=True)
        subprocess.run(["mkfs." + fstype, "-q"] + (["-F"] if fstype == "ext4" else ["-f"]) + [image], check=True,
                       capture_output=True)
        return image

    def cleanup(self) -> None:
        for _pass in range(3):
            points = sorted(set(entry[0] for entry in self.mounts()), key=len, reverse=True)
            for point in points:
                subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
        for device in self.loops():
            subprocess.run(["losetup", "--detach", device], capture_output=True, check=False)


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    root = Scratch(str(tmp_path))
    os.mkdir(root.path("locks"))
    # the fstab locks too (one per fstab file, in /run/lock outside tests)
    from ansible_collections.stormgmt.core.plugins.module_utils import _host

    monkeypatch.setattr(_host, "LOCK_DIR", root.path("locks"), raising=False)
    try:
        yield root
    finally:
        root.cleanup()
    assert root.mounts() == [] and root.loops() == []
