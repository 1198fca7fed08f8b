# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one idempotency engine every module uses. Private to this collection.

read the current record (once an object busy with a job has finished it) -> plan (what to do, the would-be record) -> in check
mode stop there -> apply, waiting on jobs -> re-read -> result with diff.

A module describes its object with a :class:`Resource`; it never decides on its
own whether something changed.
"""

from __future__ import annotations

import abc
import time
import traceback

from ansible.module_utils.common.warnings import warn

from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    IPluginException,
    OperationFailedEx,
    error_from_dict,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import is_job
from ansible_collections.stormgmt.core.plugins.module_utils.records import SE_BUSY_STATES


class Plan:
    """What a resource would do.

    ``action``: None (nothing to do) or a word for the result (create, update,
    delete, restore, split, ...). ``steps``: names of the changes, in order, for the
    resource's ``apply``. ``after``: the record as it would be afterwards (check
    mode returns it).
    """

    def __init__(self, action: str | None = None, after: dict | None = None, steps=None, **details) -> None:
        self.action = action
        self.after = after
        self.steps = list(steps or [])
        self.details = details

    @property
    def changed(self) -> bool:
        return self.action is not None


class Detached(Exception):
    """Raised by the waiter when ``wait: false`` and a job was started."""

    def __init__(self, job: dict) -> None:
        super().__init__(job.get("job_id"))
        self.job = job


class Waiter:
    """Turns a backend answer into a result, polling jobs until they finish."""

    def __init__(self, backend, wait: bool = True, timeout: float = 300, sleep=time.sleep, clock=time.monotonic) -> None:
        self.backend = backend
        self.wait = wait
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self.jobs: list = []
        #: the job of this run that failed or outlived wait_timeout, if any
        self.failed_job: dict | None = None

    def _poll(self, value, fetch, pending):
        """Fetch ``value`` again, backing off, while ``pending(value)`` and within wait_timeout.

        Returns the last value and whether it is no longer pending.
        """
        started = self._clock()
        delay = 0.05
        while pending(value):
            elapsed = self._clock() - started
            if elapsed >= self.timeout:
                return value, False
            self._sleep(min(delay, max(self.timeout - elapsed, 0.01)))
            delay = min(delay * 2, 1.0)
            value = fetch()
        return value, True

    def __call__(self, answer):
        if not is_job(answer):
            return answer
        job = answer
        if not self.wait:
            self.jobs.append(job)
            raise Detached(job)
        started = self._clock()
        job, done = self._poll(job, lambda: self.backend.job_status(job["job_id"]),
                               lambda current: current.get("status") == "RUNNING")
        if not done:
            self.jobs.append(job)
            self.failed_job = job
            raise OperationFailedEx(
                "job %s (%s) did not finish within wait_timeout=%ss (progress %s%%); it goes on "
                "on the storage server: run the task again later to see its result"
                % (job["job_id"], job.get("op"), self.timeout, job.get("progress")))
        job = dict(job, elapsed=round(self._clock() - started, 3))
        self.jobs.append(job)
        if job.get("status") == "ERROR":
            self.failed_job = job
            raise error_from_dict(job.get("error") or {"msg": "job %s failed" % job["job_id"]})
        return job

    def settled(self, read):
        """``read()``, again and again while the object is busy with a job (wait: true).

        An object another run left busy (``wait: false``, or a run still going) is read
        until its job is over or ``wait_timeout`` has passed, so that the plan starts from
        the object as it will be, and the record returned is the finished one.
        """
        record = read()
        if self.wait:
            record = self._poll(record, read, _busy)[0]
        return record


def _busy(record) -> bool:
    return isinstance(record, dict) and record.get("state") in SE_BUSY_STATES


class Resource(abc.ABC):
    """One storage object as a module sees it."""

    #: key of the record in the module result (lun, snapshot, ...)
    kind = ""

    def __init__(self, backend, params: dict) -> None:
        self.backend = backend
        self.params = params

    @staticmethod
    def needs_server(params: dict) -> bool:
        """Whether a task with these options works on the storage server (then ``server`` is required)."""
        return True

    @abc.abstractmethod
    def describe(self) -> str:
        """How messages name the object: "LUN 'db01'"."""

    @abc.abstractmethod
    def read(self) -> dict | None:
        """The current record, or None when the object does not exist."""

    @abc.abstractmethod
    def plan(self, before: dict | None) -> Plan:
        """Decide. Must validate everything and raise before any write."""

    @abc.abstractmethod
    def apply(self, plan: Plan, before: dict | None, run: Waiter) -> None:
        """Carry out ``plan``; pass every backend answer through ``run``."""

    def outcome(self, plan: Plan) -> dict:
        """Keys the module result gets besides the record and the diff: what the run did (or,
        in check mode, would do) that the record does not show. None by default."""
        return {}

    @staticmethod
    def read_many(resources: list) -> list | None:
        """The current records of ``resources`` (all of this class, on one backend), read
        together, in their order; None when this kind has no bulk read (each reads itself)."""
        return None


def converge(resource: Resource, check_mode: bool, run: Waiter) -> dict:
    """Bring ``resource`` to its desired state; return the module result.

    What the backend repaired on the way (left behind by a run that was killed) is
    returned as ``repaired`` and shown as warnings, also when the task then fails.
    """
    try:
        result = _converge(resource, check_mode, run)
    finally:
        repaired = list(getattr(resource.backend, "repaired", None) or [])
        for text in repaired:
            warn("repaired: %s" % text)
    if repaired:
        result["repaired"] = repaired
    return result


def _converge(resource: Resource, check_mode: bool, run: Waiter) -> dict:
    before = run.settled(resource.read)
    plan = resource.plan(before)
    result = {"changed": plan.changed}
    if plan.changed:
        result["action"] = plan.action
    if not plan.changed:
        after = before
    elif check_mode:
        after = plan.after
    else:
        try:
            resource.apply(plan, before, run)
        except Detached:
            pass
        except IPluginException:
            # Another run may have done the same thing at the same moment (two
            # forks creating one LUN): if nothing is left to do, that is success.
            # Not when our own job failed or timed out: then the change is ours.
            if run.failed_job is not None:
                raise
            current = resource.read()
            if current == before:
                raise
            retry = resource.plan(current)
            if retry.changed:
                # The other run changed the object into something we still have to
                # change (two forks each adding their initiator to one new group):
                # plan again from what is there, as a second run would, and apply
                # that once. Its plan validates before writing; its error stands.
                resource.apply(retry, current, run)
                before = current
                result["action"] = retry.action
            else:
                result["changed"] = False
                result.pop("action", None)
        after = resource.read()
    if run.jobs:
        result["job"] = run.jobs[-1]
    result.update(resource.outcome(plan))
    result[resource.kind] = after or {}
    result["diff"] = {"before": before or {}, "after": after or {}}
    return result


# --- many objects in one module run ----------------------------------------------------------

class _Stale(OperationFailedEx):
    """The record a batch read first is no longer the object's: someone changed it since."""


class _ReadBefore(Resource):
    """``resource`` whose first read was done already, by the bulk read of its batch.

    Before it writes, it reads the object again: when the object changed since the bulk
    read, :func:`converge` takes that as the race it is (another writer came first) and
    plans again from what is there, exactly as a run that started later would. So the
    bulk read saves the reads of the objects that need nothing, and never decides a write.
    """

    def __init__(self, resource: Resource, record: dict | None) -> None:
        super().__init__(resource.backend, resource.params)
        self.resource = resource
        self.kind = resource.kind
        self._record = record
        self._served = False

    def describe(self) -> str:
        return self.resource.describe()

    def read(self):
        if not self._served:
            self._served = True
            return self._record
        return self.resource.read()

    def plan(self, before):
        return self.resource.plan(before)

    def apply(self, plan, before, run):
        if self.resource.read() != before:
            raise _Stale("%s changed while this task ran; run the task again" % self.describe())
        self.resource.apply(plan, before, run)


def _named(resource: Resource, error: IPluginException) -> str:
    what = resource.describe()
    return error.msg if what in error.msg else "%s: %s" % (what, error.msg)


def converge_many(resources: list, check_mode: bool, new_waiter) -> list:
    """Converge ``resources`` (of one class, on one backend) one after the other, each with
    :func:`converge`; return one result per resource, in their order.

    Their records are read first with one bulk read (:meth:`Resource.read_many`) when the
    class has one. A resource that fails gets ``{changed: false, failed: true, msg, error}``
    (and its ``job``) and does not stop the others; as with one object, it is left as it
    was. ``new_waiter()`` gives each resource a :class:`Waiter` of its own (its jobs, its
    wait_timeout). An error of the bulk read itself is raised: nothing was written yet.
    """
    known = type(resources[0]).read_many(resources) if resources else None
    results = []
    for index, resource in enumerate(resources):
        run = new_waiter()
        target = resource if known is None else _ReadBefore(resource, known[index])
        try:
            result = converge(target, check_mode, run)
        except IPluginException as error:
            result = {"changed": False, "failed": True, "msg": _named(resource, error), "error": error.name}
        except Exception as error:  # pylint: disable=broad-exception-caught  # one object's bug must not stop the rest
            result = {"changed": False, "failed": True, "error": "OperationFailedEx",
                      "msg": "%s: unexpected error: %s" % (resource.describe(), error),
                      "exception": traceback.format_exc()}
        if result.get("failed") and run.jobs:
            result["job"] = run.jobs[-1]
        results.append(result)
    return results
