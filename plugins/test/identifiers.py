# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Documentation of each test: the YAML file of the same name beside this one (iqn.yml, ...).

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.plugin_utils._identifiers import is_valid


def iqn(value):
    return is_valid("iqn", value)


def wwpn(value):
    return is_valid("wwpn", value)


def initiator(value):
    return is_valid("initiator", value)


def nfs_client(value):
    return is_valid("nfs_client", value)


class TestModule:
    """Tell whether a value is a storage identifier the stormgmt.core modules accept."""

    def tests(self):
        return {
            "iqn": iqn,
            "wwpn": wwpn,
            "initiator": initiator,
            "nfs_client": nfs_client,
        }
