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
import math
import re
import time
from urllib.parse import parse_qsl, unquote, unquote_plus, urlsplit

from ansible_collections.stormgmt.core.plugins.module_utils._cache import TTLCache
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
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
    "consistency_group": "create, change and delete consistency groups (named sets of LUNs)",
    "cg_snapshot": "snapshot every member of a consistency group at one point in time; delete such group snapshots",
    "cg_snapshot_restore": "roll every member of a consistency group back to a group snapshot",
    "cg_filesystems": "YES/NO: consistency groups may hold file systems too",
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
    "chap", "mutual_chap", "async_jobs", "cg_filesystems",
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

# query parameters whose value is a secret: Ansible's PASSWORD_MATCH words, plus secrets and tokens
_SECRET_PARAMETER = lazy_compile(
    r"(?:^|[-_. ])(?:pass(?:word|wd|wrd|phrase)?|pwd|secret|token|api_?key|credentials?)(?:$|[-_. ])", re.IGNORECASE)


def uri_secrets(text) -> set:
    """The secrets written into a ``server`` URI, as written and percent-decoded.

    The password of the user information, read as loosely as Ansible's log sanitizer reads it
    (whatever stands between the first ':' after '://', or in a text without a scheme, and the
    last '@'), and the values of
    query parameters named like secrets (``password=``, ``token=``...). Never raises: the module
    glue hides these from every output before anything parses the URI, malformed or not.
    """
    if text is None:
        return set()
    text = text if isinstance(text, str) else str(text)
    found = set()
    start = text.find("://")
    rest = text[start + 3:] if start >= 0 else text  # without a scheme: user:password@host
    if not rest.startswith("/") and "@" in rest:
        userinfo = rest[:rest.rindex("@")]
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    query = text.partition("?")[2].partition("#")[0]
    for pair in re.split(r"[&;]", query):
        key, equals, value = pair.partition("=")
        if equals and _SECRET_PARAMETER.search(unquote_plus(key)):
            found.add(value)
    found |= set(unquote(value) for value in found) | set(unquote_plus(value) for value in found)
    return set(value for value in found if value)


class ServerURI:
    """A parsed ``server`` option: ``scheme://[host[:port]]/path?key=value``.

    Credentials in the URI are refused: the user information (``user:password@``) and
    query parameters named like secrets (use the username and password options).
    Backends read their query parameters with :meth:`option`, which validates and
    bounds them in one place, and refuse parameters they do not know with
    :meth:`check_parameters`.
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or "://" not in text:
            raise ValueFormatEx(
                "server %r is not a URI: expected for example sim:///var/lib/stormgmt/sim.db "
                "or tgt:///srv/pool0?portal=127.0.0.1:3260" % (text,), "server")
        try:
            parts = urlsplit(text)
        except ValueError as error:  # "Invalid IPv6 URL", a port that is not a number...
            raise ValueFormatEx("server %r is not a valid URI: %s" % (text, error), "server") from None
        query = parse_qsl(parts.query, keep_blank_values=True)
        if parts.username is not None or parts.password is not None or any(
                _SECRET_PARAMETER.search(key) for key, _value in query):
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
        self.query = dict(query)
        self._repeated = set(key for index, (key, _value) in enumerate(query)
                             if key in (other for other, _v in query[:index]))

    def check_parameters(self, known, backend: str) -> None:
        """Refuse query parameters a backend does not read (a typo must not pass silently)."""
        unknown = sorted(set(self.query) - set(known))
        if unknown:
            raise ValueFormatEx("server %r: unknown parameter(s) %s; the %s backend reads %s"
                                % (self.text, ", ".join(unknown), backend, ", ".join(known) or "none"), "server")

    def option(self, key: str, default=None, convert=str, minimum=None, maximum=None, unit: str = ""):
        """Query parameter ``key`` converted with ``convert``, or ``default`` when absent.

        ``int`` takes ASCII digits only, ``float`` a plain decimal number (no sign, exponent,
        ``inf`` or ``nan``), ``bool`` true/false/yes/no/on/off/1/0; a string may hold no
        control character or line break. ``minimum`` / ``maximum`` bound a number. A
        parameter given twice, malformed or out of bounds is ValueFormatEx naming it.
        """
        if key not in self.query:
            return default
        text = self.query[key]
        if key in self._repeated:
            raise ValueFormatEx("server URI parameter %s is given more than once" % key, "server")
        expected = _expected(convert, minimum, maximum, unit)
        value = _convert(text, convert)
        if value is _INVALID:
            raise ValueFormatEx("server URI parameter %s=%r is not valid: expected %s" % (key, text, expected),
                                "server")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise ValueFormatEx("server URI parameter %s=%s is out of range: expected %s" % (key, text, expected),
                                "server")
        return value

    def __str__(self) -> str:
        return self.text


_INVALID = object()
_DIGITS = lazy_compile(r"^[0-9]{1,18}$")
_DECIMAL = lazy_compile(r"^[0-9]{1,15}(\.[0-9]{1,9})?$")
_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
# C0 and C1 controls, DEL, and the characters str.splitlines() breaks at
_CONTROL = lazy_compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _convert(text: str, convert):
    if convert is int:
        return int(text) if _DIGITS.match(text) else _INVALID
    if convert is float:
        return float(text) if _DECIMAL.match(text) else _INVALID
    if convert is bool:
        return _BOOLEANS.get(text.lower(), _INVALID)
    if _CONTROL.search(text):
        return _INVALID
    if convert is str:
        return text
    try:
        value = convert(text)
    except (TypeError, ValueError):
        return _INVALID
    if isinstance(value, float) and not math.isfinite(value):
        return _INVALID
    return value


def _expected(convert, minimum, maximum, unit: str) -> str:
    if convert is bool:
        return "true or false"
    noun = {int: "a whole number", float: "a number"}.get(convert)
    if noun is None:
        return "a value without control characters"
    noun += " of " + unit if unit else ""
    if minimum is not None and maximum is not None:
        return "%s from %s to %s" % (noun, _plain(minimum), _plain(maximum))
    if minimum is not None:
        return "%s, at least %s" % (noun, _plain(minimum))
    if maximum is not None:
        return "%s, at most %s" % (noun, _plain(maximum))
    return noun


def _plain(number) -> str:
    return "%g" % number if isinstance(number, float) else str(number)


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
        #: sentences saying what this run repaired (left behind by a run that was killed);
        #: the engine returns them as ``repaired`` and as warnings
        self.repaired: list = []

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

    def list_jobs(self) -> list:
        """``job`` records of the jobs the server still knows (running, and finished ones it keeps),
        oldest first. A backend that cannot list its jobs returns [] (``storage_info`` then shows none);
        ``job_status`` still answers for a job whose handle a task holds."""
        return []

    def note_repair(self, text: str) -> None:
        """Record that this run repaired something (a sentence for the user)."""
        if text not in self.repaired:
            self.repaired.append(text)

    def server_time(self) -> float:
        """Now, in seconds since the epoch, by the clock of the storage server: the clock its
        records' ``created`` times come from. Snapshot rotation measures ages with it.

        This default reads the clock of the host the module runs on, which is the storage
        server for the simulator and the tgt backend. A backend whose storage keeps time
        elsewhere answers from there.
        """
        return time.time()

    def close(self) -> None:
        """Release connections; called once when the module is done."""


class StorageArrayPlugin(StoragePlugin):
    """A block storage server: pools, LUNs, snapshots, clones, access groups.

    Names: LUNs (clones included) and access groups have server-wide unique names;
    a snapshot name is unique among the snapshots of its LUN.
    """

    # What the server's API can say or take. A backend for an API with gaps (libstoragemgmt's
    # plug-ins) sets these False; the resources then predict None for the field, and refuse
    # what the server cannot take before any write.
    #: mappings carry LUN numbers, and a task may choose them
    lun_numbers = True
    #: LUN records say whether a LUN is thin (else ``thin`` is None in them)
    thin_reported = True
    #: a group's CHAP accounts can be read back and compared (else CHAP is write-only: set when
    #: the group is made and for initiators added to it, never compared)
    chap_readable = True
    #: an access group may exist without initiators (else it needs at least one)
    empty_access_groups = True
    #: LUN snapshot records say when they were taken (``created``); else ``created`` is None in them and
    #: snapshot rotation dates a snapshot by the time stamp in its generated name
    snapshot_times = True

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

    def clone_origin(self, name: str) -> dict | None:
        """Where LUN ``name`` was cloned from, kept after a split: ``{"parent": LUN name,
        "parent_snapshot": snapshot name or None, "parent_uuid": uuid of that LUN or None}``,
        or None when it was not made as a clone (or the backend cannot tell).

        The clone module acts on an existing object only when it is a clone of the
        parent the task names, or provably was one before a split. This default knows
        the lineage of unsplit clones only (their record's ``parent``).
        """
        return _origin_of(self.get_lun(name))

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

    # consistency groups -------------------------------------------------------
    # A consistency group is a named set of LUNs (and file systems, where the ability
    # cg_filesystems is YES) on this server. A LUN or file system is in one group at most;
    # its record names the group in ``consistency_group``. A group snapshot holds one
    # snapshot of every member, all of the same point in time, each named as the group
    # snapshot and marked with the group in its ``consistency_group`` field.
    def list_consistency_groups(self) -> list:
        """``consistency_group`` records of every group."""
        _unsupported(self, "list consistency groups")

    def get_consistency_group(self, name: str) -> dict | None:
        for group in self.list_consistency_groups():
            if group["name"] == name:
                return group
        return None

    def create_consistency_group(self, name: str, luns: list, filesystems: list) -> dict:
        """Create a group of the named LUNs and file systems (names as their records spell
        them, no duplicates). A member missing is OperationPreReqNotMetEx; a member already in
        another group is InvalidValueEx."""
        _unsupported(self, "create consistency groups")

    def update_consistency_group(self, name: str, changes: dict) -> dict:
        """Apply ``changes`` in one go: ``add_luns``, ``remove_luns``, ``add_filesystems``,
        ``remove_filesystems`` (lists of names). Existing group snapshots keep the members
        they were taken of."""
        _unsupported(self, "change consistency groups")

    def delete_consistency_group(self, name: str, force: bool = False) -> None:
        """Delete the group (its members stay). Without ``force`` a group that has group
        snapshots raises StorageElementBusyEx; with it, they are deleted too, unless a clone
        depends on one of their snapshots (StorageElementBusyEx, nothing deleted)."""
        _unsupported(self, "delete consistency groups")

    def list_cg_snapshots(self, group: str | None = None) -> list:
        """``cg_snapshot`` records, of one group (oldest first) or of all."""
        _unsupported(self, "list group snapshots")

    def get_cg_snapshot(self, group: str, name: str) -> dict | None:
        for snap in self.list_cg_snapshots(group):
            if snap["name"] == name:
                return snap
        return None

    def create_cg_snapshot(self, group: str, name: str) -> dict:
        """Snapshot every member of ``group`` at one point in time, each snapshot named
        ``name``: either all of them are made, or none. The data of each member snapshot is
        what its member held at one instant common to all of them (crash consistent: a write
        acknowledged before that instant is in, none issued after it is). A group without
        members is OperationPreReqNotMetEx; a member that already has a snapshot ``name`` is
        InvalidValueEx; a member busy with a job is StorageElementBusyEx."""
        _unsupported(self, "create group snapshots")

    def delete_cg_snapshot(self, group: str, name: str) -> None:
        """Delete the group snapshot and every member snapshot of it, or nothing: a clone that
        depends on one of them is StorageElementBusyEx."""
        _unsupported(self, "delete group snapshots")

    def restore_cg_snapshot(self, group: str, name: str) -> dict:
        """Roll every LUN and file system the group snapshot holds back to it, or none:
        SnapRestoreNotSafeEx when a member is mapped to an access group (or a file system is
        mounted)."""
        _unsupported(self, "restore group snapshots")


class FileSystemPlugin(StoragePlugin):
    """A file storage server: network file systems (created and exported by the
    server) with snapshots and clones."""

    #: True when a write past a file system's size fails (a quota the server enforces); False
    #: when the size is only counted (the simulator)
    fs_size_enforced = False
    #: exports may name access groups, which then hold NFS clients (else access groups hold
    #: initiators only and exports name their clients themselves)
    nfs_access_groups = True
    #: a clone can be split while its parent has snapshots (else splitting is refused, with
    #: FileSystemBusyEx, until they are deleted: libstoragemgmt may drop them to split)
    fs_split_with_parent_snapshots = True

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

    def check_export(self, export: dict) -> dict:
        """Check ``export`` ({clients, access_groups, options}) for this server before anything
        changes (InvalidValueEx for a client or option the server cannot serve) and return it in
        the form its records carry. The default takes it as it is."""
        return export

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

    def fs_clone_origin(self, name: str) -> dict | None:
        """As :meth:`StorageArrayPlugin.clone_origin`, for file system ``name``."""
        return _origin_of(self.get_filesystem(name))

    def check_filesystem_action(self, name: str, action: str, snapshot: str | None = None) -> None:
        """Raise (FileSystemBusyEx, OperationPreReqNotMetEx, ...) when ``action`` on file system
        ``name`` cannot be done as things stand on the server, so that check mode refuses
        what the real run would. ``action``: ``create`` (a new file system or clone of that
        name), ``delete``, ``snapshot``, ``clone`` (``name`` is the source, ``snapshot`` the
        snapshot cloned, if any), ``restore`` (to ``snapshot``), ``delete_snapshot``.
        The default finds nothing in the way.
        """


def _origin_of(record) -> dict | None:
    if not record or not record.get("parent"):
        return None
    return {"parent": record["parent"], "parent_snapshot": record.get("parent_snapshot"), "parent_uuid": None}


def by_name(listed: list, field: str, names: list) -> dict:
    """``{name: record or None}`` for ``names`` out of the records ``listed`` (``field`` holds
    their name): what a bulk read such as :meth:`StorageArrayPlugin.get_luns` returns."""
    found = dict((record[field], record) for record in listed)
    return dict((name, found.get(name)) for name in names)


def is_job(result) -> bool:
    """True when a backend answered with a job record instead of a result."""
    return isinstance(result, dict) and "job_id" in result and "progress" in result
