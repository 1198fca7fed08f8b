#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_info
short_description: Read facts of a storage server - abilities, pools, LUNs, snapshots, groups, file systems, rotations
version_added: 0.1.0
description:
  - Returns the storage server record (without secrets), what the backend can do, and lists of its objects, as the
    same records the other modules return.
  - Reads only; never changes anything.
  - O(names) or O(name_pattern) narrows every list of named objects to the objects wanted.
requirements:
  - The Python library C(netaddr) on the managed node, only where NFS clients or Fibre Channel WWPNs are read.
  - What the backend of O(server) needs (see the backend guides), for example C(tgtadm) for C(tgt://), the
    C(rados) and C(rbd) Python bindings for C(ceph://), the plug-in executable for C(plugin+NAME://).
author:
  - stormgmt.core contributors (@stormgmt)
extends_documentation_fragment:
  - stormgmt.core.connection
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode returns the same facts.
  diff_mode:
    support: none
    description: Reads only, so there is nothing to diff.
  action_group:
    support: full
    membership:
      - stormgmt.core.storage
    description: Use C(group/stormgmt.core.storage) in C(module_defaults) to set the connection options once.
options:
  gather_subset:
    description:
      - What to return. V(all) returns everything; V(minimum) returns RV(storage.server) and
        RV(storage.abilities), the cheapest useful answer (no object is listed); each other value adds the key of
        the same name under RV(storage).
      - V(jobs) lists the jobs of long operations (create, clone, split, restore) that the storage server still
        knows, running or finished, with their progress; see the example with O(wait=false).
      - V(rotation) reports the snapshot rotations (see the rotation form of M(stormgmt.core.snapshot)), one entry per
        LUN, file system or consistency group and prefix whose snapshots have generated names (prefix followed by
        a UTC time, such as C(nightly-20261202T030012Z)). O(rotation) narrows it to one prefix and adds when the next
        snapshot is due.
    type: list
    elements: str
    choices: [all, minimum, server, abilities, pools, luns, snapshots, access_groups, filesystems, consistency_groups,
              group_snapshots, rotation, jobs]
    default: [all]
  names:
    description:
      - Return only the objects with one of these names, in every list of named objects - RV(storage.pools)
        (by C(vol_name)), RV(storage.luns), RV(storage.snapshots), RV(storage.filesystems),
        RV(storage.consistency_groups), RV(storage.group_snapshots) (by C(name)), RV(storage.access_groups) (by
        C(grp_name)) and RV(storage.rotation) (by C(parent)). RV(storage.server), RV(storage.abilities) and
        RV(storage.jobs) are never narrowed.
      - Names are compared exactly (case-sensitive). Each is 1 to 255 characters without line breaks or control
        characters; an empty list is refused.
      - Mutually exclusive with O(name_pattern).
    type: list
    elements: str
  name_pattern:
    description:
      - Return only the objects whose name matches this shell-style pattern, in the same lists as O(names).
      - C(*) matches any characters, C(?) one character, C([0-9]) one of a set and C([!0-9]) one character outside
        it; every other character stands for itself. The whole name must match, case-sensitively
        (V(db*) matches C(db01), not C(prod-db01) or C(DB01)).
      - A glob, not a regular expression, so no pattern can make the matching slow. 1 to 255 characters without
        line breaks or control characters.
    type: str
  rotation:
    description:
      - What the V(rotation) subset reports. Without it, every series found is reported, without a due time.
    type: dict
    suboptions:
      prefix:
        description:
          - Report only the series of this prefix (as given to O(stormgmt.core.snapshot#module:prefix)).
        type: str
      every:
        description:
          - The interval of the rotation (as given to O(stormgmt.core.snapshot#module:every)), to compute
            RV(storage.rotation[].next_due) and RV(storage.rotation[].due); the storage server does not store it.
        type: str
seealso:
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
# Every task names its storage server. These examples take it from the variable stormgmt_server (as the
# stormgmt.core.provision role does), for example sim:///var/lib/stormgmt/sim.db or
# tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults (group/stormgmt.core.storage) sets it once for a play.
- name: Everything the storage server holds
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
  register: facts

- name: Show the LUN names and sizes
  ansible.builtin.debug:
    msg: "{{ facts.storage.luns | items2dict(key_name='name', value_name='size') }}"

- name: Only the pools and what the backend can do
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
    gather_subset: [pools, abilities]
  register: caps

- name: Skip snapshots where the backend cannot take them
  when: caps.storage.abilities.snapshot in ['ONLINE', 'OFFLINE']
  ansible.builtin.debug:
    msg: snapshots are available

- name: Who the server is and what it can do, and nothing else (the cheapest call)
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
    gather_subset: [minimum]
  register: server_facts

- name: The LUNs and snapshots whose names start with db, with their pools
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
    gather_subset: [luns, snapshots]
    name_pattern: "db*"
  register: db_facts

- name: Two access groups by name
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
    gather_subset: [access_groups]
    names: [web, backup]
  register: two_groups

# A long operation started with wait=false returns at once with its job; poll the job's progress with the
# jobs subset until it is over (then check its status: ERROR carries the error); -vv shows every attempt.
- name: Start a clone of a large LUN without waiting
  stormgmt.core.clone:
    server: "{{ stormgmt_server }}"
    name: db01-test
    lun: db01
    wait: false
  register: started

- name: Wait for the clone job, showing its progress
  stormgmt.core.storage_info:
    server: "{{ stormgmt_server }}"
    gather_subset: [jobs]
  register: jobs
  vars:
    job: "{{ jobs.storage.jobs | selectattr('job_id', 'equalto', started.job.job_id) | first | default({}) }}"
  until: started.job is not defined or job.status | default('COMPLETE') != 'RUNNING'
  retries: 120
  delay: 5

- name: Show how the job ended
  when: started.job is defined
  ansible.builtin.debug:
    msg: "{{ jobs.storage.jobs | selectattr('job_id', 'equalto', started.job.job_id) | list }}"

- name: Is the nightly rotation of the database group on time?
  stormgmt.core.storage_info:
    gather_subset: [rotation]
    rotation:
      prefix: nightly-
      every: 1d
  register: nightly

- name: Warn about series that are overdue (the schedule did not run)
  ansible.builtin.debug:
    msg: "{{ item.parent_type }} {{ item.parent }}: {{ item.count }} snapshots, newest {{ item.newest_created }}"
  loop: "{{ nightly.storage.rotation | selectattr('due') }}"
  loop_control:
    label: "{{ item.parent }}"
"""

RETURN = r"""
storage:
  description: Facts of the storage server, one key per subset asked for.
  returned: always
  type: dict
  contains:
    server:
      description: The Storage Server record. Never a secret.
      type: dict
      returned: when O(gather_subset) has V(server), V(minimum) or V(all)
      contains:
        name: {description: "Name of the storage server.", type: str, sample: stormgmt simulator}
        uuid: {description: "UUID of the storage server; records carry it as C(ss_uuid).", type: str}
        storage_server_id: {description: "What identifies the server to its backend (the simulator's state file, ...).", type: str}
        storage_type: {description: "V(SANStorage), V(iSCSIStorage), V(NetworkFileSystem) or V(BlockBasedFileSystem).", type: str}
        backend: {description: "The URI scheme of the backend.", type: str, sample: sim}
        uri: {description: "The server URI, without credentials.", type: str}
        chap: {description: "Whether the server takes CHAP credentials.", type: bool}
        admin_host: {description: "Host the backend is managed through, where it has one.", type: str}
        access_host: {description: "Host initiators or NFS clients connect to, where it has one.", type: str}
        access_port: {description: "Port initiators or NFS clients connect to, where it has one.", type: int}
        status: {description: "Free text status of the server.", type: str, sample: OK}
        total_sz: {description: "Bytes in all pools.", type: int}
        used_sz: {description: "Bytes used in all pools.", type: int}
        free_sz: {description: "Bytes free in all pools.", type: int}
        alloc_sz: {description: "Bytes allocated (thin LUNs count their size).", type: int}
        vol_groups: {description: "Names of the pools.", type: list, elements: str}
        access_grps: {description: "Names of the access groups.", type: list, elements: str}
        storage_name: {description: "Product name of the storage system, where the backend knows it.", type: str}
        storage_id: {description: "Identifiers of the storage system, where the backend knows them.", type: list, elements: str}
        storage_desc: {description: "Description of the server.", type: str}
        extra_info: {description: "Backend specific free text; null when none.", type: str}
    abilities:
      description: Ability name to C(UNSUPPORTED), C(OFFLINE), C(ONLINE), C(YES) or C(NO).
      type: dict
      returned: when O(gather_subset) has V(abilities), V(minimum) or V(all)
      sample: {create_lun: ONLINE, snapshot: ONLINE, thin_provisioning: "YES", async_jobs: "YES"}
    pools:
      description: Volume group records (pools).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(pools) or V(all)
      contains:
        vol_name: {description: "Name of the pool (the O(stormgmt.core.lun#module:pool) option).", type: str}
        vol_total_sz: {description: "Bytes in the pool.", type: int}
        vol_used_sz: {description: "Bytes used.", type: int}
        vol_free_sz: {description: "Bytes free.", type: int}
        vol_alloc_sz: {description: "Bytes allocated (thin LUNs count their size); null when not known.", type: int}
        vol_desc: {description: "Description; null when none.", type: str}
    luns:
      description: Storage Element records of the LUNs and LUN clones, as M(stormgmt.core.lun) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(luns) or V(all)
      contains: &se_record
        name: {description: "Name.", type: str, sample: db01}
        uuid: {description: "UUID.", type: str}
        id: {description: "Identifier of the element on the storage server.", type: str}
        ss_uuid: {description: "UUID of the storage server that holds it (RV(storage.server.uuid)).", type: str}
        page83_id: {description: "SCSI VPD page 0x83 identifier (what a host sees as the device's WWN).", type: str}
        se_type: {description: "V(LUN), V(SNAP) (a snapshot) or V(SNAPCLONE) (a clone of a snapshot).", type: str}
        size: {description: "Size in bytes.", type: int}
        thin: {description: "Whether space is allocated on write; null when not known.", type: bool}
        vol_group_name: {description: "The pool it is in (the O(stormgmt.core.lun#module:pool) option).", type: str}
        access_grp_names: {description: "Access groups it is mapped to.", type: list, elements: str}
        qos: {description: "QoS level; null when none.", type: str}
        state:
          description:
            - One of the SE_STATES - V(UNKNOWN), V(OFFLINE), V(BUSY_CREATE), V(BUSY_CLONE), V(BUSY_COPY),
              V(BUSY_CHILDREN), V(ERROR), V(ONLINE). The BUSY states last while a job runs on the element.
          type: str
        status: {description: "Free text status.", type: str, sample: OK}
        vendor: {description: "SCSI vendor id.", type: str}
        product_id: {description: "SCSI product id.", type: str}
        path: {description: "Device paths on this host where the backend knows them.", type: list, elements: str}
        array_path: {description: "Where the element is on the storage server (pool/name, image, file).", type: str, sample: pool0/db01}
        parent: {description: "Name of the LUN it came from; null when none or after a split.", type: str}
        parent_snapshot: {description: "Name of the snapshot it was cloned from; null when none.", type: str}
        created: {description: "When it was made (snapshots - the point in time they hold), UTC.", type: str, sample: "2026-12-02T03:00:12Z"}
        consistency_group: {description: "Consistency group it is a member of (snapshots - whose group snapshot it is part of).", type: str}
        async_handle:
          description: The job id of the job running on the element (as in RV(storage.jobs[].job_id)); null when none runs.
          type: str
        async_progress:
          description: Progress of that job in percent (0-100, -1 when the backend cannot tell); null when no job runs.
          type: int
          sample: 40
        extra_info: {description: "Backend specific free text; null when none.", type: str}
    snapshots:
      description: Snapshot records of LUNs and file systems, as M(stormgmt.core.snapshot) returns them - the keys of
        RV(storage.luns) (LUN snapshots) or of RV(storage.filesystems) (file system snapshots).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(snapshots) or V(all)
    access_groups:
      description: Access group records, as M(stormgmt.core.access_group) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(access_groups) or V(all)
      contains:
        grp_name: {description: "Name (the O(stormgmt.core.access_group#module:name) option).", type: str}
        grp_entries: {description: "Normalised initiators or NFS clients (the initiators and clients options).", type: list, elements: str}
        grp_modes: {description: "Access modes of the entries where the backend has them.", type: list, elements: str}
        uuid: {description: "UUID; null when the backend has none.", type: str}
        luns: {description: "Mapped LUNs, each C({name, lun_id})", type: list, elements: dict}
        target_iqn: {description: "The iSCSI target the initiators log into; null when none.", type: str}
        portal: {description: "Address and port of that target; null when none.", type: str}
        chap_username: {description: "CHAP user name (never the secret); null when none.", type: str}
        mutual_chap_username: {description: "Mutual CHAP user name (never the secret); null when none.", type: str}
        status: {description: "Null when the group works as configured; otherwise why not.", type: str}
    filesystems:
      description: File System records, as M(stormgmt.core.filesystem) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(filesystems) or V(all)
      contains: &fs_record
        name: {description: "Name.", type: str}
        uuid: {description: "UUID.", type: str}
        ss_uuid: {description: "UUID of the storage server that holds it; null for a block file system made on a device.", type: str}
        size: {description: "Size in bytes.", type: int}
        free_sz: {description: "Free bytes.", type: int}
        access_path: {description: "What a host mounts (C(host:/path) for NFS, a directory, a device).", type: str}
        array_path: {description: "Where it is on the storage server (directory, subvolume).", type: str}
        mount_options: {description: "Options a mount should use.", type: list, elements: str}
        export_opts: {description: "Export options, sorted.", type: list, elements: str}
        export_clients: {description: "NFS clients it is exported to.", type: list, elements: str}
        nfs_url: {description: "C(nfs://host/path?version=4[&nfsport=N]) where it is served over NFS; null otherwise.", type: str}
        state:
          description: One of the FS_STATES - V(UNKNOWN), V(UNMOUNTED), V(MOUNTED), V(MOUNTED_READONLY), V(ERROR).
          type: str
        status: {description: "Free text status.", type: str}
        access_grp_names: {description: "Access groups it is exported to.", type: list, elements: str}
        qos: {description: "QoS level; null when none.", type: str}
        backing_device: {description: "The device a block file system is made on (a path, or a record); null when none.", type: raw}
        fstype: {description: "File system type (ext4, xfs, btrfs, nfs...).", type: str}
        vol_group_name: {description: "The pool it is in; null when none.", type: str}
        parent: {description: "Name of the file system it was cloned from or (snapshots) taken of; null when none.", type: str}
        parent_snapshot: {description: "Snapshot it was cloned from; null when none.", type: str}
        created: {description: "When it was made, UTC.", type: str}
        consistency_group: {description: "Consistency group it is a member of; null when none.", type: str}
        async_handle: {description: "Job id of a job running on it; null when none.", type: str}
        async_progress: {description: "Progress of that job in percent; null when none runs.", type: int}
        extra_info: {description: "Backend specific free text; null when none.", type: str}
    consistency_groups:
      description: Consistency group records, as M(stormgmt.core.consistency_group) returns them; empty on backends
        without the ability C(consistency_group).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(consistency_groups) or V(all)
      contains:
        name: {description: "Name.", type: str}
        uuid: {description: "UUID.", type: str}
        ss_uuid: {description: "UUID of the storage server that holds it.", type: str}
        luns: {description: "Member LUN names, sorted.", type: list, elements: str}
        filesystems: {description: "Member file system names, sorted.", type: list, elements: str}
        created: {description: "When it was made, UTC; null when not known.", type: str}
        status: {description: "Free text status; null when none.", type: str}
        extra_info: {description: "Backend specific free text; null when none.", type: str}
    group_snapshots:
      description: Group snapshot records, as M(stormgmt.core.snapshot) returns them in
        RV(stormgmt.core.snapshot#module:group_snapshot), oldest first per group.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(group_snapshots) or V(all)
      contains:
        name: {description: "Name (each member's snapshot has it too).", type: str}
        uuid: {description: "UUID.", type: str}
        ss_uuid: {description: "UUID of the storage server that holds it.", type: str}
        consistency_group: {description: "The consistency group it was taken of.", type: str}
        luns: {description: "The LUNs it holds a snapshot of, sorted.", type: list, elements: str}
        filesystems: {description: "The file systems it holds a snapshot of, sorted.", type: list, elements: str}
        size: {description: "Bytes - the members' sizes added up; null when not known.", type: int}
        created: {description: "The point in time it holds, UTC.", type: str}
        state: {description: "One of the SE_STATES (see RV(storage.luns[].state)).", type: str}
        status: {description: "Free text status.", type: str}
        extra_info: {description: "Backend specific free text; null when none.", type: str}
    rotation:
      description: One entry per series of generated snapshot names - per LUN, file system or consistency group and
        prefix. The snapshots of a group snapshot count for the group, not for its member LUNs.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(rotation) or V(all)
      contains:
        parent_type:
          description: V(lun), V(filesystem) or V(consistency_group).
          type: str
          sample: consistency_group
        parent:
          description: Name of the LUN, file system or consistency group.
          type: str
          sample: db
        prefix:
          description: The prefix of the series.
          type: str
          sample: nightly-
        count:
          description: How many snapshots the series holds.
          type: int
          sample: 7
        newest:
          description: Name of the newest snapshot.
          type: str
          sample: nightly-20261202T030012Z
        newest_created:
          description: When the newest was taken, in UTC by the storage server's clock.
          type: str
          sample: "2026-12-02T03:00:12Z"
        oldest:
          description: Name of the oldest snapshot.
          type: str
          sample: nightly-20261126T030003Z
        every:
          description: O(rotation.every), normalised; V(null) without it.
          type: str
          sample: 1d
        next_due:
          description: From when on a run of the rotation takes the next snapshot (UTC, storage server's clock);
            V(null) without O(rotation.every).
          type: str
          sample: "2026-12-03T02:00:12Z"
        due:
          description: Whether the next snapshot is due now, by the storage server's clock - true long after
            RV(storage.rotation[].next_due) means the schedule has not run. V(null) without O(rotation.every).
          type: bool
          sample: false
    jobs:
      description:
        - Jobs of long operations the storage server still knows, running or finished, oldest first. Not narrowed by
          O(names) or O(name_pattern) (RV(storage.jobs[].op) names the object).
        - Empty on backends without the ability C(async_jobs) or that cannot list their jobs (there a job is followed
          with the module that started it, or RV(storage.luns[].async_progress)).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(jobs) or V(all)
      contains:
        job_id: {description: "The job handle (RV(stormgmt.core.lun#module:job.job_id) of the task that started it).", type: str}
        op: {description: "What the job does.", type: str, sample: clone db01-test from db01}
        progress: {description: "Percent done: 0-100, -1 when the backend cannot tell, null when it does not say.", type: int, sample: 40}
        status: {description: "V(RUNNING), V(COMPLETE) or V(ERROR).", type: str}
        error: {description: "When V(ERROR) - C({error, msg}), the exception class and message; null otherwise.", type: dict}
error:
  description:
    - Exception class of a failure (C(InvalidStorageArrayEx) for a state file that cannot be read, ...).
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
  returned: failed
  type: str
  sample: InvalidStorageArrayEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._info import gather, info_argument_spec, info_module_kwargs
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_info


def main():
    module = new_module(info_argument_spec(), **info_module_kwargs())
    run_info(module, gather)


if __name__ == "__main__":
    main()
