# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes: parse what users write, round to a backend's block size. Private to this collection."""

from __future__ import annotations

import math
import re

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.stormgmt.core.plugins.module_utils.errors import ValueFormatEx

# "10GiB", "1.5 TiB": IEC spellings that human_to_bytes does not read; same (binary) meaning
_IEC = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGTPEZY])iB\s*$", re.IGNORECASE)


def parse_size(value, what: str = "size") -> int:
    """Return ``value`` in bytes.

    Accepts an integer number of bytes, a digit string, or the forms
    ``human_to_bytes`` reads (``512M``, ``10G``, ``1.5G``, ``10GB``: binary
    multiples) and IEC forms (``10GiB``). Zero, negative and unreadable values
    raise ``ValueFormatEx`` naming ``what``.
    """
    if isinstance(value, bool) or value is None:
        raise ValueFormatEx("%s must be a size such as 10G or 10737418240, got %r" % (what, value), what)
    if isinstance(value, int):
        size = value
    elif isinstance(value, float):
        if not math.isfinite(value):  # YAML .inf / .nan
            raise ValueFormatEx("%s must be a finite number of bytes, got %r" % (what, value), what)
        size = int(value)
    else:
        text = str(value).strip()
        match = _IEC.match(text)
        if match:
            text = "%s%sB" % (match.group(1), match.group(2).upper())
        try:
            size = human_to_bytes(text)
        except ValueError:
            raise ValueFormatEx(
                "%s %r is not a size: use bytes or a number with a unit such as 512M, 10G, 1.5T or 10GiB" % (what, value),
                what) from None
    if size <= 0:
        raise ValueFormatEx("%s must be greater than zero, got %r" % (what, value), what)
    return size


def round_up(size: int, block: int) -> int:
    """Round ``size`` up to a multiple of ``block``."""
    if block <= 1:
        return size
    return -(-size // block) * block


def format_size(size: int | None) -> str:
    """Short human form for messages: 10737418240 -> '10 GiB'."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            if unit == "B":
                return "%d B" % size
            return ("%.2f" % value).rstrip("0").rstrip(".") + " " + unit
        value /= 1024.0
    return "%d B" % size  # pragma: no cover - loop always returns
