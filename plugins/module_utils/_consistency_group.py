# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups and their group snapshots, as resources. Private to this collection.

A consistency group is a named set of LUNs (and file systems, where the backend reports
``cg_filesystems: YES``) on one server; a member is in one group at most. A group snapshot
holds one snapshot of every member, all of one point in time, each named as the group
snapshot; it is created, restored and deleted as a whole.
"""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin
from ansible_collections.stormgmt.core.plugins.module_utils.records import ABILITY_AVAILABLE, SE_BUSY_STATES


def consistency_group_argument_spec() -> dict:
    return dict(
        name=dict(type="str", required=True),
        luns=dict(type="list", elements="str"),
        filesystems=dict(type="list", elements="str"),
        append=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
    )


def _names(values, what: str):
    """Validated names in the order given, duplicates dropped; None stays None (not managed)."""
    if values is None:
        return None
    out = []
    for value in values:
        name = validate_name(value, what)
        if name not in out:
            out.append(name)
    return out


def dependent_clones(backend, luns, filesystems, snapshot: str) -> list:
    """Clones that depend on the snapshot ``snapshot`` of any of ``luns`` / ``filesystems``."""
    found = []
    for lun in luns:
        found.extend(clone["name"] for clone in backend.list_clones(lun) if clone.get("parent_snapshot") == snapshot)
    if filesystems:
        wanted = set(filesystems)
        found.extend(fs["name"] for fs in backend.list_filesystems()
                     if fs.get("parent") in wanted and fs.get("parent_snapshot") == snapshot)
    return sorted(found)


class ConsistencyGroupResource(Resource):
    kind = "consistency_group"
    noun = "consistency group"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "consistency group name")
        self.luns = _names(params.get("luns"), "LUN name")
        self.filesystems = _names(params.get("filesystems"), "file system name")

    def describe(self) -> str:
        return "consistency group '%s'" % self.name

    def read(self):
        self.backend.require("consistency_group", "manage %s" % self.describe())
        return self.backend.get_consistency_group(self.name)

    def plan(self, before):
        if self.params["state"] == "absent":
            return self._plan_absent(before)
        if self.filesystems:
            self.backend.require("cg_filesystems", "put file systems into %s" % self.describe())
        current = before or records.make("consistency_group", name=self.name, uuid=None, luns=[], filesystems=[],
                                         status="to be created")
        add_luns, remove_luns = self._changes(current["luns"], self.luns, "LUN", self._lun)
        add_fs, remove_fs = self._changes(current["filesystems"], self.filesystems, "file system", self._filesystem)
        after = dict(current, luns=sorted(set(current["luns"]) - set(remove_luns) | set(add_luns)),
                     filesystems=sorted(set(current["filesystems"]) - set(remove_fs) | set(add_fs)))
        if before is None:
            return Plan("create", after=after, steps=["create"])
        changes = dict((key, value) for key, value in (
            ("add_luns", add_luns), ("remove_luns", remove_luns),
            ("add_filesystems", add_fs), ("remove_filesystems", remove_fs)) if value)
        if not changes:
            return Plan()
        return Plan("update", after=after, steps=["update"], changes=changes)

    def _lun(self, name: str):
        return self.backend.get_lun(name)

    def _filesystem(self, name: str):
        if not isinstance(self.backend, FileSystemPlugin):
            return None
        return self.backend.get_filesystem(name)

    def _changes(self, current: list, wanted, noun: str, lookup) -> tuple:
        """(names to add, names to remove). Wanted names are compared as the server spells them
        (its record's name), so no spelling of a member lands in the group twice; every name to
        add exists and is in no other group."""
        if wanted is None:
            return [], []
        key = "luns" if noun == "LUN" else "filesystems"
        canonical = []
        for name in wanted:
            if name not in current:
                record = lookup(name)
                if record is None:
                    raise OperationPreReqNotMetEx("%s '%s' does not exist, so %s cannot hold it"
                                                  % (noun, name, self.describe()), key)
                name = record["name"]
                other = record.get("consistency_group")
                if other not in (None, self.name):
                    raise InvalidValueEx("%s '%s' is already in consistency group '%s'; a %s is in one group at "
                                         "most" % (noun, name, other, noun), key)
            if name not in canonical:
                canonical.append(name)
        add = [name for name in canonical if name not in current]
        remove = [] if self.params["append"] else [name for name in current if name not in canonical]
        return add, remove

    def _plan_absent(self, before) -> Plan:
        if before is None:
            return Plan()
        snaps = []
        if self.backend.ability("cg_snapshot") in ABILITY_AVAILABLE:
            snaps = self.backend.list_cg_snapshots(self.name)
        if snaps:
            names = [snap["name"] for snap in snaps]
            if not self.params["force"]:
                raise StorageElementBusyEx("%s has group snapshot(s) %s; delete them first or set force: true (they "
                                           "are deleted with the group)" % (self.describe(), ", ".join(names)))
            for snap in snaps:
                clones = dependent_clones(self.backend, snap["luns"], snap["filesystems"], snap["name"])
                if clones:
                    raise StorageElementBusyEx(
                        "%s: clone(s) %s depend on the snapshots of its group snapshot '%s': split or delete them first"
                        % (self.describe(), ", ".join(clones), snap["name"]))
        return Plan("delete", after=None, steps=["delete"])

    def apply(self, plan, before, run):
        step = plan.steps[0]
        if step == "create":
            run(self.backend.create_consistency_group(self.name, list(plan.after["luns"]),
                                                      list(plan.after["filesystems"])))
        elif step == "update":
            run(self.backend.update_consistency_group(self.name, plan.details["changes"]))
        elif step == "delete":
            run(self.backend.delete_consistency_group(self.name, self.params["force"]))


class GroupSnapshotResource(Resource):
    """``snapshot`` with ``consistency_group`` and ``name``: one group snapshot."""

    kind = "group_snapshot"
    noun = "group snapshot"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "snapshot name")
        self.group = validate_name(params["consistency_group"], "consistency group name")

    def describe(self) -> str:
        return "group snapshot '%s' of consistency group '%s'" % (self.name, self.group)

    def _group(self):
        return self.backend.get_consistency_group(self.group)

    def read(self):
        self.backend.require("consistency_group", "use %s" % self.describe())
        if self._group() is None:
            return None
        self.backend.require("cg_snapshot", "use %s" % self.describe())
        return self.backend.get_cg_snapshot(self.group, self.name)

    def plan(self, before):
        state = self.params["state"]
        if state == "absent":
            if before is None:
                return Plan()
            clones = dependent_clones(self.backend, before["luns"], before["filesystems"], self.name)
            if clones:
                raise StorageElementBusyEx("%s: clone(s) %s depend on its snapshots: split or delete them first"
                                           % (self.describe(), ", ".join(clones)))
            return Plan("delete", after=None, steps=["delete"])
        group = self._group()
        if group is None:
            raise OperationPreReqNotMetEx("consistency group '%s' does not exist" % self.group, "consistency_group")
        if state == "present":
            if before is not None:
                return Plan()
            return Plan("create", after=self._predict(group), steps=["create"])
        if before is None:
            raise OperationPreReqNotMetEx("%s does not exist, so it cannot be restored" % self.describe(), "name")
        if self._current(before):
            return Plan()
        self.backend.require("cg_snapshot_restore", "restore %s" % self.describe())
        self._check_restore(before)
        return Plan("restore", after=before, steps=["restore"])

    def _predict(self, group: dict) -> dict:
        if not group["luns"] and not group["filesystems"]:
            raise OperationPreReqNotMetEx("consistency group '%s' has no members to snapshot" % self.group,
                                          "consistency_group")
        size = 0
        for lun in group["luns"]:
            record = self.backend.get_lun(lun)
            self._check_member(record, "LUN", lun)
            if self.backend.get_snapshot(lun, self.name) is not None:
                raise InvalidValueEx("member LUN '%s' already has a snapshot '%s'; choose another name for the group "
                                     "snapshot" % (lun, self.name), "name")
            size += record["size"]
        for fs in group["filesystems"]:
            record = self.backend.get_filesystem(fs)
            self._check_member(record, "file system", fs)
            if self.backend.get_fs_snapshot(fs, self.name) is not None:
                raise InvalidValueEx("member file system '%s' already has a snapshot '%s'; choose another name for the "
                                     "group snapshot" % (fs, self.name), "name")
            size += record["size"]
        return records.make(
            "cg_snapshot", name=self.name, uuid=None, consistency_group=self.group, luns=list(group["luns"]),
            filesystems=list(group["filesystems"]), size=size, state="ONLINE", status="to be created")

    def _check_member(self, record, noun: str, name: str) -> None:
        if record is None:
            raise OperationPreReqNotMetEx("member %s '%s' of consistency group '%s' does not exist"
                                          % (noun, name, self.group), "consistency_group")
        if record.get("state") in SE_BUSY_STATES:
            raise StorageElementBusyEx("member %s '%s' of consistency group '%s' is %s (a job is running on it); "
                                       "run the task again when it is done" % (noun, name, self.group, record["state"]))

    def _current(self, before: dict) -> bool:
        """True when every member still holds the group snapshot's content (restore changes nothing)."""
        for lun in before["luns"]:
            if self.backend.get_lun(lun) is None or not self.backend.snapshot_is_current(lun, self.name):
                return False
        for fs in before["filesystems"]:
            if self.backend.get_filesystem(fs) is None or not self.backend.fs_snapshot_is_current(fs, self.name):
                return False
        return True

    def _check_restore(self, before: dict) -> None:
        for lun in before["luns"]:
            record = self.backend.get_lun(lun)
            if record is None:
                raise OperationPreReqNotMetEx("LUN '%s' of %s does not exist any more" % (lun, self.describe()), "name")
            if record.get("access_grp_names"):
                raise SnapRestoreNotSafeEx(
                    "restoring %s would change the data of LUN '%s' under the initiators of access group(s) %s; "
                    "unmap it first" % (self.describe(), lun, ", ".join(record["access_grp_names"])))
        for fs in before["filesystems"]:
            record = self.backend.get_filesystem(fs)
            if record is None:
                raise OperationPreReqNotMetEx("file system '%s' of %s does not exist any more" % (fs, self.describe()),
                                              "name")
            if record.get("state") in ("MOUNTED", "MOUNTED_READONLY"):
                raise SnapRestoreNotSafeEx("restoring %s would change the files of file system '%s' under its mounts "
                                           "(%s); unmount it first" % (self.describe(), fs, record.get("status")))

    def apply(self, plan, before, run):
        step = plan.steps[0]
        if step == "create":
            run(self.backend.create_cg_snapshot(self.group, self.name))
        elif step == "delete":
            run(self.backend.delete_cg_snapshot(self.group, self.name))
        elif step == "restore":
            run(self.backend.restore_cg_snapshot(self.group, self.name))
