# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the ``lun`` module wants, as a resource for the engine. Private to this collection."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size, parse_size, round_up
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    MissingKeyEx,
    NoSuchOperationEx,
    StorageElementBusyEx,
)


def lun_argument_spec() -> dict:
    return dict(
        name=dict(type="str", required=True),
        pool=dict(type="str"),
        size=dict(type="raw"),
        thin=dict(type="bool"),
        qos=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        allow_shrink=dict(type="bool", default=False),
        force=dict(type="bool", default=False),
    )


def pool_free(backend, pool: str) -> int | None:
    for record in backend.list_pools():
        if record["vol_name"] == pool:
            return record["vol_free_sz"]
    names = ", ".join(record["vol_name"] for record in backend.list_pools())
    raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (pool, names), "pool")


def check_qos(backend, qos: str | None) -> None:
    if qos is None:
        return
    backend.require("qos", "set QoS %r" % qos)
    offered = [record["value"] for record in backend.list_qos()]
    if offered and qos not in offered:
        raise InvalidValueEx("QoS %r is not offered by this server; choose one of %s" % (qos, ", ".join(offered)), "qos")


class LunResource(Resource):
    kind = "lun"
    noun = "LUN"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.name = validate_name(params["name"], "LUN name")
        if params.get("pool") is not None:
            validate_name(params["pool"], "pool name")
        self.size = None
        if params.get("size") is not None:
            self.size = round_up(parse_size(params["size"], "size"), backend.block_size)

    @staticmethod
    def read_many(resources):
        found = resources[0].backend.get_luns([resource.name for resource in resources])
        return [found.get(resource.name) for resource in resources]

    def describe(self) -> str:
        return "LUN '%s'" % self.name

    def read(self):
        return self.backend.get_lun(self.name)

    def plan(self, before):
        if self.params["state"] == "absent":
            return self._plan_absent(before)
        if before is None:
            return self._plan_create()
        return self._plan_update(before)

    def _plan_absent(self, before) -> Plan:
        if before is None:
            return Plan()
        self.backend.require("delete_lun", "delete %s" % self.describe())
        clones = [clone["name"] for clone in self.backend.list_clones(self.name)]
        if clones:
            raise StorageElementBusyEx("%s has clones that depend on it (%s): split or delete them first"
                                       % (self.describe(), ", ".join(clones)))
        if not self.params["force"]:
            snaps = [snap["name"] for snap in self.backend.list_snapshots(self.name)]
            reasons = []
            if before.get("consistency_group"):
                reasons.append("is a member of consistency group '%s'" % before["consistency_group"])
            if before["access_grp_names"]:
                reasons.append("is mapped to access group(s) %s" % ", ".join(before["access_grp_names"]))
            if snaps:
                reasons.append("has snapshot(s) %s" % ", ".join(snaps))
            if reasons:
                raise StorageElementBusyEx(
                    "%s %s; unmap/delete them first or set force: true" % (self.describe(), " and ".join(reasons)))
        return Plan("delete", after=None, steps=["delete"])

    def _plan_create(self) -> Plan:
        params = self.params
        if self.size is None:
            raise MissingKeyEx("%s does not exist and size is not set: give a size to create it" % self.describe(), "size")
        thin = True if params["thin"] is None else params["thin"]
        self.backend.require("create_lun", "create %s" % self.describe())
        self.backend.require("thin_provisioning" if thin else "thick_provisioning",
                             "create %s %s" % ("thin" if thin else "thick", self.describe()))
        check_qos(self.backend, params["qos"])
        pool = params["pool"] or self.backend.default_pool()
        free = pool_free(self.backend, pool)
        if self.size > free:
            raise InvalidValueEx("%s needs %s but pool '%s' has %s free"
                                 % (self.describe(), format_size(self.size), pool, format_size(free)), "size")
        after = records.make(
            "storage_element", name=self.name, uuid=None, se_type="LUN", size=self.size,
            thin=thin if getattr(self.backend, "thin_reported", True) else None,
            vol_group_name=pool, access_grp_names=[], qos=params["qos"], state="ONLINE", status="to be created")
        return Plan("create", after=after, steps=["create"], pool=pool, thin=thin)

    def _plan_update(self, before) -> Plan:
        params = self.params
        steps = []
        after = dict(before)
        if params["pool"] is not None and params["pool"] != before["vol_group_name"]:
            raise InvalidValueEx("%s is in pool '%s', not '%s'; moving a LUN between pools is not supported"
                                 % (self.describe(), before["vol_group_name"], params["pool"]), "pool")
        if params["thin"] is not None and before.get("thin") is not None and params["thin"] != before["thin"]:
            raise NoSuchOperationEx("%s is %s; provisioning cannot be changed on an existing LUN"
                                    % (self.describe(), "thin" if before["thin"] else "thick"))
        if self.size is not None and self.size != before["size"]:
            if self.size < before["size"]:
                if not params["allow_shrink"]:
                    raise InvalidValueEx(
                        "%s is %s; size %s would shrink it and lose the data past the new end; "
                        "set allow_shrink: true to shrink it" % (
                            self.describe(), format_size(before["size"]), format_size(self.size)), "size")
                self.backend.require("shrink_lun", "shrink %s" % self.describe())
            else:
                self.backend.require("resize_lun", "grow %s" % self.describe())
                grow = self.size if before.get("thin") else self.size - before["size"]
                free = pool_free(self.backend, before["vol_group_name"])
                if grow > free:
                    raise InvalidValueEx("%s at %s needs %s but pool '%s' has %s free" % (
                        self.describe(), format_size(self.size), format_size(grow), before["vol_group_name"],
                        format_size(free)), "size")
            steps.append("resize")
            after["size"] = self.size
        if params["qos"] is not None and params["qos"] != before["qos"]:
            check_qos(self.backend, params["qos"])
            steps.append("qos")
            after["qos"] = params["qos"]
        if not steps:
            return Plan()
        return Plan("update", after=after, steps=steps)

    def apply(self, plan, before, run):
        params = self.params
        for step in plan.steps:
            if step == "create":
                run(self.backend.create_lun(self.name, plan.details["pool"], self.size, plan.details["thin"], params["qos"]))
            elif step == "resize":
                run(self.backend.resize_lun(self.name, self.size))
            elif step == "qos":
                run(self.backend.set_lun_qos(self.name, params["qos"]))
            elif step == "delete":
                run(self.backend.delete_lun(self.name, params["force"]))
