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
    - Same fields as the RV(stormgmt.core.lun#module:lun) record; RV(snapshot.parent) names the LUN or file system.
  returned: with O(name) and O(lun) or O(filesystem)
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      type: str
      sample: before-upgrade
    uuid:
      description: UUID of the snapshot; V(null) in check mode before it exists.
      type: str
    se_type:
      description: Always C(SNAP).
      type: str
      sample: SNAP
    size:
      description: Size of the parent when the snapshot was taken, in bytes.
      type: int
      sample: 10737418240
    vol_group_name:
      description: Pool of the parent.
      type: str
      sample: pool0
    state:
      description: One of the SE_STATES.
      type: str
      sample: ONLINE
    parent:
      description: Name of the LUN or file system the snapshot belongs to.
      type: str
      sample: db01
    created:
      description: When the snapshot was taken, in UTC by the storage server's clock; V(null) in check mode.
      type: str
      sample: "2026-12-02T03:00:12Z"
    consistency_group:
      description: The consistency group whose group snapshot this snapshot is part of, else V(null).
      type: str
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
      description: One of the SE_STATES.
      type: str
      sample: ONLINE
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
  description: The last job the backend ran for the task (restores may run as jobs).
  returned: when the backend ran a job
  type: dict
error:
  description:
    - Exception class of a failure (C(SnapRestoreNotSafeEx), C(OperationPreReqNotMetEx), ...).
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: SnapRestoreNotSafeEx
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
