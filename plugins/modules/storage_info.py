#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_info
short_description: Read facts of a storage server - abilities, pools, LUNs, snapshots, groups, file systems
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
    type: list
    elements: str
    choices: [all, server, abilities, pools, luns, snapshots, access_groups, filesystems]
    default: [all]
seealso:
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
- name: Everything the simulator holds
  stormgmt.core.storage_info:
  register: facts

- name: Show the LUN names and sizes
  ansible.builtin.debug:
    msg: "{{ facts.storage.luns | items2dict(key_name='name', value_name='size') }}"

- name: Only the pools and what the backend can do
  stormgmt.core.storage_info:
    gather_subset: [pools, abilities]
  register: caps

- name: Skip snapshots where the backend cannot take them
  when: caps.storage.abilities.snapshot in ['ONLINE', 'OFFLINE']
  ansible.builtin.debug:
    msg: snapshots are available
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
error:
  description: Exception class of a failure (C(InvalidStorageArrayEx) for a state file that cannot be read, ...).
  returned: failed
  type: str
  sample: InvalidStorageArrayEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._info import gather, info_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_info


def main():
    module = new_module(info_argument_spec())
    run_info(module, gather)


if __name__ == "__main__":
    main()
