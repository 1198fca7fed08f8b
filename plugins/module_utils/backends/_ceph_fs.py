# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""File systems of the ceph backend (CephFS). Private to this collection."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils.errors import NoSuchOperationEx


def fs_abilities(backend) -> dict:
    return {}


def _none(backend, *args, **kwargs):
    if backend.fs_name is None:
        return []
    raise NoSuchOperationEx("the ceph backend has no file systems yet")


list_filesystems = list_fs_snapshots = _none


def get_filesystem(backend, name):
    return None


def get_fs_snapshot(backend, filesystem, name):
    return None


def _unsupported(backend, *args, **kwargs):
    raise NoSuchOperationEx("the ceph backend has no file systems yet")


create_filesystem = resize_filesystem = set_export = delete_filesystem = create_fs_snapshot = _unsupported
delete_fs_snapshot = restore_fs_snapshot = fs_snapshot_is_current = create_fs_clone = split_fs_clone = _unsupported
