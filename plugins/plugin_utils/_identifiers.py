# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Identifier and size parsers for the filter and test plugins. Private to this collection.

The parsing itself lives in module_utils (``_identifiers``, ``_units``), where the modules
use it: a filter and a module always agree on what is valid and on the normalised form.
This file only adapts those parsers to Jinja: plugin errors become ``AnsibleFilterError``.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

try:
    # ansible-core 2.19 tags template values: name the plain type (int), not the tagged class
    from ansible.module_utils.datatag import native_type_name
except ImportError:  # ansible-core < 2.19
    def native_type_name(value) -> str:
        return type(value).__name__

from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import (
    normalize_initiator,
    normalize_iqn,
    normalize_nfs_client,
    normalize_wwpn,
)
from ansible_collections.stormgmt.core.plugins.module_utils._units import parse_size, round_up
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    IPluginException,
    ValueFormatEx,
)

# name of the filter/test -> (what it is, for messages; the parser)
PARSERS = {
    "iqn": ("iSCSI qualified name", normalize_iqn),
    "wwpn": ("FC WWPN", normalize_wwpn),
    "initiator": ("initiator", normalize_initiator),
    "nfs_client": ("NFS client", normalize_nfs_client),
}


def normalize(kind: str, value) -> str:
    """Return the normalised form of ``value`` or raise AnsibleFilterError with the parser's message."""
    what, parser = PARSERS[kind]
    if not isinstance(value, str):
        raise AnsibleFilterError("stormgmt.core.%s: expected a string holding an %s, got %s %r"
                                 % (kind, what, native_type_name(value), value))
    try:
        return parser(value)
    except IPluginException as error:
        raise AnsibleFilterError("stormgmt.core.%s: %s" % (kind, error.msg)) from None


def is_valid(kind: str, value) -> bool:
    """True when ``value`` is a string the parser accepts.

    A malformed value is simply not valid; a missing prerequisite (netaddr, for the
    separated WWPN forms and for addresses) is an error, not a silent False.
    """
    if not isinstance(value, str):
        return False
    try:
        PARSERS[kind][1](value)
    except (ValueFormatEx, InvalidValueEx):
        return False
    except IPluginException as error:
        raise AnsibleFilterError("stormgmt.core.%s: %s" % (kind, error.msg)) from None
    return True


def size_bytes(value, block_size=None) -> int:
    """Bytes from a size as the modules read it, optionally rounded up to a block size."""
    try:
        size = parse_size(value)
        if block_size is not None:
            block = parse_size(block_size, "block_size")
            size = round_up(size, block)
    except IPluginException as error:
        raise AnsibleFilterError("stormgmt.core.size_bytes: %s" % error.msg) from None
    return size
