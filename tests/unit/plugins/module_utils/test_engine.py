# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The idempotency engine: check mode, diff, races, jobs.

Most cases run the real LunResource on the real simulator. The Waiter's timing
cases use a scripted backend and a fake clock instead of the wall clock, so the
tests never depend on how fast this machine is (the one place a fake is used).
"""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Detached, Plan, Resource, Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._lun import LunResource, lun_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationFailedEx,
    StorageElementBusyEx,
)

MiB, GiB = 1024 ** 2, 1024 ** 3


def lun(backend, params, **values):
    values.setdefault("name", "db01")
    return LunResource(backend, params(lun_argument_spec(), **values))


class Recording(Resource):
    """A resource that records calls: proves what the engine does and does not call."""

    kind = "thing"

    def __init__(self, before=None, plan=None, after=None, fail=None) -> None:
        super().__init__(backend=None, params={})
        self.calls = []
        self._before, self._plan, self._after, self._fail = before, plan, after, fail
        self.state = before

    def describe(self):
        return "thing 'x'"

    def read(self):
        self.calls.append("read")
        return self.state

    def plan(self, before):
        self.calls.append("plan")
        return self._plan if before == self._before else Plan()

    def apply(self, plan, before, run):
        self.calls.append("apply")
        if self._fail:
            raise self._fail
        self.state = self._after


def test_plan_changed_follows_action():
    assert not Plan().changed
    assert Plan("create", after={}).changed


def test_check_mode_never_calls_apply():
    resource = Recording(before=None, plan=Plan("create", after={"name": "x"}), after={"name": "x"})
    result = converge(resource, check_mode=True, run=Waiter(None))
    assert "apply" not in resource.calls
    assert result["changed"] is True and result["action"] == "create"
    assert result["thing"] == {"name": "x"}
    assert result["diff"] == {"before": {}, "after": {"name": "x"}}


def test_no_change_calls_nothing_but_read_and_plan():
    resource = Recording(before={"name": "x"}, plan=Plan(), after=None)
    result = converge(resource, check_mode=False, run=Waiter(None))
    assert resource.calls == ["read", "plan"]
    assert result == {"changed": False, "thing": {"name": "x"}, "diff": {"before": {"name": "x"}, "after": {"name": "x"}}}


def test_check_mode_on_the_simulator_writes_nothing(sim, params):
    result = converge(lun(sim, params, size="1G"), check_mode=True, run=Waiter(sim))
    assert result["changed"] is True
    assert result["lun"]["size"] == GiB and result["lun"]["vol_group_name"] == "pool0"
    assert sim.get_lun("db01") is None
    assert sim.list_pools()[0]["vol_alloc_sz"] == 0


def test_create_then_converge_again_changes_nothing(sim, params):
    first = converge(lun(sim, params, size="1G"), check_mode=False, run=Waiter(sim))
    assert first["changed"] is True and first["action"] == "create"
    assert first["diff"]["before"] == {} and first["diff"]["after"] == first["lun"] == sim.get_lun("db01")
    for check_mode in (True, False):
        again = converge(lun(sim, params, size=GiB), check_mode=check_mode, run=Waiter(sim))
        assert again["changed"] is False and "action" not in again
        assert again["lun"] == first["lun"]


def test_diff_shows_before_and_after_of_a_resize(sim, params):
    converge(lun(sim, params, size="1G"), check_mode=False, run=Waiter(sim))
    predicted = converge(lun(sim, params, size="2G"), check_mode=True, run=Waiter(sim))
    assert predicted["diff"]["before"]["size"] == GiB and predicted["diff"]["after"]["size"] == 2 * GiB
    assert sim.get_lun("db01")["size"] == GiB
    result = converge(lun(sim, params, size="2G"), check_mode=False, run=Waiter(sim))
    assert result["changed"] and result["action"] == "update"
    assert result["diff"]["before"]["size"] == GiB and result["diff"]["after"]["size"] == 2 * GiB
    assert result["lun"] == sim.get_lun("db01")


def test_plan_errors_come_before_any_write(sim, params):
    converge(lun(sim, params, size="1G"), check_mode=False, run=Waiter(sim))
    before = sim.get_lun("db01")
    with pytest.raises(InvalidValueEx):
        converge(lun(sim, params, size="512M"), check_mode=False, run=Waiter(sim))  # shrink without allow_shrink
    assert sim.get_lun("db01") == before


def test_race_lost_to_another_writer_converges_unchanged(sim, sim_uri, params, open_backend):
    """Both runs planned a create; the other one wrote first: our apply fails, nothing is left to do."""
    other = open_backend(sim_uri)
    resource = lun(sim, params, size="1G")
    real_create = sim.create_lun

    def create_after_the_other_writer(*args):
        other.create_lun("db01", "pool0", GiB, True, None)
        return real_create(*args)  # raises InvalidValueEx: already exists

    sim.create_lun = create_after_the_other_writer
    result = converge(resource, check_mode=False, run=Waiter(sim))
    assert result["changed"] is False and "action" not in result
    assert result["lun"]["size"] == GiB and result["lun"] == other.get_lun("db01")


def test_race_with_a_different_outcome_still_fails(sim, sim_uri, params, open_backend):
    """The other writer made a LUN of another size: not what we want, so the error stands."""
    other = open_backend(sim_uri)
    real_create = sim.create_lun

    def create_after_the_other_writer(*args):
        other.create_lun("db01", "pool0", 2 * GiB, True, None)
        return real_create(*args)

    sim.create_lun = create_after_the_other_writer
    with pytest.raises(InvalidValueEx):
        converge(lun(sim, params, size="1G"), check_mode=False, run=Waiter(sim))


def test_failure_with_state_unchanged_is_raised():
    resource = Recording(before=None, plan=Plan("create", after={}), fail=StorageElementBusyEx("busy"))
    with pytest.raises(StorageElementBusyEx):
        converge(resource, check_mode=False, run=Waiter(None))


# --- jobs ------------------------------------------------------------------

class ScriptedJobs:
    """A backend whose job goes through the given statuses, one per poll."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)
        self.polls = 0

    def job_status(self, job_id):
        self.polls += 1
        progress, status = self.steps.pop(0)
        return records.make("job", job_id=job_id, op="create LUN x", progress=progress, status=status,
                            error={"error": "StorageElementBusyEx", "msg": "LUN 'x' is busy"} if status == "ERROR" else None)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def running(progress=0):
    return records.make("job", job_id="j1", op="create LUN x", progress=progress, status="RUNNING")


def test_waiter_passes_plain_answers_through():
    waiter = Waiter(None)
    assert waiter({"name": "x"}) == {"name": "x"} and waiter(None) is None
    assert waiter.jobs == []


def test_waiter_polls_until_complete_and_reports_the_job():
    backend = ScriptedJobs((30, "RUNNING"), (70, "RUNNING"), (100, "COMPLETE"))
    clock = FakeClock()
    waiter = Waiter(backend, timeout=300, sleep=clock.sleep, clock=clock)
    job = waiter(running())
    assert backend.polls == 3
    assert job["status"] == "COMPLETE" and job["progress"] == 100
    assert job["elapsed"] == round(sum(clock.sleeps), 3)
    assert waiter.jobs == [job]
    # backs off instead of hammering the server, but never sleeps more than a second
    assert clock.sleeps == sorted(clock.sleeps) and max(clock.sleeps) <= 1.0


def test_waiter_times_out_with_operation_failed():
    backend = ScriptedJobs(*[(10, "RUNNING")] * 1000)
    clock = FakeClock()
    waiter = Waiter(backend, timeout=5, sleep=clock.sleep, clock=clock)
    with pytest.raises(OperationFailedEx) as info:
        waiter(running())
    assert "wait_timeout=5" in info.value.msg and "j1" in info.value.msg
    assert 5 <= clock.now - 100.0 < 6
    assert waiter.jobs[-1]["status"] == "RUNNING"  # the module returns the job it gave up on


def test_waiter_raises_the_jobs_error_class():
    clock = FakeClock()
    waiter = Waiter(ScriptedJobs((None, "ERROR")), sleep=clock.sleep, clock=clock)
    with pytest.raises(StorageElementBusyEx) as info:
        waiter(running())
    assert info.value.msg == "LUN 'x' is busy"


def test_waiter_without_wait_detaches():
    waiter = Waiter(ScriptedJobs(), wait=False)
    with pytest.raises(Detached) as info:
        waiter(running(5))
    assert info.value.job["job_id"] == "j1" and waiter.jobs == [info.value.job]


def test_converge_waits_on_simulator_jobs(tmp_path, params, open_backend):
    backend = open_backend("sim://%s/jobs.db?job_delay=0.2" % tmp_path)
    progress = []
    real_status = backend.job_status

    def watch(job_id):
        job = real_status(job_id)
        progress.append(job["progress"])
        return job

    backend.job_status = watch
    result = converge(lun(backend, params, size="1G"), check_mode=False, run=Waiter(backend))
    assert result["changed"] is True
    assert result["job"]["status"] == "COMPLETE" and result["job"]["progress"] == 100
    assert result["lun"]["state"] == "ONLINE"
    assert progress == sorted(progress) and progress[-1] == 100 and len(progress) >= 2


def test_wait_false_returns_the_running_job(tmp_path, params, open_backend):
    backend = open_backend("sim://%s/jobs.db?job_delay=30" % tmp_path)
    result = converge(lun(backend, params, size="1G", wait=False), check_mode=False, run=Waiter(backend, wait=False))
    assert result["changed"] is True
    assert result["job"]["status"] == "RUNNING" and result["job"]["job_id"]
    assert result["lun"]["state"] == "BUSY_CREATE"
    # the next run, also without waiting, sees the LUN being made and has nothing to do
    again = converge(lun(backend, params, size="1G", wait=False), check_mode=False,
                     run=Waiter(backend, wait=False))
    assert again["changed"] is False and again["lun"]["state"] == "BUSY_CREATE"


def test_a_waiting_run_returns_the_object_once_its_job_is_over(tmp_path, params, open_backend):
    """wait: true on an object another run left busy: no change, and the finished record."""
    backend = open_backend("sim://%s/jobs.db?job_delay=0.6" % tmp_path)
    converge(lun(backend, params, size="1G", wait=False), check_mode=False, run=Waiter(backend, wait=False))
    again = converge(lun(backend, params, size="1G"), check_mode=False, run=Waiter(backend))
    assert again["changed"] is False and again["lun"]["state"] == "ONLINE"


def test_a_waiting_run_changes_a_busy_object_once_its_job_is_over(tmp_path, params, open_backend):
    """Without the wait the resize would be refused with StorageElementBusyEx (the LUN is being made)."""
    backend = open_backend("sim://%s/jobs.db?job_delay=0.6" % tmp_path)
    converge(lun(backend, params, size="1G", wait=False), check_mode=False, run=Waiter(backend, wait=False))
    with pytest.raises(StorageElementBusyEx):
        converge(lun(backend, params, size="2G", wait=False), check_mode=False, run=Waiter(backend, wait=False))
    grown = converge(lun(backend, params, size="2G"), check_mode=False, run=Waiter(backend))
    assert grown["changed"] is True and grown["lun"]["size"] == 2 * GiB and grown["lun"]["state"] == "ONLINE"


def test_a_waiting_run_gives_up_on_a_busy_object_at_wait_timeout(tmp_path, params, open_backend):
    backend = open_backend("sim://%s/jobs.db?job_delay=60" % tmp_path)
    converge(lun(backend, params, size="1G", wait=False), check_mode=False, run=Waiter(backend, wait=False))
    clock = FakeClock()
    again = converge(lun(backend, params, size="1G"), check_mode=False,
                     run=Waiter(backend, timeout=3, sleep=clock.sleep, clock=clock))
    assert again["changed"] is False and again["lun"]["state"] == "BUSY_CREATE"
    assert 3 <= clock.now - 100.0 < 4


def test_own_job_timing_out_is_a_failure_not_a_lost_race(tmp_path, params, open_backend):
    """The LUN exists afterwards (being created), but by our job, which outlived wait_timeout."""
    backend = open_backend("sim://%s/jobs.db?job_delay=60" % tmp_path)
    clock = FakeClock()
    waiter = Waiter(backend, timeout=2, sleep=clock.sleep, clock=clock)
    with pytest.raises(OperationFailedEx) as info:
        converge(lun(backend, params, size="1G"), check_mode=False, run=waiter)
    assert "wait_timeout=2" in info.value.msg
    assert waiter.failed_job["status"] == "RUNNING" and waiter.jobs[-1] is waiter.failed_job


def test_own_job_failing_is_a_failure_even_if_the_object_looks_right():
    class JobResource(Recording):
        def apply(self, plan, before, run):
            self.state = self._after  # the object appeared, but the job that made it failed
            run(running())

    clock = FakeClock()
    resource = JobResource(before=None, plan=Plan("create", after={"name": "x"}), after={"name": "x"})
    with pytest.raises(StorageElementBusyEx):
        converge(resource, check_mode=False, run=Waiter(ScriptedJobs((None, "ERROR")), sleep=clock.sleep, clock=clock))
