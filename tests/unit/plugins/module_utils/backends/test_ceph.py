# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ceph backend without a cluster: its URI, the agent's protocol (run for real, with the
system Python, where it exists), job records, and the data-safety rules.

The backend's operations against a real cluster are tested by the conformance suite and the
molecule scenario ``ceph`` (they start a throw-away cluster; a unit test cannot wait 20 s for
one). The safety rules below are checked here as well, against an agent that answers from a
dictionary (FakeAgent): they must hold whatever the cluster says, and a unit test can make
the cluster say things (an image or snapshot someone else made) cheaply.
"""

from __future__ import annotations

import io
import json
import os
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _ceph_agent
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.backends import ceph
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidStorageArrayEx,
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)

CONF = "/etc/ceph/test.conf"
MiB = 1024 * 1024
SYSTEM_PYTHON = "/usr/bin/python3"

# `tgtadm --lld iscsi --mode sys --op show` of tgt 1.0.85 with tgt-rbd (Debian 12)
SYS_SHOW = """\
System:
    State: ready
    debug: off
LLDs:
    iscsi: ready
    iser: error
Backing stores:
    rbd (bsoflags sync:direct)
    sheepdog
    bsg
    rdwr (bsoflags sync:direct)
    aio
Device types:
    disk
    cd/dvd
iSNS:
    iSNS=Off
"""


# --- the server URI ---------------------------------------------------------------------------

def test_uri_defaults():
    backend = connect("ceph://rbd")
    assert (backend.pool, backend.conf, backend.client_id) == ("rbd", "/etc/ceph/ceph.conf", "admin")
    assert backend.portal_option is None and backend.fs_name is None
    assert backend.iqn_base == "iqn.2026-11.io.stormgmt.ceph.rbd"
    assert backend.fs_root == "/stormgmt/rbd"
    assert backend.get_abilities()["access_groups"] == "UNSUPPORTED"


def test_uri_parameters_and_a_pool_name_keeps_its_case():
    backend = connect("ceph://Pool_1?conf=/srv/c/ceph.conf&id=gw&portal=192.0.2.1:3260&control_port=3"
                      "&iqn_base=iqn.2026-01.com.example&fs=cephfs&fs_root=/shares&python=/opt/py/bin/python3")
    assert (backend.pool, backend.conf, backend.client_id, backend.portal_option, backend.control_port) == (
        "Pool_1", "/srv/c/ceph.conf", "gw", "192.0.2.1:3260", 3)
    assert (backend.iqn_base, backend.fs_name, backend.fs_root) == ("iqn.2026-01.com.example", "cephfs", "/shares")
    assert backend.client.python == "/opt/py/bin/python3"
    abilities = backend.get_abilities()
    assert abilities["access_groups"] == "ONLINE" and abilities["chap"] == "YES"
    assert abilities["create_filesystem"] == "ONLINE" and abilities["nfs_export"] == "UNSUPPORTED"
    assert connect("ceph://rbd?portal=127.0.0.1:3260").iqn_base == "iqn.2026-11.io.stormgmt.ceph.rbd"


def test_the_username_names_the_client_unless_the_uri_does():
    assert connect("ceph://rbd", "gateway1").client_id == "gateway1"
    assert connect("ceph://rbd?id=other", "gateway1").client_id == "other"


@pytest.mark.parametrize("uri", [
    "ceph://", "ceph:///rbd", "ceph://rbd/images", "ceph://.rbd", "ceph://rb d", "ceph://rbd?pool=x",
    "ceph://rbd?conf=relative.conf", "ceph://rbd?conf=/etc/ceph/a;b.conf", "ceph://rbd?conf=/etc/ceph/a,b.conf",
    "ceph://rbd?conf=/etc/ceph/a=b.conf", "ceph://rbd?conf=/etc/ceph/../x.conf", "ceph://rbd?conf=/etc/ceph/$(id).conf",
    "ceph://rbd?conf=/etc/ceph/a%20b.conf", "ceph://rbd?conf=/etc/ceph/a%0Ab.conf", "ceph://rbd?id=a%20b",
    "ceph://rbd?id=", "ceph://rbd?id=a;b", "ceph://rbd?portal=nohost", "ceph://rbd?portal=h:0",
    "ceph://rbd?control_port=-1", "ceph://rbd?control_port=x", "ceph://rbd?iqn_base=not-an-iqn",
    "ceph://rbd?fs=a/b", "ceph://rbd?fs_root=/a/../b", "ceph://rbd?python=python3",
])
def test_bad_uris_are_value_format_errors(uri):
    with pytest.raises(ValueFormatEx):
        connect(uri)


def test_backing_stores_of_tgtd():
    assert ceph.parse_backing_stores(SYS_SHOW) == ["rbd", "sheepdog", "bsg", "rdwr", "aio"]
    assert "rbd" not in ceph.parse_backing_stores(SYS_SHOW.replace("    rbd (bsoflags sync:direct)\n", ""))


# --- the agent's protocol -------------------------------------------------------------------------

def _serve(lines):
    out = io.StringIO()
    assert _ceph_agent.serve(io.StringIO("".join(json.dumps(line) + "\n" for line in lines)), out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_agent_answers_one_line_per_request_and_names_errors():
    answers = _serve([{"op": "ping"}, {"op": "no_such_op"}, {"op": "ping", "args": {"bad": 1}}])
    assert answers[0]["result"]["protocol"] == _ceph_agent.PROTOCOL
    assert answers[1]["error"]["type"] == "InvalidArgument" and "no_such_op" in answers[1]["error"]["msg"]
    assert answers[2]["error"]["type"] == "TypeError"


def test_agent_source_is_standalone():
    """The co-process runs the file's text with another Python: it may import nothing of the collection."""
    source = ceph.agent_source()
    assert "ansible_collections" not in source.split('"""', 2)[2]
    assert "import ansible" not in source


@pytest.mark.skipif(not os.access(SYSTEM_PYTHON, os.X_OK), reason="no %s here" % SYSTEM_PYTHON)
def test_co_process_agent_answers_and_stops():
    """The real co-process: the system Python runs the agent's source."""
    client = ceph.CephClient(SYSTEM_PYTHON)
    try:
        answer = client.call("ping")
        assert answer["protocol"] == _ceph_agent.PROTOCOL and answer["pid"] != os.getpid()
        with pytest.raises(ceph.CephError) as caught:
            client.call("no_such_op")
        assert caught.value.kind == "InvalidArgument"
    finally:
        client.close()
    assert client._proc is None  # pylint: disable=protected-access


def test_a_missing_python_is_a_missing_prerequisite(tmp_path):
    client = ceph.CephClient(str(tmp_path / "python3"))
    with pytest.raises(OperationPreReqNotMetEx) as caught:
        client.call("ping")
    assert "python3-rados" in caught.value.msg


def test_errors_of_the_bindings_map_to_exception_classes():
    assert isinstance(ceph.CephError("ImageExists", "x").to_plugin("create"), InvalidValueEx)
    assert isinstance(ceph.CephError("ImageBusy", "x").to_plugin("delete"), StorageElementBusyEx)
    assert isinstance(ceph.CephError("Whatever", "x").to_plugin("do"), OperationFailedEx)


# --- a backend over an agent that answers from a dictionary -----------------------------------------

class FakeAgent:
    """Just enough of :class:`_ceph_agent.Agent` for the backend's rules: images with metadata and
    snapshots, the state object with its lock, the jobs omap. Not Ceph: see the module docstring."""

    def __init__(self) -> None:
        self.images: dict = {}
        self.objects: dict = {}
        self.omaps: dict = {}
        self.locks: dict = {}
        self.spawned: list = []
        self.next_id = 100
        self.groups: dict = {}

    def call(self, op, **args):
        method = getattr(self, "op_" + op, None)
        if method is None:
            raise ceph.CephError("InvalidArgument", "unknown operation %s" % op)
        return json.loads(json.dumps(method(**args)))

    # the cluster
    def op_connect(self, conf, client_id, pool, fs=None):
        return {"pool": True, "applications": ["rbd"], "fsid": "f00", "version": "16.2.15"}

    def op_pool_stats(self):
        return {"cluster": {"total_bytes": 1 << 40}, "pool": {"stored": 0, "max_avail": 1 << 40}}

    def op_read(self, obj):
        return {"data": self.objects.get(obj)}

    def op_write(self, obj, data):
        self.objects[obj] = data

    def op_lock(self, obj, cookie, duration, wait):
        if self.locks.get(obj) not in (None, cookie):
            return {"locked": False}
        self.locks[obj] = cookie
        self.objects.setdefault(obj, "")
        return {"locked": True}

    def op_unlock(self, obj, cookie):
        if self.locks.get(obj) == cookie:
            del self.locks[obj]

    def op_omap_get(self, obj, keys=None):
        values = self.omaps.get(obj, {})
        return dict((k, v) for k, v in values.items() if keys is None or k in keys)

    def op_omap_set(self, obj, values):
        self.omaps.setdefault(obj, {}).update(values)

    def op_omap_remove(self, obj, keys):
        for key in keys:
            self.omaps.get(obj, {}).pop(key, None)

    def op_jobs(self):
        return dict((k, json.loads(v)) for k, v in self.op_omap_get("stormgmt.jobs").items())

    def op_job(self, job_id):
        value = self.op_omap_get("stormgmt.jobs").get(job_id)
        return json.loads(value) if value else None

    # images
    def add_image(self, name, size=16 * MiB, meta=None, parent=None):
        self.next_id += 1
        self.images[name] = {"name": name, "id": "i%d" % self.next_id, "size": size, "objects": 4, "features": 61,
                             "parent": parent, "snaps": [], "meta": dict(meta or {}), "watchers": 0,
                             "created": time.time(), "protected": set()}

    def op_images(self):
        return sorted(self.images)

    def _info(self, name, children=False):
        image = self.images[name]
        info = dict((k, v) for k, v in image.items() if k != "protected")
        info["snaps"] = [dict(s, protected=s["name"] in image["protected"]) for s in image["snaps"]]
        if children:
            info["children"] = [{"pool": "rbd", "image": other, "trash": False} for other, i in self.images.items()
                                if (i["parent"] or {}).get("image") == name]
        return info

    def op_image(self, name, children=False):
        return self._info(name, children) if name in self.images else None

    def op_images_info(self, names=None, children=False):
        return dict((n, self._info(n, children)) for n in (names or self.images) if n in self.images)

    def op_create(self, name, size, meta):
        if name in self.images:
            raise ceph.CephError("ImageExists", "image %s exists" % name)
        self.add_image(name, size, meta)

    def op_resize(self, name, size):
        self.images[name]["size"] = size

    def op_meta_set(self, name, meta):
        self.images[name]["meta"].update(meta)

    def op_meta_remove(self, name, keys):
        for key in keys:
            self.images[name]["meta"].pop(key, None)

    def op_snap_create(self, name, snap):
        self.next_id += 1
        self.images[name]["snaps"].append({"id": self.next_id, "name": snap, "size": self.images[name]["size"],
                                           "namespace": 0})
        return {"id": self.next_id, "size": self.images[name]["size"]}

    def op_snap_remove(self, name, snap):
        self.images[name]["snaps"] = [s for s in self.images[name]["snaps"] if s["name"] != snap]
        self.images[name]["protected"].discard(snap)

    def op_snap_protect(self, name, snap):
        self.images[name]["protected"].add(snap)

    def op_snap_children(self, name, snap):
        return [other for other, i in self.images.items()
                if (i["parent"] or {}).get("image") == name and i["parent"]["snap"] == snap]

    def op_clone(self, parent, snap, name, meta):
        self.add_image(name, self.images[parent]["size"], meta,
                       {"pool": "rbd", "namespace": "", "image": parent, "snap": snap})

    def op_trash_move(self, name):
        return self.images.pop(name)["id"]

    def op_trash_remove(self, image_id):
        return None

    def op_release_snapshot(self, image, snap):
        return None

    def op_changed_since(self, name, snap):
        return True

    # RBD groups: {name: {"images": [...], "snaps": [...]}}
    def op_groups(self):
        return sorted(self.groups)

    def op_group(self, name):
        group = self.groups.get(name)
        return None if group is None else {"images": sorted(group["images"]), "elsewhere": [],
                                           "snaps": sorted(group["snaps"])}

    def op_group_create(self, name):
        self.groups[name] = {"images": [], "snaps": []}

    def op_group_remove(self, name):
        for snap in list(self.groups[name]["snaps"]):
            self.op_group_snap_remove(name, snap)
        del self.groups[name]

    def op_group_add(self, name, image):
        if any(image in group["images"] for group in self.groups.values()):
            raise ceph.CephError("ObjectExists", "image %s is in a group" % image)
        self.groups[name]["images"].append(image)

    def op_group_remove_image(self, name, image):
        self.groups[name]["images"].remove(image)

    def op_group_snap_create(self, name, snap):
        group = self.groups[name]
        group["snaps"].append(snap)
        made = {}
        for image in group["images"]:
            self.next_id += 1
            entry = {"id": self.next_id, "name": ".group.2_%s_%d" % (name, self.next_id), "size": self.images[image]["size"],
                     "namespace": 1, "timestamp": 1700000000 + self.next_id % 2,  # RBD stamps each member itself
                     "group": {"local": True, "name": name, "snap": snap}}
            self.images[image]["snaps"].append(entry)
            made[image] = {"id": entry["id"], "size": entry["size"], "timestamp": entry["timestamp"]}
        return made

    def op_group_snap_remove(self, name, snap):
        self.groups[name]["snaps"].remove(snap)
        for image in self.images.values():
            image["snaps"] = [s for s in image["snaps"] if (s.get("group") or {}).get("snap") != snap
                              or s["group"]["name"] != name]

    def close(self):
        return None


@pytest.fixture
def fake():
    return FakeAgent()


@pytest.fixture
def backend(fake, monkeypatch):
    opened = []

    def _open(query=""):
        array = connect("ceph://rbd?conf=%s%s" % (CONF, query))
        array.client = fake
        monkeypatch.setattr(array, "_start_job", lambda op, kind, target, args: fake.spawned.append(
            (op, kind, target, args)) or {"job_id": "j", "op": op, "progress": 0, "status": "RUNNING"})
        opened.append(array)
        return array
    yield _open


def test_a_new_server_writes_its_state_in_the_pool(backend, fake):
    array = backend()
    assert array.list_luns() == []
    state = json.loads(fake.objects["stormgmt.server"])
    assert state["version"] == ceph.STATE_VERSION and state["groups"] == {} and not fake.locks


def test_check_mode_on_a_pool_never_used_writes_nothing(backend, fake):
    array = backend()
    array.read_only = True
    assert array.list_luns() == [] and array.get_lun("x") is None
    assert fake.objects == {}


def test_images_of_others_are_not_luns_and_are_never_taken_over(backend, fake):
    fake.add_image("vm-disk", meta={"other.tool": "1"})
    array = backend()
    assert array.list_luns() == [] and array.get_lun("vm-disk") is None
    with pytest.raises(InvalidValueEx) as caught:
        array.create_lun("vm-disk", "rbd", MiB, True, None)
    assert "did not make" in caught.value.msg
    with pytest.raises(OperationPreReqNotMetEx):
        array.delete_lun("vm-disk", True)
    with pytest.raises(InvalidValueEx):
        array.create_clone("vm-disk", "vm-disk")
    assert "vm-disk" in fake.images and fake.images["vm-disk"]["meta"] == {"other.tool": "1"}


def test_a_pool_whose_state_is_gone_but_holds_luns_is_refused(backend, fake):
    fake.add_image("lun1", meta={ceph.K_SERVER: "an-old-server", ceph.K_UUID: "u1"})
    with pytest.raises(InvalidStorageArrayEx) as caught:
        backend().list_luns()
    assert "an-old-server" in caught.value.msg and "stormgmt.server" not in fake.objects or not fake.objects["stormgmt.server"]


def test_a_corrupt_state_object_is_reported_and_left_alone(backend, fake):
    fake.objects["stormgmt.server"] = "{not json"
    with pytest.raises(InvalidStorageArrayEx):
        backend().list_luns()
    assert fake.objects["stormgmt.server"] == "{not json"


def test_snapshots_someone_else_made_are_not_shown_and_block_deletion(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    array.create_snapshot("db", "daily")
    fake.op_snap_create("db", "by-hand")  # rbd snap create, outside the collection
    assert [snap["name"] for snap in array.list_snapshots("db")] == ["daily"]
    with pytest.raises(InvalidValueEx):
        array.create_snapshot("db", "by-hand")
    with pytest.raises(StorageElementBusyEx) as caught:
        array.delete_lun("db", True)  # not even with force
    assert "by-hand" in caught.value.msg
    assert "db" in fake.images and [s["name"] for s in fake.images["db"]["snaps"]] == ["daily", "by-hand"]


def test_a_snapshot_recreated_by_hand_under_the_same_name_is_not_ours(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    array.create_snapshot("db", "daily")
    fake.op_snap_remove("db", "daily")
    fake.op_snap_create("db", "daily")  # another snapshot (another id) with that name
    assert array.get_snapshot("db", "daily") is None


def test_clones_keep_their_parent_and_an_internal_snapshot_is_not_shown(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    clone = array.create_clone("db-copy", "db")
    assert (clone["parent"], clone["parent_snapshot"], clone["se_type"]) == ("db", None, "LUN")
    base = fake.images["db-copy"]["parent"]["snap"]
    assert base.startswith(ceph.CLONE_BASE) and base in fake.images["db"]["protected"]
    assert array.list_snapshots("db") == []
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun("db", True)
    array.create_snapshot("db", "s1")
    snap_clone = array.create_clone("db-s1", "db", "s1")
    assert (snap_clone["se_type"], snap_clone["parent_snapshot"]) == ("SNAPCLONE", "s1")
    with pytest.raises(StorageElementBusyEx):
        array.delete_snapshot("db", "s1")


def test_restore_is_refused_while_mapped_or_open_and_is_a_job(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    array.create_snapshot("db", "s1")
    fake.images["db"]["watchers"] = 1  # a VM has the image open
    with pytest.raises(SnapRestoreNotSafeEx) as caught:
        array.restore_snapshot("db", "s1")
    assert "open" in caught.value.msg and not fake.spawned
    fake.images["db"]["watchers"] = 0
    job = array.restore_snapshot("db", "s1")
    assert job["status"] == "RUNNING" and fake.spawned[0][1:3] == ("rollback", "lun:db")
    assert fake.spawned[0][3]["mark"].startswith(ceph.RESTORE_MARK)


def test_split_is_a_flatten_job_that_keeps_the_proof_of_lineage(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    array.create_clone("db-copy", "db")
    array.split_clone("db-copy")
    op, kind, target, args = fake.spawned[0]
    assert (kind, target) == ("flatten", "lun:db-copy")
    assert json.loads(args["meta_after"][ceph.K_SPLIT])["parent"] == "db"
    with pytest.raises(InvalidValueEx):
        array.split_clone("db")


def test_a_split_clone_still_proves_where_it_came_from(backend, fake):
    """The clone module acts on a split clone only when the backend can prove its lineage (issue 10 item 1)."""
    array = backend()
    db = array.create_lun("db", "rbd", 16 * MiB, True, None)
    array.create_lun("other", "rbd", 16 * MiB, True, None)
    array.create_clone("db-copy", "db")
    assert array.clone_origin("db-copy") == {"parent": "db", "parent_snapshot": None, "parent_uuid": db["uuid"]}
    array.split_clone("db-copy")
    args = fake.spawned[0][3]
    image = fake.images["db-copy"]  # what the flatten job leaves when it is done
    image["meta"].update(args["meta_after"])
    for key in args["meta_remove"]:
        image["meta"].pop(key, None)
    image["parent"] = None
    assert array.get_lun("db-copy")["parent"] is None
    assert array.clone_origin("db-copy") == {"parent": "db", "parent_snapshot": None, "parent_uuid": db["uuid"]}
    assert array.clone_origin("other") is None and array.clone_origin("missing") is None


def test_a_running_job_makes_the_lun_busy_and_a_silent_worker_is_dead(backend, fake):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    now = time.time()
    job = {"op": "restore LUN db", "kind": "rollback", "target": "lun:db", "args": {"snap": "s"}, "status": "RUNNING",
           "progress": 40, "started": now, "heartbeat": now}
    fake.op_omap_set("stormgmt.jobs", {"j1": json.dumps(job)})
    record = array.get_lun("db")
    assert (record["state"], record["async_handle"], record["async_progress"]) == ("BUSY_COPY", "j1", 40)
    with pytest.raises(StorageElementBusyEx):
        array.resize_lun("db", 32 * MiB)
    assert array.job_status("j1")["status"] == "RUNNING"
    job["heartbeat"] = now - ceph.STALE_JOB - 1
    fake.op_omap_set("stormgmt.jobs", {"j1": json.dumps(job)})
    status = array.job_status("j1")
    assert status["status"] == "ERROR" and status["error"]["error"] == "OperationFailedEx"
    record = array.get_lun("db")
    assert record["state"] == "ERROR" and "restore" in record["status"]


def test_no_thick_luns_and_no_qos(backend):
    array = backend()
    with pytest.raises(NoSuchOperationEx):
        array.create_lun("db", "rbd", MiB, False, None)
    with pytest.raises(NoSuchOperationEx):
        array.create_lun("db", "rbd", MiB, True, "gold")
    with pytest.raises(InvalidValueEx):
        array.create_lun("db", "other-pool", MiB, True, None)


def test_a_killed_create_is_adopted_at_the_next_connection(backend, fake):
    array = backend()
    array.list_luns()
    state = json.loads(fake.objects["stormgmt.server"])
    meta = {ceph.K_SERVER: state["uuid"], ceph.K_UUID: "u-killed", ceph.K_CREATED: "1", ceph.K_SNAPS: "{}"}
    state["pending"]["half"] = {"op": "create", "started": time.time() - 1, "meta": meta}
    fake.objects["stormgmt.server"] = json.dumps(state)
    fake.add_image("half")  # made, not marked yet, when the run was killed
    lun = backend().get_lun("half")
    assert lun is not None and lun["uuid"] == "u-killed"
    assert json.loads(fake.objects["stormgmt.server"])["pending"] == {}


# --- consistency groups: RBD groups and group snapshots -------------------------------------------------
# Against FakeAgent's RBD groups (a dictionary, not librbd: a unit test cannot start a cluster). The same
# operations run against a real cluster in tests/conformance/test_data_protection.py (--backend ceph://...)
# and the molecule scenario ceph; what is checked here are the backend's own rules: whose groups and
# snapshots are whose, what is refused, what the records say, what a job is asked to do.

def _two_luns(array):
    for name in ("db", "log"):
        array.create_lun(name, "rbd", 16 * MiB, True, None)


def test_a_consistency_group_is_an_rbd_group_of_its_luns(backend, fake):
    array = backend()
    _two_luns(array)
    group = array.create_consistency_group("app", ["log", "db"], [])
    assert (group["luns"], group["filesystems"], group["status"]) == (["db", "log"], [], "OK")
    assert sorted(fake.groups["app"]["images"]) == ["db", "log"]
    assert array.get_lun("db")["consistency_group"] == "app"
    array.update_consistency_group("app", {"remove_luns": ["log"]})
    assert fake.groups["app"]["images"] == ["db"] and array.get_lun("log")["consistency_group"] is None
    abilities = array.get_abilities()
    assert (abilities["consistency_group"], abilities["cg_snapshot"], abilities["cg_snapshot_restore"],
            abilities["cg_filesystems"]) == ("ONLINE", "ONLINE", "OFFLINE", "NO")
    with pytest.raises(NoSuchOperationEx):
        array.create_consistency_group("files", [], ["share"])
    array.delete_consistency_group("app")
    assert fake.groups == {} and "db" in fake.images


def test_rbd_groups_someone_else_made_are_not_shown_and_not_taken(backend, fake):
    array = backend()
    _two_luns(array)
    fake.op_group_create("theirs")
    assert array.list_consistency_groups() == [] and array.get_consistency_group("theirs") is None
    with pytest.raises(InvalidValueEx) as caught:
        array.create_consistency_group("theirs", ["db"], [])
    assert "did not make" in caught.value.msg and fake.groups["theirs"] == {"images": [], "snaps": []}
    # a group snapshot someone took of one of ours by hand is left alone, so the group stays
    array.create_consistency_group("app", ["db"], [])
    fake.groups["app"]["snaps"].append("by-hand")
    with pytest.raises(StorageElementBusyEx) as caught:
        array.delete_consistency_group("app", True)
    assert "by-hand" in caught.value.msg and "app" in fake.groups and array.get_consistency_group("app") is not None


def test_a_group_snapshot_is_one_rbd_group_snapshot_and_its_members_are_snapshot_records(backend, fake):
    array = backend()
    _two_luns(array)
    array.create_lun("other", "rbd", 16 * MiB, True, None)
    array.create_consistency_group("app", ["db", "log"], [])
    snap = array.create_cg_snapshot("app", "gs1")
    assert fake.groups["app"]["snaps"] == ["gs1"] and snap["luns"] == ["db", "log"] and snap["state"] == "ONLINE"
    assert snap["size"] == 32 * MiB
    # the group snapshot's time is the earliest RBD stamped on a member; every member carries it
    assert snap["created"] == "2023-11-14T22:13:20Z"
    members = [array.get_snapshot(lun, "gs1") for lun in ("db", "log")]
    assert [(m["consistency_group"], m["created"], m["se_type"]) for m in members] == [("app", snap["created"], "SNAP")] * 2
    assert members[0]["uuid"] != members[1]["uuid"] and array.get_snapshot("db", "gs1")["uuid"] == members[0]["uuid"]
    assert [s["name"] for s in array.list_snapshots("db")] == ["gs1"] and array.list_snapshots("other") == []
    with pytest.raises(InvalidValueEx):
        array.create_snapshot("db", "gs1")
    with pytest.raises(StorageElementBusyEx):  # a member goes with its group snapshot only
        array.delete_snapshot("db", "gs1")
    with pytest.raises(NoSuchOperationEx):
        array.restore_snapshot("db", "gs1")
    # a member LUN goes with force only, and never while a group snapshot holds it
    with pytest.raises(StorageElementBusyEx) as caught:
        array.delete_lun("db", True)
    assert "app@gs1" in caught.value.msg and "db" in fake.images
    with pytest.raises(StorageElementBusyEx):
        array.delete_consistency_group("app")
    array.delete_cg_snapshot("app", "gs1")
    assert fake.groups["app"]["snaps"] == [] and array.list_snapshots("db") == []
    with pytest.raises(StorageElementBusyEx):
        array.delete_lun("db")
    array.delete_lun("db", True)
    assert "db" not in fake.images and fake.groups["app"]["images"] == ["log"]
    assert array.get_consistency_group("app")["luns"] == ["log"]


def test_group_snapshot_refusals_change_nothing(backend, fake):
    array = backend()
    _two_luns(array)
    array.create_consistency_group("app", ["db", "log"], [])
    array.create_snapshot("log", "taken")
    fake.op_snap_create("db", "by-hand")
    for name in ("taken", "by-hand"):
        with pytest.raises(InvalidValueEx):
            array.create_cg_snapshot("app", name)
    array.create_consistency_group("empty", [], [])
    with pytest.raises(OperationPreReqNotMetEx):
        array.create_cg_snapshot("empty", "gs")
    assert fake.groups["app"]["snaps"] == [] and array.list_cg_snapshots() == []


def test_group_restore_is_one_rollback_job_refused_while_a_member_is_open(backend, fake):
    array = backend()
    _two_luns(array)
    array.create_consistency_group("app", ["db", "log"], [])
    array.create_cg_snapshot("app", "gs1")
    assert not array.snapshot_is_current("db", "gs1")  # RBD cannot compare with a group snapshot: not known
    fake.images["log"]["watchers"] = 1
    with pytest.raises(SnapRestoreNotSafeEx) as caught:
        array.restore_cg_snapshot("app", "gs1")
    assert "log" in caught.value.msg and not fake.spawned
    fake.images["log"]["watchers"] = 0
    job = array.restore_cg_snapshot("app", "gs1")
    op, kind, target, args = fake.spawned[0]
    assert job["status"] == "RUNNING"
    assert (kind, target, args["group"], args["snap"]) == ("group_rollback", "cg:app", "app", "gs1")
    assert sorted(args["images"]) == ["db", "log"] and args["targets"] == ["lun:db", "lun:log"]
    # what the worker does when the rollback is done: a mark per member, so a restore again changes nothing
    for image, after in args["images"].items():
        fake.op_snap_create(image, after["mark"])
        fake.op_meta_set(image, after["meta_after"])
    fake.op_changed_since = lambda name, snap: False
    assert array.snapshot_is_current("db", "gs1") and array.snapshot_is_current("log", "gs1")
    # the job makes every member busy while it runs
    now = time.time()
    record = dict(op=op, kind=kind, target=target, args=args, status="RUNNING", progress=5, started=now, heartbeat=now)
    fake.op_omap_set("stormgmt.jobs", {"j1": json.dumps(record)})
    assert array.get_lun("log")["state"] == "BUSY_COPY"
    with pytest.raises(StorageElementBusyEx):
        array.delete_cg_snapshot("app", "gs1")
    with pytest.raises(StorageElementBusyEx):
        array.resize_lun("db", 32 * MiB)


def test_a_group_snapshot_a_killed_run_took_is_adopted(backend, fake):
    array = backend()
    _two_luns(array)
    array.create_consistency_group("app", ["db", "log"], [])
    state = json.loads(fake.objects["stormgmt.server"])
    state["pending"]["cg:app"] = {"op": "cg_snapshot", "image": False, "group": "app", "snapshot": "gs1",
                                  "uuid": "4b0c3f0e-0c1e-4c55-9a51-2f8fb6a4b9f1", "started": time.time(),
                                  "luns": ["db", "log"]}
    fake.objects["stormgmt.server"] = json.dumps(state)
    fake.op_group_snap_create("app", "gs1")  # RBD took it; the run was killed before it recorded it
    snaps = backend().list_cg_snapshots("app")
    assert [(s["name"], s["luns"], s["state"]) for s in snaps] == [("gs1", ["db", "log"], "ONLINE")]
    assert json.loads(fake.objects["stormgmt.server"])["pending"] == {}


def test_a_clone_of_a_member_snapshot_is_a_copy_job_and_holds_the_group_snapshot(backend, fake):
    array = backend()
    _two_luns(array)
    array.create_consistency_group("app", ["db", "log"], [])
    array.create_cg_snapshot("app", "gs1")
    job = array.create_clone("db-copy", "db", "gs1")
    op, kind, target, args = fake.spawned[0]
    member = [s for s in fake.images["db"]["snaps"] if s["namespace"] == 1][0]
    # RBD (Ceph 16) clones user snapshots only: the member snapshot is copied, by its id, under an internal name
    assert job["status"] == "RUNNING" and (kind, target) == ("copy_snapshot", "lun:db-copy")
    assert args["snap_id"] == member["id"] and args["tmp"].startswith(ceph.COPY_PREFIX) and args["name"] == "db-copy"
    assert "cg:app" in args["targets"] and "db-copy" not in fake.images
    fake.add_image("db-copy", meta=args["meta"])  # what the worker leaves when the copy is whole
    clone = array.get_lun("db-copy")
    assert (clone["se_type"], clone["parent"], clone["parent_snapshot"]) == ("SNAPCLONE", "db", "gs1")
    assert [c["name"] for c in array.list_clones("db")] == ["db-copy"]
    with pytest.raises(StorageElementBusyEx) as caught:
        array.delete_cg_snapshot("app", "gs1")
    assert "db-copy" in caught.value.msg and fake.groups["app"]["snaps"] == ["gs1"]
    with pytest.raises(StorageElementBusyEx):
        array.delete_consistency_group("app", True)
    split = array.split_clone("db-copy")  # the copy holds its own data: the split forgets the lineage
    assert (split["se_type"], split["parent"], split["parent_snapshot"]) == ("LUN", None, None)
    assert "split from db@gs1" in split["extra_info"] and len(fake.spawned) == 1
    array.delete_consistency_group("app", True)
    assert fake.groups == {} and "db-copy" in fake.images


def test_a_resize_without_a_gateway_asks_no_tgtd(backend, fake, monkeypatch):
    array = backend()
    array.create_lun("db", "rbd", 16 * MiB, True, None)
    monkeypatch.setattr(array, "tgtadm", lambda *args, **kwargs: pytest.fail("no portal: tgtd is none of its business"))
    assert array.resize_lun("db", 32 * MiB)["size"] == 32 * MiB and fake.images["db"]["size"] == 32 * MiB
