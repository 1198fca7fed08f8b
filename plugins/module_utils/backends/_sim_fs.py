# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network file systems of the simulator, as a mixin of its backend. Private to this collection.

Each file system is a real directory beside the state file,
``<state file>.fs/<name>`` (its ``access_path``): mounting it is a bind mount of
that directory. The SQLite rows hold what a NAS keeps about it: pool, size (a quota
counted in the pool counters, not enforced on writes), export (clients, access
groups, options), snapshots and clone lineage (kept after a split).

Snapshots are read-only copies of the tree in ``<state file>.fs/.snapshots/``;
clones are writable copies. Copies are reflinks where the file system has them
(``cp -a --one-file-system --reflink=auto``); when the state directory is on btrfs,
file systems are subvolumes and snapshots and clones are btrfs snapshots (O(1), and a
snapshot is truly read-only).

Data first (docs/sim_backend.md):

* Nothing is removed or copied that the state does not describe: a directory in the
  way of a new file system or clone is refused, never emptied.
* No removal or copy crosses a mount: any mount at or below a directory makes
  deleting, restoring, snapshotting or cloning it fail with FileSystemBusyEx before
  anything changes, and the tree walks stop at mount points and other devices.
* Crash safety: every tree this backend makes or removes outside a single
  transaction is first recorded in the ``scratch`` table (what, where, by which
  process), in a committed transaction; copies are made under ``.tmp/`` and renamed
  into place in the transaction that records them, removals go through ``.trash/``.
  When the process that owns a scratch row is gone (killed), the next run of any
  module that may write against the server finishes or undoes the step and says so
  (``repaired``).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import owner_alive, owner_token
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidStorageArrayEx,
    InvalidValueEx,
    IPluginException,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
)


class _LazyHost:
    """The host side (``_host``), imported on first use. A LUN task on the simulator
    never needs it, and it (with the command runner it imports) is a third of the
    code such a module would otherwise compile on every run (benchmarks/README.md)."""

    def __getattr__(self, name: str):
        from ansible_collections.stormgmt.core.plugins.module_utils import _host as host
        return getattr(host, name)


_host = _LazyHost()

FS_TABLES = """
CREATE TABLE IF NOT EXISTS filesystems (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE,
    pool_id INTEGER NOT NULL REFERENCES pools(id), size INTEGER NOT NULL,
    parent_id INTEGER REFERENCES filesystems(id), parent_snap_id INTEGER REFERENCES fs_snapshots(id),
    export_opts TEXT NOT NULL DEFAULT '[]', created REAL NOT NULL,
    origin_name TEXT, origin_uuid TEXT, origin_snap TEXT);
CREATE INDEX IF NOT EXISTS filesystems_parent ON filesystems(parent_id);
CREATE INDEX IF NOT EXISTS filesystems_parent_snap ON filesystems(parent_snap_id);
CREATE TABLE IF NOT EXISTS fs_snapshots (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL,
    fs_id INTEGER NOT NULL REFERENCES filesystems(id), size INTEGER NOT NULL, created REAL NOT NULL,
    UNIQUE (fs_id, name));
CREATE TABLE IF NOT EXISTS fs_exports (
    fs_id INTEGER NOT NULL REFERENCES filesystems(id), kind TEXT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY (fs_id, kind, entry));
"""

_FS_SELECT = (
    "SELECT f.*, p.name AS pool_name, pf.name AS parent_name, s.name AS parent_snap_name,"
    " sf.name AS parent_snap_fs FROM filesystems f JOIN pools p ON p.id = f.pool_id"
    " LEFT JOIN filesystems pf ON pf.id = f.parent_id"
    " LEFT JOIN fs_snapshots s ON s.id = f.parent_snap_id LEFT JOIN filesystems sf ON sf.id = s.fs_id")

_SNAP_SELECT = (
    "SELECT s.*, f.name AS fs_name, f.uuid AS fs_uuid, p.name AS pool_name FROM fs_snapshots s"
    " JOIN filesystems f ON f.id = s.fs_id JOIN pools p ON p.id = f.pool_id")

# scratch directories under the file system root, and the owner of rows left by an older release
SCRATCH_DIRS = (".tmp", ".trash")
LEGACY_OWNER = "legacy"


def migrate_fs(backend, db) -> None:
    """Schema 1 -> 2, the file system part (called inside the migration's transaction)."""
    columns = set(row[1] for row in db.execute("PRAGMA table_info(filesystems)"))
    for column in ("origin_name", "origin_uuid", "origin_snap"):
        if column not in columns:
            db.execute("ALTER TABLE filesystems ADD COLUMN %s TEXT" % column)
    db.execute(
        "UPDATE filesystems SET (origin_name, origin_uuid) = (SELECT p.name, p.uuid FROM filesystems p"
        " WHERE p.id = filesystems.parent_id) WHERE parent_id IS NOT NULL")
    db.execute(
        "UPDATE filesystems SET (origin_name, origin_uuid, origin_snap) = (SELECT f.name, f.uuid, s.name"
        " FROM fs_snapshots s JOIN filesystems f ON f.id = s.fs_id WHERE s.id = filesystems.parent_snap_id)"
        " WHERE parent_snap_id IS NOT NULL")
    # an export naming a group that no longer exists would let a new group of that name in
    db.execute("DELETE FROM fs_exports WHERE kind = 'group' AND entry NOT IN (SELECT name FROM access_groups)")
    # jobs a job_delay=inf or 1e308 left running "forever"
    now = time.time()
    db.execute("UPDATE luns SET busy_state = NULL, busy_until = NULL WHERE busy_until > ?", (now + 3600,))
    db.execute("UPDATE jobs SET until = ? WHERE until > ?", (now, now + 3600))
    # what an older release left in its scratch directories is its own: remove it on the next repair
    root = backend.path + ".fs"
    for kind in SCRATCH_DIRS:
        try:
            names = os.listdir(os.path.join(root, kind))
        except OSError:
            continue
        for name in names:
            db.execute("INSERT INTO scratch (op, owner, created, path) VALUES (?, ?, ?, ?)",
                       ("left by an older release", LEGACY_OWNER, now, "%s/%s" % (kind, name)))


def _walk(path: str):
    """(directory, entries) top-down over the tree at ``path``, on its own device only:
    no symlink followed, no mount point or other file system entered."""
    try:
        root_dev = os.lstat(path).st_dev
    except OSError:
        return
    pending = [path]
    while pending:
        directory = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError:
            continue
        yield directory, entries
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_dev == root_dev:
                    pending.append(entry.path)
            except OSError:
                pass


def tree_usage(path: str) -> int:
    """Bytes the files under ``path`` occupy (allocated blocks), on its own file system."""
    used = 0
    for _directory, entries in _walk(path):
        for entry in entries:
            try:
                used += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
    return used


def tree_fingerprint(path: str) -> str:
    """A digest of a tree's names, types, modes, owners, sizes, file times and link
    targets: equal for a tree and its copy by ``cp -a``, different once a file changes."""
    digest = hashlib.sha256()
    lines = []
    for _directory, entries in _walk(path):
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            parts = [os.path.relpath(entry.path, path), "%o" % info.st_mode, str(info.st_uid), str(info.st_gid)]
            if not stat.S_ISDIR(info.st_mode):
                parts += [str(info.st_size), str(info.st_mtime_ns)]
            if stat.S_ISLNK(info.st_mode):
                parts.append(os.readlink(entry.path))
            lines.append("\0".join(parts))
    for line in sorted(lines):
        digest.update((line + "\n").encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def identity(path: str):
    """(st_dev, st_ino) of ``path`` itself (a symlink is not followed), or None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def mounts_within(path: str, table: list) -> list:
    """Mount points at or below directory ``path`` (its real path), sorted."""
    real = os.path.realpath(path)
    prefix = real.rstrip("/") + "/"
    return sorted(set(entry.mount_point for entry in table
                      if entry.mount_point == real or entry.mount_point.startswith(prefix)))


_CP = []


def _cp():
    """cp -a --one-file-system --reflink=auto -- SOURCE DEST (made on first use: _runner is not cheap)."""
    if not _CP:
        from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner, fixed, positional
        _CP.append(Runner("cp", dict(archive=fixed("-a", "--one-file-system", "--reflink=auto", "--"),
                                     source=positional(), dest=positional()), package="coreutils", timeout=None))
    return _CP[0]


class SimFileSystems:
    """FileSystemPlugin methods of the simulator (mixed into SimBackend)."""

    # --- paths ----------------------------------------------------------------
    @property
    def fs_root(self) -> str:
        """Directory holding the file systems of this simulator (beside the state file's real name)."""
        self._conn()  # the state file's one name is known once it is open
        return self.path + ".fs"

    def _fs_conn(self):
        return self._conn()

    def _fs_write(self, op: str):
        return self._write(op)

    def _fs_dir(self, name: str) -> str:
        return os.path.join(self.fs_root, name)

    def _snap_rel(self, fs_uuid: str, name: str) -> str:
        return os.path.join(".snapshots", fs_uuid, name)

    def _snap_dir(self, fs_uuid: str, name: str) -> str:
        return os.path.join(self.fs_root, self._snap_rel(fs_uuid, name))

    def _abs(self, relative: str) -> str:
        return os.path.join(self.fs_root, relative)

    def _ensure_root(self) -> None:
        try:
            os.makedirs(self.fs_root, mode=0o700, exist_ok=True)
            for kind in SCRATCH_DIRS:
                os.makedirs(os.path.join(self.fs_root, kind), mode=0o700, exist_ok=True)
        except OSError as error:
            raise OperationFailedEx("cannot make %s: %s" % (self.fs_root, error.strerror)) from None

    def _on_btrfs(self) -> bool:
        return _host.directory_fstype(self.fs_root) == "btrfs"

    # --- mounts -----------------------------------------------------------------
    def _check_mounts(self, what: str, paths, action: str, table=None) -> None:
        """FileSystemBusyEx when anything is mounted at or below one of ``paths``."""
        table = table if table is not None else _host.mountinfo()
        found = []
        for path in paths:
            found.extend(mounts_within(path, table))
        if found:
            raise FileSystemBusyEx(
                "%s has %s mounted at or inside its directory (%s); %s would reach into another file system: "
                "unmount it first (nothing was changed)" % (what, "a file system" if len(found) == 1 else
                                                            "file systems", ", ".join(sorted(set(found))), action))

    def _check_unmounted(self, name: str, action: str, cls=FileSystemBusyEx, table=None) -> None:
        """``cls`` when file system ``name`` is mounted (bind mounts of its directory elsewhere)."""
        mounts = _host.mounts_under(self._fs_dir(name), table)
        if mounts:
            raise cls("file system '%s' is mounted on %s; unmount it first to %s"
                      % (name, ", ".join(sorted(entry.mount_point for entry in mounts)), action))

    def _require_dir(self, name: str) -> str:
        directory = self._fs_dir(name)
        if not os.path.isdir(directory) or os.path.islink(directory):
            raise OperationPreReqNotMetEx(_missing_dir(name, directory, self.path), "filesystem")
        return directory

    def _check_free(self, name: str, db=None) -> None:
        """A new file system or clone never takes over a directory the state does not describe."""
        directory = self._fs_dir(name)
        if os.path.lexists(directory):
            raise InvalidStorageArrayEx(
                "file system '%s' cannot be created: %s already exists and this simulator's state does not "
                "describe it (a file system of a lost or older state?); its data is kept: move it away, or use "
                "another name (nothing was changed)" % (name, directory))

    def check_filesystem_action(self, name, action, snapshot=None):
        db = self._fs_conn()
        table = _host.mountinfo()
        what = "file system '%s'" % name
        if action == "create":
            if self._fs_row(db, name) is None:
                self._check_free(name)
            return
        row = self._fs_row(db, name)
        if row is None:
            return
        snaps = [r[0] for r in db.execute("SELECT name FROM fs_snapshots WHERE fs_id = ?", (row["id"],))]
        if action == "delete":
            self._check_unmounted(name, "delete it", table=table)
            self._check_mounts(what, [self._fs_dir(name)] + [self._snap_dir(row["uuid"], s) for s in snaps],
                               "deleting it", table)
            return
        if action == "delete_snapshot":
            if snapshot in snaps:
                self._check_mounts("snapshot '%s' of %s" % (snapshot, what), [self._snap_dir(row["uuid"], snapshot)],
                                   "deleting it", table)
            return
        self._require_dir(name)
        if action == "restore":
            self._check_unmounted(name, "restore snapshot '%s' (the files would change under it)" % snapshot,
                                  SnapRestoreNotSafeEx, table)
            paths = [self._fs_dir(name)]
            if snapshot in snaps:
                paths.append(self._require_snap_dir(row, snapshot))
            self._check_mounts(what, paths, "restoring it", table)
        elif action in ("snapshot", "clone"):
            source = self._fs_dir(name)
            if snapshot is not None and snapshot in snaps:
                source = self._require_snap_dir(row, snapshot)
            self._check_mounts(what, [source], "copying it", table)

    def _require_snap_dir(self, row, snapshot: str) -> str:
        directory = self._snap_dir(row["uuid"], snapshot)
        if not os.path.isdir(directory) or os.path.islink(directory):
            raise OperationPreReqNotMetEx(
                "snapshot '%s' of file system '%s': its directory %s is missing (removed outside stormgmt); "
                "delete the snapshot (state: absent) to drop its record" % (snapshot, row["name"], directory),
                "snapshot")
        return directory

    # --- trees --------------------------------------------------------------------
    def _make_dir(self, path: str) -> None:
        if self._on_btrfs():
            _host.subvolume_create(path)
            os.chmod(path, 0o755)
        else:
            os.mkdir(path, 0o755)

    def _copy_tree(self, source: str, temp: str) -> None:
        """A writable copy of directory ``source`` at ``temp`` (which must not exist)."""
        if self._on_btrfs() and _host.is_btrfs_subvolume(source):
            _host.subvolume_snapshot(source, temp, readonly=False)
            return
        info = os.lstat(source)
        os.mkdir(temp, 0o700)
        _cp()("archive source dest", source=os.path.join(source, "."), dest=temp)
        os.chmod(temp, stat.S_IMODE(info.st_mode))

    @staticmethod
    def _seal(path: str) -> None:
        """Make a snapshot read-only where the file system can (a btrfs subvolume)."""
        if _host.is_btrfs_subvolume(path):
            _host.subvolume_set_readonly(path)

    def _remove_tree(self, path: str, table=None) -> None:
        """Remove a tree this backend made. Never crosses a mount point or into another file system:
        what is mounted inside stops the removal with FileSystemBusyEx."""
        if not os.path.lexists(path):
            return
        table = table if table is not None else _host.mountinfo()
        self._check_mounts(path, [path], "removing it", table)
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
            return
        if self._delete_subvolume(path):
            return
        mount_points = set(entry.mount_point for entry in table)
        skipped = []
        self._remove_contents(path, os.lstat(path).st_dev, mount_points, skipped)
        if skipped:
            raise FileSystemBusyEx("stopped removing %s: %s %s on another file system (left in place)"
                                   % (path, ", ".join(skipped), "is" if len(skipped) == 1 else "are"))
        os.rmdir(path)

    def _remove_contents(self, directory: str, device: int, mount_points: set, skipped: list) -> None:
        for entry in os.scandir(directory):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(entry.path)
                continue
            if os.path.realpath(entry.path) in mount_points:
                skipped.append(entry.path)
                continue
            if info.st_dev != device:
                # a btrfs subvolume made inside is part of the tree; anything else is another file system
                if info.st_ino == 256 and self._delete_subvolume(entry.path):
                    continue
                skipped.append(entry.path)
                continue
            before = len(skipped)
            self._remove_contents(entry.path, device, mount_points, skipped)
            if len(skipped) == before:
                os.rmdir(entry.path)

    def _delete_subvolume(self, path: str) -> bool:
        if not _host.is_btrfs_subvolume(path):
            return False
        try:
            _host.subvolume_delete(path)
        except IPluginException:
            return False  # nested subvolumes, for example: removed entry by entry
        return True

    # --- scratch rows: what a killed run leaves is found and repaired ---------------
    def _scratch_begin(self, op: str, key: str, dest: str | None = None) -> tuple:
        """Record a scratch directory (``.tmp/<random>``) before it is made; (row id, path)."""
        self._ensure_root()
        relative = os.path.join(".tmp", uuidlib.uuid4().hex)
        with self._write(key + ".register") as db:
            row_id = db.execute("INSERT INTO scratch (op, owner, created, path, dest) VALUES (?, ?, ?, ?, ?)",
                                (op, owner_token(), time.time(), relative, dest)).lastrowid
        return row_id, self._abs(relative)

    def _scratch_made(self, key: str, row_id: int, path: str) -> None:
        """Record the identity of the made scratch tree: once renamed into place it is still known."""
        dev_ino = identity(path)
        with self._write(key + ".made") as db:
            db.execute("UPDATE scratch SET dev = ?, ino = ? WHERE id = ?", (dev_ino[0], dev_ino[1], row_id))

    def _scratch_abandon(self, row_id: int, path: str, dest: str | None = None) -> None:
        """Undo a scratch step this run gave up on (an error, not a crash)."""
        row = self._conn().execute("SELECT * FROM scratch WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return
        if dest is not None and not os.path.lexists(path) and row["ino"] is not None \
                and identity(dest) == (row["dev"], row["ino"]):
            path = dest  # renamed into place, then the transaction failed
        if os.path.lexists(path):
            self._remove_tree(path)
        with self._write("abandon") as db:
            db.execute("DELETE FROM scratch WHERE id = ?", (row_id,))

    def _discard_rows(self, db, op: str, relatives) -> list:
        """Inside a transaction: record trees to remove once it commits; [(row id, source, trash)]."""
        rows = []
        for relative in relatives:
            source = self._abs(relative)
            found = identity(source)
            if found is None:
                continue
            trash = os.path.join(".trash", uuidlib.uuid4().hex)
            row_id = db.execute(
                "INSERT INTO scratch (op, owner, created, path, source, dev, ino) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (op, owner_token(), time.time(), trash, relative, found[0], found[1])).lastrowid
            rows.append(row_id)
        return rows

    def _discard(self, row_id: int, key: str) -> None:
        """Remove the tree of a committed discard row, then the row."""
        row = self._conn().execute("SELECT * FROM scratch WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return
        self._finish_discard(row, key)

    def _finish_discard(self, row, key: str) -> None:
        self._ensure_root()
        source, trash = self._abs(row["source"]), self._abs(row["path"])
        if identity(source) == (row["dev"], row["ino"]):
            if _host.is_btrfs_subvolume(source):
                self._remove_tree(source)  # a read-only snapshot cannot be renamed: deleted in place
            else:
                os.rename(source, trash)  # the name is free at once; the removal may take long
                fault_point("sim.%s.discard.moved" % key)
        self._remove_tree(trash)
        fault_point("sim.%s.discard.removed" % key)
        with self._write(key + ".discard") as db:
            db.execute("DELETE FROM scratch WHERE id = ?", (row["id"],))

    def _sweep_scratch(self) -> None:
        """Finish or undo what killed runs left (scratch rows whose process is gone)."""
        db = self._conn()
        rows = [row for row in db.execute("SELECT * FROM scratch ORDER BY swap DESC, id").fetchall()
                if not owner_alive(row["owner"])]
        if not rows:
            return
        table = _host.mountinfo()
        for row in rows:
            try:
                self._repair_row(row, table)
            except (OSError, IPluginException) as error:
                self.note_repair("could not clean up after an interrupted run (%s): %s; it is tried again on the "
                                 "next run" % (row["op"], getattr(error, "msg", None) or error))

    def _repair_row(self, row, table) -> None:
        path = self._abs(row["path"])
        if row["source"] is not None and not row["swap"]:
            self._finish_discard(row, "repair")
            self.note_repair("finished removing %s for an interrupted run (%s)" % (self._abs(row["source"]), row["op"]))
            return
        dest = self._abs(row["dest"]) if row["dest"] else None
        mine = (row["dev"], row["ino"]) if row["ino"] is not None else None
        if row["swap"]:
            # a restore that had committed: finish it (the old tree goes to the trash row's path)
            if dest is not None and mine is not None and identity(dest) != mine and os.path.lexists(path):
                if os.path.lexists(dest):
                    os.rename(dest, self._abs(row["source"]))
                os.rename(path, dest)
            self.note_repair("finished %s, interrupted after it had started" % row["op"])
        elif os.path.lexists(path):
            self._remove_tree(path, table)
            self.note_repair("removed the partial copy %s of an interrupted run (%s)" % (path, row["op"]))
        elif dest is not None and mine is not None and identity(dest) == mine:
            # renamed into place, but the transaction that would have recorded it never committed
            self._remove_tree(dest, table)
            self.note_repair("removed %s, put in place by an interrupted run (%s) that never recorded it"
                             % (dest, row["op"]))
        else:
            self.note_repair("dropped the record of an interrupted run (%s) that had made nothing yet" % row["op"])
        with self._write("repair") as db:
            db.execute("DELETE FROM scratch WHERE id = ?", (row["id"],))

    def _make_in_scratch(self, op: str, key: str, dest: str, make) -> tuple:
        """Register a scratch path, ``make(path)`` it, record its identity: (row id, path)."""
        row_id, temp = self._scratch_begin(op, key, dest)
        try:
            make(temp)
            fault_point("sim.%s.copied" % key)
            self._scratch_made(key, row_id, temp)
        except BaseException:
            self._scratch_abandon(row_id, temp)
            raise
        return row_id, temp

    # --- records ----------------------------------------------------------------
    def _exports(self, db, fs_id: int) -> tuple:
        clients, groups = [], []
        for kind, entry in db.execute("SELECT kind, entry FROM fs_exports WHERE fs_id = ? ORDER BY kind, entry", (fs_id,)):
            (clients if kind == "client" else groups).append(entry)
        return clients, groups

    def _fs_record(self, db, row, table: list | None = None) -> dict:
        directory = self._fs_dir(row["name"])
        exists = os.path.isdir(directory) and not os.path.islink(directory)
        table = table if table is not None else _host.mountinfo()
        mounts = _host.mounts_under(directory, table) if exists else []
        clients, groups = self._exports(db, row["id"])
        if row["parent_snap_id"] is not None:
            parent, parent_snapshot = row["parent_snap_fs"], row["parent_snap_name"]
        else:
            parent, parent_snapshot = row["parent_name"], None
        if not exists:
            state, status = "ERROR", _missing_dir(row["name"], directory, self.path)
        elif mounts:
            state = "MOUNTED_READONLY" if all(entry.readonly for entry in mounts) else "MOUNTED"
            status = "OK, mounted on %s" % ", ".join(sorted(entry.mount_point for entry in mounts))
        else:
            state, status = "UNMOUNTED", "OK"
        inside = mounts_within(directory, table) if exists else []
        if inside:
            status += "; %s mounted inside its directory" % ", ".join(inside)
        used = tree_usage(directory) if exists else 0
        return records.make(
            "file_system",
            name=row["name"], uuid=row["uuid"], ss_uuid=self.server_uuid, size=row["size"],
            free_sz=max(row["size"] - used, 0), access_path=directory,
            array_path="%s/%s" % (row["pool_name"], row["name"]), mount_options=["bind"],
            export_opts=json.loads(row["export_opts"] or "[]"), export_clients=clients, state=state, status=status,
            access_grp_names=groups, backing_device=row["pool_name"], vol_group_name=row["pool_name"],
            parent=parent, parent_snapshot=parent_snapshot, created=records.format_time(row["created"]),
            consistency_group=self._cg_of(db, "fs_id", row["id"]))

    def _fs_row(self, db, name: str):
        return db.execute(_FS_SELECT + " WHERE f.name = ?", (name,)).fetchone()

    def _existing_fs(self, db, name: str):
        row = self._fs_row(db, name)
        if row is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "filesystem")
        return row

    def _fs_snap_record(self, row) -> dict:
        return records.make(
            "storage_element",
            name=row["name"], uuid=row["uuid"], id=str(row["id"]), ss_uuid=self.server_uuid, se_type="SNAP",
            size=row["size"], thin=True, vol_group_name=row["pool_name"], access_grp_names=[], state="ONLINE",
            status="OK", vendor="STORMGMT", product_id="SIM-FS-SNAP",
            path=[self._snap_dir(row["fs_uuid"], row["name"])],
            array_path="%s/%s@%s" % (row["pool_name"], row["fs_name"], row["name"]), parent=row["fs_name"],
            created=records.format_time(row["created"]), consistency_group=self._cg_of(self._conn(), "fs_snap_id", row["id"]))

    def _fs_snap_row(self, db, filesystem: str, name: str):
        row = db.execute(_SNAP_SELECT + " WHERE f.name = ? AND s.name = ?", (filesystem, name)).fetchone()
        if row is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of file system '%s' does not exist" % (name, filesystem),
                                          "snapshot")
        return row

    def _set_exports(self, db, fs_id: int, export: dict) -> None:
        for group in export.get("access_groups") or []:
            if db.execute("SELECT 1 FROM access_groups WHERE name = ?", (group,)).fetchone() is None:
                raise OperationPreReqNotMetEx("access group '%s' does not exist" % group, "access_groups")
        db.execute("DELETE FROM fs_exports WHERE fs_id = ?", (fs_id,))
        db.executemany("INSERT INTO fs_exports (fs_id, kind, entry) VALUES (?, ?, ?)",
                       [(fs_id, "client", entry) for entry in export.get("clients") or []]
                       + [(fs_id, "group", entry) for entry in export.get("access_groups") or []])
        db.execute("UPDATE filesystems SET export_opts = ? WHERE id = ?",
                   (json.dumps(list(export.get("options") or [])), fs_id))

    # --- file systems --------------------------------------------------------------
    def list_filesystems(self):
        db = self._fs_conn()
        table = _host.mountinfo()
        return [self._fs_record(db, row, table) for row in db.execute(_FS_SELECT + " ORDER BY f.name").fetchall()]

    def get_filesystem(self, name):
        db = self._fs_conn()
        row = self._fs_row(db, name)
        return None if row is None else self._fs_record(db, row)

    def fs_clone_origin(self, name):
        row = self._fs_conn().execute("SELECT origin_name, origin_uuid, origin_snap FROM filesystems WHERE name = ?",
                                      (name,)).fetchone()
        if row is None or row["origin_name"] is None:
            return None
        return {"parent": row["origin_name"], "parent_snapshot": row["origin_snap"], "parent_uuid": row["origin_uuid"]}

    def create_filesystem(self, name, pool, size, export):
        key = "create_filesystem"
        db = self._fs_conn()
        if self._fs_row(db, name) is not None:
            raise InvalidValueEx("file system '%s' already exists" % name, "name")
        self._check_free(name)
        row_id, temp = self._make_in_scratch("create file system '%s'" % name, key, name, self._make_dir)
        try:
            with self._fs_write(key) as db:
                if self._fs_row(db, name) is not None:
                    raise InvalidValueEx("file system '%s' already exists" % name, "name")
                pool_row = self._pool_row(db, pool)
                self._reserve(db, pool_row, size, False, "file system '%s'" % name)
                fs_id = db.execute(
                    "INSERT INTO filesystems (uuid, name, pool_id, size, created) VALUES (?, ?, ?, ?, ?)",
                    (str(uuidlib.uuid4()), name, pool_row["id"], size, time.time())).lastrowid
                self._set_exports(db, fs_id, export or {})
                self._place(db, row_id, temp, name)
        except BaseException:
            self._scratch_abandon(row_id, temp, self._fs_dir(name))
            raise
        return self.get_filesystem(name)

    def _place(self, db, row_id: int, temp: str, relative: str) -> None:
        """Last step of a transaction: rename a made tree into place and drop its scratch row.
        A directory in the way is data this state does not describe: refused, never replaced."""
        final = self._abs(relative)
        if os.path.lexists(final):
            if relative.startswith(".snapshots"):
                raise InvalidStorageArrayEx(
                    "%s already exists and this simulator's state does not describe it (left by an older "
                    "release?); it was kept: remove it, or use another snapshot name" % final)
            self._check_free(relative)
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        db.execute("DELETE FROM scratch WHERE id = ?", (row_id,))
        os.rename(temp, final)

    def resize_filesystem(self, name, size):
        with self._fs_write("resize_filesystem") as db:
            row = self._existing_fs(db, name)
            used = tree_usage(self._require_dir(name))
            if size < used:
                raise InvalidValueEx("file system '%s' holds %s, more than the new size %s" % (
                    name, format_size(used), format_size(size)), "size")
            pool = self._pool_row(db, row["pool_name"])
            self._release(db, row["pool_id"], row["size"], False)
            self._reserve(db, pool, size, False, "file system '%s' at %s" % (name, format_size(size)))
            db.execute("UPDATE filesystems SET size = ? WHERE id = ?", (size, row["id"]))
        return self.get_filesystem(name)

    def set_export(self, name, export):
        with self._fs_write("set_export") as db:
            row = self._existing_fs(db, name)
            self._require_dir(name)
            self._set_exports(db, row["id"], export or {})
        return self.get_filesystem(name)

    def fs_dependents(self, name: str) -> dict:
        """What keeps a file system from being deleted: snapshots, clones, export, mounts."""
        db = self._fs_conn()
        row = self._existing_fs(db, name)
        clients, groups = self._exports(db, row["id"])
        return dict(
            snapshots=[r[0] for r in db.execute("SELECT name FROM fs_snapshots WHERE fs_id = ? ORDER BY name", (row["id"],))],
            clones=self._fs_clones(db, row["id"]),
            exported=bool(clients or groups),
            mounts=sorted(entry.mount_point for entry in _host.mounts_under(self._fs_dir(name))))

    @staticmethod
    def _fs_clones(db, fs_id: int) -> list:
        return [r[0] for r in db.execute(
            "SELECT name FROM filesystems WHERE parent_id = ? OR parent_snap_id IN"
            " (SELECT id FROM fs_snapshots WHERE fs_id = ?) ORDER BY name", (fs_id, fs_id))]

    def delete_filesystem(self, name, force=False):
        key = "delete_filesystem"
        with self._fs_write(key) as db:
            row = self._existing_fs(db, name)
            what = "file system '%s'" % name
            snaps = db.execute("SELECT name FROM fs_snapshots WHERE fs_id = ? ORDER BY name", (row["id"],)).fetchall()
            self.check_filesystem_action(name, "delete")
            clones = self._fs_clones(db, row["id"])
            clients, groups = self._exports(db, row["id"])
            cgroup = self._cg_of(db, "fs_id", row["id"])
            if not force and (snaps or clones or clients or groups or cgroup):
                reasons = ["is a member of consistency group '%s'" % cgroup] if cgroup else []
                if clients or groups:
                    reasons.append("is exported (to %s)" % ", ".join(clients + ["group " + g for g in groups]))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(snap["name"] for snap in snaps))
                if clones:
                    reasons.append("has clone(s) %s" % ", ".join(clones))
                raise FileSystemBusyEx("%s %s; remove them first or set force: true" % (what, " and ".join(reasons)))
            # clones are full copies: with force they become independent (split)
            db.execute("UPDATE filesystems SET parent_id = NULL WHERE parent_id = ?", (row["id"],))
            db.execute("UPDATE filesystems SET parent_snap_id = NULL WHERE parent_snap_id IN"
                       " (SELECT id FROM fs_snapshots WHERE fs_id = ?)", (row["id"],))
            db.execute("DELETE FROM fs_snapshots WHERE fs_id = ?", (row["id"],))
            db.execute("DELETE FROM fs_exports WHERE fs_id = ?", (row["id"],))
            db.execute("DELETE FROM filesystems WHERE id = ?", (row["id"],))
            self._release(db, row["pool_id"], row["size"], False)
            if self._cg_ready(db):  # membership and group snapshot members went by cascade
                db.execute("DELETE FROM cg_snapshots WHERE id NOT IN (SELECT cgs_id FROM cg_snapshot_members)")
            # removed after the commit, each recorded first: a crash leaves rows the next run finishes
            discards = self._discard_rows(
                db, "delete file system '%s'" % name,
                [self._snap_rel(row["uuid"], snap["name"]) for snap in snaps]
                + [os.path.join(".snapshots", row["uuid"]), name])
        for row_id in discards:
            self._discard(row_id, key)

    # --- snapshots -------------------------------------------------------------------
    def list_fs_snapshots(self, filesystem=None):
        db = self._fs_conn()
        if filesystem is None:
            rows = db.execute(_SNAP_SELECT + " ORDER BY f.name, s.created, s.id")
        else:
            rows = db.execute(_SNAP_SELECT + " WHERE f.name = ? ORDER BY s.created, s.id", (filesystem,))
        return [self._fs_snap_record(row) for row in rows.fetchall()]

    def get_fs_snapshot(self, filesystem, name):
        row = self._fs_conn().execute(_SNAP_SELECT + " WHERE f.name = ? AND s.name = ?", (filesystem, name)).fetchone()
        return None if row is None else self._fs_snap_record(row)

    def create_fs_snapshot(self, filesystem, name):
        key = "create_fs_snapshot"
        db = self._fs_conn()
        row = self._existing_fs(db, filesystem)
        if db.execute("SELECT 1 FROM fs_snapshots WHERE fs_id = ? AND name = ?", (row["id"], name)).fetchone():
            raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
        self.check_filesystem_action(filesystem, "snapshot")
        # copied first, outside the lock: a large tree must not stall every other run
        relative = self._snap_rel(row["uuid"], name)
        row_id, temp = self._make_in_scratch("snapshot '%s' of file system '%s'" % (name, filesystem), key, relative,
                                             lambda path: self._copy_tree(self._fs_dir(filesystem), path))
        try:
            with self._fs_write(key) as db:
                row = self._existing_fs(db, filesystem)
                if db.execute("SELECT 1 FROM fs_snapshots WHERE fs_id = ? AND name = ?", (row["id"], name)).fetchone():
                    raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
                db.execute("INSERT INTO fs_snapshots (uuid, name, fs_id, size, created) VALUES (?, ?, ?, ?, ?)",
                           (str(uuidlib.uuid4()), name, row["id"], row["size"], time.time()))
                self._place(db, row_id, temp, relative)
                self._seal(self._abs(relative))
        except BaseException:
            self._scratch_abandon(row_id, temp, self._abs(relative))
            raise
        return self.get_fs_snapshot(filesystem, name)

    def delete_fs_snapshot(self, filesystem, name):
        key = "delete_fs_snapshot"
        with self._fs_write(key) as db:
            row = self._fs_snap_row(db, filesystem, name)
            cgroup = self._cg_of(db, "fs_snap_id", row["id"])
            if cgroup:
                raise FileSystemBusyEx("snapshot '%s' of file system '%s' is part of group snapshot '%s' of consistency "
                                       "group '%s'; delete the group snapshot" % (name, filesystem, name, cgroup))
            clones = [r[0] for r in db.execute(
                "SELECT name FROM filesystems WHERE parent_snap_id = ? ORDER BY name", (row["id"],))]
            if clones:
                raise FileSystemBusyEx(
                    "snapshot '%s' of file system '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, filesystem, ", ".join(clones)))
            self.check_filesystem_action(filesystem, "delete_snapshot", name)
            db.execute("DELETE FROM fs_snapshots WHERE id = ?", (row["id"],))
            discards = self._discard_rows(db, "delete snapshot '%s' of file system '%s'" % (name, filesystem),
                                          [self._snap_rel(row["fs_uuid"], name)])
        for row_id in discards:
            self._discard(row_id, key)

    def fs_snapshot_is_current(self, filesystem, name):
        db = self._fs_conn()
        row = self._fs_snap_row(db, filesystem, name)
        directory = self._fs_dir(filesystem)
        if not os.path.isdir(directory):
            return False
        return tree_fingerprint(directory) == tree_fingerprint(self._snap_dir(row["fs_uuid"], name))

    def restore_fs_snapshot(self, filesystem, name):
        """A copy of the snapshot is made aside, then swapped with the file system's directory in
        two renames recorded beforehand: a crash leaves the old tree or the new one, never a mix."""
        key = "restore_fs_snapshot"
        db = self._fs_conn()
        snap = self._fs_snap_row(db, filesystem, name)
        self.check_filesystem_action(filesystem, "restore", name)
        source = self._snap_dir(snap["fs_uuid"], name)
        row_id, temp = self._make_in_scratch("restore of file system '%s' to snapshot '%s'" % (filesystem, name), key,
                                             filesystem, lambda path: self._copy_tree(source, path))
        try:
            with self._fs_write(key) as db:
                self._fs_snap_row(db, filesystem, name)
                self.check_filesystem_action(filesystem, "restore", name)
                discards = self._discard_rows(db, "restore of file system '%s' to snapshot '%s'" % (filesystem, name),
                                              [filesystem])
                aside = db.execute("SELECT path FROM scratch WHERE id = ?", (discards[0],)).fetchone()[0]
                db.execute("UPDATE scratch SET swap = 1, source = ? WHERE id = ?", (aside, row_id))
        except BaseException:
            self._scratch_abandon(row_id, temp)
            raise
        directory = self._fs_dir(filesystem)
        os.rename(directory, self._abs(aside))
        fault_point("sim.%s.moved_aside" % key)
        os.rename(temp, directory)
        fault_point("sim.%s.swapped" % key)
        with self._write(key + ".swapped") as db:
            db.execute("DELETE FROM scratch WHERE id = ?", (row_id,))
        self._discard(discards[0], key)
        return self.get_filesystem(filesystem)

    # --- clones ------------------------------------------------------------------------
    def create_fs_clone(self, name, filesystem, snapshot=None):
        key = "create_fs_clone"
        db = self._fs_conn()
        if self._fs_row(db, name) is not None:
            raise InvalidValueEx("file system '%s' already exists" % name, "name")
        parent = self._existing_fs(db, filesystem)
        snap = self._fs_snap_row(db, filesystem, snapshot) if snapshot else None
        self.check_filesystem_action(filesystem, "clone", snapshot)
        self._check_free(name)
        source = self._snap_dir(parent["uuid"], snapshot) if snap else self._fs_dir(filesystem)
        row_id, temp = self._make_in_scratch("clone '%s' of file system '%s'" % (name, filesystem), key, name,
                                             lambda path: self._copy_tree(source, path))
        try:
            with self._fs_write(key) as db:
                if self._fs_row(db, name) is not None:
                    raise InvalidValueEx("file system '%s' already exists" % name, "name")
                parent = self._existing_fs(db, filesystem)
                snap = self._fs_snap_row(db, filesystem, snapshot) if snapshot else None
                size = snap["size"] if snap else parent["size"]
                pool = self._pool_row(db, parent["pool_name"])
                self._reserve(db, pool, size, False, "clone '%s'" % name)
                db.execute(
                    "INSERT INTO filesystems (uuid, name, pool_id, size, parent_id, parent_snap_id, created,"
                    " origin_name, origin_uuid, origin_snap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (str(uuidlib.uuid4()), name, parent["pool_id"], size, None if snap else parent["id"],
                     snap["id"] if snap else None, time.time(), filesystem, parent["uuid"], snapshot if snap else None))
                self._place(db, row_id, temp, name)
        except BaseException:
            self._scratch_abandon(row_id, temp, self._fs_dir(name))
            raise
        return self.get_filesystem(name)

    def split_fs_clone(self, name):
        with self._fs_write("split_fs_clone") as db:
            row = self._existing_fs(db, name)
            if row["parent_id"] is None and row["parent_snap_id"] is None:
                raise InvalidValueEx("file system '%s' is not a clone (it has no parent)" % name, "name")
            # the clone is a full (or copy-on-write) copy already: splitting is forgetting the parent
            # (origin_* keeps where it came from, so the clone module can still prove it)
            db.execute("UPDATE filesystems SET parent_id = NULL, parent_snap_id = NULL WHERE id = ?", (row["id"],))
        return self.get_filesystem(name)


def _missing_dir(name: str, directory: str, state: str) -> str:
    return ("file system '%s': its directory %s is missing (removed outside stormgmt, or the state file %s was "
            "moved without its .fs directory); put the directory back, or delete the file system (state: absent) "
            "to drop its record" % (name, directory, state))
