# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""stormgmt-plugin-jsonfile: the reference external plug-in of stormgmt.core.

Started by the executable ``stormgmt-plugin-jsonfile`` next to this file (a
two-line shell launcher), or directly: ``python3 stormgmt_plugin_jsonfile.py``.

A storage array kept in one JSON file, served over the stormgmt plug-in protocol
(JSON-RPC 2.0, one object per line on stdin/stdout; docs/plugin_protocol.md).
It uses the Python standard library only and imports nothing from the collection:
any program that speaks the protocol is a plug-in.

    server: plugin+jsonfile:///var/tmp/array.json[?job_delay=SECONDS]

The file is created (mode 0600) on first use with two pools. Every call is one
transaction under an flock on PATH.lock, written with an atomic rename, so
parallel module runs do not lose each other's changes. CHAP secrets are kept
only as salted PBKDF2 hashes. With ``job_delay`` create, clone, split and
restore answer with a job and the LUN stays BUSY_* until the delay has passed.

The file is in two parts: a small reusable server (``serve``, ``PluginError``)
that any Python plug-in can copy, and the array itself (``JsonFileArray``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import sys
import time
import traceback
import uuid as uuidlib
from urllib.parse import parse_qsl, urlsplit

PLUGIN_NAME = "jsonfile"
PLUGIN_VERSION = "1.1.0"
API_VERSION = "1.1"  # 1.1: clone_origin, consistency groups, group snapshots, server_time, created

# --------------------------------------------------------------------------
# The protocol server: reusable as is by any Python plug-in.
# --------------------------------------------------------------------------

# JSON-RPC 2.0 error codes
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = (
    -32700, -32600, -32601, -32602, -32603)
# code used for the typed (seed-001) errors a plug-in raises on purpose
PLUGIN_ERROR = -32000


class PluginError(Exception):
    """A typed failure: ``error`` is a stormgmt exception class name (InvalidValueEx, ...)."""

    def __init__(self, error: str, msg: str, key: str | None = None) -> None:
        super().__init__(msg)
        self.error = error
        self.msg = msg
        self.key = key


def _answer(ident, result=None, error=None) -> str:
    message = {"jsonrpc": "2.0", "id": ident}
    if error is not None:
        message["error"] = error
    else:
        message["result"] = result
    return json.dumps(message, separators=(",", ":")) + "\n"


def handle(handler, line: str) -> tuple:
    """Answer one request line: (answer line or None for a notification, stop?)."""
    try:
        request = json.loads(line)
    except ValueError as exc:
        return _answer(None, error={"code": PARSE_ERROR, "message": "parse error: %s" % exc}), False
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
        return _answer(request.get("id") if isinstance(request, dict) else None,
                       error={"code": INVALID_REQUEST, "message": "not a JSON-RPC 2.0 request"}), False
    ident, method, params = request.get("id"), request["method"], request.get("params", {})
    if not isinstance(params, dict):
        return _answer(ident, error={"code": INVALID_PARAMS, "message": "params must be an object"}), False
    function = getattr(handler, "rpc_" + method.replace(".", "_"), None)
    if function is None:
        return _answer(ident, error={"code": METHOD_NOT_FOUND, "message": "no method %s" % method}), False
    try:
        result = function(**params)
    except PluginError as exc:
        data = {"error": exc.error, "msg": exc.msg}
        if exc.key is not None:
            data["key"] = exc.key
        answer = _answer(ident, error={"code": PLUGIN_ERROR, "message": exc.msg, "data": data})
    except TypeError as exc:
        answer = _answer(ident, error={"code": INVALID_PARAMS, "message": "%s: %s" % (method, exc)})
    except Exception as exc:  # a bug in the plug-in: tell the caller, details to stderr
        traceback.print_exc(file=sys.stderr)
        answer = _answer(ident, error={"code": INTERNAL_ERROR, "message": str(exc), "data": {
            "error": "OperationFailedEx", "msg": "plug-in %s failed in %s: %s" % (PLUGIN_NAME, method, exc)}})
    else:
        answer = _answer(ident, result)
    return (None if "id" not in request else answer), method == "plugin.close"


def serve(handler, stdin=None, stdout=None) -> int:
    """Read requests line by line until plugin.close or end of input."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    for line in stdin:
        if not line.strip():
            continue
        answer, stop = handle(handler, line)
        if answer is not None:
            stdout.write(answer)
            stdout.flush()
        if stop:
            break
    return 0


# --------------------------------------------------------------------------
# The array: state in one JSON file.
# --------------------------------------------------------------------------

TiB = 1024 ** 4
DEFAULT_POOLS = (("pool0", 10 * TiB, "JSON file pool, default"), ("pool1", 1 * TiB, "JSON file pool, small"))
QOS_LEVELS = ("platinum", "gold", "silver", "bronze")
STATE_VERSION = 1
MAX_JOB_DELAY = 3600
PBKDF2_ROUNDS = 50000
OPERATIONS = ("create_lun", "resize_lun", "shrink_lun", "delete_lun", "snapshot", "snapshot_restore",
              "clone", "snap_clone", "split_clone", "access_groups")
# protocol 1.1: consistency groups (of LUNs) and group snapshots
GROUP_OPERATIONS = ("consistency_group", "cg_snapshot", "cg_snapshot_restore")
FEATURES = ("thin_provisioning", "thick_provisioning", "qos", "iscsi_initiators", "fc_initiators",
            "chap", "mutual_chap")


def hash_secret(secret: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, PBKDF2_ROUNDS)
    return "pbkdf2_sha256$%d$%s$%s" % (PBKDF2_ROUNDS, salt.hex(), digest.hex())


def secret_matches(secret, stored) -> bool:
    if not stored or not isinstance(secret, str):
        return False
    _algo, rounds, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), bytes.fromhex(salt), int(rounds))
    return hmac.compare_digest(candidate.hex(), digest)


def size_text(size: int) -> str:
    for unit, factor in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor:
            return "%.1f %s" % (size / factor, unit)
    return "%d bytes" % size


def utc(epoch) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def version_tuple(text) -> tuple:
    try:
        return tuple(int(part) for part in str(text).split(".")[:2])
    except ValueError:
        return (0, 0)


def invalid(msg, key=None):
    return PluginError("InvalidValueEx", msg, key)


def prereq(msg, key=None):
    return PluginError("OperationPreReqNotMetEx", msg, key)


def busy(msg):
    return PluginError("StorageElementBusyEx", msg)


class JsonFileArray:
    """The methods of the stormgmt array plug-in API, over a JSON file."""

    def __init__(self) -> None:
        self.uri = None
        self.path = None
        self.job_delay = 0.0
        self.state = None
        # what the collection speaks: a 1.0 collection refuses fields and abilities it does not know
        self.peer = (1, 0)

    # --- protocol ------------------------------------------------------------
    def rpc_plugin_info(self, api_version=None):
        self.peer = version_tuple(api_version)
        return {"name": PLUGIN_NAME, "version": PLUGIN_VERSION, "api_version": API_VERSION, "types": ["array"]}

    @property
    def groups(self) -> bool:
        """Whether the collection speaks protocol 1.1 (consistency groups, created times)."""
        return self.peer >= (1, 1)

    def rpc_plugin_open(self, uri, username=None, password=None):
        # a JSON file has no users: any credentials are accepted (and never stored)
        parts = urlsplit(uri)
        if parts.hostname:
            raise PluginError("ValueFormatEx", "server %r: the jsonfile plug-in takes a path and no host, "
                              "e.g. plugin+jsonfile:///var/tmp/array.json" % uri, "server")
        query = dict(parse_qsl(parts.query))
        text = query.get("job_delay", "0")
        try:
            self.job_delay = float(text)
        except ValueError:
            self.job_delay = -1.0
        # finite and bounded: inf or 1e308 would leave a LUN busy for ever, nan is no delay at all
        if not 0 <= self.job_delay <= MAX_JOB_DELAY:
            raise PluginError("ValueFormatEx", "server URI parameter job_delay=%r is not valid: expected a number of "
                              "seconds from 0 to %d" % (text, MAX_JOB_DELAY), "server")
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
        self.uri = uri
        self.path = parts.path or os.path.join(base, "stormgmt", "jsonfile.json")
        return {"block_size": 512, "min_lun_id": 1}

    def rpc_plugin_close(self):
        return None

    # --- state: one transaction per call ------------------------------------
    @contextlib.contextmanager
    def _state(self, write=False):
        if self.path is None:
            raise prereq("call plugin.open first")
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            lock = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise PluginError("InvalidStorageArrayEx", "cannot open %s: %s" % (self.path, exc.strerror)) from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            state = self._load()
            yield state
            if write:
                self._save(state)
        finally:
            os.close(lock)

    def _load(self) -> dict:
        try:
            with open(self.path) as handle:
                state = json.load(handle)
        except FileNotFoundError:
            return self._new_state()
        except ValueError as exc:
            raise PluginError("InvalidStorageArrayEx", "%s is not a jsonfile plug-in state (%s)" % (self.path, exc)) from None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise PluginError("InvalidStorageArrayEx", "%s has state version %r; this plug-in reads %d"
                              % (self.path, state.get("version") if isinstance(state, dict) else None, STATE_VERSION))
        # added by plug-in 1.1 (state files of 1.0 have none)
        state.setdefault("cgroups", {})
        state.setdefault("cg_snapshots", {})
        return state

    @staticmethod
    def _new_state() -> dict:
        return {
            "version": STATE_VERSION, "uuid": str(uuidlib.uuid4()), "next_id": 1,
            "pools": dict((name, {"total": total, "used": 0, "alloc": 0, "desc": desc}) for name, total, desc in DEFAULT_POOLS),
            "luns": {}, "snapshots": {}, "groups": {}, "jobs": {}, "cgroups": {}, "cg_snapshots": {},
        }

    def _save(self, state: dict) -> None:
        temp = "%s.%d.tmp" % (self.path, os.getpid())
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(state, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)

    # --- records -------------------------------------------------------------
    def _lun_record(self, state, name) -> dict:
        lun = state["luns"][name]
        groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
        busy_state = self._busy(lun)
        clones = sum(1 for other in state["luns"].values() if other["parent"] == name and not other["parent_snapshot"])
        record = {
            "name": name, "uuid": lun["uuid"], "id": str(lun["id"]), "ss_uuid": state["uuid"],
            "page83_id": "6001405" + lun["uuid"].replace("-", "")[:25],
            "se_type": "SNAPCLONE" if lun["parent_snapshot"] else "LUN", "size": lun["size"], "thin": lun["thin"],
            "vol_group_name": lun["pool"], "access_grp_names": groups, "qos": lun["qos"],
            "state": busy_state or "ONLINE",
            "status": "busy" if busy_state else ("OK, %d dependent clone(s)" % clones if clones else "OK"),
            "vendor": "STORMGMT", "product_id": "JSONFILE-LUN", "path": [],
            "array_path": "%s/%s" % (lun["pool"], name), "parent": lun["parent"],
            "parent_snapshot": lun["parent_snapshot"],
        }
        record.update(self._group_fields(lun, self._group_of(state, name)))
        return record

    def _group_fields(self, element, group) -> dict:
        """The fields of protocol 1.1, for a collection that speaks it."""
        if not self.groups:
            return {}
        return {"created": utc(element["created"]) if element.get("created") else None, "consistency_group": group}

    @staticmethod
    def _group_of(state, lun):
        for name, group in state["cgroups"].items():
            if lun in group["luns"]:
                return name
        return None

    def _snap_record(self, state, lun_name, name) -> dict:
        snap = state["snapshots"][lun_name][name]
        pool = state["luns"][lun_name]["pool"]
        record = {
            "name": name, "uuid": snap["uuid"], "id": str(snap["id"]), "ss_uuid": state["uuid"], "se_type": "SNAP",
            "size": snap["size"], "thin": True, "vol_group_name": pool, "access_grp_names": [], "state": "ONLINE",
            "status": "OK", "vendor": "STORMGMT", "product_id": "JSONFILE-SNAP", "path": [],
            "array_path": "%s/%s@%s" % (pool, lun_name, name), "parent": lun_name,
        }
        record.update(self._group_fields(snap, snap.get("group")))
        return record

    @staticmethod
    def _group_record(name, group) -> dict:
        chap = group.get("chap") or {}
        return {
            "grp_name": name, "grp_entries": sorted(group["entries"]), "grp_modes": [], "uuid": group["uuid"],
            "luns": [{"name": lun, "lun_id": number} for lun, number in sorted(group["luns"].items(), key=lambda i: i[1])],
            "target_iqn": "iqn.2026-11.io.stormgmt:jsonfile.%s" % name.lower().replace("_", "-"),
            "portal": None, "chap_username": chap.get("username"), "mutual_chap_username": chap.get("mutual_username"),
        }

    @staticmethod
    def _pool_record(name, pool) -> dict:
        return {"vol_name": name, "vol_total_sz": pool["total"], "vol_used_sz": pool["used"],
                "vol_free_sz": pool["total"] - pool["used"], "vol_alloc_sz": pool["alloc"], "vol_desc": pool["desc"]}

    # --- helpers ---------------------------------------------------------------
    @staticmethod
    def _busy(lun):
        if lun.get("busy_state") and time.time() < lun.get("busy_until", 0):
            return lun["busy_state"]
        return None

    def _not_busy(self, lun, what):
        state = self._busy(lun)
        if state:
            raise busy("%s is %s for another %.1fs (a job is running on it); wait for it and retry"
                       % (what, state, lun["busy_until"] - time.time()))

    @staticmethod
    def _lun(state, name):
        if name not in state["luns"]:
            raise prereq("LUN '%s' does not exist" % name, "lun")
        return state["luns"][name]

    @staticmethod
    def _snap(state, lun, name):
        snap = state["snapshots"].get(lun, {}).get(name)
        if snap is None:
            raise prereq("snapshot '%s' of LUN '%s' does not exist" % (name, lun), "snapshot")
        return snap

    @staticmethod
    def _group(state, name):
        if name not in state["groups"]:
            raise prereq("access group '%s' does not exist" % name, "name")
        return state["groups"][name]

    @staticmethod
    def _pool(state, name):
        if name not in state["pools"]:
            raise invalid("pool '%s' does not exist; pools: %s" % (name, ", ".join(state["pools"])), "pool")
        return state["pools"][name]

    @staticmethod
    def _reserve(pool_name, pool, size, thin, what):
        free = pool["total"] - pool["used"]
        if size > free:
            raise invalid("%s needs %s but pool '%s' has %s free" % (what, size_text(size), pool_name, size_text(free)), "size")
        pool["used"] += 0 if thin else size
        pool["alloc"] += size

    @staticmethod
    def _release(pool, size, thin):
        pool["used"] -= 0 if thin else size
        pool["alloc"] -= size

    @staticmethod
    def _next_id(state) -> int:
        state["next_id"] += 1
        return state["next_id"] - 1

    def _job(self, state, op, lun, busy_state):
        if not self.job_delay:
            return None
        now = time.time()
        job_id = uuidlib.uuid4().hex
        state["jobs"] = dict((k, v) for k, v in state["jobs"].items() if v["until"] > now - 3600)
        state["jobs"][job_id] = {"op": op, "started": now, "until": now + self.job_delay}
        lun["busy_state"], lun["busy_until"] = busy_state, now + self.job_delay
        return {"job_id": job_id, "op": op, "progress": 0, "status": "RUNNING"}

    @staticmethod
    def _check_qos(qos):
        if qos is not None and qos not in QOS_LEVELS:
            raise invalid("QoS %r is not offered; choose one of %s" % (qos, ", ".join(QOS_LEVELS)), "qos")

    # --- server --------------------------------------------------------------
    def rpc_get_abilities(self):
        abilities = dict((key, "ONLINE") for key in OPERATIONS)
        abilities.update((key, "YES") for key in FEATURES)
        abilities["async_jobs"] = "YES" if self.job_delay else "NO"
        if self.groups:
            abilities.update((key, "ONLINE") for key in GROUP_OPERATIONS)
            abilities["cg_filesystems"] = "NO"
        return abilities

    def rpc_server_time(self):
        # the array is a file on this host: its clock is this host's
        return time.time()

    def rpc_get_server(self):
        with self._state() as state:
            pools = state["pools"].values()
            total, used = sum(p["total"] for p in pools), sum(p["used"] for p in pools)
            return {
                "name": "stormgmt jsonfile array", "uuid": state["uuid"], "storage_server_id": self.path,
                "storage_type": "iSCSIStorage", "backend": "plugin+" + PLUGIN_NAME, "uri": self.uri, "chap": False,
                "status": "OK", "total_sz": total, "used_sz": used, "free_sz": total - used,
                "alloc_sz": sum(p["alloc"] for p in pools), "vol_groups": list(state["pools"]),
                "access_grps": sorted(state["groups"]), "storage_desc": "array kept in the JSON file %s" % self.path,
            }

    def rpc_list_pools(self):
        with self._state() as state:
            return [self._pool_record(name, pool) for name, pool in state["pools"].items()]

    def rpc_default_pool(self):
        return DEFAULT_POOLS[0][0]

    def rpc_list_qos(self):
        return [{"priority": index, "value": value} for index, value in enumerate(QOS_LEVELS)]

    def rpc_job_status(self, job_id):
        with self._state() as state:
            job = state["jobs"].get(job_id)
            if job is None:
                raise invalid("job %s is unknown" % job_id, "job_id")
            now = time.time()
            if now >= job["until"]:
                return {"job_id": job_id, "op": job["op"], "progress": 100, "status": "COMPLETE"}
            progress = int(100 * (now - job["started"]) / max(job["until"] - job["started"], 1e-9))
            return {"job_id": job_id, "op": job["op"], "progress": progress, "status": "RUNNING"}

    # --- LUNs ------------------------------------------------------------------
    def rpc_list_luns(self):
        with self._state() as state:
            return [self._lun_record(state, name) for name in sorted(state["luns"])]

    def rpc_get_lun(self, name):
        with self._state() as state:
            return self._lun_record(state, name) if name in state["luns"] else None

    def rpc_list_clones(self, lun):
        with self._state() as state:
            return [self._lun_record(state, name) for name in sorted(state["luns"]) if state["luns"][name]["parent"] == lun]

    def rpc_create_lun(self, name, pool, size, thin, qos):
        self._check_qos(qos)
        with self._state(write=True) as state:
            if name in state["luns"]:
                raise invalid("LUN '%s' already exists" % name, "name")
            self._reserve(pool, self._pool(state, pool), size, thin, "LUN '%s'" % name)
            lun = state["luns"][name] = {
                "uuid": str(uuidlib.uuid4()), "id": self._next_id(state), "pool": pool, "size": size,
                "thin": bool(thin), "qos": qos, "parent": None, "parent_snapshot": None, "gen": 0,
                "created": time.time()}
            return self._job(state, "create LUN %s" % name, lun, "BUSY_CREATE") or self._lun_record(state, name)

    def rpc_resize_lun(self, name, size):
        with self._state(write=True) as state:
            lun = self._lun(state, name)
            self._not_busy(lun, "LUN '%s'" % name)
            pool = self._pool(state, lun["pool"])
            self._release(pool, lun["size"], lun["thin"])
            self._reserve(lun["pool"], pool, size, lun["thin"], "LUN '%s' at %s" % (name, size_text(size)))
            lun["size"] = size
            lun["gen"] += 1
            return self._lun_record(state, name)

    def rpc_set_lun_qos(self, name, qos):
        self._check_qos(qos)
        with self._state(write=True) as state:
            self._lun(state, name)["qos"] = qos
            return self._lun_record(state, name)

    def rpc_delete_lun(self, name, force=False):
        with self._state(write=True) as state:
            lun = self._lun(state, name)
            what = "LUN '%s'" % name
            self._not_busy(lun, what)
            clones = sorted(n for n, other in state["luns"].items() if other["parent"] == name)
            if clones:
                raise busy("%s has clones that depend on it (%s): split or delete them first" % (what, ", ".join(clones)))
            groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
            snaps = sorted(state["snapshots"].get(name, {}))
            cgroup = self._group_of(state, name)
            if not force and (groups or snaps or cgroup):
                reasons = (["a member of consistency group '%s'" % cgroup] if cgroup else []) + (
                    ["mapped to access group(s) %s" % ", ".join(groups)] if groups else []) + (
                    ["has snapshot(s) %s" % ", ".join(snaps)] if snaps else [])
                raise busy("%s %s; unmap/delete them first or set force: true" % (what, " and ".join(reasons)))
            for group in groups:
                del state["groups"][group]["luns"][name]
            state["snapshots"].pop(name, None)
            self._forget_lun(state, name)
            del state["luns"][name]
            self._release(state["pools"][lun["pool"]], lun["size"], lun["thin"])
            return None

    # --- snapshots -------------------------------------------------------------
    def rpc_list_snapshots(self, lun=None):
        with self._state() as state:
            answer = []
            for lun_name in sorted(state["snapshots"]) if lun is None else [lun]:
                snaps = state["snapshots"].get(lun_name, {})
                for name in sorted(snaps, key=lambda snap: snaps[snap]["id"]):  # oldest first
                    answer.append(self._snap_record(state, lun_name, name))
            return answer

    def rpc_get_snapshot(self, lun, name):
        with self._state() as state:
            return self._snap_record(state, lun, name) if name in state["snapshots"].get(lun, {}) else None

    def rpc_create_snapshot(self, lun, name):
        with self._state(write=True) as state:
            parent = self._lun(state, lun)
            self._not_busy(parent, "LUN '%s'" % lun)
            snaps = state["snapshots"].setdefault(lun, {})
            if name in snaps:
                raise invalid("snapshot '%s' of LUN '%s' already exists" % (name, lun), "name")
            snaps[name] = {"uuid": str(uuidlib.uuid4()), "id": self._next_id(state), "size": parent["size"],
                           "gen": parent["gen"], "created": time.time()}
            return self._snap_record(state, lun, name)

    def rpc_delete_snapshot(self, lun, name):
        with self._state(write=True) as state:
            group = self._snap(state, lun, name).get("group")
            if group:
                raise busy("snapshot '%s' of LUN '%s' is part of group snapshot '%s' of consistency group '%s'; "
                           "delete the group snapshot" % (name, lun, name, group))
            clones = sorted(n for n, other in state["luns"].items()
                            if other["parent"] == lun and other["parent_snapshot"] == name)
            if clones:
                raise busy("snapshot '%s' of LUN '%s' has clones that depend on it (%s): split or delete them first"
                           % (name, lun, ", ".join(clones)))
            del state["snapshots"][lun][name]
            if not state["snapshots"][lun]:
                del state["snapshots"][lun]
            return None

    def rpc_snapshot_is_current(self, lun, name):
        with self._state() as state:
            snap, parent = self._snap(state, lun, name), self._lun(state, lun)
            return snap["gen"] == parent["gen"] and snap["size"] == parent["size"]

    def rpc_restore_snapshot(self, lun, name):
        with self._state(write=True) as state:
            snap, parent = self._snap(state, lun, name), self._lun(state, lun)
            what = "LUN '%s'" % lun
            self._not_busy(parent, what)
            groups = sorted(g for g, group in state["groups"].items() if lun in group["luns"])
            if groups:
                raise PluginError("SnapRestoreNotSafeEx",
                                  "restoring snapshot '%s' would change the data under the initiators of access "
                                  "group(s) %s that %s is mapped to; unmap it first" % (name, ", ".join(groups), what))
            if snap["size"] != parent["size"]:
                pool = state["pools"][parent["pool"]]
                self._release(pool, parent["size"], parent["thin"])
                self._reserve(parent["pool"], pool, snap["size"], parent["thin"], what)
            parent["size"], parent["gen"] = snap["size"], snap["gen"]
            job = self._job(state, "restore LUN %s to snapshot %s" % (lun, name), parent, "BUSY_COPY")
            return job or self._lun_record(state, lun)

    # --- clones ----------------------------------------------------------------
    def rpc_create_clone(self, name, lun, snapshot=None):
        with self._state(write=True) as state:
            if name in state["luns"]:
                raise invalid("LUN '%s' already exists" % name, "name")
            parent = self._lun(state, lun)
            self._not_busy(parent, "LUN '%s'" % lun)
            source = self._snap(state, lun, snapshot) if snapshot else parent
            self._reserve(parent["pool"], state["pools"][parent["pool"]], source["size"], parent["thin"],
                          "clone '%s'" % name)
            clone = state["luns"][name] = {
                "uuid": str(uuidlib.uuid4()), "id": self._next_id(state), "pool": parent["pool"],
                "size": source["size"], "thin": parent["thin"], "qos": parent["qos"], "parent": lun,
                "parent_snapshot": snapshot, "gen": source["gen"], "created": time.time(),
                # kept after a split: the collection deletes a split clone only when it can prove where it came from
                "origin": {"parent": lun, "parent_snapshot": snapshot, "parent_uuid": parent["uuid"]}}
            job = self._job(state, "clone %s from %s" % (name, lun + ("@" + snapshot if snapshot else "")),
                            clone, "BUSY_CLONE")
            return job or self._lun_record(state, name)

    def rpc_split_clone(self, name):
        with self._state(write=True) as state:
            clone = self._lun(state, name)
            self._not_busy(clone, "clone '%s'" % name)
            if clone["parent"] is None:
                raise invalid("LUN '%s' is not a clone (it has no parent)" % name, "name")
            clone["parent"] = clone["parent_snapshot"] = None
            return self._job(state, "split clone %s" % name, clone, "BUSY_COPY") or self._lun_record(state, name)

    def rpc_clone_origin(self, name):
        with self._state() as state:
            lun = state["luns"].get(name)
            return None if lun is None else lun.get("origin")

    # --- access groups ---------------------------------------------------------
    def rpc_list_access_groups(self):
        with self._state() as state:
            return [self._group_record(name, state["groups"][name]) for name in sorted(state["groups"])]

    def rpc_get_access_group(self, name):
        with self._state() as state:
            return self._group_record(name, state["groups"][name]) if name in state["groups"] else None

    @staticmethod
    def _set_chap(group, chap):
        if not chap:
            group["chap"] = None
            return
        mutual = chap.get("mutual_username")
        group["chap"] = {"username": chap["username"], "hash": hash_secret(chap["password"]),
                         "mutual_username": mutual,
                         "mutual_hash": hash_secret(chap["mutual_password"]) if mutual else None}

    def _map(self, state, group_name, group, lun_name, lun_id):
        self._lun(state, lun_name)
        if lun_id is None:
            used = set(number for lun, number in group["luns"].items() if lun != lun_name)
            lun_id = 1
            while lun_id in used:
                lun_id += 1
        for other, number in group["luns"].items():
            if number == lun_id and other != lun_name:
                raise invalid("LUN number %d of access group '%s' is already used by LUN '%s'"
                              % (lun_id, group_name, other), "luns")
        group["luns"][lun_name] = lun_id

    def rpc_create_access_group(self, name, entries, luns, chap):
        with self._state(write=True) as state:
            if name in state["groups"]:
                raise invalid("access group '%s' already exists" % name, "name")
            group = state["groups"][name] = {"uuid": str(uuidlib.uuid4()), "entries": sorted(set(entries)),
                                             "luns": {}, "chap": None}
            for lun in luns:
                self._map(state, name, group, lun["name"], lun.get("lun_id"))
            self._set_chap(group, chap)
            return self._group_record(name, group)

    def rpc_update_access_group(self, name, changes):
        with self._state(write=True) as state:
            group = self._group(state, name)
            entries = set(group["entries"]) - set(changes.get("remove_entries", []))
            group["entries"] = sorted(entries | set(changes.get("add_entries", [])))
            for lun_name in changes.get("unmap", []):
                self._lun(state, lun_name)
                group["luns"].pop(lun_name, None)
            # drop the old numbers of remapped LUNs first, so one update can swap two LUN numbers
            for lun in changes.get("map", []):
                group["luns"].pop(lun["name"], None)
            for lun in changes.get("map", []):
                self._map(state, name, group, lun["name"], lun.get("lun_id"))
            if "chap" in changes:
                self._set_chap(group, changes["chap"])
            return self._group_record(name, group)

    def rpc_delete_access_group(self, name, force=False):
        with self._state(write=True) as state:
            group = self._group(state, name)
            if group["luns"] and not force:
                raise busy("access group '%s' still has LUN(s) %s mapped; unmap them first or set force: true"
                           % (name, ", ".join(sorted(group["luns"]))))
            del state["groups"][name]
            return None

    def rpc_chap_matches(self, name, chap):
        with self._state() as state:
            stored = self._group(state, name).get("chap") or {}
        if stored.get("username") != chap.get("username") or not secret_matches(chap.get("password"), stored.get("hash")):
            return False
        if stored.get("mutual_username") != chap.get("mutual_username"):
            return False
        return not stored.get("mutual_username") or secret_matches(chap.get("mutual_password"), stored.get("mutual_hash"))

    # --- consistency groups (protocol 1.1) -----------------------------------------
    def _cgroup(self, state, name):
        if name not in state["cgroups"]:
            raise prereq("consistency group '%s' does not exist" % name, "consistency_group")
        return state["cgroups"][name]

    def _cg_snap(self, state, group, name):
        snap = state["cg_snapshots"].get(group, {}).get(name)
        if snap is None:
            raise prereq("group snapshot '%s' of consistency group '%s' does not exist" % (name, group), "name")
        return snap

    @staticmethod
    def _cg_record(state, name) -> dict:
        group = state["cgroups"][name]
        return {"name": name, "uuid": group["uuid"], "ss_uuid": state["uuid"], "luns": sorted(group["luns"]),
                "filesystems": [], "created": utc(group["created"]), "status": "OK"}

    @staticmethod
    def _cg_snap_record(state, group, name) -> dict:
        snap = state["cg_snapshots"][group][name]
        size = sum(state["snapshots"][lun][name]["size"] for lun in snap["luns"])
        return {"name": name, "uuid": snap["uuid"], "ss_uuid": state["uuid"], "consistency_group": group,
                "luns": sorted(snap["luns"]), "filesystems": [], "size": size, "created": utc(snap["created"]),
                "state": "ONLINE", "status": "OK"}

    @staticmethod
    def _forget_lun(state, lun):
        for group in state["cgroups"].values():
            if lun in group["luns"]:
                group["luns"].remove(lun)
        for group in list(state["cg_snapshots"]):
            for name, snap in list(state["cg_snapshots"][group].items()):
                if lun in snap["luns"]:
                    snap["luns"].remove(lun)
                if not snap["luns"]:
                    del state["cg_snapshots"][group][name]

    def _check_members(self, state, name, luns, filesystems):
        if filesystems:
            raise PluginError("NoSuchOperationEx", "the jsonfile plug-in has no file systems to put into consistency "
                              "group '%s'" % name)
        for lun in luns:
            self._lun(state, lun)
            other = self._group_of(state, lun)
            if other not in (None, name):
                raise invalid("LUN '%s' is already in consistency group '%s'; a LUN is in one group at most"
                              % (lun, other), "luns")

    def rpc_list_consistency_groups(self):
        with self._state() as state:
            return [self._cg_record(state, name) for name in sorted(state["cgroups"])]

    def rpc_get_consistency_group(self, name):
        with self._state() as state:
            return self._cg_record(state, name) if name in state["cgroups"] else None

    def rpc_create_consistency_group(self, name, luns, filesystems):
        with self._state(write=True) as state:
            if name in state["cgroups"]:
                raise invalid("consistency group '%s' already exists" % name, "name")
            self._check_members(state, name, luns, filesystems)
            state["cgroups"][name] = {"uuid": str(uuidlib.uuid4()), "created": time.time(), "luns": sorted(set(luns))}
            return self._cg_record(state, name)

    def rpc_update_consistency_group(self, name, changes):
        with self._state(write=True) as state:
            group = self._cgroup(state, name)
            self._check_members(state, name, changes.get("add_luns", []), changes.get("add_filesystems", []))
            luns = set(group["luns"]) - set(changes.get("remove_luns", []))
            group["luns"] = sorted(luns | set(changes.get("add_luns", [])))
            return self._cg_record(state, name)

    def _drop_cg_snap(self, state, group, name):
        snap = self._cg_snap(state, group, name)
        clones = sorted(n for n, other in state["luns"].items()
                        if other["parent"] in snap["luns"] and other["parent_snapshot"] == name)
        if clones:
            raise busy("group snapshot '%s' of consistency group '%s': clone(s) %s depend on its snapshots; split or "
                       "delete them first" % (name, group, ", ".join(clones)))
        for lun in snap["luns"]:
            state["snapshots"][lun].pop(name, None)
            if not state["snapshots"][lun]:
                del state["snapshots"][lun]
        del state["cg_snapshots"][group][name]

    def rpc_delete_consistency_group(self, name, force=False):
        with self._state(write=True) as state:
            self._cgroup(state, name)
            snaps = state["cg_snapshots"].get(name, {})
            if snaps and not force:
                raise busy("consistency group '%s' has group snapshot(s) %s; delete them first or set force: true"
                           % (name, ", ".join(sorted(snaps))))
            for snap in list(snaps):
                self._drop_cg_snap(state, name, snap)
            state["cg_snapshots"].pop(name, None)
            del state["cgroups"][name]
            return None

    def rpc_list_cg_snapshots(self, group=None):
        with self._state() as state:
            answer = []
            for name in sorted(state["cg_snapshots"]) if group is None else [group]:
                snaps = state["cg_snapshots"].get(name, {})
                for snap in sorted(snaps, key=lambda key: (snaps[key]["created"], key)):
                    answer.append(self._cg_snap_record(state, name, snap))
            return answer

    def rpc_get_cg_snapshot(self, group, name):
        with self._state() as state:
            if name not in state["cg_snapshots"].get(group, {}):
                return None
            return self._cg_snap_record(state, group, name)

    def rpc_create_cg_snapshot(self, group, name):
        # one transaction: every member's data generation is read under the same lock
        with self._state(write=True) as state:
            members = self._cgroup(state, group)["luns"]
            if not members:
                raise prereq("consistency group '%s' has no members to snapshot" % group, "consistency_group")
            snaps = state["cg_snapshots"].setdefault(group, {})
            if name in snaps:
                raise invalid("group snapshot '%s' of consistency group '%s' already exists" % (name, group), "name")
            for lun in members:
                self._not_busy(self._lun(state, lun), "member LUN '%s'" % lun)
                if name in state["snapshots"].get(lun, {}):
                    raise invalid("member LUN '%s' already has a snapshot '%s'" % (lun, name), "name")
            now = time.time()
            for lun in members:
                parent = state["luns"][lun]
                state["snapshots"].setdefault(lun, {})[name] = {
                    "uuid": str(uuidlib.uuid4()), "id": self._next_id(state), "size": parent["size"],
                    "gen": parent["gen"], "created": now, "group": group}
            snaps[name] = {"uuid": str(uuidlib.uuid4()), "created": now, "luns": list(members)}
            return self._cg_snap_record(state, group, name)

    def rpc_delete_cg_snapshot(self, group, name):
        with self._state(write=True) as state:
            self._drop_cg_snap(state, group, name)
            if not state["cg_snapshots"][group]:
                del state["cg_snapshots"][group]
            return None

    def rpc_restore_cg_snapshot(self, group, name):
        with self._state(write=True) as state:
            snap = self._cg_snap(state, group, name)
            for lun in snap["luns"]:
                parent = self._lun(state, lun)
                self._not_busy(parent, "LUN '%s'" % lun)
                groups = sorted(g for g, record in state["groups"].items() if lun in record["luns"])
                if groups:
                    raise PluginError("SnapRestoreNotSafeEx",
                                      "restoring group snapshot '%s' of consistency group '%s' would change the data of "
                                      "LUN '%s' under the initiators of access group(s) %s; unmap it first"
                                      % (name, group, lun, ", ".join(groups)))
            for lun in snap["luns"]:
                parent, member = state["luns"][lun], state["snapshots"][lun][name]
                if member["size"] != parent["size"]:
                    pool = state["pools"][parent["pool"]]
                    self._release(pool, parent["size"], parent["thin"])
                    self._reserve(parent["pool"], pool, member["size"], parent["thin"], "LUN '%s'" % lun)
                parent["size"], parent["gen"] = member["size"], member["gen"]
            return self._cg_snap_record(state, group, name)


if __name__ == "__main__":
    sys.exit(serve(JsonFileArray()))
