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
  - fstab is written only after the mount or unmount it goes with has succeeded, in one atomic rename (C(AnsibleModule.atomic_move),
    which keeps owner, mode and SELinux context) that keeps its comments and other lines. Every character that could split a
    field or a line (spaces, tabs, any Unicode line break), start a comment (C(#)) or escape (a backslash) is written as an
    octal escape, as C(mount(8)) reads it, so that each entry stays exactly one line.
  - Symbolic links are not followed where that would change what is mounted or unmounted. A mount point that is a
    symbolic link, or is reached through one, fails with C(InvalidValueEx); C(mount) and C(umount) reach the mount
    point through its parent directory held open. An O(share_path) that leads out of the file system through a
    symbolic link fails with C(PermissionDeniedEx).
  - A simulator file system is mounted with a bind mount of its directory (RV(stormgmt.core.filesystem#module:filesystem.access_path)),
    plus O(share_path); it must be exported to this host. An image file is mounted through a loop device,
    which the kernel frees on unmount. A directory O(src) is bind mounted.
  - An NFS export (O(src) V(host:/path), O(fstype) V(nfs4) or V(nfs)) is mounted with the kernel's NFS client, which
    the host must have (the C(nfs-common) or C(nfs-utils) package); without it the task fails with
    C(OperationPreReqNotMetEx) and changes nothing. A O(filesystem) the Linux server serves over NFS is mounted that
    way, from its RV(stormgmt.core.filesystem#module:filesystem.access_path) with the server's
    RV(stormgmt.core.filesystem#module:filesystem.mount_options).
requirements:
  - util-linux (C(mount), C(umount), C(losetup), C(blkid), C(findmnt)) on the managed node.
  - For an NFS export, the kernel's NFS client (C(nfs-common) or C(nfs-utils)).
  - For an C(iscsi://) O(src), C(open-iscsi) where the kernel has an iSCSI initiator, else C(qemu-storage-daemon)
    (C(qemu-utils), C(qemu-block-extra), C(qemu-system-common)) and C(fuse3).
  - For a file system served over CephFS, C(ceph-fuse).
  - The Python library C(netaddr) on the managed node, to check that a O(filesystem) is exported to this host.
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
        C(UUID=...) or C(LABEL=...) tag, or a name such as V(tmpfs) with O(fstype). A value starting with C(-) fails
        with C(InvalidValueEx).
      - An C(iscsi://host[:port]/target-iqn/lun) URL names an iSCSI LUN, which is attached (O(initiator_name),
        O(chap)) when mounted and detached again when unmounted; with open-iscsi where the kernel has an iSCSI
        initiator, else in user space with C(qemu-storage-daemon) and a loop device. Give O(fstype) for a LUN
        that is not attached yet. An fstab line naming an C(iscsi://) URL is not mounted at boot; keep such
        mounts out of C(/etc/fstab) (O(fstab) can name another file).
      - V(host:/path) is an NFS export (O(fstype) V(nfs4) when not given), for example the
        RV(stormgmt.core.filesystem#module:filesystem.access_path) of a file system of the Linux server.
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
      - Mount options, as a list (V([ro, noatime])) or a comma separated string as in fstab (V(ro,noatime)).
        Default V(defaults). A comma inside double quotes (V(context="a,b")) does not separate.
      - Per-mount flags not named take their default (V(rw), V(relatime), V(suid), V(dev), V(exec),
        V(diratime), V(symfollow)); the live mount is compared with all of them and remounted when one differs.
      - fstab-only options (V(noauto), V(nofail), V(_netdev), V(x-*), V(comment=), V(user) and friends) are written to
        fstab and never given to C(mount). V(user), V(users), V(owner) and V(group) imply V(nosuid,nodev) (the first
        two V(noexec) too), as they do when root mounts such a line.
      - The same options in another order are the same options (no change).
      - White space, line breaks and control characters, and the operations V(remount), V(move), V(make-*) and
        V(X-mount.*), fail with C(InvalidValueEx).
    type: list
    elements: str
  share_path:
    description:
      - Directory inside the O(filesystem) to mount instead of its top, a relative path.
      - Symbolic links in it are resolved, and the real directory must be inside the file system; the directory that
        was checked is the one that is mounted (it is held open until the mount is made). The fstab line names the
        real directory.
    type: str
  fstab:
    description:
      - The fstab file to keep the line in. A scratch file is useful in tests.
      - When it is a symbolic link, its target is written (the link stays).
    type: path
    default: /etc/fstab
  boot:
    description:
      - Whether the file system is mounted at boot. V(false) writes V(noauto) into the fstab options (as
        C(ansible.posix.mount) does); the live mount is neither unmounted nor remounted for it. Changing it on an
        existing entry changes the fstab line only.
      - V(true) does not remove a V(noauto) that O(opts) names. V(false) with V(auto) in O(opts) fails with
        C(InvalidValueEx).
    type: bool
    default: true
  backup:
    description:
      - Before this task changes O(fstab), keep a copy of it as it was, beside it, named
        C(FSTAB.PID.YYYY-MM-DD@HH:MM:SS~) (as C(ansible.posix.mount) names them); its path is returned in
        RV(backup_file). When O(fstab) is a symbolic link, the copy is made beside the file it points to.
      - The copy has the mode of O(fstab), is complete or absent (written under another name, then linked into
        place), and never replaces a file or follows a symbolic link already under its name. No copy is made when
        fstab does not change, when it did not exist, or in check mode. When the copy cannot be written there, the
        task fails with C(OperationPreReqNotMetEx) before it mounts or unmounts anything.
    type: bool
    default: false
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
  - A run killed half way (kill -9, power cut) is repaired by the next run, which says what it repaired in a warning. A
    half-written copy of fstab is removed; the rest (a mount without its fstab line, an fstab line without its
    mount) is what the next run does anyway.
seealso:
  - module: stormgmt.core.filesystem
"""

EXAMPLES = r"""
# A task that works on the storage server names it (one on a device or image file of the host needs none).
# These examples take it from the variable stormgmt_server (as the stormgmt.core.provision role does), for
# example sim:///var/lib/stormgmt/sim.db or tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults
# (group/stormgmt.core.storage) sets it once for a play.
- name: Mount a simulator file system (exported to this host) on /srv/home
  stormgmt.core.mount:
    server: "{{ stormgmt_server }}"
    path: /srv/home
    filesystem: home
    state: mounted

- name: Mount one directory of it read-only, without set-user-ID programs or devices
  stormgmt.core.mount:
    server: "{{ stormgmt_server }}"
    path: /srv/projects
    filesystem: home
    share_path: projects
    opts: [ro, nosuid, nodev]
    state: mounted

- name: Mount an NFS export of the Linux server (the host needs its NFS client, nfs-common)
  stormgmt.core.mount:
    path: /srv/projects
    src: nas.example.com:/nas0/projects
    fstype: nfs4
    opts: vers=4.1,noatime
    state: mounted

- name: Mount an image file through a loop device
  stormgmt.core.mount:
    path: /mnt/scratch
    src: /srv/images/scratch.img
    opts: noatime
    state: mounted

- name: Keep a mount out of boot (noauto in fstab), with a copy of fstab as it was
  stormgmt.core.mount:
    path: /mnt/scratch
    src: /srv/images/scratch.img
    opts: noatime
    boot: false
    backup: true
    state: present
  register: scratch

- name: Say where the copy is
  when: scratch.backup_file is defined
  ansible.builtin.debug:
    msg: "fstab was saved to {{ scratch.backup_file }}"

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
    extra_info:
      description: Backend specific free text; V(null) when none.
      type: str
backup_file:
  description: The copy of O(fstab) made before this task changed it (O(backup=true)).
  returned: when O(backup=true) and fstab was changed
  type: str
  sample: /etc/fstab.4242.2026-12-02@01:30:00~
repaired:
  description:
    - What the run repaired on the storage server before its own work, left there by a run that was
      killed half-way (a partial copy removed, an interrupted step finished or undone). Also shown as
      warnings. Check mode never repairs.
  returned: when something was repaired
  type: list
  elements: str
  sample: ["removed the partial copy /var/tmp/stormgmt/sim.db.fs/.tmp/3f0c of an interrupted run (snapshot 'nightly' of file system 'home')"]
action:
  description: What the task did or, in check mode, would do (V(mount), V(remount), V(unmount), V(update fstab), V(remove)).
  returned: changed
  type: str
  sample: mount
error:
  description:
    - Exception class of a failure.
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: FileSystemAlreadyMountedEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._host import use_module
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource
from ansible_collections.stormgmt.core.plugins.module_utils._mount import (
    MOUNT_MODULE_KWARGS,
    MountResource,
    mount_argument_spec,
)


def main():
    module = new_module(mount_argument_spec(), **MOUNT_MODULE_KWARGS)
    use_module(module)
    run_resource(module, MountResource)


if __name__ == "__main__":
    main()
