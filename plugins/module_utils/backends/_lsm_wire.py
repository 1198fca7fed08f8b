# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libstoragemgmt's plug-in protocol, as a client speaks it. Private to this collection.

Facts of the protocol (libstoragemgmt's documentation and public source), in our words:

* A plug-in is the executable ``NAME_lsmplugin``; it is started with the number of a
  connected stream socket as its only argument and answers on that socket.
* Every message is a 10-digit, zero-padded decimal length, then that many bytes of JSON.
* A request is ``{"method", "id", "params"}``; ``params`` holds the method's arguments by
  name, and always ``flags`` (0). An answer is ``{"id", "result"}`` or
  ``{"id", "error": {"code", "message", "data"}}``, ``code`` being one of the error
  numbers below (or a JSON-RPC code for a method the plug-in lacks).
* Objects travel as dictionaries tagged with ``"class"`` (``Volume``, ``Pool``, ...); a
  client hands an object back exactly as it received it.
* Long operations answer a job id; ``job_status`` answers ``[status, percent, object]``.
"""

from __future__ import annotations

import binascii

from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    PermissionDeniedEx,
    StorageArrayLicenseEx,
    StorageElementBusyEx,
    ValueFormatEx,
)

HEADER_LEN = 10
# libstoragemgmt's C transport refuses a message of 2 GiB or more; 256 MiB is already garbage
MAX_MESSAGE = 256 * 1024 * 1024
# libstoragemgmt's clients send this id and plug-ins answer it
REQUEST_ID = 100

# job_status: the first element of its answer
JOB_INPROGRESS, JOB_COMPLETE, JOB_ERROR = 1, 2, 3

# volume_create provisioning, volume_replicate rep_type
PROVISION_THIN, PROVISION_FULL = 1, 2
REPLICATE_CLONE, REPLICATE_COPY = 2, 3

# AccessGroup init_type
INIT_TYPE_WWPN, INIT_TYPE_ISCSI_IQN = 2, 5

# Volume admin_state, System status bits
ADMIN_STATE_ENABLED = 1
SYSTEM_STATUS_OK = 1 << 1

# Pool element_type and unsupported_actions bits
ELEMENT_TYPE_VOLUME = 1 << 2
ELEMENT_TYPE_FS = 1 << 3
ELEMENT_TYPE_VOLUME_FULL = 1 << 5
ELEMENT_TYPE_VOLUME_THIN = 1 << 6
ELEMENT_TYPE_SYS_RESERVED = 1 << 10
UNSUPPORTED_VOLUME_GROW = 1 << 0
UNSUPPORTED_VOLUME_SHRINK = 1 << 1
TOTAL_SPACE_NOT_FOUND = -1

# Capability numbers: byte N of the capability string is 1 when capability N is supported.
CAPABILITIES = {
    "VOLUMES": 20, "VOLUME_CREATE": 21, "VOLUME_RESIZE": 22, "VOLUME_REPLICATE": 23,
    "VOLUME_REPLICATE_CLONE": 24, "VOLUME_REPLICATE_COPY": 25, "VOLUME_REPLICATE_MIRROR_ASYNC": 26,
    "VOLUME_REPLICATE_MIRROR_SYNC": 27, "VOLUME_COPY_RANGE_BLOCK_SIZE": 28, "VOLUME_COPY_RANGE": 29,
    "VOLUME_COPY_RANGE_CLONE": 30, "VOLUME_COPY_RANGE_COPY": 31, "VOLUME_DELETE": 33,
    "VOLUME_ENABLE": 34, "VOLUME_DISABLE": 35, "VOLUME_MASK": 36, "VOLUME_UNMASK": 37,
    "ACCESS_GROUPS": 38, "ACCESS_GROUP_CREATE_WWPN": 39, "ACCESS_GROUP_DELETE": 40,
    "ACCESS_GROUP_INITIATOR_ADD_WWPN": 41, "ACCESS_GROUP_INITIATOR_DELETE": 42,
    "VOLUMES_ACCESSIBLE_BY_ACCESS_GROUP": 43, "ACCESS_GROUPS_GRANTED_TO_VOLUME": 44,
    "VOLUME_CHILD_DEPENDENCY": 45, "VOLUME_CHILD_DEPENDENCY_RM": 46,
    "ACCESS_GROUP_CREATE_ISCSI_IQN": 47, "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN": 48,
    "VOLUME_ISCSI_CHAP_AUTHENTICATION": 53, "VOLUME_RAID_INFO": 54, "VOLUME_THIN": 55, "BATTERIES": 56,
    "VOLUME_CACHE_INFO": 57, "FS": 100, "FS_DELETE": 101, "FS_RESIZE": 102, "FS_CREATE": 103,
    "FS_CLONE": 104, "FILE_CLONE": 105, "FS_SNAPSHOTS": 106, "FS_SNAPSHOT_CREATE": 107,
    "FS_SNAPSHOT_DELETE": 109, "FS_SNAPSHOT_RESTORE": 110, "FS_SNAPSHOT_RESTORE_SPECIFIC_FILES": 111,
    "FS_CHILD_DEPENDENCY": 112, "FS_CHILD_DEPENDENCY_RM": 113, "FS_CHILD_DEPENDENCY_RM_SPECIFIC_FILES": 114,
    "EXPORT_AUTH": 120, "EXPORTS": 121, "EXPORT_FS": 122, "EXPORT_REMOVE": 123, "EXPORT_CUSTOM_PATH": 124,
    "SYS_READ_CACHE_PCT_UPDATE": 158, "SYS_READ_CACHE_PCT_GET": 159, "SYS_FW_VERSION_GET": 160,
    "SYS_MODE_GET": 161, "DISK_LOCATION": 163, "DISK_RPM": 164, "DISK_LINK_TYPE": 165, "VOLUME_LED": 171,
    "POOLS_QUICK_SEARCH": 210, "VOLUMES_QUICK_SEARCH": 211, "DISKS_QUICK_SEARCH": 212,
    "ACCESS_GROUPS_QUICK_SEARCH": 213, "FS_QUICK_SEARCH": 214, "NFS_EXPORTS_QUICK_SEARCH": 215,
    "TARGET_PORTS": 216, "TARGET_PORTS_QUICK_SEARCH": 217, "DISKS": 220, "POOL_MEMBER_INFO": 221,
    "VOLUME_RAID_CREATE": 222, "DISK_VPD83_GET": 223,
}

# Error numbers -> (name, exception class). The plug-in's message is always kept.
ERRORS = {
    1: ("LIB_BUG", OperationFailedEx),
    2: ("PLUGIN_BUG", OperationFailedEx),
    11: ("TIMEOUT", OperationFailedEx),
    12: ("DAEMON_NOT_RUNNING", OperationPreReqNotMetEx),
    13: ("PERMISSION_DENIED", PermissionDeniedEx),
    50: ("NAME_CONFLICT", InvalidValueEx),
    52: ("EXISTS_INITIATOR", InvalidValueEx),
    101: ("INVALID_ARGUMENT", InvalidValueEx),
    125: ("NO_STATE_CHANGE", InvalidValueEx),
    140: ("NETWORK_CONNREFUSED", OperationFailedEx),
    141: ("NETWORK_HOSTDOWN", OperationFailedEx),
    142: ("NETWORK_ERROR", OperationFailedEx),
    152: ("NO_MEMORY", OperationFailedEx),
    153: ("NO_SUPPORT", NoSuchOperationEx),
    160: ("IS_MASKED", StorageElementBusyEx),
    161: ("HAS_CHILD_DEPENDENCY", StorageElementBusyEx),
    200: ("NOT_FOUND_ACCESS_GROUP", OperationPreReqNotMetEx),
    201: ("NOT_FOUND_FS", OperationPreReqNotMetEx),
    202: ("NOT_FOUND_JOB", OperationFailedEx),
    203: ("NOT_FOUND_POOL", InvalidValueEx),
    204: ("NOT_FOUND_FS_SS", OperationPreReqNotMetEx),
    205: ("NOT_FOUND_VOLUME", OperationPreReqNotMetEx),
    206: ("NOT_FOUND_NFS_EXPORT", OperationPreReqNotMetEx),
    207: ("NOT_FOUND_GENERIC", OperationPreReqNotMetEx),
    208: ("NOT_FOUND_SYSTEM", OperationPreReqNotMetEx),
    209: ("NOT_FOUND_DISK", OperationPreReqNotMetEx),
    226: ("NOT_LICENSED", StorageArrayLicenseEx),
    250: ("NO_SUPPORT_ONLINE_CHANGE", NoSuchOperationEx),
    251: ("NO_SUPPORT_OFFLINE_CHANGE", NoSuchOperationEx),
    300: ("PLUGIN_AUTH_FAILED", PermissionDeniedEx),
    301: ("PLUGIN_IPC_FAIL", OperationFailedEx),
    307: ("PLUGIN_SOCKET_PERMISSION", PermissionDeniedEx),
    311: ("PLUGIN_NOT_EXIST", OperationPreReqNotMetEx),
    350: ("NOT_ENOUGH_SPACE", InvalidValueEx),
    400: ("TRANSPORT_COMMUNICATION", OperationFailedEx),
    401: ("TRANSPORT_SERIALIZATION", OperationFailedEx),
    402: ("TRANSPORT_INVALID_ARG", OperationFailedEx),
    502: ("LAST_INIT_IN_ACCESS_GROUP", InvalidValueEx),
    510: ("UNSUPPORTED_SEARCH_KEY", NoSuchOperationEx),
    511: ("EMPTY_ACCESS_GROUP", InvalidValueEx),
    512: ("POOL_NOT_READY", StorageElementBusyEx),
    513: ("DISK_NOT_FREE", StorageElementBusyEx),
    # JSON-RPC codes a Python plug-in runner answers with
    -32700: ("PARSE_ERROR", OperationFailedEx),
    -32601: ("METHOD_NOT_FOUND", NoSuchOperationEx),
    -32099: ("PLUGIN_START_FAILED", OperationFailedEx),
}
NO_STATE_CHANGE = 125
NO_SUPPORT = 153
METHOD_NOT_FOUND = -32601


def error_name(code) -> str:
    return ERRORS.get(code, ("UNKNOWN_ERROR",))[0]


def encode_request(method: str, params: dict) -> bytes:
    """One request on the wire: header and JSON (ASCII only, so characters count as bytes)."""
    import json

    body = json.dumps({"method": method, "id": REQUEST_ID, "params": dict(params, flags=0)}, ensure_ascii=True)
    return (str(len(body)).zfill(HEADER_LEN) + body).encode("ascii")


def parse_header(header: bytes) -> int | None:
    """The length a header announces, or None when it is not 10 decimal digits or out of range."""
    if len(header) != HEADER_LEN or not header.isdigit():
        return None
    length = int(header)
    if not 0 < length <= MAX_MESSAGE:
        return None
    return length


def supported(cap_hex: str) -> set:
    """Names of the capabilities a ``Capabilities`` object's hex string marks supported."""
    data = binascii.unhexlify(cap_hex)
    return set(name for name, number in CAPABILITIES.items() if number < len(data) and data[number] == 1)


# --- the objects plug-ins send: class -> {field: type} ------------------------------------------
_STR, _INT, _LIST, _OSTR = "str", "int", "list", "str?"
OBJECTS = {
    "System": {"id": _STR, "name": _STR, "status": _INT},
    "Pool": {"id": _STR, "name": _STR, "element_type": _INT, "unsupported_actions": _INT,
             "total_space": _INT, "free_space": _INT, "status": _INT, "system_id": _STR},
    "Volume": {"id": _STR, "name": _STR, "vpd83": _OSTR, "block_size": _INT, "num_of_blocks": _INT,
               "admin_state": _INT, "system_id": _STR, "pool_id": _STR},
    "AccessGroup": {"id": _STR, "name": _STR, "init_ids": _LIST, "init_type": _INT, "system_id": _STR},
    "FileSystem": {"id": _STR, "name": _STR, "total_space": _INT, "free_space": _INT, "pool_id": _STR,
                   "system_id": _STR},
    "FsSnapshot": {"id": _STR, "name": _STR, "ts": _INT},
    "NfsExport": {"id": _STR, "fs_id": _STR, "export_path": _STR, "root": _LIST, "rw": _LIST, "ro": _LIST,
                  "options": _OSTR},
    "Capabilities": {"cap": _STR},
}


def check_object(value, cls: str) -> dict:
    """``value`` as a ``cls`` object; ValueFormatEx naming the field that is wrong."""
    if not isinstance(value, dict) or value.get("class") != cls:
        raise ValueFormatEx("expected a %s object, got %s" % (cls, excerpt(value)), cls)
    for field, kind in OBJECTS[cls].items():
        item = value.get(field)
        if kind == _INT:
            ok = isinstance(item, int) and not isinstance(item, bool)
        elif kind == _STR:
            ok = isinstance(item, str)
        elif kind == _OSTR:
            ok = item is None or isinstance(item, str)
        else:
            ok = isinstance(item, list) and all(isinstance(entry, str) for entry in item)
        if not ok:
            raise ValueFormatEx("the %s object's field '%s' is %s; expected %s"
                                % (cls, field, excerpt(item), kind.replace("?", " or null")), field)
    if cls == "Capabilities":
        try:
            binascii.unhexlify(value["cap"])
        except (binascii.Error, ValueError):
            raise ValueFormatEx("the Capabilities object's field 'cap' is not hexadecimal", "cap") from None
    return value


def excerpt(value, limit: int = 160) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
