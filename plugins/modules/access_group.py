#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: access_group
short_description: Manage access groups - who may see which LUNs - with CHAP
version_added: 0.1.0
description:
  - An access group lists the initiators (iSCSI names, FC WWPNs) or NFS clients of some hosts, the LUNs mapped to
    them with their LUN numbers, and optionally CHAP accounts. Only initiators in a group see its LUNs.
  - Initiators and clients are normalised before they are compared and stored, so V(IQN.2026-01.COM.EXAMPLE:H1)
    and V(iqn.2026-01.com.example:h1) are the same initiator, and a WWPN may be written V(0x21000024ff314c5a),
    V(21:00:00:24:FF:31:4C:5A) or V(21-00-00-24-ff-31-4c-5a).
  - On backends with iSCSI targets the result names the target the initiators log in to
    (RV(access_group.target_iqn), RV(access_group.portal)).
  - With O(access_groups), one task converges a whole list of groups, each item as a task of its own would, over one
    connection to the storage server; see O(access_groups).
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
  - netaddr (Python, on the node the task runs on) for NFS clients given as addresses or networks in O(clients), and
    for WWPNs written with C(:) or C(-) in O(initiators); IQN, EUI and NAA initiators and host names need it not
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
options:
  name:
    description:
      - Name of the access group, unique on the server.
      - Required, unless O(access_groups) lists the groups; O(name) and O(access_groups) exclude each other.
    type: str
  access_groups:
    description:
      - The list form - many access groups in one task, one item per group, each with the options of this module
        that describe a group (O(access_groups[].name), O(access_groups[].initiators), ...). O(name) and
        O(access_groups) exclude each other.
      - The other options of the task are the defaults of every item, the item's own value wins.
      - Each item is validated and converged as the task with its options alone would be, in check mode too, one
        after the other in the order of the list, over one connection to the storage server that reads every group
        of the list once at the start. RV(results) holds the result of every item.
      - An item that fails (bad options, a LUN that does not exist, a change the server refuses) is left as it was
        and does not stop the others. Then the task fails, and RV(ignore:msg) names every failed group with its error
        class. Items naming the same group twice all fail with C(InvalidValueEx).
      - CHAP secrets of the items are hidden as those of O(chap) are.
      - V([]) converges nothing and changes nothing.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the group, see O(name).
        type: str
        required: true
      initiators:
        description: iSCSI initiator names or FC WWPNs, see O(initiators).
        type: list
        elements: str
      clients:
        description: NFS clients, see O(clients).
        type: list
        elements: str
      luns:
        description: LUNs mapped to the group, names or mappings with C(name) and C(lun_id), see O(luns).
        type: list
        elements: raw
      chap:
        description: CHAP authentication, see O(chap).
        type: dict
        suboptions:
          username:
            description: CHAP user name, see O(chap.username).
            type: str
          password:
            description: CHAP secret, see O(chap.password).
            type: str
          mutual_username:
            description: Mutual CHAP user name, see O(chap.mutual_username).
            type: str
          mutual_password:
            description: Mutual CHAP secret, see O(chap.mutual_password).
            type: str
          state:
            description: V(absent) removes CHAP from the group.
            type: str
            choices: [present, absent]
            default: present
      append:
        description: Only add initiators, clients and LUNs, see O(append).
        type: bool
        default: false
      state:
        description: V(present) or V(absent), see O(state).
        type: str
        choices: [present, absent]
        default: present
      force:
        description: Delete the group even when LUNs are mapped to it, see O(force).
        type: bool
        default: false
  initiators:
    description:
      - iSCSI initiator names (C(iqn.), C(eui.), C(naa.)) or Fibre Channel WWPNs.
      - With O(append=false) the group holds exactly these initiators; not set leaves the initiators as they are.
    type: list
    elements: str
  clients:
    description:
      - NFS clients, for groups that file systems are exported to - V(*), an IP address, a network in CIDR form
        (V(192.0.2.0/24)), a host name (wildcards C(*) and C(?) allowed) or a V(@netgroup).
      - On the Linux server (V(linux://), V(tgt://) with C(nfs_conf)) a change of the clients reaches the exports
        that name the group at once, in the running nfs-ganesha.
      - With O(append=false) the group holds exactly these clients; not set leaves the clients as they are.
    type: list
    elements: str
  luns:
    description:
      - LUNs mapped to the group, each a LUN name or a mapping with C(name) and C(lun_id) (the LUN number the
        initiators see, a whole number from 0 to 16383; V(1.5) or a boolean fails with C(ValueFormatEx)).
      - A LUN without C(lun_id) keeps its number when it is already mapped, else gets the lowest free one.
      - With O(append=false) the listed LUNs are exactly the ones mapped; LUNs not listed are unmapped.
        Not set leaves the mappings as they are.
      - Every LUN must exist; otherwise the task fails with C(OperationPreReqNotMetEx) and changes nothing.
    type: list
    elements: raw
  chap:
    description:
      - CHAP authentication for the group's initiators. Not set leaves CHAP as it is.
      - Secrets are never returned or logged; the simulator keeps only salted hashes of them, so it compares a
        given secret with the stored one without knowing it.
    type: dict
    suboptions:
      username:
        description: CHAP user name the initiators log in with. Required with O(chap.state=present).
        type: str
      password:
        description: CHAP secret of the initiators, 12 to 255 characters. Required with O(chap.state=present).
        type: str
      mutual_username:
        description: User name the target answers with, for mutual CHAP.
        type: str
      mutual_password:
        description: Secret of the target for mutual CHAP, 12 to 255 characters, different from O(chap.password).
        type: str
      state:
        description: V(absent) removes CHAP from the group.
        type: str
        choices: [present, absent]
        default: present
  append:
    description:
      - V(false) makes O(initiators), O(clients) and O(luns) exact lists. V(true) only adds what is missing.
    type: bool
    default: false
  state:
    description:
      - V(present) creates or updates the group; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With O(state=absent), delete the group even when LUNs are still mapped to it (the LUNs stay, unmapped),
        or file systems are exported to it (the group is taken out of their exports first, so a group of that
        name made later inherits nothing). Without it the task fails with C(StorageElementBusyEx).
    type: bool
    default: false
seealso:
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
# Every task names its storage server. These examples take it from the variable stormgmt_server (as the
# stormgmt.core.provision role does), for example sim:///var/lib/stormgmt/sim.db or
# tgt:///srv/pool0?portal=192.0.2.10:3260; module_defaults (group/stormgmt.core.storage) sets it once for a play.
- name: Two hosts see two LUNs, with CHAP
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: web
    initiators:
      - iqn.2026-01.com.example:web1
      - iqn.2026-01.com.example:web2
    luns:
      - web-data
      - name: web-logs
        lun_id: 5
    chap:
      username: web
      password: "{{ vault_web_chap_secret }}"

- name: Add one more host and keep everything else
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: web
    initiators:
      - iqn.2026-01.com.example:web3
    append: true

- name: Fibre Channel hosts
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: oracle
    initiators:
      - "21:00:00:24:ff:31:4c:5a"
      - "0x21000024ff314c5b"

- name: NFS clients that file systems are exported to
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: lab
    clients:
      - 192.0.2.0/24
      - "*.lab.example.com"

- name: Turn CHAP off
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: web
    chap:
      state: absent

- name: Delete the group, unmapping its LUNs
  stormgmt.core.access_group:
    server: "{{ stormgmt_server }}"
    name: web
    state: absent
    force: true

- name: Many LUNs and groups, one task each (the list form), on a server set once for the play
  module_defaults:
    group/stormgmt.core.storage:
      server: sim:///var/tmp/stormgmt-example.db
  block:
    - name: The LUNs the groups map
      stormgmt.core.lun:
        luns:
          - {name: db-data, size: 10G}
          - {name: db-logs, size: 1G}

    - name: The groups
      stormgmt.core.access_group:
        access_groups:
          - name: db
            initiators: [iqn.2026-01.com.example:db1, iqn.2026-01.com.example:db2]
            luns: [db-data, db-logs]
          - name: backup
            initiators: [iqn.2026-01.com.example:backup1]
            luns: [db-data]
            chap:
              username: backup
              password: "{{ vault_backup_chap_secret }}"
      register: db_groups

    - name: Name the groups the task created
      ansible.builtin.debug:
        msg: "{{ db_groups.results | selectattr('action', 'defined') | selectattr('action', 'eq', 'create') | map(attribute='name') }}"
"""

RETURN = r"""
access_group:
  description:
    - The access group after the task (in check mode, as it would be); empty when absent.
    - With O(access_groups), each item has its own in RV(results[].access_group).
  returned: unless O(access_groups) is given
  type: dict
  contains:
    grp_name:
      description: Name of the group.
      type: str
      sample: web
    grp_entries:
      description: Normalised initiators and NFS clients, sorted.
      type: list
      elements: str
      sample: [iqn.2026-01.com.example:web1, iqn.2026-01.com.example:web2]
    grp_modes:
      description: Modes of the group (export options for NFS), where the backend has any.
      type: list
      elements: str
    uuid:
      description: UUID of the group.
      type: str
    luns:
      description: Mapped LUNs with their LUN numbers, by number.
      type: list
      elements: dict
      sample: [{name: web-data, lun_id: 1}, {name: web-logs, lun_id: 5}]
      contains:
        name:
          description: Name of the LUN.
          type: str
          sample: web-data
        lun_id:
          description: The LUN number the initiators see it at; V(null) where the backend has no LUN numbers
            (C(lsm+)).
          type: int
          sample: 1
    target_iqn:
      description: iSCSI target the initiators log in to, where the backend has one.
      type: str
      sample: iqn.2026-11.io.stormgmt:sim.web
    portal:
      description: Address and port of that target, where the backend has one.
      type: str
      sample: 127.0.0.1:3260
    chap_username:
      description: CHAP user name, or V(null). Secrets are never returned.
      type: str
      sample: web
    mutual_chap_username:
      description: Mutual CHAP user name, or V(null).
      type: str
    status:
      description:
        - V(null) when the group works as configured; otherwise why it does not.
        - For example with C(tgt://), a group with CHAP after a restart of tgtd is locked (no initiator is admitted)
          until an M(stormgmt.core.access_group) task gives the CHAP secrets again; RV(access_group.status) says so.
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
  description:
    - Exception class of a failure (C(ValueFormatEx) for a malformed initiator, ...).
    - Also set for options refused before the task starts (C(MissingKeyEx), C(InvalidValueEx),
      C(ValueFormatEx)), see the notes.
    - With O(access_groups), the class of the first item that failed; RV(results) has the class of each.
  returned: failed
  type: str
  sample: ValueFormatEx
results:
  description:
    - With O(access_groups), the result of every item, in the order of the list, shaped as the result of the single
      form (RV(access_group), C(changed), RV(action), RV(job), and RV(results[].diff) in diff mode) plus the item's
      RV(results[].name). An item that failed has RV(results[].failed), RV(results[].msg) and RV(results[].error)
      instead of a record.
  returned: when O(access_groups) is given
  type: list
  elements: dict
  contains:
    name:
      description: The item's O(access_groups[].name).
      type: str
      sample: db
    changed:
      description: Whether the item changed (or in check mode, would change) its group.
      type: bool
    action:
      description: What was done to the group (C(create), C(update), C(delete)); only when it changed.
      type: str
      sample: update
    access_group:
      description: The group after the item, as RV(access_group). Absent for a failed item.
      type: dict
    diff:
      description: V(before) and V(after) records of the group, in diff mode.
      type: dict
    job:
      description: The last job of the item, where the backend ran one.
      type: dict
    failed:
      description: V(true) when the item failed.
      type: bool
    msg:
      description: Why the item failed, naming its group.
      type: str
    error:
      description: Exception class of the item's failure.
      type: str
      sample: OperationPreReqNotMetEx
  sample:
    - name: db
      changed: true
      action: create
      access_group: {grp_name: db, grp_entries: [iqn.2026-01.com.example:db1], luns: [{name: db-data, lun_id: 1}]}
    - name: backup
      changed: false
      failed: true
      msg: "LUN 'web-data' does not exist, so access group 'backup' cannot map it"
      error: OperationPreReqNotMetEx
diff:
  description:
    - In diff mode, V(before) and V(after) of the object (the single form), or with O(access_groups) a list with
      one V(before)/V(after) per group that changed, headed with the group's name.
  returned: diff mode
  type: raw
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._access_group import (
    AccessGroupResource,
    access_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._batch import new_batch_module, run


def main():
    module = new_batch_module(access_group_argument_spec(), "access_groups")
    run(module, AccessGroupResource, "access_groups", access_group_argument_spec())


if __name__ == "__main__":
    main()
