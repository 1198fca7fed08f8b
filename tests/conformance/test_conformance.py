# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every stormgmt backend does, whatever the storage behind it.

Each test runs once per backend URI (see conftest.py and README.md), skips with
the ability's name when the backend lacks it, and names its objects with the
run's random prefix. The ``backend`` fixture is a proxy that has already waited
on any job, so a call returns what it would have returned synchronously.
"""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._access_group import (
    AccessGroupResource,
    access_group_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._lun import LunResource, lun_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._snapshot import CloneResource, SnapshotResource
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    ARRAY_ABILITIES,
    FS_ABILITIES,
    check_abilities,
    is_job,
)

IQN1 = "iqn.2026-01.io.stormgmt.conformance:host1"
IQN2 = "iqn.2026-01.io.stormgmt.conformance:host2"
WWPN = "0x500143802426baf4"
CHAP = {"username": "cf-initiator", "password": "Conformance-Secret-1", "mutual_username": None, "mutual_password": None}
MUTUAL = dict(CHAP, mutual_username="cf-target", mutual_password="Conformance-Secret-2")


def names_of(items, key="name"):
    return sorted(item[key] for item in items)


# --- server, abilities, pools ------------------------------------------------------

def test_server_record(backend):
    server = records.validate("storage_server", backend.get_server())
    assert server["uuid"] and server["name"] and server["backend"]
    assert server["uri"] == backend.uri.text  # the URI it was opened with


def test_abilities_table(backend):
    abilities = check_abilities(backend.get_abilities())
    assert set(abilities) <= set(ARRAY_ABILITIES) | set(FS_ABILITIES)
    assert abilities, "a backend declares what it can do"
    for key in abilities:
        assert backend.ability(key) == abilities[key]


def test_pools(backend):
    pools = backend.list_pools()
    assert pools, "a backend has at least one pool"
    for pool in pools:
        records.validate("vol_group", pool)
        assert 0 <= pool["vol_used_sz"] <= pool["vol_total_sz"]
        assert pool["vol_free_sz"] <= pool["vol_total_sz"]
    assert backend.default_pool() in [pool["vol_name"] for pool in pools]


def test_qos_levels(backend):
    for level in backend.list_qos():
        records.validate("qos_vals", level)


# --- LUNs --------------------------------------------------------------------------

def test_lun_create_resize_delete(array, make_lun, names, sizes):
    small, large = sizes
    lun = records.validate("storage_element", make_lun("lun"))
    assert (lun["name"], lun["se_type"], lun["size"]) == (names("lun"), "LUN", small)
    assert lun["vol_group_name"] == array.default_pool()
    assert lun["parent"] is None and lun["access_grp_names"] == [] and lun["state"] == "ONLINE"
    assert array.get_lun(names("lun")) == lun
    assert names("lun") in names_of(array.list_luns())
    array.need("resize_lun")
    assert array.resize_lun(names("lun"), large)["size"] == large
    assert array.get_lun(names("lun"))["size"] == large
    array.need("delete_lun")
    assert array.delete_lun(names("lun")) is None
    assert array.get_lun(names("lun")) is None and names("lun") not in names_of(array.list_luns())


def test_lun_shrink(array, make_lun, names, sizes):
    array.need("shrink_lun")
    make_lun("lun", sizes[1])
    assert array.resize_lun(names("lun"), sizes[0])["size"] == sizes[0]


def test_duplicate_lun_is_invalid_value_and_changes_nothing(array, make_lun, names, sizes):
    first = make_lun("lun")
    with pytest.raises(InvalidValueEx):
        make_lun("lun", sizes[1])
    assert array.get_lun(names("lun"))["size"] == first["size"]


def test_lun_larger_than_its_pool_is_invalid_value(array, make_lun, names):
    pool = [p for p in array.list_pools() if p["vol_name"] == array.default_pool()][0]
    with pytest.raises(InvalidValueEx):
        make_lun("huge", pool["vol_total_sz"] + 1024 * array.block_size)
    assert array.get_lun(names("huge")) is None


def test_lun_in_an_unknown_pool_is_invalid_value(array, names, sizes):
    array.need("create_lun")
    with pytest.raises(InvalidValueEx):
        array.create_lun(names("lun"), names("no-such-pool"), sizes[0], array.available("thin_provisioning"), None)
    assert array.get_lun(names("lun")) is None


def test_missing_objects(array, make_lun, names, sizes):
    """Reading a missing object gives None; acting on one is OperationPreReqNotMetEx.

    (The modules never delete what is absent: state=absent of a missing object is
    changed=false without a backend call.)"""
    assert array.get_lun(names("ghost")) is None
    for call in (lambda: array.delete_lun(names("ghost")), lambda: array.resize_lun(names("ghost"), sizes[0])):
        with pytest.raises(OperationPreReqNotMetEx):
            call()
    if array.available("snapshot"):
        make_lun("lun")
        assert array.get_snapshot(names("lun"), names("ghost")) is None
        with pytest.raises(OperationPreReqNotMetEx):
            array.delete_snapshot(names("lun"), names("ghost"))
        with pytest.raises(OperationPreReqNotMetEx):
            array.create_snapshot(names("ghost"), names("snap"))
    if array.available("access_groups"):
        assert array.get_access_group(names("ghost")) is None
        with pytest.raises(OperationPreReqNotMetEx):
            array.delete_access_group(names("ghost"))


def test_qos(array, make_lun, names):
    array.need("qos")
    levels = [level["value"] for level in array.list_qos()]
    if not levels:
        pytest.skip("the backend offers no named QoS levels")
    make_lun("lun")
    assert array.set_lun_qos(names("lun"), levels[0])["qos"] == levels[0]
    with pytest.raises(InvalidValueEx):
        array.set_lun_qos(names("lun"), "no-such-level-" + names("x"))


# --- snapshots, restore ----------------------------------------------------------------

def test_snapshot_create_list_delete(array, make_lun, names):
    array.need("snapshot")
    lun = make_lun("lun")
    snap = records.validate("storage_element", array.create_snapshot(names("lun"), names("snap")))
    assert (snap["name"], snap["se_type"], snap["parent"], snap["size"]) == (names("snap"), "SNAP", names("lun"), lun["size"])
    assert array.get_snapshot(names("lun"), names("snap")) == snap
    assert names_of(array.list_snapshots(names("lun"))) == [names("snap")]
    assert names("snap") in names_of(array.list_snapshots())
    with pytest.raises(InvalidValueEx):
        array.create_snapshot(names("lun"), names("snap"))
    array.delete_snapshot(names("lun"), names("snap"))
    assert array.list_snapshots(names("lun")) == []


def test_snapshot_restore(array, make_lun, names, sizes):
    array.need("snapshot", "snapshot_restore", "resize_lun")
    make_lun("lun", sizes[0])
    array.create_snapshot(names("lun"), names("snap"))
    array.resize_lun(names("lun"), sizes[1])  # the one change every backend can make through the API
    assert not array.snapshot_is_current(names("lun"), names("snap"))
    restored = array.restore_snapshot(names("lun"), names("snap"))
    assert restored["name"] == names("lun") and restored["size"] == sizes[0]
    assert array.get_lun(names("lun"))["size"] == sizes[0]
    assert array.get_snapshot(names("lun"), names("snap")) is not None  # the snapshot stays


def test_restore_under_mapped_initiators_is_not_safe(array, make_lun, names, sizes, initiators):
    array.need("snapshot", "snapshot_restore", "access_groups", "resize_lun")
    make_lun("lun", sizes[0])
    array.create_snapshot(names("lun"), names("snap"))
    array.resize_lun(names("lun"), sizes[1])
    array.create_access_group(names("grp"), initiators("grp"), [{"name": names("lun"), "lun_id": None}], None)
    with pytest.raises(SnapRestoreNotSafeEx):
        array.restore_snapshot(names("lun"), names("snap"))
    assert array.get_lun(names("lun"))["size"] == sizes[1]


# --- clones ------------------------------------------------------------------------------

def test_clone(array, make_lun, names):
    array.need("clone")
    parent = make_lun("parent")
    clone = records.validate("storage_element", array.create_clone(names("clone"), names("parent")))
    assert (clone["name"], clone["se_type"], clone["parent"]) == (names("clone"), "LUN", names("parent"))
    assert clone["size"] == parent["size"] and clone["vol_group_name"] == parent["vol_group_name"]
    assert names("clone") in names_of(array.list_luns())
    with pytest.raises(InvalidValueEx):
        array.create_clone(names("clone"), names("parent"))
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun(names("parent"), True)  # not even with force: the clone depends on it
    array.delete_lun(names("clone"))
    array.delete_lun(names("parent"))


def test_snapshot_clone(array, make_lun, names, sizes):
    array.need("snapshot", "snap_clone")
    make_lun("parent", sizes[0])
    array.create_snapshot(names("parent"), names("snap"))
    clone = records.validate("storage_element", array.create_clone(names("clone"), names("parent"), names("snap")))
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"]) == ("SNAPCLONE", names("parent"), names("snap"))
    assert clone["size"] == sizes[0]
    with pytest.raises(StorageElementBusyEx):
        array.delete_snapshot(names("parent"), names("snap"))
    with pytest.raises(OperationPreReqNotMetEx):
        array.create_clone(names("clone2"), names("parent"), names("no-snap"))


def test_split_clone(array, make_lun, names):
    array.need("clone", "split_clone")
    make_lun("parent")
    array.create_clone(names("clone"), names("parent"))
    split = array.split_clone(names("clone"))
    assert (split["parent"], split["parent_snapshot"], split["se_type"]) == (None, None, "LUN")
    array.delete_lun(names("parent"))  # independent now
    assert array.get_lun(names("clone"))["parent"] is None


def test_split_snapshot_clone(array, make_lun, names):
    array.need("snapshot", "snap_clone", "split_clone")
    make_lun("parent")
    array.create_snapshot(names("parent"), names("snap"))
    array.create_clone(names("clone"), names("parent"), names("snap"))
    split = array.split_clone(names("clone"))
    assert (split["parent"], split["parent_snapshot"], split["se_type"]) == (None, None, "LUN")
    array.delete_snapshot(names("parent"), names("snap"))
    array.delete_lun(names("parent"))


# --- dependency rules --------------------------------------------------------------------

def test_lun_with_snapshots_is_busy_unless_forced(array, make_lun, names):
    array.need("snapshot", "delete_lun")
    make_lun("lun")
    array.create_snapshot(names("lun"), names("snap"))
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun(names("lun"))
    assert array.get_snapshot(names("lun"), names("snap")) is not None
    array.delete_lun(names("lun"), True)
    assert array.get_lun(names("lun")) is None
    assert names("snap") not in names_of(array.list_snapshots())


def test_mapped_lun_is_busy_unless_forced(array, make_lun, names, initiators):
    array.need("access_groups", "delete_lun")
    make_lun("lun")
    array.create_access_group(names("grp"), initiators("grp"), [{"name": names("lun"), "lun_id": None}], None)
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun(names("lun"))
    array.delete_lun(names("lun"), True)
    assert array.get_access_group(names("grp"))["luns"] == []


def test_group_with_luns_is_busy_unless_forced(array, make_lun, names, initiators):
    array.need("access_groups")
    make_lun("lun")
    array.create_access_group(names("grp"), initiators("grp"), [{"name": names("lun"), "lun_id": None}], None)
    with pytest.raises(StorageElementBusyEx):
        array.delete_access_group(names("grp"))
    array.delete_access_group(names("grp"), True)
    assert array.get_access_group(names("grp")) is None
    assert array.get_lun(names("lun"))["access_grp_names"] == []


# --- access groups, masking -----------------------------------------------------------------

def test_access_group_lifecycle(array, names):
    array.need("access_groups", "iscsi_initiators")
    group = records.validate("access_group", array.create_access_group(names("grp"), [IQN1], [], None))
    assert (group["grp_name"], group["grp_entries"], group["luns"]) == (names("grp"), [IQN1], [])
    assert group["chap_username"] is None
    assert array.get_access_group(names("grp")) == group
    assert names("grp") in names_of(array.list_access_groups(), "grp_name")
    with pytest.raises(InvalidValueEx):
        array.create_access_group(names("grp"), [IQN2], [], None)
    group = array.update_access_group(names("grp"), {"add_entries": [IQN2]})
    assert sorted(group["grp_entries"]) == [IQN1, IQN2]
    group = array.update_access_group(names("grp"), {"remove_entries": [IQN1]})
    assert group["grp_entries"] == [IQN2]
    array.delete_access_group(names("grp"))
    assert array.get_access_group(names("grp")) is None


def test_fc_initiators(array, names):
    array.need("access_groups", "fc_initiators")
    group = array.create_access_group(names("grp"), [WWPN], [], None)
    assert group["grp_entries"] == [WWPN]


def test_mapping_and_masking(array, make_lun, names, initiators):
    array.need("access_groups")
    for label in ("a", "b", "c"):
        make_lun(label)
    group = array.create_access_group(names("grp"), initiators("grp"), [{"name": names("a"), "lun_id": None}], None)
    numbered = array.lun_numbers  # False: the server neither takes nor reports LUN numbers
    first = array.min_lun_id if numbered else None
    assert group["luns"] == [{"name": names("a"), "lun_id": first}]
    # masking: a LUN lists the group only while it is mapped to it, and the group only its mapped LUNs
    assert array.get_lun(names("a"))["access_grp_names"] == [names("grp")]
    assert array.get_lun(names("b"))["access_grp_names"] == []
    group = array.update_access_group(names("grp"), {"map": [{"name": names("b"), "lun_id": first + 6 if numbered else None},
                                                             {"name": names("c"), "lun_id": None}]})
    if numbered:
        assert sorted((lun["lun_id"], lun["name"]) for lun in group["luns"]) == [
            (first, names("a")), (first + 1, names("c")), (first + 6, names("b"))]
    else:
        assert group["luns"] == [{"name": names(label), "lun_id": None} for label in ("a", "b", "c")]
    assert array.get_lun(names("b"))["access_grp_names"] == [names("grp")]
    group = array.update_access_group(names("grp"), {"unmap": [names("a")]})
    assert names_of(group["luns"]) == [names("b"), names("c")]
    assert array.get_lun(names("a"))["access_grp_names"] == []


def test_lun_id_conflict_is_invalid_value_and_changes_nothing(array, make_lun, names, initiators):
    array.need("access_groups")
    if not array.lun_numbers:
        pytest.skip("the backend neither takes nor reports LUN numbers")
    make_lun("a")
    make_lun("b")
    array.create_access_group(names("grp"), initiators("grp"), [{"name": names("a"), "lun_id": array.min_lun_id + 2}], None)
    before = array.get_access_group(names("grp"))
    with pytest.raises(InvalidValueEx):
        array.update_access_group(names("grp"), {"map": [{"name": names("b"), "lun_id": array.min_lun_id + 2}]})
    assert array.get_access_group(names("grp")) == before
    assert array.get_lun(names("b"))["access_grp_names"] == []


def test_lun_ids_swap_in_one_update(array, make_lun, names, initiators):
    array.need("access_groups")
    if not array.lun_numbers:
        pytest.skip("the backend neither takes nor reports LUN numbers")
    make_lun("a")
    make_lun("b")
    one, two = array.min_lun_id, array.min_lun_id + 1
    array.create_access_group(names("grp"), initiators("grp"), [{"name": names("a"), "lun_id": one}, {"name": names("b"), "lun_id": two}], None)
    group = array.update_access_group(names("grp"), {"map": [{"name": names("a"), "lun_id": two},
                                                             {"name": names("b"), "lun_id": one}]})
    assert sorted((lun["lun_id"], lun["name"]) for lun in group["luns"]) == [(one, names("b")), (two, names("a"))]


def test_a_backend_without_lun_numbers_refuses_one_before_any_write(array, make_lun, names, initiators):
    array.need("access_groups")
    if array.lun_numbers:
        pytest.skip("the backend takes LUN numbers")
    make_lun("a")
    spec = access_group_argument_spec()
    params = _params(spec, name=names("grp"), initiators=initiators("grp"), luns=[{"name": names("a"), "lun_id": 3}])
    with pytest.raises(NoSuchOperationEx) as info:
        converge(AccessGroupResource(array.raw, params), False, Waiter(array.raw))
    assert "LUN number" in info.value.msg and names("a") in info.value.msg
    assert array.get_access_group(names("grp")) is None


def test_one_lun_in_two_groups(array, make_lun, names, initiators):
    array.need("access_groups")
    make_lun("lun")
    for label in ("grp1", "grp2"):
        array.create_access_group(names(label), initiators(label), [{"name": names("lun"), "lun_id": None}], None)
    assert sorted(array.get_lun(names("lun"))["access_grp_names"]) == [names("grp1"), names("grp2")]


# --- CHAP --------------------------------------------------------------------------------------

def test_write_only_chap(array, names):
    """A server that cannot read CHAP back (libstoragemgmt): set with the group, never in records."""
    array.need("access_groups", "iscsi_initiators", "chap")
    if array.chap_readable:
        pytest.skip("the backend reads CHAP accounts back")
    group = records.validate("access_group", array.create_access_group(names("grp"), [IQN1], [], MUTUAL))
    assert group["chap_username"] is None and group["grp_entries"] == [IQN1]
    assert MUTUAL["password"] not in repr(array.list_access_groups())
    with pytest.raises(NoSuchOperationEx):
        array.chap_matches(names("grp"), MUTUAL)
    spec = access_group_argument_spec()
    params = _params(spec, name=names("grp"), initiators=[IQN1], chap=dict(MUTUAL, state="present"))
    # an existing group's CHAP is not compared: the same task changes nothing
    assert converge(AccessGroupResource(array.raw, params), False, Waiter(array.raw))["changed"] is False


def test_chap(array, names):
    array.need("access_groups", "iscsi_initiators", "chap")
    if not array.chap_readable:
        pytest.skip("the backend cannot read CHAP accounts back (see test_write_only_chap)")
    group = records.validate("access_group", array.create_access_group(names("grp"), [IQN1], [], CHAP))
    assert group["chap_username"] == CHAP["username"]
    assert CHAP["password"] not in repr(group) and CHAP["password"] not in repr(array.list_access_groups())
    assert array.chap_matches(names("grp"), CHAP) is True
    assert array.chap_matches(names("grp"), dict(CHAP, password=CHAP["password"] + "x")) is False
    assert array.chap_matches(names("grp"), dict(CHAP, username="someone-else")) is False
    group = array.update_access_group(names("grp"), {"chap": dict(CHAP, password="Conformance-Secret-3")})
    assert array.chap_matches(names("grp"), CHAP) is False
    group = array.update_access_group(names("grp"), {"chap": None})
    assert group["chap_username"] is None and array.chap_matches(names("grp"), CHAP) is False


def test_mutual_chap(array, names):
    array.need("access_groups", "iscsi_initiators", "chap", "mutual_chap")
    if not array.chap_readable:
        pytest.skip("the backend cannot read CHAP accounts back (see test_write_only_chap)")
    group = array.create_access_group(names("grp"), [IQN1], [], MUTUAL)
    assert (group["chap_username"], group["mutual_chap_username"]) == (MUTUAL["username"], MUTUAL["mutual_username"])
    assert array.chap_matches(names("grp"), MUTUAL) is True
    assert array.chap_matches(names("grp"), dict(MUTUAL, mutual_password="Conformance-Secret-9")) is False
    assert array.chap_matches(names("grp"), CHAP) is False


# --- every record, jobs -------------------------------------------------------------------------

def test_every_returned_record_validates(array, make_lun, names, initiators):
    make_lun("lun")
    if array.available("snapshot"):
        array.create_snapshot(names("lun"), names("snap"))
        if array.available("snap_clone"):
            array.create_clone(names("sclone"), names("lun"), names("snap"))
    if array.available("clone"):
        array.create_clone(names("clone"), names("lun"))
    if array.available("access_groups"):
        array.create_access_group(names("grp"), initiators("grp"), [{"name": names("lun"), "lun_id": None}], None)
    records.validate("storage_server", array.get_server())
    for pool in array.list_pools():
        records.validate("vol_group", pool)
    for record in array.list_luns():
        records.validate("storage_element", record)
        assert record["se_type"] in ("LUN", "SNAPCLONE")
    if array.available("snapshot"):
        for record in array.list_snapshots():
            records.validate("storage_element", record)
            assert record["se_type"] == "SNAP"
    if array.available("access_groups"):
        for record in array.list_access_groups():
            records.validate("access_group", record)


def test_jobs_report_progress_and_complete(array, names, sizes):
    """Talks to the backend without the proxy: a job it returns is polled here."""
    array.need("create_lun")
    raw = array.raw
    answer = raw.create_lun(names("lun"), raw.default_pool(), sizes[0], array.available("thin_provisioning"), None)
    if not is_job(answer):
        records.validate("storage_element", answer)
        assert answer["state"] == "ONLINE"
        return
    array.need("async_jobs")
    records.validate("job", answer)
    busy = raw.get_lun(names("lun"))
    assert busy is None or busy["state"] in records.SE_STATES
    progress = [answer["progress"]]
    job = answer
    while job["status"] == "RUNNING":
        job = raw.job_status(job["job_id"])
        records.validate("job", job)
        progress.append(job["progress"])
    assert job["status"] == "COMPLETE"
    known = [value for value in progress if value is not None and value >= 0]
    assert known == sorted(known) and all(value <= 100 for value in known)
    assert raw.get_lun(names("lun"))["state"] == "ONLINE"


# --- idempotency through the engine ---------------------------------------------------------------

def _params(spec, **values):
    params = dict((key, option.get("default")) for key, option in spec.items())
    params.update(values)
    return params


SNAPSHOT_SPEC = dict(name={}, lun={}, filesystem={}, state={"default": "present"})
CLONE_SPEC = dict(name={}, lun={}, filesystem={}, snapshot={}, split={"default": False}, state={"default": "present"})


def converges(backend, resource_class, params):
    """check mode -> apply -> check mode again -> apply again; return the apply result."""
    raw = backend.raw

    def run(check_mode):
        return converge(resource_class(raw, params), check_mode, Waiter(raw))

    predicted = run(True)
    assert predicted["changed"] is True, predicted
    applied = run(False)
    assert applied["changed"] is True and applied["action"] == predicted["action"], applied
    for check_mode in (True, False):
        again = run(check_mode)
        assert again["changed"] is False, again
    return applied


def test_engine_lun_idempotency(array, names, sizes):
    array.need("create_lun", "resize_lun", "delete_lun")
    spec = lun_argument_spec()
    created = converges(array, LunResource, _params(spec, name=names("lun"), size=sizes[0]))
    assert created["lun"]["size"] == sizes[0]
    grown = converges(array, LunResource, _params(spec, name=names("lun"), size=sizes[1]))
    assert grown["action"] == "update" and grown["lun"]["size"] == sizes[1]
    # sizes compare after rounding to the block size
    assert converge(LunResource(array.raw, _params(spec, name=names("lun"), size=sizes[1] - 1)), False,
                    Waiter(array.raw))["changed"] is False
    converges(array, LunResource, _params(spec, name=names("lun"), state="absent"))
    assert array.get_lun(names("lun")) is None


def test_engine_snapshot_and_clone_idempotency(array, make_lun, names):
    array.need("snapshot", "clone", "delete_lun")
    make_lun("lun")
    snap = converges(array, SnapshotResource, _params(SNAPSHOT_SPEC, name=names("snap"), lun=names("lun")))
    assert snap["snapshot"]["parent"] == names("lun")
    clone = converges(array, CloneResource, _params(CLONE_SPEC, name=names("clone"), lun=names("lun")))
    assert clone["clone"]["parent"] == names("lun")
    if array.available("split_clone"):
        split = converges(array, CloneResource, _params(CLONE_SPEC, name=names("clone"), lun=names("lun"), split=True))
        assert split["clone"]["parent"] is None
    converges(array, CloneResource, _params(CLONE_SPEC, name=names("clone"), lun=names("lun"), state="absent"))
    converges(array, SnapshotResource, _params(SNAPSHOT_SPEC, name=names("snap"), lun=names("lun"), state="absent"))


def _refused(array, params) -> str:
    """The clone module refuses (InvalidValueEx, in check mode and for real) and changes nothing."""
    before = array.list_luns()
    for check_mode in (True, False):
        with pytest.raises(InvalidValueEx) as info:
            converge(CloneResource(array.raw, params), check_mode, Waiter(array.raw))
    assert array.list_luns() == before
    return info.value.msg


def test_clone_module_acts_only_on_clones_of_its_parent(array, make_lun, names):
    """Issue 10 item 1: `clone state=absent` (or present) on an object that is not a clone of the given
    parent, nor provably was one before a split, is InvalidValueEx and changes nothing."""
    array.need("clone", "split_clone", "delete_lun")
    make_lun("prod")
    make_lun("scratch")
    # an independent LUN is not a clone of anything: neither deleted nor adopted
    assert "not a clone" in _refused(array, _params(CLONE_SPEC, name=names("prod"), lun=names("scratch"), state="absent"))
    _refused(array, _params(CLONE_SPEC, name=names("prod"), lun=names("scratch")))
    # a clone of another parent
    array.create_clone(names("c1"), names("prod"))
    _refused(array, _params(CLONE_SPEC, name=names("c1"), lun=names("scratch"), state="absent"))
    # after a split the lineage is still proven: the right parent may delete it, another may not
    array.split_clone(names("c1"))
    _refused(array, _params(CLONE_SPEC, name=names("c1"), lun=names("scratch"), state="absent"))
    assert converge(CloneResource(array.raw, _params(CLONE_SPEC, name=names("c1"), lun=names("prod"))), False,
                    Waiter(array.raw))["changed"] is False
    converges(array, CloneResource, _params(CLONE_SPEC, name=names("c1"), lun=names("prod"), state="absent"))
    assert array.get_lun(names("c1")) is None
    # a split clone of an earlier LUN of the same name is not a clone of the new one
    array.create_clone(names("c2"), names("scratch"))
    array.split_clone(names("c2"))
    array.delete_lun(names("scratch"))
    make_lun("scratch")
    if (array.raw.clone_origin(names("c2")) or {}).get("parent_uuid"):
        assert "earlier" in _refused(array, _params(CLONE_SPEC, name=names("c2"), lun=names("scratch"), state="absent"))
    array.delete_lun(names("c2"))


def test_engine_access_group_idempotency(array, make_lun, names):
    array.need("access_groups", "iscsi_initiators")
    make_lun("a")
    make_lun("b")
    spec = access_group_argument_spec()
    chap = dict(CHAP, state="present") if array.available("chap") else None
    numbered = array.lun_numbers
    group = converges(array, AccessGroupResource, _params(
        spec, name=names("grp"), initiators=[IQN1.upper()],
        luns=[names("a"), {"name": names("b"), "lun_id": 5 if numbered else None}], chap=chap))
    assert group["access_group"]["grp_entries"] == [IQN1]
    assert sorted((lun["lun_id"] or 0, lun["name"]) for lun in group["access_group"]["luns"]) == (
        [(array.min_lun_id, names("a")), (5, names("b"))] if numbered else [(0, names("a")), (0, names("b"))])
    converges(array, AccessGroupResource, _params(spec, name=names("grp"), initiators=[IQN2], luns=[names("b")], chap=chap))
    converges(array, AccessGroupResource, _params(spec, name=names("grp"), state="absent", force=True))


# --- the suite itself ------------------------------------------------------------------------------

def test_cleanup_is_prefix_scoped(array, make_lun, names, initiators):
    """The sweep the teardown runs deletes what starts with its prefix and nothing else."""
    make_lun("keep-lun")
    make_lun("drop-lun")
    if array.available("access_groups"):
        array.create_access_group(names("drop-grp"), initiators("drop-grp"), [{"name": names("drop-lun"), "lun_id": None}], None)
        array.create_access_group(names("keep-grp"), initiators("keep-grp"), [{"name": names("keep-lun"), "lun_id": None}], None)
    assert array.sweep(names("drop-")) == []
    assert array.get_lun(names("drop-lun")) is None and array.get_lun(names("keep-lun")) is not None
    if array.available("access_groups"):
        assert array.get_access_group(names("drop-grp")) is None
        assert array.get_access_group(names("keep-grp"))["luns"][0]["name"] == names("keep-lun")
