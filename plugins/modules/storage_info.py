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
      - What to return. V(all) returns everything; each other value adds the key of the same name under
        RV(storage).
      - V(rotation) reports the snapshot rotations (see the rotation form of M(stormgmt.core.snapshot)), one entry per
        LUN, file system or consistency group and prefix whose snapshots have generated names (prefix followed by
        a UTC time, such as C(nightly-20261202T030012Z)). O(rotation) narrows it to one prefix and adds when the next
        snapshot is due.
    type: list
    elements: str
    choices: [all, server, abilities, pools, luns, snapshots, access_groups, filesystems, consistency_groups,
              group_snapshots, rotation]
    default: [all]
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
      description: The Storage Server record - name, uuid, storage_type, backend, uri, status, total_sz, used_sz,
        free_sz, alloc_sz, vol_groups, access_grps, storage_desc. Never a secret.
      type: dict
      returned: when O(gather_subset) has V(server) or V(all)
    abilities:
      description: Ability name to C(UNSUPPORTED), C(OFFLINE), C(ONLINE), C(YES) or C(NO).
      type: dict
      returned: when O(gather_subset) has V(abilities) or V(all)
      sample: {create_lun: ONLINE, snapshot: ONLINE, thin_provisioning: "YES"}
    pools:
      description: Volume group records (vol_name, vol_total_sz, vol_used_sz, vol_free_sz, vol_alloc_sz, vol_desc).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(pools) or V(all)
    luns:
      description: Storage Element records of the LUNs and LUN clones, as M(stormgmt.core.lun) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(luns) or V(all)
    snapshots:
      description: Snapshot records of LUNs and file systems, as M(stormgmt.core.snapshot) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(snapshots) or V(all)
    access_groups:
      description: Access group records, as M(stormgmt.core.access_group) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(access_groups) or V(all)
    filesystems:
      description: File System records, as M(stormgmt.core.filesystem) returns them.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(filesystems) or V(all)
    consistency_groups:
      description: Consistency group records, as M(stormgmt.core.consistency_group) returns them; empty on backends
        without the ability C(consistency_group).
      type: list
      elements: dict
      returned: when O(gather_subset) has V(consistency_groups) or V(all)
    group_snapshots:
      description: Group snapshot records, as M(stormgmt.core.snapshot) returns them in
        RV(stormgmt.core.snapshot#module:group_snapshot), oldest first per group.
      type: list
      elements: dict
      returned: when O(gather_subset) has V(group_snapshots) or V(all)
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
