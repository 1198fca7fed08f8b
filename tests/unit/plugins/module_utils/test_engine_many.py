# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""converge_many: many objects through the one engine - partial failures, check mode, diff,
the bulk read, and races between that read and the writes.

The real LunResource and AccessGroupResource run on the real simulator. A race is made by a
second connection to the same state file that writes between the bulk read and an item's
turn, as another ansible-playbook run would.
"""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._access_group import (
    AccessGroupResource,
    access_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge_many
from ansible_collections.stormgmt.core.plugins.module_utils._lun import LunResource, lun_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils.errors import ListFailedEx, OperationFailedEx

MiB, GiB = 1024 ** 2, 1024 ** 3


class Counting:
    """A backend that counts the calls made to it, forwarding everything."""

    def __init__(self, backend, on_call=None) -> None:
        self._backend = backend
        self._on_call = on_call
        self.calls: list = []

    def __getattr__(self, name):
        attribute = getattr(self._backend, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            self.calls.append(name)
            if self._on_call:
                self._on_call(name, args)
            return attribute(*args, **kwargs)
        return call

    def count(self, name: str) -> int:
        return self.calls.count(name)


def luns(backend, params, *items):
    return [LunResource(backend, params(lun_argument_spec(), **item)) for item in items]


def waiters(backend):
    return lambda: Waiter(backend, wait=True, timeout=30)


def test_check_mode_predicts_every_object_and_writes_nothing(sim, params):
    sim.create_lun("b", "pool0", GiB, True, None)
    results = converge_many(luns(sim, params, dict(name="a", size="1G"), dict(name="b", size="2G"),
                                 dict(name="c", state="absent")), True, waiters(sim))
    assert [(r["changed"], r.get("action")) for r in results] == [(True, "create"), (True, "update"), (False, None)]
    assert results[0]["lun"]["size"] == GiB and results[0]["lun"]["uuid"] is None
    assert results[1]["diff"]["before"]["size"] == GiB and results[1]["diff"]["after"]["size"] == 2 * GiB
    assert [lun["name"] for lun in sim.list_luns()] == ["b"] and sim.get_lun("b")["size"] == GiB


def test_every_object_gets_its_own_result_and_diff(sim, params):
    sim.create_lun("b", "pool0", GiB, True, None)
    results = converge_many(luns(sim, params, dict(name="a", size="1G"), dict(name="b", size="1G"),
                                 dict(name="b2", size="3G", qos="gold")), False, waiters(sim))
    assert [r["changed"] for r in results] == [True, False, True]
    assert results[0]["diff"] == {"before": {}, "after": sim.get_lun("a")} == {"before": {}, "after": results[0]["lun"]}
    assert results[1]["diff"]["before"] == results[1]["diff"]["after"] == sim.get_lun("b")
    assert results[2]["lun"]["qos"] == "gold" and "action" not in results[1]
    again = converge_many(luns(sim, params, dict(name="a", size="1G"), dict(name="b", size="1G"),
                               dict(name="b2", size="3G", qos="gold")), False, waiters(sim))
    assert [r["changed"] for r in again] == [False, False, False]
    assert [r["lun"] for r in again] == [r["lun"] for r in results[:1]] + [sim.get_lun("b"), results[2]["lun"]]


def test_a_failing_object_is_left_as_it_was_and_the_others_converge(sim, params, counters_ok):
    sim.create_lun("big", "pool0", 2 * GiB, True, None)
    items = luns(sim, params, dict(name="a", size="1G"), dict(name="big", size="1G"),  # shrink: refused
                 dict(name="nosize"),                                                    # create without size
                 dict(name="thick", size="2T", thin=False, pool="pool1"),                # larger than pool1
                 dict(name="z", size="1G"))
    results = converge_many(items, False, waiters(sim))
    assert [r.get("failed", False) for r in results] == [False, True, True, True, False]
    assert [r.get("error") for r in results] == [None, "InvalidValueEx", "MissingKeyEx", "InvalidValueEx", None]
    assert "LUN 'big'" in results[1]["msg"] and "allow_shrink" in results[1]["msg"]
    assert "LUN 'nosize'" in results[2]["msg"] and "pool1" in results[3]["msg"]
    assert all(r["changed"] is False for r in results if r.get("failed"))
    assert sorted(lun["name"] for lun in sim.list_luns()) == ["a", "big", "z"]
    assert sim.get_lun("big")["size"] == 2 * GiB
    counters_ok(sim)


def test_a_write_that_fails_fails_only_its_object(sim, params):
    def refuse_b(name, args):
        if name == "create_lun" and args[0] == "b":
            raise OperationFailedEx("the array said no to b")
    backend = Counting(sim, refuse_b)
    results = converge_many(luns(backend, params, dict(name="a", size="1G"), dict(name="b", size="1G"),
                                 dict(name="c", size="1G")), False, waiters(backend))
    assert [r.get("error") for r in results] == [None, "OperationFailedEx", None]
    assert results[1]["msg"] == "LUN 'b': the array said no to b"
    assert sorted(lun["name"] for lun in sim.list_luns()) == ["a", "c"]


def test_an_unexpected_error_of_one_object_is_reported_and_the_rest_go_on(sim, params):
    items = luns(sim, params, dict(name="a", size="1G"), dict(name="b", size="1G"))

    def broken(_before):
        raise KeyError("vol_group_name")
    items[0].plan = broken
    results = converge_many(items, False, waiters(sim))
    assert results[0]["failed"] and results[0]["error"] == "OperationFailedEx"
    assert "unexpected error" in results[0]["msg"] and "Traceback" in results[0]["exception"]
    assert results[1]["changed"] and [lun["name"] for lun in sim.list_luns()] == ["b"]


def test_the_objects_are_read_with_one_bulk_read(sim, params):
    for name in ("a", "b", "c"):
        sim.create_lun(name, "pool0", GiB, True, None)
    backend = Counting(sim)
    items = [dict(name=name, size="1G") for name in ("a", "b", "c", "d")]
    results = converge_many(luns(backend, params, *items), False, waiters(backend))
    assert [r["changed"] for r in results] == [False, False, False, True]
    assert backend.count("get_luns") == 1
    # only the object that changes is read again: before its write, and after it
    assert backend.count("get_lun") == 2
    backend.calls.clear()
    assert not any(r["changed"] for r in converge_many(luns(backend, params, *items), False, waiters(backend)))
    assert backend.count("get_luns") == 1 and backend.count("get_lun") == 0


def test_access_groups_are_read_together_too(sim, params):
    sim.create_lun("l1", "pool0", GiB, True, None)
    backend = Counting(sim)
    groups = [AccessGroupResource(backend, params(access_group_argument_spec(), name=name, luns=["l1"],
                                                  initiators=["iqn.2026-01.com.example:%s" % name]))
              for name in ("g1", "g2")]
    assert [r["action"] for r in converge_many(groups, False, waiters(backend))] == ["create", "create"]
    assert backend.count("get_access_groups") == 1 and backend.count("get_access_group") == 4
    assert sim.get_lun("l1")["access_grp_names"] == ["g1", "g2"]


def test_an_error_of_the_bulk_read_is_raised_before_anything_is_written(sim, params):
    def broken(name, _args):
        if name == "get_luns":
            raise ListFailedEx("cannot list")
    backend = Counting(sim, broken)
    with pytest.raises(ListFailedEx):
        converge_many(luns(backend, params, dict(name="a", size="1G")), False, waiters(backend))
    assert sim.list_luns() == [] and backend.calls == ["get_luns"]


def test_no_objects_no_calls(sim):
    backend = Counting(sim)
    assert converge_many([], False, waiters(backend)) == [] and backend.calls == []


# --- races: another writer between the bulk read and an object's turn -------------------------

def _race(sim, sim_uri, open_backend, before_turn_of, write):
    """A backend that lets another connection ``write`` just before the object ``before_turn_of``
    is planned (after the bulk read)."""
    other = open_backend(sim_uri)
    done = []

    def hook(name, args):
        if name == "require" and not done and before_turn_of in args[1]:
            done.append(True)
            write(other)
    backend = Counting(sim, hook)
    return backend, done


def test_race_a_lun_grown_by_another_run_is_not_shrunk_from_a_stale_read(sim, sim_uri, params, open_backend):
    """The bulk read saw 1G; another run grows it to 3G; this batch wants 2G without allow_shrink:
    the write is planned again from what is there and refused, the LUN keeps its 3G."""
    sim.create_lun("a", "pool0", GiB, True, None)
    backend, done = _race(sim, sim_uri, open_backend, "LUN 'a'", lambda other: other.resize_lun("a", 3 * GiB))
    results = converge_many(luns(backend, params, dict(name="a", size="2G")), False, waiters(backend))
    assert done and results[0]["failed"] and results[0]["error"] == "InvalidValueEx"
    assert "allow_shrink" in results[0]["msg"]
    assert sim.get_lun("a")["size"] == 3 * GiB


def test_race_a_lun_created_meanwhile_is_taken_as_it_is(sim, sim_uri, params, open_backend):
    backend, done = _race(sim, sim_uri, open_backend, "LUN 'a'",
                          lambda other: other.create_lun("a", "pool0", GiB, True, None))
    results = converge_many(luns(backend, params, dict(name="a", size="1G"), dict(name="b", size="1G")),
                            False, waiters(backend))
    assert done and not results[0].get("failed") and results[0]["changed"] is False
    assert results[0]["lun"] == sim.get_lun("a") and results[1]["action"] == "create"


def test_race_a_lun_deleted_meanwhile_is_created_again(sim, sim_uri, params, open_backend):
    sim.create_lun("a", "pool0", GiB, True, None)
    backend, done = _race(sim, sim_uri, open_backend, "LUN 'a'", lambda other: other.delete_lun("a"))
    results = converge_many(luns(backend, params, dict(name="a", size="2G")), False, waiters(backend))
    assert done and results[0]["action"] == "create" and results[0]["diff"]["before"] == {}
    assert sim.get_lun("a")["size"] == 2 * GiB


def test_race_a_group_changed_meanwhile_is_planned_again_from_what_is_there(sim, sim_uri, params, open_backend):
    sim.create_lun("l1", "pool0", GiB, True, None)
    sim.create_lun("l2", "pool0", GiB, True, None)
    sim.create_access_group("g", ["iqn.2026-01.com.example:h1"], [], None)
    backend, done = _race(sim, sim_uri, open_backend, "access group 'g'", lambda other: other.update_access_group(
        "g", {"map": [{"name": "l2", "lun_id": 1}]}))
    group = AccessGroupResource(backend, params(access_group_argument_spec(), name="g", luns=["l1"], append=True))
    results = converge_many([group], False, waiters(backend))
    assert done and results[0]["action"] == "update"
    # l2 took number 1 meanwhile: l1 gets the next free one instead of a clash
    assert results[0]["access_group"]["luns"] == [{"name": "l2", "lun_id": 1}, {"name": "l1", "lun_id": 2}]
    assert results[0]["diff"]["before"]["luns"] == [{"name": "l2", "lun_id": 1}]


# --- jobs: each object waits for its own --------------------------------------------------------

def test_each_object_waits_for_its_own_job(tmp_path, params, open_backend):
    backend = open_backend("sim://%s/jobs.db?job_delay=0.2" % tmp_path)
    results = converge_many(luns(backend, params, dict(name="a", size="1G"), dict(name="b", size="1G")),
                            False, waiters(backend))
    assert [r["job"]["status"] for r in results] == ["COMPLETE", "COMPLETE"]
    assert results[0]["job"]["job_id"] != results[1]["job"]["job_id"]
    assert [r["lun"]["state"] for r in results] == ["ONLINE", "ONLINE"]


def test_without_wait_every_object_returns_its_running_job(tmp_path, params, open_backend):
    backend = open_backend("sim://%s/jobs.db?job_delay=30" % tmp_path)
    results = converge_many(luns(backend, params, dict(name="a", size="1G"), dict(name="b", size="1G")), False,
                            lambda: Waiter(backend, wait=False, timeout=30))
    assert [(r["changed"], r["job"]["status"], r["lun"]["state"]) for r in results] == [
        (True, "RUNNING", "BUSY_CREATE"), (True, "RUNNING", "BUSY_CREATE")]
