# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read-only facts for ``storage_info``. Private to this collection."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin

SUBSETS = ("server", "abilities", "pools", "luns", "snapshots", "access_groups", "filesystems")


def info_argument_spec() -> dict:
    return dict(
        gather_subset=dict(type="list", elements="str", default=["all"], choices=["all"] + list(SUBSETS)),
    )


def gather(backend, params: dict) -> dict:
    wanted = set(params["gather_subset"])
    if "all" in wanted:
        wanted = set(SUBSETS)
    array = isinstance(backend, StorageArrayPlugin)
    files = isinstance(backend, FileSystemPlugin)
    storage = {}
    if "server" in wanted:
        storage["server"] = backend.get_server()
    if "abilities" in wanted:
        storage["abilities"] = backend.get_abilities()
    if "pools" in wanted:
        storage["pools"] = backend.list_pools()
    if "luns" in wanted:
        storage["luns"] = backend.list_luns() if array else []
    if "snapshots" in wanted:
        storage["snapshots"] = (backend.list_snapshots() if array else []) + (backend.list_fs_snapshots() if files else [])
    if "access_groups" in wanted:
        storage["access_groups"] = backend.list_access_groups() if array else []
    if "filesystems" in wanted:
        storage["filesystems"] = backend.list_filesystems() if files else []
    return {"storage": storage}
