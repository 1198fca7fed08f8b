# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the ``access_group`` module wants, as a resource for the engine. Private to this collection."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import (
    initiator_type,
    normalize_initiator,
    normalize_nfs_client,
    unique,
    validate_name,
)
from ansible_collections.stormgmt.core.plugins.module_utils._units import parse_count
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin
from ansible_collections.stormgmt.core.plugins.module_utils.records import ABILITY_AVAILABLE

MAX_LUN_ID = 16383  # SAM-5 flat space addressing


def access_group_argument_spec() -> dict:
    return dict(
        name=dict(type="str", required=True),
        initiators=dict(type="list", elements="str"),
        clients=dict(type="list", elements="str"),
        luns=dict(type="list", elements="raw"),
        chap=dict(
            type="dict",
            options=dict(
                username=dict(type="str"),
                password=dict(type="str", no_log=True),
                mutual_username=dict(type="str"),
                mutual_password=dict(type="str", no_log=True),
                state=dict(type="str", default="present", choices=["present", "absent"]),
            ),
            required_if=[("state", "present", ("username", "password"))],
            required_together=[("mutual_username", "mutual_password")],
        ),
        append=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        force=dict(type="bool", default=False),
    )


def _is_client(entry: str) -> bool:
    """NFS clients and initiators share grp_entries; initiators have a fixed shape."""
    return not (entry[:4] in ("iqn.", "eui.", "naa.") or (entry.startswith("0x") and len(entry) == 18))


def parse_luns(values) -> list:
    """[name or {name, lun_id}] -> [{name, lun_id or None}], checked."""
    out = []
    seen_names, seen_ids = set(), set()
    for value in values:
        if isinstance(value, str):
            name, lun_id = value, None
        elif isinstance(value, dict):
            unknown = set(value) - {"name", "lun_id"}
            if unknown or "name" not in value:
                raise ValueFormatEx("each luns entry is a LUN name or {name, lun_id}, got %r" % (value,), "luns")
            name, lun_id = value["name"], value.get("lun_id")
        else:
            raise ValueFormatEx("each luns entry is a LUN name or {name, lun_id}, got %r" % (value,), "luns")
        validate_name(name, "LUN name")
        if lun_id is not None:
            lun_id = parse_count(lun_id, "lun_id of LUN '%s'" % name, "luns")
            if not 0 <= lun_id <= MAX_LUN_ID:
                raise InvalidValueEx("lun_id %d of LUN '%s' is outside 0-%d" % (lun_id, name, MAX_LUN_ID), "luns")
            if lun_id in seen_ids:
                raise InvalidValueEx("lun_id %d is given to more than one LUN" % lun_id, "luns")
            seen_ids.add(lun_id)
        if name in seen_names:
            raise InvalidValueEx("LUN '%s' is listed more than once" % name, "luns")
        seen_names.add(name)
        out.append({"name": name, "lun_id": lun_id})
    return out


def check_chap(chap: dict) -> dict | None:
    """Validate the chap option; None means 'remove CHAP'."""
    if chap["state"] == "absent":
        return None
    for key in ("password", "mutual_password"):
        secret = chap.get(key)
        if secret is not None and not 12 <= len(secret) <= 255:
            # RFC 3720 section 8.2.1: at least 96 bits; most initiators insist on 12
            raise InvalidValueEx("chap %s must be 12 to 255 characters long" % key, "chap")
    if chap.get("mutual_password") is not None and chap["mutual_password"] == chap["password"]:
        raise InvalidValueEx("chap mutual_password must differ from password (RFC 3720 forbids one secret "
                             "for both directions)", "chap")
    return dict((key, chap.get(key)) for key in ("username", "password", "mutual_username", "mutual_password"))


class AccessGroupResource(Resource):
    kind = "access_group"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "access group name")
        self.initiators = None
        if params.get("initiators") is not None:
            self.initiators = unique(normalize_initiator(value) for value in params["initiators"])
        self.clients = None
        if params.get("clients") is not None:
            self.clients = unique(normalize_nfs_client(value) for value in params["clients"])
        self.luns = None if params.get("luns") is None else parse_luns(params["luns"])
        self.chap = None if params.get("chap") is None else check_chap(params["chap"])

    @staticmethod
    def read_many(resources):
        found = resources[0].backend.get_access_groups([resource.name for resource in resources])
        return [found.get(resource.name) for resource in resources]

    def describe(self) -> str:
        return "access group '%s'" % self.name

    def read(self):
        return self.backend.get_access_group(self.name)

    def plan(self, before):
        if self.params["state"] == "absent":
            if before is None:
                return Plan()
            self.backend.require("access_groups", "delete %s" % self.describe())
            mapped = [lun["name"] for lun in before.get("luns") or []]
            exports = self._exports_naming()
            if (mapped or exports) and not self.params["force"]:
                reasons, fixes = [], []
                if mapped:
                    reasons.append("still has LUN(s) %s mapped" % ", ".join(mapped))
                    fixes.append("unmap them")
                if exports:
                    reasons.append("is named in the export of file system(s) %s" % ", ".join(exports))
                    fixes.append("change the exports")
                raise StorageElementBusyEx("%s %s; %s first or set force: true (which removes these references, so "
                                           "that a new group of this name inherits no access)"
                                           % (self.describe(), " and ".join(reasons), " and ".join(fixes)))
            return Plan("delete", after=None, steps=["delete"], exports=exports)
        self.backend.require("access_groups", "manage %s" % self.describe())
        self._check_abilities()
        current = before or records.make("access_group", grp_name=self.name, grp_entries=[], luns=[])
        add, remove = self._entry_changes(current["grp_entries"])
        to_map, to_unmap = self._lun_changes(current.get("luns") or [])
        chap_change = self._chap_change(before, add)
        entries = sorted(set(current["grp_entries"]) - set(remove) | set(add))
        if not entries and not getattr(self.backend, "empty_access_groups", True):
            raise InvalidValueEx("%s would have no initiator or client; on the %s backend an access group needs at "
                                 "least one (delete the group instead)" % (self.describe(), self.backend.scheme),
                                 "initiators")
        after = dict(current, grp_entries=entries, luns=self._predict_luns(current.get("luns") or [], to_map, to_unmap))
        if chap_change is not None and getattr(self.backend, "chap_readable", True):
            after["chap_username"] = chap_change.get("username")
            after["mutual_chap_username"] = chap_change.get("mutual_username")
        if before is None:
            return Plan("create", after=after, steps=["create"])
        changes = {}
        if add:
            changes["add_entries"] = add
        if remove:
            changes["remove_entries"] = remove
        if to_map:
            changes["map"] = to_map
        if to_unmap:
            changes["unmap"] = to_unmap
        if chap_change is not None:
            changes["chap"] = chap_change or None
        if not changes:
            return Plan()
        return Plan("update", after=after, steps=["update"], changes=changes)

    def _exports_naming(self) -> list:
        """File systems whose export names this group: deleting the group must not leave them to a
        new group of the same name."""
        if not isinstance(self.backend, FileSystemPlugin) or self.backend.ability("nfs_export") not in ABILITY_AVAILABLE:
            return []
        return sorted(fs["name"] for fs in self.backend.list_filesystems()
                      if self.name in (fs.get("access_grp_names") or []))

    def _check_abilities(self) -> None:
        if not getattr(self.backend, "lun_numbers", True):
            chosen = [lun["name"] for lun in self.luns or [] if lun["lun_id"] is not None]
            if chosen:
                raise NoSuchOperationEx("cannot give LUN(s) %s a lun_id in %s: the %s backend neither takes nor "
                                        "reports LUN numbers (the storage server picks them); list the LUNs by name"
                                        % (", ".join(chosen), self.describe(), self.backend.scheme))
        kinds = set(initiator_type(entry) for entry in self.initiators or [])
        if kinds & {"iqn", "eui", "naa"}:
            self.backend.require("iscsi_initiators", "add iSCSI initiators to %s" % self.describe())
        if "wwpn" in kinds:
            self.backend.require("fc_initiators", "add FC WWPNs to %s" % self.describe())
        if self.chap:
            self.backend.require("chap", "set CHAP on %s" % self.describe())
            if self.chap.get("mutual_username"):
                self.backend.require("mutual_chap", "set mutual CHAP on %s" % self.describe())

    def _entry_changes(self, current: list) -> tuple:
        add, remove = [], []
        for wanted, of_kind in ((self.initiators, lambda e: not _is_client(e)), (self.clients, _is_client)):
            if wanted is None:
                continue
            have = [entry for entry in current if of_kind(entry)]
            add.extend(entry for entry in wanted if entry not in have)
            if not self.params["append"]:
                remove.extend(entry for entry in have if entry not in wanted)
        return add, remove

    def _lun_changes(self, current: list) -> tuple:
        if self.luns is None:
            return [], []
        mapped = dict((lun["name"], lun["lun_id"]) for lun in current)
        to_map = []
        for lun in self.luns:
            if lun["name"] in mapped and lun["lun_id"] in (None, mapped[lun["name"]]):
                continue
            if lun["name"] not in mapped and self.backend.get_lun(lun["name"]) is None:
                raise OperationPreReqNotMetEx("LUN '%s' does not exist, so %s cannot map it"
                                              % (lun["name"], self.describe()), "luns")
            to_map.append(lun)
        wanted = set(lun["name"] for lun in self.luns)
        to_unmap = [] if self.params["append"] else [name for name in mapped if name not in wanted]
        # a number given to one LUN may be held by another LUN that stays mapped
        keeps = dict((name, lun_id) for name, lun_id in mapped.items()
                     if name not in to_unmap and name not in set(lun["name"] for lun in to_map))
        for lun in to_map:
            for name, lun_id in keeps.items():
                if lun["lun_id"] is not None and lun_id == lun["lun_id"]:
                    raise InvalidValueEx("LUN number %d of %s is held by LUN '%s'" % (lun_id, self.describe(), name), "luns")
        return to_map, to_unmap

    def _predict_luns(self, current: list, to_map: list, to_unmap: list) -> list:
        remapped = set(lun["name"] for lun in to_map)
        luns = [dict(lun) for lun in current if lun["name"] not in to_unmap and lun["name"] not in remapped]
        if not getattr(self.backend, "lun_numbers", True):
            luns.extend({"name": lun["name"], "lun_id": None} for lun in to_map)
            return sorted(luns, key=lambda lun: lun["name"])
        used = set(lun["lun_id"] for lun in luns) | set(lun["lun_id"] for lun in to_map if lun["lun_id"] is not None)
        for lun in to_map:
            lun_id = lun["lun_id"]
            if lun_id is None:
                lun_id = self.backend.min_lun_id
                while lun_id in used:
                    lun_id += 1
                used.add(lun_id)
            luns.append({"name": lun["name"], "lun_id": lun_id})
        return sorted(luns, key=lambda lun: lun["lun_id"])

    def _chap_change(self, before, add: list):
        """None: leave CHAP alone; {}: remove it; a dict: set it."""
        if self.params.get("chap") is None:
            return None
        if not getattr(self.backend, "chap_readable", True):
            # write-only CHAP: set with the group, and for initiators added to it; an existing
            # group's accounts cannot be read, so they are not compared (nor removed)
            if before is None or (add and self.chap is not None):
                return self.chap
            return None
        if self.chap is None:
            return {} if before and before.get("chap_username") else None
        if (before and before.get("chap_username") == self.chap["username"]
                and before.get("mutual_chap_username") == self.chap.get("mutual_username")
                and self.backend.chap_matches(self.name, self.chap)):
            return None
        return self.chap

    def apply(self, plan, before, run):
        step = plan.steps[0]
        if step == "create":
            run(self.backend.create_access_group(self.name, list(plan.after["grp_entries"]), self.luns or [], self.chap))
        elif step == "update":
            run(self.backend.update_access_group(self.name, plan.details["changes"]))
        elif step == "delete":
            run(self.backend.delete_access_group(self.name, self.params["force"]))
