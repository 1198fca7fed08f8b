# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # In step with iscsi_argument_spec() in plugins/module_utils/_iscsi.py
    DOCUMENTATION = r"""
options:
  initiator_name:
    description:
      - iSCSI initiator name (IQN) this host logs in with when it attaches an C(iscsi://host[:port]/target-iqn/lun)
        LUN; the target's access group must list it.
      - Defaults to the name in C(/etc/iscsi/initiatorname.iscsi), else V(iqn.2026-11.io.stormgmt:HOSTNAME).
      - Ignored for other devices.
    type: str
  chap:
    description:
      - CHAP credentials to log in to an C(iscsi://) LUN, as set on its access group
        (M(stormgmt.core.access_group) option O(stormgmt.core.access_group#module:chap)).
      - Without it the host logs in without authentication.
    type: dict
    suboptions:
      username:
        description: CHAP user name of the initiator.
        type: str
        required: true
      password:
        description: CHAP secret of the initiator, 12 to 255 characters. Never shown in results, logs or diffs.
        type: str
        required: true
      mutual_username:
        description:
          - User name the target authenticates itself with (mutual CHAP).
          - Mutual CHAP needs the kernel initiator (open-iscsi); where the host attaches LUNs in user space
            (qemu-storage-daemon) it fails with C(NoSuchOperationEx).
        type: str
      mutual_password:
        description: Secret the target authenticates itself with. Never shown in results, logs or diffs.
        type: str
"""
