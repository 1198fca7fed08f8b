# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Network file systems of the simulator, as a mixin of its backend. Private to this collection.

Each file system is a real directory beside the state file,
``<state file>.fs/<name>`` (its ``access_path``): mounting it is a bind mount of
that directory. The SQLite rows hold what a NAS keeps about it: pool, size (a quota
counted in the pool counters, not enforced on writes), export (clients, access
groups, options), snapshots and clone lineage.

Snapshots are read-only copies of the tree in ``<state file>.fs/.snapshots/``;
clones are writable copies. Copies are reflinks where the file system has them
(``cp -a --reflink=auto``); when the state directory is on btrfs, file systems are
subvolumes and snapshots and clones are btrfs snapshots (O(1), and a snapshot is
truly read-only).

Crash safety: a directory is made (or copied in a temporary directory and renamed
into place) inside the operation's transaction, before the row is committed. A
process killed in between leaves a directory that no row names; the next create of
that name removes it first. A deleted file system's directory is removed after the
commit; if that is interrupted, the same rule applies.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
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
    export_opts TEXT NOT NULL DEFAULT '[]', created REAL NOT NULL);
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


def tree_usage(path: str) -> int:
    """Bytes the files under ``path`` occupy (allocated blocks)."""
    used = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                used += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return used


def tree_fingerprint(path: str) -> str:
    """A digest of a tree's names, types, modes, owners, sizes, file times and link
    targets: equal for a tree and its copy by ``cp -a``, different once a file changes."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            parts = [os.path.relpath(full, path), "%o" % info.st_mode, str(info.st_uid), str(info.st_gid)]
            if not os.path.isdir(full) or os.path.islink(full):
                parts += [str(info.st_size), str(info.st_mtime_ns)]
            if os.path.islink(full):
                parts.append(os.readlink(full))
            digest.update(("\0".join(parts) + "\n").encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class SimFileSystems:
    """FileSystemPlugin methods of the simulator (mixed into SimBackend)."""

    _fs_ready = False

    # --- storage --------------------------------------------------------------
    def _fs_conn(self):
        """The connection, with the file system tables made if this state predates them."""
        db = self._conn()
        if not self._fs_ready:
            exists = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'fs_exports'").fetchone()
            if exists is None:
                with self._write() as wdb:
                    for statement in FS_TABLES.split(";"):
                        if statement.strip():
                            wdb.execute(statement)
            self._fs_ready = True
        return db

    def _fs_write(self):
        self._fs_conn()
        return self._write()

    @property
    def fs_root(self) -> str:
        """Directory holding the file systems of this simulator."""
        return self.path + ".fs"

    def _fs_dir(self, name: str) -> str:
        return os.path.join(self.fs_root, name)

    def _snap_dir(self, fs_uuid: str, name: str) -> str:
        return os.path.join(self.fs_root, ".snapshots", fs_uuid, name)

    def _scratch(self, kind: str) -> str:
        """A fresh path under .tmp or .trash (not created)."""
        directory = os.path.join(self.fs_root, kind)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        return os.path.join(directory, uuidlib.uuid4().hex)

    def _ensure_root(self) -> None:
        try:
            os.makedirs(self.fs_root, mode=0o700, exist_ok=True)
        except OSError as error:
            raise OperationFailedEx("cannot make %s: %s" % (self.fs_root, error.strerror)) from None

    def _on_btrfs(self) -> bool:
        return _host.directory_fstype(self.fs_root) == "btrfs"

    def _remove_tree(self, path: str) -> None:
        """Remove a directory tree made by this backend (subvolumes included)."""
        if not os.path.lexists(path):
            return
        if _host.is_btrfs_subvolume(path):
            # nested subvolumes are not made here; a read-only snapshot needs the btrfs tool
            _host.subvolume_delete(path)
            return
        shutil.rmtree(path)

    def _discard(self, path: str) -> None:
        """Move a tree out of the way at once (rename), then remove it."""
        if not os.path.lexists(path):
            return
        if _host.is_btrfs_subvolume(path):
            # a read-only snapshot cannot be renamed; deleting a subvolume is quick anyway
            _host.subvolume_delete(path)
            return
        trash = self._scratch(".trash")
        os.rename(path, trash)
        self._remove_tree(trash)

    def _sweep_trash(self) -> None:
        for kind in (".trash", ".tmp"):
            directory = os.path.join(self.fs_root, kind)
            if not os.path.isdir(directory):
                continue
            for name in os.listdir(directory):
                path = os.path.join(directory, name)
                # a .tmp entry younger than an hour may be a copy another run is making
                if kind == ".tmp" and time.time() - os.lstat(path).st_mtime < 3600:
                    continue
                try:
                    self._remove_tree(path)
                except (OSError, OperationFailedEx):
                    pass

    def _make_dir(self, path: str) -> None:
        if self._on_btrfs():
            _host.subvolume_create(path)
            os.chmod(path, 0o755)
        else:
            os.mkdir(path, 0o755)

    def _copy_into_temp(self, source: str) -> str:
        """A writable copy of directory ``source`` at a new temporary path; the caller
        renames it into place (then seals a snapshot, see :meth:`_seal`)."""
        temp = self._scratch(".tmp")
        try:
            if self._on_btrfs() and _host.is_btrfs_subvolume(source):
                _host.subvolume_snapshot(source, temp, readonly=False)
            else:
                os.mkdir(temp, 0o755)
                _host.copy_tree(source, temp)
        except BaseException:
            self._remove_tree(temp)
            raise
        return temp

    @staticmethod
    def _seal(path: str) -> None:
        """Make a snapshot read-only where the file system can (a btrfs subvolume)."""
        if _host.is_btrfs_subvolume(path):
            _host.subvolume_set_readonly(path)

    def _place(self, temp: str, final: str) -> None:
        """Rename a made copy into place; a leftover of an interrupted run goes first."""
        os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
        self._discard(final)
        os.rename(temp, final)

    # --- records ----------------------------------------------------------------
    def _exports(self, db, fs_id: int) -> tuple:
        clients, groups = [], []
        for kind, entry in db.execute("SELECT kind, entry FROM fs_exports WHERE fs_id = ? ORDER BY kind, entry", (fs_id,)):
            (clients if kind == "client" else groups).append(entry)
        return clients, groups

    def _fs_record(self, db, row, table: list | None = None) -> dict:
        directory = self._fs_dir(row["name"])
        exists = os.path.isdir(directory)
        mounts = _host.mounts_under(directory, table) if exists else []
        clients, groups = self._exports(db, row["id"])
        if row["parent_snap_id"] is not None:
            parent, parent_snapshot = row["parent_snap_fs"], row["parent_snap_name"]
        else:
            parent, parent_snapshot = row["parent_name"], None
        if not exists:
            state, status = "ERROR", "directory %s is missing" % directory
        elif mounts:
            state = "MOUNTED_READONLY" if all(entry.readonly for entry in mounts) else "MOUNTED"
            status = "OK, mounted on %s" % ", ".join(sorted(entry.mount_point for entry in mounts))
        else:
            state, status = "UNMOUNTED", "OK"
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

    def _check_unmounted(self, name: str, action: str, cls=FileSystemBusyEx) -> None:
        mounts = _host.mounts_under(self._fs_dir(name))
        if mounts:
            raise cls("file system '%s' is mounted on %s; unmount it first to %s"
                      % (name, ", ".join(sorted(entry.mount_point for entry in mounts)), action))

    # --- file systems --------------------------------------------------------------
    def list_filesystems(self):
        db = self._fs_conn()
        table = _host.mountinfo()
        return [self._fs_record(db, row, table) for row in db.execute(_FS_SELECT + " ORDER BY f.name").fetchall()]

    def get_filesystem(self, name):
        db = self._fs_conn()
        row = self._fs_row(db, name)
        return None if row is None else self._fs_record(db, row)

    def create_filesystem(self, name, pool, size, export):
        self._ensure_root()
        self._sweep_trash()
        with self._fs_write() as db:
            if self._fs_row(db, name) is not None:
                raise InvalidValueEx("file system '%s' already exists" % name, "name")
            pool_row = self._pool_row(db, pool)
            self._reserve(db, pool_row, size, False, "file system '%s'" % name)
            fs_id = db.execute(
                "INSERT INTO filesystems (uuid, name, pool_id, size, created) VALUES (?, ?, ?, ?, ?)",
                (str(uuidlib.uuid4()), name, pool_row["id"], size, time.time())).lastrowid
            self._set_exports(db, fs_id, export or {})
            directory = self._fs_dir(name)
            self._discard(directory)  # left by a run killed before its commit
            self._make_dir(directory)
            return self._fs_record(db, self._fs_row(db, name))

    def resize_filesystem(self, name, size):
        with self._fs_write() as db:
            row = self._existing_fs(db, name)
            used = tree_usage(self._fs_dir(name))
            if size < used:
                raise InvalidValueEx("file system '%s' holds %s, more than the new size %s" % (
                    name, format_size(used), format_size(size)), "size")
            pool = self._pool_row(db, row["pool_name"])
            self._release(db, row["pool_id"], row["size"], False)
            self._reserve(db, pool, size, False, "file system '%s' at %s" % (name, format_size(size)))
            db.execute("UPDATE filesystems SET size = ? WHERE id = ?", (size, row["id"]))
            return self._fs_record(db, self._fs_row(db, name))

    def set_export(self, name, export):
        with self._fs_write() as db:
            row = self._existing_fs(db, name)
            self._set_exports(db, row["id"], export or {})
            return self._fs_record(db, self._fs_row(db, name))

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
        with self._fs_write() as db:
            row = self._existing_fs(db, name)
            what = "file system '%s'" % name
            self._check_unmounted(name, "delete it")
            snaps = db.execute("SELECT name FROM fs_snapshots WHERE fs_id = ? ORDER BY name", (row["id"],)).fetchall()
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
        # after the commit: a crash here leaves directories no row names (removed later)
        for snap in snaps:
            self._discard(self._snap_dir(row["uuid"], snap["name"]))
        self._discard(os.path.join(self.fs_root, ".snapshots", row["uuid"]))
        self._discard(self._fs_dir(name))

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
        db = self._fs_conn()
        row = self._existing_fs(db, filesystem)
        if db.execute("SELECT 1 FROM fs_snapshots WHERE fs_id = ? AND name = ?", (row["id"], name)).fetchone():
            raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
        self._sweep_trash()
        # copy first, outside the lock: a large tree must not stall every other run
        temp = self._copy_into_temp(self._fs_dir(filesystem))
        try:
            with self._fs_write() as db:
                row = self._existing_fs(db, filesystem)
                if db.execute("SELECT 1 FROM fs_snapshots WHERE fs_id = ? AND name = ?", (row["id"], name)).fetchone():
                    raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
                db.execute("INSERT INTO fs_snapshots (uuid, name, fs_id, size, created) VALUES (?, ?, ?, ?, ?)",
                           (str(uuidlib.uuid4()), name, row["id"], row["size"], time.time()))
                self._place(temp, self._snap_dir(row["uuid"], name))
                self._seal(self._snap_dir(row["uuid"], name))
                return self._fs_snap_record(self._fs_snap_row(db, filesystem, name))
        finally:
            if os.path.lexists(temp):
                self._remove_tree(temp)

    def delete_fs_snapshot(self, filesystem, name):
        with self._fs_write() as db:
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
            db.execute("DELETE FROM fs_snapshots WHERE id = ?", (row["id"],))
        self._discard(self._snap_dir(row["fs_uuid"], name))

    def fs_snapshot_is_current(self, filesystem, name):
        db = self._fs_conn()
        row = self._fs_snap_row(db, filesystem, name)
        return tree_fingerprint(self._fs_dir(filesystem)) == tree_fingerprint(self._snap_dir(row["fs_uuid"], name))

    def restore_fs_snapshot(self, filesystem, name):
        with self._fs_write() as db:
            snap = self._fs_snap_row(db, filesystem, name)
            self._check_unmounted(filesystem, "restore snapshot '%s' (the files would change under it)" % name,
                                  SnapRestoreNotSafeEx)
            directory = self._fs_dir(filesystem)
            # in place, so the directory (and a later bind mount of it) stays the same;
            # an interrupted restore is finished by the next run (the trees still differ)
            for entry in os.listdir(directory):
                path = os.path.join(directory, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            _host.copy_tree(self._snap_dir(snap["fs_uuid"], name), directory)
            return self._fs_record(db, self._existing_fs(db, filesystem))

    # --- clones ------------------------------------------------------------------------
    def create_fs_clone(self, name, filesystem, snapshot=None):
        db = self._fs_conn()
        if self._fs_row(db, name) is not None:
            raise InvalidValueEx("file system '%s' already exists" % name, "name")
        parent = self._existing_fs(db, filesystem)
        snap = self._fs_snap_row(db, filesystem, snapshot) if snapshot else None
        source = self._snap_dir(parent["uuid"], snapshot) if snap else self._fs_dir(filesystem)
        self._ensure_root()
        self._sweep_trash()
        temp = self._copy_into_temp(source)
        try:
            with self._fs_write() as db:
                if self._fs_row(db, name) is not None:
                    raise InvalidValueEx("file system '%s' already exists" % name, "name")
                parent = self._existing_fs(db, filesystem)
                snap = self._fs_snap_row(db, filesystem, snapshot) if snapshot else None
                size = snap["size"] if snap else parent["size"]
                pool = self._pool_row(db, parent["pool_name"])
                self._reserve(db, pool, size, False, "clone '%s'" % name)
                db.execute(
                    "INSERT INTO filesystems (uuid, name, pool_id, size, parent_id, parent_snap_id, created)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(uuidlib.uuid4()), name, parent["pool_id"], size, None if snap else parent["id"],
                     snap["id"] if snap else None, time.time()))
                self._place(temp, self._fs_dir(name))
                return self._fs_record(db, self._fs_row(db, name))
        finally:
            if os.path.lexists(temp):
                self._remove_tree(temp)

    def split_fs_clone(self, name):
        with self._fs_write() as db:
            row = self._existing_fs(db, name)
            if row["parent_id"] is None and row["parent_snap_id"] is None:
                raise InvalidValueEx("file system '%s' is not a clone (it has no parent)" % name, "name")
            # the clone is a full (or copy-on-write) copy already: splitting is forgetting the lineage
            db.execute("UPDATE filesystems SET parent_id = NULL, parent_snap_id = NULL WHERE id = ?", (row["id"],))
            return self._fs_record(db, self._fs_row(db, name))
