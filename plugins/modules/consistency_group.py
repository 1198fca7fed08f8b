#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: consistency_group
short_description: Manage consistency groups - LUNs (and file systems) snapshotted together
version_added: 0.2.0
description:
  - A consistency group is a named set of LUNs - and, where the backend can (ability C(cg_filesystems)), network
    file systems - on one storage server, for example the data, redo and log LUNs of one database.
  - M(stormgmt.core.snapshot) with O(stormgmt.core.snapshot#module:consistency_group) takes one snapshot of every
    member at one point in time (a group snapshot), restores and deletes it as a whole, and rotates such snapshots
    on a schedule.
  - A LUN or file system is in one group at most. A member LUN is not deleted without
    O(stormgmt.core.lun#module:force), as a mapped LUN is not.
  - Needs the backend ability C(consistency_group); a backend without it fails with C(NoSuchOperationEx) before
    anything changes.
author:
  - stormgmt.core contributors (@stormgmt)
requirements:
  - On the node the task runs on (the storage server itself for C(tgt://) and C(linux://); a Ceph client or iSCSI
    gateway host for C(ceph://); any host, often the controller with C(delegate_to), for C(sim://) and
    C(plugin+NAME://)) - the Python that ansible-core needs there, and per backend of O(server)
  - C(sim://) - nothing more (Python's own C(sqlite3)); file system snapshots and clones copy with C(cp) of GNU coreutils
  - C(tgt://) and C(linux://) with a block parameter - the tgt iSCSI target (C(tgtadm), a running C(tgtd); Debian
    package C(tgt)) and C(cp) of GNU coreutils; a pool directory on btrfs or xfs makes copies
    reflinks (constant time);
    file systems (C(linux://), or C(tgt://) with C(nfs_conf)) need C(btrfs-progs) (a btrfs pool) and nfs-ganesha
    for exported ones
  - C(plugin+NAME://) - the executable C(stormgmt-plugin-NAME) of the plug-in, on C($STORMGMT_PLUGIN_PATH), in
    C(/usr/libexec/stormgmt/plugins) or on C($PATH)
  - C(ceph://) and C(lsm+NAME://) have no consistency groups (the task fails with C(NoSuchOperationEx))
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
options:
  name:
    description:
      - Name of the consistency group, unique on the server; 1 to 63 characters from C(A-Z a-z 0-9 _ . -), not
        starting with C(.) or C(-).
    type: str
    required: true
  luns:
    description:
      - Member LUNs, by name. A name listed twice counts once.
      - With O(append=false) the group holds exactly these LUNs; LUNs not listed leave the group (they stay on the
        server). Not set leaves the member LUNs as they are.
      - Every LUN must exist (else C(OperationPreReqNotMetEx)) and be in no other group (else C(InvalidValueEx));
        then the task changes nothing.
    type: list
    elements: str
  filesystems:
    description:
      - Member network file systems, by name, on backends with the ability C(cg_filesystems). Same rules as O(luns).
    type: list
    elements: str
  append:
    description:
      - V(false) makes O(luns) and O(filesystems) exact lists. V(true) only adds what is missing.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the group; V(absent) deletes it. Its members stay.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete the group even when it has group snapshots; they are deleted with it. Without
        it the task fails with C(StorageElementBusyEx). A group snapshot with a clone that depends on one of its
        snapshots is never deleted (C(StorageElementBusyEx), even with O(force)).
    type: bool
    default: false
seealso:
  - module: stormgmt.core.snapshot
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
# module_defaults names the storage server once, from the variable stormgmt_server, for example
# sim:///var/lib/stormgmt/sim.db or tgt:///srv/pool0?portal=192.0.2.10:3260.
- name: A database on three LUNs, protected together
  module_defaults:
    group/stormgmt.core.storage:
      server: "{{ stormgmt_server }}"
  block:
    - name: Create the LUNs of the database
      stormgmt.core.lun:
        name: "{{ item }}"
        size: 10G
      loop: [db-data, db-redo, db-logs, db-archive]

    - name: Put them into one consistency group
      stormgmt.core.consistency_group:
        name: db
        luns: [db-data, db-redo, db-logs]

    - name: One crash-consistent snapshot of all three
      stormgmt.core.snapshot:
        name: before-upgrade
        consistency_group: db

    - name: Nightly, keep 7 (run it every night from AWX or cron)
      stormgmt.core.snapshot:
        prefix: nightly-
        consistency_group: db
        every: 1d
        keep: 7

    - name: Add the archive LUN and keep the others
      stormgmt.core.consistency_group:
        name: db
        luns: [db-archive]
        append: true

    - name: Delete the group snapshot
      stormgmt.core.snapshot:
        name: before-upgrade
        consistency_group: db
        state: absent

    - name: Delete the group and its nightly group snapshots (the LUNs stay)
      stormgmt.core.consistency_group:
        name: db
        state: absent
        force: true
"""

RETURN = r"""
consistency_group:
  description:
    - The group after the task (in check mode, as it would be). Empty when it is absent.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the group.
      type: str
      sample: db
    uuid:
      description: UUID of the group; V(null) in check mode before it exists.
      type: str
    ss_uuid:
      description: UUID of the storage server that holds the group (the C(uuid) of
        RV(stormgmt.core.storage_info#module:storage.server)).
      type: str
    luns:
      description: Member LUNs, sorted.
      type: list
      elements: str
      sample: [db-data, db-logs, db-redo]
    filesystems:
      description: Member file systems, sorted.
      type: list
      elements: str
      sample: []
    created:
      description: When the group was made, in UTC by the storage server's clock.
      type: str
      sample: "2026-12-01T09:30:00Z"
    status:
      description: Status of the group, free-form text of the backend.
      type: str
      sample: OK
    extra_info:
      description: More the backend says about the group, free-form, or V(null).
      type: str
      sample: null
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
  description: What the task did or, in check mode, would do (V(create), V(update), V(delete)).
  returned: changed
  type: str
  sample: update
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
  description: Exception class of a failure (C(InvalidValueEx), C(OperationPreReqNotMetEx), C(StorageElementBusyEx),
    C(NoSuchOperationEx), ...).
  returned: failed
  type: str
  sample: StorageElementBusyEx
diff:
  description:
    - In diff mode, V(before) and V(after) - the group before the task and after it (in check mode, as it would
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

from ansible_collections.stormgmt.core.plugins.module_utils._consistency_group import (
    ConsistencyGroupResource,
    consistency_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource


def main():
    module = new_module(consistency_group_argument_spec())
    run_resource(module, ConsistencyGroupResource)


if __name__ == "__main__":
    main()
