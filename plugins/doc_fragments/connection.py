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
      - URI of the storage server; its scheme picks the backend. Required for every task that works on a storage
        server (all of them except a M(stormgmt.core.mount) of O(stormgmt.core.mount#module:src) and a
        M(stormgmt.core.filesystem) on a O(stormgmt.core.filesystem#module:device)); a task without it fails with
        C(MissingKeyEx). The storage is never guessed; the simulator is used only when named.
      - Set it in the task, once for a play with C(module_defaults) (C(group/stormgmt.core.storage)), or in the
        environment variable E(STORMGMT_SERVER) of the node the task runs on. The examples take it from the
        variable C(stormgmt_server). An empty value (V("")), as AWX sends an empty credential field, counts as
        not set.
      - V(sim:///path/state.db) is the simulator with its state in that file on the managed node;
        V(sim:///path/state.db?job_delay=2) makes long operations run as jobs of two seconds (0 to 3600); V(sim://)
        keeps the state in C(~/.local/state/stormgmt/sim.db).
      - The directory of the simulator's state must exist, else the task fails (V(sim://) alone makes its own); add C(create=true) to the
        URI, for example V(sim:///var/tmp/stormgmt/sim.db?create=true), to let the simulator make it.
      - V(tgt:///srv/pool0?portal=127.0.0.1:3260) is a Linux iSCSI storage server (tgt) whose LUNs are files
        in C(/srv/pool0); with C(&nfs_conf=/etc/stormgmt/ganesha/ganesha.conf) it also serves file systems.
      - V(linux:///srv/nas0?nfs_conf=/etc/stormgmt/ganesha/ganesha.conf) is the same Linux server serving file
        systems only (btrfs subvolumes exported by nfs-ganesha, no tgtd needed); add C(portal=HOST:PORT) for LUNs.
      - V(plugin+NAME://...) runs the external plug-in C(stormgmt-plugin-NAME).
      - V(lsm+NAME://...) drives libstoragemgmt's plug-in C(NAME_lsmplugin), for example V(lsm+sim://); see C(docs/lsm_backend.md).
      - The URI must not carry credentials (C(user:password@), or a query parameter such as C(password=) or
        C(token=)); such a URI is refused with C(ValueFormatEx), and its secret is masked in every output and log.
    type: str
  username:
    description:
      - User name to log in to the storage server, for backends that need one.
      - If not set, the environment variable E(STORMGMT_USERNAME) is used. An empty value counts as not set.
    type: str
  password:
    description:
      - Password to log in to the storage server. Never shown in results, logs or diffs.
      - If not set, the environment variable E(STORMGMT_PASSWORD) is used. An empty value counts as not set.
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
      - Seconds to wait for a job before failing, a whole number greater than zero. The job goes on on the
        storage server.
    type: int
    default: 300
notes:
  - Every failure returns the exception class in RV(ignore:error), also for options refused before the task
    starts - C(MissingKeyEx) for a required option that is missing, C(InvalidValueEx) for a value that is not
    among the choices, for options that exclude each other and for unknown options, C(ValueFormatEx) for a value
    of the wrong type (including a boolean or a negative number for a whole-number option).
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
