# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Consistency groups of the simulator. Private to this collection.

Imported by the simulator only when a task uses consistency groups (as the file system
half is), so that a LUN task does not compile it. :class:`SimGroups` works on the
backend's connection and transactions; every operation is one ``BEGIN IMMEDIATE``
transaction, so a group snapshot of LUNs is of one point in time by construction (every
member's content generation is read and recorded in the same transaction).

File system members are directories: their copies are made just before that transaction,
one after the other (a simulator cannot stop a process writing into them), and renamed
into place inside it.

Tables (``CG_TABLES``) are added to a state file when it is opened for writing and lacks
them: a migration that needs no schema version of its own.
"""

from __future__ import annotations

import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
)

CG_TABLES = """
CREATE TABLE IF NOT EXISTS cgroups (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS cg_members (
    cg_id INTEGER NOT NULL REFERENCES cgroups(id),
    lun_id INTEGER UNIQUE REFERENCES luns(id) ON DELETE CASCADE,
    fs_id INTEGER UNIQUE REFERENCES filesystems(id) ON DELETE CASCADE,
    CHECK ((lun_id IS NULL) != (fs_id IS NULL)));
CREATE INDEX IF NOT EXISTS cg_members_cg ON cg_members(cg_id);
CREATE TABLE IF NOT EXISTS cg_snapshots (
    id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, name TEXT NOT NULL, cg_id INTEGER NOT NULL REFERENCES cgroups(id),
    created REAL NOT NULL, UNIQUE (cg_id, name));
CREATE TABLE IF NOT EXISTS cg_snapshot_members (
    cgs_id INTEGER NOT NULL REFERENCES cg_snapshots(id),
    snap_id INTEGER UNIQUE REFERENCES snapshots(id) ON DELETE CASCADE,
    fs_snap_id INTEGER UNIQUE REFERENCES fs_snapshots(id) ON DELETE CASCADE,
    CHECK ((snap_id IS NULL) != (fs_snap_id IS NULL)));
CREATE INDEX IF NOT EXISTS cg_snapshot_members_cgs ON cg_snapshot_members(cgs_id);
"""


def create_tables(db) -> None:
    """Add the tables (and the file system tables they refer to) inside the caller's transaction."""
    from ansible_collections.stormgmt.core.plugins.module_utils.backends._sim_fs import FS_TABLES
    for statement in (FS_TABLES + CG_TABLES).split(";"):
        if statement.strip():
            db.execute(statement)


def migrate(db) -> None:
    """The migration step of a state file written before consistency groups: one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        create_tables(db)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


_SNAP_MEMBERS = (
    "SELECT m.snap_id, m.fs_snap_id, l.name AS lun_name, f.name AS fs_name, s.size AS lun_snap_size,"
    " fss.size AS fs_snap_size, s.lun_id, fss.fs_id, f.uuid AS fs_uuid FROM cg_snapshot_members m"
    " LEFT JOIN snapshots s ON s.id = m.snap_id LEFT JOIN luns l ON l.id = s.lun_id"
    " LEFT JOIN fs_snapshots fss ON fss.id = m.fs_snap_id LEFT JOIN filesystems f ON f.id = fss.fs_id"
    " WHERE m.cgs_id = ?")


class SimGroups:
    """The consistency group methods of :class:`SimBackend`, on its connection."""

    def __init__(self, backend) -> None:
        self.backend = backend

    # --- reading ----------------------------------------------------------------
    def _db(self):
        db = self.backend._conn()
        return db if self.backend._cg_ready(db) else None

    @staticmethod
    def _group_row(db, name: str, required: bool = True):
        row = db.execute("SELECT * FROM cgroups WHERE name = ?", (name,)).fetchone()
        if row is None and required:
            raise OperationPreReqNotMetEx("consistency group '%s' does not exist" % name, "consistency_group")
        return row

    @staticmethod
    def _members(db, cg_id: int) -> tuple:
        luns = [r[0] for r in db.execute(
            "SELECT l.name FROM cg_members m JOIN luns l ON l.id = m.lun_id WHERE m.cg_id = ? ORDER BY l.name", (cg_id,))]
        filesystems = [r[0] for r in db.execute(
            "SELECT f.name FROM cg_members m JOIN filesystems f ON f.id = m.fs_id WHERE m.cg_id = ? ORDER BY f.name",
            (cg_id,))]
        return luns, filesystems

    def _record(self, db, row) -> dict:
        luns, filesystems = self._members(db, row["id"])
        return records.make(
            "consistency_group", name=row["name"], uuid=row["uuid"], ss_uuid=self.backend.server_uuid, luns=luns,
            filesystems=filesystems, created=records.format_time(row["created"]), status="OK")

    def list_consistency_groups(self):
        db = self._db()
        if db is None:
            return []
        return [self._record(db, row) for row in db.execute("SELECT * FROM cgroups ORDER BY name").fetchall()]

    def get_consistency_group(self, name):
        db = self._db()
        row = None if db is None else self._group_row(db, name, required=False)
        return None if row is None else self._record(db, row)

    def _snap_record(self, db, row, group_name: str) -> dict:
        members = db.execute(_SNAP_MEMBERS, (row["id"],)).fetchall()
        return records.make(
            "cg_snapshot", name=row["name"], uuid=row["uuid"], ss_uuid=self.backend.server_uuid,
            consistency_group=group_name,
            luns=sorted(m["lun_name"] for m in members if m["snap_id"] is not None),
            filesystems=sorted(m["fs_name"] for m in members if m["fs_snap_id"] is not None),
            size=sum((m["lun_snap_size"] or 0) + (m["fs_snap_size"] or 0) for m in members),
            created=records.format_time(row["created"]), state="ONLINE", status="OK")

    def list_cg_snapshots(self, group=None):
        db = self._db()
        if db is None:
            return []
        query = "SELECT s.*, c.name AS cg_name FROM cg_snapshots s JOIN cgroups c ON c.id = s.cg_id"
        if group is None:
            rows = db.execute(query + " ORDER BY c.name, s.created, s.id")
        else:
            rows = db.execute(query + " WHERE c.name = ? ORDER BY s.created, s.id", (group,))
        return [self._snap_record(db, row, row["cg_name"]) for row in rows.fetchall()]

    def get_cg_snapshot(self, group, name):
        db = self._db()
        if db is None:
            return None
        row = db.execute("SELECT s.*, c.name AS cg_name FROM cg_snapshots s JOIN cgroups c ON c.id = s.cg_id"
                         " WHERE c.name = ? AND s.name = ?", (group, name)).fetchone()
        return None if row is None else self._snap_record(db, row, row["cg_name"])

    # --- groups ------------------------------------------------------------------
    def _write(self, op: str = "consistency_group"):
        """The backend's write transaction, with the tables there."""
        self.backend._fs_conn()  # the file system tables (members may be file systems)
        return self.backend._write(op)

    def _member_ids(self, db, name: str, luns, filesystems) -> list:
        """[(column, id)] of the named members; each exists and is in no other group."""
        found = []
        kinds = (("lun_id", "luns", "LUN", luns), ("fs_id", "filesystems", "file system", filesystems))
        for column, table, noun, names in kinds:
            for member in names:
                row = db.execute("SELECT id FROM %s WHERE name = ?" % table, (member,)).fetchone()
                if row is None:
                    raise OperationPreReqNotMetEx("%s '%s' does not exist, so consistency group '%s' cannot hold it"
                                                  % (noun, member, name), "luns" if column == "lun_id" else "filesystems")
                other = db.execute("SELECT c.name FROM cg_members m JOIN cgroups c ON c.id = m.cg_id WHERE m.%s = ?"
                                   % column, (row["id"],)).fetchone()
                if other is not None and other[0] != name:
                    raise InvalidValueEx("%s '%s' is already in consistency group '%s'; a %s is in one group at most"
                                         % (noun, member, other[0], noun), "luns")
                found.append((column, row["id"]))
        return found

    def create_consistency_group(self, name, luns, filesystems):
        with self._write() as db:
            if self._group_row(db, name, required=False) is not None:
                raise InvalidValueEx("consistency group '%s' already exists" % name, "name")
            members = self._member_ids(db, name, luns, filesystems)
            cg_id = db.execute("INSERT INTO cgroups (uuid, name, created) VALUES (?, ?, ?)",
                               (str(uuidlib.uuid4()), name, time.time())).lastrowid
            for column, member_id in members:
                db.execute("INSERT INTO cg_members (cg_id, %s) VALUES (?, ?)" % column, (cg_id, member_id))
            return self._record(db, self._group_row(db, name))

    def update_consistency_group(self, name, changes):
        with self._write() as db:
            row = self._group_row(db, name)
            for column, table, key in (("lun_id", "luns", "remove_luns"), ("fs_id", "filesystems", "remove_filesystems")):
                for member in changes.get(key, []):
                    db.execute("DELETE FROM cg_members WHERE cg_id = ? AND %s = (SELECT id FROM %s WHERE name = ?)"
                               % (column, table), (row["id"], member))
            for column, member_id in self._member_ids(db, name, changes.get("add_luns", []),
                                                      changes.get("add_filesystems", [])):
                db.execute("INSERT OR IGNORE INTO cg_members (cg_id, %s) VALUES (?, ?)" % column, (row["id"], member_id))
            return self._record(db, self._group_row(db, name))

    def delete_consistency_group(self, name, force=False):
        with self._write() as db:
            row = self._group_row(db, name)
            snaps = db.execute("SELECT * FROM cg_snapshots WHERE cg_id = ? ORDER BY created, id", (row["id"],)).fetchall()
            if snaps and not force:
                raise StorageElementBusyEx(
                    "consistency group '%s' has group snapshot(s) %s; delete them first or set force: true"
                    % (name, ", ".join(snap["name"] for snap in snaps)))
            discards = []
            for snap in snaps:
                discards.extend(self._drop_snapshot(db, snap, name))
            db.execute("DELETE FROM cg_members WHERE cg_id = ?", (row["id"],))
            db.execute("DELETE FROM cgroups WHERE id = ?", (row["id"],))
        for row_id in discards:
            self.backend._discard(row_id, "delete_consistency_group")

    # --- group snapshots -----------------------------------------------------------
    def _cg_snap_row(self, db, group: str, name: str):
        row = db.execute("SELECT s.* FROM cg_snapshots s JOIN cgroups c ON c.id = s.cg_id WHERE c.name = ? AND s.name = ?",
                         (group, name)).fetchone()
        if row is None:
            raise OperationPreReqNotMetEx("group snapshot '%s' of consistency group '%s' does not exist" % (name, group),
                                          "name")
        return row

    def _lun_members(self, db, cg_id: int) -> list:
        return db.execute("SELECT l.* FROM cg_members m JOIN luns l ON l.id = m.lun_id WHERE m.cg_id = ? ORDER BY l.name",
                          (cg_id,)).fetchall()

    def _fs_members(self, db, cg_id: int) -> list:
        return db.execute("SELECT f.* FROM cg_members m JOIN filesystems f ON f.id = m.fs_id WHERE m.cg_id = ?"
                          " ORDER BY f.name", (cg_id,)).fetchall()

    def _check_new(self, db, group: str, name: str):
        """The group row, its LUN and file system members; refuses what would clash."""
        row = self._group_row(db, group)
        if db.execute("SELECT 1 FROM cg_snapshots WHERE cg_id = ? AND name = ?", (row["id"], name)).fetchone():
            raise InvalidValueEx("group snapshot '%s' of consistency group '%s' already exists" % (name, group), "name")
        luns, filesystems = self._lun_members(db, row["id"]), self._fs_members(db, row["id"])
        if not luns and not filesystems:
            raise OperationPreReqNotMetEx("consistency group '%s' has no members to snapshot" % group, "consistency_group")
        for lun in luns:
            self.backend._check_not_busy(lun, "member LUN '%s'" % lun["name"])
            if db.execute("SELECT 1 FROM snapshots WHERE lun_id = ? AND name = ?", (lun["id"], name)).fetchone():
                raise InvalidValueEx("member LUN '%s' already has a snapshot '%s'" % (lun["name"], name), "name")
        for fs in filesystems:
            if db.execute("SELECT 1 FROM fs_snapshots WHERE fs_id = ? AND name = ?", (fs["id"], name)).fetchone():
                raise InvalidValueEx("member file system '%s' already has a snapshot '%s'" % (fs["name"], name), "name")
        return row, luns, filesystems

    def create_cg_snapshot(self, group, name):
        key = "create_cg_snapshot"
        with self._write(key) as db:
            _row, _luns, filesystems = self._check_new(db, group, name)
        made = []  # (row id, scratch path, relative path) of each member file system's copy
        try:
            # the directories are copied first, outside the lock, as single file system snapshots are;
            # each copy is a scratch row first, so a run killed meanwhile leaves nothing behind
            for fs in filesystems:
                self.backend.check_filesystem_action(fs["name"], "snapshot")
                relative = self.backend._snap_rel(fs["uuid"], name)
                source = self.backend._fs_dir(fs["name"])
                row_id, temp = self.backend._make_in_scratch(
                    "snapshot '%s' of file system '%s' (consistency group '%s')" % (name, fs["name"], group), key,
                    relative, lambda path, source=source: self.backend._copy_tree(source, path))
                made.append((row_id, temp, relative))
            with self._write(key) as db:
                row, luns, filesystems = self._check_new(db, group, name)
                if sorted(self.backend._snap_rel(fs["uuid"], name) for fs in filesystems) != sorted(m[2] for m in made):
                    raise StorageElementBusyEx("the members of consistency group '%s' changed while its snapshot was "
                                               "taken; run the task again" % group)
                now = time.time()
                cgs_id = db.execute("INSERT INTO cg_snapshots (uuid, name, cg_id, created) VALUES (?, ?, ?, ?)",
                                    (str(uuidlib.uuid4()), name, row["id"], now)).lastrowid
                for lun in luns:
                    snap_id = db.execute(
                        "INSERT INTO snapshots (uuid, name, lun_id, size, content_gen, created) VALUES (?, ?, ?, ?, ?, ?)",
                        (str(uuidlib.uuid4()), name, lun["id"], lun["size"], lun["content_gen"], now)).lastrowid
                    db.execute("INSERT INTO cg_snapshot_members (cgs_id, snap_id) VALUES (?, ?)", (cgs_id, snap_id))
                for fs in filesystems:
                    snap_id = db.execute("INSERT INTO fs_snapshots (uuid, name, fs_id, size, created) VALUES (?, ?, ?, ?, ?)",
                                         (str(uuidlib.uuid4()), name, fs["id"], fs["size"], now)).lastrowid
                    db.execute("INSERT INTO cg_snapshot_members (cgs_id, fs_snap_id) VALUES (?, ?)", (cgs_id, snap_id))
                for row_id, temp, relative in made:
                    self.backend._place(db, row_id, temp, relative)
                    self.backend._seal(self.backend._abs(relative))
                return self._snap_record(db, db.execute("SELECT * FROM cg_snapshots WHERE id = ?", (cgs_id,)).fetchone(),
                                         group)
        except BaseException:
            # copies not placed, or placed by a transaction that did not commit, are removed
            for row_id, temp, relative in made:
                self.backend._scratch_abandon(row_id, temp, self.backend._abs(relative))
            raise

    def _drop_snapshot(self, db, snap, group: str) -> list:
        """Delete a group snapshot's rows, or raise when a clone depends on one of them; return
        the discard rows of its file system snapshots' directories (removed after the commit)."""
        members = db.execute(_SNAP_MEMBERS, (snap["id"],)).fetchall()
        snap_ids = [m["snap_id"] for m in members if m["snap_id"] is not None]
        fs_snap_ids = [m["fs_snap_id"] for m in members if m["fs_snap_id"] is not None]
        clones = []
        for table, ids in (("luns", snap_ids), ("filesystems", fs_snap_ids)):
            for member_id in ids:
                clones.extend(r[0] for r in db.execute("SELECT name FROM %s WHERE parent_snap_id = ?" % table,
                                                       (member_id,)))
        if clones:
            raise StorageElementBusyEx(
                "group snapshot '%s' of consistency group '%s': clone(s) %s depend on its snapshots; split or delete "
                "them first" % (snap["name"], group, ", ".join(sorted(clones))))
        db.execute("DELETE FROM cg_snapshot_members WHERE cgs_id = ?", (snap["id"],))
        for snap_id in snap_ids:
            db.execute("DELETE FROM snapshots WHERE id = ?", (snap_id,))
        for snap_id in fs_snap_ids:
            db.execute("DELETE FROM fs_snapshots WHERE id = ?", (snap_id,))
        db.execute("DELETE FROM cg_snapshots WHERE id = ?", (snap["id"],))
        return self.backend._discard_rows(
            db, "delete group snapshot '%s' of consistency group '%s'" % (snap["name"], group),
            [self.backend._snap_rel(m["fs_uuid"], snap["name"]) for m in members if m["fs_snap_id"] is not None])

    def delete_cg_snapshot(self, group, name):
        with self._write("delete_cg_snapshot") as db:
            discards = self._drop_snapshot(db, self._cg_snap_row(db, group, name), group)
        for row_id in discards:
            self.backend._discard(row_id, "delete_cg_snapshot")

    def restore_cg_snapshot(self, group, name):
        with self._write() as db:
            snap = self._cg_snap_row(db, group, name)
            members = db.execute(_SNAP_MEMBERS, (snap["id"],)).fetchall()
            luns = []
            for member in members:
                if member["snap_id"] is None:
                    continue
                lun = db.execute(self.backend._LUN_SELECT + " WHERE l.id = ?", (member["lun_id"],)).fetchone()
                self.backend._check_not_busy(lun, "LUN '%s'" % lun["name"])
                mapped = [r[0] for r in db.execute(
                    "SELECT g.name FROM mappings m JOIN access_groups g ON g.id = m.group_id WHERE m.lun_id = ?"
                    " ORDER BY g.name", (lun["id"],))]
                if mapped:
                    raise SnapRestoreNotSafeEx(
                        "restoring group snapshot '%s' of consistency group '%s' would change the data of LUN '%s' "
                        "under the initiators of access group(s) %s; unmap it first"
                        % (name, group, lun["name"], ", ".join(mapped)))
                luns.append((lun, db.execute("SELECT * FROM snapshots WHERE id = ?", (member["snap_id"],)).fetchone()))
            file_systems = [member["fs_name"] for member in members if member["fs_snap_id"] is not None]
            for fs_name in file_systems:  # mounted, or with mounts inside: refused before anything changes
                self.backend.check_filesystem_action(fs_name, "restore", name)
        # the file systems first, each swapped whole with a copy of its snapshot (a killed run leaves
        # the old tree or the new one, never a mix, and the next run finishes or undoes the swap)
        for fs_name in file_systems:
            self.backend.restore_fs_snapshot(fs_name, name)
        with self._write("restore_cg_snapshot") as db:
            snap = self._cg_snap_row(db, group, name)
            for lun, lun_snap in luns:
                lun = db.execute(self.backend._LUN_SELECT + " WHERE l.id = ?", (lun["id"],)).fetchone()
                if lun_snap["size"] != lun["size"]:
                    self.backend._release(db, lun["pool_id"], lun["size"], bool(lun["thin"]))
                    pool = self.backend._pool_row(db, lun["pool_name"])
                    self.backend._reserve(db, pool, lun_snap["size"], bool(lun["thin"]), "LUN '%s'" % lun["name"])
                db.execute("UPDATE luns SET size = ?, content_gen = ? WHERE id = ?",
                           (lun_snap["size"], lun_snap["content_gen"], lun["id"]))
            return self._snap_record(db, snap, group)
