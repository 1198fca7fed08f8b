# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The simulator backend: ``sim:///path/state.db[?job_delay=SECONDS][&create=true]``.

A storage array (and NAS) kept in one SQLite file. Every operation is one
transaction (``BEGIN IMMEDIATE``), so parallel forks serialise on the file and a
process killed mid-operation leaves the previous state. Counters kept on the pool
rows make every operation cost the same whether the array holds ten LUNs or a
hundred thousand. CHAP secrets are stored only as salted PBKDF2 hashes; the file
and its directory are private to the user (0600 / 0700).

The state file has one identity whatever name reaches it (docs/sim_backend.md):
symlinks are resolved, and a file with several hard links is opened by the name
recorded in it when it was made (extended attribute ``user.stormgmt.sim_path``),
so SQLite's -wal/-shm files, the file system root and the scratch directories
are always derived from one path. It is never guessed: a directory that does not
exist is created only with ``create=true``; a missing or empty state file beside
file systems that hold data, a damaged schema or something that is not a regular
file is InvalidStorageArrayEx, never a fresh server.

With ``job_delay`` the long operations (create, clone, split, restore) return a
job; the element is BUSY_* until the delay has passed.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import stat
import time

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._secrets import hash_secret, secret_matches
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidStorageArrayEx,
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    FileSystemPlugin,
    StorageArrayPlugin,
)

SCHEMA_VERSION = 2
TiB = 1024 ** 4
URI_PARAMETERS = ("job_delay", "create")
# longest simulated job: long enough to watch, short enough never to wedge an element
MAX_JOB_DELAY = 3600
# extended attribute of the state file: the path it was made under (its one identity)
PATH_XATTR = "user.stormgmt.sim_path"
# a state file being made: <path>.new-<owner>, linked into place when complete
NEW_SUFFIX = ".new-"

# pools a new simulator starts with: name, size, description
DEFAULT_POOLS = (
    ("pool0", 10 * TiB, "simulated pool, default"),
    ("pool1", 1 * TiB, "simulated pool, small"),
)
QOS_LEVELS = ("platinum", "gold", "silver", "bronze")

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pools (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, total_sz INTEGER NOT NULL,
    used_sz INTEGER NOT NULL DEFAULT 0,   -- reserved by thick LUNs
    alloc_sz INTEGER NOT NULL DEFAULT 0,  -- provisioned (thin and thick)
    description TEXT);
CREATE TABLE IF NOT EXISTS luns (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    pool_id INTEGER NOT NULL REFERENCES pools(id), size INTEGER NOT NULL, thin INTEGER NOT NULL,
    qos TEXT, parent_id INTEGER REFERENCES luns(id), parent_snap_id INTEGER REFERENCES snapshots(id),
    content_gen INTEGER NOT NULL DEFAULT 0, busy_state TEXT, busy_until REAL, created REAL NOT NULL,
    origin_name TEXT, origin_uuid TEXT, origin_snap TEXT);
CREATE INDEX IF NOT EXISTS luns_parent ON luns(parent_id);
CREATE INDEX IF NOT EXISTS luns_parent_snap ON luns(parent_snap_id);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL,
    lun_id INTEGER NOT NULL REFERENCES luns(id), size INTEGER NOT NULL,
    content_gen INTEGER NOT NULL, created REAL NOT NULL, UNIQUE (lun_id, name));
CREATE TABLE IF NOT EXISTS access_groups (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    chap_user TEXT, chap_hash TEXT, mutual_user TEXT, mutual_hash TEXT);
CREATE TABLE IF NOT EXISTS group_entries (
    group_id INTEGER NOT NULL REFERENCES access_groups(id), entry TEXT NOT NULL,
    PRIMARY KEY (group_id, entry));
CREATE TABLE IF NOT EXISTS mappings (
    group_id INTEGER NOT NULL REFERENCES access_groups(id), lun_id INTEGER NOT NULL REFERENCES luns(id),
    lun_number INTEGER NOT NULL, PRIMARY KEY (group_id, lun_id), UNIQUE (group_id, lun_number));
CREATE INDEX IF NOT EXISTS mappings_lun ON mappings(lun_id);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, op TEXT NOT NULL, started REAL NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS scratch (
    id INTEGER PRIMARY KEY, op TEXT NOT NULL, owner TEXT NOT NULL, created REAL NOT NULL,
    path TEXT NOT NULL, dest TEXT, source TEXT, dev INTEGER, ino INTEGER, swap INTEGER NOT NULL DEFAULT 0);
"""
# every table a complete state has (the file system tables are in _sim_fs.FS_TABLES)
TABLES = frozenset(("meta", "pools", "luns", "snapshots", "access_groups", "group_entries", "mappings", "jobs",
                    "scratch", "filesystems", "fs_snapshots", "fs_exports"))


def _new_uuid() -> str:
    """A random UUID (uuid4) as text; uuid is imported on creation only (a no-op task does not load it)."""
    import uuid
    return str(uuid.uuid4())


def default_state_path() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "stormgmt", "sim.db")


# --- who made a scratch file: a run that may still be going, or a dead one -----------------

def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", "r", encoding="ascii") as handle:
            return handle.read().strip()
    except OSError:
        return "-"


def _start_time(pid: int) -> str | None:
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
        return data[data.rindex(b")") + 2:].split()[19].decode("ascii")
    except (OSError, ValueError, IndexError):
        return None


def owner_token() -> str:
    """This process, as boot id, pid and start time: no other process ever has the same."""
    return "%s_%d_%s" % (_boot_id(), os.getpid(), _start_time(os.getpid()))


def owner_alive(token: str) -> bool:
    """Whether the process ``token`` names still runs (False for anything malformed)."""
    try:
        boot, pid, started = token.rsplit("_", 2)
        pid = int(pid)
    except ValueError:
        return False
    return boot == _boot_id() and _start_time(pid) == started


def _fs_half():
    """The file system half of the simulator (``_sim_fs.SimFileSystems``), imported on first use.

    It is as much code as the LUN half, and AnsiballZ makes a module compile every file
    it imports on every run: a LUN task should not pay for it (benchmarks/noop_vs_ping).
    SimBackend forwards the FileSystemPlugin methods and looks up any other attribute it
    lacks (``fs_root``, ``fs_dependents``, the helpers) in SimFileSystems, binding it to
    the backend, so SimFileSystems works as the mixin it is written as. It may define the
    FileSystemPlugin methods and attributes of its own, and override nothing else.
    """
    from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_fs import SimFileSystems
    return SimFileSystems


_MISSING = object()

# consistency group of a LUN, file system, snapshot or file system snapshot (tables: _sim_cg.CG_TABLES)
_CG_OF = {
    "lun_id": "SELECT c.name FROM cg_members m JOIN cgroups c ON c.id = m.cg_id WHERE m.lun_id = ?",
    "fs_id": "SELECT c.name FROM cg_members m JOIN cgroups c ON c.id = m.cg_id WHERE m.fs_id = ?",
    "snap_id": "SELECT c.name FROM cg_snapshot_members m JOIN cg_snapshots s ON s.id = m.cgs_id"
               " JOIN cgroups c ON c.id = s.cg_id WHERE m.snap_id = ?",
    "fs_snap_id": "SELECT c.name FROM cg_snapshot_members m JOIN cg_snapshots s ON s.id = m.cgs_id"
                  " JOIN cgroups c ON c.id = s.cg_id WHERE m.fs_snap_id = ?",
}
# the consistency group methods, answered by _sim_cg.SimGroups (imported on first use)
CG_METHODS = (
    "list_consistency_groups", "get_consistency_group", "create_consistency_group", "update_consistency_group",
    "delete_consistency_group", "list_cg_snapshots", "get_cg_snapshot", "create_cg_snapshot", "delete_cg_snapshot",
    "restore_cg_snapshot")


def _cg_method(name: str):
    def method(self, *args, **kwargs):
        from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_cg import SimGroups
        return getattr(SimGroups(self), name)(*args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(StorageArrayPlugin, name).__doc__
    return method


def _fs_method(name: str):
    def method(self, *args, **kwargs):
        implementation = vars(_fs_half()).get(name) or getattr(FileSystemPlugin, name)
        return implementation(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(FileSystemPlugin, name).__doc__
    return method


def _damaged(path: str, error: sqlite3.DatabaseError) -> InvalidStorageArrayEx:
    """What SQLite's complaint about a state file means for the user."""
    text = str(error)
    if "no such table" in text or "no such column" in text:
        why = "its tables are incomplete (%s)" % text
    elif "malformed" in text or "not a database" in text or "corrupt" in text:
        why = "the file is damaged (%s)" % text
    else:
        why = text
    return InvalidStorageArrayEx(
        "the simulator state %s cannot be used: %s; restore it from a backup, or point the server URI at "
        "another state file" % (path, why))


def _sqlite_errors(function):
    """SQLite's own exceptions never reach the user as "unexpected error"."""
    @functools.wraps(function)
    def wrapper(self, *args, **kwargs):
        try:
            return function(self, *args, **kwargs)
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StorageElementBusyEx(
                    "the simulator state %s stayed locked by another run for 60 s; retry" % self.path) from None
            raise _damaged(self.path, error) from None
        except sqlite3.DatabaseError as error:
            raise _damaged(self.path, error) from None
    return wrapper


class SimBackend(StorageArrayPlugin, FileSystemPlugin):
    scheme = "sim"
    block_size = 512
    min_lun_id = 1

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        if uri.host:
            raise ValueFormatEx(
                "server %r: a sim URI takes an absolute path and no host, e.g. sim:///var/tmp/sim.db" % uri.text,
                "server")
        uri.check_parameters(URI_PARAMETERS, "sim")
        given = uri.path or default_state_path()
        if given.endswith("/") or os.path.basename(os.path.normpath(given)) in ("", ".", ".."):
            raise ValueFormatEx("server %r: the path must name the state file, e.g. sim:///var/tmp/sim.db"
                                % uri.text, "server")
        #: the state file; symlinks resolved here, a hard link to the recorded name when it is opened
        self.path = os.path.realpath(given)
        self.job_delay = uri.option("job_delay", 0.0, float, minimum=0, maximum=MAX_JOB_DELAY, unit="seconds")
        #: create=true: make the state's directory when it does not exist (else that is an error);
        #: sim:// alone names the default place, whose directory is always made (no typo can lead there)
        self.create = uri.option("create", not uri.path, bool)
        self._db = None
        self._uuid = None
        self._cg_tables = None

    def __getattr__(self, name: str):
        # only for what normal lookup does not find: the attributes of the file system half
        attribute = _MISSING if name.startswith("__") else vars(_fs_half()).get(name, _MISSING)
        if attribute is _MISSING:
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return attribute.__get__(self, type(self)) if hasattr(attribute, "__get__") else attribute

    # --- storage ----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db, pending = self._open()
            self._db = db
            if pending and not self.read_only:
                # a run was killed while it had scratch copies or deletions on disk
                self._sweep_scratch()
        return self._db

    def _memory(self, source=None) -> sqlite3.Connection:
        """A state in memory (fresh, or a copy of ``source``) for a run that only reads:
        check mode and storage_info never write the state file, nor create it."""
        db = sqlite3.connect(":memory:", isolation_level=None)
        db.row_factory = sqlite3.Row
        if source is None:
            self._create_schema(db)
        else:
            source.backup(db)
        return db

    def _fresh_in_memory(self) -> tuple:
        db = self._memory()
        self._uuid = db.execute("SELECT value FROM meta WHERE key = 'uuid'").fetchone()[0]
        return db, False

    def _open(self) -> tuple:
        """(connection, whether scratch rows wait for a repair); every refusal is InvalidStorageArrayEx."""
        if not self._directory_ready():
            return self._fresh_in_memory()
        info = self._state_info()
        if info is None or info.st_size == 0:
            self._check_not_lost(info)
            if self.read_only:
                return self._fresh_in_memory()
            self._make_state_file()
            info = self._state_info()
        if info.st_nlink > 1:
            self._follow_hard_link(info)
        old_umask = os.umask(0o077)  # the -wal and -shm files too
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA foreign_keys = ON")
            meta = self._read_meta(db)
            if meta["schema_version"] < SCHEMA_VERSION:
                if self.read_only:
                    memory = self._memory(db)
                    db.close()
                    self._migrate(memory)
                    self._uuid = meta["uuid"]
                    return memory, False
                self._migrate(db)
                meta = self._read_meta(db)
            if not self.read_only and not self._cg_ready(db):
                # a state written before consistency groups: add their tables (check mode reads it without them)
                from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_cg import migrate
                migrate(db)
                self._cg_tables = True
            db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StorageElementBusyEx(
                    "the simulator state %s stayed locked by another run for 60 s; retry" % self.path) from None
            raise _damaged(self.path, error) from None
        except sqlite3.DatabaseError as error:
            raise InvalidStorageArrayEx(
                "%s is not a stormgmt simulator state file (%s)" % (self.path, error)) from None
        finally:
            os.umask(old_umask)
        self._uuid = meta["uuid"]
        return db, meta["pending"]

    def _directory_ready(self) -> bool:
        """The state's directory exists (or is made, with create=true). False: a read-only run
        on a simulator that create=true would make: it answers from a fresh state in memory."""
        directory = os.path.dirname(self.path)
        if os.path.isdir(directory):
            return True
        if not self.create:
            if os.path.lexists(directory):
                raise InvalidStorageArrayEx("cannot use the simulator state %s: %s is not a directory"
                                            % (self.path, directory))
            raise InvalidStorageArrayEx(
                "the directory %s of the simulator state %s does not exist; create it, or add ?create=true to "
                "the server URI to let the simulator create it" % (directory, self.path))
        if self.read_only:
            return False
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)  # parallel forks may race to make it: fine
        except OSError as error:
            raise InvalidStorageArrayEx("cannot create the directory %s of the simulator state: %s"
                                        % (directory, error.strerror)) from None
        return True

    def _state_info(self):
        """stat of the state file (None when there is none); only a regular file is a state."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise InvalidStorageArrayEx("cannot open the simulator state %s: %s" % (self.path, error.strerror)) from None
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a device or special file"
            raise InvalidStorageArrayEx("the simulator state %s is %s, not a regular file; give the path of a "
                                        "simulator state file" % (self.path, kind))
        return info

    def _check_not_lost(self, info) -> None:
        """A missing or empty state file is a new simulator only when no file system of an old one
        is left beside it: a lost state is reported, never replaced by an empty one."""
        root = self.path + ".fs"
        try:
            left = [name for name in os.listdir(root) if not self._empty_scratch_dir(root, name)]
        except FileNotFoundError:
            left = []
        except OSError as error:
            raise InvalidStorageArrayEx("cannot read %s: %s" % (root, error.strerror)) from None
        what = "is empty (0 bytes)" if info is not None else "does not exist"
        if left:
            shown = ", ".join(sorted(left)[:5]) + (", ..." if len(left) > 5 else "")
            raise InvalidStorageArrayEx(
                "the simulator state %s %s but %s holds file systems of a simulator (%s): its state was lost or "
                "truncated; restore the state file from a backup (nothing was changed), or move %s away to start "
                "a new simulator there" % (self.path, what, root, shown, root))
        if info is not None:
            raise InvalidStorageArrayEx(
                "the simulator state %s is empty (0 bytes): it was truncated or is not a simulator state; restore "
                "it from a backup, or remove it to start a new simulator there (nothing was changed)" % self.path)

    @staticmethod
    def _empty_scratch_dir(root: str, name: str) -> bool:
        if name not in (".tmp", ".trash", ".snapshots"):
            return False
        try:
            return not os.listdir(os.path.join(root, name))
        except OSError:
            return False

    def _make_state_file(self) -> None:
        """Make a new state under a temporary name and link it into place complete: no run ever
        sees a half-made state, and forks racing to make it agree on the one that got there first."""
        self._remove_dead_new_files()
        temp = self.path + NEW_SUFFIX + owner_token()
        old_umask = os.umask(0o077)
        try:
            os.close(os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            fault_point("sim.create_state.temp_made")
            db = sqlite3.connect(temp, isolation_level=None)
            try:
                self._create_schema(db, on_disk=True)
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                db.close()
            with contextlib.suppress(OSError):  # no extended attributes here: hard links are then refused
                os.setxattr(temp, PATH_XATTR, os.fsencode(self.path))
            fault_point("sim.create_state.before_link")
            try:
                os.link(temp, self.path)
            except FileExistsError:
                pass  # another run made it first: use that one
            fault_point("sim.create_state.linked")
        except OSError as error:
            raise InvalidStorageArrayEx("cannot create the simulator state %s: %s" % (self.path, error.strerror)) from None
        except sqlite3.DatabaseError as error:
            raise InvalidStorageArrayEx("cannot create the simulator state %s: %s" % (self.path, error)) from None
        finally:
            os.umask(old_umask)
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(temp + suffix)

    def _remove_dead_new_files(self, inode=None) -> None:
        """Remove state files a killed run was making (``<path>.new-<owner>``, owner dead).
        With ``inode``: only those that are a hard link to it (killed right after linking)."""
        directory, base = os.path.split(self.path)
        prefix = base + NEW_SUFFIX
        try:
            names = [name for name in os.listdir(directory) if name.startswith(prefix)]
        except OSError:
            return
        for name in names:
            token = name[len(prefix):]
            for suffix in ("-wal", "-shm", "-journal"):
                if token.endswith(suffix):
                    token = token[:-len(suffix)]
            if owner_alive(token):
                continue
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if inode is not None and (info.st_dev, info.st_ino) != inode:
                continue
            with contextlib.suppress(OSError):
                os.unlink(path)
                self.note_repair("removed %s, a state file a killed run was making" % path)

    def _follow_hard_link(self, info) -> None:
        """A state file with several names is used under the name it was made with, so
        every run derives the same -wal/-shm files, file system root and scratch paths."""
        try:
            recorded = os.fsdecode(os.getxattr(self.path, PATH_XATTR))
        except OSError:
            recorded = None
        if recorded:
            try:
                other = os.stat(recorded)
            except OSError:
                other = None
            if other is not None and (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino):
                self.path = recorded
                if not self.read_only:
                    self._remove_dead_new_files((info.st_dev, info.st_ino))
                return
        if not self.read_only:
            # the second name may be a state file a run was killed making, right after linking it
            self._remove_dead_new_files((info.st_dev, info.st_ino))
            info = self._state_info()
            if info.st_nlink == 1:
                return
        raise InvalidStorageArrayEx(
            "the simulator state %s has %d names (hard links) and %s: two names would be two simulators writing "
            "one file (SQLite keys its -wal and -shm files to the name) and lose updates; remove the extra hard "
            "links (a symlink is fine)" % (
                self.path, info.st_nlink,
                "none of them is the name it was made with (%s)" % recorded if recorded
                else "it does not record the name it was made with"))

    def _read_meta(self, db) -> dict:
        """Schema version, server uuid, whether repairs wait: checked, in one read."""
        tables = set(row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        if "meta" not in tables:
            raise InvalidStorageArrayEx("%s is an SQLite file but not a stormgmt simulator state" % self.path)
        meta = dict((row[0], row[1]) for row in db.execute("SELECT key, value FROM meta"))
        try:
            version = int(meta.get("schema_version"))
        except (TypeError, ValueError):
            raise InvalidStorageArrayEx(
                "the simulator state %s is damaged: its schema version is %r, not a number; restore it from a "
                "backup" % (self.path, meta.get("schema_version"))) from None
        if version > SCHEMA_VERSION or version < 1:
            raise InvalidStorageArrayEx(
                "the simulator state %s has schema version %s but this collection reads schema version %s (and "
                "migrates older ones); use the collection release that wrote it, or another path"
                % (self.path, version, SCHEMA_VERSION))
        wanted = TABLES if version == SCHEMA_VERSION else TABLES - {"scratch", "filesystems", "fs_snapshots", "fs_exports"}
        missing = sorted(wanted - tables)
        if missing:
            raise InvalidStorageArrayEx(
                "the simulator state %s is damaged: table(s) %s are missing; restore it from a backup"
                % (self.path, ", ".join(missing)))
        if not meta.get("uuid"):
            raise InvalidStorageArrayEx(
                "the simulator state %s is damaged: it records no server uuid; restore it from a backup" % self.path)
        pending = version == SCHEMA_VERSION and db.execute("SELECT 1 FROM scratch LIMIT 1").fetchone() is not None
        return {"schema_version": version, "uuid": meta["uuid"], "pending": pending}

    def _create_schema(self, db, on_disk: bool = False) -> None:
        from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_cg import create_tables
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _TABLES.split(";"):
                if statement.strip():
                    db.execute(statement)
            create_tables(db)  # the file system and consistency group tables
            if on_disk:
                fault_point("sim.create_state.schema")
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)),
                ("uuid", _new_uuid()),
                ("created", str(time.time())),
            ])
            db.executemany("INSERT INTO pools (name, total_sz, description) VALUES (?, ?, ?)", DEFAULT_POOLS)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _migrate(self, db) -> None:
        """Bring a state of an older schema to SCHEMA_VERSION, in one transaction."""
        from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_fs import FS_TABLES, migrate_fs
        db.execute("BEGIN IMMEDIATE")
        try:
            version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
            if version < 2:
                # 2: clone lineage kept after a split (origin_*), scratch rows for crash repair,
                # no export naming an access group that does not exist
                columns = set(row[1] for row in db.execute("PRAGMA table_info(luns)"))
                for column in ("origin_name", "origin_uuid", "origin_snap"):
                    if column not in columns:
                        db.execute("ALTER TABLE luns ADD COLUMN %s TEXT" % column)
                db.execute(
                    "UPDATE luns SET (origin_name, origin_uuid) = (SELECT p.name, p.uuid FROM luns p WHERE p.id = luns.parent_id)"
                    " WHERE parent_id IS NOT NULL")
                db.execute(
                    "UPDATE luns SET (origin_name, origin_uuid, origin_snap) = (SELECT l.name, l.uuid, s.name FROM snapshots s"
                    " JOIN luns l ON l.id = s.lun_id WHERE s.id = luns.parent_snap_id) WHERE parent_snap_id IS NOT NULL")
                for statement in (_TABLES + FS_TABLES).split(";"):
                    if statement.strip():
                        db.execute(statement)
                migrate_fs(self, db)
                db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
            if not self.read_only:
                fault_point("sim.migrate.before_commit")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        if not self.read_only:
            self._record_name()

    def _record_name(self) -> None:
        """Record the state file's name in it (once, for a state made before names were recorded)."""
        try:
            if os.stat(self.path).st_nlink == 1:
                try:
                    os.getxattr(self.path, PATH_XATTR)
                except OSError:
                    os.setxattr(self.path, PATH_XATTR, os.fsencode(self.path))
        except OSError:
            pass  # a file system without extended attributes: hard links are then refused

    @contextlib.contextmanager
    def _write(self, op: str = "write"):
        """One operation = one IMMEDIATE transaction (a writer lock on the file)."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            fault_point("sim.%s.before_commit" % op)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        fault_point("sim.%s.committed" % op)
        self.cache.clear(self.server_uuid)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _cg_ready(self, db) -> bool:
        """Whether the state has the consistency group tables (one of an older release opened
        read-only, in check mode, may not: it then has no groups)."""
        if self._cg_tables is None:
            self._cg_tables = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                         " AND name = 'cg_snapshot_members'").fetchone() is not None
        return self._cg_tables

    def _cg_of(self, db, column: str, row_id: int):
        """The consistency group (name) of the element ``row_id`` (``column``: a key of _CG_OF), or None."""
        if not self._cg_ready(db):
            return None
        row = db.execute(_CG_OF[column], (row_id,)).fetchone()
        return None if row is None else row[0]

    @property
    def server_uuid(self) -> str:
        if self._uuid is None:
            self._conn()
        return self._uuid

    # --- server -----------------------------------------------------------
    def get_abilities(self) -> dict:
        # the simulator can do everything, online
        abilities = dict((key, "ONLINE") for key in (
            "create_lun", "resize_lun", "shrink_lun", "delete_lun", "snapshot", "snapshot_restore",
            "clone", "snap_clone", "split_clone", "access_groups",
            "create_filesystem", "resize_filesystem", "delete_filesystem", "fs_snapshot",
            "fs_snapshot_restore", "fs_clone", "fs_snap_clone", "fs_split_clone", "nfs_export",
            "consistency_group", "cg_snapshot", "cg_snapshot_restore"))
        abilities.update(dict((key, "YES") for key in (
            "thin_provisioning", "thick_provisioning", "qos", "iscsi_initiators", "fc_initiators",
            "chap", "mutual_chap", "async_jobs", "cg_filesystems")))
        abilities["backing_device_type"] = "PLUGIN_SINGLE"
        return abilities

    def get_server(self) -> dict:
        db = self._conn()
        totals = db.execute("SELECT SUM(total_sz), SUM(used_sz), SUM(alloc_sz) FROM pools").fetchone()
        groups = [row[0] for row in db.execute("SELECT name FROM access_groups ORDER BY name")]
        return records.make(
            "storage_server",
            name="stormgmt simulator",
            uuid=self.server_uuid,
            storage_server_id=self.path,
            storage_type="iSCSIStorage",
            backend=self.scheme,
            uri=self.uri.text,
            chap=False,
            status="OK",
            total_sz=totals[0], used_sz=totals[1], free_sz=totals[0] - totals[1], alloc_sz=totals[2],
            vol_groups=[pool["vol_name"] for pool in self.list_pools()],
            access_grps=groups,
            storage_desc="simulated storage array and NAS in %s" % self.path,
        )

    def list_pools(self) -> list:
        return [self._pool_record(row) for row in self._conn().execute("SELECT * FROM pools ORDER BY id")]

    def default_pool(self) -> str:
        return DEFAULT_POOLS[0][0]

    def list_qos(self) -> list:
        return [records.make("qos_vals", priority=index, value=value) for index, value in enumerate(QOS_LEVELS)]

    @staticmethod
    def _pool_record(row) -> dict:
        return records.make(
            "vol_group", vol_name=row["name"], vol_total_sz=row["total_sz"], vol_used_sz=row["used_sz"],
            vol_free_sz=row["total_sz"] - row["used_sz"], vol_alloc_sz=row["alloc_sz"], vol_desc=row["description"])

    def _pool_row(self, db, name: str):
        row = db.execute("SELECT * FROM pools WHERE name = ?", (name,)).fetchone()
        if row is None:
            names = [r[0] for r in db.execute("SELECT name FROM pools ORDER BY id")]
            raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (name, ", ".join(names)), "pool")
        return row

    # --- jobs -------------------------------------------------------------
    def _start_job(self, db, op: str, table: str, row_id: int, busy_state: str):
        """Mark an element busy and return a job record, or None without job_delay."""
        if not self.job_delay:
            return None
        now = time.time()
        job_id = _new_uuid().replace("-", "")
        db.execute("DELETE FROM jobs WHERE until < ?", (now - 3600,))
        db.execute("INSERT INTO jobs (id, op, started, until) VALUES (?, ?, ?, ?)",
                   (job_id, op, now, now + self.job_delay))
        db.execute("UPDATE %s SET busy_state = ?, busy_until = ? WHERE id = ?" % table,
                   (busy_state, now + self.job_delay, row_id))
        return records.make("job", job_id=job_id, op=op, progress=0, status="RUNNING")

    def job_status(self, job_id: str) -> dict:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise InvalidValueEx("job %s is unknown to the simulator" % job_id, "job_id")
        return self._job_record(row, time.time())

    def list_jobs(self) -> list:
        rows = self._conn().execute("SELECT * FROM jobs ORDER BY started, id").fetchall()
        return [self._job_record(row, time.time()) for row in rows]

    @staticmethod
    def _job_record(row, now: float) -> dict:
        if now >= row["until"]:
            return records.make("job", job_id=row["id"], op=row["op"], progress=100, status="COMPLETE")
        span = max(row["until"] - row["started"], 1e-9)
        return records.make("job", job_id=row["id"], op=row["op"],
                            progress=int(100 * (now - row["started"]) / span), status="RUNNING")

    def _job_on(self, db, row) -> tuple:
        """(job id, progress) of the job an element is busy with, or (None, None): the job whose end
        is the element's busy_until (_start_job writes the one value to both)."""
        if not self._busy(row):
            return None, None
        job = db.execute("SELECT * FROM jobs WHERE until = ?", (row["busy_until"],)).fetchone()
        if job is None:
            return None, None
        return job["id"], self._job_record(job, time.time())["progress"]

    @staticmethod
    def _busy(row) -> str | None:
        if row["busy_state"] and row["busy_until"] and time.time() < row["busy_until"]:
            return row["busy_state"]
        return None

    def _check_not_busy(self, row, what: str) -> None:
        state = self._busy(row)
        if state:
            raise StorageElementBusyEx(
                "%s is %s for another %.1fs (a job is running on it); wait for it and retry"
                % (what, state, row["busy_until"] - time.time()))

    # --- LUNs -------------------------------------------------------------
    _LUN_SELECT = (
        "SELECT l.*, p.name AS pool_name, pl.name AS parent_name, s.name AS parent_snap_name,"
        " sl.name AS parent_snap_lun FROM luns l JOIN pools p ON p.id = l.pool_id"
        " LEFT JOIN luns pl ON pl.id = l.parent_id"
        " LEFT JOIN snapshots s ON s.id = l.parent_snap_id LEFT JOIN luns sl ON sl.id = s.lun_id")

    def _lun_record(self, db, row) -> dict:
        groups = [r[0] for r in db.execute(
            "SELECT g.name FROM mappings m JOIN access_groups g ON g.id = m.group_id"
            " WHERE m.lun_id = ? ORDER BY g.name", (row["id"],))]
        clones = db.execute("SELECT COUNT(*) FROM luns WHERE parent_id = ?", (row["id"],)).fetchone()[0]
        if row["parent_snap_id"] is not None:
            se_type, parent, parent_snapshot = "SNAPCLONE", row["parent_snap_lun"], row["parent_snap_name"]
        else:
            se_type, parent, parent_snapshot = "LUN", row["parent_name"], None
        busy = self._busy(row)
        handle, progress = self._job_on(db, row) if busy else (None, None)
        return records.make(
            "storage_element",
            name=row["name"], uuid=row["uuid"], id=str(row["id"]), ss_uuid=self.server_uuid,
            page83_id="6001405" + row["uuid"].replace("-", "")[:25],
            se_type=se_type, size=row["size"], thin=bool(row["thin"]), vol_group_name=row["pool_name"],
            access_grp_names=groups, qos=row["qos"], state=busy or "ONLINE",
            status="busy" if busy else ("OK, %d dependent clone(s)" % clones if clones else "OK"),
            vendor="STORMGMT", product_id="SIM-LUN", path=[], array_path="%s/%s" % (row["pool_name"], row["name"]),
            parent=parent, parent_snapshot=parent_snapshot, created=records.format_time(row["created"]),
            consistency_group=self._cg_of(db, "lun_id", row["id"]), async_handle=handle, async_progress=progress,
        )

    def _lun_row(self, db, name: str):
        return db.execute(self._LUN_SELECT + " WHERE l.name = ?", (name,)).fetchone()

    def _existing_lun(self, db, name: str):
        row = self._lun_row(db, name)
        if row is None:
            raise OperationPreReqNotMetEx("LUN '%s' does not exist" % name, "lun")
        return row

    def list_luns(self) -> list:
        db = self._conn()
        return [self._lun_record(db, row) for row in db.execute(self._LUN_SELECT + " ORDER BY l.name").fetchall()]

    def get_lun(self, name: str):
        db = self._conn()
        row = self._lun_row(db, name)
        return None if row is None else self._lun_record(db, row)

    def list_clones(self, lun):
        db = self._conn()
        row = self._lun_row(db, lun)
        if row is None:
            return []
        rows = db.execute(
            self._LUN_SELECT + " WHERE l.parent_id = ? OR l.parent_snap_id IN (SELECT id FROM snapshots WHERE lun_id = ?)"
            " ORDER BY l.name", (row["id"], row["id"])).fetchall()
        return [self._lun_record(db, r) for r in rows]

    def _reserve(self, db, pool, size: int, thin: bool, what: str) -> None:
        free = pool["total_sz"] - pool["used_sz"]
        if size > free:
            raise InvalidValueEx(
                "%s needs %s but pool '%s' has %s free" % (what, format_size(size), pool["name"], format_size(free)),
                "size")
        db.execute("UPDATE pools SET used_sz = used_sz + ?, alloc_sz = alloc_sz + ? WHERE id = ?",
                   (0 if thin else size, size, pool["id"]))

    def _release(self, db, pool_id: int, size: int, thin: bool) -> None:
        db.execute("UPDATE pools SET used_sz = used_sz - ?, alloc_sz = alloc_sz - ? WHERE id = ?",
                   (0 if thin else size, size, pool_id))

    def _check_qos(self, qos) -> None:
        if qos is not None and qos not in QOS_LEVELS:
            raise InvalidValueEx("QoS %r is not offered by the simulator; choose one of %s"
                                 % (qos, ", ".join(QOS_LEVELS)), "qos")

    def create_lun(self, name, pool, size, thin, qos):
        self._check_qos(qos)
        with self._write("create_lun") as db:
            if self._lun_row(db, name) is not None:
                raise InvalidValueEx("LUN '%s' already exists" % name, "name")
            pool_row = self._pool_row(db, pool)
            self._reserve(db, pool_row, size, thin, "LUN '%s'" % name)
            cursor = db.execute(
                "INSERT INTO luns (uuid, name, pool_id, size, thin, qos, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (_new_uuid(), name, pool_row["id"], size, int(thin), qos, time.time()))
            job = self._start_job(db, "create LUN %s" % name, "luns", cursor.lastrowid, "BUSY_CREATE")
            return job or self._lun_record(db, self._lun_row(db, name))

    def resize_lun(self, name, size):
        with self._write("resize_lun") as db:
            row = self._existing_lun(db, name)
            self._check_not_busy(row, "LUN '%s'" % name)
            self._release(db, row["pool_id"], row["size"], bool(row["thin"]))
            pool = self._pool_row(db, row["pool_name"])  # read after the release: the old size is free again
            self._reserve(db, pool, size, bool(row["thin"]), "LUN '%s' at %s" % (name, format_size(size)))
            db.execute("UPDATE luns SET size = ?, content_gen = content_gen + 1 WHERE id = ?", (size, row["id"]))
            return self._lun_record(db, self._lun_row(db, name))

    def set_lun_qos(self, name, qos):
        self._check_qos(qos)
        with self._write("set_lun_qos") as db:
            row = self._existing_lun(db, name)
            db.execute("UPDATE luns SET qos = ? WHERE id = ?", (qos, row["id"]))
            return self._lun_record(db, self._lun_row(db, name))

    def delete_lun(self, name, force=False):
        with self._write("delete_lun") as db:
            row = self._existing_lun(db, name)
            what = "LUN '%s'" % name
            self._check_not_busy(row, what)
            clones = [r[0] for r in db.execute(
                "SELECT name FROM luns WHERE parent_id = ? OR parent_snap_id IN"
                " (SELECT id FROM snapshots WHERE lun_id = ?) ORDER BY name", (row["id"], row["id"]))]
            if clones:
                raise StorageElementBusyEx(
                    "%s has clones that depend on it (%s): split or delete them first" % (what, ", ".join(clones)))
            groups = [r[0] for r in db.execute(
                "SELECT g.name FROM mappings m JOIN access_groups g ON g.id = m.group_id WHERE m.lun_id = ?"
                " ORDER BY g.name", (row["id"],))]
            snaps = [r[0] for r in db.execute("SELECT name FROM snapshots WHERE lun_id = ? ORDER BY name", (row["id"],))]
            cgroup = self._cg_of(db, "lun_id", row["id"])
            if not force and (groups or snaps or cgroup):
                reasons = ["is a member of consistency group '%s'" % cgroup] if cgroup else []
                if groups:
                    reasons.append("is mapped to access group(s) %s" % ", ".join(groups))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(snaps))
                raise StorageElementBusyEx("%s %s; unmap/delete them first or set force: true" % (what, " and ".join(reasons)))
            db.execute("DELETE FROM mappings WHERE lun_id = ?", (row["id"],))
            db.execute("DELETE FROM snapshots WHERE lun_id = ?", (row["id"],))
            db.execute("DELETE FROM luns WHERE id = ?", (row["id"],))
            self._release(db, row["pool_id"], row["size"], bool(row["thin"]))
            if self._cg_ready(db):  # its group membership and snapshots went by cascade; drop emptied group snapshots
                db.execute("DELETE FROM cg_snapshots WHERE id NOT IN (SELECT cgs_id FROM cg_snapshot_members)")

    # --- snapshots --------------------------------------------------------
    def _snap_record(self, row) -> dict:
        db = self._conn()
        return records.make(
            "storage_element",
            name=row["name"], uuid=row["uuid"], id=str(row["id"]), ss_uuid=self.server_uuid,
            se_type="SNAP", size=row["size"], thin=True, vol_group_name=row["pool_name"], access_grp_names=[],
            state="ONLINE", status="OK", vendor="STORMGMT", product_id="SIM-SNAP",
            array_path="%s/%s@%s" % (row["pool_name"], row["lun_name"], row["name"]),
            parent=row["lun_name"], path=[], created=records.format_time(row["created"]),
            consistency_group=self._cg_of(db, "snap_id", row["id"]))

    _SNAP_SELECT = ("SELECT s.*, l.name AS lun_name, p.name AS pool_name FROM snapshots s"
                    " JOIN luns l ON l.id = s.lun_id JOIN pools p ON p.id = l.pool_id")

    def list_snapshots(self, lun=None):
        db = self._conn()
        if lun is None:
            rows = db.execute(self._SNAP_SELECT + " ORDER BY l.name, s.created, s.id")
        else:
            rows = db.execute(self._SNAP_SELECT + " WHERE l.name = ? ORDER BY s.created, s.id", (lun,))
        return [self._snap_record(row) for row in rows.fetchall()]

    def get_snapshot(self, lun, name):
        row = self._conn().execute(self._SNAP_SELECT + " WHERE l.name = ? AND s.name = ?", (lun, name)).fetchone()
        return None if row is None else self._snap_record(row)

    def _snap_row(self, db, lun, name):
        row = db.execute(self._SNAP_SELECT + " WHERE l.name = ? AND s.name = ?", (lun, name)).fetchone()
        if row is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of LUN '%s' does not exist" % (name, lun), "snapshot")
        return row

    def create_snapshot(self, lun, name):
        with self._write("create_snapshot") as db:
            lun_row = self._existing_lun(db, lun)
            self._check_not_busy(lun_row, "LUN '%s'" % lun)
            if db.execute("SELECT 1 FROM snapshots WHERE lun_id = ? AND name = ?", (lun_row["id"], name)).fetchone():
                raise InvalidValueEx("snapshot '%s' of LUN '%s' already exists" % (name, lun), "name")
            db.execute(
                "INSERT INTO snapshots (uuid, name, lun_id, size, content_gen, created) VALUES (?, ?, ?, ?, ?, ?)",
                (_new_uuid(), name, lun_row["id"], lun_row["size"], lun_row["content_gen"], time.time()))
            return self._snap_record(self._snap_row(db, lun, name))

    def delete_snapshot(self, lun, name):
        with self._write("delete_snapshot") as db:
            row = self._snap_row(db, lun, name)
            cgroup = self._cg_of(db, "snap_id", row["id"])
            if cgroup:
                raise StorageElementBusyEx("snapshot '%s' of LUN '%s' is part of group snapshot '%s' of consistency "
                                           "group '%s'; delete the group snapshot" % (name, lun, name, cgroup))
            clones = [r[0] for r in db.execute("SELECT name FROM luns WHERE parent_snap_id = ? ORDER BY name", (row["id"],))]
            if clones:
                raise StorageElementBusyEx(
                    "snapshot '%s' of LUN '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, lun, ", ".join(clones)))
            db.execute("DELETE FROM snapshots WHERE id = ?", (row["id"],))

    def snapshot_is_current(self, lun, name):
        db = self._conn()
        row = self._snap_row(db, lun, name)
        lun_row = self._existing_lun(db, lun)
        return lun_row["content_gen"] == row["content_gen"] and lun_row["size"] == row["size"]

    def restore_snapshot(self, lun, name):
        with self._write("restore_snapshot") as db:
            snap = self._snap_row(db, lun, name)
            lun_row = self._existing_lun(db, lun)
            what = "LUN '%s'" % lun
            self._check_not_busy(lun_row, what)
            groups = [r[0] for r in db.execute(
                "SELECT g.name FROM mappings m JOIN access_groups g ON g.id = m.group_id WHERE m.lun_id = ?"
                " ORDER BY g.name", (lun_row["id"],))]
            if groups:
                raise SnapRestoreNotSafeEx(
                    "restoring snapshot '%s' would change the data under the initiators of access group(s) %s "
                    "that %s is mapped to; unmap it first" % (name, ", ".join(groups), what))
            if snap["size"] != lun_row["size"]:
                self._release(db, lun_row["pool_id"], lun_row["size"], bool(lun_row["thin"]))
                pool = self._pool_row(db, lun_row["pool_name"])
                self._reserve(db, pool, snap["size"], bool(lun_row["thin"]), what)
            db.execute("UPDATE luns SET size = ?, content_gen = ? WHERE id = ?",
                       (snap["size"], snap["content_gen"], lun_row["id"]))
            job = self._start_job(db, "restore LUN %s to snapshot %s" % (lun, name), "luns", lun_row["id"], "BUSY_COPY")
            return job or self._lun_record(db, self._lun_row(db, lun))

    # --- clones -----------------------------------------------------------
    def create_clone(self, name, lun, snapshot=None):
        with self._write("create_clone") as db:
            if self._lun_row(db, name) is not None:
                raise InvalidValueEx("LUN '%s' already exists" % name, "name")
            parent = self._existing_lun(db, lun)
            self._check_not_busy(parent, "LUN '%s'" % lun)
            snap = self._snap_row(db, lun, snapshot) if snapshot else None
            size = snap["size"] if snap else parent["size"]
            content_gen = snap["content_gen"] if snap else parent["content_gen"]
            pool = self._pool_row(db, parent["pool_name"])
            self._reserve(db, pool, size, bool(parent["thin"]), "clone '%s'" % name)
            cursor = db.execute(
                "INSERT INTO luns (uuid, name, pool_id, size, thin, qos, parent_id, parent_snap_id, content_gen, created,"
                " origin_name, origin_uuid, origin_snap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_new_uuid(), name, parent["pool_id"], size, parent["thin"], parent["qos"],
                 None if snap else parent["id"], snap["id"] if snap else None, content_gen, time.time(),
                 lun, parent["uuid"], snapshot if snap else None))
            job = self._start_job(db, "clone %s from %s" % (name, lun + ("@" + snapshot if snapshot else "")),
                                  "luns", cursor.lastrowid, "BUSY_CLONE")
            return job or self._lun_record(db, self._lun_row(db, name))

    def split_clone(self, name):
        with self._write("split_clone") as db:
            row = self._existing_lun(db, name)
            self._check_not_busy(row, "clone '%s'" % name)
            if row["parent_id"] is None and row["parent_snap_id"] is None:
                raise InvalidValueEx("LUN '%s' is not a clone (it has no parent)" % name, "name")
            db.execute("UPDATE luns SET parent_id = NULL, parent_snap_id = NULL WHERE id = ?", (row["id"],))
            job = self._start_job(db, "split clone %s" % name, "luns", row["id"], "BUSY_COPY")
            return job or self._lun_record(db, self._lun_row(db, name))

    def clone_origin(self, name):
        row = self._conn().execute("SELECT origin_name, origin_uuid, origin_snap FROM luns WHERE name = ?",
                                   (name,)).fetchone()
        if row is None or row["origin_name"] is None:
            return None
        return {"parent": row["origin_name"], "parent_snapshot": row["origin_snap"], "parent_uuid": row["origin_uuid"]}

    # --- access groups ----------------------------------------------------
    def _group_record(self, db, row) -> dict:
        entries = [r[0] for r in db.execute(
            "SELECT entry FROM group_entries WHERE group_id = ? ORDER BY entry", (row["id"],))]
        luns = [{"name": r[0], "lun_id": r[1]} for r in db.execute(
            "SELECT l.name, m.lun_number FROM mappings m JOIN luns l ON l.id = m.lun_id"
            " WHERE m.group_id = ? ORDER BY m.lun_number", (row["id"],))]
        return records.make(
            "access_group", grp_name=row["name"], grp_entries=entries, grp_modes=[], uuid=row["uuid"], luns=luns,
            target_iqn="iqn.2026-11.io.stormgmt:sim.%s" % row["name"].lower().replace("_", "-"),
            portal=None, chap_username=row["chap_user"], mutual_chap_username=row["mutual_user"])

    def list_access_groups(self):
        db = self._conn()
        return [self._group_record(db, row) for row in db.execute("SELECT * FROM access_groups ORDER BY name").fetchall()]

    def get_access_group(self, name):
        db = self._conn()
        row = db.execute("SELECT * FROM access_groups WHERE name = ?", (name,)).fetchone()
        return None if row is None else self._group_record(db, row)

    def _group_row(self, db, name):
        row = db.execute("SELECT * FROM access_groups WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise OperationPreReqNotMetEx("access group '%s' does not exist" % name, "name")
        return row

    def _set_chap(self, db, group_id, chap) -> None:
        if chap is None:
            db.execute("UPDATE access_groups SET chap_user = NULL, chap_hash = NULL, mutual_user = NULL,"
                       " mutual_hash = NULL WHERE id = ?", (group_id,))
            return
        mutual_user = chap.get("mutual_username")
        db.execute(
            "UPDATE access_groups SET chap_user = ?, chap_hash = ?, mutual_user = ?, mutual_hash = ? WHERE id = ?",
            (chap["username"], hash_secret(chap["password"]), mutual_user,
             hash_secret(chap["mutual_password"]) if mutual_user else None, group_id))

    def _map(self, db, group_id, group_name, lun_name, lun_id) -> None:
        lun = self._existing_lun(db, lun_name)
        if lun_id is None:
            used = set(r[0] for r in db.execute("SELECT lun_number FROM mappings WHERE group_id = ?", (group_id,)))
            lun_id = self.min_lun_id
            while lun_id in used:
                lun_id += 1
        taken = db.execute("SELECT l.name FROM mappings m JOIN luns l ON l.id = m.lun_id"
                           " WHERE m.group_id = ? AND m.lun_number = ? AND m.lun_id != ?",
                           (group_id, lun_id, lun["id"])).fetchone()
        if taken:
            raise InvalidValueEx("LUN number %d of access group '%s' is already used by LUN '%s'"
                                 % (lun_id, group_name, taken[0]), "luns")
        db.execute("INSERT OR REPLACE INTO mappings (group_id, lun_id, lun_number) VALUES (?, ?, ?)",
                   (group_id, lun["id"], lun_id))

    def create_access_group(self, name, entries, luns, chap):
        with self._write("create_access_group") as db:
            if db.execute("SELECT 1 FROM access_groups WHERE name = ?", (name,)).fetchone():
                raise InvalidValueEx("access group '%s' already exists" % name, "name")
            group_id = db.execute("INSERT INTO access_groups (uuid, name) VALUES (?, ?)",
                                  (_new_uuid(), name)).lastrowid
            db.executemany("INSERT OR IGNORE INTO group_entries (group_id, entry) VALUES (?, ?)",
                           [(group_id, entry) for entry in entries])
            for lun in luns:
                self._map(db, group_id, name, lun["name"], lun.get("lun_id"))
            if chap:
                self._set_chap(db, group_id, chap)
            return self._group_record(db, self._group_row(db, name))

    def update_access_group(self, name, changes):
        with self._write("update_access_group") as db:
            row = self._group_row(db, name)
            for entry in changes.get("remove_entries", []):
                db.execute("DELETE FROM group_entries WHERE group_id = ? AND entry = ?", (row["id"], entry))
            for entry in changes.get("add_entries", []):
                db.execute("INSERT OR IGNORE INTO group_entries (group_id, entry) VALUES (?, ?)", (row["id"], entry))
            for lun_name in changes.get("unmap", []):
                lun = self._existing_lun(db, lun_name)
                db.execute("DELETE FROM mappings WHERE group_id = ? AND lun_id = ?", (row["id"], lun["id"]))
            # drop the old mappings of remapped LUNs first, so one update can swap two LUN numbers
            for lun in changes.get("map", []):
                remapped = self._lun_row(db, lun["name"])
                if remapped is not None:
                    db.execute("DELETE FROM mappings WHERE group_id = ? AND lun_id = ?", (row["id"], remapped["id"]))
            for lun in changes.get("map", []):
                self._map(db, row["id"], name, lun["name"], lun.get("lun_id"))
            if "chap" in changes:
                self._set_chap(db, row["id"], changes["chap"])
            return self._group_record(db, self._group_row(db, name))

    def delete_access_group(self, name, force=False):
        with self._write("delete_access_group") as db:
            row = self._group_row(db, name)
            mapped = [r[0] for r in db.execute(
                "SELECT l.name FROM mappings m JOIN luns l ON l.id = m.lun_id WHERE m.group_id = ? ORDER BY l.name",
                (row["id"],))]
            exports = self._exports_naming(db, name)
            if (mapped or exports) and not force:
                raise StorageElementBusyEx("access group '%s' %s; %s first or set force: true" % (
                    name, group_references(mapped, exports),
                    " and ".join(([] if not mapped else ["unmap them"]) + ([] if not exports else ["change the exports"]))))
            # force: the references go with the group, so that a new group of this name inherits nothing
            if exports:
                db.execute("DELETE FROM fs_exports WHERE kind = 'group' AND entry = ?", (name,))
            db.execute("DELETE FROM mappings WHERE group_id = ?", (row["id"],))
            db.execute("DELETE FROM group_entries WHERE group_id = ?", (row["id"],))
            db.execute("DELETE FROM access_groups WHERE id = ?", (row["id"],))

    @staticmethod
    def _exports_naming(db, name: str) -> list:
        """File systems whose export names access group ``name``."""
        return [r[0] for r in db.execute(
            "SELECT f.name FROM fs_exports e JOIN filesystems f ON f.id = e.fs_id WHERE e.kind = 'group' AND e.entry = ?"
            " ORDER BY f.name", (name,))]

    def chap_matches(self, name, chap):
        row = self._group_row(self._conn(), name)
        if row["chap_user"] != chap.get("username") or not secret_matches(chap["password"], row["chap_hash"]):
            return False
        if row["mutual_user"] != chap.get("mutual_username"):
            return False
        return not row["mutual_user"] or secret_matches(chap["mutual_password"], row["mutual_hash"])


def group_references(mapped: list, exports: list) -> str:
    """What still refers to an access group, for the message that refuses to delete it."""
    reasons = []
    if mapped:
        reasons.append("still has LUN(s) %s mapped" % ", ".join(mapped))
    if exports:
        reasons.append("is named in the export of file system(s) %s" % ", ".join(exports))
    return " and ".join(reasons)


for _name in [name for name, value in vars(FileSystemPlugin).items() if callable(value) and not name.startswith("_")]:
    if _name not in vars(SimBackend):
        setattr(SimBackend, _name, _fs_method(_name))
for _name in CG_METHODS:
    setattr(SimBackend, _name, _cg_method(_name))
for _name, _value in list(vars(SimBackend).items()):
    if callable(_value) and not _name.startswith("_") and not isinstance(_value, (staticmethod, classmethod)):
        setattr(SimBackend, _name, _sqlite_errors(_value))
del _name, _value
