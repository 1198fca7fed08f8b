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
- name: Clone a LUN for a test environment
  stormgmt.core.clone:
    name: db01-test
    lun: db01

- name: Clone a snapshot and make the copy independent
  stormgmt.core.clone:
    name: db01-restore
    lun: db01
    snapshot: before-upgrade
    split: true

- name: Clone a network file system from its nightly snapshot
  stormgmt.core.clone:
    name: home-yesterday
    filesystem: home
    snapshot: nightly

- name: Remove the test clone
  stormgmt.core.clone:
    name: db01-test
    lun: db01
    state: absent
"""

RETURN = r"""
clone:
  description:
    - The clone after the task (in check mode, as it would be); empty when absent.
    - A Storage Element record (as RV(stormgmt.core.lun#module:lun)) for a LUN clone, a File System record (as
      RV(stormgmt.core.filesystem#module:filesystem)) for a file system clone.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the clone.
      type: str
      sample: db01-test
    uuid:
      description: UUID; V(null) in check mode before it exists.
      type: str
    se_type:
      description: For LUN clones, C(LUN) (clone of a LUN, or split) or C(SNAPCLONE) (clone of a snapshot).
      type: str
      sample: SNAPCLONE
    size:
      description: Size in bytes.
      type: int
    parent:
      description: LUN or file system the clone came from; V(null) after a split.
      type: str
      sample: db01
    parent_snapshot:
      description: Snapshot the clone came from, or V(null).
      type: str
      sample: before-upgrade
    state:
      description: SE_STATES (LUN clones; C(BUSY_CLONE) while being made) or FS_STATES (file system clones).
      type: str
action:
  description: What the task did or, in check mode, would do (V(create), V(split), V(delete)).
  returned: changed
  type: str
  sample: create
job:
  description: The last job the backend ran for the task.
  returned: when the backend ran a job
  type: dict
error:
  description: Exception class of a failure.
  returned: failed
  type: str
  sample: OperationPreReqNotMetEx
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
