# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups of the ceph backend, a mixin of :class:`CephBackend`. Private to this collection.

A consistency group is an RBD group of the pool (``rbd group create``, ``rbd group image add``);
a group snapshot is an RBD group snapshot: librbd holds the writes to every member image
(it takes their exclusive locks, so a gateway's writes wait, they do not fail) while it
snapshots them, so all member snapshots hold one instant (crash consistent). The member
snapshots live in RBD's group snapshot namespace of each image (not ``rbd snap ls``'s user
ones); a restore is ``rbd group snap rollback``, a job, refused while a member is mapped or open.

What the backend made is in its state object (key ``cgroups``: {group: {uuid, created, luns,
snaps: {snapshot: {uuid, created, luns}}}}). An RBD group of the pool that is not there was
made by someone else: it is never shown, changed or removed, and its name cannot be taken.
Images or group snapshots someone added to one of the backend's groups by hand are left
alone: the group cannot be deleted while they are there (removing the RBD group would drop them).

A clone of a member snapshot cannot be an RBD clone on Ceph 16 (Pacific): RBD clones user
snapshots only (cloning by snapshot id came later). It is a full copy of the member snapshot
(by its id), made as a job under an internal name and renamed into place when whole; its
lineage (parent, parent snapshot) is in its metadata, and the group snapshot is not deleted
while such a clone names it (split forgets the lineage: the copy holds its own data).
"""

from __future__ import annotations

import json
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    CreateSnapFailedEx,
    InvalidValueEx,
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)

#: the RBD snapshot namespace of a group snapshot's member snapshots
NAMESPACE_GROUP = 1
#: image metadata keys of the backend (as in :mod:`ceph`, which imports this module)
K_UUID = "stormgmt.uuid"
K_RESTORED = "stormgmt.restored"


def group_of_lun(state: dict, lun: str) -> str | None:
    for name, group in (state.get("cgroups") or {}).items():
        if lun in group["luns"]:
            return name
    return None


def group_snaps_holding(state: dict, lun: str) -> list:
    """``group@snapshot`` of the backend's group snapshots that hold a snapshot of ``lun``."""
    return sorted("%s@%s" % (group, snap) for group, record in (state.get("cgroups") or {}).items()
                  for snap, entry in record["snaps"].items() if lun in entry["luns"])


def _by_age(snaps: dict) -> list:
    return sorted(snaps, key=lambda name: (snaps[name]["created"], name))


class CephGroups:
    """The consistency group methods of the ceph backend (uses its state, agent and jobs)."""

    # --- member snapshots of one image -------------------------------------------------------
    def _member_snaps(self, info: dict, state: dict | None = None) -> dict:
        """{name: {uuid, id, created, size, group}}: the image's snapshots that are members of
        one of the backend's group snapshots (matched by group, snapshot name and pool)."""
        state = self._state() if state is None else state
        groups = state.get("cgroups") or {}
        out = {}
        for snap in info["snaps"]:
            member = snap.get("group") or {}
            if snap.get("namespace") != NAMESPACE_GROUP or member.get("name") not in groups:
                continue
            entry = groups[member["name"]]["snaps"].get(member.get("snap"))
            if entry is None or info["name"] not in entry["luns"] or not member.get("local"):
                continue
            # one uuid per member snapshot, the same in every run: from the group snapshot's and the LUN's
            uuid = str(uuidlib.uuid5(uuidlib.UUID(entry["uuid"]), info["meta"].get(K_UUID, "")))
            out[member["snap"]] = {"uuid": uuid, "id": snap["id"], "created": entry["created"], "size": snap["size"],
                                   "group": member["name"]}
        return out

    # --- records ------------------------------------------------------------------------------
    def _cg_record(self, state: dict, name: str, rbd_groups=None) -> dict:
        group = state["cgroups"][name]
        status = "OK"
        if rbd_groups is not None and name not in rbd_groups:
            status = "ERROR: RBD group %s/%s is missing; a change of the group makes it again" % (self.pool, name)
        return records.make("consistency_group", name=name, uuid=group["uuid"], ss_uuid=self._uuid,
                            luns=sorted(group["luns"]), filesystems=[], created=records.format_time(group["created"]),
                            status=status, extra_info="RBD group %s/%s" % (self.pool, name))

    def _cg_snap_record(self, state: dict, group: str, name: str) -> dict:
        snap = state["cgroups"][group]["snaps"][name]
        size, missing = 0, []
        for lun in snap["luns"]:
            info = self._image(lun)
            member = self._member_snaps(info, state).get(name) if info is not None else None
            if member is None:
                missing.append(lun)
            else:
                size += member["size"]
        return records.make(
            "cg_snapshot", name=name, uuid=snap["uuid"], ss_uuid=self._uuid, consistency_group=group,
            luns=sorted(snap["luns"]), filesystems=[], size=size, created=records.format_time(snap["created"]),
            state="ERROR" if missing else "ONLINE",
            status="the member snapshot(s) of %s are missing" % ", ".join(missing) if missing else "OK",
            extra_info="RBD group snapshot %s/%s@%s" % (self.pool, group, name))

    def _existing_cg(self, state: dict, name: str) -> dict:
        group = (state.get("cgroups") or {}).get(name)
        if group is None:
            raise OperationPreReqNotMetEx("consistency group '%s' does not exist" % name, "consistency_group")
        return group

    def _existing_cg_snap(self, state: dict, group: str, name: str) -> dict:
        snap = self._existing_cg(state, group)["snaps"].get(name)
        if snap is None:
            raise OperationPreReqNotMetEx("group snapshot '%s' of consistency group '%s' does not exist"
                                          % (name, group), "name")
        return snap

    # --- groups --------------------------------------------------------------------------------
    def list_consistency_groups(self):
        self._connect()
        state = self._state()
        if not state.get("cgroups"):
            return []
        rbd_groups = self._call("cannot list the RBD groups of pool '%s'" % self.pool, "groups")
        return [self._cg_record(state, name, rbd_groups) for name in sorted(state["cgroups"])]

    def get_consistency_group(self, name):
        self._connect()
        state = self._state()
        if name not in (state.get("cgroups") or {}):
            return None
        return self._cg_record(state, name, self._call("cannot list the RBD groups of pool '%s'" % self.pool, "groups"))

    def _check_members(self, state: dict, name: str, luns, filesystems) -> None:
        if filesystems:
            raise NoSuchOperationEx("the ceph backend puts LUNs (RBD images) into consistency groups, not file systems "
                                    "(ability cg_filesystems is NO): consistency group '%s'" % name)
        for lun in luns:
            self._existing_lun(state, lun)
            other = group_of_lun(state, lun)
            if other not in (None, name):
                raise InvalidValueEx("LUN '%s' is already in consistency group '%s'; a LUN is in one group at most"
                                     % (lun, other), "luns")

    def _sync_group(self, name: str, luns) -> None:
        """Make RBD group ``name`` hold exactly the backend's images ``luns`` (others' images stay)."""
        what = "consistency group '%s'" % name
        rbd_group = self._call("cannot read RBD group %s/%s" % (self.pool, name), "group", name=name)
        if rbd_group is None:
            self._call("cannot create %s (RBD group %s/%s)" % (what, self.pool, name), "group_create", name=name)
            rbd_group = {"images": [], "elsewhere": [], "snaps": []}
        for lun in sorted(set(luns) - set(rbd_group["images"])):
            self._call("cannot add LUN '%s' to %s" % (lun, what), "group_add", name=name, image=lun)
        for image in sorted(set(rbd_group["images"]) - set(luns)):
            if self._image(image) is not None:  # one of ours, taken out; an image someone else added stays
                self._call("cannot take LUN '%s' out of %s" % (image, what), "group_remove_image", name=name, image=image)

    def create_consistency_group(self, name, luns, filesystems):
        with self._write() as state:
            groups = state.setdefault("cgroups", {})
            if name in groups:
                raise InvalidValueEx("consistency group '%s' already exists" % name, "name")
            self._check_members(state, name, luns, filesystems)
            if name in self._call("cannot list the RBD groups of pool '%s'" % self.pool, "groups"):
                raise InvalidValueEx("consistency group '%s': pool '%s' has an RBD group '%s' that this server did not "
                                     "make; it is left alone, choose another name" % (name, self.pool, name), "name")
            # recorded first: a run killed before the RBD group is whole leaves a group the next change completes
            groups[name] = {"uuid": str(uuidlib.uuid4()), "created": self.server_time(), "luns": sorted(set(luns)),
                            "snaps": {}}
            self._save_state(state)
            self._sync_group(name, groups[name]["luns"])
            return self._cg_record(state, name)

    def update_consistency_group(self, name, changes):
        with self._write() as state:
            group = self._existing_cg(state, name)
            self._check_members(state, name, changes.get("add_luns", []), changes.get("add_filesystems", []))
            luns = set(group["luns"]) - set(changes.get("remove_luns", []))
            group["luns"] = sorted(luns | set(changes.get("add_luns", [])))
            self._save_state(state)
            self._sync_group(name, group["luns"])
            return self._cg_record(state, name)

    def _foreign_in_group(self, name: str, group: dict) -> list:
        """What someone else put into RBD group ``name``: images and group snapshots."""
        rbd_group = self._call("cannot read RBD group %s/%s" % (self.pool, name), "group", name=name)
        if rbd_group is None:
            return []
        foreign = ["image %s" % image for image in rbd_group["images"] if self._image(image) is None]
        foreign += ["image %s" % image for image in rbd_group["elsewhere"]]
        foreign += ["group snapshot %s" % snap for snap in rbd_group["snaps"] if snap not in group["snaps"]]
        return foreign

    def delete_consistency_group(self, name, force=False):
        with self._write() as state:
            group = self._existing_cg(state, name)
            snaps = group["snaps"]
            if snaps and not force:
                raise StorageElementBusyEx("consistency group '%s' has group snapshot(s) %s; delete them first or set "
                                           "force: true" % (name, ", ".join(_by_age(snaps))))
            foreign = self._foreign_in_group(name, group)
            if foreign:
                raise StorageElementBusyEx(
                    "consistency group '%s': RBD group %s/%s holds %s that this server did not put there; removing the "
                    "group would drop them, so it is left alone" % (name, self.pool, name, ", ".join(foreign)))
            for snap_name in _by_age(snaps):
                self._drop_cg_snap(state, name, snap_name)
            if self._call("cannot read RBD group %s/%s" % (self.pool, name), "group", name=name) is not None:
                self._call("cannot delete consistency group '%s'" % name, "group_remove", name=name)
            del state["cgroups"][name]
            self._save_state(state)

    # --- group snapshots ----------------------------------------------------------------------
    def list_cg_snapshots(self, group=None):
        self._connect()
        state = self._state()
        out = []
        for name in sorted(state.get("cgroups") or {}):
            if group is None or name == group:
                snaps = state["cgroups"][name]["snaps"]
                out.extend(self._cg_snap_record(state, name, snap) for snap in _by_age(snaps))
        return out

    def get_cg_snapshot(self, group, name):
        self._connect()
        state = self._state()
        if name not in ((state.get("cgroups") or {}).get(group) or {}).get("snaps", {}):
            return None
        return self._cg_snap_record(state, group, name)

    def create_cg_snapshot(self, group, name):
        with self._write() as state:
            record = self._existing_cg(state, group)
            members = list(record["luns"])
            if not members:
                raise OperationPreReqNotMetEx("consistency group '%s' has no members to snapshot" % group,
                                              "consistency_group")
            if name in record["snaps"]:
                raise InvalidValueEx("group snapshot '%s' of consistency group '%s' already exists" % (name, group), "name")
            for lun in members:
                info = self._existing_lun(state, lun)
                self._check_not_busy("lun:" + lun, "member LUN '%s'" % lun)
                if name in self._own_snaps(info) or name in self._member_snaps(info, state) or \
                        name in [snap["name"] for snap in info["snaps"]]:
                    raise InvalidValueEx("member LUN '%s' already has a snapshot '%s'" % (lun, name), "name")
            rbd_group = self._call("cannot read RBD group %s/%s" % (self.pool, group), "group", name=group)
            if rbd_group is not None and name in rbd_group["snaps"]:
                raise InvalidValueEx("RBD group %s/%s has a group snapshot '%s' that this server did not make; it is "
                                     "left alone, choose another name" % (self.pool, group, name), "name")
            self._sync_group(group, members)
            state["pending"]["cg:" + group] = {"op": "cg_snapshot", "image": False, "group": group, "snapshot": name,
                                               "uuid": str(uuidlib.uuid4()), "started": self.server_time(),
                                               "luns": members}
            self._save_state(state)
            made = self._call("cannot create group snapshot '%s' of consistency group '%s'" % (name, group),
                              "group_snap_create", CreateSnapFailedEx, name=group, snap=name)
            pending = state["pending"].pop("cg:" + group)
            self._adopt_cg_snap(state, pending, made)
            self._save_state(state)
            return self._cg_snap_record(state, group, name)

    def _adopt_cg_snap(self, state: dict, pending: dict, made: dict) -> None:
        """Record RBD group snapshot ``pending`` (made: its member snapshots) as the backend's."""
        stamps = [member["timestamp"] for member in made.values() if member.get("timestamp")]
        created = min(stamps) if stamps else pending["started"]
        state["cgroups"][pending["group"]]["snaps"][pending["snapshot"]] = {
            "uuid": pending["uuid"], "created": created, "luns": sorted(made)}

    def _recover_cg_snap(self, state: dict, pending: dict) -> None:
        """A run killed while it took a group snapshot: adopt the snapshot when RBD made it."""
        group = pending["group"]
        if group not in (state.get("cgroups") or {}) or pending["snapshot"] in state["cgroups"][group]["snaps"]:
            return
        rbd_group = self.client.call("group", name=group)
        if rbd_group is None or pending["snapshot"] not in rbd_group["snaps"]:
            return
        made = {}
        for lun in pending["luns"]:
            info = self.client.call("image", name=lun)
            for snap in (info or {}).get("snaps", []):
                member = snap.get("group") or {}
                if member.get("name") == group and member.get("snap") == pending["snapshot"]:
                    made[lun] = {"timestamp": snap.get("timestamp")}
        self._adopt_cg_snap(state, pending, made)

    def _drop_cg_snap(self, state: dict, group: str, name: str) -> None:
        """Remove a group snapshot (RBD and the state, not saved). Refuses, changing nothing, when it
        is busy (a restore of it running)."""
        snap = self._existing_cg_snap(state, group, name)
        self._check_not_busy("cg:" + group, "consistency group '%s'" % group)
        copies = sorted(info["name"] for info in self._copies_of(snap["luns"], name))
        if copies:
            raise StorageElementBusyEx("group snapshot '%s' of consistency group '%s': clone(s) %s were made of its "
                                       "snapshots; split or delete them first" % (name, group, ", ".join(copies)))
        rbd_group = self._call("cannot read RBD group %s/%s" % (self.pool, group), "group", name=group)
        if rbd_group is not None and name in rbd_group["snaps"]:
            self._call("cannot delete group snapshot '%s' of consistency group '%s'" % (name, group),
                       "group_snap_remove", name=group, snap=name)
        for lun in snap["luns"]:
            info = self._image(lun)
            if info is None:
                continue
            try:
                restored = json.loads(info["meta"].get(K_RESTORED) or "{}")
            except ValueError:
                restored = {}
            if isinstance(restored, dict) and restored.get("snapshot") == name and restored.get("group") == group:
                self._call("cannot tidy LUN '%s'" % lun, "snap_remove", name=lun, snap=restored.get("mark") or "")
                self._call("cannot tidy LUN '%s'" % lun, "meta_remove", name=lun, keys=[K_RESTORED])
        del state["cgroups"][group]["snaps"][name]

    def delete_cg_snapshot(self, group, name):
        with self._write() as state:
            self._drop_cg_snap(state, group, name)
            self._save_state(state)

    def restore_cg_snapshot(self, group, name):
        with self._write() as state:
            snap = self._existing_cg_snap(state, group, name)
            what = "group snapshot '%s' of consistency group '%s'" % (name, group)
            self._check_not_busy("cg:" + group, "consistency group '%s'" % group)
            images = {}
            for lun in snap["luns"]:
                info = self._image(lun)
                if info is None or name not in self._member_snaps(info, state):
                    raise OperationPreReqNotMetEx("%s cannot be restored: LUN '%s' or its member snapshot is gone"
                                                  % (what, lun), "name")
                self._check_not_busy("lun:" + lun, "member LUN '%s'" % lun)
                mapped = sorted(g for g, access in state["groups"].items() if lun in access["luns"])
                if mapped:
                    raise SnapRestoreNotSafeEx("restoring %s would change the data of LUN '%s' under the initiators of "
                                               "access group(s) %s; unmap it first" % (what, lun, ", ".join(mapped)))
                if info["watchers"]:
                    raise SnapRestoreNotSafeEx(
                        "restoring %s would change the data under the %d client(s) that have RBD image %s/%s open (a VM, "
                        "another gateway, a mapping); close it there first" % (what, info["watchers"], self.pool, lun))
                mark = self._restore_mark()
                images[lun] = {"mark": mark, "old_marks": self._old_marks(info),
                               "meta_after": {K_RESTORED: json.dumps(
                                   {"snapshot": name, "group": group, "mark": mark}, sort_keys=True)}}
            return self._start_job(
                "restore consistency group %s to group snapshot %s" % (group, name), "group_rollback", "cg:" + group,
                {"group": group, "snap": name, "images": images,
                 "targets": ["lun:" + lun for lun in sorted(images)]})
