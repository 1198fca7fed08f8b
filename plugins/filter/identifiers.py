# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation of each filter: the YAML file of the same name beside this one (iqn.yml, ...).

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.plugin_utils._identifiers import normalize, size_bytes


def iqn(value):
    return normalize("iqn", value)


def wwpn(value):
    return normalize("wwpn", value)


def initiator(value):
    return normalize("initiator", value)


def nfs_client(value):
    return normalize("nfs_client", value)


class FilterModule:
    """Normalise storage identifiers and sizes the way the stormgmt.core modules do."""

    def filters(self):
        return {
            "iqn": iqn,
            "wwpn": wwpn,
            "initiator": initiator,
            "nfs_client": nfs_client,
            "size_bytes": size_bytes,
        }
