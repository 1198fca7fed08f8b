#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: lun
short_description: Manage LUNs (block volumes) in a pool of a storage array
version_added: 0.1.0
description:
  - Creates, grows, shrinks and deletes a LUN in a pool of a storage array, whatever the backend behind O(server).
  - A second run with the same options changes nothing. Sizes are rounded up to the backend's block size before
    they are compared, so V(1000) and V(1024) are the same LUN on a 512-byte block backend.
  - A task that fails leaves the LUN as it was.
  - With O(luns), one task converges a whole list of LUNs, each item as a task of its own would, over one connection
    to the storage server; see O(luns).
author:
  - stormgmt.core contributors (@stormgmt)
requirements:
  - On the node the task runs on (the storage server itself for C(tgt://) and C(linux://); a Ceph client or iSCSI
    gateway host for C(ceph://); any host, often the controller with C(delegate_to), for C(sim://), C(lsm+NAME://)
    and C(plugin+NAME://)) - the Python that ansible-core needs there, and per backend of O(server)
  - C(sim://) - nothing more (Python's own C(sqlite3))
  - C(tgt://) and C(linux://) with a block parameter - the tgt iSCSI target (C(tgtadm), a running C(tgtd); Debian
    package C(tgt)) and C(cp) of GNU coreutils; a pool directory on btrfs or xfs makes copies
    reflinks (constant time)
  - C(ceph://) - Ceph's Python bindings C(rados) and C(rbd) (Debian C(python3-rados), C(python3-rbd)), the
    cluster's configuration and a keyring of the client; access groups (and
    LUNs mapped in them) need tgt with its rbd backing store (Debian C(tgt), C(tgt-rbd)) on the gateway
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
      - Name of the LUN, unique on the storage server.
      - 1 to 63 characters from C(A-Z a-z 0-9 _ . -), not starting with C(.) or C(-).
      - Required, unless O(luns) lists the LUNs; O(name) and O(luns) exclude each other.
    type: str
  luns:
    description:
      - The list form - many LUNs in one task, one item per LUN, each with the options of this module that describe
        a LUN (O(luns[].name), O(luns[].size), ...). O(name) and O(luns) exclude each other.
      - The other options of the task are the defaults of every item, the item's own value wins. For example
        O(state=absent) with items that give only a O(luns[].name) deletes every LUN listed.
      - Each item is validated and converged as the task with its options alone would be, in check mode too, one
        after the other in the order of the list, over one connection to the storage server that reads every LUN
        of the list once at the start. RV(results) holds the result of every item.
      - An item that fails (bad options, a change the server refuses) is left as it was and does not stop the
        others. Then the task fails, and RV(ignore:msg) names every failed LUN with its error class. Items naming
        the same LUN twice all fail with C(InvalidValueEx).
      - V([]) converges nothing and changes nothing.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the LUN, see O(name).
        type: str
        required: true
      pool:
        description: Pool of the LUN, see O(pool).
        type: str
      size:
        description: Size, see O(size).
        type: raw
      thin:
        description: Thin provisioning, see O(thin).
        type: bool
      qos:
        description: Quality-of-service level, see O(qos).
        type: str
      state:
        description: V(present) or V(absent), see O(state).
        type: str
        choices: [present, absent]
        default: present
      allow_shrink:
        description: Allow a smaller size, see O(allow_shrink).
        type: bool
        default: false
      force:
        description: Delete even when mapped or with snapshots, see O(force).
        type: bool
        default: false
  pool:
    description:
      - Pool (volume group) the LUN is carved from. Defaults to the backend's default pool when the LUN is created.
      - A LUN cannot move to another pool; naming a different pool for an existing LUN fails.
    type: str
  size:
    description:
      - Size in bytes, or a number with a unit as Ansible's C(human_to_bytes) reads it (V(512M), V(10G), V(1.5T);
        binary multiples), or an IEC unit (V(10GiB)).
      - It must come to a whole number of bytes - V(1.5G) does; V(1.5), V(1.1T) (1209462790553.6 bytes), a boolean,
        zero or a negative number fail with C(ValueFormatEx) and change nothing.
      - Required to create the LUN. A larger size grows an existing LUN; a smaller one fails unless
        O(allow_shrink=true).
    type: raw
  thin:
    description:
      - Thin (sparse) provisioning. Defaults to V(true) when the LUN is created.
      - Provisioning cannot change on an existing LUN; asking for it fails with C(NoSuchOperationEx).
    type: bool
  qos:
    description:
      - Quality-of-service level, as the storage server names it (the simulator offers V(platinum), V(gold),
        V(silver) and V(bronze)). Left as is when not set.
    type: str
  state:
    description:
      - V(present) creates or updates the LUN, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  allow_shrink:
    description:
      - Allow O(size) to be smaller than the current size. Shrinking loses the data past the new end.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete the LUN even when it is mapped to access groups or has snapshots; the
        mappings and snapshots go with it. Without it such a LUN is left alone and the task fails with
        C(StorageElementBusyEx).
      - A LUN with clones that depend on it is never deleted; split or delete the clones first.
    type: bool
    default: false
notes:
  - Errors carry the exception class in RV(ignore:error), for example C(InvalidValueEx) for a size larger than the
    pool's free space, C(StorageElementBusyEx) for a LUN that is mapped or busy with a job.
seealso:
  - module: stormgmt.core.snapshot
  - module: stormgmt.core.clone
  - module: stormgmt.core.access_group
  - module: stormgmt.core.storage_info
"""

EXAMPLES = r"""
# Every task names its storage server. These examples take it from the variable stormgmt_server (as the
# stormgmt.core.provision role does), for example sim:///var/lib/stormgmt/sim.db or
# tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults (group/stormgmt.core.storage) sets it once for a play.
- name: Create a 10 GiB thin LUN in the default pool
  stormgmt.core.lun:
    server: "{{ stormgmt_server }}"
    name: db01
    size: 10G

- name: Grow it to 20 GiB, with a QoS level
  stormgmt.core.lun:
    server: "{{ stormgmt_server }}"
    name: db01
    size: 20GiB
    qos: gold

- name: Thick LUN in another pool of a server set once for the play
  stormgmt.core.lun:
    name: log01
    pool: pool1
    size: 2G
    thin: false
  module_defaults:
    group/stormgmt.core.storage:
      server: sim:///var/tmp/stormgmt-example.db

- name: Delete a LUN together with its snapshots and mappings
  stormgmt.core.lun:
    server: "{{ stormgmt_server }}"
    name: db01
    state: absent
    force: true

- name: Many LUNs in one task (the list form), on a server set once for the play
  module_defaults:
    group/stormgmt.core.storage:
      server: sim:///var/tmp/stormgmt-example.db
  block:
    - name: Converge three LUNs; thick unless an item says otherwise
      stormgmt.core.lun:
        thin: false
        luns:
          - {name: web01, size: 1G}
          - {name: web02, size: 1G}
          - {name: scratch01, size: 10G, thin: true}
      register: web_luns

    - name: Show what each item did
      ansible.builtin.debug:
        msg: "{{ item.name }}: {{ item.action | default('unchanged') }}"
      loop: "{{ web_luns.results }}"
      loop_control:
        label: "{{ item.name }}"

    - name: Delete them again
      stormgmt.core.lun:
        state: absent
        luns:
          - name: web01
          - name: web02
          - name: scratch01
"""

RETURN = r"""
lun:
  description:
    - The LUN as a Storage Element record, after the task (in check mode, as it would be).
    - Empty when the LUN is absent.
    - With O(luns), each item has its own in RV(results[].lun).
  returned: unless O(luns) is given
  type: dict
  contains:
    name:
      description: Name of the LUN.
      type: str
      sample: db01
    uuid:
      description: UUID the storage server gave the LUN; V(null) in check mode before it exists.
      type: str
      sample: 0b5c0a7e-8f44-4d1e-9a55-0f0d0b3c2a11
    id:
      description: The backend's own identifier of the LUN (a row number, an RBD image id, a libstoragemgmt id...).
      type: str
      sample: "17"
    ss_uuid:
      description: UUID of the storage server that holds the LUN (the C(uuid) of
        RV(stormgmt.core.storage_info#module:storage.server)).
      type: str
      sample: 5f2b8c1e-0d7a-4c55-b0a4-3f6e9d2c7b10
    page83_id:
      description: SCSI VPD page 0x83 identifier (NAA) the LUN has when it is exported, or V(null) where the
        backend has none.
      type: str
      sample: 60014050b5c0a7e8f444d1e9a55
    se_type:
      description: C(LUN), or C(SNAPCLONE) for a clone of a snapshot (a LUN made by M(stormgmt.core.clone)).
      type: str
      choices: [LUN, SNAPCLONE]
      sample: LUN
    size:
      description: Size in bytes, rounded up to the backend's block size (what O(size) asks for).
      type: int
      sample: 10737418240
    thin:
      description: Whether the LUN is thin provisioned (sparse), V(null) where the backend does not say.
      type: bool
      sample: true
    vol_group_name:
      description: The pool (volume group) of the LUN - what O(stormgmt.core.lun#module:pool) names.
      type: str
      sample: pool0
    access_grp_names:
      description: Access groups the LUN is mapped to, sorted; V([]) when none.
      type: list
      elements: str
      sample: [db]
    qos:
      description: Quality-of-service level, or V(null).
      type: str
      sample: gold
    state:
      description:
        - State of the LUN, one of the SE_STATES - C(UNKNOWN), C(OFFLINE), C(BUSY_CREATE), C(BUSY_CLONE),
          C(BUSY_COPY), C(BUSY_CHILDREN), C(ERROR), C(ONLINE).
        - C(ONLINE) when usable; C(BUSY_CREATE), C(BUSY_CLONE) or C(BUSY_COPY) while a job of the storage server
          works on it (with O(wait=false), or a run that gave up at O(wait_timeout)); C(ERROR) when the last
          operation on it failed (RV(lun.status) says why).
      type: str
      choices: [UNKNOWN, OFFLINE, BUSY_CREATE, BUSY_CLONE, BUSY_COPY, BUSY_CHILDREN, ERROR, ONLINE]
      sample: ONLINE
    status:
      description: Free-form status text of the backend (V(OK), or what is wrong, or the job that keeps it busy).
      type: str
      sample: OK
    vendor:
      description: SCSI vendor string the LUN is exported with, or V(null).
      type: str
      sample: STORMGMT
    product_id:
      description: SCSI product string, or V(null).
      type: str
      sample: SIM-LUN
    path:
      description: Paths of the LUN on the storage server (the image file of C(tgt://), the directory of a
        file system snapshot), where it has any; V([]) otherwise.
      type: list
      elements: str
      sample: [/srv/pool0/db01.img]
    array_path:
      description: Where the LUN lives in the storage server's own terms (C(pool/name), C(pool/name@snapshot),
        a file path...), or V(null).
      type: str
      sample: pool0/db01
    parent:
      description: Name of the LUN this one was cloned from; V(null) when none or after a split.
      type: str
      sample: null
    parent_snapshot:
      description: Name of the snapshot (of RV(lun.parent)) this one was cloned from, or V(null).
      type: str
      sample: null
    created:
      description: When the LUN was made, in UTC by the storage server's clock (C(YYYY-MM-DDTHH:MM:SSZ)); V(null) in
        check mode before it exists, or where the backend does not keep it.
      type: str
      sample: "2026-12-02T03:00:12Z"
    consistency_group:
      description: The consistency group the LUN is a member of (M(stormgmt.core.consistency_group)), else V(null).
      type: str
      sample: null
    async_handle:
      description: The handle of the storage server's job that works on the LUN while RV(lun.state) is busy
        (the RV(job.job_id) of that job), else V(null).
      type: str
      sample: null
    async_progress:
      description: Percent done (0-100) of that job, V(-1) when the backend cannot tell, V(null) when no job runs.
      type: int
      sample: null
    extra_info:
      description: More the backend says about the LUN, free-form (C(lsm+) - a JSON text with the
        libstoragemgmt ids; C(ceph://) - where a split clone came from), or V(null).
      type: str
      sample: null
  sample:
    name: db01
    se_type: LUN
    size: 10737418240
    vol_group_name: pool0
    state: ONLINE
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
  description: What the task did or, in check mode, would do.
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
    - Exception class of a failure (C(InvalidValueEx), C(StorageElementBusyEx), ...).
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
    - With O(luns), the class of the first item that failed; RV(results) has the class of each.
  returned: failed
  type: str
  sample: StorageElementBusyEx
results:
  description:
    - With O(luns), the result of every item, in the order of the list, shaped as the result of the single form
      (RV(lun), C(changed), RV(action), RV(job), and RV(results[].diff) in diff mode) plus the item's
      RV(results[].name). An item that failed has RV(results[].failed), RV(results[].msg) and
      RV(results[].error) instead of a record.
  returned: when O(luns) is given
  type: list
  elements: dict
  contains:
    name:
      description: The item's O(luns[].name).
      type: str
      sample: web01
    changed:
      description: Whether the item changed (or in check mode, would change) its LUN.
      type: bool
    action:
      description: What was done to the LUN (C(create), C(update), C(delete)); only when it changed.
      type: str
      sample: create
    lun:
      description: The LUN as a Storage Element record after the item, as RV(lun). Absent for a failed item.
      type: dict
    diff:
      description: V(before) and V(after) records of the LUN, in diff mode.
      type: dict
    job:
      description: The last job of the item, as RV(job).
      type: dict
    failed:
      description: V(true) when the item failed.
      type: bool
    msg:
      description: Why the item failed, naming its LUN.
      type: str
    error:
      description: Exception class of the item's failure.
      type: str
      sample: InvalidValueEx
  sample:
    - name: web01
      changed: true
      action: create
      lun: {name: web01, size: 1073741824, vol_group_name: pool0, state: ONLINE}
    - name: web02
      changed: false
      lun: {name: web02, size: 1073741824, vol_group_name: pool0, state: ONLINE}
    - name: bad/name
      changed: false
      failed: true
      msg: "LUN name 'bad/name' ..."
      error: InvalidValueEx
diff:
  description:
    - In diff mode, V(before) and V(after) of the object (the single form), or with O(luns) a list with one
      V(before)/V(after) per LUN that changed, headed with the LUN's name.
  returned: diff mode
  type: raw
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._batch import new_batch_module, run
from ansible_collections.stormgmt.core.plugins.module_utils._lun import LunResource, lun_argument_spec


def main():
    module = new_batch_module(lun_argument_spec(), "luns")
    run(module, LunResource, "luns", lun_argument_spec())


if __name__ == "__main__":
    main()
