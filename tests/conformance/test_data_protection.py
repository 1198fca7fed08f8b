# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Data protection on every backend: creation times, consistency groups, group snapshots, rotation.

Gated on the abilities ``snapshot``, ``consistency_group``, ``cg_snapshot`` and
``cg_snapshot_restore`` (a backend without them skips, naming the ability).
"""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._consistency_group import (
    ConsistencyGroupResource,
    GroupSnapshotResource,
    consistency_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._rotation import (
    RotationResource,
    generated_name,
    name_time,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)

from test_conformance import _params, converges, names_of  # noqa: E402 pylint: disable=import-error

SNAPSHOT_SPEC = dict(name={}, lun={}, filesystem={}, consistency_group={}, state={"default": "present"},
                     prefix={}, every={}, keep={}, max_age={})
# seconds a record's creation time may be off the server's clock (whole seconds, a slow call)
SLACK = 5


def test_snapshot_records_carry_their_creation_time(array, make_lun, names):
    array.need("snapshot")
    if not array.snapshot_times:
        pytest.skip("the backend's API keeps no creation time of LUN snapshots (snapshot_times: False, documented); "
                    "rotation dates them by their names (test_engine_rotation_prunes_only_its_own_snapshots)")
    before = array.server_time()
    make_lun("lun")
    snap = array.create_snapshot(names("lun"), names("snap"))
    after = array.server_time()
    assert snap["created"] is not None, "a snapshot record names its creation time"
    created = records.parse_time(snap["created"])
    assert before - SLACK <= created <= after + SLACK
    assert array.get_snapshot(names("lun"), names("snap"))["created"] == snap["created"]
    assert [s["created"] for s in array.list_snapshots(names("lun"))] == [snap["created"]]


# --- consistency groups ---------------------------------------------------------------------------

def test_consistency_group_lifecycle(array, make_lun, names):
    array.need("consistency_group")
    for label in ("a", "b", "c"):
        make_lun(label)
    group = records.validate("consistency_group", array.create_consistency_group(names("cg"), [names("a"), names("b")], []))
    assert (group["name"], group["luns"], group["filesystems"]) == (names("cg"), [names("a"), names("b")], [])
    assert array.get_consistency_group(names("cg")) == group
    assert names("cg") in names_of(array.list_consistency_groups())
    assert array.get_lun(names("a"))["consistency_group"] == names("cg")
    assert array.get_lun(names("c"))["consistency_group"] is None
    with pytest.raises(InvalidValueEx):
        array.create_consistency_group(names("cg"), [names("c")], [])
    with pytest.raises(InvalidValueEx):  # a LUN is in one group at most
        array.create_consistency_group(names("cg2"), [names("a")], [])
    assert array.get_consistency_group(names("cg2")) is None
    with pytest.raises(OperationPreReqNotMetEx):
        array.create_consistency_group(names("cg2"), [names("ghost")], [])
    assert array.get_consistency_group(names("cg2")) is None
    group = array.update_consistency_group(names("cg"), {"add_luns": [names("c")], "remove_luns": [names("a")]})
    assert group["luns"] == [names("b"), names("c")]
    assert array.get_lun(names("a"))["consistency_group"] is None
    array.delete_consistency_group(names("cg"))
    assert array.get_consistency_group(names("cg")) is None
    assert array.get_lun(names("b"))["consistency_group"] is None and array.get_lun(names("b")) is not None


def test_member_lun_is_busy_unless_forced(array, make_lun, names):
    array.need("consistency_group", "delete_lun")
    make_lun("a")
    make_lun("b")
    array.create_consistency_group(names("cg"), [names("a"), names("b")], [])
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun(names("a"))
    assert array.get_consistency_group(names("cg"))["luns"] == [names("a"), names("b")]
    array.delete_lun(names("a"), True)
    assert array.get_consistency_group(names("cg"))["luns"] == [names("b")]


# --- group snapshots ---------------------------------------------------------------------------------

def _group(array, make_lun, names, labels=("a", "b")):
    array.need("consistency_group", "cg_snapshot")
    for label in labels:
        make_lun(label)
    array.create_consistency_group(names("cg"), [names(label) for label in labels], [])


def test_group_snapshot_create_list_delete(array, make_lun, names):
    _group(array, make_lun, names)
    snap = records.validate("cg_snapshot", array.create_cg_snapshot(names("cg"), names("gs")))
    assert (snap["name"], snap["consistency_group"], snap["luns"]) == (names("gs"), names("cg"), [names("a"), names("b")])
    assert snap["state"] == "ONLINE" and snap["created"] is not None
    assert array.get_cg_snapshot(names("cg"), names("gs")) == snap
    assert names_of(array.list_cg_snapshots(names("cg"))) == [names("gs")]
    assert names("gs") in names_of(array.list_cg_snapshots())
    members = [array.get_snapshot(names(label), names("gs")) for label in ("a", "b")]
    for member in members:
        records.validate("storage_element", member)
        assert member["consistency_group"] == names("cg") and member["se_type"] == "SNAP"
    # one point in time: the members carry the group snapshot's time
    assert set(member["created"] for member in members) == {snap["created"]}
    with pytest.raises(InvalidValueEx):
        array.create_cg_snapshot(names("cg"), names("gs"))
    with pytest.raises(StorageElementBusyEx):  # a member goes only with the whole group snapshot
        array.delete_snapshot(names("a"), names("gs"))
    assert array.get_snapshot(names("a"), names("gs")) is not None
    assert array.delete_cg_snapshot(names("cg"), names("gs")) is None
    assert array.get_cg_snapshot(names("cg"), names("gs")) is None
    assert array.list_snapshots(names("a")) == [] and array.list_snapshots(names("b")) == []


def test_group_snapshot_refusals_change_nothing(array, make_lun, names):
    _group(array, make_lun, names)
    array.need("snapshot")
    array.create_snapshot(names("b"), names("taken"))
    with pytest.raises(InvalidValueEx):  # a member has a snapshot of that name already
        array.create_cg_snapshot(names("cg"), names("taken"))
    assert array.get_snapshot(names("a"), names("taken")) is None
    assert array.get_cg_snapshot(names("cg"), names("taken")) is None
    array.create_consistency_group(names("empty"), [], [])
    with pytest.raises(OperationPreReqNotMetEx):
        array.create_cg_snapshot(names("empty"), names("gs"))
    with pytest.raises(OperationPreReqNotMetEx):
        array.create_cg_snapshot(names("ghost"), names("gs"))
    with pytest.raises(OperationPreReqNotMetEx):
        array.delete_cg_snapshot(names("cg"), names("ghost"))
    assert array.list_cg_snapshots(names("cg")) == []


def test_group_snapshot_restore(array, make_lun, names, sizes):
    _group(array, make_lun, names)
    array.need("cg_snapshot_restore", "resize_lun")
    array.create_cg_snapshot(names("cg"), names("gs"))
    for label in ("a", "b"):
        array.resize_lun(names(label), sizes[1])
    restored = records.validate("cg_snapshot", array.restore_cg_snapshot(names("cg"), names("gs")))
    assert restored["name"] == names("gs")
    assert [array.get_lun(names(label))["size"] for label in ("a", "b")] == [sizes[0], sizes[0]]
    assert array.get_cg_snapshot(names("cg"), names("gs")) is not None


def test_group_restore_under_mapped_initiators_is_not_safe(array, make_lun, names, sizes):
    _group(array, make_lun, names)
    array.need("cg_snapshot_restore", "resize_lun", "access_groups")
    array.create_cg_snapshot(names("cg"), names("gs"))
    for label in ("a", "b"):
        array.resize_lun(names(label), sizes[1])
    array.create_access_group(names("grp"), [], [{"name": names("b"), "lun_id": None}], None)
    with pytest.raises(SnapRestoreNotSafeEx):
        array.restore_cg_snapshot(names("cg"), names("gs"))
    # all or nothing: the unmapped member is not rolled back either
    assert [array.get_lun(names(label))["size"] for label in ("a", "b")] == [sizes[1], sizes[1]]


def test_clone_of_a_member_snapshot_holds_the_group_snapshot(array, make_lun, names):
    _group(array, make_lun, names)
    array.need("snap_clone")
    array.create_cg_snapshot(names("cg"), names("gs"))
    clone = array.create_clone(names("clone"), names("a"), names("gs"))
    assert (clone["parent"], clone["parent_snapshot"]) == (names("a"), names("gs"))
    with pytest.raises(StorageElementBusyEx):
        array.delete_cg_snapshot(names("cg"), names("gs"))
    with pytest.raises(StorageElementBusyEx):
        array.delete_consistency_group(names("cg"), True)
    assert array.get_cg_snapshot(names("cg"), names("gs"))["luns"] == [names("a"), names("b")]
    array.delete_lun(names("clone"))
    array.delete_cg_snapshot(names("cg"), names("gs"))


def test_group_with_snapshots_is_busy_unless_forced(array, make_lun, names):
    _group(array, make_lun, names)
    array.create_cg_snapshot(names("cg"), names("gs"))
    with pytest.raises(StorageElementBusyEx):
        array.delete_consistency_group(names("cg"))
    assert array.get_cg_snapshot(names("cg"), names("gs")) is not None
    array.delete_consistency_group(names("cg"), True)
    assert array.get_consistency_group(names("cg")) is None
    assert array.list_snapshots(names("a")) == []


# --- through the engine ---------------------------------------------------------------------------------

def test_engine_group_and_group_snapshot_idempotency(array, make_lun, names):
    _group(array, make_lun, names, labels=("a", "b", "c"))
    array.delete_consistency_group(names("cg"))
    spec = consistency_group_argument_spec()
    created = converges(array, ConsistencyGroupResource, _params(
        spec, name=names("cg"), luns=[names("a"), names("b"), names("a")]))
    assert created["consistency_group"]["luns"] == [names("a"), names("b")]
    appended = converges(array, ConsistencyGroupResource, _params(spec, name=names("cg"), luns=[names("c")], append=True))
    assert appended["consistency_group"]["luns"] == [names("a"), names("b"), names("c")]
    snap = converges(array, GroupSnapshotResource, _params(SNAPSHOT_SPEC, name=names("gs"), consistency_group=names("cg")))
    assert snap["group_snapshot"]["luns"] == [names("a"), names("b"), names("c")]
    converges(array, GroupSnapshotResource, _params(SNAPSHOT_SPEC, name=names("gs"), consistency_group=names("cg"),
                                                    state="absent"))
    exact = converges(array, ConsistencyGroupResource, _params(spec, name=names("cg"), luns=[names("b")]))
    assert exact["consistency_group"]["luns"] == [names("b")]
    converges(array, ConsistencyGroupResource, _params(spec, name=names("cg"), state="absent"))


def test_engine_rotation_prunes_only_its_own_snapshots(array, make_lun, names):
    array.need("snapshot")
    make_lun("lun")
    make_lun("fresh")
    prefix = names("n-")
    raw = array.raw
    now = raw.server_time()
    # three snapshots of the series, made oldest name first, and two that merely share the prefix
    old = [generated_name(prefix, now - days * 86400) for days in (3, 2, 1)]
    for name in old + [prefix + "manual", prefix + "20260101"]:
        array.create_snapshot(names("lun"), name)
    params = _params(SNAPSHOT_SPEC, prefix=prefix, lun=names("lun"), every="1h", keep=2)
    result = converges(array, RotationResource, params)
    others = [prefix + "manual", prefix + "20260101"]
    if array.snapshot_times:
        # the server records them all as of now: ages come from its records, the newest is seconds
        # old: nothing due; past the newest two: the oldest goes
        assert result["created_snapshot"] is None and result["pruned_snapshots"] == [old[0]]
        assert names_of(array.list_snapshots(names("lun"))) == sorted(old[1:] + others)
        assert result["rotation"]["snapshots"] == old[1:] and result["rotation"]["count"] == 2
    else:
        # no creation times on the server: the names date the series, the newest is a day old:
        # one is due, named by the server's clock; past the newest two: the two oldest go
        taken = result["created_snapshot"]
        assert taken.startswith(prefix) and now - SLACK <= name_time(prefix, taken) <= raw.server_time() + SLACK
        assert result["pruned_snapshots"] == [old[1], old[0]]
        assert names_of(array.list_snapshots(names("lun"))) == sorted([old[2], taken] + others)
        assert result["rotation"]["snapshots"] == [old[2], taken] and result["rotation"]["count"] == 2
    check = converge(RotationResource(raw, params), True, Waiter(raw))
    assert check["changed"] is False and check["created_snapshot"] is None and check["pruned_snapshots"] == []
    # a LUN without a series gets its first snapshot, named by the server's clock
    first = converges(array, RotationResource, dict(params, lun=names("fresh")))
    taken = first["created_snapshot"]
    assert taken.startswith(prefix) and names_of(array.list_snapshots(names("fresh"))) == [taken]
    if array.snapshot_times:
        created = records.parse_time(array.get_snapshot(names("fresh"), taken)["created"])
        assert abs(created - name_time(prefix, taken)) <= SLACK
    else:
        assert array.get_snapshot(names("fresh"), taken)["created"] is None
        assert now - SLACK <= name_time(prefix, taken) <= raw.server_time() + SLACK
