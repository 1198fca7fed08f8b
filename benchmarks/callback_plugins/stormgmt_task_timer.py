# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper (not part of the collection): time every task, write them as JSON."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: stormgmt_task_timer
type: aggregate
short_description: Record the wall time of every task (stormgmt benchmarks)
description:
  - Writes [{name, action, seconds, status}] for each task to the file named by E(STORMGMT_BENCH_TIMINGS)
    when the playbook ends.
requirements:
  - enabled with C(callbacks_enabled)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stormgmt_task_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._current = None
        self._started = 0.0
        self._timings = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._current = task
        self._started = time.perf_counter()

    def _record(self, result, status):
        seconds = time.perf_counter() - self._started
        task = result._task  # pylint: disable=protected-access
        self._timings.append({"name": task.get_name(), "action": task.action, "seconds": seconds, "status": status})

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("STORMGMT_BENCH_TIMINGS")
        if path:
            with open(path, "w") as handle:
                json.dump(self._timings, handle, indent=1)
