# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The iSCSI gateway shared by the backends that export LUNs with tgtd. Private to this collection.

One piece of code drives tgtd (``tgtadm``) for every backend whose LUNs are served over
iSCSI by a Linux host: the ``tgt`` backend (LUN files) and the ``ceph`` backend (RBD
images, through tgt's ``rbd`` backing store). It holds:

* :class:`Tgtadm`: tgtadm's argument formats, declared once, and its errors;
* the parsers of tgtadm's output (targets, accounts, portals);
* :class:`IscsiGatewayMixin`: access groups as tgt targets (one target
  ``<iqn_base>:<group>`` per group, an ACL by initiator name, LUN numbers, CHAP accounts
  with salted hashes in the backend's state), and the re-sync that makes tgtd match that
  state on every connection, so that a tgtd restart loses no LUN, mapping or ACL.

A backend that mixes :class:`IscsiGatewayMixin` in keeps its access groups in a state
dict ``{"groups": {name: group}, ...}`` and provides:

* ``self.tgtadm``, ``self.iqn_base``, ``self.portal_option``, ``self.control_port``,
  ``self.min_lun_id``, and ``self._portal`` / ``self._uuid`` once connected;
* ``_connect()``, ``_state()`` (the state as saved), ``_write()`` (a context manager
  yielding the state under the backend's lock) and ``_save_state(state)``;
* ``_existing_lun(state, name)`` (raises OperationPreReqNotMetEx for a missing LUN) and
  ``_gw_backing(state, name)``: the :class:`Backing` tgtd serves for a LUN, or None when
  the backend has no such LUN.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import initiator_type
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._runner import (
    Runner,
    fixed,
    flag,
    key_values,
    opt_val,
)
from ansible_collections.stormgmt.core.plugins.module_utils._secrets import hash_secret, secret_matches
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    IPluginException,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    StorageElementBusyEx,
    ValueFormatEx,
)

DEFAULT_IQN_BASE = "iqn.2026-11.io.stormgmt"

_NOT_RUNNING = (errno.ENOTCONN, errno.ECONNREFUSED, errno.ENOENT)
_CHAP_USER = lazy_compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no blanks
_PORTAL = lazy_compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$")


# --- tgtadm: argument formats declared once ------------------------------------

TGTADM_FORMATS = {
    "lld": fixed("--lld", "iscsi"),
    "control_port": opt_val("--control-port"),
    "mode": opt_val("--mode"),
    "op": opt_val("--op"),
    "tid": opt_val("--tid"),
    "lun": opt_val("--lun"),
    "targetname": opt_val("--targetname"),
    "bstype": opt_val("--bstype"),
    "backing_store": opt_val("--backing-store"),
    "bsopts": opt_val("--bsopts"),
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
_TGTADM_ORDER = ("tid", "lun", "targetname", "bstype", "backing_store", "bsopts", "initiator_name", "initiator_address",
                 "user", "password", "outgoing", "force", "params", "name", "value")


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
                lun = {"type": None, "path": None, "size_mb": None, "scsi_id": None, "scsi_sn": None, "online": None}
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
                elif key == "Online":
                    lun["online"] = value == "Yes"
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
    def new_lun(self, tid: int, lun: int, path: str, params: dict, bstype: str | None = None,
                bsopts: str | None = None) -> None:
        self("logicalunit", "new", tid=tid, lun=lun, bstype=bstype, backing_store=path, bsopts=bsopts)
        self("logicalunit", "update", tid=tid, lun=lun, params=params)

    def update_lun(self, tid: int, lun: int, params: dict) -> None:
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


class Backing:
    """What tgtd serves as one LUN: a backing store (``path``: a file, or ``pool/image`` for
    the ``rbd`` backing store), tgtd's backing store type and options, the SCSI parameters,
    whether it exists now and its size in bytes (None when unknown)."""

    def __init__(self, path: str, params: dict, exists: bool = True, size: int | None = None,
                 bstype: str | None = None, bsopts: str | None = None) -> None:
        self.path = path
        self.params = params
        self.exists = exists
        self.size = size
        self.bstype = bstype
        self.bsopts = bsopts


class IscsiGatewayMixin:
    """Access groups as tgt targets; see the module documentation for what a backend provides."""

    #: the state's list of CHAP accounts that a change dropped, kept until tgtd let go of them
    gw_pending_key = "pending"

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

    def _reconcile(self, state: dict, name: str, live: dict) -> None:
        """Make the target of group ``name`` match the state; ``live`` is updated as we go."""
        group = state["groups"][name]
        target = self._find_target(live, group["target"])
        if target is None:
            tid = 1
            while tid in live["targets"]:
                tid += 1
            self.tgtadm.new_target(tid, group["target"])
            fault_point("tgt.reconcile.target_made")
            target = {"tid": tid, "name": group["target"], "luns": {}, "accounts": [], "outgoing": [],
                      "acl": [], "sessions": []}
            live["targets"][tid] = target
        tid = target["tid"]
        locked = self._locked(group, live["accounts"])
        chap = group.get("chap") or {}
        # NFS clients share the groups (a file half exports to them); the ACL admits initiators only
        want_acl = [] if locked else [entry for entry in group["entries"] if entry[:4].lower() in ("iqn.", "eui.", "naa.")]
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
        fault_point("tgt.reconcile.accounts_bound")
        # 3. logical units: LUN numbers from the state, backing stores of this backend
        wanted_luns = {}
        for lun_name, number in group["luns"].items():
            backing = self._gw_backing(state, lun_name)
            if backing is not None:
                wanted_luns[number] = backing
        for number, current in sorted(target["luns"].items()):
            if number == 0:
                continue
            wanted = wanted_luns.get(number)
            if wanted is None or current["path"] != wanted.path or not self._size_shown_ok(current, wanted):
                self.tgtadm.delete_lun(tid, number)
                del target["luns"][number]
            elif current.get("online") is False:
                # left offline by a resize killed while it reopened the backing store
                self.tgtadm.update_lun(tid, number, {"online": 1})
                current["online"] = True
        for number, backing in sorted(wanted_luns.items()):
            if number not in target["luns"] and backing.exists:
                self.tgtadm.new_lun(tid, number, backing.path, backing.params, backing.bstype, backing.bsopts)
                target["luns"][number] = {"type": "disk", "path": backing.path, "size_mb": None}
        fault_point("tgt.reconcile.luns_added")
        # 4. open last
        for entry in want_acl:
            if entry not in target["acl"]:
                self.tgtadm.bind(tid, entry)
                target["acl"].append(entry)

    @staticmethod
    def _size_shown_ok(current: dict, backing: Backing) -> bool:
        """tgt reads a LUN's size when the LUN is added: a resize cut short shows here."""
        if current.get("size_mb") is None or backing.size is None:
            return True
        return current["size_mb"] == tgt_shown_mb(backing.size)

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
        fault_point("tgt.push.closed")
        for user, secret in sorted(secrets.items()):
            if user in live["accounts"]:
                self.tgtadm.delete_account(user)
            self.tgtadm.new_account(user, secret)
        fault_point("tgt.push.accounts_made")
        live = self._live()
        for name in sorted(affected):
            self._reconcile(state, name, live)
        for user in sorted(set(chap_users(previous)) - set(users)):
            if user in live["accounts"]:
                self.tgtadm.delete_account(user)

    def _commit_groups(self, old: dict, new: dict, names, secrets: dict) -> None:
        """Save ``new`` and push it to tgtd; on failure put ``old`` back (fail closed)."""
        # accounts only ``old`` used are deleted by the push; a run killed before that leaves
        # them to the next run (state["pending"]), never in tgtd for good
        dropped = sorted(set(chap_users(old)) - set(chap_users(new)))
        if dropped:
            new.setdefault(self.gw_pending_key, []).append(
                {"op": "change of access group(s) %s" % ", ".join(names), "accounts": dropped})
        self._save_state(new)
        fault_point("tgt.commit_groups.saved")
        try:
            self._push(new, names, secrets, old)
        except IPluginException:
            self._save_state(old)
            with contextlib.suppress(IPluginException):
                live = self._live()
                # accounts re-created with the new secret do not match the old hashes: drop them,
                # the groups that use them stay locked until their secret is given again
                for user in secrets:
                    if user in live["accounts"]:
                        self.tgtadm.delete_account(user)
                self._push(old, [name for name in names if name in old["groups"]], {}, new)
            raise
        if dropped:
            new[self.gw_pending_key] = [entry for entry in new[self.gw_pending_key] if entry.get("accounts") != dropped]
            self._save_state(new)

    def _refresh_lun(self, state: dict, name: str) -> None:
        """Make every target that maps LUN ``name`` show its new size, in place.

        tgt reads a LUN's size only when it opens the backing store. The LUN is taken
        offline, its backing store opened again (``--params path=``), and put online again:
        same LUN number, SCSI identity and ACL. Meanwhile (a few milliseconds) initiators get
        NOT READY, "logical unit is in process of becoming ready", a condition they retry,
        rather than "logical unit not supported", which fails their I/O. They see the new
        capacity at their next READ CAPACITY (a rescan). Where that fails the LUN is removed
        and added again.
        """
        live = self._live()
        for group_name in sorted(g for g, group in state["groups"].items() if name in group["luns"]):
            group = state["groups"][group_name]
            target = self._find_target(live, group["target"])
            number = group["luns"][name]
            backing = self._gw_backing(state, name)
            if target is not None and number in target["luns"] and backing is not None:
                tid = target["tid"]
                try:
                    self.tgtadm.update_lun(tid, number, {"online": 0})
                    fault_point("tgt.resize_lun.offline")
                    try:
                        self.tgtadm.update_lun(tid, number, {"path": backing.path})
                    finally:
                        self.tgtadm.update_lun(tid, number, {"online": 1})
                    continue
                except IPluginException:
                    self.tgtadm.delete_lun(tid, number)
                    del target["luns"][number]
            self._reconcile(state, group_name, live)

    def _unmap_everywhere(self, state: dict, name: str, groups) -> None:
        """Drop LUN ``name`` from ``groups`` (in the state) and from their targets (in tgtd)."""
        live = self._live()
        for group_name in groups:
            group = state["groups"][group_name]
            target = self._find_target(live, group["target"])
            number = group["luns"].pop(name)
            if target is not None and number in target["luns"]:
                self.tgtadm.delete_lun(target["tid"], number)

    def locked_groups(self) -> list:
        self._connect()
        accounts = self._cached_live()["accounts"]
        state = self._state()
        return sorted(name for name, group in state["groups"].items() if self._locked(group, accounts))

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

    #: a backend with a file half (LinuxBackend) lets access groups hold NFS clients too
    nfs_clients = False

    def _check_entries(self, name: str, entries) -> None:
        for entry in entries:
            if self.nfs_clients and entry[:4].lower() not in ("iqn.", "eui.", "naa.") and not entry.startswith("0x"):
                continue
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
            # tgtd first, the state last: a run killed in between leaves the group in the state, whose
            # target the next run re-creates (its accounts gone: locked, fail closed) and can delete again
            target = self._find_target(self._live(), group["target"])
            if target is not None:
                self.tgtadm.delete_target(target["tid"])
            fault_point("tgt.delete_access_group.target_deleted")
            del state["groups"][name]
            live = self._live()
            for user in sorted(set(chap_users(old)) - set(chap_users(state))):
                if user in live["accounts"]:
                    self.tgtadm.delete_account(user)
            fault_point("tgt.delete_access_group.accounts_deleted")
            self._save_state(state)
            fault_point("tgt.delete_access_group.saved")

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
