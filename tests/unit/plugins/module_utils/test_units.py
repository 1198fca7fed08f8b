# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sizes as users write them (SPEC section 3): bytes out, clear errors, block rounding."""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._units import (
    MAX_SIZE,
    format_size,
    parse_count,
    parse_size,
    round_up,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx, ValueFormatEx

KiB, MiB, GiB, TiB = 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4


@pytest.mark.parametrize("value, expected", [
    (4096, 4096),
    ("4096", 4096),
    (" 4096 ", 4096),
    ("512M", 512 * MiB),
    ("512MB", 512 * MiB),
    ("10G", 10 * GiB),
    ("10GB", 10 * GiB),
    ("1.5G", 1536 * MiB),
    ("1T", TiB),
    ("1K", KiB),
    ("10GiB", 10 * GiB),
    ("10gib", 10 * GiB),
    ("10 GiB", 10 * GiB),
    ("1.5TiB", TiB + TiB // 2),
    ("2MiB", 2 * MiB),
    (1 * GiB, GiB),
    ("0.5K", 512),
    (2048.0, 2048),
    ("1234567890123456789", 1234567890123456789),  # exact: a float would make it ...768
    ("7.5E", 15 * 1024 ** 6 // 2),
])
def test_sizes_users_write(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", [
    0, "0", "0G", -1, "-1", "-1G", "0.4",                      # not greater than zero
    "", "   ", "ten", "10X", "10Gb", "G", "1e3", "10 G B", "1,5G",  # not sizes
    None, True, False, [], {},                                 # not even strings
    float("inf"), float("-inf"), float("nan"),                # YAML .inf / .nan
    1.5, "1.5", "1.5B", "0.3K", "1.1T", 512.25,                # not a whole number of bytes
    "9" * 5000, "9" * 65, "1" * 100000 + "X",                   # longer than a size is written
])
def test_bad_sizes_are_value_format(value):
    with pytest.raises(ValueFormatEx) as info:
        parse_size(value, "size")
    assert info.value.key == "size"
    assert "size" in info.value.msg


@pytest.mark.parametrize("value", [MAX_SIZE + 1, "8E", "9" * 30, "9" * 64, 1e300])
def test_sizes_beyond_any_storage_are_invalid(value):
    with pytest.raises(InvalidValueEx) as info:
        parse_size(value, "size")
    assert info.value.key == "size"


def test_a_fraction_names_the_bytes_it_comes_to():
    with pytest.raises(ValueFormatEx) as info:
        parse_size("1.1T")
    assert "1209462790553.6 bytes" in info.value.msg


@pytest.mark.parametrize("value, expected", [(0, 0), (7, 7), ("7", 7), (" 7 ", 7), (7.0, 7), (16383, 16383)])
def test_whole_numbers(value, expected):
    assert parse_count(value, "lun_id") == expected


@pytest.mark.parametrize("value", [1.5, "1.5", True, False, None, "", "-1", "+1", "0x10", "1e3", "٣",
                                   float("nan"), float("inf"), [1], {}])
def test_not_whole_numbers(value):
    with pytest.raises(ValueFormatEx) as info:
        parse_count(value, "lun_id of LUN 'a'", "luns")
    assert info.value.key == "luns" and "lun_id" in info.value.msg


def test_error_names_the_option():
    with pytest.raises(ValueFormatEx) as info:
        parse_size("lots", "filesystem size")
    assert info.value.key == "filesystem size"
    assert "'lots'" in info.value.msg


@pytest.mark.parametrize("size, block, expected", [
    (1, 512, 512),
    (512, 512, 512),
    (513, 512, 1024),
    (1536 * MiB + 1, MiB, 1537 * MiB),
    (1000, 1, 1000),
    (1000, 0, 1000),
    (10 * GiB, 4096, 10 * GiB),
])
def test_round_up_to_block(size, block, expected):
    assert round_up(size, block) == expected


def test_rounded_sizes_compare_equal():
    # a task asking 1000 bytes and one asking 1024 on a 512-byte-block backend want the same LUN
    assert round_up(parse_size(1000), 512) == round_up(parse_size("1K"), 512) == 1024


@pytest.mark.parametrize("size, text", [
    (None, "unknown"), (0, "0 B"), (1023, "1023 B"), (KiB, "1 KiB"), (1536 * MiB, "1.5 GiB"),
    (10 * GiB, "10 GiB"), (TiB + 1, "1 TiB"), (3 * 1024 * TiB, "3 PiB"), (5000 * 1024 * TiB, "5000 PiB"),
])
def test_format_size(size, text):
    assert format_size(size) == text
