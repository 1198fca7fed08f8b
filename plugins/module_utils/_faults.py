# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Named fault points for the fault-injection tests. Private to this collection.

An apply path marks the steps between which a crash would leave something behind
(a row written but no directory yet, a copy half made, a target without its ACL)
with ``fault_point("backend.operation.step")``. Outside the tests nothing happens
but one environment lookup. The tests set:

* ``STORMGMT_FAULT_TRACE=FILE``: every point passed is appended to FILE, one name
  per line, so a test learns the points of a path by running it once;
* ``STORMGMT_FAULT_POINT=NAME``: the process kills itself with SIGKILL at that
  point, as ``kill -9`` or a power cut would, with no cleanup of any kind.

The next run of any module against the same server must then converge, leave no
orphan and say what it repaired.
"""

from __future__ import annotations

import os
import signal


def fault_point(name: str) -> None:
    trace = os.environ.get("STORMGMT_FAULT_TRACE")
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(name + "\n")
    if os.environ.get("STORMGMT_FAULT_POINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
