# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Exception classes of the stormgmt plug-in API.

Public: third-party backends raise these. Every error a backend signals is one of
the classes below (never the base class itself); the module glue turns it into
``fail_json(msg=..., error=<class name>)``. The set follows the Storage Connect
exception list; a backend must not invent new classes.
"""

from __future__ import annotations


class IPluginException(Exception):
    """Base class of every plug-in error. Never raised directly."""

    def __init__(self, msg: str, key: str | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        # name of the record field or option the error is about, when there is one
        self.key = key

    @property
    def name(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        data = {"error": self.name, "msg": self.msg}
        if self.key is not None:
            data["key"] = self.key
        return data


class NoSuchOperationEx(IPluginException):
    """The backend or the storage server does not support the operation."""


class OperationFailedEx(IPluginException):
    """Last resort, when no other class fits."""


class MissingKeyEx(IPluginException):
    """A record lacks a required field (``key`` names it)."""


class ValueFormatEx(IPluginException):
    """A field or option has a malformed value (``key`` names it)."""


class StorageArrayLicenseEx(IPluginException):
    """The storage server lacks the license for the feature."""


class TargetDiscoveryEx(IPluginException):
    """iSCSI target discovery failed."""


class LoginFailedEx(IPluginException):
    """Logging in to an iSCSI target failed."""


class LogoutFailedEx(IPluginException):
    """Logging out of an iSCSI target failed."""


class RefreshFailedEx(IPluginException):
    """Rescanning the SCSI bus failed."""


class ListFailedEx(IPluginException):
    """Listing or refreshing storage element records failed."""


class CreateSnapFailedEx(IPluginException):
    """Creating a snapshot failed."""


class ListSnapFailedEx(IPluginException):
    """Listing snapshots failed."""


class SnapRestoreNotSafeEx(IPluginException):
    """Restoring the snapshot would affect other storage elements; nothing was done."""


class CloneFailedEx(IPluginException):
    """Creating a clone failed."""


class InvalidStorageArrayEx(IPluginException):
    """The storage server record failed validation."""


class InvalidValueEx(IPluginException):
    """A value is well formed but not acceptable (name taken, too large, ...)."""


class StorageElementBusyEx(IPluginException):
    """The storage element is mapped, has children or is busy with a job."""


class PermissionDeniedEx(IPluginException):
    """The storage server refused the credentials or the action."""


class OperationPreReqNotMetEx(IPluginException):
    """A prerequisite is missing (the parent LUN does not exist, a tool is absent, ...)."""


class StorageNameRequiredEx(IPluginException):
    """The storage server record must name the storage controller."""


class InvalidFSTypeEx(IPluginException):
    """The file system type is not valid for this backend."""


class FileSystemBusyEx(IPluginException):
    """The file system is mounted, exported or has snapshots."""


class FileSystemAlreadyMountedEx(IPluginException):
    """The file system is already mounted."""


ERROR_CLASSES = dict(
    (cls.__name__, cls)
    for cls in (
        NoSuchOperationEx, OperationFailedEx, MissingKeyEx, ValueFormatEx,
        StorageArrayLicenseEx, TargetDiscoveryEx, LoginFailedEx, LogoutFailedEx,
        RefreshFailedEx, ListFailedEx, CreateSnapFailedEx, ListSnapFailedEx,
        SnapRestoreNotSafeEx, CloneFailedEx, InvalidStorageArrayEx, InvalidValueEx,
        StorageElementBusyEx, PermissionDeniedEx, OperationPreReqNotMetEx,
        StorageNameRequiredEx, InvalidFSTypeEx, FileSystemBusyEx,
        FileSystemAlreadyMountedEx,
    )
)


def error_from_dict(data: dict) -> IPluginException:
    """Rebuild an exception from ``to_dict()`` output (used by the JSON-RPC backend).

    An unknown class name becomes ``OperationFailedEx`` so a misbehaving plug-in
    cannot smuggle in new error classes.
    """
    cls = ERROR_CLASSES.get(str(data.get("error")), OperationFailedEx)
    return cls(str(data.get("msg") or "the plug-in reported an error without a message"), data.get("key"))
