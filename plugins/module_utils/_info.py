# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read-only facts for ``storage_info``. Private to this collection."""

from __future__ import annotations

import fnmatch
import unicodedata

from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin
from ansible_collections.stormgmt.core.plugins.module_utils.records import ABILITY_AVAILABLE

SUBSETS = ("server", "abilities", "pools", "luns", "snapshots", "access_groups", "filesystems",
           "consistency_groups", "group_snapshots", "rotation", "jobs")
# the cheapest useful answer: who the server is and what it can do, no object listed
MINIMUM = ("server", "abilities")
# subset -> the key of its records that names and patterns are matched against
NAME_KEYS = dict(pools="vol_name", luns="name", snapshots="name", access_groups="grp_name", filesystems="name",
                 consistency_groups="name", group_snapshots="name", rotation="parent")
# longer than any name a backend holds; keeps a pattern's matching cost small
MAX_FILTER = 255


def info_argument_spec() -> dict:
    return dict(
        gather_subset=dict(type="list", elements="str", default=["all"], choices=["all", "minimum"] + list(SUBSETS)),
        names=dict(type="list", elements="str"),
        name_pattern=dict(type="str"),
        rotation=dict(type="dict", options=dict(prefix=dict(type="str"), every=dict(type="str"))),
    )


def info_module_kwargs() -> dict:
    return dict(mutually_exclusive=[("names", "name_pattern")])


def _check_filter(text, what: str) -> str:
    """A name or pattern to match: 1 to 255 characters, no line break, control or format character."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_FILTER:
        raise InvalidValueEx("%s must be 1 to %d characters, got %r" % (what, MAX_FILTER, text), what)
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise InvalidValueEx("%s %r holds a line break or control character (U+%04X)" % (what, text, ord(char)), what)
    return text


def name_filter(params: dict):
    """``None`` (keep every record) or a function telling whether a name is wanted.

    ``names`` are exact; ``name_pattern`` is a shell-style glob (``*``, ``?``, ``[...]``), matched
    case-sensitively against the whole name: no regular expression, so no pattern can make the
    matching slow.
    """
    if params.get("names") is not None:
        if not params["names"]:
            raise InvalidValueEx("names is empty: give at least one name, or leave names out", "names")
        wanted = frozenset(_check_filter(name, "names") for name in params["names"])
        return lambda name: name in wanted
    if params.get("name_pattern") is not None:
        pattern = _check_filter(params["name_pattern"], "name_pattern")
        return lambda name: isinstance(name, str) and fnmatch.fnmatchcase(name, pattern)
    return None


def gather(backend, params: dict) -> dict:
    wanted = set(params["gather_subset"])
    if "all" in wanted:
        wanted = set(SUBSETS)
    if "minimum" in wanted:
        wanted.discard("minimum")
        wanted.update(MINIMUM)
    keep = name_filter(params)  # before any read: bad input reads nothing
    storage = _gather(backend, params, wanted)
    if keep is not None:
        for subset, key in NAME_KEYS.items():
            if subset in storage:
                storage[subset] = [record for record in storage[subset] if keep(record.get(key))]
    return {"storage": storage}


def _gather(backend, params: dict, wanted: set) -> dict:
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
    if "jobs" in wanted:
        storage["jobs"] = backend.list_jobs() if abilities.get("async_jobs") == "YES" else []
    return storage


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
