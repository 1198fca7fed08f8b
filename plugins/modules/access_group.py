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
author:
  - stormgmt.core contributors (@stormgmt)
extends_documentation_fragment:
  - stormgmt.core.connection
  - stormgmt.core.connection.attributes
options:
  name:
    description:
      - Name of the access group, unique on the server.
    type: str
    required: true
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
      - With O(append=false) the group holds exactly these clients; not set leaves the clients as they are.
    type: list
    elements: str
  luns:
    description:
      - LUNs mapped to the group, each a LUN name or a mapping with C(name) and C(lun_id) (the LUN number the
        initiators see, 0 to 16383).
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
      - With O(state=absent), delete the group even when LUNs are still mapped to it (the LUNs stay, unmapped).
        Without it the task fails with C(StorageElementBusyEx).
    type: bool
    default: false
seealso:
  - module: stormgmt.core.lun
"""

EXAMPLES = r"""
- name: Two hosts see two LUNs, with CHAP
  stormgmt.core.access_group:
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
    name: web
    initiators:
      - iqn.2026-01.com.example:web3
    append: true

- name: Fibre Channel hosts
  stormgmt.core.access_group:
    name: oracle
    initiators:
      - "21:00:00:24:ff:31:4c:5a"
      - "0x21000024ff314c5b"

- name: NFS clients that file systems are exported to
  stormgmt.core.access_group:
    name: lab
    clients:
      - 192.0.2.0/24
      - "*.lab.example.com"

- name: Turn CHAP off
  stormgmt.core.access_group:
    name: web
    chap:
      state: absent

- name: Delete the group, unmapping its LUNs
  stormgmt.core.access_group:
    name: web
    state: absent
    force: true
"""

RETURN = r"""
access_group:
  description: The access group after the task (in check mode, as it would be); empty when absent.
  returned: always
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
action:
  description: What the task did or, in check mode, would do (V(create), V(update), V(delete)).
  returned: changed
  type: str
  sample: update
error:
  description: Exception class of a failure (C(ValueFormatEx) for a malformed initiator, ...).
  returned: failed
  type: str
  sample: ValueFormatEx
"""

# first: keeps the compiled code of the module_utils imported below between runs (_bytecode.py)
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode  # noqa: F401 pylint: disable=unused-import
from ansible_collections.stormgmt.core.plugins.module_utils._access_group import (
    AccessGroupResource,
    access_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._module import new_module, run_resource


def main():
    module = new_module(access_group_argument_spec())
    run_resource(module, AccessGroupResource)


if __name__ == "__main__":
    main()
