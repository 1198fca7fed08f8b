# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ceph backend: ``ceph://POOL?conf=/etc/ceph/ceph.conf&id=admin[&portal=HOST:PORT][&...]``.

Private to this collection (the public API is :mod:`plugin`); docs/ceph_backend.md is the
user's guide.

Block storage is RBD, driven through Ceph's own Python bindings (see :mod:`_ceph_agent` for
why they run in process or in a co-process):

* a LUN is an RBD image of the pool (always thin);
* a snapshot is an RBD snapshot; restore is a rollback, run as a job;
* a clone of a snapshot is a layered clone of that (protected) snapshot; a clone of a LUN
  is a layered clone of an internal snapshot ``.stormgmt-clone-<clone uuid>`` that the
  records do not show; split is a flatten, run as a job;
* an access group is a target of the iSCSI gateway on the host the task runs on (tgtd with
  its ``rbd`` backing store; the code is the tgt backend's, :mod:`_gw_iscsi`).

What the backend knows lives in the cluster, so any gateway or admin host sees the same
server: in RADOS namespace ``stormgmt`` of the pool, the object ``stormgmt.server`` (JSON:
uuid, access groups with LUN numbers, initiators and CHAP users with salted hashes of the
secrets, operations in progress) changed only under its RADOS exclusive lock, and the object
``stormgmt.jobs`` (omap: one record per long operation, with its progress); on every image
it made, image metadata ``stormgmt.*`` (its uuid, the server's uuid, its snapshots by RBD
snapshot id, its lineage).

Data safety: an image, snapshot or clone is the backend's only when its metadata says so
(server uuid and uuid; snapshots by id). Anything else in the pool is never shown, changed
or deleted: creating over it, or deleting a LUN that has snapshots or clones the backend did
not make, fails with a message that names it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import socket
import subprocess
import sys
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._gw_iscsi import (
    DEFAULT_IQN_BASE,
    Backing,
    IscsiGatewayMixin,
    Tgtadm,
    chap_users,
    split_portal,
)
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import normalize_iqn, validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.backends._ceph_groups import (
    CephGroups,
    group_of_lun,
    group_snaps_holding,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    CloneFailedEx,
    CreateSnapFailedEx,
    InvalidStorageArrayEx,
    InvalidValueEx,
    IPluginException,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    PermissionDeniedEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin

AGENT_MODULE = "ansible_collections.stormgmt.core.plugins.module_utils._ceph_agent"
STATE_VERSION = 1
URI_PARAMETERS = ("conf", "id", "portal", "control_port", "iqn_base", "fs", "fs_root", "python", "nfs_conf",
                  "nfs_host")
DEFAULT_CONF = "/etc/ceph/ceph.conf"
DEFAULT_PYTHON = "/usr/bin/python3"
STATE_OBJECT = "stormgmt.server"
JOBS_OBJECT = "stormgmt.jobs"

# image metadata of the backend (values are strings; JSON where they are structured)
K_SERVER = "stormgmt.server"        # uuid of the server (state object) that made the image
K_UUID = "stormgmt.uuid"            # the LUN's uuid (its SCSI identity on the gateway)
K_CREATED = "stormgmt.created"
K_SNAPS = "stormgmt.snapshots"      # {name: {uuid, id, created}}: the snapshots the backend made
K_ORIGIN = "stormgmt.origin"        # {parent, parent_uuid, parent_snapshot, base}: how a clone was made
K_SPLIT = "stormgmt.split"          # {parent, parent_snapshot, at}: the lineage of a clone before its split
K_RESTORED = "stormgmt.restored"    # {snapshot, mark}: the last restore (mark: snapshot taken right after)

INTERNAL_PREFIX = ".stormgmt-"      # internal snapshots; user names never start with "."
CLONE_BASE = INTERNAL_PREFIX + "clone-"
COPY_PREFIX = INTERNAL_PREFIX + "copy-"   # an image being copied from a group snapshot's member
RESTORE_MARK = INTERNAL_PREFIX + "restored-"

VENDOR_ID = "STORMGMT"
PRODUCT_ID = "RBD-LUN"

LOCK_SECONDS = 60        # a lock a killed run held expires after this
LOCK_WAIT = 120          # how long a run waits for another one's lock
STALE_JOB = 30           # a job whose worker has not reported for this long has died
AGENT_TIMEOUT = 600      # no answer from the agent for this long: it is stuck

_CLIENT_ID = lazy_compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NFS_HOST = lazy_compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                         r"|[0-9A-Fa-f:.]+)$")
# paths reach tgtd's --bsopts (split at ';' and '='), mount options (split at ','), fstab lines and
# mount.fuse.ceph (which builds a shell command line): letters, digits and _ . + @ / - only
_SAFE_PATH = lazy_compile(r"^/[A-Za-z0-9_.+@/-]*$")

# binding exception -> collection exception
_ERRORS = {
    "ImageNotFound": OperationPreReqNotMetEx, "ObjectNotFound": OperationPreReqNotMetEx,
    "ImageExists": InvalidValueEx, "ObjectExists": InvalidValueEx,
    "ImageBusy": StorageElementBusyEx, "ImageHasSnapshots": StorageElementBusyEx, "ObjectBusy": StorageElementBusyEx,
    "PermissionError": PermissionDeniedEx, "PermissionDenied": PermissionDeniedEx,
    "InvalidArgument": InvalidValueEx, "NoSpace": InvalidValueEx, "OutOfRange": InvalidValueEx,
    "TimedOut": OperationFailedEx, "ConnectionShutdown": OperationFailedEx,
}


class CephError(Exception):
    """An error the agent reported: the binding's exception name, errno and message."""

    def __init__(self, kind: str, msg: str, code: int = 0) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg
        self.code = code

    def to_plugin(self, what: str, default=OperationFailedEx) -> IPluginException:
        cls = _ERRORS.get(self.kind, default)
        return cls("%s: %s" % (what, self.msg))


# --- the client: the agent in process or as a co-process ------------------------------------------

def bindings_here() -> bool:
    """True when this Python imports Ceph's bindings (then the agent runs in process)."""
    return all(importlib.util.find_spec(name) is not None for name in ("rados", "rbd"))


def agent_source() -> str:
    """The agent's source, to run it with another Python (``python3 -c``)."""
    spec = importlib.util.find_spec(AGENT_MODULE)
    if spec is None or spec.loader is None:
        raise OperationFailedEx("cannot find the Ceph agent %s" % AGENT_MODULE)
    return spec.loader.get_source(AGENT_MODULE)


class CephClient:
    """Calls into the agent; ``python`` None: in process when the bindings import here."""

    def __init__(self, python: str | None = None) -> None:
        self.python = python
        self._agent = None
        self._proc = None

    @property
    def in_process(self) -> bool:
        return self._agent is not None

    def start(self) -> None:
        if self._agent is not None or self._proc is not None:
            return
        if self.python is None and bindings_here():
            from ansible_collections.stormgmt.core.plugins.module_utils._ceph_agent import Agent
            self._agent = Agent()
            return
        python = self.python or DEFAULT_PYTHON
        if not os.access(python, os.X_OK):
            raise OperationPreReqNotMetEx(
                "the Ceph backend needs a Python with Ceph's bindings (python3-rados, python3-rbd): %s does not "
                "exist; install them, or name such a Python with python= in the server URI" % python, "server")
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - argv list, never a shell
                [python, "-c", agent_source(), "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, close_fds=True, text=True, bufsize=1)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot start %s for the Ceph agent: %s" % (python, error.strerror),
                                          "server") from None

    def call(self, op: str, **args):
        self.start()
        if self._agent is not None:
            from ansible_collections.stormgmt.core.plugins.module_utils._ceph_agent import _error_of
            method = getattr(self._agent, "op_" + op)
            try:
                return json.loads(json.dumps(method(**args)))  # the same shapes as from the co-process
            except Exception as exc:  # pylint: disable=broad-except
                error = _error_of(exc)
                raise CephError(error["type"], error["msg"], error["errno"]) from None
        return self._remote(op, args)

    def _remote(self, op: str, args: dict):
        proc = self._proc
        try:
            proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            proc.stdin.flush()
            ready, _w, _x = select.select([proc.stdout], [], [], AGENT_TIMEOUT)
            line = proc.stdout.readline() if ready else None
        except (OSError, ValueError):
            line = ""
        if line is None:
            self.close()
            raise OperationFailedEx("the Ceph agent did not answer %s within %ds" % (op, AGENT_TIMEOUT))
        if not line:
            rc = proc.poll()
            self._proc = None
            raise OperationFailedEx("the Ceph agent (%s) stopped%s" % (
                self.python or DEFAULT_PYTHON, "" if rc is None else " (exit %s)" % rc))
        answer = json.loads(line)
        if "error" in answer:
            error = answer["error"]
            raise CephError(error.get("type", "Error"), error.get("msg", ""), error.get("errno", 0))
        return answer.get("result")

    def spawn_job(self, conf: str, client_id: str, pool: str, job_id: str, fs: str | None) -> None:
        """Start a detached worker that runs job ``job_id`` (it outlives this module run)."""
        python = self.python or (sys.executable if self.in_process else DEFAULT_PYTHON)
        try:
            subprocess.Popen(  # noqa: S603 - argv list, never a shell
                [python, "-c", agent_source(), "job", conf, client_id, pool, job_id, fs or ""],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True,
                start_new_session=True, cwd="/")
        except OSError as error:
            raise OperationFailedEx("cannot start the worker of job %s: %s" % (job_id, error.strerror)) from None

    def close(self) -> None:
        if self._agent is not None:
            self._agent.close()
            self._agent = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with contextlib.suppress(OSError, ValueError):
                proc.stdout.close()


# --- the backend ------------------------------------------------------------------------------------

def parse_backing_stores(text: str) -> list:
    """``tgtadm --mode sys --op show`` -> the names of tgtd's backing store types."""
    stores, inside = [], False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.strip() == "Backing stores:"
        elif inside and line.strip():
            stores.append(line.split()[0])
    return stores


def new_state() -> dict:
    return {"version": STATE_VERSION, "uuid": str(uuidlib.uuid4()), "created": time.time(),
            "groups": {}, "pending": {}, "trash": []}


def _json_meta(meta: dict, key: str, default):
    try:
        value = json.loads(meta[key])
    except (KeyError, TypeError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default


class CephBackend(IscsiGatewayMixin, CephGroups, StorageArrayPlugin, FileSystemPlugin):
    scheme = "ceph"
    #: the gateway's list of CHAP accounts to delete (``pending`` is the backend's own {name: operation})
    gw_pending_key = "gw_pending"
    block_size = 512
    #: LUN 0 of every tgt target is tgt's own controller LUN
    min_lun_id = 1

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        text = uri.text
        netloc = text.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
        pool, _slash, rest = netloc.partition("/")
        if rest or not pool:
            raise ValueFormatEx("server %r: write ceph://POOL?conf=/etc/ceph/ceph.conf&id=admin: the pool name and "
                                "no path" % text, "server")
        try:
            self.pool = validate_name(pool, "pool name")
        except InvalidValueEx as error:
            raise ValueFormatEx("server %r: %s" % (text, error.msg), "server") from None
        unknown = sorted(set(uri.query) - set(URI_PARAMETERS))
        if unknown:
            raise ValueFormatEx("server %r: unknown parameter(s) %s; the ceph backend reads %s"
                                % (text, ", ".join(unknown), ", ".join(URI_PARAMETERS)), "server")
        self.conf = self._path_option("conf", DEFAULT_CONF)
        self.client_id = uri.option("id", username or "admin")
        if not _CLIENT_ID.match(self.client_id or ""):
            raise ValueFormatEx("server URI parameter id=%r is not a Ceph client name (letters, digits, _ . -)"
                                % (self.client_id,), "server")
        self.portal_option = uri.option("portal")
        if self.portal_option is not None:
            split_portal(self.portal_option)
        self.control_port = uri.option("control_port", 0, int)
        if not 0 <= self.control_port < 65536:
            raise ValueFormatEx("server URI parameter control_port must be 0-65535", "server")
        default_base = "%s.ceph.%s" % (DEFAULT_IQN_BASE, self.pool.lower().replace("_", "-"))
        try:
            self.iqn_base = normalize_iqn(uri.option("iqn_base", default_base))
        except ValueFormatEx as error:
            raise ValueFormatEx("server URI parameter iqn_base: %s" % error.msg, "server") from None
        self.fs_name = uri.option("fs")
        if self.fs_name is not None:
            try:
                validate_name(self.fs_name, "CephFS name")
            except InvalidValueEx as error:
                raise ValueFormatEx("server URI parameter fs: %s" % error.msg, "server") from None
        self.fs_root = self._path_option("fs_root", "/stormgmt/%s" % self.pool)
        # the NFS gateway: nfs-ganesha (FSAL CEPH) on the host the task runs on, named by its configuration
        self.nfs_conf = self._path_option("nfs_conf", None)
        self.nfs_host = uri.option("nfs_host")
        if self.nfs_host is not None:
            if self.nfs_conf is None:
                raise ValueFormatEx("server %r: nfs_host needs nfs_conf (the nfs-ganesha configuration)" % text, "server")
            if not _NFS_HOST.match(self.nfs_host.strip("[]")):
                raise ValueFormatEx("server URI parameter nfs_host=%r is not a host name or address" % self.nfs_host,
                                    "server")
            self.nfs_host = self.nfs_host.strip("[]")
        if self.nfs_conf is not None and self.fs_name is None:
            raise ValueFormatEx("server %r: nfs_conf exports CephFS file systems: give fs=<CephFS name> too" % text,
                                "server")
        # access groups may then hold NFS clients too, as on the Linux server
        self.nfs_clients = self.nfs_conf is not None
        python = uri.option("python")
        if python is not None:
            python = self._path_option("python", None)
        self.tgtadm = Tgtadm(self.control_port)
        self.client = CephClient(python)
        self._uuid = None
        self._portal = None
        self._fsid = None
        self._version = None
        self._saved = None

    def _path_option(self, key: str, default):
        value = self.uri.option(key, default)
        if value is None:
            return None
        if not _SAFE_PATH.match(value) or "/../" in value + "/" or value != os.path.normpath(value):
            raise ValueFormatEx("server URI parameter %s=%r must be an absolute, normalised path of letters, digits "
                                "and _ . + @ / -" % (key, value), "server")
        return value

    # --- the agent --------------------------------------------------------------------------
    def _call(self, what: str, op: str, default=OperationFailedEx, **args):
        try:
            return self.client.call(op, **args)
        except CephError as error:
            raise error.to_plugin(what, default) from None

    # --- connection, state, lock ------------------------------------------------------------------
    def _connect(self) -> None:
        """Once per run: the cluster and pool, the state object, then the gateway's re-sync."""
        if self._uuid is not None:
            return
        try:
            info = self.client.call("connect", conf=self.conf, client_id=self.client_id, pool=self.pool,
                                    fs=self.fs_name)
        except CephError as error:
            if error.kind in ("ModuleNotFoundError", "ImportError"):
                raise OperationPreReqNotMetEx(
                    "Ceph's Python bindings are missing (%s): install python3-rados and python3-rbd" % error.msg,
                    "server") from None
            if error.kind in ("ObjectNotFound", "FileNotFoundError") or "conf" in error.msg.lower():
                raise OperationPreReqNotMetEx("cannot read the Ceph configuration %s or its keyring for client.%s: %s"
                                              % (self.conf, self.client_id, error.msg), "server") from None
            if error.kind in ("PermissionError", "PermissionDenied"):
                raise PermissionDeniedEx("Ceph refused client.%s: %s" % (self.client_id, error.msg)) from None
            raise OperationPreReqNotMetEx("cannot connect to the Ceph cluster of %s as client.%s: %s"
                                          % (self.conf, self.client_id, error.msg), "server") from None
        self._fsid, self._version = info.get("fsid"), info.get("version")
        if not info.get("pool"):
            raise OperationPreReqNotMetEx("pool '%s' does not exist in Ceph cluster %s; create it (ceph osd pool create "
                                          "%s; rbd pool init %s)" % (self.pool, self._fsid, self.pool, self.pool), "server")
        if "rbd" not in (info.get("applications") or []):
            raise OperationPreReqNotMetEx("pool '%s' of Ceph cluster %s is not an RBD pool; enable it with rbd pool init %s"
                                          % (self.pool, self._fsid, self.pool), "server")
        state = self._load()
        if state is None and not self.read_only:
            with self._state_lock():
                state = self._load()
                if state is None:
                    self._refuse_orphans()
                    state = new_state()
                    self._save_state(state)
        if state is None:
            state = new_state()  # check mode on a pool the backend never used: nothing is written
            self._saved = state
        self._uuid = state["uuid"]
        if not self.read_only and (state.get("pending") or state.get("trash") or state.get("trash_fs")):
            with self._state_lock():
                self._recover()
        if self.portal_option is not None:
            self._connect_gateway()

    def _connect_gateway(self) -> None:
        if "rbd" not in parse_backing_stores(self.tgtadm("sys", "show").out):
            raise OperationPreReqNotMetEx(
                "tgtd (control port %d) has no rbd backing store; install tgt-rbd and restart tgtd" % self.control_port,
                "server")
        self._portal = self._check_portal()
        if not self._state()["groups"] and not self._state().get(self.gw_pending_key):
            return  # nothing to export: no lock needed (a no-op task stays cheap)
        with self._state_lock():
            state = self._fresh_state()
            live = self._live()
            if state.get(self.gw_pending_key) and not self.read_only:
                # CHAP accounts a run killed half-way no longer needed: out of tgtd, unless a group uses them again
                for entry in state[self.gw_pending_key]:
                    for user in entry.get("accounts") or []:
                        if user in live["accounts"] and user not in chap_users(state):
                            self.tgtadm.delete_account(user)
                            self.note_repair("deleted the CHAP account %s an interrupted %s no longer needed"
                                             % (user, entry.get("op")))
                state[self.gw_pending_key] = []
                self._save_state(state)
                live = self._live()
            for name in sorted(state["groups"]):
                self._reconcile(state, name, live)

    def _load(self) -> dict | None:
        text = self._call("cannot read the state of pool '%s'" % self.pool, "read", obj=STATE_OBJECT)["data"]
        if not text:
            return None  # no object, or the empty one its lock makes before the first state is written
        try:
            state = json.loads(text)
        except ValueError:
            state = None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not state.get("uuid"):
            raise InvalidStorageArrayEx(
                "the object %s in RADOS namespace stormgmt of pool '%s' is not a state this collection reads (version "
                "%r, expected %d); it is left as it is" % (STATE_OBJECT, self.pool,
                                                           state.get("version") if isinstance(state, dict) else None,
                                                           STATE_VERSION))
        for key, default in (("groups", {}), ("pending", {}), ("trash", [])):
            state.setdefault(key, default)
        self._saved = state
        return state

    def _fresh_state(self) -> dict:
        """The state as stored now (read it under the lock to change it)."""
        state = self._load()
        if state is None:
            state = new_state()
            state["uuid"] = self._uuid or state["uuid"]
        return state

    def _state(self) -> dict:
        """The state as this run last read or wrote it: for reading, not for changing."""
        return self._saved if self._saved is not None else self._fresh_state()

    def _save_state(self, state: dict) -> None:
        self._saved = state
        self._call("cannot write the state of pool '%s'" % self.pool, "write", obj=STATE_OBJECT,
                   data=json.dumps(state, sort_keys=True))

    def _refuse_orphans(self) -> None:
        """A pool holding images of a server whose state is gone is not a new server."""
        owners = set()
        for info in self._call("cannot list the images of pool '%s'" % self.pool, "images_info").values():
            if info["meta"].get(K_SERVER):
                owners.add(info["meta"][K_SERVER])
        if owners:
            raise InvalidStorageArrayEx(
                "pool '%s' holds images that a stormgmt server made (server %s), but its state object %s (RADOS "
                "namespace stormgmt) is missing; restore it rather than start a new server over them"
                % (self.pool, ", ".join(sorted(owners)), STATE_OBJECT))

    @contextlib.contextmanager
    def _state_lock(self):
        cookie = uuidlib.uuid4().hex
        answer = self._call("cannot lock pool '%s'" % self.pool, "lock", obj=STATE_OBJECT, cookie=cookie,
                            duration=LOCK_SECONDS, wait=LOCK_WAIT)
        if not answer.get("locked"):
            raise StorageElementBusyEx("another run has held the lock of pool '%s' (RADOS object %s) for more than "
                                       "%ds; retry later" % (self.pool, STATE_OBJECT, LOCK_WAIT))
        try:
            yield
        finally:
            with contextlib.suppress(CephError, IPluginException):
                self.client.call("unlock", obj=STATE_OBJECT, cookie=cookie)

    @contextlib.contextmanager
    def _write(self):
        """One write: the lock and a fresh state; the caller saves it."""
        self._connect()
        with self._state_lock():
            yield self._fresh_state()
        self.cache.clear(self._uuid)

    def _recover(self) -> None:
        """Finish or undo what a killed run left half done (the state lists it)."""
        state = self._fresh_state()
        for name, pending in sorted(state["pending"].items()):
            info = self.client.call("image", name=name) if pending.get("image", True) else None
            if pending["op"] == "fs_create":
                from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
                _ceph_fs.recover(self, name, pending)
            elif pending["op"] in ("create", "clone"):
                if info is not None and not info["meta"].get(K_SERVER) and info["created"] >= pending["started"] - 5:
                    # the image the killed run made, before it could mark it: adopt it
                    self.client.call("meta_set", name=name, meta=pending["meta"])
                elif info is None and pending.get("base", "").startswith(CLONE_BASE):
                    self.client.call("release_snapshot", image=pending["parent"], snap=pending["base"])
            elif pending["op"] == "cg_snapshot":
                self._recover_cg_snap(state, pending)
            elif pending["op"] == "snapshot" and info is not None and self._ours(info):
                snaps = _json_meta(info["meta"], K_SNAPS, {})
                for snap in info["snaps"]:
                    if snap["name"] == pending["snapshot"] and pending["snapshot"] not in snaps:
                        snaps[snap["name"]] = {"uuid": pending["uuid"], "id": snap["id"], "created": pending["started"]}
                        self.client.call("meta_set", name=name, meta={K_SNAPS: json.dumps(snaps, sort_keys=True)})
            del state["pending"][name]
        for image_id in list(state["trash"]):
            self.client.call("trash_remove", image_id=image_id)
            state["trash"].remove(image_id)
        for path in list(state.get("trash_fs") or []):
            self.client.call("fs_remove_tree", path=path)
            state["trash_fs"].remove(path)
        self._save_state(state)

    def close(self) -> None:
        self.cache.clear(self._uuid or "")
        self.client.close()

    def host_mount(self, fs: dict, share_path):
        """How the mount module mounts file system ``fs`` on a host: ceph-fuse."""
        from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
        return _ceph_fs.host_mount(self, fs, share_path)

    # --- images ------------------------------------------------------------------------------
    def _ours(self, info) -> bool:
        meta = (info or {}).get("meta") or {}
        return bool(info) and meta.get(K_SERVER) == self._uuid and bool(meta.get(K_UUID))

    def _image(self, name: str, children: bool = False):
        """The image's info when it is one of this server's LUNs, else None."""
        info = self._call("cannot read image '%s' of pool '%s'" % (name, self.pool), "image", name=name,
                          children=children)
        return info if self._ours(info) else None

    def _existing_lun(self, state: dict, name: str) -> dict:
        info = self._image(name)
        if info is None:
            raise OperationPreReqNotMetEx("LUN '%s' does not exist" % name, "lun")
        return info

    def _new_name(self, name: str, what: str) -> None:
        """Refuse a name an image of the pool has, whoever made it."""
        info = self._call("cannot read image '%s'" % name, "image", name=name)
        if info is None:
            return
        if self._ours(info):
            raise InvalidValueEx("LUN '%s' already exists" % name, "name")
        raise InvalidValueEx("%s: pool '%s' has an RBD image '%s' that this server did not make; it is left alone, "
                             "choose another name" % (what, self.pool, name), "name")

    def _jobs(self) -> dict:
        return self._call("cannot read the jobs of pool '%s'" % self.pool, "jobs")

    def _running_job(self, target: str, jobs: dict | None = None):
        jobs = self._jobs() if jobs is None else jobs
        for job_id, job in sorted(jobs.items()):
            targets = [job.get("target")] + list((job.get("args") or {}).get("targets") or [])
            if target in targets and self._job_status(job)[0] == "RUNNING":
                return job_id, job
        return None

    def _check_not_busy(self, target: str, what: str) -> None:
        running = self._running_job(target)
        if running is not None:
            raise StorageElementBusyEx("%s is busy: job %s (%s) is running on it, at %s%%; wait for it and retry"
                                       % (what, running[0], running[1].get("op"), running[1].get("progress")))

    @staticmethod
    def _lineage(info: dict) -> tuple:
        """(parent, parent_snapshot) from Ceph's own record of the clone's parent (for a copy of a group
        snapshot's member, which has no RBD parent: from the image's metadata)."""
        parent = info.get("parent")
        if parent is None:
            origin = _json_meta(info["meta"], K_ORIGIN, {})
            if origin.get("copy"):
                return origin.get("parent"), origin.get("parent_snapshot")
            return None, None
        snap = None if parent["snap"].startswith(INTERNAL_PREFIX) else parent["snap"]
        return parent["image"], snap

    def _lun_params(self, uuid: str) -> dict:
        serial = uuid.replace("-", "")
        return {"scsi_id": serial, "scsi_sn": serial[:16], "vendor_id": VENDOR_ID, "product_id": PRODUCT_ID}

    def _lun_record(self, state: dict, info: dict, jobs: dict) -> dict:
        name = info["name"]
        meta = info["meta"]
        uuid = meta[K_UUID]
        groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
        parent, parent_snapshot = self._lineage(info)
        running = self._running_job("lun:" + name, jobs)
        state_word, status, handle, progress = "ONLINE", "OK", None, None
        if running is not None:
            state_word, handle, progress = "BUSY_COPY", running[0], running[1].get("progress")
            status = "busy: %s (job %s, %s%%)" % (running[1].get("op"), running[0], progress)
        else:
            failed = self._failed_restore(name, jobs)
            if failed:
                state_word, status = "ERROR", failed
        extra = None
        split = _json_meta(meta, K_SPLIT, {})
        if split.get("parent"):
            extra = "split from %s%s" % (split["parent"], "@" + split["parent_snapshot"] if split.get("parent_snapshot") else "")
        return records.make(
            "storage_element",
            name=name, uuid=uuid, id=uuid, ss_uuid=self._uuid, page83_id=self._lun_params(uuid)["scsi_id"],
            se_type="SNAPCLONE" if parent_snapshot else "LUN", size=info["size"], thin=True,
            vol_group_name=self.pool, access_grp_names=groups, qos=None, state=state_word, status=status,
            vendor=VENDOR_ID, product_id=PRODUCT_ID, path=[], array_path="%s/%s" % (self.pool, name),
            parent=parent, parent_snapshot=parent_snapshot, async_handle=handle, async_progress=progress,
            extra_info=extra, consistency_group=group_of_lun(state, name))

    def _failed_restore(self, name: str, jobs: dict) -> str | None:
        """A restore of this LUN whose job ended in error (after the last successful one)."""
        last = None
        for job_id, job in jobs.items():
            targets = [job.get("target")] + list((job.get("args") or {}).get("targets") or [])
            if "lun:" + name in targets and job.get("kind") in ("rollback", "group_rollback"):
                if last is None or job.get("started", 0) > last[1].get("started", 0):
                    last = (job_id, job)
        if last is None or self._job_status(last[1])[0] != "ERROR":
            return None
        return ("restore of snapshot '%s' did not finish (job %s): the data is partly rolled back; restore the "
                "snapshot again" % (last[1]["args"].get("snap"), last[0]))

    def _gw_backing(self, state: dict, name: str):
        """The RBD image tgtd serves for LUN ``name`` (gateway hook)."""
        info = self._image(name)
        if info is None:
            return None
        return Backing("%s/%s" % (self.pool, name), self._lun_params(info["meta"][K_UUID]), exists=True,
                       size=info["size"], bstype="rbd", bsopts="conf=%s;id=%s" % (self.conf, self.client_id))

    # --- server, pools ---------------------------------------------------------------------------
    def get_abilities(self) -> dict:
        abilities = dict((key, "ONLINE") for key in (
            "create_lun", "resize_lun", "shrink_lun", "delete_lun", "snapshot", "clone", "snap_clone", "split_clone"))
        # a rollback rewrites the image under whoever uses it: the LUN must be unmapped
        abilities["snapshot_restore"] = "OFFLINE"
        abilities["access_groups"] = "ONLINE" if self.portal_option is not None else "UNSUPPORTED"
        abilities.update(dict((key, "YES") for key in ("thin_provisioning", "async_jobs")))
        gateway = "YES" if self.portal_option is not None else "NO"
        abilities.update(iscsi_initiators=gateway, chap=gateway, mutual_chap=gateway)
        # RBD images are thin; RBD has no named QoS levels; the gateway is iSCSI only
        abilities.update(dict((key, "NO") for key in ("thick_provisioning", "qos", "fc_initiators")))
        # consistency groups are RBD groups of images; a group rollback, like a single one, needs the members unmapped
        abilities.update(consistency_group="ONLINE", cg_snapshot="ONLINE", cg_snapshot_restore="OFFLINE",
                         cg_filesystems="NO")
        abilities.update(self._fs_abilities())
        return abilities

    def _fs_abilities(self) -> dict:
        if self.fs_name is None:
            return {}
        from ansible_collections.stormgmt.core.plugins.module_utils.backends._ceph_fs import fs_abilities
        return fs_abilities(self)

    def _pool_stats(self) -> tuple:
        stats = self._call("cannot read the usage of pool '%s'" % self.pool, "pool_stats")
        pool = stats.get("pool")
        if not pool or not stats.get("cluster", {}).get("total_bytes"):
            raise OperationPreReqNotMetEx(
                "Ceph reports no capacity for pool '%s': is a ceph-mgr running? (the manager collects the usage "
                "figures)" % self.pool, "server")
        used = int(pool.get("stored", 0))
        free = int(pool.get("max_avail", 0))
        return used + free, used, free

    def list_pools(self) -> list:
        self._connect()
        total, used, free = self._pool_stats()
        return [records.make("vol_group", vol_name=self.pool, vol_total_sz=total, vol_used_sz=used, vol_free_sz=free,
                             vol_desc="RBD pool %s of Ceph cluster %s" % (self.pool, self._fsid))]

    def default_pool(self) -> str:
        return self.pool

    def _check_pool(self, pool: str) -> None:
        if pool != self.pool:
            raise InvalidValueEx("pool '%s' does not exist; pools: %s (one server URI per pool)" % (pool, self.pool),
                                 "pool")

    def get_server(self) -> dict:
        self._connect()
        state = self._state()
        total, used, free = self._pool_stats()
        luns = self._all_luns()
        locked = self.locked_groups() if self.portal_option is not None else []
        status = "OK"
        if locked:
            status = ("DEGRADED: access group(s) %s admit no initiator until their CHAP secrets are given again (the "
                      "gateway's tgtd lost its accounts when it restarted)" % ", ".join(locked))
        host, port = split_portal(self._portal) if self._portal else (None, None)
        return records.make(
            "storage_server",
            name="ceph %s (cluster %s)" % (self.pool, self._fsid), uuid=state["uuid"],
            storage_server_id="%s/%s" % (self._fsid, self.pool), storage_type="iSCSIStorage", backend=self.scheme,
            uri=self.uri.text, chap=any(group.get("chap") for group in state["groups"].values()),
            admin_host=socket.gethostname(), access_host=host.strip("[]") if host else None, access_port=port,
            status=status, total_sz=total, used_sz=used, free_sz=free, alloc_sz=sum(info["size"] for info in luns),
            vol_groups=[self.pool], access_grps=sorted(state["groups"]), storage_name="Ceph %s" % (self._version or ""),
            storage_desc="RBD images of pool %s%s" % (
                self.pool, ", exported by the iSCSI gateway (tgtd, control port %d) of %s" % (
                    self.control_port, socket.gethostname()) if self.portal_option else ""),
            extra_info="agent: %s; target names: %s:<group>" % (
                "in process" if self.client.in_process else "co-process (%s)" % (self.client.python or DEFAULT_PYTHON),
                self.iqn_base))

    # --- LUNs ------------------------------------------------------------------------------------
    def _all_luns(self) -> list:
        infos = self._call("cannot list the images of pool '%s'" % self.pool, "images_info")
        return [info for _name, info in sorted(infos.items()) if self._ours(info)]

    def list_luns(self) -> list:
        self._connect()
        state = self._state()
        jobs = self._jobs()
        return [self._lun_record(state, info, jobs) for info in self._all_luns()]

    def get_lun(self, name: str):
        self._connect()
        info = self._image(name)
        if info is None:
            return None
        return self._lun_record(self._state(), info, self._jobs())

    def clone_origin(self, name: str):
        """Where LUN ``name`` was cloned from: Ceph's parent link while it is a clone, the
        lineage recorded at the split (``stormgmt.split``) after one."""
        self._connect()
        info = self._image(name)
        if info is None:
            return None
        parent, parent_snapshot = self._lineage(info)
        origin = _json_meta(info["meta"], K_ORIGIN, {})
        if parent is not None:
            return {"parent": parent, "parent_snapshot": parent_snapshot, "parent_uuid": origin.get("parent_uuid")}
        split = _json_meta(info["meta"], K_SPLIT, {})
        if not split.get("parent"):
            return None
        return {"parent": split["parent"], "parent_snapshot": split.get("parent_snapshot"),
                "parent_uuid": split.get("parent_uuid")}

    def list_clones(self, lun: str) -> list:
        self._connect()
        info = self._image(lun, children=True)
        if info is None:
            return []
        state, jobs = self._state(), self._jobs()
        out = []
        for child in info.get("children") or []:
            if child["pool"] != self.pool:
                continue
            child_info = self._image(child["image"])
            if child_info is not None:
                out.append(self._lun_record(state, child_info, jobs))
        if self._member_snaps(info, state):
            out.extend(self._lun_record(state, copy, jobs) for copy in self._copies_of([lun]))
        return out

    def _check_space(self, what: str, size: int) -> None:
        free = self._pool_stats()[2]
        if size > free:
            raise InvalidValueEx("%s needs %s but pool '%s' has %s free"
                                 % (what, format_size(size), self.pool, format_size(free)), "size")

    def _mark(self, uuid: str, **extra) -> dict:
        meta = {K_SERVER: self._uuid, K_UUID: uuid, K_CREATED: "%.3f" % time.time(), K_SNAPS: "{}"}
        meta.update(extra)
        return meta

    def create_lun(self, name, pool, size, thin, qos):
        if qos is not None:
            raise NoSuchOperationEx("the ceph backend has no QoS levels; leave qos unset")
        if not thin:
            raise NoSuchOperationEx("RBD images are thin: the ceph backend cannot create thick LUN '%s'" % name)
        self._check_pool(pool)
        with self._write() as state:
            self._new_name(name, "LUN '%s'" % name)
            self._check_space("LUN '%s'" % name, size)
            uuid = str(uuidlib.uuid4())
            meta = self._mark(uuid)
            state["pending"][name] = {"op": "create", "started": time.time(), "meta": meta}
            self._save_state(state)
            self._call("cannot create LUN '%s'" % name, "create", name=name, size=size, meta=meta)
            del state["pending"][name]
            self._save_state(state)
            return self._lun_record(state, self._image(name), self._jobs())

    def resize_lun(self, name, size):
        with self._write() as state:
            info = self._existing_lun(state, name)
            self._check_not_busy("lun:" + name, "LUN '%s'" % name)
            if size > info["size"]:
                self._check_space("LUN '%s' at %s" % (name, format_size(size)), size - info["size"])
            self._call("cannot resize LUN '%s'" % name, "resize", name=name, size=size)
            # tgt reads the size when it opens the LUN: open it again where it is mapped (no gateway: nowhere)
            if self.portal_option is not None:
                self._refresh_lun(state, name)
            return self._lun_record(state, self._image(name), self._jobs())

    def set_lun_qos(self, name, qos):
        raise NoSuchOperationEx("the ceph backend has no QoS levels; leave qos unset")

    def _own_snaps(self, info: dict) -> dict:
        """{name: {uuid, id, created, size}}: the snapshots of the image this backend made."""
        recorded = _json_meta(info["meta"], K_SNAPS, {})
        out = {}
        for snap in info["snaps"]:
            entry = recorded.get(snap["name"])
            if entry is not None and entry.get("id") == snap["id"]:
                # the time RBD stamped on the snapshot (the cluster's clock), else the one recorded at its creation
                out[snap["name"]] = dict(entry, size=snap["size"], created=snap.get("timestamp") or entry.get("created"))
        return out

    def _foreign_snaps(self, info: dict) -> list:
        own = self._own_snaps(info)
        return sorted(snap["name"] for snap in info["snaps"]
                      if snap["name"] not in own and not snap["name"].startswith(INTERNAL_PREFIX)
                      and snap.get("namespace", 0) == 0)

    def delete_lun(self, name, force=False):
        with self._write() as state:
            info = self._image(name, children=True)
            if info is None:
                raise OperationPreReqNotMetEx("LUN '%s' does not exist" % name, "lun")
            what = "LUN '%s'" % name
            self._check_not_busy("lun:" + name, what)
            children = sorted(child["image"] for child in info.get("children") or [])
            if children:
                raise StorageElementBusyEx("%s has clones that depend on it (%s): split or delete them first"
                                           % (what, ", ".join(children)))
            foreign = self._foreign_snaps(info)
            if foreign:
                raise StorageElementBusyEx("%s has RBD snapshot(s) this server did not make (%s); they are left alone, "
                                           "so the LUN cannot be deleted" % (what, ", ".join(foreign)))
            held = group_snaps_holding(state, name)
            if held:
                raise StorageElementBusyEx("%s is held by group snapshot(s) %s (a group snapshot is deleted whole); "
                                           "delete them first" % (what, ", ".join(held)))
            snaps = sorted(self._own_snaps(info))
            groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
            cgroup = group_of_lun(state, name)
            if not force and (groups or snaps or cgroup):
                reasons = ["is a member of consistency group '%s'" % cgroup] if cgroup else []
                if groups:
                    reasons.append("is mapped to access group(s) %s" % ", ".join(groups))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(snaps))
                raise StorageElementBusyEx("%s %s; unmap/delete them first or set force: true"
                                           % (what, " and ".join(reasons)))
            if cgroup:  # RBD does not remove an image that is in a group
                state["cgroups"][cgroup]["luns"].remove(name)
                self._save_state(state)
                self._sync_group(cgroup, state["cgroups"][cgroup]["luns"])
            # the gateway lets go of the image first; a run killed here is re-synced and can be repeated
            if groups:
                self._unmap_everywhere(state, name, groups)
                self._save_state(state)
            for snap in snaps + sorted(s["name"] for s in info["snaps"] if s["name"].startswith(RESTORE_MARK)):
                self._call("cannot delete snapshot '%s' of %s" % (snap, what), "snap_remove", name=name, snap=snap)
            image_id = self._call("cannot delete %s" % what, "trash_move", name=name)
            state["trash"].append(image_id)
            self._save_state(state)
        # removing the objects takes time: outside the lock; a killed run is finished by the next connection
        self._call("cannot delete %s" % what, "trash_remove", image_id=image_id)
        with self._state_lock():
            state = self._fresh_state()
            if image_id in state["trash"]:
                state["trash"].remove(image_id)
                self._save_state(state)
        parent = info.get("parent")
        if parent and parent["pool"] == self.pool:
            self._call("cannot release the parent snapshot of %s" % what, "release_snapshot",
                       image=parent["image"], snap=parent["snap"])

    # --- snapshots -------------------------------------------------------------------------------
    def _snap_record(self, lun: str, name: str, entry: dict) -> dict:
        group = entry.get("group")
        return records.make(
            "storage_element",
            name=name, uuid=entry["uuid"], id=entry["uuid"], ss_uuid=self._uuid, se_type="SNAP", size=entry["size"],
            thin=True, vol_group_name=self.pool, access_grp_names=[], state="ONLINE", status="OK",
            vendor=VENDOR_ID, product_id="RBD-SNAP", parent=lun, path=[],
            array_path="%s/%s@%s" % (self.pool, lun, name) if group is None else "%s/%s@%s (member of RBD group "
            "snapshot %s/%s@%s)" % (self.pool, lun, name, self.pool, group, name),
            created=records.format_time(entry["created"]) if entry.get("created") else None, consistency_group=group)

    def _all_snaps(self, info: dict, state: dict | None = None) -> dict:
        """The LUN's snapshots: its own and its members of group snapshots."""
        return dict(self._member_snaps(info, state), **self._own_snaps(info))

    def list_snapshots(self, lun=None):
        self._connect()
        infos = [self._image(lun)] if lun is not None else self._all_luns()
        out = []
        for info in infos:
            if info is None:
                continue
            snaps = self._all_snaps(info)
            for name in sorted(snaps, key=lambda n: (snaps[n].get("created") or 0, snaps[n]["id"])):
                out.append(self._snap_record(info["name"], name, snaps[name]))
        return out

    def get_snapshot(self, lun, name):
        self._connect()
        info = self._image(lun)
        if info is None:
            return None
        entry = self._all_snaps(info).get(name)
        return None if entry is None else self._snap_record(lun, name, entry)

    def _existing_snap(self, info: dict, lun: str, name: str, action: str | None = None) -> dict:
        entry = self._own_snaps(info).get(name)
        member = self._member_snaps(info).get(name) if entry is None else None
        if member is not None:
            if action is None:
                return member
            raise (StorageElementBusyEx if action == "delete" else NoSuchOperationEx)(
                "snapshot '%s' of LUN '%s' is a member of group snapshot '%s' of consistency group '%s': %s" % (
                    name, lun, name, member["group"], {
                        "delete": "delete the group snapshot (it goes whole)",
                        "restore": "restore the group snapshot (all its members go back together)",
                        "clone": "Ceph 16 clones only user snapshots (RBD keeps a group snapshot's members in its group "
                                 "namespace); take a snapshot of the LUN and clone that"}[action]))
        if entry is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of LUN '%s' does not exist" % (name, lun), "snapshot")
        return entry

    def _set_snaps(self, lun: str, info: dict, snaps: dict) -> None:
        recorded = dict((name, {"uuid": e["uuid"], "id": e["id"], "created": e.get("created")}) for name, e in snaps.items())
        self._call("cannot record the snapshots of LUN '%s'" % lun, "meta_set", name=lun,
                   meta={K_SNAPS: json.dumps(recorded, sort_keys=True)})

    def create_snapshot(self, lun, name):
        with self._write() as state:
            info = self._existing_lun(state, lun)
            if name in self._all_snaps(info, state):
                raise InvalidValueEx("snapshot '%s' of LUN '%s' already exists" % (name, lun), "name")
            if name in [snap["name"] for snap in info["snaps"]]:
                raise InvalidValueEx("LUN '%s' has an RBD snapshot '%s' that this server did not make; it is left alone, "
                                     "choose another name" % (lun, name), "name")
            uuid = str(uuidlib.uuid4())
            started = time.time()
            state["pending"][lun] = {"op": "snapshot", "snapshot": name, "uuid": uuid, "started": started}
            self._save_state(state)
            made = self._call("cannot create snapshot '%s' of LUN '%s'" % (name, lun), "snap_create", CreateSnapFailedEx,
                              name=lun, snap=name)
            snaps = self._own_snaps(info)
            # RBD's own stamp of the snapshot, so that every later read of the record says the same
            snaps[name] = {"uuid": uuid, "id": made["id"], "created": made.get("timestamp") or started,
                           "size": made["size"]}
            self._set_snaps(lun, info, snaps)
            del state["pending"][lun]
            self._save_state(state)
            return self._snap_record(lun, name, snaps[name])

    def delete_snapshot(self, lun, name):
        with self._write() as _state:
            info = self._existing_lun(_state, lun)
            self._existing_snap(info, lun, name, "delete")
            children = self._call("cannot read the clones of snapshot '%s'" % name, "snap_children", name=lun, snap=name)
            if children:
                raise StorageElementBusyEx(
                    "snapshot '%s' of LUN '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, lun, ", ".join(sorted(children))))
            self._call("cannot delete snapshot '%s' of LUN '%s'" % (name, lun), "snap_remove", name=lun, snap=name)
            snaps = self._own_snaps(info)
            del snaps[name]
            self._set_snaps(lun, info, snaps)
            restored = _json_meta(info["meta"], K_RESTORED, {})
            if restored.get("snapshot") == name and not restored.get("group"):
                self._call("cannot tidy LUN '%s'" % lun, "snap_remove", name=lun, snap=restored.get("mark") or "")
                self._call("cannot tidy LUN '%s'" % lun, "meta_remove", name=lun, keys=[K_RESTORED])

    def snapshot_is_current(self, lun, name):
        self._connect()
        info = self._existing_lun(None, lun)
        entry = self._existing_snap(info, lun, name)
        if self._running_job("lun:" + lun) is not None or self._failed_restore(lun, self._jobs()):
            return False
        restored = _json_meta(info["meta"], K_RESTORED, {})
        if entry.get("group"):
            # RBD compares with user snapshots only: a member is current when the LUN was rolled back to
            # it and has not changed since (else not known, so not current: a restore rolls back again)
            mark = restored.get("mark")
            if restored.get("snapshot") != name or restored.get("group") != entry["group"] or \
                    mark not in [snap["name"] for snap in info["snaps"]]:
                return False
            return not self._call("cannot compare LUN '%s' with its last restore" % lun, "changed_since", name=lun,
                                  snap=mark)
        if not self._call("cannot compare LUN '%s' with snapshot '%s'" % (lun, name), "changed_since", name=lun, snap=name):
            return True
        # a rollback rewrites every object it restores: after one, compare with the mark it left
        mark = restored.get("mark")
        if restored.get("snapshot") != name or restored.get("group") or mark not in [snap["name"] for snap in info["snaps"]]:
            return False
        return not self._call("cannot compare LUN '%s' with its last restore" % lun, "changed_since", name=lun, snap=mark)

    def restore_snapshot(self, lun, name):
        with self._write() as state:
            info = self._existing_lun(state, lun)
            self._existing_snap(info, lun, name, "restore")
            what = "LUN '%s'" % lun
            self._check_not_busy("lun:" + lun, what)
            groups = sorted(g for g, group in state["groups"].items() if lun in group["luns"])
            if groups:
                raise SnapRestoreNotSafeEx(
                    "restoring snapshot '%s' would change the data under the initiators of access group(s) %s "
                    "that %s is mapped to; unmap it first" % (name, ", ".join(groups), what))
            if info["watchers"]:
                raise SnapRestoreNotSafeEx(
                    "restoring snapshot '%s' would change the data under the %d client(s) that have RBD image "
                    "%s/%s open (a VM, another gateway, a mapping); close it there first"
                    % (name, info["watchers"], self.pool, lun))
            old = self._old_marks(info)
            mark = self._restore_mark()
            return self._start_job(
                "restore LUN %s to snapshot %s" % (lun, name), "rollback", "lun:" + lun,
                {"image": lun, "snap": name, "mark": mark, "old_marks": old,
                 "meta_after": {K_RESTORED: json.dumps({"snapshot": name, "mark": mark}, sort_keys=True)}})

    @staticmethod
    def _old_marks(info: dict) -> list:
        return [snap["name"] for snap in info["snaps"] if snap["name"].startswith(RESTORE_MARK)]

    @staticmethod
    def _restore_mark() -> str:
        return RESTORE_MARK + uuidlib.uuid4().hex

    # --- clones ----------------------------------------------------------------------------------
    def create_clone(self, name, lun, snapshot=None):
        with self._write() as state:
            self._new_name(name, "clone '%s'" % name)
            parent = self._existing_lun(state, lun)
            uuid = str(uuidlib.uuid4())
            if snapshot is not None and snapshot in self._member_snaps(parent, state):
                return self._copy_member(state, name, parent, snapshot, uuid)
            if snapshot is not None:
                self._existing_snap(parent, lun, snapshot, "clone")
                base = snapshot
            else:
                self._check_not_busy("lun:" + lun, "LUN '%s'" % lun)
                base = CLONE_BASE + uuid.replace("-", "")
            origin = {"parent": lun, "parent_uuid": parent["meta"][K_UUID], "parent_snapshot": snapshot, "base": base}
            meta = self._mark(uuid, **{K_ORIGIN: json.dumps(origin, sort_keys=True)})
            state["pending"][name] = {"op": "clone", "started": time.time(), "meta": meta, "parent": lun, "base": base}
            self._save_state(state)
            what = "cannot clone %s '%s' as '%s'" % ("snapshot '%s' of LUN" % snapshot if snapshot else "LUN", lun, name)
            if snapshot is None:
                self._call(what, "snap_create", CloneFailedEx, name=lun, snap=base)
            self._call(what, "snap_protect", CloneFailedEx, name=lun, snap=base)
            self._call(what, "clone", CloneFailedEx, parent=lun, snap=base, name=name, meta=meta)
            del state["pending"][name]
            self._save_state(state)
            return self._lun_record(state, self._image(name), self._jobs())

    def split_clone(self, name):
        with self._write() as _state:
            info = self._existing_lun(_state, name)
            parent = info.get("parent")
            lineage = self._lineage(info)
            if parent is None and lineage[0] is not None:
                # a copy of a group snapshot's member holds its own data: the split only forgets the lineage
                split = {"parent": lineage[0], "parent_snapshot": lineage[1], "at": time.time(),
                         "parent_uuid": _json_meta(info["meta"], K_ORIGIN, {}).get("parent_uuid")}
                self._call("cannot split clone '%s'" % name, "meta_set", name=name,
                           meta={K_SPLIT: json.dumps(split, sort_keys=True)})
                self._call("cannot split clone '%s'" % name, "meta_remove", name=name, keys=[K_ORIGIN])
                return self._lun_record(_state, self._image(name), self._jobs())
            if parent is None:
                raise InvalidValueEx("LUN '%s' is not a clone (it has no parent)" % name, "name")
            self._check_not_busy("lun:" + name, "clone '%s'" % name)
            lineage = self._lineage(info)
            origin = _json_meta(info["meta"], K_ORIGIN, {})
            split = {"parent": lineage[0], "parent_snapshot": lineage[1], "at": time.time(),
                     "parent_uuid": origin.get("parent_uuid")}
            return self._start_job(
                "split clone %s from %s" % (name, lineage[0] + ("@" + lineage[1] if lineage[1] else "")), "flatten",
                "lun:" + name,
                {"image": name, "meta_after": {K_SPLIT: json.dumps(split, sort_keys=True)}, "meta_remove": [K_ORIGIN],
                 "release_snapshot": [parent["image"], parent["snap"]] if parent["pool"] == self.pool else None})

    def _copy_member(self, state: dict, name: str, parent: dict, snapshot: str, uuid: str) -> dict:
        """A clone of a group snapshot's member: RBD clones user snapshots only (Ceph 16), so a full copy, as a job."""
        lun = parent["name"]
        member = self._member_snaps(parent, state)[snapshot]
        self._check_space("clone '%s'" % name, member["size"])
        origin = {"parent": lun, "parent_uuid": parent["meta"][K_UUID], "parent_snapshot": snapshot, "base": None,
                  "copy": True, "group": member["group"]}
        meta = self._mark(uuid, **{K_ORIGIN: json.dumps(origin, sort_keys=True)})
        return self._start_job(
            "copy snapshot %s of LUN %s (a member of a group snapshot) as clone %s" % (snapshot, lun, name),
            "copy_snapshot", "lun:" + name,
            {"image": lun, "snap_id": member["id"], "tmp": COPY_PREFIX + uuid.replace("-", ""), "name": name,
             "meta": meta, "targets": ["cg:" + member["group"], "copy:%s@%s" % (lun, snapshot)]})

    def _copies_of(self, luns=None, snapshot: str | None = None) -> list:
        """The backend's images copied from a group snapshot's member (of one of ``luns``, of ``snapshot``)."""
        out = []
        for info in self._all_luns():
            origin = _json_meta(info["meta"], K_ORIGIN, {})
            if not origin.get("copy") or (luns is not None and origin.get("parent") not in luns):
                continue
            if snapshot is None or origin.get("parent_snapshot") == snapshot:
                out.append(info)
        return out

    # --- access groups: their NFS clients are in exports too ---------------------------------
    def update_access_group(self, name, changes):
        record = super().update_access_group(name, changes)
        if self.nfs_conf is not None and (changes.get("add_entries") or changes.get("remove_entries")):
            from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
            _ceph_fs.refresh_group_exports(self, name)
        return record

    def delete_access_group(self, name, force=False):
        if self.nfs_conf is not None:
            from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
            exporting = _ceph_fs.exports_naming_group(self, name)
            if exporting and not force:
                raise StorageElementBusyEx(
                    "access group '%s' is named by the export of file system(s) %s; take it out of their export "
                    "first or set force: true (which does)" % (name, ", ".join(exporting)))
            if exporting:
                # clients lose access first; a group of that name made later inherits nothing
                _ceph_fs.refresh_group_exports(self, name, drop=True)
        return super().delete_access_group(name, force)

    # --- jobs --------------------------------------------------------------------------------------
    def _start_job(self, op: str, kind: str, target: str, args: dict) -> dict:
        """Record a job in the jobs object and start its worker; return the job record."""
        now = time.time()
        jobs = self._jobs()
        old = [job_id for job_id, job in jobs.items()
               if job.get("status") != "RUNNING" and now - job.get("finished", job.get("heartbeat", now)) > 86400]
        if old:
            self._call("cannot tidy the jobs of pool '%s'" % self.pool, "omap_remove", obj=JOBS_OBJECT, keys=old)
        job_id = uuidlib.uuid4().hex
        job = {"op": op, "kind": kind, "target": target, "args": args, "status": "RUNNING", "progress": 0,
               "started": now, "heartbeat": now, "host": socket.gethostname(), "pid": None}
        self._call("cannot record job %s" % job_id, "omap_set", obj=JOBS_OBJECT,
                   values={job_id: json.dumps(job, sort_keys=True)})
        try:
            self.client.spawn_job(self.conf, self.client_id, self.pool, job_id, self.fs_name)
        except IPluginException as error:
            job.update(status="ERROR", error={"type": "OperationFailedEx", "msg": error.msg}, finished=time.time())
            self._call("cannot record job %s" % job_id, "omap_set", obj=JOBS_OBJECT,
                       values={job_id: json.dumps(job, sort_keys=True)})
            raise
        return records.make("job", job_id=job_id, op=op, progress=0, status="RUNNING")

    @staticmethod
    def _job_status(job: dict) -> tuple:
        """(status, error dict or None), a silent worker counting as dead."""
        status = job.get("status", "ERROR")
        if status == "RUNNING" and time.time() - float(job.get("heartbeat") or 0) > STALE_JOB:
            return "ERROR", {"error": "OperationFailedEx",
                             "msg": "the worker of this job (pid %s on %s) stopped without finishing it"
                                    % (job.get("pid"), job.get("host"))}
        if status == "ERROR":
            error = job.get("error") or {}
            kind = error.get("type", "")
            cls = kind if kind.endswith("Ex") else _ERRORS.get(kind, OperationFailedEx).__name__
            return "ERROR", {"error": cls, "msg": "%s failed: %s" % (job.get("op"), error.get("msg", "no message"))}
        return status, None

    def list_jobs(self) -> list:
        self._connect()
        out = []
        for job_id, job in sorted(self._jobs().items(), key=lambda item: (item[1].get("started", 0), item[0])):
            status, error = self._job_status(job)
            progress = 100 if status == "COMPLETE" else job.get("progress")
            out.append(records.make("job", job_id=job_id, op=job.get("op", ""), progress=progress, status=status,
                                    error=error))
        return out

    def job_status(self, job_id: str) -> dict:
        self._connect()
        job = self._call("cannot read job %s" % job_id, "job", job_id=job_id)
        if job is None:
            raise InvalidValueEx("job %s is unknown to pool '%s'" % (job_id, self.pool), "job_id")
        status, error = self._job_status(job)
        progress = 100 if status == "COMPLETE" else job.get("progress")
        return records.make("job", job_id=job_id, op=job.get("op", ""), progress=progress, status=status, error=error)


# the file system half (CephFS), imported on first use: a LUN task does not compile it
def _fs_method(name: str):
    def method(self, *args, **kwargs):
        from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
        return getattr(_ceph_fs, name)(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(FileSystemPlugin, name).__doc__
    return method


for _name in ("list_filesystems", "get_filesystem", "create_filesystem", "resize_filesystem", "set_export", "check_export",
              "delete_filesystem", "list_fs_snapshots", "get_fs_snapshot", "create_fs_snapshot", "delete_fs_snapshot",
              "restore_fs_snapshot", "fs_snapshot_is_current", "create_fs_clone", "split_fs_clone", "fs_clone_origin"):
    setattr(CephBackend, _name, _fs_method(_name))
del _name
