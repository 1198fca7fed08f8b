#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot
short_description: Manage read-only snapshots of LUNs, file systems and consistency groups; restore and rotate them
version_added: 0.1.0
description:
  - Creates or deletes a read-only point-in-time copy of a LUN or of a network file system, or rolls the parent
    back to it.
  - Snapshot names are unique among the snapshots of one parent, so every LUN may have its own V(daily).
  - With O(consistency_group), one B(group snapshot) holds a snapshot of every member of the group, all taken at
    one point in time (crash consistent, as if the power had failed at that instant). Each member's snapshot has the
    group snapshot's name; restore and delete act on the whole set. A member's snapshot can be cloned like any
    snapshot (M(stormgmt.core.clone) with O(stormgmt.core.clone#module:snapshot)).
  - With O(prefix) instead of O(name), the task B(rotates) snapshots - it takes a new snapshot when the newest of the
    series is older than O(every), and deletes those past the newest O(keep) or older than O(max_age). Run it from a
    schedule (AWX, cron); run again before it is due, it changes nothing. See the C(data_protection) guide of the
    collection's docs.
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
      - Name of the snapshot, 1 to 63 characters from C(A-Z a-z 0-9 _ . -), not starting with C(.) or C(-).
      - Exactly one of O(name) and O(prefix) is required.
    type: str
  lun:
    description:
      - LUN the snapshot belongs to. Exactly one of O(lun), O(filesystem) and O(consistency_group) is required.
    type: str
  filesystem:
    description:
      - Network file system the snapshot belongs to.
    type: str
  consistency_group:
    description:
      - Consistency group (see M(stormgmt.core.consistency_group)) whose members are snapshotted together, in one
        group snapshot of every member LUN and file system, all of one point in time.
      - Needs the backend abilities C(consistency_group) and C(cg_snapshot) (C(cg_snapshot_restore) to restore);
        a backend without them fails with C(NoSuchOperationEx) before anything changes.
      - A member that already has a snapshot of that name fails the task with C(InvalidValueEx); a group without
        members with C(OperationPreReqNotMetEx).
    type: str
  state:
    description:
      - V(present) creates the snapshot when it is missing; an existing snapshot is never overwritten.
      - V(absent) deletes it. A snapshot with clones that depend on it is kept and the task fails with
        C(StorageElementBusyEx). A member's snapshot of a group snapshot is deleted only with the whole group
        snapshot (give O(consistency_group)); alone, it fails with C(StorageElementBusyEx).
      - V(restored) rolls the parent back to the snapshot (every member, for a group snapshot). It changes nothing
        when the backend knows the parent still holds the snapshot's content. Restoring a LUN that is mapped to an
        access group would change data under running initiators, so it fails with C(SnapRestoreNotSafeEx); unmap
        it first. A group snapshot is restored for all its members or for none.
      - The rotation form (O(prefix)) takes V(present) only.
    type: str
    choices: [present, absent, restored]
    default: present
  prefix:
    description:
      - Rotation form. The snapshots of the series are named O(prefix) followed by the UTC time they were taken,
        as C(YYYYMMDDTHHMMSSZ) - for example V(nightly-) gives C(nightly-20261202T030012Z). At most 47 characters,
        so that the name fits in 63.
      - Only snapshots whose names are exactly O(prefix) and such a time belong to the series; the task never
        deletes any other snapshot, whatever its name starts with (V(nightly-before-upgrade) is not part of the
        V(nightly-) series), nor the snapshots of group snapshots when it rotates a single LUN or file system.
      - Requires O(every) and at least one of O(keep) and O(max_age).
    type: str
  every:
    description:
      - Rotation form. How often a snapshot is taken, as a duration - V(1d), V(12h), V(1h30m), V(1w), V(90m) (units
        C(s), C(m), C(h), C(d), C(w); no months or years) or a number of seconds. At least V(1m).
      - A new snapshot is taken when the newest of the series is at least O(every) old, less a tolerance of a tenth
        of O(every) (at most two hours), so that a schedule that starts a few seconds early - or an hour early, when
        it is kept in local time and daylight saving time begins - does not skip a turn. With V(1d), a run 22 hours
        or more after the newest snapshot takes the next one.
      - Ages are measured on the storage server's clock (its records' creation times and its current time), in
        seconds since the epoch; time zones and daylight saving time play no part.
    type: str
  keep:
    description:
      - Rotation form. Keep the newest O(keep) snapshots of the series (the one this run takes included); older
        ones are deleted.
    type: int
  max_age:
    description:
      - Rotation form. Delete the snapshots of the series older than this duration (same form as O(every)).
      - With O(keep) too, a snapshot is deleted when either applies. The newest snapshot of the series is never
        deleted, and neither is one a clone depends on or one that is busy with a job; those are kept and listed
        in RV(kept_snapshots).
    type: str
seealso:
  - module: stormgmt.core.lun
  - module: stormgmt.core.clone
  - module: stormgmt.core.consistency_group
  - module: stormgmt.core.storage_info
    description: reports the group snapshots and the rotation status (newest, count, next due).
"""

EXAMPLES = r"""
# Every task names its storage server. These examples take it from the variable stormgmt_server (as the
# stormgmt.core.provision role does), for example sim:///var/lib/stormgmt/sim.db or
# tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults (group/stormgmt.core.storage) sets it once for a play.
- name: Snapshot a LUN before an upgrade
  stormgmt.core.snapshot:
    server: "{{ stormgmt_server }}"
    name: before-upgrade
    lun: db01

- name: Roll the LUN back to it
  stormgmt.core.snapshot:
    server: "{{ stormgmt_server }}"
    name: before-upgrade
    lun: db01
    state: restored

- name: Snapshot a network file system
  stormgmt.core.snapshot:
    server: "{{ stormgmt_server }}"
    name: nightly
    filesystem: home

- name: Drop the snapshot
  stormgmt.core.snapshot:
    server: "{{ stormgmt_server }}"
    name: before-upgrade
    lun: db01
    state: absent

# A database on three LUNs (db-data, db-redo, db-logs) in the consistency group "db", see
# stormgmt.core.consistency_group. module_defaults names the storage server once, from the variable
# stormgmt_server, e.g. tgt:///srv/pool0?portal=192.0.2.10:3260.
- name: Protect the database
  module_defaults:
    group/stormgmt.core.storage:
      server: "{{ stormgmt_server }}"
  block:
    - name: One crash-consistent snapshot of all three LUNs before an upgrade
      stormgmt.core.snapshot:
        name: before-upgrade
        consistency_group: db

    - name: Nightly, keep 7 - run this task every night (AWX schedule or cron)
      stormgmt.core.snapshot:
        prefix: nightly-
        consistency_group: db
        every: 1d
        keep: 7
      register: nightly

    - name: Say what the rotation did
      ansible.builtin.debug:
        msg: >-
          took {{ nightly.created_snapshot | default('nothing', true) }},
          deleted {{ nightly.pruned_snapshots | join(', ') | default('nothing', true) }},
          next one due at {{ nightly.rotation.next_due }}

    - name: Hourly snapshots of a single LUN for two days
      stormgmt.core.snapshot:
        prefix: hourly-
        lun: db01
        every: 1h
        max_age: 2d

    - name: Roll the whole database back to the group snapshot (unmap its LUNs first)
      stormgmt.core.snapshot:
        name: before-upgrade
        consistency_group: db
        state: restored

    - name: Delete the group snapshot, with the snapshot of every member
      stormgmt.core.snapshot:
        name: before-upgrade
        consistency_group: db
        state: absent
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot as a Storage Element record (C(se_type=SNAP)), after the task (in check mode, as it would be).
      Empty when the snapshot is absent.
    - A snapshot of a LUN and a snapshot of a file system are both Storage Element records; RV(snapshot.parent)
      names the LUN or file system.
  returned: with O(name) and O(lun) or O(filesystem)
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      type: str
      sample: before-upgrade
    uuid:
      description: UUID the storage server gave the snapshot; V(null) in check mode before it exists.
      type: str
      sample: 0b5c0a7e-8f44-4d1e-9a55-0f0d0b3c2a11
    id:
      description: The backend's own identifier of the snapshot (a row number, an RBD image id, a libstoragemgmt id...).
      type: str
      sample: "17"
    ss_uuid:
      description: UUID of the storage server that holds the snapshot (the C(uuid) of
        RV(stormgmt.core.storage_info#module:storage.server)).
      type: str
      sample: 5f2b8c1e-0d7a-4c55-b0a4-3f6e9d2c7b10
    page83_id:
      description: SCSI VPD page 0x83 identifier (NAA) the snapshot has when it is exported, or V(null) where the
        backend has none.
      type: str
      sample: 60014050b5c0a7e8f444d1e9a55
    se_type:
      description: Always C(SNAP).
      type: str
      choices: [SNAP]
      sample: SNAP
    size:
      description: Size of the parent when the snapshot was taken, in bytes (file systems - their quota where they
        have one).
      type: int
      sample: 10737418240
    thin:
      description: Whether the snapshot is thin provisioned (sparse), V(null) where the backend does not say.
      type: bool
      sample: true
    vol_group_name:
      description: The pool (volume group) of the snapshot - what O(stormgmt.core.lun#module:pool) names.
      type: str
      sample: pool0
    access_grp_names:
      description: Access groups the snapshot is mapped to, sorted; V([]) when none.
      type: list
      elements: str
      sample: [db]
    qos:
      description: Quality-of-service level, or V(null).
      type: str
      sample: gold
    state:
      description:
        - State of the snapshot, one of the SE_STATES - C(UNKNOWN), C(OFFLINE), C(BUSY_CREATE), C(BUSY_CLONE),
          C(BUSY_COPY), C(BUSY_CHILDREN), C(ERROR), C(ONLINE).
        - C(ONLINE) when usable; C(BUSY_CREATE), C(BUSY_CLONE) or C(BUSY_COPY) while a job of the storage server
          works on it (with O(wait=false), or a run that gave up at O(wait_timeout)); C(ERROR) when the last
          operation on it failed (RV(snapshot.status) says why).
      type: str
      choices: [UNKNOWN, OFFLINE, BUSY_CREATE, BUSY_CLONE, BUSY_COPY, BUSY_CHILDREN, ERROR, ONLINE]
      sample: ONLINE
    status:
      description: Free-form status text of the backend (V(OK), or what is wrong, or the job that keeps it busy).
      type: str
      sample: OK
    vendor:
      description: SCSI vendor string the snapshot is exported with, or V(null).
      type: str
      sample: STORMGMT
    product_id:
      description: SCSI product string, or V(null).
      type: str
      sample: SIM-LUN
    path:
      description: Paths of the snapshot on the storage server (the image file of C(tgt://), the directory of a
        file system snapshot), where it has any; V([]) otherwise.
      type: list
      elements: str
      sample: [/srv/pool0/db01.img]
    array_path:
      description: Where the snapshot lives in the storage server's own terms (C(pool/name), C(pool/name@snapshot),
        a file path...), or V(null).
      type: str
      sample: pool0/db01
    parent:
      description: Name of the LUN or file system the snapshot belongs to.
      type: str
      sample: db01
    parent_snapshot:
      description: Always V(null) for a snapshot.
      type: str
      sample: null
    created:
      description: When the snapshot was taken - the point in time it holds - in UTC by the storage server's clock
        (C(YYYY-MM-DDTHH:MM:SSZ)); V(null) in check mode before it exists, or where the backend does not
        keep it.
      type: str
      sample: "2026-12-02T03:00:12Z"
    consistency_group:
      description: The consistency group whose group snapshot this snapshot is part of (it is then created, restored
        and deleted with the whole set), else V(null).
      type: str
      sample: null
    async_handle:
      description: The handle of the storage server's job that works on the snapshot while RV(snapshot.state) is busy
        (the RV(job.job_id) of that job), else V(null).
      type: str
      sample: null
    async_progress:
      description: Percent done (0-100) of that job, V(-1) when the backend cannot tell, V(null) when no job runs.
      type: int
      sample: null
    extra_info:
      description: More the backend says about the snapshot, free-form (C(lsm+) - a JSON text with the
        libstoragemgmt ids; C(ceph://) - where a split clone came from), or V(null).
      type: str
      sample: null
group_snapshot:
  description:
    - The group snapshot, after the task (in check mode, as it would be). Empty when it is absent.
  returned: with O(name) and O(consistency_group)
  type: dict
  contains:
    name:
      description: Name of the group snapshot, and of the snapshot of each member.
      type: str
      sample: before-upgrade
    uuid:
      description: UUID of the group snapshot; V(null) in check mode before it exists.
      type: str
    ss_uuid:
      description: UUID of the storage server that holds it (the C(uuid) of
        RV(stormgmt.core.storage_info#module:storage.server)).
      type: str
    consistency_group:
      description: The consistency group.
      type: str
      sample: db
    luns:
      description: The LUNs it holds a snapshot of.
      type: list
      elements: str
      sample: [db-data, db-logs, db-redo]
    filesystems:
      description: The file systems it holds a snapshot of.
      type: list
      elements: str
      sample: []
    size:
      description: The members' sizes added up, in bytes.
      type: int
    created:
      description: The point in time it holds, in UTC by the storage server's clock; V(null) in check mode.
      type: str
      sample: "2026-12-02T03:00:12Z"
    state:
      description:
        - State of the group snapshot, one of the SE_STATES - C(UNKNOWN), C(OFFLINE), C(BUSY_CREATE), C(BUSY_CLONE),
          C(BUSY_COPY), C(BUSY_CHILDREN), C(ERROR), C(ONLINE).
        - C(ONLINE) when every member's snapshot is usable.
      type: str
      choices: [UNKNOWN, OFFLINE, BUSY_CREATE, BUSY_CLONE, BUSY_COPY, BUSY_CHILDREN, ERROR, ONLINE]
      sample: ONLINE
    status:
      description: Free-form status text of the backend.
      type: str
      sample: OK
    extra_info:
      description: More the backend says about the group snapshot, free-form, or V(null).
      type: str
      sample: null
rotation:
  description:
    - The series of the rotation after the task (in check mode, as it would be). The diff shows it before and after.
  returned: with O(prefix)
  type: dict
  contains:
    prefix:
      description: The prefix.
      type: str
      sample: nightly-
    parent:
      description: The LUN, file system or consistency group.
      type: str
      sample: db
    parent_type:
      description: V(lun), V(filesystem) or V(consistency_group).
      type: str
      sample: consistency_group
    every:
      description: O(every), normalised.
      type: str
      sample: 1d
    snapshots:
      description: Names of the snapshots of the series, oldest first.
      type: list
      elements: str
      sample: [nightly-20261201T030007Z, nightly-20261202T030012Z]
    count:
      description: How many snapshots the series holds.
      type: int
      sample: 2
    newest:
      description: Name of the newest snapshot of the series, V(null) when there is none.
      type: str
      sample: nightly-20261202T030012Z
    newest_created:
      description: When the newest was taken (UTC, storage server's clock).
      type: str
      sample: "2026-12-02T03:00:12Z"
    next_due:
      description: From when on a run takes the next snapshot (UTC, storage server's clock) - the newest's time plus
        O(every), less the tolerance.
      type: str
      sample: "2026-12-03T02:00:12Z"
created_snapshot:
  description: Name of the snapshot the rotation took (in check mode, would take), V(null) when none was due.
  returned: with O(prefix)
  type: str
  sample: nightly-20261202T030012Z
pruned_snapshots:
  description: Names of the snapshots the rotation deleted (in check mode, would delete).
  returned: with O(prefix)
  type: list
  elements: str
  sample: [nightly-20261125T030004Z]
kept_snapshots:
  description:
    - Snapshots of the series that are due for deletion but stay, each with the reason - a clone depends on them,
      or they are busy with a job. Reported by every run until they can go.
  returned: with O(prefix)
  type: list
  elements: dict
  sample: [{name: nightly-20261120T030002Z, reason: "past the newest 7, but clone(s) db-test depend on it"}]
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
  description: What the task did or, in check mode, would do (V(create), V(delete), V(restore), V(rotate)).
  returned: changed
  type: str
  sample: restore
job:
  description:
    - Restores may run as jobs. The last job the storage server ran for the task, or started with O(wait=false) (then
      still C(RUNNING) - run the task again, or poll with RV(job.job_id), to see it end).
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
    - Exception class of a failure (C(SnapRestoreNotSafeEx), C(OperationPreReqNotMetEx), ...).
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: SnapRestoreNotSafeEx
diff:
  description:
    - In diff mode, V(before) and V(after) - the snapshot, group snapshot or rotation series before the task and after it (in check mode, as it would
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
from ansible_collections.stormgmt.core.plugins.module_utils._snapshot import snapshot_resource


def main():
    module = new_module(
        dict(
            name=dict(type="str"),
            lun=dict(type="str"),
            filesystem=dict(type="str"),
            consistency_group=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "restored"]),
            prefix=dict(type="str"),
            every=dict(type="str"),
            keep=dict(type="int"),
            max_age=dict(type="str"),
        ),
        mutually_exclusive=[("lun", "filesystem", "consistency_group"), ("name", "prefix")],
        required_one_of=[("lun", "filesystem", "consistency_group"), ("name", "prefix")],
        required_by=dict(every="prefix", keep="prefix", max_age="prefix"),
    )
    run_resource(module, snapshot_resource)


if __name__ == "__main__":
    main()
