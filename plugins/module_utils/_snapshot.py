# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Snapshots and clones of LUNs and file systems, as resources. Private to this collection.

Both modules work on either kind of parent; :class:`Source` holds the few names
that differ (backend methods, abilities, nouns), so the logic is written once.
"""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)


class Source:
    """The parent kind of a snapshot or clone: a LUN or a file system."""

    def __init__(self, key, noun, get, get_snapshot, create_snapshot, delete_snapshot, restore_snapshot,
                 snapshot_is_current, create_clone, split_clone, delete_clone, clone_origin, abilities,
                 clone_kind) -> None:
        self.key = key  # option name: lun / filesystem
        self.noun = noun
        self.get = get
        self.get_snapshot = get_snapshot
        self.create_snapshot = create_snapshot
        self.delete_snapshot = delete_snapshot
        self.restore_snapshot = restore_snapshot
        self.snapshot_is_current = snapshot_is_current
        self.create_clone = create_clone
        self.split_clone = split_clone
        self.delete_clone = delete_clone
        self.clone_origin = clone_origin
        # snapshot, restore, clone, snap clone, split
        self.abilities = abilities
        self.clone_kind = clone_kind  # record kind of a clone


SOURCES = {
    "lun": Source(
        "lun", "LUN", "get_lun", "get_snapshot", "create_snapshot", "delete_snapshot", "restore_snapshot",
        "snapshot_is_current", "create_clone", "split_clone", "delete_lun", "clone_origin",
        ("snapshot", "snapshot_restore", "clone", "snap_clone", "split_clone"), "storage_element"),
    "filesystem": Source(
        "filesystem", "file system", "get_filesystem", "get_fs_snapshot", "create_fs_snapshot",
        "delete_fs_snapshot", "restore_fs_snapshot", "fs_snapshot_is_current", "create_fs_clone",
        "split_fs_clone", "delete_filesystem", "fs_clone_origin",
        ("fs_snapshot", "fs_snapshot_restore", "fs_clone", "fs_snap_clone", "fs_split_clone"), "file_system"),
}


def source_of(params: dict) -> tuple:
    """(Source, parent name) from the mutually exclusive lun / filesystem options."""
    for key in ("lun", "filesystem"):
        if params.get(key) is not None:
            return SOURCES[key], validate_name(params[key], "%s name" % SOURCES[key].noun)
    raise OperationPreReqNotMetEx("one of lun or filesystem is required", "lun")


class _Derived(Resource):
    """Common parts of snapshots and clones."""

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.source, self.parent = source_of(params)

    def _call(self, method: str, *args):
        return getattr(self.backend, getattr(self.source, method))(*args)

    def parent_record(self) -> dict:
        record = self._call("get", self.parent)
        if record is None:
            raise OperationPreReqNotMetEx("%s '%s' does not exist" % (self.source.noun, self.parent), self.source.key)
        return record

    def describe_parent(self) -> str:
        return "%s '%s'" % (self.source.noun, self.parent)

    @property
    def is_filesystem(self) -> bool:
        return self.source.key == "filesystem"

    def check_fs(self, name: str, action: str, snapshot=None) -> None:
        """What the backend would refuse for a file system (mounts in the way, a missing directory),
        refused while planning, so that check mode says it too."""
        if self.is_filesystem:
            self.backend.check_filesystem_action(name, action, snapshot)

    def usable(self, record: dict) -> dict:
        """A record in state ERROR (a file system whose directory is gone) is reported, not used."""
        if record.get("state") == "ERROR":
            raise OperationPreReqNotMetEx(record.get("status") or "%s '%s' is in state ERROR"
                                          % (self.source.noun, record["name"]), self.source.key)
        return record


class SnapshotResource(_Derived):
    kind = "snapshot"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "snapshot name")

    def describe(self) -> str:
        return "snapshot '%s' of %s" % (self.name, self.describe_parent())

    def read(self):
        if self._call("get", self.parent) is None:
            return None
        return self._call("get_snapshot", self.parent, self.name)

    def plan(self, before):
        state = self.params["state"]
        snapshot_ability, restore_ability = self.source.abilities[0], self.source.abilities[1]
        if state == "absent":
            if before is None:
                return Plan()
            self.backend.require(snapshot_ability, "delete %s" % self.describe())
            group = before.get("consistency_group")
            if group:
                raise StorageElementBusyEx(
                    "%s is part of group snapshot '%s' of consistency group '%s', which is deleted as a whole: "
                    "give consistency_group: %s instead of %s"
                    % (self.describe(), self.name, group, group, self.source.key))
            if self.is_filesystem:
                clones = [fs["name"] for fs in self.backend.list_filesystems()
                          if fs.get("parent") == self.parent and fs.get("parent_snapshot") == self.name]
            else:
                clones = [clone["name"] for clone in self.backend.list_clones(self.parent)
                          if clone.get("parent_snapshot") == self.name]
            if clones:
                raise (FileSystemBusyEx if self.is_filesystem else StorageElementBusyEx)(
                    "%s has clones that depend on it (%s): split or delete them first"
                    % (self.describe(), ", ".join(clones)))
            self.check_fs(self.parent, "delete_snapshot", self.name)
            return Plan("delete", after=None, steps=["delete"])
        parent = self.parent_record()
        if state == "present":
            if before is not None:
                return Plan()
            self.backend.require(snapshot_ability, "create %s" % self.describe())
            self.usable(parent)
            self.check_fs(self.parent, "snapshot")
            after = self._predict(parent)
            return Plan("create", after=after, steps=["create"])
        # restored
        if before is None:
            raise OperationPreReqNotMetEx("%s does not exist, so it cannot be restored" % self.describe(), "name")
        self.usable(parent)
        if self._call("snapshot_is_current", self.parent, self.name):
            return Plan()
        self.backend.require(restore_ability, "restore %s" % self.describe())
        users = parent.get("access_grp_names") or []
        if self.source.key == "lun" and users:
            raise SnapRestoreNotSafeEx(
                "restoring %s would change the data under the initiators of access group(s) %s; unmap it first"
                % (self.describe(), ", ".join(users)))
        self.check_fs(self.parent, "restore", self.name)
        return Plan("restore", after=before, steps=["restore"])

    def _predict(self, parent: dict) -> dict:
        return records.make(
            "storage_element", name=self.name, uuid=None, se_type="SNAP", size=parent["size"],
            thin=True if getattr(self.backend, "thin_reported", True) else None,
            vol_group_name=parent.get("vol_group_name"), access_grp_names=[], state="ONLINE",
            status="to be created", parent=self.parent)

    def apply(self, plan, before, run):
        step = plan.steps[0]
        if step == "create":
            run(self._call("create_snapshot", self.parent, self.name))
        elif step == "delete":
            run(self._call("delete_snapshot", self.parent, self.name))
        elif step == "restore":
            run(self._call("restore_snapshot", self.parent, self.name))


class CloneResource(_Derived):
    kind = "clone"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "clone name")
        self.snapshot = params.get("snapshot")
        if self.snapshot is not None:
            validate_name(self.snapshot, "snapshot name")
        if self.name == self.parent:
            raise InvalidValueEx("a clone cannot have the name of its parent '%s'" % self.parent, "name")

    def describe(self) -> str:
        return "clone '%s'" % self.name

    def read(self):
        return self._call("get", self.name)

    def plan(self, before):
        clone_ability, snap_clone_ability, split_ability = self.source.abilities[2:]
        if self.params["state"] == "absent":
            if before is None:
                return Plan()
            self._check_lineage(before)
            if self.is_filesystem:
                self._check_fs_deletable(before)
            else:
                self._check_lun_deletable(before)
            return Plan("delete", after=None, steps=["delete"])
        if before is None:
            parent = self.parent_record()
            if self.snapshot is not None:
                self.backend.require(snap_clone_ability, "clone snapshot '%s' of %s" % (self.snapshot, self.describe_parent()))
                snap = self._call("get_snapshot", self.parent, self.snapshot)
                if snap is None:
                    raise OperationPreReqNotMetEx(
                        "snapshot '%s' of %s does not exist" % (self.snapshot, self.describe_parent()), "snapshot")
                size = snap["size"]
            else:
                self.backend.require(clone_ability, "clone %s" % self.describe_parent())
                size = parent["size"]
            if self.is_filesystem:
                self.usable(parent)
                self.check_fs(self.parent, "clone", self.snapshot)
                self.check_fs(self.name, "create")
            steps = ["create"]
            if self.params["split"]:
                self.backend.require(split_ability, "split %s" % self.describe())
                self._check_splittable()
                steps.append("split")
            return Plan("create", after=self._predict(parent, size), steps=steps)
        self._check_lineage(before)
        if self.is_filesystem:
            self.usable(before)
        if self.params["split"] and before.get("parent") is not None:
            self.backend.require(split_ability, "split %s" % self.describe())
            self._check_splittable()
            after = dict(before, parent=None, parent_snapshot=None)
            if "se_type" in before:
                after["se_type"] = "LUN"
            return Plan("split", after=after, steps=["split"])
        return Plan()

    def _check_splittable(self) -> None:
        """A backend that cannot split a file system clone while its parent has snapshots (libstoragemgmt may
        drop them to split: ``fs_split_with_parent_snapshots`` False) refuses it here, before anything is made,
        so that check mode says so too and no clone is left made but unsplit."""
        if not self.is_filesystem or getattr(self.backend, "fs_split_with_parent_snapshots", True):
            return
        snaps = [snap["name"] for snap in self.backend.list_fs_snapshots(self.parent)]
        if snaps:
            raise FileSystemBusyEx(
                "cannot split %s: the storage system may remove every snapshot of its parent '%s' to split it (%s); "
                "delete those snapshots first if that is what you want; nothing was changed"
                % (self.describe(), self.parent, ", ".join(sorted(snaps))))

    def _check_fs_deletable(self, before: dict) -> None:
        """What the backend refuses when it deletes a file system clone, refused here for check mode too."""
        reasons = []
        if before.get("state") in ("MOUNTED", "MOUNTED_READONLY"):
            reasons.append("is %s" % before["status"].replace("OK, ", ""))
        if before.get("export_clients") or before.get("access_grp_names"):
            reasons.append("is exported (to %s)" % ", ".join(
                list(before.get("export_clients") or []) + ["group " + g for g in before.get("access_grp_names") or []]))
        snaps = [snap["name"] for snap in self.backend.list_fs_snapshots(self.name)]
        if snaps:
            reasons.append("has snapshot(s) %s" % ", ".join(snaps))
        clones = [fs["name"] for fs in self.backend.list_filesystems() if fs.get("parent") == self.name]
        if clones:
            reasons.append("has clone(s) %s" % ", ".join(clones))
        if reasons:
            raise FileSystemBusyEx("%s %s; unmount/remove them first" % (self.describe(), " and ".join(reasons)))
        self.check_fs(self.name, "delete")

    def _check_lun_deletable(self, before: dict) -> None:
        """What the backend refuses when it deletes a LUN clone, refused here so that check mode says it too."""
        reasons = []
        if before.get("consistency_group"):
            reasons.append("is a member of consistency group '%s'" % before["consistency_group"])
        clones = [clone["name"] for clone in self.backend.list_clones(self.name)]
        if clones:
            reasons.append("has clones that depend on it (%s)" % ", ".join(clones))
        if before.get("access_grp_names"):
            reasons.append("is mapped to access group(s) %s" % ", ".join(before["access_grp_names"]))
        snaps = [snap["name"] for snap in self.backend.list_snapshots(self.name)]
        if snaps:
            reasons.append("has snapshot(s) %s" % ", ".join(snaps))
        if reasons:
            raise StorageElementBusyEx("%s %s; unmap/delete them first" % (self.describe(), " and ".join(reasons)))

    def _check_lineage(self, before: dict) -> None:
        """An existing object of this name must be a clone of the parent asked for, or provably
        have been one before a split; anything else is not the clone module's to change or delete."""
        wanted = self.parent + ("@" + self.snapshot if self.snapshot else "")
        what = "%s '%s'" % (self.source.noun, self.name)
        parent = before.get("parent")
        if parent is not None:
            if parent != self.parent or (self.snapshot is not None and before.get("parent_snapshot") != self.snapshot):
                origin = parent + ("@" + before["parent_snapshot"] if before.get("parent_snapshot") else "")
                raise InvalidValueEx("%s exists as a clone of %s, not of %s; nothing was changed"
                                     % (self.describe(), origin, wanted), "name")
            return
        origin = self._call("clone_origin", self.name)
        if origin is None:
            raise InvalidValueEx(
                "%s exists and is not a clone of %s: it was not made as a clone (or the backend cannot tell where a "
                "split clone came from), so the clone module leaves it alone; nothing was changed. Manage it with "
                "the %s module" % (what, wanted, "lun" if self.source.key == "lun" else "filesystem"), "name")
        made_from = origin["parent"] + ("@" + origin["parent_snapshot"] if origin.get("parent_snapshot") else "")
        if origin["parent"] != self.parent or (self.snapshot is not None and origin.get("parent_snapshot") != self.snapshot):
            raise InvalidValueEx("%s was split from a clone of %s, not of %s; nothing was changed"
                                 % (what, made_from, wanted), "name")
        current = self._call("get", self.parent) if origin.get("parent_uuid") else None
        if current is not None and current.get("uuid") and current["uuid"] != origin["parent_uuid"]:
            raise InvalidValueEx(
                "%s was cloned from an earlier %s '%s' (uuid %s), not from the current one (uuid %s); nothing was "
                "changed" % (what, self.source.noun, self.parent, origin["parent_uuid"], current["uuid"]), "name")

    def _predict(self, parent: dict, size: int) -> dict:
        split = self.params["split"]
        if self.source.clone_kind == "storage_element":
            return records.make(
                "storage_element", name=self.name, uuid=None,
                se_type="SNAPCLONE" if self.snapshot and not split else "LUN", size=size, thin=parent.get("thin"),
                vol_group_name=parent.get("vol_group_name"), access_grp_names=[], qos=parent.get("qos"),
                state="ONLINE", status="to be created", parent=None if split else self.parent,
                parent_snapshot=None if split else self.snapshot)
        return records.make(
            "file_system", name=self.name, uuid=None, size=size, free_sz=parent.get("free_sz") or 0,
            mount_options=list(parent.get("mount_options") or []), export_opts=[], state="UNMOUNTED",
            status="to be created", vol_group_name=parent.get("vol_group_name"),
            parent=None if split else self.parent, parent_snapshot=None if split else self.snapshot)

    def apply(self, plan, before, run):
        for step in plan.steps:
            if step == "create":
                run(self._call("create_clone", self.name, self.parent, self.snapshot))
            elif step == "split":
                run(self._call("split_clone", self.name))
            elif step == "delete":
                run(self._call("delete_clone", self.name, False))


def snapshot_resource(backend, params: dict) -> Resource:
    """The resource of a ``snapshot`` task: a rotation (``prefix``), a group snapshot
    (``consistency_group``) or one snapshot of a LUN or file system."""
    # imported here: a plain snapshot task does not compile the other two
    if params.get("prefix") is not None:
        from ansible_collections.stormgmt.core.plugins.module_utils._rotation import RotationResource
        return RotationResource(backend, params)
    for option in ("every", "keep", "max_age"):
        if params.get(option) is not None:
            raise InvalidValueEx("%s belongs to the rotation form of the snapshot module: give prefix instead of "
                                 "name" % option, option)
    if params.get("consistency_group") is not None:
        from ansible_collections.stormgmt.core.plugins.module_utils._consistency_group import GroupSnapshotResource
        return GroupSnapshotResource(backend, params)
    return SnapshotResource(backend, params)


# what the module glue reads of a resource class when the task is too bad to build one
snapshot_resource.kind = "snapshot"
snapshot_resource.noun = "snapshot"


snapshot_resource.kind = "snapshot"  # for messages about input too bad to build the resource
