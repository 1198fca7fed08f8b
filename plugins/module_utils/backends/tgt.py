# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Linux iSCSI target backend: ``tgt:///pool-dir?portal=HOST:PORT[&iqn_base=IQN][&control_port=N]``.

Private to this collection (the public API is :mod:`plugin`).

The storage server is the host the module runs on (delegate the tasks to it):

* the pool is a directory; its name is the directory's name;
* a LUN (or clone) is a sparse file ``<pool>/<name>.img``;
* a snapshot is a read-only copy ``<pool>/.snapshots/<lun>/<name>.img``; snapshots,
  clones and restores are ``cp --reflink=always`` copies where the pool's file system
  shares extents (btrfs, xfs: O(1) in the LUN's size, abilities ONLINE), full sparse
  copies elsewhere (abilities OFFLINE);
* an access group is one tgt target ``<iqn_base>:<group>`` with an ACL by initiator
  name, its LUNs, and CHAP accounts (incoming, and outgoing for mutual CHAP).

What tgtd cannot keep lives beside the pool in ``<pool>/.stormgmt/state.json`` (0600,
replaced atomically, changed only under an exclusive ``flock`` on
``<pool>/.stormgmt/lock``): uuids, parents, LUN numbers, initiators, and CHAP user
names with *salted hashes* of the secrets. tgtd keeps its configuration in memory
only, so every connection compares tgtd's live configuration with the state file and
re-creates what is missing (targets, LUNs, ACLs) and removes what is left over on the
targets it owns: a tgtd restart loses no LUN, mapping or ACL.

CHAP secrets are never stored in clear, so after a tgtd restart a CHAP-protected
group cannot get its accounts back from disk. Such a group is *locked* (fail
closed): its target and LUNs are re-created but no initiator is admitted until an
``access_group`` task supplies the CHAP secrets again (``chap_matches`` reports a
difference while the group is locked, so that task re-applies them).
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import json
import os
import socket
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._gw_iscsi import (
    DEFAULT_IQN_BASE,
    Backing,
    IscsiGatewayMixin,
    Tgtadm,
    chap_users,
    split_portal,
)
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import normalize_iqn, validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner, fixed, opt_eq_val, positional
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.backends._tgt_groups import (
    TgtGroups,
    forget_lun,
    group_of_lun,
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
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import StorageArrayPlugin

STATE_VERSION = 1
URI_PARAMETERS = ("portal", "iqn_base", "control_port")

META_DIR = ".stormgmt"          # state.json, lock, tmp/
SNAP_DIR = ".snapshots"         # <lun>/<snapshot>.img
LUN_SUFFIX = ".img"

VENDOR_ID = "STORMGMT"          # SCSI INQUIRY vendor (8 characters at most)
PRODUCT_ID = "TGT-LUN"

# tgtadm exits with errno values; these mean "no tgtd behind the control socket"
CP_FORMATS = {
    "reflink": opt_eq_val("--reflink"),
    "sparse": opt_eq_val("--sparse"),
    "end": fixed("--"),
    "source": positional(),
    "dest": positional(),
}


# --- the state file ------------------------------------------------------------------

class StateStore:
    """``<pool>/.stormgmt/state.json`` with its lock file."""

    def __init__(self, pool_dir: str) -> None:
        self.dir = os.path.join(pool_dir, META_DIR)
        self.path = os.path.join(self.dir, "state.json")
        self.lock_path = os.path.join(self.dir, "lock")
        self.tmp_dir = os.path.join(self.dir, "tmp")

    def ensure(self) -> None:
        try:
            for directory in (self.dir, self.tmp_dir):
                os.makedirs(directory, mode=0o700, exist_ok=True)
                os.chmod(directory, 0o700)
        except OSError as error:
            raise InvalidStorageArrayEx("cannot create %s: %s" % (self.dir, error.strerror)) from None

    @contextlib.contextmanager
    def locked(self):
        """An exclusive lock for one operation: parallel forks wait for each other."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load(self) -> dict | None:
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                state = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise InvalidStorageArrayEx("cannot read the tgt backend state %s: %s" % (self.path, error)) from None
        if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
            raise InvalidStorageArrayEx(
                "%s has state version %r but this collection reads version %d"
                % (self.path, state.get("version") if isinstance(state, dict) else None, STATE_VERSION))
        return state

    def save(self, state: dict) -> None:
        """Write a new file and rename it over the old one: readers see one or the other."""
        tmp = "%s.%d.tmp" % (self.path, os.getpid())
        data = json.dumps(state, indent=1, sort_keys=True).encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def new_state() -> dict:
    return {"version": STATE_VERSION, "uuid": str(uuidlib.uuid4()), "created": time.time(),
            "luns": {}, "snapshots": {}, "groups": {}}


# --- the backend ------------------------------------------------------------------------

class TgtBackend(IscsiGatewayMixin, TgtGroups, StorageArrayPlugin):
    scheme = "tgt"
    block_size = 512
    #: LUN 0 of every tgt target is tgt's own controller LUN
    min_lun_id = 1

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        if uri.host:
            raise ValueFormatEx(
                "server %r: the tgt backend manages the tgtd of the host the task runs on; write "
                "tgt:///pool-dir (no host) and run the task on the storage server (delegate_to)" % uri.text, "server")
        if not uri.path or not os.path.isabs(uri.path) or os.path.normpath(uri.path) == "/":
            raise ValueFormatEx("server %r: give the pool directory as an absolute path, e.g. "
                                "tgt:///srv/pool0?portal=127.0.0.1:3260" % uri.text, "server")
        uri.check_parameters(URI_PARAMETERS, "tgt")
        self.pool_dir = os.path.normpath(uri.path)
        self.pool_name = os.path.basename(self.pool_dir)
        try:
            validate_name(self.pool_name, "pool directory name")
        except InvalidValueEx as error:
            raise ValueFormatEx("server %r: the pool is named after its directory: %s" % (uri.text, error.msg),
                                "server") from None
        self.portal_option = uri.option("portal")
        if self.portal_option is not None:
            split_portal(self.portal_option)
        try:
            self.iqn_base = normalize_iqn(uri.option("iqn_base", DEFAULT_IQN_BASE))
        except ValueFormatEx as error:
            raise ValueFormatEx("server URI parameter iqn_base: %s" % error.msg, "server") from None
        self.control_port = uri.option("control_port", 0, int, minimum=0, maximum=65535)
        self.tgtadm = Tgtadm(self.control_port)
        self.cp = Runner("cp", CP_FORMATS, package="coreutils", timeout=None)
        self.store = StateStore(self.pool_dir)
        self._uuid = None
        self._portal = None
        self._reflink = None

    # --- connection and re-sync ------------------------------------------------
    def _connect(self) -> None:
        """Once per run: open the pool, then make tgtd match the state file."""
        if self._uuid is not None:
            return
        if not os.path.isdir(self.pool_dir):
            raise OperationPreReqNotMetEx(
                "the pool directory %s does not exist on this host; create it (the configure phase of the "
                "stormgmt.core.iscsi_target role does)" % self.pool_dir, "server")
        self.store.ensure()
        with self.store.locked():
            state = self.store.load()
            if state is None:
                state = new_state()
                self.store.save(state)
            self._portal = self._check_portal()
            live = self._live()
            self._repair_pending(state, live)
            seen = copy.deepcopy(live)
            for name in sorted(state["groups"]):
                self._reconcile(state, name, live)
            self._note_resync(seen, live)
            self._clean_tmp()
            # under the lock: another run's _clean_tmp cannot remove the probe half-way
            self.reflink()
        self._uuid = state["uuid"]

    def _gw_backing(self, state: dict, name: str):
        """The LUN file tgtd serves for LUN ``name`` (gateway hook)."""
        lun = state["luns"].get(name)
        if lun is None:
            return None
        path = self._lun_path(lun)
        try:
            size = os.stat(path).st_size
        except OSError:
            size = None
        return Backing(path, self._lun_params(lun), exists=os.path.exists(path), size=size)

    def _save_state(self, state: dict) -> None:
        self.store.save(state)

    def _clean_tmp(self) -> None:
        """Copies left behind by a run killed half-way (we hold the lock: nobody is copying)."""
        for entry in os.listdir(self.store.tmp_dir):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.store.tmp_dir, entry))
                if not entry.startswith("reflink-probe."):
                    self.note_repair("removed the partial copy %s of an interrupted run"
                                     % os.path.join(self.store.tmp_dir, entry))

    # Steps that change files outside the state's own atomic save are recorded in
    # state["pending"] first (one save), and the entry dropped in the save that completes the
    # operation. Under the lock, an entry can only be left by a run that was killed: finish it.
    def _begin(self, state: dict, op: str, **what) -> dict:
        entry = dict(what, op=op)
        state.setdefault("pending", []).append(entry)
        self.store.save(state)
        fault_point("tgt.%s.pending" % op.split()[0])
        return entry

    def _repair_pending(self, state: dict, live: dict) -> None:
        pending = state.get("pending") or []
        if not pending:
            return
        named = set(lun["file"] for lun in state["luns"].values())
        named.update(snap["file"] for snaps in state["snapshots"].values() for snap in snaps.values())
        for entry in pending:
            noted = len(self.repaired)
            doomed = list(entry.get("remove") or [])
            if entry.get("dest") and entry["dest"] not in named:
                doomed.append(entry["dest"])  # put in place, never recorded: ours, and nobody's
            for relative in doomed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.pool_dir, relative))
                    self.note_repair("removed %s, left by an interrupted %s"
                                     % (os.path.join(self.pool_dir, relative), entry["op"]))
            for user in entry.get("accounts") or []:
                if user in live["accounts"] and user not in chap_users(state):
                    self.tgtadm.delete_account(user)
                    live["accounts"].discard(user)
                    for target in live["targets"].values():  # tgtd unbinds a deleted account everywhere
                        for key in ("accounts", "outgoing"):
                            if user in target[key]:
                                target[key].remove(user)
                    self.note_repair("deleted the CHAP account %s an interrupted %s no longer needed"
                                     % (user, entry["op"]))
            if len(self.repaired) == noted:
                self.note_repair("dropped the record of an interrupted %s (nothing was left to undo)" % entry["op"])
        state["pending"] = []
        self.store.save(state)

    def _note_resync(self, seen: dict, live: dict) -> None:
        """Say what re-syncing tgtd with the state changed (after a tgtd restart or a killed run)."""
        before = dict((target["name"], target) for target in seen["targets"].values())
        for target in live["targets"].values():
            old = before.get(target["name"])
            if old is None:
                self.note_repair("re-created target %s in tgtd from the state" % target["name"])
                continue
            changes = []
            if sorted(old["luns"]) != sorted(target["luns"]):
                changes.append("LUNs %s -> %s" % (sorted(n for n in old["luns"] if n), sorted(n for n in target["luns"] if n)))
            if sorted(old["acl"]) != sorted(target["acl"]):
                changes.append("ACL")
            if any(lun.get("online") is False and (target["luns"].get(number) or {}).get("online")
                   for number, lun in old["luns"].items()):
                changes.append("LUNs offline since an interrupted resize brought online")
            if sorted(old["accounts"] + old["outgoing"]) != sorted(target["accounts"] + target["outgoing"]):
                changes.append("CHAP accounts")
            if changes:
                self.note_repair("re-synced target %s with the state (%s)" % (target["name"], ", ".join(changes)))

    def _check_free_file(self, relative: str) -> None:
        """A LUN or snapshot file never replaces a file the state does not describe."""
        path = os.path.join(self.pool_dir, relative)
        if os.path.lexists(path):
            raise InvalidStorageArrayEx(
                "%s already exists and the state of pool %s does not describe it; its data is kept: move it away, "
                "or use another name (nothing was changed)" % (path, self.pool_name))

    def _lun_params(self, lun: dict) -> dict:
        serial = lun["uuid"].replace("-", "")
        return {"scsi_id": serial, "scsi_sn": serial[:16], "vendor_id": VENDOR_ID, "product_id": PRODUCT_ID}

    @contextlib.contextmanager
    def _write(self):
        """One write: the lock, a fresh state; the caller saves it."""
        self._connect()
        with self.store.locked():
            state = self.store.load() or new_state()
            yield state
        self.cache.clear(self._uuid)

    def close(self) -> None:
        self.cache.clear(self._uuid or "")

    # --- files ----------------------------------------------------------------
    def _lun_path(self, lun: dict) -> str:
        return os.path.join(self.pool_dir, lun["file"])

    def _snap_path(self, snap: dict) -> str:
        return os.path.join(self.pool_dir, snap["file"])

    def _tmp(self, what: str) -> str:
        return os.path.join(self.store.tmp_dir, "%s.%s" % (what, uuidlib.uuid4().hex))

    @staticmethod
    def _stat_key(path: str):
        """Identity of a file's content as far as we can tell without reading it."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        return [st.st_ino, st.st_mtime_ns, st.st_size]

    def reflink(self) -> bool:
        """Whether the pool's file system shares extents (tried once per run, when connecting)."""
        if self._reflink is None:
            probe = self._tmp("reflink-probe")
            with open(probe, "wb") as handle:
                handle.write(b"stormgmt" * 512)
            try:
                result = self.cp("reflink end source dest", check_rc=False, reflink="always", source=probe,
                                 dest=probe + ".copy")
                self._reflink = result.ok
            finally:
                for path in (probe, probe + ".copy"):
                    with contextlib.suppress(OSError):
                        os.unlink(path)
        return self._reflink

    def _copy(self, source: str, dest: str, mode: int, error) -> None:
        """Copy a LUN or snapshot file: shared extents where possible, else a sparse full copy."""
        if self.reflink():
            values = {"reflink": "always", "source": source, "dest": dest}
        else:
            values = {"reflink": "never", "sparse": "always", "source": source, "dest": dest}
        try:
            self.cp("reflink sparse end source dest", error=error, **values)
            os.chmod(dest, mode)
        except (IPluginException, OSError) as exc:
            with contextlib.suppress(OSError):
                os.unlink(dest)
            if isinstance(exc, OSError):
                raise error("cannot copy %s: %s" % (source, exc.strerror)) from None
            raise

    # --- server ---------------------------------------------------------------
    def get_abilities(self) -> dict:
        self._connect()
        copies = "ONLINE" if self.reflink() else "OFFLINE"
        abilities = dict((key, "ONLINE") for key in (
            "create_lun", "resize_lun", "shrink_lun", "delete_lun", "split_clone", "access_groups"))
        abilities.update(dict((key, copies) for key in ("snapshot", "snapshot_restore", "clone", "snap_clone",
                                                        "cg_snapshot", "cg_snapshot_restore")))
        abilities["consistency_group"] = "ONLINE"
        abilities.update(dict((key, "YES") for key in (
            "thin_provisioning", "thick_provisioning", "iscsi_initiators", "chap", "mutual_chap")))
        abilities.update(dict((key, "NO") for key in ("qos", "fc_initiators", "async_jobs", "cg_filesystems")))
        return abilities

    def _statvfs(self) -> tuple:
        st = os.statvfs(self.pool_dir)
        total = st.f_blocks * st.f_frsize
        return total, total - st.f_bfree * st.f_frsize, st.f_bavail * st.f_frsize

    def _allocated(self, state: dict) -> int:
        total = 0
        for lun in state["luns"].values():
            total += self._size(self._lun_path(lun), lun["size"])
        for snaps in state["snapshots"].values():
            for snap in snaps.values():
                total += snap["size"]
        return total

    def get_server(self) -> dict:
        self._connect()
        state = self._state()
        total, used, free = self._statvfs()
        locked = self.locked_groups()
        host, port = split_portal(self._portal)
        status = "OK"
        if locked:
            status = ("DEGRADED: access group(s) %s admit no initiator until their CHAP secrets are given "
                      "again (tgtd lost its accounts when it restarted)" % ", ".join(locked))
        return records.make(
            "storage_server",
            name="tgt %s on %s" % (self.pool_name, socket.gethostname()),
            uuid=state["uuid"],
            storage_server_id=self.pool_dir,
            storage_type="iSCSIStorage",
            backend=self.scheme,
            uri=self.uri.text,
            chap=any(group.get("chap") for group in state["groups"].values()),
            admin_host=socket.gethostname(),
            access_host=host.strip("[]"),
            access_port=port,
            status=status,
            total_sz=total, used_sz=used, free_sz=free, alloc_sz=self._allocated(state),
            vol_groups=[self.pool_name],
            access_grps=sorted(state["groups"]),
            storage_name="tgtd",
            storage_desc="Linux SCSI target (tgtd, control port %d) exporting LUN files of %s"
                         % (self.control_port, self.pool_dir),
            extra_info="reflink copies: %s; target names: %s:<group>" % (
                "yes" if self.reflink() else "no (full copies)", self.iqn_base),
        )

    def list_pools(self) -> list:
        self._connect()
        total, used, free = self._statvfs()
        return [records.make(
            "vol_group", vol_name=self.pool_name, vol_total_sz=total, vol_used_sz=used, vol_free_sz=free,
            vol_alloc_sz=self._allocated(self._state()),
            vol_desc="directory %s (%s)" % (self.pool_dir, "reflink copies" if self.reflink() else "full copies"))]

    def default_pool(self) -> str:
        return self.pool_name

    def _check_pool(self, pool: str) -> None:
        if pool != self.pool_name:
            raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (pool, self.pool_name), "pool")

    def _state(self) -> dict:
        """The state as last saved (reads take no lock: saves are atomic renames)."""
        return self.store.load() or new_state()

    # --- LUNs -----------------------------------------------------------------
    @staticmethod
    def _size(path: str, default: int) -> int:
        try:
            return os.stat(path).st_size
        except OSError:
            return default

    def _lun_record(self, state: dict, name: str) -> dict:
        lun = state["luns"][name]
        path = self._lun_path(lun)
        groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
        clones = sum(1 for other in state["luns"].values() if other.get("parent") == name)
        exists = os.path.exists(path)
        if not exists:
            state_word, status = "ERROR", "backing file %s is missing" % path
        else:
            state_word, status = "ONLINE", "OK, %d dependent clone(s)" % clones if clones else "OK"
        return records.make(
            "storage_element",
            name=name, uuid=lun["uuid"], id=lun["uuid"], ss_uuid=state["uuid"],
            page83_id=self._lun_params(lun)["scsi_id"],
            se_type="SNAPCLONE" if lun.get("parent_snapshot") else "LUN",
            size=self._size(path, lun["size"]), thin=lun["thin"], vol_group_name=self.pool_name,
            access_grp_names=groups, qos=None, state=state_word, status=status,
            vendor=VENDOR_ID, product_id=PRODUCT_ID, path=[], array_path=path,
            parent=lun.get("parent"), parent_snapshot=lun.get("parent_snapshot"),
            created=records.format_time(lun["created"]) if lun.get("created") else None,
            consistency_group=group_of_lun(state, name))

    def list_luns(self) -> list:
        self._connect()
        state = self._state()
        return [self._lun_record(state, name) for name in sorted(state["luns"])]

    def get_lun(self, name: str):
        self._connect()
        state = self._state()
        return self._lun_record(state, name) if name in state["luns"] else None

    def get_luns(self, names):
        # the state file once for all of them, not once per LUN
        self._connect()
        state = self._state()
        return dict((name, self._lun_record(state, name) if name in state["luns"] else None) for name in names)

    @staticmethod
    def _existing_lun(state: dict, name: str) -> dict:
        lun = state["luns"].get(name)
        if lun is None:
            raise OperationPreReqNotMetEx("LUN '%s' does not exist" % name, "lun")
        return lun

    @staticmethod
    def _no_space(what: str, error: OSError):
        if error.errno == errno.ENOSPC:
            return InvalidValueEx("%s does not fit: the pool's file system is full" % what, "size")
        return OperationFailedEx("%s: %s" % (what, error.strerror))

    def _check_space(self, what: str, needed: int) -> None:
        """A thin LUN may not be larger than the space left, a thick one must fit."""
        free = self._statvfs()[2]
        if needed > free:
            raise InvalidValueEx("%s needs %s but pool '%s' has %s free"
                                 % (what, format_size(needed), self.pool_name, format_size(free)), "size")

    def create_lun(self, name, pool, size, thin, qos):
        if qos is not None:
            raise NoSuchOperationEx("the tgt backend has no QoS levels; leave qos unset")
        self._check_pool(pool)
        with self._write() as state:
            if name in state["luns"]:
                raise InvalidValueEx("LUN '%s' already exists" % name, "name")
            self._check_space("LUN '%s'" % name, size)
            lun = {"uuid": str(uuidlib.uuid4()), "file": name + LUN_SUFFIX, "size": size, "thin": bool(thin),
                   "created": time.time(), "parent": None, "parent_snapshot": None}
            self._check_free_file(lun["file"])
            tmp = self._tmp(name)
            entry = self._begin(state, "create_lun %s" % name, dest=lun["file"])
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.ftruncate(fd, size)
                    if not thin:
                        os.posix_fallocate(fd, 0, size)
                finally:
                    os.close(fd)
                fault_point("tgt.create_lun.tmp_made")
                os.replace(tmp, self._lun_path(lun))
                fault_point("tgt.create_lun.placed")
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                state["pending"].remove(entry)
                self.store.save(state)
                raise self._no_space("LUN '%s'" % name, error) from None
            state["luns"][name] = lun
            state["pending"].remove(entry)
            self.store.save(state)
            fault_point("tgt.create_lun.saved")
            return self._lun_record(state, name)

    def resize_lun(self, name, size):
        with self._write() as state:
            lun = self._existing_lun(state, name)
            path = self._lun_path(lun)
            current = self._size(path, lun["size"])
            if size > current:
                self._check_space("LUN '%s' at %s" % (name, format_size(size)), size if lun["thin"] else size - current)
            try:
                old = os.stat(path).st_size
                with open(path, "r+b") as handle:
                    os.ftruncate(handle.fileno(), size)
                    if not lun["thin"] and size > old:
                        os.posix_fallocate(handle.fileno(), old, size - old)
            except OSError as error:
                raise self._no_space("LUN '%s'" % name, error) from None
            fault_point("tgt.resize_lun.truncated")
            lun["size"] = size
            self.store.save(state)
            fault_point("tgt.resize_lun.saved")
            # tgt reads the size when it opens the LUN: open it again where it is mapped
            self._refresh_lun(state, name)
            return self._lun_record(state, name)

    def set_lun_qos(self, name, qos):
        raise NoSuchOperationEx("the tgt backend has no QoS levels; leave qos unset")

    def delete_lun(self, name, force=False):
        with self._write() as state:
            lun = self._existing_lun(state, name)
            what = "LUN '%s'" % name
            snaps = state["snapshots"].get(name, {})
            clones = sorted(other for other, record in state["luns"].items() if record.get("parent") == name)
            if clones:
                raise StorageElementBusyEx(
                    "%s has clones that depend on it (%s): split or delete them first" % (what, ", ".join(clones)))
            groups = sorted(g for g, group in state["groups"].items() if name in group["luns"])
            cgroup = group_of_lun(state, name)
            if not force and (groups or snaps or cgroup):
                reasons = ["is a member of consistency group '%s'" % cgroup] if cgroup else []
                if groups:
                    reasons.append("is mapped to access group(s) %s" % ", ".join(groups))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(sorted(snaps)))
                raise StorageElementBusyEx("%s %s; unmap/delete them first or set force: true"
                                           % (what, " and ".join(reasons)))
            # tgtd lets go of the file first; a run killed here is re-synced and can be repeated
            self._unmap_everywhere(state, name, groups)
            fault_point("tgt.delete_lun.unmapped")
            del state["luns"][name]
            state["snapshots"].pop(name, None)
            forget_lun(state, name)
            files = [lun["file"]] + [snap["file"] for snap in snaps.values()]
            entry = {"op": "delete_lun %s" % name, "remove": files}
            state.setdefault("pending", []).append(entry)
            self.store.save(state)  # the LUN is gone and its files are recorded for removal, in one save
            fault_point("tgt.delete_lun.saved")
            for relative in files:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.pool_dir, relative))
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.pool_dir, SNAP_DIR, name))
            fault_point("tgt.delete_lun.removed")
            state["pending"].remove(entry)
            self.store.save(state)

    # --- snapshots ------------------------------------------------------------
    def _snap_record(self, state: dict, lun_name: str, name: str) -> dict:
        snap = state["snapshots"][lun_name][name]
        path = self._snap_path(snap)
        exists = os.path.exists(path)
        return records.make(
            "storage_element",
            name=name, uuid=snap["uuid"], id=snap["uuid"], ss_uuid=state["uuid"],
            se_type="SNAP", size=self._size(path, snap["size"]), thin=True, vol_group_name=self.pool_name,
            access_grp_names=[], state="ONLINE" if exists else "ERROR",
            status="OK" if exists else "snapshot file %s is missing" % path,
            vendor=VENDOR_ID, product_id="TGT-SNAP", array_path=path, parent=lun_name, path=[],
            created=records.format_time(snap["created"]) if snap.get("created") else None,
            consistency_group=snap.get("group"))

    def list_snapshots(self, lun=None):
        self._connect()
        state = self._state()
        out = []
        for lun_name in sorted(state["snapshots"]):
            if lun is not None and lun_name != lun:
                continue
            snaps = state["snapshots"][lun_name]
            for name in sorted(snaps, key=lambda n: (snaps[n]["created"], n)):
                out.append(self._snap_record(state, lun_name, name))
        return out

    def get_snapshot(self, lun, name):
        self._connect()
        state = self._state()
        if name not in state["snapshots"].get(lun, {}):
            return None
        return self._snap_record(state, lun, name)

    @staticmethod
    def _existing_snap(state: dict, lun: str, name: str) -> dict:
        snap = state["snapshots"].get(lun, {}).get(name)
        if snap is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of LUN '%s' does not exist" % (name, lun), "snapshot")
        return snap

    def create_snapshot(self, lun, name):
        with self._write() as state:
            parent = self._existing_lun(state, lun)
            if name in state["snapshots"].get(lun, {}):
                raise InvalidValueEx("snapshot '%s' of LUN '%s' already exists" % (name, lun), "name")
            source = self._lun_path(parent)
            # taken before the copy: a write during the copy makes the snapshot "not current"
            stat_key = self._stat_key(source)
            snap = {"uuid": str(uuidlib.uuid4()), "file": os.path.join(SNAP_DIR, lun, name + LUN_SUFFIX),
                    "size": self._size(source, parent["size"]), "created": time.time(), "lun_stat": stat_key}
            for directory in (os.path.join(self.pool_dir, SNAP_DIR), os.path.join(self.pool_dir, SNAP_DIR, lun)):
                with contextlib.suppress(FileExistsError):
                    os.mkdir(directory, 0o700)
            self._check_free_file(snap["file"])
            tmp = self._tmp(name)
            entry = self._begin(state, "create_snapshot %s@%s" % (lun, name), dest=snap["file"])
            try:
                self._copy(source, tmp, 0o400, CreateSnapFailedEx)
                fault_point("tgt.create_snapshot.copied")
                os.replace(tmp, self._snap_path(snap))
                fault_point("tgt.create_snapshot.placed")
            except BaseException:
                state["pending"].remove(entry)
                self.store.save(state)
                raise
            state["snapshots"].setdefault(lun, {})[name] = snap
            state["pending"].remove(entry)
            self.store.save(state)
            fault_point("tgt.create_snapshot.saved")
            return self._snap_record(state, lun, name)

    def delete_snapshot(self, lun, name):
        with self._write() as state:
            snap = self._existing_snap(state, lun, name)
            if snap.get("group"):
                raise StorageElementBusyEx("snapshot '%s' of LUN '%s' is part of group snapshot '%s' of consistency "
                                           "group '%s'; delete the group snapshot" % (name, lun, name, snap["group"]))
            clones = sorted(other for other, record in state["luns"].items()
                            if record.get("parent") == lun and record.get("parent_snapshot") == name)
            if clones:
                raise StorageElementBusyEx(
                    "snapshot '%s' of LUN '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, lun, ", ".join(clones)))
            del state["snapshots"][lun][name]
            if not state["snapshots"][lun]:
                del state["snapshots"][lun]
            entry = {"op": "delete_snapshot %s@%s" % (lun, name), "remove": [snap["file"]]}
            state.setdefault("pending", []).append(entry)
            self.store.save(state)
            fault_point("tgt.delete_snapshot.saved")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._snap_path(snap))
            fault_point("tgt.delete_snapshot.removed")
            state["pending"].remove(entry)
            self.store.save(state)

    def snapshot_is_current(self, lun, name):
        self._connect()
        state = self._state()
        snap = self._existing_snap(state, lun, name)
        current = self._stat_key(self._lun_path(self._existing_lun(state, lun)))
        return current is not None and current == snap.get("lun_stat")

    def restore_snapshot(self, lun, name):
        with self._write() as state:
            snap = self._existing_snap(state, lun, name)
            record = self._existing_lun(state, lun)
            groups = sorted(g for g, group in state["groups"].items() if lun in group["luns"])
            if groups:
                raise SnapRestoreNotSafeEx(
                    "restoring snapshot '%s' would change the data under the initiators of access group(s) %s "
                    "that LUN '%s' is mapped to; unmap it first" % (name, ", ".join(groups), lun))
            tmp = self._tmp(lun)
            self._copy(self._snap_path(snap), tmp, 0o600, OperationFailedEx)
            fault_point("tgt.restore_snapshot.copied")
            path = self._lun_path(record)
            os.replace(tmp, path)  # a run killed after this has restored the data; the next restore redoes it
            fault_point("tgt.restore_snapshot.placed")
            record["size"] = self._size(path, snap["size"])
            snap["lun_stat"] = self._stat_key(path)
            self.store.save(state)
            fault_point("tgt.restore_snapshot.saved")
            return self._lun_record(state, lun)

    # --- clones ---------------------------------------------------------------
    def create_clone(self, name, lun, snapshot=None):
        with self._write() as state:
            if name in state["luns"]:
                raise InvalidValueEx("LUN '%s' already exists" % name, "name")
            parent = self._existing_lun(state, lun)
            source = self._lun_path(parent)
            if snapshot is not None:
                source = self._snap_path(self._existing_snap(state, lun, snapshot))
            clone = {"uuid": str(uuidlib.uuid4()), "file": name + LUN_SUFFIX, "size": self._size(source, parent["size"]),
                     "thin": parent["thin"], "created": time.time(), "parent": lun, "parent_snapshot": snapshot,
                     # kept after a split: where the clone came from, so the clone module can prove it
                     "origin": {"parent": lun, "parent_snapshot": snapshot, "parent_uuid": parent["uuid"]}}
            self._check_free_file(clone["file"])
            tmp = self._tmp(name)
            entry = self._begin(state, "create_clone %s" % name, dest=clone["file"])
            try:
                self._copy(source, tmp, 0o600, CloneFailedEx)
                fault_point("tgt.create_clone.copied")
                os.replace(tmp, self._lun_path(clone))
                fault_point("tgt.create_clone.placed")
            except BaseException:
                state["pending"].remove(entry)
                self.store.save(state)
                raise
            state["luns"][name] = clone
            state["pending"].remove(entry)
            self.store.save(state)
            fault_point("tgt.create_clone.saved")
            return self._lun_record(state, name)

    def split_clone(self, name):
        # the copy shares no data that a parent could take away (reflink extents are
        # copy-on-write, full copies share nothing): splitting drops the lineage
        with self._write() as state:
            clone = self._existing_lun(state, name)
            if clone.get("parent") is None:
                raise InvalidValueEx("LUN '%s' is not a clone (it has no parent)" % name, "name")
            clone["parent"] = clone["parent_snapshot"] = None
            self.store.save(state)
            fault_point("tgt.split_clone.saved")
            return self._lun_record(state, name)

    def clone_origin(self, name):
        self._connect()
        lun = self._state()["luns"].get(name)
        return None if lun is None else lun.get("origin")

    # --- access groups ----------------------------------------------------------
