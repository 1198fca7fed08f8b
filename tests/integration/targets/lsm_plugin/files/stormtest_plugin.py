# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stormtest_lsmplugin: a small storage array that speaks libstoragemgmt's plug-in protocol.

A test double for the collection's lsm+NAME backend, written from libstoragemgmt's public
documentation and source (protocol, object encodings, error numbers), standard library
only. Started as libstoragemgmt starts a plug-in: ``stormtest_lsmplugin FD``, FD being a
connected stream socket; every message is a 10-digit decimal length then JSON.

URI (given in plugin_register): ``stormtest:///path/state.json?key=value``
  state.json     the array's state (created on first use; flock'ed per request)
  without=A,B    capabilities to leave out (names as libstoragemgmt spells them)
  job_delay=S    writes answer a job that completes after S seconds (default: no jobs)
The password given to plugin_register must equal $STORMTEST_PASSWORD when that is set.
$STORMTEST_LOG, when set, names a file each request is appended to (as JSON, one a line,
with the plug-in's pid), so that tests can see what a client sent.

Faults, for the tests of what a client does when a plug-in misbehaves: an object name
(volume, access group, file system, snapshot) starting with
  crash-     the plug-in exits with status 3 after a line on stderr
  hang-      it never answers
  garbage-   it writes text that is not a framed message
  badlen-    its answer's length header is not 10 digits
  longlen-   its answer's length header announces fewer bytes than it sends
  leak-      it writes the password to stderr, then exits with status 4
  errNNN-    it answers error number NNN
  bug-       it answers PLUGIN_BUG with a traceback as data
"""

from __future__ import annotations

import binascii
import fcntl
import hashlib
import json
import os
import socket
import sys
import time
from urllib.parse import parse_qsl, urlsplit

HEADER_LEN = 10
BLOCK = 512
GiB = 1024 ** 3
SYSTEM_ID = "stormtest-01"

# error numbers
PLUGIN_BUG, NAME_CONFLICT, EXISTS_INITIATOR, INVALID_ARGUMENT, NO_STATE_CHANGE = 2, 50, 52, 101, 125
NO_SUPPORT, IS_MASKED, HAS_CHILD_DEPENDENCY = 153, 160, 161
NOT_FOUND_ACCESS_GROUP, NOT_FOUND_FS, NOT_FOUND_JOB, NOT_FOUND_POOL, NOT_FOUND_FS_SS = 200, 201, 202, 203, 204
NOT_FOUND_VOLUME, NOT_FOUND_NFS_EXPORT, PLUGIN_AUTH_FAILED, NOT_ENOUGH_SPACE = 205, 206, 300, 350
LAST_INIT_IN_ACCESS_GROUP, EMPTY_ACCESS_GROUP = 502, 511

CAPS = {
    "VOLUMES": 20, "VOLUME_CREATE": 21, "VOLUME_RESIZE": 22, "VOLUME_REPLICATE": 23, "VOLUME_REPLICATE_CLONE": 24,
    "VOLUME_REPLICATE_COPY": 25, "VOLUME_COPY_RANGE_BLOCK_SIZE": 28, "VOLUME_COPY_RANGE": 29,
    "VOLUME_COPY_RANGE_COPY": 31, "VOLUME_DELETE": 33, "VOLUME_MASK": 36, "VOLUME_UNMASK": 37,
    "ACCESS_GROUPS": 38, "ACCESS_GROUP_CREATE_WWPN": 39, "ACCESS_GROUP_DELETE": 40,
    "ACCESS_GROUP_INITIATOR_ADD_WWPN": 41, "ACCESS_GROUP_INITIATOR_DELETE": 42,
    "VOLUMES_ACCESSIBLE_BY_ACCESS_GROUP": 43, "ACCESS_GROUPS_GRANTED_TO_VOLUME": 44, "VOLUME_CHILD_DEPENDENCY": 45,
    "VOLUME_CHILD_DEPENDENCY_RM": 46, "ACCESS_GROUP_CREATE_ISCSI_IQN": 47, "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN": 48,
    "VOLUME_ISCSI_CHAP_AUTHENTICATION": 53, "VOLUME_THIN": 55, "FS": 100, "FS_DELETE": 101, "FS_RESIZE": 102,
    "FS_CREATE": 103, "FS_CLONE": 104, "FS_SNAPSHOTS": 106, "FS_SNAPSHOT_CREATE": 107, "FS_SNAPSHOT_DELETE": 109,
    "FS_SNAPSHOT_RESTORE": 110, "FS_CHILD_DEPENDENCY": 112, "FS_CHILD_DEPENDENCY_RM": 113, "EXPORT_AUTH": 120,
    "EXPORTS": 121, "EXPORT_FS": 122, "EXPORT_REMOVE": 123,
}
# which capability a method needs (methods not listed need none)
METHOD_CAPS = {
    "volumes": "VOLUMES", "volume_create": "VOLUME_CREATE", "volume_resize": "VOLUME_RESIZE",
    "volume_replicate": "VOLUME_REPLICATE", "volume_replicate_range": "VOLUME_COPY_RANGE",
    "volume_replicate_range_block_size": "VOLUME_COPY_RANGE_BLOCK_SIZE", "volume_delete": "VOLUME_DELETE",
    "volume_mask": "VOLUME_MASK", "volume_unmask": "VOLUME_UNMASK", "access_groups": "ACCESS_GROUPS",
    "access_group_delete": "ACCESS_GROUP_DELETE", "access_group_initiator_delete": "ACCESS_GROUP_INITIATOR_DELETE",
    "volumes_accessible_by_access_group": "VOLUMES_ACCESSIBLE_BY_ACCESS_GROUP",
    "access_groups_granted_to_volume": "ACCESS_GROUPS_GRANTED_TO_VOLUME",
    "volume_child_dependency": "VOLUME_CHILD_DEPENDENCY", "volume_child_dependency_rm": "VOLUME_CHILD_DEPENDENCY_RM",
    "iscsi_chap_auth": "VOLUME_ISCSI_CHAP_AUTHENTICATION", "fs": "FS", "fs_create": "FS_CREATE",
    "fs_delete": "FS_DELETE", "fs_resize": "FS_RESIZE", "fs_clone": "FS_CLONE", "fs_snapshots": "FS_SNAPSHOTS",
    "fs_snapshot_create": "FS_SNAPSHOT_CREATE", "fs_snapshot_delete": "FS_SNAPSHOT_DELETE",
    "fs_snapshot_restore": "FS_SNAPSHOT_RESTORE", "fs_child_dependency": "FS_CHILD_DEPENDENCY",
    "fs_child_dependency_rm": "FS_CHILD_DEPENDENCY_RM", "exports": "EXPORTS", "export_fs": "EXPORT_FS",
    "export_remove": "EXPORT_REMOVE", "export_auth": "EXPORT_AUTH",
}
# pools: id, name, element type (2 pool, 4 volume, 8 fs, 1024 reserved), unsupported actions, size
POOLS = (
    ("POOL_0001", "pool0", 4 | 8, 0, 1024 * GiB),
    ("POOL_0002", "pool1", 4 | 8, 0, 100 * GiB),
    ("POOL_0003", "Pool 2 (fixed)", 4, 1 | 2, 50 * GiB),
)


class LsmError(Exception):
    def __init__(self, code: int, message: str, data=None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


class Fault(Exception):
    """Misbehave instead of answering."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(kind)
        self.kind, self.name = kind, name


def fault_of(name) -> None:
    if not isinstance(name, str):
        return
    for kind in ("crash", "hang", "garbage", "badlen", "longlen", "leak", "bug"):
        if name.startswith(kind + "-"):
            raise Fault(kind, name)
    if name.startswith("err") and "-" in name and name[3:name.index("-")].isdigit():
        raise LsmError(int(name[3:name.index("-")]), "injected error for %s" % name)


# --- objects as libstoragemgmt encodes them --------------------------------------------------------
def system_obj() -> dict:
    return {"class": "System", "id": SYSTEM_ID, "name": "stormgmt test array", "status": 2, "status_info": "",
            "plugin_data": None, "fw_version": "", "mode": -2, "read_cache_pct": -2}


def vol_obj(vol_id: str, vol: dict) -> dict:
    return {"class": "Volume", "id": vol_id, "name": vol["name"], "vpd83": vol["vpd83"], "block_size": BLOCK,
            "num_of_blocks": vol["size"] // BLOCK, "admin_state": 1, "system_id": SYSTEM_ID,
            "pool_id": vol["pool"], "plugin_data": None}


def ag_obj(ag_id: str, ag: dict) -> dict:
    types = set(init_type for _init, init_type in ag["inits"])
    return {"class": "AccessGroup", "id": ag_id, "name": ag["name"], "init_ids": [init for init, _t in ag["inits"]],
            "init_type": types.pop() if len(types) == 1 else 7, "system_id": SYSTEM_ID, "plugin_data": None}


def fs_obj(fs_id: str, fs: dict) -> dict:
    return {"class": "FileSystem", "id": fs_id, "name": fs["name"], "total_space": fs["size"],
            "free_space": fs["size"], "pool_id": fs["pool"], "system_id": SYSTEM_ID, "plugin_data": None}


def snap_obj(snap_id: str, snap: dict) -> dict:
    return {"class": "FsSnapshot", "id": snap_id, "name": snap["name"], "ts": snap["ts"], "plugin_data": None}


def exp_obj(exp_id: str, exp: dict) -> dict:
    return {"class": "NfsExport", "id": exp_id, "fs_id": exp["fs_id"], "export_path": exp["path"],
            "auth": exp["auth"], "root": exp["root"], "rw": exp["rw"], "ro": exp["ro"], "anonuid": exp["anonuid"],
            "anongid": exp["anongid"], "options": exp["options"], "plugin_data": None}


class Array:
    """The plug-in: one method per libstoragemgmt method, state in a JSON file."""

    def __init__(self) -> None:
        self.path = None
        self.without = set()
        self.job_delay = 0.0
        self.state = None
        self.password = None
        self.timeout_ms = 30000

    # --- state ----------------------------------------------------------------------------------------
    def _load(self) -> None:
        self._lock = open(self.path + ".lock", "a+")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            with open(self.path) as handle:
                self.state = json.load(handle)
        except FileNotFoundError:
            self.state = {"next": 1, "volumes": {}, "reps": [], "ags": {}, "masks": [], "chap": {}, "fss": {},
                          "fs_snaps": {}, "fs_clones": [], "exports": {}, "jobs": {}}
        self._loaded = json.dumps(self.state, sort_keys=True)

    def _save(self) -> None:
        """Write the state back when the request changed it (a read writes nothing)."""
        if json.dumps(self.state, sort_keys=True) == self._loaded:
            return
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.state, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def _unlock(self) -> None:
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def _new_id(self, prefix: str) -> str:
        number = self.state["next"]
        self.state["next"] += 1
        return "%s_%05d" % (prefix, number)

    def _job(self, kind=None, obj_id=None):
        """None when writes are synchronous, else a job id that completes after job_delay."""
        if self.job_delay <= 0:
            return None
        job_id = self._new_id("JOB")
        self.state["jobs"][job_id] = {"start": time.time(), "kind": kind, "obj": obj_id}
        return job_id

    # --- life cycle --------------------------------------------------------------------------------------
    def plugin_register(self, uri, password, timeout, flags=0):
        parts = urlsplit(uri)
        if parts.scheme != "stormtest" or not parts.path.startswith("/"):
            raise LsmError(INVALID_ARGUMENT, "URI %r: expected stormtest:///path/state.json" % uri)
        query = dict(parse_qsl(parts.query))
        self.path = parts.path
        self.without = set(filter(None, query.get("without", "").split(",")))
        unknown = self.without - set(CAPS)
        if unknown:
            raise LsmError(INVALID_ARGUMENT, "unknown capabilities in without=: %s" % ", ".join(sorted(unknown)))
        self.job_delay = float(query.get("job_delay", "0"))
        expected = os.environ.get("STORMTEST_PASSWORD")
        if expected is not None and password != expected:
            raise LsmError(PLUGIN_AUTH_FAILED, "authentication failed: wrong password")
        self.password = password
        self.timeout_ms = timeout
        return None

    def plugin_unregister(self, flags=0):
        return None

    def plugin_info(self, flags=0):
        return ["stormgmt test array", "1.0"]

    def time_out_set(self, ms, flags=0):
        self.timeout_ms = ms

    def time_out_get(self, flags=0):
        return self.timeout_ms

    def capabilities(self, system, flags=0):
        cap = bytearray(512)
        for name, number in CAPS.items():
            if name not in self.without:
                cap[number] = 1
        return {"class": "Capabilities", "cap": binascii.hexlify(bytes(cap)).decode("ascii")}

    def systems(self, flags=0):
        return [system_obj()]

    def job_status(self, job_id, flags=0):
        job = self.state["jobs"].get(job_id)
        if job is None:
            raise LsmError(NOT_FOUND_JOB, "Job not found")
        progress = min(100, int((time.time() - job["start"]) / self.job_delay * 100)) if self.job_delay else 100
        if progress < 100:
            return [1, progress, None]
        obj = None
        if job["kind"] == "vol" and job["obj"] in self.state["volumes"]:
            obj = vol_obj(job["obj"], self.state["volumes"][job["obj"]])
        elif job["kind"] == "fs" and job["obj"] in self.state["fss"]:
            obj = fs_obj(job["obj"], self.state["fss"][job["obj"]])
        return [2, 100, obj]

    def job_free(self, job_id, flags=0):
        if self.state["jobs"].pop(job_id, None) is None:
            raise LsmError(NOT_FOUND_JOB, "Job not found")

    # --- pools, volumes -------------------------------------------------------------------------------------
    def _used(self, pool_id: str) -> int:
        return (sum(vol["size"] for vol in self.state["volumes"].values() if vol["pool"] == pool_id)
                + sum(fs["size"] for fs in self.state["fss"].values() if fs["pool"] == pool_id))

    def pools(self, search_key=None, search_value=None, flags=0):
        return [{"class": "Pool", "id": pid, "name": name, "element_type": kind, "unsupported_actions": unsupported,
                 "total_space": size, "free_space": size - self._used(pid), "status": 2, "status_info": "",
                 "system_id": SYSTEM_ID, "plugin_data": None} for pid, name, kind, unsupported, size in POOLS]

    def _pool(self, pool) -> tuple:
        for entry in POOLS:
            if entry[0] == (pool or {}).get("id"):
                return entry
        raise LsmError(NOT_FOUND_POOL, "Pool not found")

    def _vol(self, volume) -> tuple:
        vol_id = (volume or {}).get("id")
        if vol_id not in self.state["volumes"]:
            raise LsmError(NOT_FOUND_VOLUME, "Volume not found")
        return vol_id, self.state["volumes"][vol_id]

    def volumes(self, search_key=None, search_value=None, flags=0):
        return [vol_obj(vid, vol) for vid, vol in sorted(self.state["volumes"].items())]

    def _add_volume(self, pool, name, size) -> str:
        fault_of(name)
        pid, _name, kind, _unsupported, total = self._pool(pool)
        if not kind & 4:
            raise LsmError(INVALID_ARGUMENT, "Pool cannot hold volumes")
        if any(vol["name"] == name for vol in self.state["volumes"].values()):
            raise LsmError(NAME_CONFLICT, "Name '%s' is already in use by other volume" % name)
        size = -(-size // BLOCK) * BLOCK
        if size > total - self._used(pid):
            raise LsmError(NOT_ENOUGH_SPACE, "Insufficient space in pool")
        vol_id = self._new_id("VOL")
        self.state["volumes"][vol_id] = {"name": name, "size": size, "pool": pid,
                                         "vpd83": "6" + hashlib.sha256(vol_id.encode()).hexdigest()[:31]}
        return vol_id

    def volume_create(self, pool, volume_name, size_bytes, provisioning, flags=0):
        if provisioning not in (-1, 1, 2, 3):
            raise LsmError(INVALID_ARGUMENT, "Invalid provisioning %r" % provisioning)
        if provisioning == 1 and "VOLUME_THIN" in self.without:
            raise LsmError(NO_SUPPORT, "Thin provisioning is not supported")
        vol_id = self._add_volume(pool, volume_name, size_bytes)
        job = self._job("vol", vol_id)
        return [job, None if job else vol_obj(vol_id, self.state["volumes"][vol_id])]

    def volume_resize(self, volume, new_size_bytes, flags=0):
        vol_id, vol = self._vol(volume)
        fault_of(vol["name"])
        size = -(-new_size_bytes // BLOCK) * BLOCK
        if size == vol["size"]:
            raise LsmError(NO_STATE_CHANGE, "Volume size is identical to requested")
        _pid, _name, _kind, unsupported, total = [e for e in POOLS if e[0] == vol["pool"]][0]
        if unsupported & (1 if size > vol["size"] else 2):
            raise LsmError(NO_SUPPORT, "Requested pool does not allow volume size %s"
                           % ("grow" if size > vol["size"] else "shrink"))
        if size - vol["size"] > total - self._used(vol["pool"]):
            raise LsmError(NOT_ENOUGH_SPACE, "Insufficient space in pool")
        vol["size"] = size
        job = self._job("vol", vol_id)
        return [job, None if job else vol_obj(vol_id, vol)]

    def volume_delete(self, volume, flags=0):
        vol_id, vol = self._vol(volume)
        fault_of(vol["name"])
        if any(mask[1] == vol_id for mask in self.state["masks"]):
            raise LsmError(IS_MASKED, "Volume is masked to access group")
        if any(rep["src"] == vol_id for rep in self.state["reps"]):
            raise LsmError(HAS_CHILD_DEPENDENCY, "Requested volume has child dependency")
        del self.state["volumes"][vol_id]
        self.state["reps"] = [rep for rep in self.state["reps"] if rep["dst"] != vol_id]
        return self._job()

    def volume_replicate(self, pool, rep_type, volume_src, name, flags=0):
        src_id, src = self._vol(volume_src)
        if rep_type not in (2, 3):
            raise LsmError(NO_SUPPORT, "Replication type %r not supported" % rep_type)
        if rep_type == 2 and "VOLUME_REPLICATE_CLONE" in self.without or rep_type == 3 and \
                "VOLUME_REPLICATE_COPY" in self.without:
            raise LsmError(NO_SUPPORT, "Replication type %r not supported" % rep_type)
        target = pool or {"id": src["pool"]}
        vol_id = self._add_volume(target, name, src["size"])
        if rep_type == 2:
            self.state["reps"].append({"src": src_id, "dst": vol_id})
        job = self._job("vol", vol_id)
        return [job, None if job else vol_obj(vol_id, self.state["volumes"][vol_id])]

    def volume_replicate_range_block_size(self, system, flags=0):
        return BLOCK

    def volume_replicate_range(self, rep_type, volume_src, volume_dest, ranges, flags=0):
        src_id, src = self._vol(volume_src)
        dst_id, dst = self._vol(volume_dest)
        for block_range in ranges:
            if not isinstance(block_range, dict) or block_range.get("class") != "BlockRange":
                raise LsmError(INVALID_ARGUMENT, "ranges must hold BlockRange objects")
            end = (block_range["src_block"] + block_range["block_count"]) * BLOCK
            if end > src["size"] or (block_range["dest_block"] + block_range["block_count"]) * BLOCK > dst["size"]:
                raise LsmError(INVALID_ARGUMENT, "block range out of the volumes")
        dst["restored_from"] = src_id
        return self._job()

    def volume_child_dependency(self, volume, flags=0):
        vol_id, _vol = self._vol(volume)
        return any(rep["src"] == vol_id for rep in self.state["reps"])

    def volume_child_dependency_rm(self, volume, flags=0):
        vol_id, _vol = self._vol(volume)
        if not any(rep["src"] == vol_id for rep in self.state["reps"]):
            raise LsmError(NO_STATE_CHANGE, "Provided volume is not a replication source")
        self.state["reps"] = [rep for rep in self.state["reps"] if rep["src"] != vol_id]
        return self._job()

    # --- access groups --------------------------------------------------------------------------------------
    def _ag(self, access_group) -> tuple:
        ag_id = (access_group or {}).get("id")
        if ag_id not in self.state["ags"]:
            raise LsmError(NOT_FOUND_ACCESS_GROUP, "Access group not found")
        return ag_id, self.state["ags"][ag_id]

    def _check_init(self, init_id, init_type, exclude=None) -> None:
        if init_type == 5 and not init_id.startswith(("iqn.", "eui.", "naa.")) or init_type == 2 and not (
                len(init_id) == 23 and init_id.count(":") == 7) or init_type not in (2, 5):
            raise LsmError(INVALID_ARGUMENT, "Invalid initiator %r of type %r" % (init_id, init_type))
        cap = "ACCESS_GROUP_INITIATOR_ADD_WWPN" if init_type == 2 else "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN"
        if cap in self.without:
            raise LsmError(NO_SUPPORT, "initiator type %d is not supported" % init_type)
        for ag_id, ag in self.state["ags"].items():
            if ag_id != exclude and any(init == init_id for init, _t in ag["inits"]):
                raise LsmError(EXISTS_INITIATOR, "Initiator '%s' is already in use by other access group" % init_id)

    def access_groups(self, search_key=None, search_value=None, flags=0):
        return [ag_obj(ag_id, ag) for ag_id, ag in sorted(self.state["ags"].items())]

    def access_group_create(self, name, init_id, init_type, system, flags=0):
        fault_of(name)
        if (system or {}).get("id") != SYSTEM_ID:
            raise LsmError(208, "System not found")
        cap = "ACCESS_GROUP_CREATE_WWPN" if init_type == 2 else "ACCESS_GROUP_CREATE_ISCSI_IQN"
        if cap in self.without:
            raise LsmError(NO_SUPPORT, "cannot create access groups of initiator type %d" % init_type)
        if any(ag["name"] == name for ag in self.state["ags"].values()):
            raise LsmError(NAME_CONFLICT, "Name '%s' is already in use by other access group" % name)
        self._check_init(init_id, init_type)
        ag_id = self._new_id("AG")
        self.state["ags"][ag_id] = {"name": name, "inits": [[init_id, init_type]]}
        return ag_obj(ag_id, self.state["ags"][ag_id])

    def access_group_delete(self, access_group, flags=0):
        ag_id, ag = self._ag(access_group)
        fault_of(ag["name"])
        if any(mask[0] == ag_id for mask in self.state["masks"]):
            raise LsmError(IS_MASKED, "Access group has volume masked to")
        del self.state["ags"][ag_id]

    def access_group_initiator_add(self, access_group, init_id, init_type, flags=0):
        ag_id, ag = self._ag(access_group)
        if any(init == init_id for init, _t in ag["inits"]):
            raise LsmError(NO_STATE_CHANGE, "Initiator already in access group")
        self._check_init(init_id, init_type, ag_id)
        ag["inits"].append([init_id, init_type])
        return ag_obj(ag_id, ag)

    def access_group_initiator_delete(self, access_group, init_id, init_type, flags=0):
        ag_id, ag = self._ag(access_group)
        if not any(init == init_id for init, _t in ag["inits"]):
            raise LsmError(NO_STATE_CHANGE, "Initiator is not in defined access group")
        if len(ag["inits"]) == 1:
            raise LsmError(LAST_INIT_IN_ACCESS_GROUP, "Refused to remove the last initiator from access group")
        ag["inits"] = [entry for entry in ag["inits"] if entry[0] != init_id]
        self.state["chap"].pop(init_id, None)
        return ag_obj(ag_id, ag)

    def volume_mask(self, access_group, volume, flags=0):
        ag_id, ag = self._ag(access_group)
        vol_id, _vol = self._vol(volume)
        fault_of(ag["name"])
        if [ag_id, vol_id] in self.state["masks"]:
            raise LsmError(NO_STATE_CHANGE, "Volume is already masked to requested access group")
        if not ag["inits"]:
            raise LsmError(EMPTY_ACCESS_GROUP, "Access group has no member")
        self.state["masks"].append([ag_id, vol_id])

    def volume_unmask(self, access_group, volume, flags=0):
        ag_id, _ag = self._ag(access_group)
        vol_id, _vol = self._vol(volume)
        if [ag_id, vol_id] not in self.state["masks"]:
            raise LsmError(NO_STATE_CHANGE, "Volume is not masked to requested access group")
        self.state["masks"].remove([ag_id, vol_id])

    def volumes_accessible_by_access_group(self, access_group, flags=0):
        ag_id, _ag = self._ag(access_group)
        return [vol_obj(vol_id, self.state["volumes"][vol_id]) for a, vol_id in self.state["masks"] if a == ag_id]

    def access_groups_granted_to_volume(self, volume, flags=0):
        vol_id, _vol = self._vol(volume)
        return [ag_obj(a, self.state["ags"][a]) for a, v in self.state["masks"] if v == vol_id]

    def iscsi_chap_auth(self, init_id, in_user, in_password, out_user, out_password, flags=0):
        if out_user and (in_user is None or in_password is None):
            raise LsmError(INVALID_ARGUMENT, "out_user and out_password only supported if inbound is supplied")
        if in_user is None:
            self.state["chap"].pop(init_id, None)
            return None
        salt = os.urandom(8).hex()

        def digest(secret):
            return None if secret is None else salt + ":" + hashlib.sha256((salt + secret).encode()).hexdigest()
        self.state["chap"][init_id] = {"in_user": in_user, "in_password": digest(in_password), "out_user": out_user,
                                       "out_password": digest(out_password)}
        return None

    # --- file systems, snapshots, exports -----------------------------------------------------------------------
    def _fs(self, fs) -> tuple:
        fs_id = (fs or {}).get("id")
        if fs_id not in self.state["fss"]:
            raise LsmError(NOT_FOUND_FS, "File system not found")
        return fs_id, self.state["fss"][fs_id]

    def fs(self, search_key=None, search_value=None, flags=0):
        return [fs_obj(fs_id, fs) for fs_id, fs in sorted(self.state["fss"].items())]

    def _add_fs(self, pool, name, size) -> str:
        fault_of(name)
        pid, _name, kind, _unsupported, total = self._pool(pool)
        if not kind & 8:
            raise LsmError(INVALID_ARGUMENT, "Pool cannot hold file systems")
        if any(fs["name"] == name for fs in self.state["fss"].values()):
            raise LsmError(NAME_CONFLICT, "Name '%s' is already in use by other fs" % name)
        size = -(-size // BLOCK) * BLOCK
        if size > total - self._used(pid):
            raise LsmError(NOT_ENOUGH_SPACE, "Insufficient space in pool")
        fs_id = self._new_id("FS")
        self.state["fss"][fs_id] = {"name": name, "size": size, "pool": pid}
        return fs_id

    def fs_create(self, pool, name, size_bytes, flags=0):
        fs_id = self._add_fs(pool, name, size_bytes)
        job = self._job("fs", fs_id)
        return [job, None if job else fs_obj(fs_id, self.state["fss"][fs_id])]

    def fs_resize(self, fs, new_size_bytes, flags=0):
        fs_id, record = self._fs(fs)
        size = -(-new_size_bytes // BLOCK) * BLOCK
        if size == record["size"]:
            raise LsmError(NO_STATE_CHANGE, "File System size is identical to requested")
        total = [e for e in POOLS if e[0] == record["pool"]][0][4]
        if size - record["size"] > total - self._used(record["pool"]):
            raise LsmError(NOT_ENOUGH_SPACE, "Insufficient space in pool")
        record["size"] = size
        job = self._job("fs", fs_id)
        return [job, None if job else fs_obj(fs_id, record)]

    def fs_delete(self, fs, flags=0):
        fs_id, record = self._fs(fs)
        fault_of(record["name"])
        if any(src == fs_id for src, _dst in self.state["fs_clones"]):
            raise LsmError(HAS_CHILD_DEPENDENCY, "Requested file system has child dependency")
        del self.state["fss"][fs_id]
        self.state["fs_clones"] = [pair for pair in self.state["fs_clones"] if pair[1] != fs_id]
        for snap_id in [s for s, snap in self.state["fs_snaps"].items() if snap["fs_id"] == fs_id]:
            del self.state["fs_snaps"][snap_id]
        for exp_id in [e for e, exp in self.state["exports"].items() if exp["fs_id"] == fs_id]:
            del self.state["exports"][exp_id]
        return self._job()

    def fs_clone(self, src_fs, dest_fs_name, snapshot=None, flags=0):
        src_id, src = self._fs(src_fs)
        if snapshot is not None and (snapshot.get("id") not in self.state["fs_snaps"]
                                     or self.state["fs_snaps"][snapshot["id"]]["fs_id"] != src_id):
            raise LsmError(NOT_FOUND_FS_SS, "Snapshot not found")
        fs_id = self._add_fs({"id": src["pool"]}, dest_fs_name, src["size"])
        self.state["fs_clones"].append([src_id, fs_id])
        job = self._job("fs", fs_id)
        return [job, None if job else fs_obj(fs_id, self.state["fss"][fs_id])]

    def fs_snapshots(self, fs, flags=0):
        fs_id, _record = self._fs(fs)
        return [snap_obj(s, snap) for s, snap in sorted(self.state["fs_snaps"].items()) if snap["fs_id"] == fs_id]

    def fs_snapshot_create(self, fs, snapshot_name, flags=0):
        fs_id, _record = self._fs(fs)
        fault_of(snapshot_name)
        if any(snap["fs_id"] == fs_id and snap["name"] == snapshot_name for snap in self.state["fs_snaps"].values()):
            raise LsmError(NAME_CONFLICT, "The name is already used by other file system snapshot")
        snap_id = self._new_id("SNAP")
        self.state["fs_snaps"][snap_id] = {"fs_id": fs_id, "name": snapshot_name, "ts": int(time.time())}
        job = self._job("snap", snap_id)
        return [job, None if job else snap_obj(snap_id, self.state["fs_snaps"][snap_id])]

    def _snap(self, fs_id, snapshot) -> str:
        snap_id = (snapshot or {}).get("id")
        if snap_id not in self.state["fs_snaps"] or self.state["fs_snaps"][snap_id]["fs_id"] != fs_id:
            raise LsmError(NOT_FOUND_FS_SS, "File system snapshot not found")
        return snap_id

    def fs_snapshot_delete(self, fs, snapshot, flags=0):
        fs_id, _record = self._fs(fs)
        del self.state["fs_snaps"][self._snap(fs_id, snapshot)]
        return self._job()

    def fs_snapshot_restore(self, fs, snapshot, files, restore_files, all_files=False, flags=0):
        fs_id, record = self._fs(fs)
        record["restored_from"] = self._snap(fs_id, snapshot)
        return self._job()

    def fs_child_dependency(self, fs, files, flags=0):
        fs_id, _record = self._fs(fs)
        return any(src == fs_id for src, _dst in self.state["fs_clones"])

    def fs_child_dependency_rm(self, fs, files, flags=0):
        fs_id, _record = self._fs(fs)
        if not any(src == fs_id for src, _dst in self.state["fs_clones"]):
            raise LsmError(NO_STATE_CHANGE, "No fs clone target found for this file system")
        self.state["fs_clones"] = [pair for pair in self.state["fs_clones"] if pair[0] != fs_id]
        return self._job()

    def export_auth(self, flags=0):
        return ["standard"]

    def exports(self, search_key=None, search_value=None, flags=0):
        return [exp_obj(e, exp) for e, exp in sorted(self.state["exports"].items())]

    def export_fs(self, fs_id, export_path, root_list, rw_list, ro_list, anon_uid=-1, anon_gid=-1, auth_type=None,
                  options=None, flags=0):
        self._fs({"id": fs_id})
        if set(rw_list) & set(ro_list):
            raise LsmError(INVALID_ARGUMENT, "Host cannot both in rw_list and ro_list.")
        path = export_path or "/exports/%s" % self.state["fss"][fs_id]["name"]
        if any(exp["path"] == path for exp in self.state["exports"].values()):
            raise LsmError(NAME_CONFLICT, "Export path is already used by other NFS export")
        exp_id = self._new_id("EXP")
        self.state["exports"][exp_id] = {"fs_id": fs_id, "path": path, "auth": auth_type, "root": root_list,
                                         "rw": rw_list, "ro": ro_list, "anonuid": anon_uid, "anongid": anon_gid,
                                         "options": options}
        return exp_obj(exp_id, self.state["exports"][exp_id])

    def export_remove(self, export, flags=0):
        exp_id = (export or {}).get("id")
        if exp_id not in self.state["exports"]:
            raise LsmError(NOT_FOUND_NFS_EXPORT, "NFS export not found")
        del self.state["exports"][exp_id]


# --- the conversation --------------------------------------------------------------------------------------
READS = ("plugin_info", "plugin_register", "plugin_unregister", "time_out_get", "time_out_set")


def read_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def send(sock: socket.socket, message: dict, header=None) -> None:
    body = json.dumps(message)
    sock.sendall(((header if header is not None else str(len(body)).zfill(HEADER_LEN)) + body).encode("utf-8"))


def misbehave(sock: socket.socket, fault: Fault, array: Array) -> None:
    if fault.kind == "crash":
        sys.stderr.write("stormtest: the controller caught fire while working on %s\n" % fault.name)
        sys.stderr.flush()
        os._exit(3)
    if fault.kind == "leak":
        sys.stderr.write("stormtest: logging in with password %s failed\n" % array.password)
        sys.stderr.flush()
        os._exit(4)
    if fault.kind == "hang":
        time.sleep(3600)
    if fault.kind == "garbage":
        sock.sendall(("Creating %s... done!\n" % fault.name).encode())
        return
    if fault.kind == "badlen":
        send(sock, {"id": 100, "result": None}, header="   12 bytes")
        return
    if fault.kind == "longlen":
        body = json.dumps({"id": 100, "result": None})
        sock.sendall((str(len(body) - 7).zfill(HEADER_LEN) + body).encode("utf-8"))
        return
    if fault.kind == "bug":
        send(sock, {"id": 100, "error": {"code": PLUGIN_BUG, "message": "Unhandled exception in plug-in",
                                         "data": "Traceback (most recent call last):\n  File \"x\", line 1\n"
                                                 "KeyError: 'pool_id'"}})


def serve(fd: int) -> int:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=fd)
    array = Array()
    while True:
        try:
            length = read_exact(sock, HEADER_LEN)
            request = json.loads(read_exact(sock, int(length)).decode("utf-8"))
        except EOFError:
            return 0
        method, params, ident = request["method"], request.get("params") or {}, request.get("id", 100)
        if os.environ.get("STORMTEST_LOG"):
            with open(os.environ["STORMTEST_LOG"], "a") as log:
                log.write(json.dumps(dict(request, pid=os.getpid())) + "\n")
        if not isinstance(params.get("flags"), int):
            send(sock, {"id": ident, "error": {"code": 402, "message": "flags missing", "data": None}})
            continue
        locked = False
        try:
            handler = getattr(array, method, None)
            if handler is None or method.startswith("_"):
                raise LsmError(NO_SUPPORT, "Unsupported operation")
            if method not in READS:
                if array.path is None:
                    raise LsmError(INVALID_ARGUMENT, "plugin_register first")
                if method in METHOD_CAPS and METHOD_CAPS[method] in array.without:
                    raise LsmError(NO_SUPPORT, "Unsupported operation")
                array._load()
                locked = True
            result = handler(**params)
            if locked:
                array._save()
            send(sock, {"id": ident, "result": result})
        except LsmError as error:
            send(sock, {"id": ident, "error": {"code": error.code, "message": error.message, "data": error.data}})
        except Fault as fault:
            misbehave(sock, fault, array)
        except TypeError as error:
            send(sock, {"id": ident, "error": {"code": -32602, "message": str(error), "data": None}})
        finally:
            if locked:
                array._unlock()
        if method == "plugin_unregister":
            sock.close()
            return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.stderr.write("usage: stormtest_lsmplugin FD (started by a libstoragemgmt client)\n")
        sys.exit(2)
    sys.exit(serve(int(sys.argv[1])))
