#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot
short_description: Manage read-only snapshots of LUNs and file systems, and restore them
version_added: 0.1.0
description:
  - Creates or deletes a read-only point-in-time copy of a LUN or of a network file system, or rolls the parent
    back to it.
  - Snapshot names are unique among the snapshots of one parent, so every LUN may have its own V(daily).
author:
  - stormgmt.core contributors (@stormgmt)
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
options:
  name:
    description:
      - Name of the snapshot, 1 to 63 characters from C(A-Z a-z 0-9 _ . -), not starting with C(.) or C(-).
    type: str
    required: true
  lun:
    description:
      - LUN the snapshot belongs to. Exactly one of O(lun) and O(filesystem) is required.
    type: str
  filesystem:
    description:
      - Network file system the snapshot belongs to.
    type: str
  state:
    description:
      - V(present) creates the snapshot when it is missing; an existing snapshot is never overwritten.
      - V(absent) deletes it. A snapshot with clones that depend on it is kept and the task fails with
        C(StorageElementBusyEx).
      - V(restored) rolls the parent back to the snapshot. It changes nothing when the backend knows the parent
        still holds the snapshot's content. Restoring a LUN that is mapped to an access group would change data
        under running initiators, so it fails with C(SnapRestoreNotSafeEx); unmap it first.
    type: str
    choices: [present, absent, restored]
    default: present
seealso:
  - module: stormgmt.core.lun
  - module: stormgmt.core.clone
"""

EXAMPLES = r"""
- name: Snapshot a LUN before an upgrade
  stormgmt.core.snapshot:
    name: before-upgrade
    lun: db01

- name: Roll the LUN back to it
  stormgmt.core.snapshot:
    name: before-upgrade
    lun: db01
    state: restored

- name: Snapshot a network file system
  stormgmt.core.snapshot:
    name: nightly
    filesystem: home

- name: Drop the snapshot
  stormgmt.core.snapshot:
    name: before-upgrade
    lun: db01
    state: absent
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot as a Storage Element record (C(se_type=SNAP)), after the task (in check mode, as it would be).
      Empty when the snapshot is absent.
    - Same fields as the RV(stormgmt.core.lun#module:lun) record; RV(snapshot.parent) names the LUN or file system.
  returned: always
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
action:
  description: What the task did or, in check mode, would do (V(create), V(delete), V(restore)).
  returned: changed
  type: str
  sample: restore
job:
  description: The last job the backend ran for the task (restores may run as jobs).
  returned: when the backend ran a job
  type: dict
error:
  description: Exception class of a failure (C(SnapRestoreNotSafeEx), C(OperationPreReqNotMetEx), ...).
  returned: failed
  type: str
  sample: SnapRestoreNotSafeEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource
from ansible_collections.stormgmt.core.plugins.module_utils._snapshot import SnapshotResource


def main():
    module = new_module(
        dict(
            name=dict(type="str", required=True),
            lun=dict(type="str"),
            filesystem=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "restored"]),
        ),
        mutually_exclusive=[("lun", "filesystem")],
        required_one_of=[("lun", "filesystem")],
    )
    run_resource(module, SnapshotResource)


if __name__ == "__main__":
    main()
