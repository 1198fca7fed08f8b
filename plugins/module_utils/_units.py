# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes: parse what users write, round to a backend's block size. Private to this collection."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx, ValueFormatEx

# "10GiB", "1.5 TiB": IEC spellings that human_to_bytes does not read; same (binary) meaning
_IEC = lazy_compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGTPEZY])iB\s*$", re.IGNORECASE)
# what human_to_bytes reads: a number and an optional unit
_HUMAN = lazy_compile(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$")
_COUNT = lazy_compile(r"^\s*[0-9]+\s*$")
# the largest signed 64-bit number: what file sizes, SQLite and every array's API can hold
MAX_SIZE = 2 ** 63 - 1
# characters of the longest size text read ("9223372036854775807" is 19)
_MAX_TEXT = 64


def parse_size(value, what: str = "size") -> int:
    """Return ``value`` in bytes.

    Accepts an integer number of bytes, a digit string, or the forms
    ``human_to_bytes`` reads (``512M``, ``10G``, ``1.5G``, ``10GB``: binary
    multiples) and IEC forms (``10GiB``), when they come to a whole number of
    bytes (``1.5G`` does, ``1.5`` and ``0.3K`` do not). Zero, negative, fractional and
    unreadable values raise ``ValueFormatEx`` naming ``what``; more than MAX_SIZE bytes,
    ``InvalidValueEx``.
    """
    if isinstance(value, bool) or value is None:
        raise ValueFormatEx("%s must be a size such as 10G or 10737418240, got %r" % (what, value), what)
    # a whole number stays an int; a number with a fraction is a Fraction (exact, no float rounding)
    if isinstance(value, int):
        size = value
    elif isinstance(value, float):
        if not math.isfinite(value):  # YAML .inf / .nan
            raise ValueFormatEx("%s must be a finite number of bytes, got %r" % (what, value), what)
        size = _fraction(value)
    else:
        size = _exact_bytes(value, what)
    if size <= 0:
        raise ValueFormatEx("%s must be greater than zero, got %r" % (what, value), what)
    if size.denominator != 1:
        raise ValueFormatEx("%s %r is %s bytes, not a whole number of bytes: give the size in bytes, or with a "
                            "unit that makes whole bytes (1.5G does)" % (what, value, _decimal(size)), what)
    if size > MAX_SIZE:
        raise InvalidValueEx("%s %r is more than %d bytes (8 EiB), more than any storage holds" % (what, value, MAX_SIZE),
                             what)
    return int(size)


def _fraction(number):
    """``fractions.Fraction(number)``; imported only for a size with a fraction in it (1.5G)."""
    from fractions import Fraction
    return Fraction(number)


def _decimal(number) -> str:
    """Up to 6 decimals, without float rounding noise: 1209462790553.6."""
    text = str((Decimal(number.numerator) / Decimal(number.denominator)).quantize(Decimal("0.000001")))
    return text.rstrip("0").rstrip(".")


def _exact_bytes(value, what: str):
    """A size string in bytes, as human_to_bytes reads it but without its float rounding."""
    text = str(value).strip()
    if len(text) > _MAX_TEXT:  # the regular expressions backtrack quadratically on long digit runs
        raise ValueFormatEx("%s %r... is not a size: longer than any size is written" % (what, text[:20]), what)
    match = _IEC.match(text)
    if match:
        text = "%s%sB" % (match.group(1), match.group(2).upper())
    try:
        try:
            human_to_bytes(text)  # the judge of which units are valid
        except OverflowError:
            pass  # more digits than a float holds: the exact value is measured against MAX_SIZE
        number, unit = _HUMAN.match(text).groups()
        # digits only: an int, as exact as a Fraction (int() reads the ASCII digits _HUMAN matched)
        return (int(number) if "." not in number else _fraction(number)) * (human_to_bytes("1" + unit) if unit else 1)
    except ValueError:  # also from Fraction: more digits than Python converts
        raise ValueFormatEx(
            "%s %r is not a size: use bytes or a number with a unit such as 512M, 10G, 1.5T or 10GiB" % (what, value),
            what) from None


def parse_count(value, what: str, key: str | None = None) -> int:
    """A whole number (a LUN number, a count): an int, an integral float or a digit string.

    Booleans, fractions, NaN, infinities, signs and anything else raise ``ValueFormatEx``.
    """
    number = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            number = int(value)
    elif isinstance(value, str) and _COUNT.match(value):
        number = int(value)
    if number is None:
        raise ValueFormatEx("%s must be a whole number, got %r" % (what, value), key or what)
    return number


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
