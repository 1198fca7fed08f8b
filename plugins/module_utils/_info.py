# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read-only facts for ``storage_info``. Private to this collection."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin
from ansible_collections.stormgmt.core.plugins.module_utils.records import ABILITY_AVAILABLE

SUBSETS = ("server", "abilities", "pools", "luns", "snapshots", "access_groups", "filesystems",
           "consistency_groups", "group_snapshots", "rotation")


def info_argument_spec() -> dict:
    return dict(
        gather_subset=dict(type="list", elements="str", default=["all"], choices=["all"] + list(SUBSETS)),
        rotation=dict(type="dict", options=dict(prefix=dict(type="str"), every=dict(type="str"))),
    )


def gather(backend, params: dict) -> dict:
    wanted = set(params["gather_subset"])
    if "all" in wanted:
        wanted = set(SUBSETS)
    array = isinstance(backend, StorageArrayPlugin)
    files = isinstance(backend, FileSystemPlugin)
    abilities = backend.get_abilities()
    groups = array and abilities.get("consistency_group") in ABILITY_AVAILABLE
    group_snapshots = groups and abilities.get("cg_snapshot") in ABILITY_AVAILABLE
    storage = {}
    if "server" in wanted:
        storage["server"] = backend.get_server()
    if "abilities" in wanted:
        storage["abilities"] = abilities
    if "pools" in wanted:
        storage["pools"] = backend.list_pools()
    if "luns" in wanted:
        storage["luns"] = backend.list_luns() if array else []
    if "snapshots" in wanted or "rotation" in wanted:
        lun_snaps = backend.list_snapshots() if array else []
        fs_snaps = backend.list_fs_snapshots() if files else []
        if "snapshots" in wanted:
            storage["snapshots"] = lun_snaps + fs_snaps
    if "access_groups" in wanted:
        storage["access_groups"] = backend.list_access_groups() if array else []
    if "filesystems" in wanted:
        storage["filesystems"] = backend.list_filesystems() if files else []
    if "consistency_groups" in wanted:
        storage["consistency_groups"] = backend.list_consistency_groups() if groups else []
    if "group_snapshots" in wanted or "rotation" in wanted:
        cg_snapshots = backend.list_cg_snapshots() if group_snapshots else []
        if "group_snapshots" in wanted:
            storage["group_snapshots"] = cg_snapshots
    if "rotation" in wanted:
        storage["rotation"] = rotation_status(backend, lun_snaps, fs_snaps, cg_snapshots,
                                              params.get("rotation") or {})
    return {"storage": storage}


def rotation_status(backend, lun_snaps: list, fs_snaps: list, cg_snaps: list, options: dict) -> list:
    """One status per series: (parent type, parent, prefix) with its count, newest and next due time."""
    # imported here: storage_info without the rotation subset does not compile the planner
    from ansible_collections.stormgmt.core.plugins.module_utils import _rotation
    prefix = options.get("prefix")
    if prefix is not None:
        _rotation.check_prefix(prefix)
    every = None if options.get("every") is None else _rotation.parse_duration(options["every"], "rotation.every")
    series = {}
    kinds = (("lun", lun_snaps, "parent"), ("filesystem", fs_snaps, "parent"),
             ("consistency_group", cg_snaps, "consistency_group"))
    for parent_type, snaps, parent_key in kinds:
        for snap in snaps:
            if parent_type != "consistency_group" and snap.get("consistency_group"):
                continue  # part of a group snapshot: counted in the group's series
            found = _rotation.split_generated(snap["name"])
            if found is None or (prefix is not None and found[0] != prefix):
                continue
            created = snap.get("created")
            entry = _rotation.Entry(snap["name"], None if not created else _parse(created))
            series.setdefault((parent_type, snap[parent_key], found[0]), []).append(entry)
    now = backend.server_time()
    out = []
    for (parent_type, parent, series_prefix), entries in sorted(series.items()):
        status = _rotation.status(entries, series_prefix, every, now)
        out.append(dict(status, parent_type=parent_type, parent=parent,
                        every=None if every is None else _rotation.format_duration(every)))
    return out


def _parse(text: str):
    from ansible_collections.stormgmt.core.plugins.module_utils.records import parse_time
    return parse_time(text)
