#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: filesystem
short_description: Manage network file systems on a storage server, or file systems on block devices
version_added: 0.1.0
description:
  - Two kinds of file system, chosen by O(device).
  - Without O(device), a B(network) file system made by the storage server behind O(server) in a pool, with a size,
    exported to NFS clients or access groups. The simulator keeps each one as a real directory beside its state
    file; RV(filesystem.access_path) is that directory, which M(stormgmt.core.mount) bind mounts.
  - The Linux server (V(linux:///pool-dir), or V(tgt://) with C(nfs_conf)) makes a btrfs subvolume whose size is a
    quota that writes cannot pass, and exports it with nfs-ganesha (NFSv4); RV(filesystem.access_path) is the
    C(host:/path) that O(stormgmt.core.mount#module:src) takes (with C(fstype=nfs4)), and
    RV(filesystem.nfs_url) the URL of libnfs tools such as C(nfs-ls). Run the task on the storage server
    (delegate it there); see the collection's docs/nfs_backend.md.
  - With O(device), a B(block based) file system made on a block device or image file of the managed node (an
    image file is attached to a loop device for the time of the task). It is made only when the device holds
    none; it is grown when the device has grown.
  - A second run with the same options changes nothing. A task that fails leaves the file system as it was.
  - Snapshots and clones of network file systems are managed with M(stormgmt.core.snapshot) and
    M(stormgmt.core.clone) (option C(filesystem)).
requirements:
  - For a block based file system (O(device)), on the managed node - util-linux (C(blkid), C(losetup), C(wipefs),
    C(mount)) and the tools of O(fstype) - e2fsprogs (C(mkfs.ext4), C(resize2fs), C(dumpe2fs)), xfsprogs
    (C(mkfs.xfs), C(xfs_growfs)) or btrfs-progs (C(mkfs.btrfs), C(btrfs)).
  - For an C(iscsi://) O(device), C(open-iscsi) where the kernel has an iSCSI initiator, else C(qemu-storage-daemon)
    (C(qemu-utils), C(qemu-block-extra), C(qemu-system-common)) and C(fuse3).
  - For a network file system, the Python library C(netaddr) where O(export.clients) holds addresses or networks,
    and what the backend of O(server) needs (the Linux server - btrfs-progs and nfs-ganesha; see its guide).
author:
  - stormgmt.core contributors (@stormgmt)
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
  - stormgmt.core.iscsi_initiator
options:
  name:
    description:
      - Name of a network file system, unique on the storage server (1 to 63 characters from C(A-Z a-z 0-9 _ . -),
        not starting with C(.) or C(-)). Required without O(device).
      - With O(device), the label written when the file system is made (ext4 at most 16 bytes, xfs 12). A file
        system that exists keeps its label.
    type: str
  pool:
    description:
      - Pool a network file system is carved from. Defaults to the backend's default pool when it is created.
      - A file system cannot move to another pool; naming a different pool for an existing one fails.
    type: str
  size:
    description:
      - Size (quota) of a network file system in bytes, or a number with a unit (V(512M), V(10G), V(1.5G), V(10GiB))
        that comes to a whole number of bytes; V(1.5) or a boolean fails with C(ValueFormatEx).
      - Required to create it. Another size resizes it; it cannot shrink below the space its files use.
      - The simulator counts the size in its pool; it does not stop writes beyond it. The Linux server enforces it
        (a write past it fails with EDQUOT, over NFS too).
    type: raw
  export:
    description:
      - How a network file system is exported. When given, the export is exactly this (V({}) removes it);
        when not given, the export is left as it is.
      - M(stormgmt.core.mount) mounts a simulator file system only on a host it is exported to (V(*),
        V(localhost), the host name, V(127.0.0.1) or a network holding it).
    type: dict
    suboptions:
      clients:
        description:
          - NFS clients, each V(*), an IP address, a network in CIDR form, a host name (wildcards V(*) and V(?)
            allowed) or an V(@netgroup). Normalised (lower case, networks to their base address) and sorted.
        type: list
        elements: str
      access_groups:
        description:
          - Access groups (M(stormgmt.core.access_group)) whose NFS clients the file system is exported to.
        type: list
        elements: str
      options:
        description:
          - Export options as in C(exports(5)), for example V(rw), V(sync), V(no_root_squash).
          - A set - their order does not matter (records list them sorted). Options that contradict each other
            (V(rw) and V(ro), V(root_squash) and V(no_root_squash), two values of V(anonuid=)...) fail with
            C(InvalidValueEx).
          - The Linux server (nfs-ganesha) takes V(rw), V(ro) (the default), V(root_squash) (the default),
            V(no_root_squash), V(all_squash), V(no_all_squash), V(anonuid=N), V(anongid=N) (default 65534),
            V(sec=sys:krb5...), V(secure), V(insecure) (the default), V(sync) and V(no_subtree_check) (what it always
            does); any other option (V(async), V(crossmnt), V(fsid=0)...) fails with C(InvalidValueEx) before anything
            changes. A host name client must resolve on the server.
        type: list
        elements: str
  device:
    description:
      - Makes this a block based file system on this device of the managed node. An absolute path to a block
        device (V(/dev/sdb)) or to an image file, which is attached through a loop device.
      - An C(iscsi://host[:port]/target-iqn/lun) URL names a LUN of an iSCSI target (for example the
        RV(stormgmt.core.access_group#module:access_group.target_iqn) of a V(tgt://) server), which this host
        attaches with O(initiator_name) and O(chap) for the time of the task (or uses where it is attached
        already, for example by a M(stormgmt.core.mount)); with open-iscsi where the kernel has an iSCSI
        initiator, else in user space with C(qemu-storage-daemon).
    type: str
  fstype:
    description:
      - Type of the block based file system, one of V(ext4), V(xfs), V(btrfs). Required to make one; another
        value fails with C(InvalidFSTypeEx).
      - xfs needs a device of at least 300 MiB, btrfs of at least 114 MiB.
    type: str
  force:
    description:
      - Block based (O(device)) and O(state=present), make O(fstype) even when the device holds another file system
        or a partition table; its data is lost. A file system of the O(fstype) asked for is never made again.
      - Network and O(state=absent), delete the file system with its snapshots and its export; clones made
        from it become independent.
      - A mounted file system is never replaced or deleted.
    type: bool
    default: false
  opts:
    description:
      - Block based (O(device)), extra arguments of C(mkfs.ext4), C(mkfs.xfs) or C(mkfs.btrfs), one argument per item
        (V([-b, "4096", -E, lazy_itable_init=0]), V([-m, crc=1]), V([--nodesize=16384])). They are given after the
        module's own arguments and before C(--) and the device.
      - They apply only when the file system is made (or made again with O(force=true)); a file system that exists
        already is not made again for them and keeps what it was made with. Then RV(opts_applied) is V(false) and a
        warning says so. To make it again with other arguments, wipe it first (O(state=absent)).
      - Each item is checked before anything changes, else the task fails with C(InvalidValueEx) - an item that does
        not start with C(-) must be the value of the short option just before it (an operand such as a device or a
        size is refused); a long option takes its value joined with C(=); a value-taking option cannot be last; no line
        break, control character, or white space inside an option; not C(--). Options that the module decides or that
        would write elsewhere are refused - force (C(-F), C(-f)), type (C(-t)), label (C(-L); use O(name)), dry runs
        and version (C(-n), C(-N), C(-V)), populating from host files (C(-d), C(-p), C(-r), C(--rootdir)), and external
        journal, log or realtime devices (C(-J device=), C(-l logdev=), C(-r rtdev=), C(-d name=), C(-O journal_dev)),
        and host files named to C(mkfs.ext4) (C(-z), which writes an undo file at the path it names; C(-l), which reads one).
      - Not with a network file system or O(state=absent).
    type: list
    elements: str
  grow:
    description:
      - Block based, grow the file system to the size of its device when the device is larger by 1 MiB or more
        (C(resize2fs), C(xfs_growfs), C(btrfs filesystem resize)). An xfs or btrfs file system that is not
        mounted is mounted on a private temporary directory for the time of the resize.
      - btrfs resizes only to 256 MiB or more on recent kernels.
      - Growing a mounted ext4 needs the C(CAP_SYS_RESOURCE) capability, which containers often lack; without
        it the task fails with C(OperationPreReqNotMetEx) before changing anything, and grows the file system
        once it is unmounted.
    type: bool
    default: true
  state:
    description:
      - V(present) makes (or grows, resizes, exports) the file system.
      - V(absent) deletes a network file system, or erases the file system signatures of a block device
        (C(wipefs --all)). A mounted file system fails with C(FileSystemBusyEx); a network one with snapshots,
        clones or an export too, unless O(force=true).
    type: str
    choices: [present, absent]
    default: present
notes:
  - Block based file systems need root on the managed node and the tools of their type (e2fsprogs, xfsprogs,
    btrfs-progs), plus util-linux (blkid, losetup, wipefs, mount).
seealso:
  - module: stormgmt.core.mount
  - module: stormgmt.core.snapshot
  - module: stormgmt.core.clone
"""

EXAMPLES = r"""
# A task that works on the storage server names it (one on a device or image file of the host needs none).
# These examples take it from the variable stormgmt_server (as the stormgmt.core.provision role does), for
# example sim:///var/lib/stormgmt/sim.db or tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults
# (group/stormgmt.core.storage) sets it once for a play.
- name: A network file system of 10 GiB, exported to one network, on the simulator
  stormgmt.core.filesystem:
    server: "{{ stormgmt_server }}"
    name: home
    size: 10G
    export:
      clients: [192.0.2.0/24, localhost]
      options: [rw, sync, no_root_squash]

- name: Grow it
  stormgmt.core.filesystem:
    server: "{{ stormgmt_server }}"
    name: home
    size: 20G

- name: An ext4 file system on a block device
  stormgmt.core.filesystem:
    device: /dev/vdb
    fstype: ext4
    name: data

- name: An ext4 file system with 1 KiB blocks and no reserved blocks (the opts apply when it is made)
  stormgmt.core.filesystem:
    device: /dev/vdc
    fstype: ext4
    opts: [-b, "1024", -m, "0"]
  register: made

- name: An xfs file system in an image file (attached through a loop device)
  stormgmt.core.filesystem:
    device: /srv/images/scratch.img
    fstype: xfs

- name: A file system of the Linux server (btrfs + nfs-ganesha), served to a network
  stormgmt.core.filesystem:
    server: linux:///srv/nas0?nfs_conf=/etc/stormgmt/ganesha/ganesha.conf
    name: projects
    size: 50G
    export:
      clients: [192.0.2.0/24]
      options: [rw, no_root_squash]
  register: projects
  # projects.filesystem.access_path: "nas.example.com:/nas0/projects", the src of a mount task

- name: Delete the network file system with its snapshots
  stormgmt.core.filesystem:
    server: "{{ stormgmt_server }}"
    name: home
    state: absent
    force: true
"""

RETURN = r"""
filesystem:
  description:
    - The File System record after the task (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of a network file system; label (or O(device)) of a block based one.
      type: str
      sample: home
    uuid:
      description: UUID of the file system; V(null) in check mode before it exists.
      type: str
    size:
      description: Size in bytes (quota of a network file system, size of a block based one).
      type: int
      sample: 10737418240
    free_sz:
      description: Bytes free.
      type: int
    access_path:
      description:
        - Where a host reaches a network file system. For the simulator, its directory on the managed node,
          which M(stormgmt.core.mount) bind mounts. For the Linux server, the C(host:/path) of its NFS export, the
          O(stormgmt.core.mount#module:src) of a mount with C(fstype=nfs4). V(null) for block based ones.
      type: str
      sample: /var/lib/stormgmt/sim.db.fs/home
    nfs_url:
      description:
        - For a file system served over NFS, its URL as libnfs tools read it
          (C(nfs-ls "nfs://host/path?version=4[&nfsport=PORT]")); V(null) otherwise.
      type: str
      sample: nfs://192.0.2.10/nas0/projects?version=4
    array_path:
      description: C(pool/name) of a network file system on the storage server.
      type: str
      sample: pool0/home
    mount_options:
      description: Options a host mounts a network file system with (V([bind]) for the simulator, V([vers=4.1]) and
        the port when it is not 2049 for the Linux server).
      type: list
      elements: str
    export_opts:
      description: Export options.
      type: list
      elements: str
    export_clients:
      description: NFS clients the file system is exported to, normalised and sorted.
      type: list
      elements: str
      sample: [192.0.2.0/24, localhost]
    access_grp_names:
      description: Access groups the file system is exported to.
      type: list
      elements: str
    state:
      description: One of the FS_STATES - C(UNKNOWN), C(UNMOUNTED), C(MOUNTED), C(MOUNTED_READONLY) (mounted on the managed node), C(ERROR).
      type: str
      sample: UNMOUNTED
    status:
      description: Readable status, naming the mount points.
      type: str
    fstype:
      description: Type of a block based file system; V(nfs4) for a network file system served over NFS (V(null) for
        the simulator's).
      type: str
      sample: ext4
    backing_device:
      description: The pool of a network file system; the O(device) of a block based one.
      type: str
      sample: /srv/images/scratch.img
    vol_group_name:
      description: Pool of a network file system.
      type: str
    parent:
      description: File system a clone was made from; V(null) when none or after a split.
      type: str
    parent_snapshot:
      description: Snapshot a clone was made from, or V(null).
      type: str
    ss_uuid:
      description: UUID of the storage server that holds a network file system; V(null) for a block based one.
      type: str
    qos:
      description: QoS level; V(null) when none.
      type: str
    created:
      description: When a network file system was made, in UTC by the storage server's clock; V(null) when not known.
      type: str
      sample: "2026-12-02T03:00:12Z"
    consistency_group:
      description: Consistency group a network file system is a member of; V(null) when none.
      type: str
    async_handle:
      description: Id of a job running on the file system (a clone, split or restore of the backend's); V(null) when none.
      type: str
    async_progress:
      description: Progress of that job in percent (0-100, -1 when the backend cannot tell); V(null) when none runs.
      type: int
    extra_info:
      description: Backend specific free text; V(null) when none.
      type: str
opts_applied:
  description:
    - With O(opts), whether mkfs ran (in check mode, would run) with them - V(false) when the file system exists already
      and was left as it is (a warning says so).
  returned: when O(opts) is given with O(state=present)
  type: bool
  sample: true
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
  description: What the task did or, in check mode, would do (V(create), V(update), V(grow), V(replace), V(delete)).
  returned: changed
  type: str
  sample: create
job:
  description:
    - The last job the backend ran for the task; with O(wait=false), the job it started, still running (follow it with
      the V(jobs) subset of M(stormgmt.core.storage_info), or with RV(filesystem.async_progress)).
  returned: when the backend ran a job
  type: dict
  contains:
    job_id:
      description: The job handle.
      type: str
    op:
      description: What the job does.
      type: str
    progress:
      description: Percent done (0-100; -1 when the backend cannot tell; 100 when complete).
      type: int
    status:
      description: V(RUNNING), V(COMPLETE) or V(ERROR).
      type: str
    error:
      description: When V(ERROR), C({error, msg}) - the exception class and message; V(null) otherwise.
      type: dict
    elapsed:
      description: Seconds the task waited for the job; absent when it did not wait (O(wait=false)).
      type: float
error:
  description:
    - Exception class of a failure.
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: FileSystemBusyEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._filesystem import (
    FILESYSTEM_MODULE_KWARGS,
    FilesystemResource,
    filesystem_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._host import use_module
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource


def main():
    module = new_module(filesystem_argument_spec(), **FILESYSTEM_MODULE_KWARGS)
    use_module(module)
    run_resource(module, FilesystemResource)


if __name__ == "__main__":
    main()
