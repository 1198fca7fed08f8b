#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: clone
short_description: Manage writable clones of LUNs, snapshots and file systems
version_added: 0.1.0
description:
  - Creates a writable copy of a LUN or network file system, or of one of its snapshots (a snap clone), splits a
    clone from its parent, or deletes it.
  - A clone of a LUN is a LUN. It can be mapped to access groups, resized with M(stormgmt.core.lun) and deleted by
    either module. A clone of a file system is a file system.
  - A clone depends on its parent until it is split; the parent cannot be deleted while it has clones.
author:
  - stormgmt.core contributors (@stormgmt)
requirements:
  - On the node the task runs on (the storage server itself for C(tgt://) and C(linux://); a Ceph client or iSCSI
    gateway host for C(ceph://); any host, often the controller with C(delegate_to), for C(sim://), C(lsm+NAME://)
    and C(plugin+NAME://)) - the Python that ansible-core needs there, and per backend of O(server)
  - C(sim://) - nothing more (Python's own C(sqlite3)); file system snapshots and clones copy with C(cp) of GNU coreutils
  - C(tgt://) and C(linux://) with a block parameter - the tgt iSCSI target (C(tgtadm), a running C(tgtd); Debian
    package C(tgt)) and C(cp) of GNU coreutils; a pool directory on btrfs or xfs makes copies
    reflinks (constant time);
    file systems (C(linux://), or C(tgt://) with C(nfs_conf)) need C(btrfs-progs) (a btrfs pool) and nfs-ganesha
    for exported ones
  - C(ceph://) - Ceph's Python bindings C(rados) and C(rbd) (Debian C(python3-rados), C(python3-rbd)) (and C(cephfs), C(python3-cephfs), for CephFS), the
    cluster's configuration and a keyring of the client
  - C(lsm+NAME://) - libstoragemgmt's plug-in C(NAME_lsmplugin) and what it needs (for C(lsm+sim://) the Debian
    package C(python3-libstoragemgmt)); the lsmd daemon is not needed
  - C(plugin+NAME://) - the executable C(stormgmt-plugin-NAME) of the plug-in, on C($STORMGMT_PLUGIN_PATH), in
    C(/usr/libexec/stormgmt/plugins) or on C($PATH)
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
options:
  name:
    description:
      - Name of the clone, unique among the LUNs (or file systems) of the server.
    type: str
    required: true
  lun:
    description:
      - LUN to clone (or whose O(snapshot) to clone). Exactly one of O(lun) and O(filesystem) is required.
    type: str
  filesystem:
    description:
      - Network file system to clone (or whose O(snapshot) to clone).
    type: str
  snapshot:
    description:
      - Clone this snapshot of the parent instead of its current content.
    type: str
  split:
    description:
      - Make the clone independent of its parent (a full copy). Afterwards RV(clone.parent) is V(null) and the
        parent may be deleted.
      - V(false) never joins a split clone back.
    type: bool
    default: false
  state:
    description:
      - V(present) creates the clone when it is missing. An existing object of that name must be a clone of the
        same parent (or a split one), otherwise the task fails with C(InvalidValueEx).
      - V(absent) deletes it; a clone mapped to access groups or with snapshots is kept
        (C(StorageElementBusyEx)).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: stormgmt.core.snapshot
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
# Every task names its storage server. These examples take it from the variable stormgmt_server (as the
# stormgmt.core.provision role does), for example sim:///var/lib/stormgmt/sim.db or
# tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults (group/stormgmt.core.storage) sets it once for a play.
- name: Clone a LUN for a test environment
  stormgmt.core.clone:
    server: "{{ stormgmt_server }}"
    name: db01-test
    lun: db01

- name: Clone a snapshot and make the copy independent
  stormgmt.core.clone:
    server: "{{ stormgmt_server }}"
    name: db01-restore
    lun: db01
    snapshot: before-upgrade
    split: true

- name: Clone a network file system from its nightly snapshot
  stormgmt.core.clone:
    server: "{{ stormgmt_server }}"
    name: home-yesterday
    filesystem: home
    snapshot: nightly

- name: Remove the test clone
  stormgmt.core.clone:
    server: "{{ stormgmt_server }}"
    name: db01-test
    lun: db01
    state: absent
"""

RETURN = r"""
clone:
  description:
    - The clone after the task (in check mode, as it would be); empty when absent.
    - A Storage Element record for a LUN clone, a File System record (as
      RV(stormgmt.core.filesystem#module:filesystem)) for a file system clone. The keys below say which of the two
      has them where only one does.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the clone.
      type: str
      sample: db01-test
    uuid:
      description: UUID the storage server gave the clone; V(null) in check mode before it exists.
      type: str
      sample: 0b5c0a7e-8f44-4d1e-9a55-0f0d0b3c2a11
    id:
      description: LUN clones - the backend's own identifier of the clone (a row number, an RBD image id, a
        libstoragemgmt id...).
      type: str
      sample: "17"
    ss_uuid:
      description: UUID of the storage server that holds the clone (the C(uuid) of
        RV(stormgmt.core.storage_info#module:storage.server)).
      type: str
      sample: 5f2b8c1e-0d7a-4c55-b0a4-3f6e9d2c7b10
    page83_id:
      description: LUN clones - SCSI VPD page 0x83 identifier (NAA) the clone has when it is exported, or V(null)
        where the
        backend has none.
      type: str
      sample: 60014050b5c0a7e8f444d1e9a55
    se_type:
      description: LUN clones - C(LUN) (a clone of a LUN) or C(SNAPCLONE) (a clone of a snapshot). File system clones
        have no RV(clone.se_type).
      type: str
      choices: [LUN, SNAPCLONE]
      sample: SNAPCLONE
    size:
      description: Size in bytes (of the parent when the clone was made, unless it was resized since).
      type: int
      sample: 10737418240
    thin:
      description: LUN clones - whether the clone is thin provisioned (sparse), V(null) where the backend does not say.
      type: bool
      sample: true
    vol_group_name:
      description: The pool (volume group) of the clone - what O(stormgmt.core.lun#module:pool) names.
      type: str
      sample: pool0
    access_grp_names:
      description: Access groups the clone is mapped to, sorted; V([]) when none.
      type: list
      elements: str
      sample: [db]
    qos:
      description: Quality-of-service level, or V(null).
      type: str
      sample: gold
    state:
      description:
        - LUN clones - one of the SE_STATES - C(UNKNOWN), C(OFFLINE), C(BUSY_CREATE), C(BUSY_CLONE),
          C(BUSY_COPY), C(BUSY_CHILDREN), C(ERROR), C(ONLINE).
        - File system clones - one of the FS_STATES - C(UNKNOWN), C(UNMOUNTED), C(MOUNTED), C(MOUNTED_READONLY),
          C(ERROR) (as RV(stormgmt.core.filesystem#module:filesystem.state)).
        - C(ONLINE) when usable; C(BUSY_CREATE), C(BUSY_CLONE) or C(BUSY_COPY) while a job of the storage server
          works on it (with O(wait=false), or a run that gave up at O(wait_timeout)); C(ERROR) when the last
          operation on it failed (RV(clone.status) says why).
      type: str
      choices: [UNKNOWN, OFFLINE, BUSY_CREATE, BUSY_CLONE, BUSY_COPY, BUSY_CHILDREN, ERROR, ONLINE, UNMOUNTED,
                MOUNTED, MOUNTED_READONLY]
      sample: ONLINE
    status:
      description: Free-form status text of the backend (V(OK), or what is wrong, or the job that keeps it busy).
      type: str
      sample: OK
    vendor:
      description: LUN clones - SCSI vendor string the clone is exported with, or V(null).
      type: str
      sample: STORMGMT
    product_id:
      description: LUN clones - SCSI product string, or V(null).
      type: str
      sample: SIM-LUN
    path:
      description: LUN clones - paths of the clone on the storage server (the image file of C(tgt://), the directory
        of a
        file system snapshot), where it has any; V([]) otherwise.
      type: list
      elements: str
      sample: [/srv/pool0/db01.img]
    array_path:
      description: Where the clone lives in the storage server's own terms (C(pool/name), C(pool/name@snapshot),
        a file path...), or V(null).
      type: str
      sample: pool0/db01
    parent:
      description: Name of the LUN or file system the clone came from; V(null) after a split (O(split=true)) made it
        independent.
      type: str
      sample: db01
    parent_snapshot:
      description: Name of the snapshot (of RV(clone.parent)) the clone came from, or V(null) for a clone of the live
        LUN or file system, and after a split.
      type: str
      sample: before-upgrade
    created:
      description: When the clone was made, in UTC by the storage server's clock (C(YYYY-MM-DDTHH:MM:SSZ)); V(null) in
        check mode before it exists, or where the backend does not keep it.
      type: str
      sample: "2026-12-02T03:00:12Z"
    consistency_group:
      description: The consistency group the clone is a member of, else V(null) (a new clone is in none).
      type: str
      sample: null
    async_handle:
      description: The handle of the storage server's job that works on the clone while RV(clone.state) is busy
        (the RV(job.job_id) of that job), else V(null).
      type: str
      sample: null
    async_progress:
      description: Percent done (0-100) of that job, V(-1) when the backend cannot tell, V(null) when no job runs.
      type: int
      sample: null
    extra_info:
      description: More the backend says about the clone, free-form (C(lsm+) - a JSON text with the
        libstoragemgmt ids; C(ceph://) - where a split clone came from), or V(null).
      type: str
      sample: null
    free_sz:
      description: File system clones - free space in bytes.
      type: int
      sample: 10485760000
    access_path:
      description: File system clones - where hosts reach the clone (a directory on the server, or C(host:/path)
        where it is served over NFS).
      type: str
      sample: nas1.example.com:/srv/nas0/home-test
    mount_options:
      description: File system clones - options a mount of the clone uses.
      type: list
      elements: str
      sample: [bind]
    export_opts:
      description: File system clones - export options, sorted.
      type: list
      elements: str
      sample: []
    export_clients:
      description: File system clones - NFS clients the clone is exported to.
      type: list
      elements: str
      sample: []
    nfs_url:
      description: File system clones - C(nfs://host/path?version=4) where the clone is served over NFS, else V(null).
      type: str
      sample: null
    backing_device:
      description: File system clones - what the clone is made on (the pool, a device, or a structure the backend
        describes).
      type: raw
      sample: pool0
    fstype:
      description: File system clones - the file system type where the backend knows it (V(btrfs), V(ceph)...).
      type: str
      sample: btrfs
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
  description: What the task did or, in check mode, would do (V(create), V(split), V(delete)).
  returned: changed
  type: str
  sample: create
job:
  description:
    - The last job the storage server ran for the task, or started with O(wait=false) (then still C(RUNNING) -
      run the task again, or poll with RV(job.job_id), to see it end).
    - Also returned when the task failed because of that job (it ended in C(ERROR), or outlived O(wait_timeout)).
  returned: when the backend ran a job
  type: dict
  contains:
    job_id:
      description: Handle of the job on the storage server.
      type: str
      sample: job-3f0c2a
    op:
      description: What the job does, in the backend's words.
      type: str
      sample: create_lun
    progress:
      description: Percent done (0-100) when the job was last read; V(-1) when the backend cannot tell, V(null) once
        it is over.
      type: int
      sample: 100
    status:
      description: C(RUNNING), C(COMPLETE) or C(ERROR).
      type: str
      choices: [RUNNING, COMPLETE, ERROR]
      sample: COMPLETE
    error:
      description: Why the job failed (C(status=ERROR)), else V(null).
      type: dict
      contains:
        error:
          description: Exception class of the failure (as RV(error)).
          type: str
          sample: OperationFailedEx
        msg:
          description: What went wrong.
          type: str
        key:
          description: The option or field the failure is about, where there is one.
          type: str
    elapsed:
      description: Seconds the task waited for the job to finish; only when it waited until the job was over.
      type: float
      sample: 2.35
      returned: when the task waited for the job to end
error:
  description:
    - Exception class of a failure.
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: OperationPreReqNotMetEx
diff:
  description:
    - In diff mode, V(before) and V(after) - the clone before the task and after it (in check mode, as it would
      be); V({}) for an object that is absent.
  returned: diff mode
  type: dict
  contains:
    before:
      description: The record before the task.
      type: dict
    after:
      description: The record after the task.
      type: dict
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource
from ansible_collections.stormgmt.core.plugins.module_utils._snapshot import CloneResource


def main():
    module = new_module(
        dict(
            name=dict(type="str", required=True),
            lun=dict(type="str"),
            filesystem=dict(type="str"),
            snapshot=dict(type="str"),
            split=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[("lun", "filesystem")],
        required_one_of=[("lun", "filesystem")],
    )
    run_resource(module, CloneResource)


if __name__ == "__main__":
    main()
