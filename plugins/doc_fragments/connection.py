# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # In step with connection_argument_spec() in plugins/module_utils/_module.py
    DOCUMENTATION = r"""
options:
  server:
    description:
      - URI of the storage server; its scheme picks the backend.
      - V(sim://) is the simulator with its state in C(~/.local/state/stormgmt/sim.db) on the managed node;
        V(sim:///path/state.db) keeps it elsewhere; V(sim:///path/state.db?job_delay=2) makes long operations
        run as jobs of two seconds.
      - V(tgt:///srv/pool0?portal=127.0.0.1:3260) is a Linux iSCSI storage server (tgt) whose LUNs are files
        in C(/srv/pool0); with C(&nfs_conf=/etc/stormgmt/ganesha/ganesha.conf) it also serves file systems.
      - V(linux:///srv/nas0?nfs_conf=/etc/stormgmt/ganesha/ganesha.conf) is the same Linux server serving file
        systems only (btrfs subvolumes exported by nfs-ganesha, no tgtd needed); add C(portal=HOST:PORT) for LUNs.
      - V(plugin+NAME://...) runs the external plug-in C(stormgmt-plugin-NAME).
      - If not set, the environment variable E(STORMGMT_SERVER) is used.
    type: str
    default: sim://
  username:
    description:
      - User name to log in to the storage server, for backends that need one.
      - If not set, the environment variable E(STORMGMT_USERNAME) is used.
    type: str
  password:
    description:
      - Password to log in to the storage server. Never shown in results, logs or diffs.
      - If not set, the environment variable E(STORMGMT_PASSWORD) is used.
    type: str
  wait:
    description:
      - When the backend runs an operation as a job, wait until it is done.
      - With V(false) the task returns at once with the job in RV(ignore:job); the element reports a C(BUSY_*)
        state until the job ends, and running the task again reports no change.
      - With V(true), a task on an element that is still busy with a job (started by a task with V(false),
        or by another run) waits for that job to end, up to O(wait_timeout), before it compares and acts.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for a job before failing. The job goes on on the storage server.
    type: int
    default: 300
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Predicts C(changed) and the would-be record without writing anything.
  diff_mode:
    support: full
    description: Returns the record before and after the change.
  action_group:
    support: full
    membership:
      - stormgmt.core.storage
    description: Use C(group/stormgmt.core.storage) in C(module_defaults) to set the connection options once.
"""
