# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The backend (plug-in) API of stormgmt.core. Public.

A backend turns the modules' requests into operations on one kind of storage
server. It subclasses :class:`StorageArrayPlugin` (LUNs, snapshots, clones, access
groups), :class:`FileSystemPlugin` (file systems and their exports), or both, and is
selected by the scheme of the ``server`` URI.

Rules every backend follows (see docs/backend_guide.md):

* Stateless: all state lives on the storage server. An instance lives for one
  module run; it may cache answers (``self.cache``) but never keeps state between runs.
* Records out, exceptions up: methods return records built with
  :func:`records.make` and signal every failure with an exception class from
  :mod:`errors`. A backend knows nothing about Ansible.
* A method either completes, or raises and leaves the server as it was.
* A long operation may return a ``job`` record instead of its result; the module
  then polls :meth:`StoragePlugin.job_status` until the job is done.
* :meth:`StoragePlugin.get_abilities` declares what the backend can do; an
  operation whose ability is ``UNSUPPORTED`` or ``NO`` is refused before any write.
"""

from __future__ import annotations

import abc
from urllib.parse import parse_qsl, urlsplit

from ansible_collections.stormgmt.core.plugins.module_utils._cache import TTLCache
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.records import (
    ABILITY_AVAILABLE,
    ABILITY_TYPES,
    BACKING_DEVICE_TYPES,
)

# --- abilities -------------------------------------------------------------
# ability key -> what it covers. Operation keys take UNSUPPORTED/OFFLINE/ONLINE,
# feature keys (marked YES/NO) take YES/NO.

ARRAY_ABILITIES = {
    "create_lun": "create LUNs",
    "resize_lun": "grow LUNs",
    "shrink_lun": "shrink LUNs",
    "delete_lun": "delete LUNs",
    "thin_provisioning": "YES/NO: create thin (sparse) LUNs",
    "thick_provisioning": "YES/NO: create fully allocated LUNs",
    "qos": "YES/NO: set a QoS value on LUNs",
    "snapshot": "create and delete snapshots of LUNs",
    "snapshot_restore": "roll a LUN back to a snapshot",
    "clone": "create writable clones of LUNs",
    "snap_clone": "create writable clones of snapshots",
    "split_clone": "make a clone independent of its parent",
    "access_groups": "create access groups and map LUNs to them",
    "iscsi_initiators": "YES/NO: access groups hold iSCSI names (IQN, EUI, NAA)",
    "fc_initiators": "YES/NO: access groups hold FC WWPNs",
    "chap": "YES/NO: CHAP authentication on access groups",
    "mutual_chap": "YES/NO: mutual (bidirectional) CHAP",
    "async_jobs": "YES/NO: long operations run as jobs",
}

FS_ABILITIES = {
    "create_filesystem": "create network file systems",
    "resize_filesystem": "resize network file systems",
    "delete_filesystem": "delete network file systems",
    "fs_snapshot": "create and delete file system snapshots",
    "fs_snapshot_restore": "roll a file system back to a snapshot",
    "fs_clone": "create writable clones of file systems",
    "fs_snap_clone": "create writable clones of file system snapshots",
    "fs_split_clone": "make a file system clone independent of its parent",
    "nfs_export": "export file systems to NFS clients and access groups",
    "backing_device_type": "BACKING_DEVICE_TYPES value",
}

FEATURE_ABILITIES = frozenset((
    "thin_provisioning", "thick_provisioning", "qos", "iscsi_initiators", "fc_initiators",
    "chap", "mutual_chap", "async_jobs",
))


def check_abilities(abilities: dict) -> dict:
    """Validate an ability table: known keys, values from ABILITY_TYPES."""
    known = dict(ARRAY_ABILITIES, **FS_ABILITIES)
    for key, value in abilities.items():
        if key not in known:
            raise ValueFormatEx("unknown ability '%s'" % key, key)
        allowed = BACKING_DEVICE_TYPES if key == "backing_device_type" else ABILITY_TYPES
        if value not in allowed:
            raise ValueFormatEx("ability '%s' is %r; expected one of %s" % (key, value, ", ".join(allowed)), key)
        if key in FEATURE_ABILITIES and value not in ("YES", "NO"):
            raise ValueFormatEx("ability '%s' takes YES or NO, got %r" % (key, value), key)
    return abilities


# --- server URI ------------------------------------------------------------

class ServerURI:
    """A parsed ``server`` option: ``scheme://[host[:port]]/path?key=value``.

    Credentials in the URI are refused: they would end up in logs and results.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or "://" not in text:
            raise ValueFormatEx(
                "server %r is not a URI: expected for example sim://, sim:///var/lib/stormgmt/sim.db "
                "or tgt:///srv/pool0?portal=127.0.0.1:3260" % (text,), "server")
        parts = urlsplit(text)
        if parts.username is not None or parts.password is not None:
            raise ValueFormatEx(
                "server URI must not carry credentials; use the username and password options "
                "(or STORMGMT_USERNAME / STORMGMT_PASSWORD)", "server")
        self.text = text
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname
        try:
            self.port = parts.port
        except ValueError:
            raise ValueFormatEx("server %r has an invalid port" % text, "server") from None
        self.path = parts.path or None
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))

    def option(self, key: str, default=None, convert=str):
        """A query parameter converted with ``convert``; a bad value is ValueFormatEx."""
        if key not in self.query:
            return default
        try:
            return convert(self.query[key])
        except (TypeError, ValueError):
            raise ValueFormatEx("server URI parameter %s=%r is not valid" % (key, self.query[key]), "server") from None

    def __str__(self) -> str:
        return self.text


# --- base classes ----------------------------------------------------------

def _unsupported(plugin, what: str):
    raise NoSuchOperationEx("the %s backend cannot %s" % (plugin.scheme, what))


class StoragePlugin(abc.ABC):
    """Common base of array and file system backends."""

    #: URI scheme that selects the backend
    scheme = ""
    #: sizes are rounded up to a multiple of this
    block_size = 512
    #: first LUN number handed out when a mapping does not name one
    min_lun_id = 1
    #: set by the module glue in check mode and for storage_info: the run only reads, so a
    #: backend must not create anything on first contact (a state file, a pool directory)
    read_only = False

    def __init__(self, uri: ServerURI, username: str | None = None, password: str | None = None) -> None:
        self.uri = uri
        self.username = username
        self.password = password
        self.cache = TTLCache()

    # -- required of every backend --
    @abc.abstractmethod
    def get_server(self) -> dict:
        """Return the ``storage_server`` record (never a secret)."""

    @abc.abstractmethod
    def get_abilities(self) -> dict:
        """Return {ability key: ABILITY_TYPES value} for this backend and server."""

    # -- provided --
    def ability(self, key: str) -> str:
        return self.get_abilities().get(key, "UNSUPPORTED")

    def require(self, key: str, action: str) -> str:
        """Refuse ``action`` with NoSuchOperationEx when ability ``key`` is not available."""
        value = self.ability(key)
        if value not in ABILITY_AVAILABLE:
            raise NoSuchOperationEx(
                "cannot %s: the %s backend reports ability %s=%s" % (action, self.scheme, key, value))
        return value

    def list_pools(self) -> list:
        """``vol_group`` records of the pools LUNs and file systems are carved from."""
        _unsupported(self, "list pools")

    def list_qos(self) -> list:
        """``qos_vals`` records of the QoS levels the server offers ([]: any value)."""
        return []

    def default_pool(self) -> str:
        """Pool used when a task names none."""
        pools = self.list_pools()
        if not pools:
            raise InvalidValueEx("the storage server has no pool", "pool")
        return pools[0]["vol_name"]

    def job_status(self, job_id: str) -> dict:
        """Return the ``job`` record of a running or finished job."""
        _unsupported(self, "report on jobs")

    def close(self) -> None:
        """Release connections; called once when the module is done."""


class StorageArrayPlugin(StoragePlugin):
    """A block storage server: pools, LUNs, snapshots, clones, access groups.

    Names: LUNs (clones included) and access groups have server-wide unique names;
    a snapshot name is unique among the snapshots of its LUN.
    """

    # LUNs and clones ------------------------------------------------------
    def list_luns(self) -> list:
        """``storage_element`` records of every LUN and clone."""
        _unsupported(self, "list LUNs")

    def get_lun(self, name: str) -> dict | None:
        """The LUN (or clone) called ``name``, or None."""
        for lun in self.list_luns():
            if lun["name"] == name:
                return lun
        return None

    def get_luns(self, names: list) -> dict:
        """``{name: record or None}`` of the LUNs (or clones) ``names``, read together.

        The list form of the ``lun`` module reads all its LUNs with this one call, before it
        converges them one by one. This default calls :meth:`get_lun` per name, which suits a
        store that finds an object by its name directly however many it holds. A backend for
        which reading many at once is cheaper (one state file loaded, one call to another
        process) overrides it, for example with ``by_name(self.list_luns(), "name", names)``.
        """
        return dict((name, self.get_lun(name)) for name in names)

    def list_clones(self, lun: str) -> list:
        """Records of the clones that depend on ``lun``: clones of it or of one of its
        snapshots (their ``parent`` is ``lun``), not yet split. Modules ask before deleting, so
        that check mode refuses what the real run would.

        This default reads every LUN; a backend that indexes parents overrides it.
        """
        return [record for record in self.list_luns() if record.get("parent") == lun]

    def create_lun(self, name: str, pool: str, size: int, thin: bool, qos: str | None) -> dict:
        """Create a LUN of ``size`` bytes (already rounded); return its record or a job."""
        _unsupported(self, "create LUNs")

    def resize_lun(self, name: str, size: int) -> dict:
        _unsupported(self, "resize LUNs")

    def set_lun_qos(self, name: str, qos: str | None) -> dict:
        _unsupported(self, "set QoS")

    def delete_lun(self, name: str, force: bool = False) -> None:
        """Delete a LUN or clone. Without ``force`` a mapped LUN or one with
        snapshots raises StorageElementBusyEx; with it, mappings and snapshots go too."""
        _unsupported(self, "delete LUNs")

    # snapshots ------------------------------------------------------------
    def list_snapshots(self, lun: str | None = None) -> list:
        """``storage_element`` records (se_type SNAP), of one LUN or all."""
        _unsupported(self, "list snapshots")

    def get_snapshot(self, lun: str, name: str) -> dict | None:
        for snap in self.list_snapshots(lun):
            if snap["name"] == name:
                return snap
        return None

    def create_snapshot(self, lun: str, name: str) -> dict:
        _unsupported(self, "create snapshots")

    def delete_snapshot(self, lun: str, name: str) -> None:
        """Without dependent (unsplit) clones; otherwise StorageElementBusyEx."""
        _unsupported(self, "delete snapshots")

    def restore_snapshot(self, lun: str, name: str) -> dict:
        """Roll ``lun`` back to the snapshot; SnapRestoreNotSafeEx when that would hurt others."""
        _unsupported(self, "restore snapshots")

    def snapshot_is_current(self, lun: str, name: str) -> bool:
        """True when the LUN's content is known to equal the snapshot's (restore is a no-op)."""
        return False

    # clones ---------------------------------------------------------------
    def create_clone(self, name: str, lun: str, snapshot: str | None = None) -> dict:
        """A writable copy of ``lun`` (or of its ``snapshot``), in the parent's pool."""
        _unsupported(self, "create clones")

    def split_clone(self, name: str) -> dict:
        """Make the clone independent: parent and parent_snapshot become None."""
        _unsupported(self, "split clones")

    # access groups ----------------------------------------------------------
    def list_access_groups(self) -> list:
        _unsupported(self, "list access groups")

    def get_access_group(self, name: str) -> dict | None:
        for group in self.list_access_groups():
            if group["grp_name"] == name:
                return group
        return None

    def get_access_groups(self, names: list) -> dict:
        """``{name: record or None}`` of the access groups ``names``, read together (see
        :meth:`get_luns`). This default calls :meth:`get_access_group` per name."""
        return dict((name, self.get_access_group(name)) for name in names)

    def create_access_group(self, name: str, entries: list, luns: list, chap: dict | None) -> dict:
        """Create a group with normalised ``entries``, ``luns`` ([{name, lun_id}], lun_id
        may be None: the backend picks the lowest free number) and optional ``chap``
        ({username, password, mutual_username, mutual_password})."""
        _unsupported(self, "create access groups")

    def update_access_group(self, name: str, changes: dict) -> dict:
        """Apply ``changes`` in one go: ``add_entries``, ``remove_entries`` (lists),
        ``map`` ([{name, lun_id}]), ``unmap`` ([names]), and ``chap`` (a dict to set,
        None to remove; absent key: leave as is)."""
        _unsupported(self, "change access groups")

    def delete_access_group(self, name: str, force: bool = False) -> None:
        """Without ``force`` a group with LUNs mapped raises StorageElementBusyEx."""
        _unsupported(self, "delete access groups")

    def chap_matches(self, name: str, chap: dict) -> bool:
        """True when the group's CHAP accounts equal ``chap`` (secrets compared as
        the backend stores them, e.g. against a salted hash)."""
        _unsupported(self, "check CHAP accounts")


class FileSystemPlugin(StoragePlugin):
    """A file storage server: network file systems (created and exported by the
    server) with snapshots and clones."""

    def list_filesystems(self) -> list:
        _unsupported(self, "list file systems")

    def get_filesystem(self, name: str) -> dict | None:
        for fs in self.list_filesystems():
            if fs["name"] == name:
                return fs
        return None

    def create_filesystem(self, name: str, pool: str, size: int, export: dict) -> dict:
        """``export``: {clients: [...], access_groups: [...], options: [...]}."""
        _unsupported(self, "create file systems")

    def resize_filesystem(self, name: str, size: int) -> dict:
        _unsupported(self, "resize file systems")

    def set_export(self, name: str, export: dict) -> dict:
        _unsupported(self, "change exports")

    def delete_filesystem(self, name: str, force: bool = False) -> None:
        _unsupported(self, "delete file systems")

    def list_fs_snapshots(self, filesystem: str | None = None) -> list:
        _unsupported(self, "list file system snapshots")

    def get_fs_snapshot(self, filesystem: str, name: str) -> dict | None:
        for snap in self.list_fs_snapshots(filesystem):
            if snap["name"] == name:
                return snap
        return None

    def create_fs_snapshot(self, filesystem: str, name: str) -> dict:
        _unsupported(self, "create file system snapshots")

    def delete_fs_snapshot(self, filesystem: str, name: str) -> None:
        _unsupported(self, "delete file system snapshots")

    def restore_fs_snapshot(self, filesystem: str, name: str) -> dict:
        _unsupported(self, "restore file system snapshots")

    def fs_snapshot_is_current(self, filesystem: str, name: str) -> bool:
        """True when the file system's content is known to equal the snapshot's."""
        return False

    def create_fs_clone(self, name: str, filesystem: str, snapshot: str | None = None) -> dict:
        _unsupported(self, "clone file systems")

    def split_fs_clone(self, name: str) -> dict:
        _unsupported(self, "split file system clones")


def by_name(listed: list, field: str, names: list) -> dict:
    """``{name: record or None}`` for ``names`` out of the records ``listed`` (``field`` holds
    their name): what a bulk read such as :meth:`StorageArrayPlugin.get_luns` returns."""
    found = dict((record[field], record) for record in listed)
    return dict((name, found.get(name)) for name in names)


def is_job(result) -> bool:
    """True when a backend answered with a job record instead of a result."""
    return isinstance(result, dict) and "job_id" in result and "progress" in result
