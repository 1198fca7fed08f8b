# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Record schema: what a playbook can rely on in every result, whatever the backend."""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils.errors import MissingKeyEx, ValueFormatEx

SAMPLE = {"str": "x", "str?": "x", "int": 1, "int?": 1, "bool": True, "list": [], "dict": {}, "dict?": {}, "any": None}


def minimal(kind: str) -> dict:
    """A record of ``kind`` with its required fields only."""
    record = {}
    for field, (ftype, required, allowed) in records.SCHEMA[kind].items():
        if required:
            record[field] = allowed[0] if allowed else SAMPLE[ftype]
    return record


REQUIRED = [(kind, field) for kind, schema in sorted(records.SCHEMA.items())
            for field, (ftype, required, allowed) in schema.items() if required]


def test_enumerations_carry_the_storage_connect_values():
    assert records.ABILITY_TYPES == ("UNSUPPORTED", "OFFLINE", "ONLINE", "NO", "YES", "INVALID")
    assert set(records.SE_STATES) == {"UNKNOWN", "OFFLINE", "BUSY_CREATE", "BUSY_CLONE", "BUSY_COPY",
                                      "BUSY_CHILDREN", "ERROR", "ONLINE"}
    assert set(records.FS_STATES) == {"UNKNOWN", "UNMOUNTED", "MOUNTED", "MOUNTED_READONLY", "ERROR"}
    assert set(records.BACKING_DEVICE_TYPES) == {"UNSUPPORTED", "DEVICE_SINGLE", "DEVICE_MULTI", "PLUGIN_SINGLE",
                                                 "PLUGIN_MULTI", "INVALID"}
    assert set(records.SE_BUSY_STATES) <= set(records.SE_STATES)
    assert set(records.ABILITY_AVAILABLE) == {"OFFLINE", "ONLINE", "YES"}


@pytest.mark.parametrize("kind", sorted(records.SCHEMA))
def test_minimal_record_of_every_kind_validates(kind):
    record = minimal(kind)
    assert records.validate(kind, record) is record


@pytest.mark.parametrize("kind, field", REQUIRED, ids=["%s.%s" % pair for pair in REQUIRED])
def test_missing_required_field_is_missing_key(kind, field):
    record = minimal(kind)
    del record[field]
    with pytest.raises(MissingKeyEx) as info:
        records.validate(kind, record)
    assert info.value.key == field
    assert field in info.value.msg and kind in info.value.msg


def test_make_fills_optional_fields():
    lun = records.make("storage_element", name="db01", uuid=None, se_type="LUN", size=4096,
                       access_grp_names=[], state="ONLINE", status="OK")
    assert set(lun) == set(records.SCHEMA["storage_element"])
    assert lun["path"] == [] and lun["parent"] is None and lun["qos"] is None


def test_make_works_with_required_fields_only():
    # optional fields a backend does not know (thin, total_sz, ...) are None, not an error
    server = records.make("storage_server", name="s", uuid="u", storage_type="iSCSIStorage", backend="x",
                          uri="x://", status="OK", storage_desc="d")
    assert server["total_sz"] is None and server["chap"] is None and server["vol_groups"] == []
    lun = records.make("storage_element", name="db01", uuid=None, se_type="LUN", size=4096,
                       access_grp_names=[], state="ONLINE", status="OK")
    assert lun["thin"] is None


def test_make_refuses_unknown_fields():
    with pytest.raises(ValueFormatEx) as info:
        records.make("vol_group", vol_name="p", vol_total_sz=1, vol_used_sz=0, vol_free_sz=1, colour="red")
    assert info.value.key == "colour"


@pytest.mark.parametrize("field, value", [
    ("size", "10G"),            # sizes are bytes, never strings
    ("size", True),             # a bool is not a number of bytes
    ("size", None),             # required int is not nullable
    ("name", None),
    ("name", 5),
    ("thin", 1),
    ("access_grp_names", "g1"),
    ("thin", "yes"),
    ("async_progress", 1.5),
])
def test_wrong_type_is_value_format(field, value):
    record = dict(minimal("storage_element"), **{field: value})
    with pytest.raises(ValueFormatEx) as info:
        records.validate("storage_element", record)
    assert info.value.key == field


@pytest.mark.parametrize("field, value", [("se_type", "VOLUME"), ("state", "online"), ("state", "BUSY")])
def test_value_outside_enumeration_is_value_format(field, value):
    with pytest.raises(ValueFormatEx) as info:
        records.validate("storage_element", dict(minimal("storage_element"), **{field: value}))
    assert info.value.key == field
    assert "expected one of" in info.value.msg


def test_nullable_fields_take_none():
    record = dict(minimal("storage_element"), uuid=None, qos=None, async_progress=None)
    records.validate("storage_element", record)


def test_unknown_field_is_value_format():
    with pytest.raises(ValueFormatEx) as info:
        records.validate("access_group", dict(minimal("access_group"), colour="red"))
    assert info.value.key == "colour"


@pytest.mark.parametrize("secret", sorted(records.SECRET_FIELDS))
@pytest.mark.parametrize("kind", ["storage_server", "access_group"])
def test_records_never_carry_secrets(kind, secret):
    with pytest.raises(ValueFormatEx) as info:
        records.validate(kind, dict(minimal(kind), **{secret: "hunter2"}))
    assert info.value.key == secret
    assert "hunter2" not in info.value.msg


def test_record_must_be_a_mapping():
    with pytest.raises(ValueFormatEx):
        records.validate("job", ["job_id", "op"])


def test_job_record_statuses():
    records.make("job", job_id="1", op="create", progress=None, status="COMPLETE")
    with pytest.raises(ValueFormatEx):
        records.make("job", job_id="1", op="create", progress=5, status="DONE")


def _strptime_epoch(text: str):
    """What parse_time read before it parsed by hand: time.strptime, None where that refused."""
    import calendar
    import time
    try:
        return calendar.timegm(time.strptime(text, records.TIME_FORMAT))
    except ValueError:
        return None


@pytest.mark.parametrize("year", ["0000", "0001", "1969", "1970", "2024", "2100", "9999"])
def test_parse_time_reads_as_strptime_did(year):
    # every month and day (0 to 32, so Feb 29 of leap and common years, day 31 of 30-day months),
    # and the edges of hours, minutes and seconds (strptime takes seconds 60 and 61)
    clocks = [(0, 0, 0), (23, 59, 59), (24, 0, 0), (0, 60, 0), (0, 0, 60), (0, 0, 61), (0, 0, 62), (99, 99, 99)]
    for month in range(14):
        for day in range(33):
            for hour, minute, second in clocks:
                text = "%s-%02d-%02dT%02d:%02d:%02dZ" % (year, month, day, hour, minute, second)
                expected = _strptime_epoch(text)
                if expected is None:
                    with pytest.raises(ValueFormatEx):
                        records.parse_time(text)
                else:
                    assert records.parse_time(text) == expected, text


@pytest.mark.parametrize("text", ["2026-12-02T03:00:00Z\n", "2026-12-02T03:00:00", "2026-12-02 03:00:00Z",
                                  "2026-12-02t03:00:00z", " 2026-12-02T03:00:00Z", "２０２６-12-02T03:00:00Z", 1796180400])
def test_parse_time_refuses_other_forms(text):
    with pytest.raises(ValueFormatEx):
        records.parse_time(text)


@pytest.mark.parametrize("text", ["2026-12-02T03:00:00Z", "2026-12-02T03:00:00Z\n", "2026-12-02T03:00:00Z\n\n",
                                  "2026-12-02T03:00:00z", "2026-12-02T03:00:00", "\u0662026-12-02T03:00:00Z",
                                  "2026-12-02T03:00:0Z", "2026-12-02T03:00:000Z", "2026/12/02T03:00:00Z", ""])
def test_time_form_is_the_pattern_it_replaces(text):
    import re
    pattern = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
    assert records._time_form(text) == bool(pattern.match(text))  # pylint: disable=protected-access
