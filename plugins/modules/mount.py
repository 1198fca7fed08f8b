#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: mount
short_description: Mount file systems on the managed node, with fstab persistence
version_added: 0.1.0
description:
  - Mounts and unmounts a network file system of the storage server (O(filesystem)), a block device, an image
    file or a directory (O(src)), and keeps its fstab line. The states mean what they mean to
    C(ansible.posix.mount).
  - The live mount is the truth. O(state=mounted) compares the source and the options of the mount in force
    (C(/proc/self/mountinfo)), not only the fstab line, and applies changed O(opts) to the live mount with a
    remount.
  - fstab is written only after the mount or unmount it goes with has succeeded, in one atomic rename that keeps
    its comments and other lines.
  - A simulator file system is mounted with a bind mount of its directory (RV(stormgmt.core.filesystem#module:filesystem.access_path)),
    plus O(share_path); it must be exported to this host. An image file is mounted through a loop device,
    which the kernel frees on unmount. A directory O(src) is bind mounted.
author:
  - stormgmt.core contributors (@stormgmt)
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
  - stormgmt.core.iscsi_initiator
options:
  path:
    description:
      - Mount point, an absolute path. Made (with its parents, mode 0755) by O(state=mounted) when missing;
        never removed.
    type: path
    required: true
  filesystem:
    description:
      - Network file system of the storage server behind O(server) to mount. Mutually exclusive with O(src).
    type: str
  src:
    description:
      - What to mount; an absolute path to a block device, an image file or a directory (bind mount), a
        C(UUID=...) or C(LABEL=...) tag, or a name such as V(tmpfs) with O(fstype).
      - An C(iscsi://host[:port]/target-iqn/lun) URL names an iSCSI LUN, which is attached (O(initiator_name),
        O(chap)) when mounted and detached again when unmounted; with open-iscsi where the kernel has an iSCSI
        initiator, else in user space with C(qemu-storage-daemon) and a loop device. Give O(fstype) for a LUN
        that is not attached yet. An fstab line naming an C(iscsi://) URL is not mounted at boot; keep such
        mounts out of C(/etc/fstab) (O(fstab) can name another file).
      - One of O(src) and O(filesystem) is required for O(state=mounted) and O(state=present).
    type: str
  fstype:
    description:
      - File system type. By default what C(blkid) finds on the device; a type this host's kernel and mount helpers
        do not know, or one that differs from what the device holds, fails with C(InvalidFSTypeEx).
      - Leave unset for O(filesystem) and directory sources (bind mounts).
    type: str
  opts:
    description:
      - Mount options, comma separated, as in fstab (V(ro,noatime)). Default V(defaults).
      - Per-mount flags not named take their default (V(rw), V(relatime), V(suid), V(dev), V(exec)).
    type: str
  share_path:
    description:
      - Directory inside the O(filesystem) to mount instead of its top, a relative path.
    type: str
  fstab:
    description:
      - The fstab file to keep the line in. A scratch file is useful in tests.
    type: path
    default: /etc/fstab
  dump:
    description: Fifth fstab field (dump).
    type: int
    default: 0
  passno:
    description: Sixth fstab field (fsck pass number).
    type: int
    default: 0
  state:
    description:
      - V(mounted) mounts it (or moves the mount point to the new source when fstab described the old mount), applies
        changed options to the live mount, and writes the fstab line. A mount point that is already a mount of
        something fstab does not name fails with C(FileSystemAlreadyMountedEx) and nothing changes.
      - V(unmounted) unmounts it; fstab is left as it is.
      - V(present) writes the fstab line only.
      - V(absent) unmounts it (even when fstab does not list it), then removes the fstab line. The mount-point
        directory stays. A busy mount fails with C(FileSystemBusyEx) and fstab keeps its line.
      - V(remounted) remounts a live mount with O(opts) (or its fstab options) without writing fstab; it always
        reports a change.
    type: str
    choices: [mounted, unmounted, present, absent, remounted]
    required: true
notes:
  - Needs root on the managed node.
seealso:
  - module: stormgmt.core.filesystem
"""

EXAMPLES = r"""
- name: Mount a simulator file system (exported to this host) on /srv/home
  stormgmt.core.mount:
    server: sim:///var/lib/stormgmt/sim.db
    path: /srv/home
    filesystem: home
    state: mounted

- name: Mount one directory of it read-only
  stormgmt.core.mount:
    server: sim:///var/lib/stormgmt/sim.db
    path: /srv/projects
    filesystem: home
    share_path: projects
    opts: ro
    state: mounted

- name: Mount an image file through a loop device
  stormgmt.core.mount:
    path: /mnt/scratch
    src: /srv/images/scratch.img
    opts: noatime
    state: mounted

- name: Unmount it and forget it (the directory stays)
  stormgmt.core.mount:
    path: /mnt/scratch
    state: absent
"""

RETURN = r"""
mount:
  description:
    - The Mount record after the task (in check mode, as it would be); empty when the path is neither mounted
      nor in fstab.
  returned: always
  type: dict
  contains:
    uuid:
      description: UUID of this mount point on this host (stable across runs).
      type: str
    fs_uuid:
      description: UUID of the mounted file system, when known.
      type: str
    mount_point:
      description: The mount point.
      type: str
      sample: /srv/home
    src:
      description: What is mounted (directory of a bind mount, image file of a loop device, device), or the fstab source.
      type: str
      sample: /var/lib/stormgmt/sim.db.fs/home
    fstype:
      description: Type of the mounted file system (for a bind mount, of the file system holding the directory).
      type: str
      sample: ext4
    options:
      description: Options in force on the live mount, or the fstab options when not mounted.
      type: list
      elements: str
      sample: [rw, relatime]
    share_path:
      description: Directory of the O(filesystem) that is mounted, or V(null) for its top.
      type: str
    mounted:
      description: Whether it is mounted now.
      type: bool
    status:
      description: V(mounted), V(mounted read-only) or V(not mounted).
      type: str
    fstab_entry:
      description: The fstab line for the mount point, or V(null).
      type: str
      sample: /var/lib/stormgmt/sim.db.fs/home /srv/home none bind 0 0
action:
  description: What the task did or, in check mode, would do (V(mount), V(remount), V(unmount), V(update fstab), V(remove)).
  returned: changed
  type: str
  sample: mount
error:
  description: Exception class of a failure.
  returned: failed
  type: str
  sample: FileSystemAlreadyMountedEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource
from ansible_collections.stormgmt.core.plugins.module_utils._mount import (
    MOUNT_MODULE_KWARGS,
    MountResource,
    mount_argument_spec,
)


def main():
    module = new_module(mount_argument_spec(), **MOUNT_MODULE_KWARGS)
    run_resource(module, MountResource)


if __name__ == "__main__":
    main()
