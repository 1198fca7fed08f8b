# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups of the tgt backend, a mixin of :class:`TgtBackend`. Private to this collection.

In the state file: ``consistency_groups`` ({group: {uuid, created, luns}}) and
``cg_snapshots`` ({group: {snapshot: {uuid, created, luns}}}); the member snapshots are
ordinary snapshots (``snapshots[lun][name]``) that carry ``group``.

A group snapshot of LUNs that initiators may be writing to (members mapped to an access
group) is taken while tgtd is held (:mod:`_tgtd_pause`): every member file is reflinked
(``FICLONE``, microseconds each) while no tgtd thread runs, so all copies are of one
instant; then tgtd goes on. On a pool without reflink copies that would stop tgtd for
full copies, so the ability is OFFLINE there: allowed only while no member is mapped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._tgtd_pause import hold
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    CreateSnapFailedEx,
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)

FICLONE = 0x40049409  # _IOW(0x94, 9, int): share the source's extents (btrfs, xfs)


def reflink_file(source: str, dest: str) -> None:
    """``dest`` (new, 0600) shares the extents of ``source``: one ioctl, no process to start."""
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(source, "rb") as src:
            fcntl.ioctl(fd, FICLONE, src.fileno())
    finally:
        os.close(fd)


def group_of_lun(state: dict, lun: str) -> str | None:
    for name, group in state.get("consistency_groups", {}).items():
        if lun in group["luns"]:
            return name
    return None


def forget_lun(state: dict, lun: str) -> None:
    """A LUN deleted with force: out of its group and of the group snapshots (emptied ones go)."""
    for group in state.get("consistency_groups", {}).values():
        if lun in group["luns"]:
            group["luns"].remove(lun)
    for group, snaps in list(state.get("cg_snapshots", {}).items()):
        for name, snap in list(snaps.items()):
            if lun in snap["luns"]:
                snap["luns"].remove(lun)
            if not snap["luns"]:
                del snaps[name]
        if not snaps:
            del state["cg_snapshots"][group]


class TgtGroups:
    """The consistency group methods of the tgt backend (uses its state, files and tgtd)."""

    # --- records ------------------------------------------------------------------------
    def _cg_record(self, state: dict, name: str) -> dict:
        group = state["consistency_groups"][name]
        return records.make("consistency_group", name=name, uuid=group["uuid"], ss_uuid=state["uuid"],
                            luns=sorted(group["luns"]), filesystems=[], created=records.format_time(group["created"]),
                            status="OK")

    def _cg_snap_record(self, state: dict, group: str, name: str) -> dict:
        snap = state["cg_snapshots"][group][name]
        size, missing = 0, []
        for lun in snap["luns"]:
            member = state["snapshots"].get(lun, {}).get(name)
            path = self._snap_path(member) if member else None
            if path is None or not os.path.exists(path):
                missing.append(lun)
                continue
            size += self._size(path, member["size"])
        return records.make(
            "cg_snapshot", name=name, uuid=snap["uuid"], ss_uuid=state["uuid"], consistency_group=group,
            luns=sorted(snap["luns"]), filesystems=[], size=size, created=records.format_time(snap["created"]),
            state="ERROR" if missing else "ONLINE",
            status="snapshot file(s) of %s missing" % ", ".join(missing) if missing else "OK")

    @staticmethod
    def _existing_cg(state: dict, name: str) -> dict:
        group = state.setdefault("consistency_groups", {}).get(name)
        if group is None:
            raise OperationPreReqNotMetEx("consistency group '%s' does not exist" % name, "consistency_group")
        return group

    @staticmethod
    def _existing_cg_snap(state: dict, group: str, name: str) -> dict:
        snap = state.setdefault("cg_snapshots", {}).get(group, {}).get(name)
        if snap is None:
            raise OperationPreReqNotMetEx("group snapshot '%s' of consistency group '%s' does not exist" % (name, group),
                                          "name")
        return snap

    # --- groups -----------------------------------------------------------------------------
    def list_consistency_groups(self):
        self._connect()
        state = self._state()
        return [self._cg_record(state, name) for name in sorted(state.get("consistency_groups", {}))]

    def get_consistency_group(self, name):
        self._connect()
        state = self._state()
        return self._cg_record(state, name) if name in state.get("consistency_groups", {}) else None

    def _check_members(self, state: dict, name: str, luns, filesystems) -> None:
        if filesystems:
            raise NoSuchOperationEx("the tgt backend has no file systems to put into consistency group '%s'" % name)
        for lun in luns:
            self._existing_lun(state, lun)
            other = group_of_lun(state, lun)
            if other not in (None, name):
                raise InvalidValueEx("LUN '%s' is already in consistency group '%s'; a LUN is in one group at most"
                                     % (lun, other), "luns")

    def create_consistency_group(self, name, luns, filesystems):
        with self._write() as state:
            groups = state.setdefault("consistency_groups", {})
            if name in groups:
                raise InvalidValueEx("consistency group '%s' already exists" % name, "name")
            self._check_members(state, name, luns, filesystems)
            groups[name] = {"uuid": str(uuidlib.uuid4()), "created": time.time(), "luns": sorted(set(luns))}
            self.store.save(state)
            return self._cg_record(state, name)

    def update_consistency_group(self, name, changes):
        with self._write() as state:
            group = self._existing_cg(state, name)
            self._check_members(state, name, changes.get("add_luns", []), changes.get("add_filesystems", []))
            luns = set(group["luns"]) - set(changes.get("remove_luns", []))
            group["luns"] = sorted(luns | set(changes.get("add_luns", [])))
            self.store.save(state)
            return self._cg_record(state, name)

    def delete_consistency_group(self, name, force=False):
        with self._write() as state:
            self._existing_cg(state, name)
            snaps = state.setdefault("cg_snapshots", {}).get(name, {})
            if snaps and not force:
                raise StorageElementBusyEx("consistency group '%s' has group snapshot(s) %s; delete them first or set "
                                           "force: true" % (name, ", ".join(self._by_age(snaps))))
            paths = []
            for snap_name in self._by_age(snaps):
                paths.extend(self._drop_cg_snap(state, name, snap_name))
            del state["consistency_groups"][name]
            state["cg_snapshots"].pop(name, None)
            self.store.save(state)
        self._unlink(paths)

    @staticmethod
    def _by_age(snaps: dict) -> list:
        return sorted(snaps, key=lambda name: (snaps[name]["created"], name))

    # --- group snapshots ---------------------------------------------------------------------
    def list_cg_snapshots(self, group=None):
        self._connect()
        state = self._state()
        out = []
        for name in sorted(state.get("cg_snapshots", {})):
            if group is None or name == group:
                out.extend(self._cg_snap_record(state, name, snap) for snap in self._by_age(state["cg_snapshots"][name]))
        return out

    def get_cg_snapshot(self, group, name):
        self._connect()
        state = self._state()
        if name not in state.get("cg_snapshots", {}).get(group, {}):
            return None
        return self._cg_snap_record(state, group, name)

    def create_cg_snapshot(self, group, name):
        with self._write() as state:
            members = list(self._existing_cg(state, group)["luns"])
            if not members:
                raise OperationPreReqNotMetEx("consistency group '%s' has no members to snapshot" % group,
                                              "consistency_group")
            snaps = state.setdefault("cg_snapshots", {}).setdefault(group, {})
            if name in snaps:
                raise InvalidValueEx("group snapshot '%s' of consistency group '%s' already exists" % (name, group), "name")
            for lun in members:
                self._existing_lun(state, lun)
                if name in state["snapshots"].get(lun, {}):
                    raise InvalidValueEx("member LUN '%s' already has a snapshot '%s'" % (lun, name), "name")
            mapped = sorted(lun for lun in members if any(lun in g["luns"] for g in state["groups"].values()))
            reflink = self.reflink()
            if mapped and not reflink:
                raise OperationPreReqNotMetEx(
                    "group snapshot '%s' of consistency group '%s': the pool's file system has no reflink copies, so "
                    "tgtd would have to stop for full copies of the members while LUN(s) %s are mapped; unmap them "
                    "(ability cg_snapshot is OFFLINE here) or keep the pool on btrfs or xfs"
                    % (name, group, ", ".join(mapped)),
                    "consistency_group")
            for directory in [os.path.join(self.pool_dir, ".snapshots")] + [
                    os.path.join(self.pool_dir, ".snapshots", lun) for lun in members]:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(directory, 0o700)
            tmps = dict((lun, self._tmp(name)) for lun in members)
            sources = dict((lun, self._lun_path(state["luns"][lun])) for lun in members)
            stats = {}
            try:
                if mapped:
                    # one instant for every member: tgtd is stopped while the files are reflinked
                    with hold(self.control_port):
                        instant = time.time()
                        for lun in members:
                            stats[lun] = self._stat_key(sources[lun])
                            reflink_file(sources[lun], tmps[lun])
                else:
                    # nothing exports the members: nobody writes to them through tgtd
                    instant = time.time()
                    for lun in members:
                        stats[lun] = self._stat_key(sources[lun])
                        self._copy(sources[lun], tmps[lun], 0o600, CreateSnapFailedEx)
                for lun in members:
                    os.chmod(tmps[lun], 0o400)
            except OSError as error:
                self._unlink(tmps.values())
                raise CreateSnapFailedEx("group snapshot '%s' of consistency group '%s': %s" % (
                    name, group, error.strerror)) from None
            except BaseException:
                self._unlink(tmps.values())
                raise
            for lun in members:
                snap = {"uuid": str(uuidlib.uuid4()), "file": os.path.join(".snapshots", lun, name + ".img"),
                        "size": self._size(tmps[lun], state["luns"][lun]["size"]), "created": instant,
                        "lun_stat": stats[lun], "group": group}
                os.replace(tmps[lun], self._snap_path(snap))
                state["snapshots"].setdefault(lun, {})[name] = snap
            snaps[name] = {"uuid": str(uuidlib.uuid4()), "created": instant, "luns": members}
            self.store.save(state)
            return self._cg_snap_record(state, group, name)

    def _drop_cg_snap(self, state: dict, group: str, name: str) -> list:
        """Remove a group snapshot and its member snapshots from ``state`` (not saved); return their files.
        Refuses, changing nothing, when a clone depends on one of them."""
        snap = self._existing_cg_snap(state, group, name)
        clones = sorted(other for other, record in state["luns"].items()
                        if record.get("parent") in snap["luns"] and record.get("parent_snapshot") == name)
        if clones:
            raise StorageElementBusyEx("group snapshot '%s' of consistency group '%s': clone(s) %s depend on its "
                                       "snapshots; split or delete them first" % (name, group, ", ".join(clones)))
        paths = []
        for lun in snap["luns"]:
            member = state["snapshots"].get(lun, {}).pop(name, None)
            if member is not None:
                paths.append(self._snap_path(member))
            if lun in state["snapshots"] and not state["snapshots"][lun]:
                del state["snapshots"][lun]
        del state["cg_snapshots"][group][name]
        if not state["cg_snapshots"][group]:
            del state["cg_snapshots"][group]
        return paths

    @staticmethod
    def _unlink(paths) -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def delete_cg_snapshot(self, group, name):
        with self._write() as state:
            paths = self._drop_cg_snap(state, group, name)
            self.store.save(state)
        self._unlink(paths)

    def restore_cg_snapshot(self, group, name):
        with self._write() as state:
            snap = self._existing_cg_snap(state, group, name)
            for lun in snap["luns"]:
                self._existing_lun(state, lun)
                mapped = sorted(g for g, record in state["groups"].items() if lun in record["luns"])
                if mapped:
                    raise SnapRestoreNotSafeEx(
                        "restoring group snapshot '%s' of consistency group '%s' would change the data of LUN '%s' "
                        "under the initiators of access group(s) %s; unmap it first"
                        % (name, group, lun, ", ".join(mapped)))
            # every copy first: a failure leaves every member as it was
            tmps = {}
            try:
                for lun in snap["luns"]:
                    tmps[lun] = self._tmp(lun)
                    self._copy(self._snap_path(state["snapshots"][lun][name]), tmps[lun], 0o600, OperationFailedEx)
            except BaseException:
                self._unlink(tmps.values())
                raise
            for lun in snap["luns"]:
                path = self._lun_path(state["luns"][lun])
                os.replace(tmps[lun], path)
                member = state["snapshots"][lun][name]
                state["luns"][lun]["size"] = self._size(path, member["size"])
                member["lun_stat"] = self._stat_key(path)
            self.store.save(state)
            return self._cg_snap_record(state, group, name)
