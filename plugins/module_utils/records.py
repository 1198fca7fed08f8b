# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Records exchanged between modules and backends: schema, enumerations, validation.

Public: backends build their records with :func:`make` and the modules return them
as they are, so a playbook reads the same keys whatever the storage behind it.
Field names follow the Storage Connect record definitions (Storage Server, Storage
Element, access group, volume group, QoS, File System, File, Mount, backing device).
"""

from __future__ import annotations

import datetime
import time

from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    MissingKeyEx,
    ValueFormatEx,
)

# --- enumerations ----------------------------------------------------------

ABILITY_TYPES = ("UNSUPPORTED", "OFFLINE", "ONLINE", "NO", "YES", "INVALID")
# ability values that mean "the operation can be done"
ABILITY_AVAILABLE = ("OFFLINE", "ONLINE", "YES")

SE_STATES = (
    "UNKNOWN", "OFFLINE", "BUSY_CREATE", "BUSY_CLONE", "BUSY_COPY",
    "BUSY_CHILDREN", "ERROR", "ONLINE",
)
SE_BUSY_STATES = ("BUSY_CREATE", "BUSY_CLONE", "BUSY_COPY")

FS_STATES = ("UNKNOWN", "UNMOUNTED", "MOUNTED", "MOUNTED_READONLY", "ERROR")

BACKING_DEVICE_TYPES = (
    "UNSUPPORTED", "DEVICE_SINGLE", "DEVICE_MULTI", "PLUGIN_SINGLE", "PLUGIN_MULTI", "INVALID",
)

# Storage Element types: a LUN (or a clone of one), a snapshot, a clone of a snapshot
SE_TYPES = ("LUN", "SNAP", "SNAPCLONE")

STORAGE_TYPES = ("SANStorage", "iSCSIStorage", "NetworkFileSystem", "BlockBasedFileSystem")

FR_TYPES = ("FILE", "DIR", "SYMLINK", "CHARDEV", "BLKDEV", "FIFO", "SOCKET", "SNAP", "SNAPCLONE")

JOB_STATUSES = ("RUNNING", "COMPLETE", "ERROR")

# --- schema ----------------------------------------------------------------
# field -> (python type name, required, allowed values or None)
# "str?" means a string or None. Lists hold strings unless noted.

_STR, _OSTR, _INT, _OINT, _BOOL, _LIST, _DICT, _ODICT = (
    "str", "str?", "int", "int?", "bool", "list", "dict", "dict?")
# a point in time on the storage server's clock, in UTC: "2026-12-02T03:00:00Z" (see format_time)
_OTIME = "time?"

SCHEMA = {
    "storage_server": {
        "name": (_STR, True, None),
        "uuid": (_STR, True, None),
        "storage_server_id": (_OSTR, False, None),
        "storage_type": (_STR, True, STORAGE_TYPES),
        "backend": (_STR, True, None),
        "uri": (_STR, True, None),
        "chap": (_BOOL, False, None),
        "admin_host": (_OSTR, False, None),
        "access_host": (_OSTR, False, None),
        "access_port": (_OINT, False, None),
        "status": (_STR, True, None),
        "total_sz": (_INT, False, None),
        "used_sz": (_INT, False, None),
        "free_sz": (_INT, False, None),
        "alloc_sz": (_INT, False, None),
        "vol_groups": (_LIST, False, None),
        "access_grps": (_LIST, False, None),
        "storage_name": (_OSTR, False, None),
        "storage_id": (_LIST, False, None),
        "storage_desc": (_STR, True, None),
        "extra_info": (_OSTR, False, None),
    },
    "vol_group": {
        "vol_name": (_STR, True, None),
        "vol_total_sz": (_INT, True, None),
        "vol_used_sz": (_INT, True, None),
        "vol_free_sz": (_INT, True, None),
        "vol_alloc_sz": (_INT, False, None),
        "vol_desc": (_OSTR, False, None),
    },
    "qos_vals": {
        "priority": (_INT, True, None),
        "value": (_STR, True, None),
        "description": (_OSTR, False, None),
    },
    "storage_element": {
        "name": (_STR, True, None),
        "uuid": (_OSTR, True, None),
        "id": (_OSTR, False, None),
        "ss_uuid": (_OSTR, False, None),
        "page83_id": (_OSTR, False, None),
        "se_type": (_STR, True, SE_TYPES),
        "size": (_INT, True, None),
        "thin": (_BOOL, False, None),
        "vol_group_name": (_OSTR, False, None),
        "access_grp_names": (_LIST, True, None),
        "qos": (_OSTR, False, None),
        "state": (_STR, True, SE_STATES),
        "status": (_STR, True, None),
        "vendor": (_OSTR, False, None),
        "product_id": (_OSTR, False, None),
        "path": (_LIST, False, None),
        "array_path": (_OSTR, False, None),
        "parent": (_OSTR, False, None),
        "parent_snapshot": (_OSTR, False, None),
        # when the element was made, by the storage server's clock (snapshots: the point in time they hold)
        "created": (_OTIME, False, None),
        # a LUN: the consistency group it is a member of; a snapshot: the consistency group whose
        # group snapshot it is part of (it is then created, restored and deleted with the whole set)
        "consistency_group": (_OSTR, False, None),
        "async_handle": (_OSTR, False, None),
        "async_progress": (_OINT, False, None),
        "extra_info": (_OSTR, False, None),
    },
    "access_group": {
        "grp_name": (_STR, True, None),
        "grp_entries": (_LIST, True, None),
        "grp_modes": (_LIST, False, None),
        "uuid": (_OSTR, False, None),
        "luns": (_LIST, False, None),  # list of {"name": str, "lun_id": int}
        "target_iqn": (_OSTR, False, None),
        "portal": (_OSTR, False, None),
        "chap_username": (_OSTR, False, None),
        "mutual_chap_username": (_OSTR, False, None),
        # None when the group works as configured; otherwise why not (e.g. tgt: CHAP locked)
        "status": (_OSTR, False, None),
    },
    "file_system": {
        "name": (_STR, True, None),
        "uuid": (_OSTR, True, None),
        "ss_uuid": (_OSTR, False, None),
        "size": (_INT, True, None),
        "free_sz": (_INT, True, None),
        "access_path": (_OSTR, False, None),
        "array_path": (_OSTR, False, None),
        "mount_options": (_LIST, True, None),
        "export_opts": (_LIST, True, None),
        "export_clients": (_LIST, False, None),  # NFS clients the file system is exported to
        "nfs_url": (_OSTR, False, None),  # nfs://host/path?version=4[&nfsport=N] where it is served over NFS
        "state": (_STR, True, FS_STATES),
        "status": (_STR, True, None),
        "access_grp_names": (_LIST, False, None),
        "qos": (_OSTR, False, None),
        "backing_device": ("any", False, None),
        "fstype": (_OSTR, False, None),
        "vol_group_name": (_OSTR, False, None),
        "parent": (_OSTR, False, None),
        "parent_snapshot": (_OSTR, False, None),
        "created": (_OTIME, False, None),
        "consistency_group": (_OSTR, False, None),
        "async_handle": (_OSTR, False, None),
        "async_progress": (_OINT, False, None),
        "extra_info": (_OSTR, False, None),
    },
    # a named set of LUNs (and, where the backend can, file systems) snapshotted together
    "consistency_group": {
        "name": (_STR, True, None),
        "uuid": (_OSTR, True, None),
        "ss_uuid": (_OSTR, False, None),
        "luns": (_LIST, True, None),          # member LUN names, sorted
        "filesystems": (_LIST, True, None),   # member file system names, sorted
        "created": (_OTIME, False, None),
        "status": (_OSTR, False, None),
        "extra_info": (_OSTR, False, None),
    },
    # one snapshot of every member of a consistency group, taken at one point in time; each member's
    # snapshot has the group snapshot's name (a storage_element / file system snapshot record of its own)
    "cg_snapshot": {
        "name": (_STR, True, None),
        "uuid": (_OSTR, True, None),
        "ss_uuid": (_OSTR, False, None),
        "consistency_group": (_STR, True, None),
        "luns": (_LIST, True, None),          # the LUNs it holds a snapshot of, sorted
        "filesystems": (_LIST, True, None),   # the file systems it holds a snapshot of, sorted
        "size": (_OINT, False, None),         # bytes: the members' sizes added up
        "created": (_OTIME, False, None),
        "state": (_STR, True, SE_STATES),
        "status": (_STR, True, None),
        "extra_info": (_OSTR, False, None),
    },
    "file": {
        "fr_type": (_STR, True, FR_TYPES),
        "file_path": (_STR, True, None),
        "ondisk_sz": (_OINT, False, None),
        "file_sz": (_INT, True, None),
        "fs_uuid": (_OSTR, True, None),
        "name_pattern": (_OSTR, False, None),
        "shared_sz": (_OINT, False, None),
        "snap_name": (_OSTR, False, None),
        "dest_path": (_OSTR, False, None),
        "extra_info": (_OSTR, False, None),
    },
    "mount": {
        "uuid": (_OSTR, True, None),
        "fs_uuid": (_OSTR, True, None),
        "mount_point": (_STR, True, None),
        "options": (_LIST, True, None),
        "share_path": (_OSTR, False, None),
        "status": (_STR, True, None),
        "src": (_OSTR, False, None),
        "fstype": (_OSTR, False, None),
        "mounted": (_BOOL, False, None),
        "fstab_entry": (_OSTR, False, None),  # the fstab line for the mount point, or None
        "extra_info": (_OSTR, False, None),
    },
    "backing_device": {
        "name": (_STR, True, None),
        "total_sz": (_INT, True, None),
        "free_sz": (_INT, True, None),
        "value": (_STR, True, None),
        "description": (_OSTR, False, None),
    },
    "job": {
        "job_id": (_STR, True, None),
        "op": (_STR, True, None),
        "progress": (_OINT, True, None),  # 0-100, -1 unknown, None done
        "status": (_STR, True, JOB_STATUSES),
        "error": (_ODICT, False, None),
    },
}

# Fields that must never leave a backend: a record carrying one is rejected.
SECRET_FIELDS = frozenset(("passwd", "admin_passwd", "password", "chap_password", "secret"))


def _time_form(text: str) -> bool:
    """Whether ``text`` has the form ``^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$``, checked
    without compiling that pattern (every record with a time asks); as with ``$``, a newline may follow."""
    if text.endswith("\n"):
        text = text[:-1]
    return (len(text) == 20 and text.isascii() and text[4] == text[7] == "-" and text[10] == "T"
            and text[13] == text[16] == ":" and text[19] == "Z"
            and (text[:4] + text[5:7] + text[8:10] + text[11:13] + text[14:16] + text[17:19]).isdigit())


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIME_FIELDS = ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2))
_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()


def format_time(epoch: float) -> str:
    """Seconds since the epoch -> the UTC form records carry ("2026-12-02T03:00:00Z", whole seconds)."""
    return time.strftime(TIME_FORMAT, time.gmtime(int(epoch)))


def parse_time(text: str) -> int:
    """The UTC form of records -> seconds since the epoch; ValueFormatEx when it is not that form."""
    if not isinstance(text, str) or not _time_form(text):
        raise ValueFormatEx("%r is not a UTC time of the form 2026-12-02T03:00:00Z" % (text,), "created")
    # read by hand, as time.strptime(text, TIME_FORMAT) would (seconds up to 61), without its cost:
    # it imports _strptime and calendar and compiles their patterns, for every record with a time
    year, month, day, hour, minute, second = (int(text[start:start + length]) for start, length in _TIME_FIELDS)
    try:
        if len(text) != 20 or month > 12 or hour > 23 or minute > 59 or second > 61:  # 20: no newline after Z
            raise ValueError(text)
        days = datetime.date(year, month, day).toordinal() - _EPOCH_DAY  # ValueError: day 0, Feb 30, year 0
    except ValueError:
        raise ValueFormatEx("%r is not a valid UTC time" % (text,), "created") from None
    return ((days * 24 + hour) * 60 + minute) * 60 + second


def _type_ok(kind: str, value) -> bool:
    if kind == "any":
        return True
    nullable = kind.endswith("?")
    if value is None:
        return nullable
    base = kind.rstrip("?")
    if base == "time":
        if not isinstance(value, str) or not _time_form(value):
            return False
        try:
            parse_time(value)
        except ValueFormatEx:
            return False
        return True
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base == "bool":
        return isinstance(value, bool)
    if base == "list":
        return isinstance(value, list)
    if base == "dict":
        return isinstance(value, dict)
    return False


def validate(kind: str, record: dict) -> dict:
    """Check ``record`` against the schema of ``kind``; return it unchanged.

    Raises ``MissingKeyEx`` for an absent required field and ``ValueFormatEx`` for
    a field of the wrong type, a value outside its enumeration, an unknown field or
    a secret.
    """
    schema = SCHEMA[kind]
    if not isinstance(record, dict):
        raise ValueFormatEx("a %s record must be a mapping, got %s" % (kind, type(record).__name__), kind)
    for field in record:
        if field in SECRET_FIELDS:
            raise ValueFormatEx("a %s record must not carry the secret field '%s'" % (kind, field), field)
        if field not in schema:
            raise ValueFormatEx("unknown field '%s' in a %s record" % (field, kind), field)
    for field, (ftype, required, allowed) in schema.items():
        if field not in record:
            if required:
                raise MissingKeyEx("the %s record lacks the required field '%s'" % (kind, field), field)
            continue
        value = record[field]
        if value is None and not required:
            continue  # an optional field may be unknown (make() fills absent ones with None)
        if not _type_ok(ftype, value):
            raise ValueFormatEx(
                "field '%s' of a %s record must be %s, got %r" % (
                    field, kind, ftype.replace("time", "a UTC time like 2026-12-02T03:00:00Z").replace("?", " or null"),
                    value),
                field)
        if allowed is not None and value not in allowed:
            raise ValueFormatEx(
                "field '%s' of a %s record is %r; expected one of %s" % (field, kind, value, ", ".join(allowed)),
                field)
    return record


def make(kind: str, **fields) -> dict:
    """Build a record of ``kind``: absent optional fields become None (lists: [])."""
    record = {}
    for field, (ftype, _required, _allowed) in SCHEMA[kind].items():
        if field in fields:
            record[field] = fields.pop(field)
        elif ftype == _LIST:
            record[field] = []
        else:
            record[field] = None
    if fields:
        raise ValueFormatEx("unknown field(s) for a %s record: %s" % (kind, ", ".join(sorted(fields))), sorted(fields)[0])
    options = record.get("export_opts") if kind == "file_system" else None
    if isinstance(options, list) and all(isinstance(option, str) for option in options):
        # export options are a set (no two on one setting): one order, whatever the backend stored
        record["export_opts"] = sorted(set(options))
    return validate(kind, record)
