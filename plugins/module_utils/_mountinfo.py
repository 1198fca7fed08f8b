# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What this host has mounted and attached: the live mount table and loop devices. Private to this collection.

The bottom layer of the host side: :mod:`_host` (mkfs, mount, fstab) and
:mod:`_iscsi` (attaching LUNs) both read the mount table and drive loop devices
through here, so neither needs the other to do it (``_host`` uses ``_iscsi`` for
``iscsi://`` devices; ``_iscsi`` never imports ``_host``). ``_host`` re-exports
every name, so ``_host.mountinfo()`` and friends keep working.
"""

from __future__ import annotations

import json
import os

from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner, fixed, opt_val, positional
from ansible_collections.stormgmt.core.plugins.module_utils.errors import OperationFailedEx

MOUNTINFO = "/proc/self/mountinfo"

LOSETUP = Runner("losetup", dict(
    find=fixed("--find", "--show"), detach=opt_val("--detach"), set_capacity=opt_val("--set-capacity"),
    list=fixed("--list", "--json", "--output", "NAME,BACK-FILE,OFFSET,SIZELIMIT"),
    end=fixed("--"), file=positional()), package="util-linux")


# --- the live mount table -------------------------------------------------------

_OCTAL = lazy_compile(rb"\\([0-7]{3})")


def to_bytes(text: str) -> bytes:
    """A path or field as the kernel sees it (undecodable bytes kept by surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


def to_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def unescape(text: str) -> str:
    """Undo the octal escapes of mountinfo and fstab (\\040 is a space), byte by byte, as
    libmount does: \\303\\251 is the two bytes of an é."""
    if "\\" not in text:
        return text
    return to_text(_OCTAL.sub(lambda match: bytes((int(match.group(1), 8) & 0xFF,)), to_bytes(text)))


class MountEntry:
    """One line of /proc/self/mountinfo."""

    def __init__(self, mount_id: int, parent_id: int, majmin: str, root: str, mount_point: str,
                 vfs_options: list, fstype: str, source: str, super_options: list) -> None:
        self.mount_id = mount_id
        self.parent_id = parent_id
        self.majmin = majmin
        self.root = root
        self.mount_point = mount_point
        self.vfs_options = vfs_options
        self.fstype = fstype
        self.source = source
        self.super_options = super_options

    @property
    def readonly(self) -> bool:
        return "ro" in self.vfs_options or "ro" in self.super_options

    @property
    def options(self) -> list:
        """The options in force, as findmnt shows them: per-mount first, then the file system's."""
        merged = [option for option in self.vfs_options if option not in ("rw", "ro")]
        merged.insert(0, "ro" if self.readonly else "rw")
        for option in self.super_options:
            if option not in ("rw", "ro") and option not in merged:
                merged.append(option)
        return merged

    def __repr__(self) -> str:
        return "MountEntry(%s on %s type %s root %s)" % (self.source, self.mount_point, self.fstype, self.root)


def parse_mountinfo(text: str) -> list:
    """Entries of a mountinfo text (proc(5)), in the kernel's order: later ones are on top.

    Lines end at "\\n" only and fields are separated by single spaces: the kernel escapes
    those (and tabs and backslashes) in paths, but not the other characters that
    ``str.splitlines`` or ``str.split`` would cut at (\\r, \\x85, \\u2028...).
    """
    entries = []
    for line in text.split("\n"):
        fields = line.split(" ")
        if "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if len(fields) < sep + 3:
            continue
        try:
            entries.append(MountEntry(
                mount_id=int(fields[0]), parent_id=int(fields[1]), majmin=fields[2], root=unescape(fields[3]),
                mount_point=unescape(fields[4]), vfs_options=fields[5].split(","), fstype=unescape(fields[sep + 1]),
                source=unescape(fields[sep + 2]),
                super_options=fields[sep + 3].split(",") if len(fields) > sep + 3 else []))
        except ValueError:
            continue
    return entries


def mountinfo() -> list:
    with open(MOUNTINFO, "rb") as handle:
        return parse_mountinfo(to_text(handle.read()))


def mount_at(path: str, table: list | None = None) -> MountEntry | None:
    """The mount on top at ``path`` (a mount point), or None."""
    real = os.path.realpath(path)
    found = None
    for entry in table if table is not None else mountinfo():
        if entry.mount_point == real:
            found = entry
    return found


# --- loop devices ----------------------------------------------------------------

def loop_devices() -> list:
    """[{name, back-file, offset, sizelimit}] of every loop device in use."""
    result = LOSETUP("list")
    if not result.out.strip():
        return []
    try:
        return json.loads(result.out).get("loopdevices", [])
    except ValueError:
        raise OperationFailedEx("cannot read the output of losetup --list --json: %r" % result.out[:200]) from None


def loops_of(image: str, devices: list | None = None) -> list:
    """Loop devices backed by the whole of file ``image`` (no offset or size limit)."""
    real = os.path.realpath(image)
    found = []
    for device in devices if devices is not None else loop_devices():
        back = (device.get("back-file") or "").strip()
        if back.endswith(" (deleted)"):
            continue
        if back == real and not int(device.get("offset") or 0) and not int(device.get("sizelimit") or 0):
            found.append(device["name"])
    return found


def loop_backing_file(device: str) -> str | None:
    """The image file behind loop device ``device``, or None."""
    name = os.path.basename(os.path.realpath(device))
    if not name.startswith("loop"):
        return None
    try:
        with open("/sys/block/%s/loop/backing_file" % name) as handle:
            back = handle.read().strip()
    except (IOError, OSError):
        return None
    return back or None


def loop_attach(image: str) -> str:
    device = LOSETUP("find end file", file=image).out.strip()
    if not device.startswith("/dev/"):
        raise OperationFailedEx("losetup did not name a loop device for %s (it said %r)" % (image, device))
    return device


def loop_detach(device: str) -> None:
    LOSETUP("detach", detach=device)
