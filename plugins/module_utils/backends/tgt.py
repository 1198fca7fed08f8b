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
import re
import socket
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import (
    initiator_type,
    normalize_iqn,
    validate_name,
)
from ansible_collections.stormgmt.core.plugins.module_utils._runner import (
    Runner,
    fixed,
    flag,
    key_values,
    opt_eq_val,
    opt_val,
    positional,
)
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import hash_secret, secret_matches
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
DEFAULT_IQN_BASE = "iqn.2026-11.io.stormgmt"
URI_PARAMETERS = ("portal", "iqn_base", "control_port")

META_DIR = ".stormgmt"          # state.json, lock, tmp/
SNAP_DIR = ".snapshots"         # <lun>/<snapshot>.img
LUN_SUFFIX = ".img"

VENDOR_ID = "STORMGMT"          # SCSI INQUIRY vendor (8 characters at most)
PRODUCT_ID = "TGT-LUN"

# tgtadm exits with errno values; these mean "no tgtd behind the control socket"
_NOT_RUNNING = (errno.ENOTCONN, errno.ECONNREFUSED, errno.ENOENT)
_CHAP_USER = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no blanks
_PORTAL = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")

# --- tgtadm: argument formats declared once ------------------------------------

TGTADM_FORMATS = {
    "lld": fixed("--lld", "iscsi"),
    "control_port": opt_val("--control-port"),
    "mode": opt_val("--mode"),
    "op": opt_val("--op"),
    "tid": opt_val("--tid"),
    "lun": opt_val("--lun"),
    "targetname": opt_val("--targetname"),
    "backing_store": opt_val("--backing-store"),
    "initiator_name": opt_val("--initiator-name"),
    "initiator_address": opt_val("--initiator-address"),
    "user": opt_val("--user"),
    "password": opt_val("--password"),
    "outgoing": flag("--outgoing"),
    "force": flag("--force"),
    "params": key_values("--params"),
    "name": opt_val("--name"),
    "value": opt_val("--value"),
}
# the order the optional words are written in, after lld/control_port/mode/op
_TGTADM_ORDER = ("tid", "lun", "targetname", "backing_store", "initiator_name", "initiator_address",
                 "user", "password", "outgoing", "force", "params", "name", "value")

CP_FORMATS = {
    "reflink": opt_eq_val("--reflink"),
    "sparse": opt_eq_val("--sparse"),
    "source": positional(),
    "dest": positional(),
}


def tgt_shown_mb(size: int) -> int:
    """The 'Size: N MB' tgtadm prints for a LUN of ``size`` bytes (tgt's own formula)."""
    sectors = size // 512
    return (sectors - (sectors // 625 - 974)) // 1950


# --- tgtadm output: parsed in one place ------------------------------------------

def parse_targets(text: str) -> dict:
    """``tgtadm --op show --mode target`` -> {tid: target}.

    A target is {"tid", "name", "luns": {number: {"type", "path", "size_mb",
    "scsi_id", "scsi_sn"}}, "accounts": [incoming users], "outgoing": [users],
    "acl": [entries], "sessions": [initiator names]}.
    """
    targets = {}
    target = section = lun = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if indent == 0 and line.startswith("Target "):
            head, _sep, name = line.partition(": ")
            tid = int(head.split()[1])
            target = {"tid": tid, "name": name.strip(), "luns": {}, "accounts": [], "outgoing": [],
                      "acl": [], "sessions": []}
            targets[tid] = target
            section = lun = None
            continue
        if target is None:
            continue
        if indent == 4:
            section = line.rstrip(":")
            lun = None
            continue
        if section == "LUN information":
            if indent == 8 and line.startswith("LUN:"):
                lun = {"type": None, "path": None, "size_mb": None, "scsi_id": None, "scsi_sn": None}
                target["luns"][int(line.split(":", 1)[1])] = lun
            elif lun is not None:
                key, _sep, value = line.partition(":")
                value = value.strip()
                if key == "Type":
                    lun["type"] = value
                elif key == "Backing store path":
                    lun["path"] = None if value in ("", "None") else value
                elif key == "Size":
                    lun["size_mb"] = int(value.split()[0])
                elif key == "SCSI ID":
                    lun["scsi_id"] = value
                elif key == "SCSI SN":
                    lun["scsi_sn"] = value
        elif section == "Account information" and indent == 8:
            if line.endswith(" (outgoing)"):
                target["outgoing"].append(line[:-len(" (outgoing)")])
            else:
                target["accounts"].append(line)
        elif section == "ACL information" and indent == 8:
            target["acl"].append(line)
        elif section == "I_T nexus information" and line.startswith("Initiator:"):
            target["sessions"].append(line.split(":", 1)[1].split(" alias:")[0].strip())
    return targets


def parse_accounts(text: str) -> list:
    """``tgtadm --mode account --op show`` -> [user names]."""
    users = []
    for raw in text.splitlines():
        if raw.startswith(" ") and raw.strip():
            users.append(raw.strip())
    return users


def parse_portals(text: str) -> list:
    """``tgtadm --mode portal --op show`` -> ["host:port", ...] (portal group tag dropped)."""
    portals = []
    for line in text.splitlines():
        if line.startswith("Portal:"):
            portals.append(line.split(":", 1)[1].strip().rsplit(",", 1)[0])
    return portals


def split_portal(portal: str) -> tuple:
    match = _PORTAL.match(portal or "")
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ValueFormatEx("server URI parameter portal=%r is not HOST:PORT (for example 127.0.0.1:3260)"
                            % (portal,), "server")
    return match.group(1), int(match.group(2))


def portal_served(wanted: str, listening: list) -> bool:
    """True when tgtd listens on ``wanted``, directly or through a wildcard address."""
    host, port = split_portal(wanted)
    for portal in listening:
        try:
            lhost, lport = split_portal(portal)
        except ValueFormatEx:
            continue
        if lport == port and (lhost == host or lhost in ("0.0.0.0", "[::]")):
            return True
    return False


def target_suffix(group: str) -> str:
    """Access group name -> the unique part of its target IQN (lower case, no '_')."""
    return group.lower().replace("_", "-")


# --- tgtadm ----------------------------------------------------------------------

class Tgtadm:
    """tgtadm for one tgtd (control port)."""

    def __init__(self, control_port: int = 0) -> None:
        self.control_port = control_port
        self.runner = Runner("tgtadm", TGTADM_FORMATS, package="tgt", secrets=("password",))

    def __call__(self, mode: str, op: str, **values):
        order = ["lld", "control_port", "mode", "op"] + [key for key in _TGTADM_ORDER if key in values]
        values = dict(values, mode=mode, op=op, control_port=self.control_port or None)
        result = self.runner(order, check_rc=False, **values)
        if result.rc != 0:
            message = (result.err or result.out).strip().replace("tgtadm: ", "") or "no message"
            if result.rc in _NOT_RUNNING or "tgt daemon" in message:
                raise OperationPreReqNotMetEx(
                    "tgtd is not running (tgtadm control port %d: %s); start it, for example with the "
                    "stormgmt.core.iscsi_target role" % (self.control_port, message), "server")
            raise OperationFailedEx("%s failed (exit %d): %s" % (
                self.runner.masked(result.argv, values), result.rc, message))
        return result

    # reading
    def targets(self) -> dict:
        return parse_targets(self("target", "show").out)

    def accounts(self) -> list:
        return parse_accounts(self("account", "show").out)

    def portals(self) -> list:
        return parse_portals(self("portal", "show").out)

    # targets
    def new_target(self, tid: int, iqn: str) -> None:
        self("target", "new", tid=tid, targetname=iqn)

    def delete_target(self, tid: int) -> None:
        self("target", "delete", tid=tid, force=True)

    def bind(self, tid: int, entry: str) -> None:
        self("target", "bind", tid=tid, initiator_name=entry)

    def unbind(self, tid: int, entry: str) -> None:
        if entry[:4].lower() in ("iqn.", "eui.", "naa."):
            self("target", "unbind", tid=tid, initiator_name=entry)
        else:  # an address ACL someone added by hand: access by name only here
            self("target", "unbind", tid=tid, initiator_address=entry)

    # logical units
    def new_lun(self, tid: int, lun: int, path: str, params: dict) -> None:
        self("logicalunit", "new", tid=tid, lun=lun, backing_store=path)
        self("logicalunit", "update", tid=tid, lun=lun, params=params)

    def delete_lun(self, tid: int, lun: int) -> None:
        self("logicalunit", "delete", tid=tid, lun=lun)

    # accounts
    def new_account(self, user: str, password: str) -> None:
        self("account", "new", user=user, password=password)

    def delete_account(self, user: str) -> None:
        self("account", "delete", user=user)

    def bind_account(self, tid: int, user: str, outgoing: bool = False) -> None:
        self("account", "bind", tid=tid, user=user, outgoing=outgoing)

    def unbind_account(self, tid: int, user: str, outgoing: bool = False) -> None:
        self("account", "unbind", tid=tid, user=user, outgoing=outgoing)


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


def chap_users(state: dict, exclude: str | None = None) -> dict:
    """{CHAP user: [(group, role, hash)]} over the groups of ``state``."""
    users: dict = {}
    for name, group in state["groups"].items():
        chap = group.get("chap")
        if name == exclude or not chap:
            continue
        users.setdefault(chap["username"], []).append((name, "incoming", chap["hash"]))
        if chap.get("mutual_username"):
            users.setdefault(chap["mutual_username"], []).append((name, "outgoing", chap["mutual_hash"]))
    return users


# --- the backend ------------------------------------------------------------------------

class TgtBackend(StorageArrayPlugin):
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
        unknown = sorted(set(uri.query) - set(URI_PARAMETERS))
        if unknown:
            raise ValueFormatEx("server %r: unknown parameter(s) %s; the tgt backend reads %s"
                                % (uri.text, ", ".join(unknown), ", ".join(URI_PARAMETERS)), "server")
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
        self.control_port = uri.option("control_port", 0, int)
        if not 0 <= self.control_port < 65536:
            raise ValueFormatEx("server URI parameter control_port must be 0-65535", "server")
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
            for name in sorted(state["groups"]):
                self._reconcile(state, name, live)
            self._clean_tmp()
            # under the lock: another run's _clean_tmp cannot remove the probe half-way
            self.reflink()
        self._uuid = state["uuid"]

    def _check_portal(self) -> str:
        listening = self.tgtadm.portals()
        if self.portal_option is not None:
            if not portal_served(self.portal_option, listening):
                raise OperationPreReqNotMetEx(
                    "tgtd (control port %d) does not listen on portal %s; it listens on %s"
                    % (self.control_port, self.portal_option, ", ".join(listening) or "no portal"), "server")
            return self.portal_option
        if not listening:
            raise OperationPreReqNotMetEx("tgtd (control port %d) listens on no iSCSI portal" % self.control_port,
                                          "server")
        return listening[0]

    def _clean_tmp(self) -> None:
        """Copies left behind by a run killed half-way (we hold the lock: nobody is copying)."""
        for entry in os.listdir(self.store.tmp_dir):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.store.tmp_dir, entry))

    def _live(self) -> dict:
        return {"targets": self.tgtadm.targets(), "accounts": set(self.tgtadm.accounts())}

    def _cached_live(self) -> dict:
        return self.cache.get_or_set(self._uuid, "live", self._live)

    @staticmethod
    def _find_target(live: dict, iqn: str):
        for target in live["targets"].values():
            if target["name"] == iqn:
                return target
        return None

    @staticmethod
    def _locked(group: dict, accounts) -> bool:
        """A CHAP group whose accounts tgtd lost (it restarted): nobody may log in."""
        chap = group.get("chap")
        if not chap:
            return False
        users = [chap["username"]] + ([chap["mutual_username"]] if chap.get("mutual_username") else [])
        return any(user not in accounts for user in users)

    def _lun_params(self, lun: dict) -> dict:
        serial = lun["uuid"].replace("-", "")
        return {"scsi_id": serial, "scsi_sn": serial[:16], "vendor_id": VENDOR_ID, "product_id": PRODUCT_ID}

    def _reconcile(self, state: dict, name: str, live: dict) -> None:
        """Make the target of group ``name`` match the state; ``live`` is updated as we go."""
        group = state["groups"][name]
        target = self._find_target(live, group["target"])
        if target is None:
            tid = 1
            while tid in live["targets"]:
                tid += 1
            self.tgtadm.new_target(tid, group["target"])
            target = {"tid": tid, "name": group["target"], "luns": {}, "accounts": [], "outgoing": [],
                      "acl": [], "sessions": []}
            live["targets"][tid] = target
        tid = target["tid"]
        locked = self._locked(group, live["accounts"])
        chap = group.get("chap") or {}
        want_acl = [] if locked else list(group["entries"])
        want_in = [chap["username"]] if chap and not locked else []
        want_out = [chap["mutual_username"]] if chap.get("mutual_username") and not locked else []
        # 1. close first: entries that must go, so nobody slips in during the change
        for entry in list(target["acl"]):
            if entry not in want_acl:
                self.tgtadm.unbind(tid, entry)
                target["acl"].remove(entry)
        # 2. accounts before anyone new is admitted
        for key, wanted, outgoing in (("accounts", want_in, False), ("outgoing", want_out, True)):
            for user in list(target[key]):
                if user not in wanted:
                    self.tgtadm.unbind_account(tid, user, outgoing)
                    target[key].remove(user)
            for user in wanted:
                if user not in target[key]:
                    self.tgtadm.bind_account(tid, user, outgoing)
                    target[key].append(user)
        # 3. logical units: LUN numbers from the state, backing files of this pool
        wanted_luns = {}
        for lun_name, number in group["luns"].items():
            lun = state["luns"].get(lun_name)
            if lun is not None:
                wanted_luns[number] = (lun, self._lun_path(lun))
        for number, current in sorted(target["luns"].items()):
            if number == 0:
                continue
            wanted = wanted_luns.get(number)
            if wanted is None or current["path"] != wanted[1] or not self._size_shown_ok(current, wanted[1]):
                self.tgtadm.delete_lun(tid, number)
                del target["luns"][number]
        for number, (lun, path) in sorted(wanted_luns.items()):
            if number not in target["luns"] and os.path.exists(path):
                self.tgtadm.new_lun(tid, number, path, self._lun_params(lun))
                target["luns"][number] = {"type": "disk", "path": path, "size_mb": None}
        # 4. open last
        for entry in want_acl:
            if entry not in target["acl"]:
                self.tgtadm.bind(tid, entry)
                target["acl"].append(entry)

    @staticmethod
    def _size_shown_ok(current: dict, path: str) -> bool:
        """tgt reads a file's size when the LUN is added: a resize cut short shows here."""
        if current.get("size_mb") is None:
            return True
        try:
            return current["size_mb"] == tgt_shown_mb(os.stat(path).st_size)
        except OSError:
            return True

    def _push(self, state: dict, names, secrets: dict, previous: dict) -> None:
        """Make tgtd match ``state`` for groups ``names``.

        ``secrets``: {CHAP user: secret} accounts to (re)create now. Groups sharing such
        an account are closed (ACL emptied) while it is re-created, so no initiator is
        admitted without CHAP in between. Accounts only ``previous`` used are deleted.
        """
        live = self._live()
        users = chap_users(state)
        affected = set(name for name in names if name in state["groups"])
        for user in secrets:
            affected.update(name for name, _role, _hash in users.get(user, []))
        for name in sorted(affected):
            group = state["groups"][name]
            chap = group.get("chap") or {}
            if set(secrets) & set((chap.get("username"), chap.get("mutual_username"))):
                target = self._find_target(live, group["target"])
                for entry in list(target["acl"]) if target else []:
                    self.tgtadm.unbind(target["tid"], entry)
                    target["acl"].remove(entry)
        for user, secret in sorted(secrets.items()):
            if user in live["accounts"]:
                self.tgtadm.delete_account(user)
            self.tgtadm.new_account(user, secret)
        live = self._live()
        for name in sorted(affected):
            self._reconcile(state, name, live)
        for user in sorted(set(chap_users(previous)) - set(users)):
            if user in live["accounts"]:
                self.tgtadm.delete_account(user)

    @contextlib.contextmanager
    def _write(self):
        """One write: the lock, a fresh state; the caller saves it."""
        self._connect()
        with self.store.locked():
            state = self.store.load() or new_state()
            yield state
        self.cache.clear(self._uuid)

    def _commit_groups(self, old: dict, new: dict, names, secrets: dict) -> None:
        """Save ``new`` and push it to tgtd; on failure put ``old`` back (fail closed)."""
        self.store.save(new)
        try:
            self._push(new, names, secrets, old)
        except IPluginException:
            self.store.save(old)
            with contextlib.suppress(IPluginException):
                live = self._live()
                # accounts re-created with the new secret do not match the old hashes: drop them,
                # the groups that use them stay locked until their secret is given again
                for user in secrets:
                    if user in live["accounts"]:
                        self.tgtadm.delete_account(user)
                self._push(old, [name for name in names if name in old["groups"]], {}, new)
            raise

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
                result = self.cp("reflink source dest", check_rc=False, reflink="always", source=probe,
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
            self.cp("reflink sparse source dest", error=error, **values)
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
        abilities.update(dict((key, copies) for key in ("snapshot", "snapshot_restore", "clone", "snap_clone")))
        abilities.update(dict((key, "YES") for key in (
            "thin_provisioning", "thick_provisioning", "iscsi_initiators", "chap", "mutual_chap")))
        abilities.update(dict((key, "NO") for key in ("qos", "fc_initiators", "async_jobs")))
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

    def locked_groups(self) -> list:
        self._connect()
        accounts = self._cached_live()["accounts"]
        state = self._state()
        return sorted(name for name, group in state["groups"].items() if self._locked(group, accounts))

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
            parent=lun.get("parent"), parent_snapshot=lun.get("parent_snapshot"))

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
            tmp = self._tmp(name)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    os.ftruncate(fd, size)
                    if not thin:
                        os.posix_fallocate(fd, 0, size)
                finally:
                    os.close(fd)
                os.replace(tmp, self._lun_path(lun))
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise self._no_space("LUN '%s'" % name, error) from None
            state["luns"][name] = lun
            self.store.save(state)
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
            lun["size"] = size
            self.store.save(state)
            # tgt reads the size when a LUN is added: add it again where it is mapped
            live = self._live()
            for group_name in sorted(g for g, group in state["groups"].items() if name in group["luns"]):
                group = state["groups"][group_name]
                target = self._find_target(live, group["target"])
                number = group["luns"][name]
                if target is not None and number in target["luns"]:
                    self.tgtadm.delete_lun(target["tid"], number)
                    del target["luns"][number]
                self._reconcile(state, group_name, live)
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
            if not force and (groups or snaps):
                reasons = []
                if groups:
                    reasons.append("is mapped to access group(s) %s" % ", ".join(groups))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(sorted(snaps)))
                raise StorageElementBusyEx("%s %s; unmap/delete them first or set force: true"
                                           % (what, " and ".join(reasons)))
            # tgtd lets go of the file first; a run killed here is re-synced and can be repeated
            live = self._live()
            for group_name in groups:
                group = state["groups"][group_name]
                target = self._find_target(live, group["target"])
                number = group["luns"].pop(name)
                if target is not None and number in target["luns"]:
                    self.tgtadm.delete_lun(target["tid"], number)
            del state["luns"][name]
            state["snapshots"].pop(name, None)
            self.store.save(state)
            paths = [self._lun_path(lun)] + [self._snap_path(snap) for snap in snaps.values()]
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(self.pool_dir, SNAP_DIR, name))

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
            vendor=VENDOR_ID, product_id="TGT-SNAP", array_path=path, parent=lun_name, path=[])

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
            tmp = self._tmp(name)
            self._copy(source, tmp, 0o400, CreateSnapFailedEx)
            os.replace(tmp, self._snap_path(snap))
            state["snapshots"].setdefault(lun, {})[name] = snap
            self.store.save(state)
            return self._snap_record(state, lun, name)

    def delete_snapshot(self, lun, name):
        with self._write() as state:
            snap = self._existing_snap(state, lun, name)
            clones = sorted(other for other, record in state["luns"].items()
                            if record.get("parent") == lun and record.get("parent_snapshot") == name)
            if clones:
                raise StorageElementBusyEx(
                    "snapshot '%s' of LUN '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, lun, ", ".join(clones)))
            del state["snapshots"][lun][name]
            if not state["snapshots"][lun]:
                del state["snapshots"][lun]
            self.store.save(state)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._snap_path(snap))

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
            path = self._lun_path(record)
            os.replace(tmp, path)
            record["size"] = self._size(path, snap["size"])
            snap["lun_stat"] = self._stat_key(path)
            self.store.save(state)
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
                     "thin": parent["thin"], "created": time.time(), "parent": lun, "parent_snapshot": snapshot}
            tmp = self._tmp(name)
            self._copy(source, tmp, 0o600, CloneFailedEx)
            os.replace(tmp, self._lun_path(clone))
            state["luns"][name] = clone
            self.store.save(state)
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
            return self._lun_record(state, name)

    # --- access groups ----------------------------------------------------------
    def _group_record(self, state: dict, name: str, accounts) -> dict:
        group = state["groups"][name]
        chap = group.get("chap") or {}
        status = None
        if self._locked(group, accounts):
            status = ("locked: tgtd lost the CHAP accounts of this group when it restarted and admits no "
                      "initiator; run access_group with its chap secrets again")
        luns = sorted(({"name": lun, "lun_id": number} for lun, number in group["luns"].items()),
                      key=lambda entry: entry["lun_id"])
        return records.make(
            "access_group", grp_name=name, grp_entries=sorted(group["entries"]), grp_modes=[], uuid=group["uuid"],
            luns=luns, target_iqn=group["target"], portal=self._portal, chap_username=chap.get("username"),
            mutual_chap_username=chap.get("mutual_username"), status=status)

    def list_access_groups(self):
        self._connect()
        state = self._state()
        accounts = self._cached_live()["accounts"]
        return [self._group_record(state, name, accounts) for name in sorted(state["groups"])]

    def get_access_group(self, name):
        self._connect()
        state = self._state()
        if name not in state["groups"]:
            return None
        return self._group_record(state, name, self._cached_live()["accounts"])

    @staticmethod
    def _existing_group(state: dict, name: str) -> dict:
        group = state["groups"].get(name)
        if group is None:
            raise OperationPreReqNotMetEx("access group '%s' does not exist" % name, "name")
        return group

    @staticmethod
    def _check_entries(name: str, entries) -> None:
        for entry in entries:
            if entry[:4].lower() not in ("iqn.", "eui.", "naa.") or initiator_type(entry) == "wwpn":
                raise InvalidValueEx(
                    "access group '%s': %r is not an iSCSI initiator name; tgt access groups admit iSCSI "
                    "initiators (IQN, EUI, NAA) by name" % (name, entry), "initiators")

    def _map(self, state: dict, name: str, group: dict, lun_name: str, lun_id) -> None:
        self._existing_lun(state, lun_name)
        if lun_id is None:
            lun_id = group["luns"].get(lun_name)
        if lun_id is None:
            used = set(group["luns"].values())
            lun_id = self.min_lun_id
            while lun_id in used:
                lun_id += 1
        if lun_id < self.min_lun_id:
            raise InvalidValueEx("access group '%s': LUN number %d is tgt's controller LUN; use %d or higher"
                                 % (name, lun_id, self.min_lun_id), "luns")
        for other, number in group["luns"].items():
            if number == lun_id and other != lun_name:
                raise InvalidValueEx("LUN number %d of access group '%s' is already used by LUN '%s'"
                                     % (lun_id, name, other), "luns")
        group["luns"][lun_name] = lun_id

    def _set_chap(self, state: dict, name: str, group: dict, chap, secrets: dict) -> None:
        """Store CHAP as hashes; remember the secrets to push; refuse clashes before any write."""
        if chap is None:
            group["chap"] = None
            return
        pairs = [(chap["username"], chap["password"])]
        if chap.get("mutual_username"):
            if chap["mutual_username"] == chap["username"]:
                raise InvalidValueEx("access group '%s': chap mutual_username must differ from username (tgt "
                                     "keeps one server-wide account per user name)" % name, "chap")
            pairs.append((chap["mutual_username"], chap["mutual_password"]))
        others = chap_users(state, exclude=name)
        for user, secret in pairs:
            if not _CHAP_USER.match(user or ""):
                raise InvalidValueEx("access group '%s': CHAP user name %r must be 1-255 printable characters "
                                     "without blanks" % (name, user), "chap")
            for other, _role, stored in others.get(user, []):
                if not secret_matches(secret, stored):
                    raise InvalidValueEx(
                        "access group '%s': CHAP user '%s' is already used by access group '%s' with another "
                        "secret; tgt accounts are server-wide, so use another user name or the same secret"
                        % (name, user, other), "chap")
            secrets[user] = secret
        group["chap"] = {
            "username": chap["username"], "hash": hash_secret(chap["password"]),
            "mutual_username": chap.get("mutual_username"),
            "mutual_hash": hash_secret(chap["mutual_password"]) if chap.get("mutual_username") else None}

    def create_access_group(self, name, entries, luns, chap):
        with self._write() as state:
            if name in state["groups"]:
                raise InvalidValueEx("access group '%s' already exists" % name, "name")
            self._check_entries(name, entries)
            iqn = "%s:%s" % (self.iqn_base, target_suffix(name))
            for other, group in state["groups"].items():
                if group["target"] == iqn:
                    raise InvalidValueEx("access group '%s' would get target %s, which access group '%s' has "
                                         "(target names are lower case, '_' becomes '-')" % (name, iqn, other), "name")
            if self._find_target(self._live(), iqn) is not None:
                raise InvalidValueEx("tgtd already has a target %s that this pool does not manage (another pool "
                                     "or tool): give the pools different iqn_base values" % iqn, "name")
            old = copy.deepcopy(state)
            group = {"uuid": str(uuidlib.uuid4()), "target": iqn, "entries": sorted(set(entries)), "luns": {},
                     "chap": None, "created": time.time()}
            for lun in luns:
                self._map(state, name, group, lun["name"], lun.get("lun_id"))
            secrets: dict = {}
            self._set_chap(state, name, group, chap, secrets)
            state["groups"][name] = group
            self._commit_groups(old, state, [name], secrets)
            return self._group_record(state, name, self._live()["accounts"])

    def update_access_group(self, name, changes):
        with self._write() as state:
            old = copy.deepcopy(state)
            group = self._existing_group(state, name)
            self._check_entries(name, changes.get("add_entries", []))
            entries = set(group["entries"]) - set(changes.get("remove_entries", []))
            group["entries"] = sorted(entries | set(changes.get("add_entries", [])))
            for lun_name in changes.get("unmap", []):
                self._existing_lun(state, lun_name)
                group["luns"].pop(lun_name, None)
            # LUNs that get a number of their own give up their old one first: numbers may be swapped
            for lun in changes.get("map", []):
                if lun.get("lun_id") is not None:
                    group["luns"].pop(lun["name"], None)
            for lun in changes.get("map", []):
                self._map(state, name, group, lun["name"], lun.get("lun_id"))
            secrets: dict = {}
            if "chap" in changes:
                self._set_chap(state, name, group, changes["chap"], secrets)
            self._commit_groups(old, state, [name], secrets)
            return self._group_record(state, name, self._live()["accounts"])

    def delete_access_group(self, name, force=False):
        with self._write() as state:
            group = self._existing_group(state, name)
            if group["luns"] and not force:
                raise StorageElementBusyEx("access group '%s' still has LUN(s) %s mapped; unmap them first or "
                                           "set force: true" % (name, ", ".join(sorted(group["luns"]))))
            old = copy.deepcopy(state)
            # tgtd first: a run killed after this re-creates the target from the state and can be repeated
            target = self._find_target(self._live(), group["target"])
            if target is not None:
                self.tgtadm.delete_target(target["tid"])
            del state["groups"][name]
            self.store.save(state)
            live = self._live()
            for user in sorted(set(chap_users(old)) - set(chap_users(state))):
                if user in live["accounts"]:
                    self.tgtadm.delete_account(user)

    def chap_matches(self, name, chap):
        self._connect()
        state = self._state()
        group = self._existing_group(state, name)
        stored = group.get("chap") or {}
        if stored.get("username") != chap.get("username") or not secret_matches(chap["password"], stored.get("hash")):
            return False
        if stored.get("mutual_username") != chap.get("mutual_username"):
            return False
        if stored.get("mutual_username") and not secret_matches(chap["mutual_password"], stored.get("mutual_hash")):
            return False
        # a locked group has lost its accounts: the secrets must be pushed to tgtd again
        return not self._locked(group, self._cached_live()["accounts"])
