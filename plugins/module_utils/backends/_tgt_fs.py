# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The file half of the Linux storage server: btrfs file systems exported by nfs-ganesha.
Private to this collection; a mixin of :class:`backends.linux.LinuxBackend`, imported on
first use so that a LUN task does not compile it.

The pool directory ``P`` (the path of the server URI) must be on btrfs with quotas on:

* a **file system** is the subvolume ``P/fs/<name>``; its size is the qgroup limit on
  referenced bytes (a write past it fails with EDQUOT, over NFS too), ``free_sz`` and the
  used space are the qgroup's numbers;
* a **snapshot** is the read-only snapshot ``P/fs-snapshots/<file system uuid>/<name>``
  (instant, whatever the data), with the file system's size as its qgroup limit;
* a **clone** is a writable snapshot of the file system or of one of its snapshots, made
  in ``P/fs/.tmp`` and renamed into place; its lineage is btrfs' own (the parent uuid of
  the subvolume); ``split`` marks it independent (it shares no state with the parent:
  its extents are copy-on-write, deleting the parent leaves it whole);
* **restore** empties the file system (never crossing into a mount or a nested
  subvolume) and copies the snapshot back with reflinks, so its identity (and its NFS
  export) stays;
* an **export** is the file ``<ganesha config dir>/exports.d/<pool>@<name>.conf`` of the
  NFS gateway (:mod:`_gw_nfs`): the file system at ``/<pool>/<name>`` and each of its
  snapshots, read-only, at ``/<pool>/.snapshots/<name>/<snapshot>`` of the NFSv4 pseudo
  file system. nfs-ganesha (without libbtrfsutil, as Debian builds it) serves only
  directories that are mount points, so every exported subvolume is bind mounted on
  itself; every connection puts back such mounts (after a reboot) and the exports
  ganesha lost.

Nothing is kept beside the server's own state: names are directory names, sizes and
usage are qgroups, lineage is btrfs', exports are ganesha's configuration. A subvolume
is this server's only when it carries the server's uuid in the ``trusted.stormgmt.server``
extended attribute (NFS clients cannot set ``trusted.*``); anything else in the pool is
never listed, changed or deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import struct
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import _gw_nfs, records
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner, fixed, positional
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    IPluginException,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
)


class _LazyHost:
    """The host side (mounts), imported when first needed."""

    def __getattr__(self, name: str):
        from ansible_collections.stormgmt.core.plugins.module_utils import _host as host
        return getattr(host, name)


_host = _LazyHost()

FS_DIR = "fs"
SNAP_DIR = "fs-snapshots"
TMP_DIR = ".tmp"
XATTR_SERVER = "trusted.stormgmt.server"
XATTR_SPLIT = "trusted.stormgmt.split"
SNAPSHOT_PSEUDO = ".snapshots"

BTRFS = Runner("btrfs", dict(
    subvolume_create=fixed("subvolume", "create"),
    subvolume_snapshot=fixed("subvolume", "snapshot"),
    readonly=lambda value: ["-r"] if value else [],
    subvolume_delete=fixed("subvolume", "delete"),
    qgroup_show=fixed("qgroup", "show", "--sync", "--raw", "-r", "-e"),
    only=lambda value: ["-f"] if value else [],
    qgroup_limit=fixed("qgroup", "limit"),
    size=positional(),
    sync=fixed("filesystem", "sync"),
    end=fixed("--"),
    path=positional(), dest=positional()), package="btrfs-progs", timeout=3600)
CP = Runner("cp", dict(reflink=fixed("-a", "--reflink=always", "--"), source=positional(), dest=positional()),
            package="coreutils", timeout=None)

# struct btrfs_ioctl_get_subvol_info_args (linux/btrfs.h), BTRFS_IOC_GET_SUBVOL_INFO (kernel 4.18+)
_SUBVOL_INFO = struct.Struct("=Q256sQQQQ16s16s16sQQQQ" + "QIxxxx" * 4 + "8Q")
_IOC_GET_SUBVOL_INFO = (2 << 30) | (_SUBVOL_INFO.size << 16) | (0x94 << 8) | 60
_NIL_UUID = "00000000-0000-0000-0000-000000000000"
_QGROUP_LINE = lazy_compile(r"^0/([0-9]+)\s+([0-9]+)\s+([0-9]+)\s+(\S+)\s+(\S+)")


def subvolume_info(path: str) -> dict | None:
    """{id, uuid, parent_uuid, readonly} of the btrfs subvolume whose root is ``path``, else None."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if info.st_ino != 256 or not os.path.isdir(path) or os.path.islink(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        buffer = bytearray(_SUBVOL_INFO.size)
        fcntl.ioctl(fd, _IOC_GET_SUBVOL_INFO, buffer)
    except OSError:
        return None  # not btrfs (the ioctl does not exist there)
    finally:
        os.close(fd)
    fields = _SUBVOL_INFO.unpack(buffer)
    parent = str(uuidlib.UUID(bytes=fields[7]))
    return dict(id=fields[0], uuid=str(uuidlib.UUID(bytes=fields[6])),
                parent_uuid=None if parent == _NIL_UUID else parent, readonly=bool(fields[5] & 1),
                otime=fields[15] + fields[16] / 1e9)


def parse_qgroups(text: str) -> dict:
    """``btrfs qgroup show --raw -r -e`` -> {subvolume id: {rfer, excl, max_rfer}} (max_rfer None: no limit)."""
    found = {}
    for line in text.splitlines():
        match = _QGROUP_LINE.match(line.strip())
        if match:
            limit = match.group(4)
            found[int(match.group(1))] = dict(rfer=int(match.group(2)), excl=int(match.group(3)),
                                              max_rfer=int(limit) if limit.isdigit() else None)
    return found


def _xattr(path: str, name: str) -> str | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False).decode("utf-8", "replace")
    except OSError:
        return None


def tree_digest(root: str) -> str:
    """Names, types, modes, owners, sizes, file times and link targets of a tree, without
    crossing into another file system or subvolume: equal for a tree and its ``cp -a`` copy."""
    digest = hashlib.sha256()
    device = os.lstat(root).st_dev
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            try:
                info = os.lstat(full)
            except OSError:
                continue
            parts = [os.path.relpath(full, root), "%o" % info.st_mode, str(info.st_uid), str(info.st_gid)]
            if not os.path.isdir(full) or os.path.islink(full):
                parts += [str(info.st_size), str(info.st_mtime_ns)]
            if os.path.islink(full):
                parts.append(os.readlink(full))
            digest.update(("\0".join(parts) + "\n").encode("utf-8", "surrogateescape"))
        dirnames[:] = [name for name in dirnames if os.lstat(os.path.join(dirpath, name)).st_dev == device]
    return digest.hexdigest()


def foreign_boundaries(root: str) -> list:
    """Directories under ``root`` on another device (a mount, a nested subvolume)."""
    device = os.lstat(root).st_dev
    found = []
    for dirpath, dirnames, _filenames in os.walk(root):
        keep = []
        for name in dirnames:
            full = os.path.join(dirpath, name)
            try:
                if os.lstat(full).st_dev != device:
                    found.append(full)
                    continue
            except OSError:
                continue
            keep.append(name)
        dirnames[:] = keep
    return found


class TgtFileSystems:
    """FileSystemPlugin methods of the Linux server (mixed into LinuxBackend)."""

    # --- places ---------------------------------------------------------------------
    @property
    def fs_root(self) -> str:
        return os.path.join(self.pool_dir, FS_DIR)

    def _fs_path(self, name: str) -> str:
        return os.path.join(self.fs_root, name)

    def _fs_snap_root(self, fs_uuid: str) -> str:
        return os.path.join(self.pool_dir, SNAP_DIR, fs_uuid)

    def _fs_tmp_root(self) -> str:
        return os.path.join(self.fs_root, TMP_DIR)

    def _fs_export_name(self, fs_name: str) -> str:
        return "%s@%s" % (self.pool_name, fs_name)

    def _fs_pseudo(self, fs_name: str, snapshot: str | None = None) -> str:
        if snapshot is None:
            return "/%s/%s" % (self.pool_name, fs_name)
        return "/%s/%s/%s/%s" % (self.pool_name, SNAPSHOT_PSEUDO, fs_name, snapshot)

    @property
    def ganesha(self):
        if getattr(self, "_ganesha_obj", None) is None:
            self._ganesha_obj = _gw_nfs.Ganesha(self.nfs_conf, self.nfs_host)
        return self._ganesha_obj

    # --- connection -------------------------------------------------------------------
    def _fs_files_on(self) -> None:
        if not self.files:
            raise NoSuchOperationEx(
                "the %s backend serves no file systems for %s: add nfs_conf=<nfs-ganesha configuration> to the "
                "server URI (or use linux://)" % (self.scheme, self.pool_dir))

    def _fs_connect(self) -> None:
        """Once per run: the pool is btrfs; after a reboot or a restart of ganesha, put back the
        export mounts and the exports ganesha lost."""
        if getattr(self, "_fs_connected", False):
            return
        self._fs_files_on()
        self._fs_server_uuid()
        fstype = _host.directory_fstype(self.pool_dir)
        if fstype != "btrfs":
            raise OperationPreReqNotMetEx(
                "file systems need the pool directory on btrfs (subvolumes, qgroups, snapshots); %s is on %s"
                % (self.pool_dir, fstype or "no file system this host knows"), "server")
        _gw_nfs.quoted(self.pool_dir, "pool directory")
        self._fs_connected = True
        with self.store.locked():
            self._fs_sweep_tmp()
            if self._fs_repair_due():
                self._fs_repair_exports()

    def _fs_server_uuid(self) -> str:
        uuid = getattr(self, "_uuid", None)
        if uuid is None:
            self._connect()
            uuid = self._uuid
        return uuid

    def _fs_sweep_tmp(self) -> None:
        """Subvolumes of this server left in .tmp by a run killed half-way (we hold the lock)."""
        tmp = self._fs_tmp_root()
        with contextlib.suppress(OSError):
            for entry in os.listdir(tmp):
                path = os.path.join(tmp, entry)
                if subvolume_info(path) is not None and _xattr(path, XATTR_SERVER) == self._fs_server_uuid():
                    with contextlib.suppress(IPluginException):
                        BTRFS("subvolume_delete end path", path=path)

    # --- reading the server ---------------------------------------------------------------
    def _fs_ours(self, path: str, readonly: bool) -> dict | None:
        info = subvolume_info(path)
        if info is None or info["readonly"] != readonly or _xattr(path, XATTR_SERVER) != self._fs_server_uuid():
            return None
        return dict(info, path=path)

    def _fs_info(self, name: str) -> dict | None:
        info = self._fs_ours(self._fs_path(name), readonly=False)
        return None if info is None else dict(info, name=name)

    def _fs_all_fs(self) -> dict:
        found = {}
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(self.fs_root)):
                info = self._fs_info(name) if name != TMP_DIR else None
                if info is not None:
                    found[name] = info
        return found

    def _fs_snaps(self, fs: dict) -> dict:
        """{name: info} of the snapshots of file system ``fs``, oldest first."""
        root = self._fs_snap_root(fs["uuid"])
        found = []
        with contextlib.suppress(OSError):
            for name in os.listdir(root):
                info = self._fs_ours(os.path.join(root, name), readonly=True)
                if info is not None:
                    found.append(dict(info, name=name, fs=fs["name"]))
        return dict((snap["name"], snap) for snap in sorted(found, key=lambda snap: (snap["otime"], snap["name"])))

    def _fs_lineage(self, fs: dict, everything: dict | None = None) -> tuple:
        """(parent file system, parent snapshot) from btrfs' parent uuid, unless split."""
        parent = fs.get("parent_uuid")
        if parent is None or _xattr(fs["path"], XATTR_SPLIT) == fs["uuid"]:
            return None, None
        for name, other in (everything if everything is not None else self._fs_all_fs()).items():
            if other["uuid"] == parent:
                return name, None
            for snap_name, snap in self._fs_snaps(other).items():
                if snap["uuid"] == parent:
                    return name, snap_name
        return None, None

    def _fs_clones(self, name: str, everything: dict) -> list:
        return sorted(other for other, fs in everything.items()
                      if other != name and fs.get("parent_uuid") and self._fs_lineage(fs, everything)[0] == name)

    def _fs_qgroups(self, path: str | None = None) -> dict:
        """Qgroup numbers (synced first) of one subvolume, or of every one of the pool's btrfs."""
        target = path or (self.fs_root if os.path.isdir(self.fs_root) else self.pool_dir)
        result = BTRFS("qgroup_show only end path", check_rc=False, only=path is not None, path=target)
        if result.rc != 0:
            message = (result.err or result.out).strip()
            if "quota" in message.lower():
                raise OperationPreReqNotMetEx(
                    "quotas are not enabled on the btrfs of pool %s: run 'btrfs quota enable' on its mount point "
                    "(the configure phase of the stormgmt.core.nfs_server role does)" % self.pool_dir, "server")
            raise OperationFailedEx("btrfs qgroup show %s failed: %s" % (target, message))
        return parse_qgroups(result.out)

    def _fs_exports_of(self, fs_name: str) -> dict | None:
        header = self.ganesha.read(self._fs_export_name(fs_name))
        if header is not None and header.get("pool_dir") not in (None, self.pool_dir):
            raise InvalidValueEx(
                "nfs-ganesha (%s) already exports a pool named '%s' from %s; pools exported by one NFS server need "
                "different directory names" % (self.ganesha.conf, self.pool_name, header.get("pool_dir")), "server")
        return header

    def _fs_local_mounts(self, path: str, table: list) -> list:
        """Mounts of the file system on this host (bind mounts of it or of a directory in it),
        not counting the mount of itself that its export needs."""
        real = os.path.realpath(path)
        return [entry for entry in _host.mounts_under(path, table) if entry.mount_point != real]

    def _fs_record(self, fs: dict, quota: dict, table: list, served, everything: dict | None = None) -> dict:
        name, path = fs["name"], fs["path"]
        size, used = quota.get("max_rfer"), quota.get("rfer", 0)
        parent, parent_snapshot = self._fs_lineage(fs, everything)
        header = self._fs_exports_of(name)
        export = (header or {}).get("export") or {}
        host, port = self.ganesha.address()
        mounts = self._fs_local_mounts(path, table)
        problems = []
        if size is None:
            problems.append("it has no size limit (btrfs qgroup limit on %s)" % path)
        if header is not None:
            if not header.get("intact", True):
                problems.append("its export file %s was edited outside stormgmt (the next change replaces it)"
                                % self.ganesha.path_of(self._fs_export_name(name)))
            if self.ganesha.process() is None:
                problems.append("it is exported but nfs-ganesha (%s) is not running" % self.ganesha.conf)
            elif served([item["export_id"] for item in header.get("exports", [])]) is False:
                problems.append("nfs-ganesha does not serve its export; run any task against the server to put it "
                                "back, and see ganesha's log if that fails")
        if problems:
            state, status = "ERROR", "; ".join(problems)
        elif mounts:
            state = "MOUNTED_READONLY" if all(entry.readonly for entry in mounts) else "MOUNTED"
            status = "OK, mounted on %s" % ", ".join(sorted(entry.mount_point for entry in mounts))
        else:
            state, status = "UNMOUNTED", "OK"
        if header is not None and not problems:
            status += ", exported at %s:%s" % (_url_host(host), self._fs_pseudo(name))
        return records.make(
            "file_system",
            name=name, uuid=fs["uuid"], ss_uuid=self._fs_server_uuid(), size=size if size is not None else used,
            free_sz=max((size or 0) - used, 0), access_path="%s:%s" % (_url_host(host), self._fs_pseudo(name)),
            nfs_url=nfs_url(host, port, self._fs_pseudo(name)), array_path="%s/%s" % (self.pool_name, name),
            mount_options=mount_options(port), export_opts=list(export.get("options") or []),
            export_clients=list(export.get("clients") or []), access_grp_names=list(export.get("access_groups") or []),
            state=state, status=status, backing_device=self.pool_name, fstype="nfs4", vol_group_name=self.pool_name,
            parent=parent, parent_snapshot=parent_snapshot)

    def _fs_current(self, name: str) -> dict | None:
        fs = self._fs_info(name)
        if fs is None:
            return None
        quota = self._fs_qgroups(fs["path"]).get(fs["id"]) or {}
        return self._fs_record(fs, quota, _host.mountinfo(), self.ganesha.serves)

    def _fs_snapshot_record(self, snap: dict, quota: dict, exported: bool) -> dict:
        host, _port = self.ganesha.address()
        paths = [snap["path"]]
        if exported:
            paths.append("%s:%s" % (_url_host(host), self._fs_pseudo(snap["fs"], snap["name"])))
        return records.make(
            "storage_element",
            name=snap["name"], uuid=snap["uuid"], id=str(snap["id"]), ss_uuid=self._fs_server_uuid(), se_type="SNAP",
            size=quota.get("max_rfer") or quota.get("rfer", 0), thin=True, vol_group_name=self.pool_name,
            access_grp_names=[], state="ONLINE", status="OK", vendor="STORMGMT", product_id="LINUX-FS-SNAP",
            path=paths, array_path="%s/%s@%s" % (self.pool_name, snap["fs"], snap["name"]), parent=snap["fs"])

    # --- FileSystemPlugin: reading -------------------------------------------------------------
    def list_filesystems(self):
        if not self.files:
            return []
        self._fs_connect()
        everything = self._fs_all_fs()
        if not everything:
            return []
        qgroups = self._fs_qgroups()
        table = _host.mountinfo()
        live = self.ganesha.live_ids()

        def served(ids):
            return None if live is None else set(ids) <= live
        return [self._fs_record(fs, qgroups.get(fs["id"]) or {}, table, served, everything)
                for fs in everything.values()]

    def get_filesystem(self, name):
        if not self.files:
            return None
        self._fs_connect()
        return self._fs_current(name)

    def list_fs_snapshots(self, filesystem=None):
        if not self.files:
            return []
        self._fs_connect()
        if filesystem is not None:
            fs = self._fs_info(filesystem)
            filesystems = [fs] if fs is not None else []
        else:
            filesystems = list(self._fs_all_fs().values())
        out = []
        qgroups = None
        for fs in filesystems:
            snaps = self._fs_snaps(fs)
            if not snaps:
                continue
            qgroups = qgroups if qgroups is not None else self._fs_qgroups()
            exported = self.ganesha.read(self._fs_export_name(fs["name"])) is not None
            out.extend(self._fs_snapshot_record(snap, qgroups.get(snap["id"]) or {}, exported) for snap in snaps.values())
        return out

    def get_fs_snapshot(self, filesystem, name):
        if not self.files:
            return None
        self._fs_connect()
        fs = self._fs_info(filesystem)
        snap = self._fs_snaps(fs).get(name) if fs is not None else None
        if snap is None:
            return None
        exported = self.ganesha.read(self._fs_export_name(filesystem)) is not None
        return self._fs_snapshot_record(snap, self._fs_qgroups(snap["path"]).get(snap["id"]) or {}, exported)

    # --- validation ---------------------------------------------------------------------------
    def check_export(self, export: dict) -> dict:
        """The export as records carry it, checked for nfs-ganesha; InvalidValueEx before any change."""
        export = dict(export or {})
        if not self.files:
            return export
        options = _gw_nfs.canonical_options(export.get("options") or [])
        for client in export.get("clients") or []:
            _gw_nfs.client_term(client)
            _gw_nfs.check_resolvable(client)
        return dict(clients=sorted(export.get("clients") or []),
                    access_groups=sorted(export.get("access_groups") or []), options=options)

    def _fs_existing(self, name: str) -> dict:
        fs = self._fs_info(name)
        if fs is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "filesystem")
        return fs

    def _fs_existing_snap(self, fs: dict, name: str) -> dict:
        snap = self._fs_snaps(fs).get(name)
        if snap is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of file system '%s' does not exist" % (name, fs["name"]),
                                          "snapshot")
        return snap

    def _fs_name_free(self, name: str) -> None:
        validate_name(name, "file system name")
        path = self._fs_path(name)
        if os.path.lexists(path):
            if self._fs_info(name) is not None:
                raise InvalidValueEx("file system '%s' already exists" % name, "name")
            raise InvalidValueEx("%s exists and is not a file system of this server; it is left alone: move it out "
                                 "of the pool or choose another name" % path, "name")

    def _fs_pool_free(self) -> int:
        st = os.statvfs(self.pool_dir)
        return st.f_bavail * st.f_frsize

    # --- exports --------------------------------------------------------------------------------
    def _fs_group_clients(self, groups: list) -> dict:
        state = self.store.load() or {"groups": {}}
        found = {}
        for group in groups or []:
            record = state["groups"].get(group)
            if record is None:
                raise OperationPreReqNotMetEx("access group '%s' does not exist" % group, "access_groups")
            found[group] = sorted(entry for entry in record["entries"] if not _is_initiator(entry))
        return found

    def _fs_rules(self, export: dict, groups: dict, readonly: bool = False) -> list:
        rule = _gw_nfs.export_rule(export.get("options") or [])
        if readonly:
            rule["access"] = "RO"
        rules = [dict(rule, clients=list(export.get("clients") or []))]
        rules.extend(dict(rule, clients=clients) for _group, clients in sorted(groups.items()))
        return rules

    def _fs_desired_exports(self, fs: dict, snaps: dict, export: dict) -> list:
        if not export or not (export.get("clients") or export.get("access_groups")):
            return []
        groups = self._fs_group_clients(export.get("access_groups"))
        fsal = {"Name": "VFS"}
        exports = [dict(key="fs", path=fs["path"], pseudo=self._fs_pseudo(fs["name"]), fsal=fsal,
                        rules=self._fs_rules(export, groups))]
        for snap_name, snap in snaps.items():
            exports.append(dict(key="snap:" + snap_name, path=snap["path"], pseudo=self._fs_pseudo(fs["name"], snap_name),
                                fsal=fsal, rules=self._fs_rules(export, groups, readonly=True)))
        return exports

    def _fs_sync_exports(self, fs: dict, export: dict | None, snaps: dict | None = None) -> None:
        """Make ganesha export ``fs`` and its snapshots as ``export`` says ({} or None: not at all).
        Call with the pool lock held; ganesha must run when anything changes."""
        name = fs["name"]
        wanted = self._fs_desired_exports(fs, self._fs_snaps(fs) if snaps is None else snaps, export or {})
        old = self._fs_exports_of(name)
        if not wanted and old is None:
            return
        self.ganesha.check_config()
        if wanted:
            self.ganesha.require_running()  # a removed export needs no ganesha: it reads the files when it starts
        table = _host.mountinfo()
        for item in wanted:
            self._fs_mount_self(item["path"], table)
        meta = dict(owner="stormgmt", pool=self.pool_name, pool_dir=self.pool_dir, server=self._fs_server_uuid(),
                    filesystem=name, fs_uuid=fs["uuid"], export=_export_meta(export) if wanted else {})
        fault_point("tgt.fs.export.commit")
        with self.ganesha.locked():
            self.ganesha.commit(self._fs_export_name(name), meta, wanted)
        keep = set(item["path"] for item in wanted)
        gone = [item["path"] for item in (old or {}).get("exports", []) if item["path"] not in keep]
        table = _host.mountinfo() if gone else []
        for path in gone:
            self._fs_unmount_self(path, table)

    def _fs_self_mount(self, path: str, table: list):
        """The bind mount of ``path`` on itself that its export needs, if it is there."""
        real = os.path.realpath(path)
        entry = _host.mount_at(real, table)
        if entry is None:
            return None
        parent = _host.directory_identity(os.path.dirname(real), table)
        if parent is None or entry.majmin != parent[0]:
            return None
        return entry if entry.root == os.path.normpath(os.path.join(parent[1], os.path.basename(real))) else None

    def _fs_mount_self(self, path: str, table: list) -> bool:
        if self._fs_self_mount(path, table) is not None:
            return False
        if _host.mount_at(path, table) is not None:
            raise FileSystemBusyEx("%s is a mount point of something else; its export needs it free" % path)
        _host.mount(path, path, None, ["bind"])
        return True

    def _fs_unmount_self(self, path: str, table: list) -> None:
        if self._fs_self_mount(path, table) is not None:
            _host.umount(path)

    def _fs_repair_marker(self) -> str:
        return os.path.join(self.store.dir, "nfs-exports-checked")

    def _fs_repair_due(self) -> bool:
        """A full check of the exports is due once per boot and per ganesha process: mounts vanish
        with a reboot, and a ganesha started before them could not export them."""
        key = _runtime_key(self.ganesha.process())
        try:
            with open(self._fs_repair_marker(), encoding="utf-8") as handle:
                if handle.read().strip() == key:
                    return False
        except OSError:
            pass
        if any(name.startswith(self.pool_name + "@") for name in self.ganesha.files()):
            return True
        self._fs_mark_repaired()  # nothing exported: nothing to put back for this boot and ganesha
        return False

    def _fs_mark_repaired(self) -> None:
        if self.ganesha.process() is not None:
            with contextlib.suppress(OSError):
                with open(self._fs_repair_marker(), "w", encoding="utf-8") as handle:
                    handle.write(_runtime_key(self.ganesha.process()))

    def _fs_repair_exports(self) -> None:
        """Put back the export mounts, re-render exports whose groups changed, add the exports
        ganesha misses, drop those of file systems that are gone. Under the pool lock."""
        running = self.ganesha.process() is not None
        live = self.ganesha.live_ids() if running else None
        table = _host.mountinfo()
        prefix = self.pool_name + "@"
        for export_name in [name for name in self.ganesha.files() if name.startswith(prefix)]:
            header = self.ganesha.read(export_name)
            if header is None or header.get("pool_dir") != self.pool_dir:
                continue
            paths = [item["path"] for item in header.get("exports", []) if os.path.isdir(item["path"])]
            made = False
            for path in paths:
                if self._fs_self_mount(path, table) is None and _host.mount_at(path, table) is None:
                    _host.mount(path, path, None, ["bind"])
                    made = True
            if not running:
                continue  # ganesha reads the files when it starts
            fs = self._fs_info(header.get("filesystem") or "")
            with contextlib.suppress(IPluginException):
                with self.ganesha.locked():
                    if fs is None or fs["uuid"] != header.get("fs_uuid"):
                        self.ganesha.commit(export_name, {}, [])
                        continue
                    ids = set(item["export_id"] for item in header.get("exports", []))
                    missing = sorted(ids - live) if live is not None else (sorted(ids) if made else [])
                    if missing:
                        self.ganesha.apply(export_name, dict(removed=[], added=missing, updated=[]))
                self._fs_sync_exports(fs, header.get("export"))
        self._fs_mark_repaired()

    def refresh_group_exports(self, group: str, drop: bool = False) -> list:
        """Re-render the exports naming access group ``group`` (its clients changed), or with
        ``drop`` take the group out of them. Returns the file systems touched."""
        names = self.exports_naming_group(group)
        if not names:
            return []
        with self.store.locked():
            for name in names:
                fs = self._fs_info(name)
                header = self._fs_exports_of(name) if fs is not None else None
                if header is None:
                    continue
                export = dict(header.get("export") or {})
                if drop:
                    export["access_groups"] = [g for g in export.get("access_groups") or [] if g != group]
                self._fs_sync_exports(fs, export)
        return names

    def exports_naming_group(self, group: str) -> list:
        """File systems whose export names access group ``group``."""
        if not self.files:
            return []
        self._fs_connect()
        found = []
        prefix = self.pool_name + "@"
        for export_name in self.ganesha.files():
            if export_name.startswith(prefix):
                header = self.ganesha.read(export_name)
                if header and header.get("pool_dir") == self.pool_dir and \
                        group in (header.get("export") or {}).get("access_groups", []):
                    found.append(header.get("filesystem"))
        return sorted(found)

    # --- FileSystemPlugin: changes -----------------------------------------------------------------
    def create_filesystem(self, name, pool, size, export):
        self._fs_connect()
        self._check_pool(pool)
        export = self.check_export(export or {})
        if size <= 0:
            raise InvalidValueEx("file system '%s': size must be positive" % name, "size")
        with self.store.locked():
            self._fs_name_free(name)
            free = self._fs_pool_free()
            if size > free:
                raise InvalidValueEx("file system '%s' needs %s but pool '%s' has %s free"
                                     % (name, format_size(size), self.pool_name, format_size(free)), "size")
            self._fs_group_clients(export["access_groups"])
            if export["clients"] or export["access_groups"]:
                self.ganesha.check_config()
                self.ganesha.require_running()
            temp = self._fs_new_tmp()
            BTRFS("subvolume_create end path", path=temp)
            try:
                fault_point("tgt.fs.create.subvolume")
                os.chmod(temp, 0o755)
                os.setxattr(temp, XATTR_SERVER, self._fs_server_uuid().encode())
                BTRFS("qgroup_limit end size path", size=str(size), path=temp)
                fault_point("tgt.fs.create.limit")
                os.rename(temp, self._fs_path(name))
            except BaseException:
                self._fs_drop_subvolume(temp)
                raise
            try:
                self._fs_sync_exports(self._fs_existing(name), export, snaps={})
            except BaseException:
                self._fs_drop_subvolume(self._fs_path(name))
                raise
            return self._fs_current(name)

    def _fs_new_tmp(self) -> str:
        os.makedirs(self._fs_tmp_root(), mode=0o700, exist_ok=True)
        return os.path.join(self._fs_tmp_root(), uuidlib.uuid4().hex)

    @staticmethod
    def _fs_drop_subvolume(path: str) -> None:
        with contextlib.suppress(IPluginException):
            if os.path.lexists(path):
                BTRFS("subvolume_delete end path", path=path)

    def resize_filesystem(self, name, size):
        self._fs_connect()
        with self.store.locked():
            fs = self._fs_existing(name)
            quota = self._fs_qgroups(fs["path"]).get(fs["id"]) or {}
            used, current = quota.get("rfer", 0), quota.get("max_rfer") or 0
            if size < used:
                raise InvalidValueEx("file system '%s' holds %s, more than the new size %s"
                                     % (name, format_size(used), format_size(size)), "size")
            free = self._fs_pool_free()
            if size - current > free:
                raise InvalidValueEx("file system '%s' at %s needs %s more but pool '%s' has %s free" % (
                    name, format_size(size), format_size(size - current), self.pool_name, format_size(free)), "size")
            BTRFS("qgroup_limit end size path", size=str(size), path=fs["path"])
            return self._fs_current(name)

    def set_export(self, name, export):
        self._fs_connect()
        export = self.check_export(export or {})
        with self.store.locked():
            fs = self._fs_existing(name)
            self._fs_group_clients(export["access_groups"])
            self._fs_sync_exports(fs, export)
            return self._fs_current(name)

    def fs_dependents(self, name: str) -> dict:
        """What keeps a file system from being deleted: snapshots, clones, export, mounts."""
        self._fs_connect()
        fs = self._fs_existing(name)
        return dict(snapshots=sorted(self._fs_snaps(fs)), clones=self._fs_clones(name, self._fs_all_fs()),
                    exported=self._fs_exports_of(name) is not None,
                    mounts=sorted(entry.mount_point for entry in self._fs_local_mounts(fs["path"], _host.mountinfo())))

    def _fs_check_no_mounts(self, name: str, path: str, action: str, cls=FileSystemBusyEx) -> None:
        table = _host.mountinfo()
        mounts = self._fs_local_mounts(path, table)
        if mounts:
            raise cls("file system '%s' is mounted on %s; unmount it first to %s"
                      % (name, ", ".join(sorted(entry.mount_point for entry in mounts)), action))
        real = os.path.realpath(path)
        below = sorted(set(entry.mount_point for entry in table if entry.mount_point.startswith(real + "/")))
        if below:
            raise FileSystemBusyEx("file system '%s' has mounts inside it (%s); unmount them first to %s"
                                   % (name, ", ".join(below), action))

    def delete_filesystem(self, name, force=False):
        self._fs_connect()
        with self.store.locked():
            fs = self._fs_existing(name)
            what = "file system '%s'" % name
            self._fs_check_no_mounts(name, fs["path"], "delete it")
            everything = self._fs_all_fs()
            snaps = self._fs_snaps(fs)
            clones = self._fs_clones(name, everything)
            header = self._fs_exports_of(name)
            export = (header or {}).get("export") or {}
            if not force and (snaps or clones or header is not None):
                reasons = []
                if header is not None:
                    reasons.append("is exported (to %s)" % ", ".join(
                        list(export.get("clients") or []) + ["group " + g for g in export.get("access_groups") or []]))
                if snaps:
                    reasons.append("has snapshot(s) %s" % ", ".join(snaps))
                if clones:
                    reasons.append("has clone(s) %s" % ", ".join(clones))
                raise FileSystemBusyEx("%s %s; remove them first or set force: true" % (what, " and ".join(reasons)))
            # clients lose access first; then the snapshots go; the file system last
            self._fs_sync_exports(fs, None, snaps)
            fault_point("tgt.fs.delete.unexported")
            for clone in clones:  # btrfs shares nothing with them that goes away: they are independent now
                other = everything[clone]
                os.setxattr(other["path"], XATTR_SPLIT, other["uuid"].encode())
            for snap in snaps.values():
                BTRFS("subvolume_delete end path", path=snap["path"])
            with contextlib.suppress(OSError):
                os.rmdir(self._fs_snap_root(fs["uuid"]))
            fault_point("tgt.fs.delete.snapshots")
            result = BTRFS("subvolume_delete end path", check_rc=False, path=fs["path"])
            if result.rc != 0:
                message = (result.err or result.out).strip().splitlines()
                busy = any(word in (result.err or "").lower() for word in ("not empty", "busy"))
                raise (FileSystemBusyEx if busy else OperationFailedEx)(
                    "%s could not be deleted: %s (a subvolume or a mount inside it?)"
                    % (what, message[-1] if message else "no message"))

    # --- snapshots ---------------------------------------------------------------------------------------
    def create_fs_snapshot(self, filesystem, name):
        self._fs_connect()
        validate_name(name, "snapshot name")
        with self.store.locked():
            fs = self._fs_existing(filesystem)
            snaps = self._fs_snaps(fs)
            path = os.path.join(self._fs_snap_root(fs["uuid"]), name)
            if name in snaps:
                raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
            if os.path.lexists(path):
                raise InvalidValueEx("%s exists and is not a snapshot of this server; it is left alone" % path, "name")
            header = self._fs_exports_of(filesystem)
            if header is not None:
                self.ganesha.require_running()
            limit = (self._fs_qgroups(fs["path"]).get(fs["id"]) or {}).get("max_rfer")
            os.makedirs(self._fs_snap_root(fs["uuid"]), mode=0o700, exist_ok=True)
            BTRFS("subvolume_snapshot readonly end path dest", readonly=True, path=fs["path"], dest=path)
            fault_point("tgt.fs.snapshot.made")
            try:
                if limit:
                    BTRFS("qgroup_limit end size path", size=str(limit), path=path)
                if header is not None:
                    self._fs_sync_exports(fs, header.get("export"))
            except BaseException:
                self._fs_drop_subvolume(path)
                raise
            snap = self._fs_snaps(fs)[name]
            return self._fs_snapshot_record(snap, self._fs_qgroups(path).get(snap["id"]) or {}, header is not None)

    def delete_fs_snapshot(self, filesystem, name):
        self._fs_connect()
        with self.store.locked():
            fs = self._fs_existing(filesystem)
            snaps = self._fs_snaps(fs)
            snap = self._fs_existing_snap(fs, name)
            everything = self._fs_all_fs()
            clones = sorted(other for other, item in everything.items()
                            if item.get("parent_uuid") == snap["uuid"] and self._fs_lineage(item, everything)[1] == name)
            if clones:
                raise FileSystemBusyEx(
                    "snapshot '%s' of file system '%s' has clones that depend on it (%s): split or delete them first"
                    % (name, filesystem, ", ".join(clones)))
            header = self._fs_exports_of(filesystem)
            if header is not None:
                self._fs_sync_exports(fs, header.get("export"),
                                      dict((key, value) for key, value in snaps.items() if key != name))
            BTRFS("subvolume_delete end path", path=snap["path"])

    def fs_snapshot_is_current(self, filesystem, name):
        self._fs_connect()
        fs = self._fs_existing(filesystem)
        snap = self._fs_existing_snap(fs, name)
        return tree_digest(fs["path"]) == tree_digest(snap["path"])

    def restore_fs_snapshot(self, filesystem, name):
        self._fs_connect()
        with self.store.locked():
            fs = self._fs_existing(filesystem)
            snap = self._fs_existing_snap(fs, name)
            self._fs_check_no_mounts(filesystem, fs["path"],
                                     "restore snapshot '%s' (the files would change under it)" % name,
                                     SnapRestoreNotSafeEx)
            nested = foreign_boundaries(fs["path"])
            if nested:
                raise FileSystemBusyEx("file system '%s' holds %s (a mount or a subvolume of its own); a restore "
                                       "would have to delete it" % (filesystem, ", ".join(sorted(nested))))
            qgroups = self._fs_qgroups()
            limit = (qgroups.get(fs["id"]) or {}).get("max_rfer")
            needed = (qgroups.get(snap["id"]) or {}).get("rfer", 0)
            if limit is not None and needed > limit:
                raise InvalidValueEx("snapshot '%s' holds %s, more than file system '%s' may hold (%s); grow it first"
                                     % (name, format_size(needed), filesystem, format_size(limit)), "size")
            device = os.lstat(fs["path"]).st_dev
            # in place: the subvolume (its uuid, its export, the NFS handle of its root) stays; a run
            # killed half-way leaves trees that differ, and the next run restores again
            for entry in os.listdir(fs["path"]):
                path = os.path.join(fs["path"], entry)
                if os.lstat(path).st_dev != device:
                    raise FileSystemBusyEx("%s is on another file system; nothing was crossed" % path)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
            fault_point("tgt.fs.restore.emptied")
            BTRFS("sync end path", path=fs["path"])  # what was deleted stops counting before the copy
            CP("reflink source dest", source=os.path.join(snap["path"], "."), dest=fs["path"])
            root = os.lstat(snap["path"])
            os.chown(fs["path"], root.st_uid, root.st_gid)
            os.chmod(fs["path"], root.st_mode & 0o7777)
            header = self._fs_exports_of(filesystem)
            if header is not None and self.ganesha.process() is not None:
                # ganesha caches what it read of the files; the restore changed them behind its back
                ids = [item["export_id"] for item in header.get("exports", []) if item["key"] == "fs"]
                with self.ganesha.locked():
                    self.ganesha.refresh(self._fs_export_name(filesystem), ids)
            return self._fs_current(filesystem)

    # --- clones ----------------------------------------------------------------------------------------------
    def create_fs_clone(self, name, filesystem, snapshot=None):
        self._fs_connect()
        with self.store.locked():
            self._fs_name_free(name)
            fs = self._fs_existing(filesystem)
            source = self._fs_existing_snap(fs, snapshot) if snapshot is not None else fs
            qgroups = self._fs_qgroups()
            size = (qgroups.get(source["id"]) or {}).get("max_rfer") or (qgroups.get(fs["id"]) or {}).get("max_rfer")
            temp = self._fs_new_tmp()
            BTRFS("subvolume_snapshot readonly end path dest", readonly=False, path=source["path"], dest=temp)
            try:
                fault_point("tgt.fs.clone.made")
                with contextlib.suppress(OSError):
                    os.removexattr(temp, XATTR_SPLIT)
                os.setxattr(temp, XATTR_SERVER, self._fs_server_uuid().encode())
                if size:
                    BTRFS("qgroup_limit end size path", size=str(size), path=temp)
                os.rename(temp, self._fs_path(name))
            except BaseException:
                self._fs_drop_subvolume(temp)
                raise
            return self._fs_current(name)

    def split_fs_clone(self, name):
        self._fs_connect()
        with self.store.locked():
            fs = self._fs_existing(name)
            if self._fs_lineage(fs) == (None, None):
                raise InvalidValueEx("file system '%s' is not a clone (it has no parent)" % name, "name")
            # a writable btrfs snapshot shares only copy-on-write extents with its parent: it is
            # independent already (deleting the parent leaves it whole); the mark ends the lineage
            os.setxattr(fs["path"], XATTR_SPLIT, fs["uuid"].encode())
            return self._fs_current(name)

    def fs_clone_origin(self, name):
        """Where file system ``name`` was cloned from, split or not: btrfs keeps the parent
        subvolume's uuid (a split only marks the clone), so the lineage is read from btrfs
        itself. None when it was not made as a clone, or its parent is gone."""
        self._fs_connect()
        fs = self._fs_info(name)
        if fs is None or fs.get("parent_uuid") is None:
            return None
        for parent, other in self._fs_all_fs().items():
            if other["uuid"] == fs["parent_uuid"]:
                return {"parent": parent, "parent_snapshot": None, "parent_uuid": other["uuid"]}
            for snap_name, snap in self._fs_snaps(other).items():
                if snap["uuid"] == fs["parent_uuid"]:
                    return {"parent": parent, "parent_snapshot": snap_name, "parent_uuid": other["uuid"]}
        return None


# --- helpers --------------------------------------------------------------------------------------------

def _is_initiator(entry: str) -> bool:
    return entry[:4].lower() in ("iqn.", "eui.", "naa.") or (entry.startswith("0x") and len(entry) == 18)


def _export_meta(export: dict | None) -> dict:
    export = export or {}
    return dict(clients=list(export.get("clients") or []), access_groups=list(export.get("access_groups") or []),
                options=list(export.get("options") or []))


def _url_host(host: str) -> str:
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def nfs_url(host: str, port: int, pseudo: str) -> str:
    """The URL libnfs (nfs-ls, nfs-cp, nfs-cat) reads: NFSv4, the port when it is not 2049."""
    query = "version=4" + ("&nfsport=%d" % port if port != _gw_nfs.DEFAULT_PORT else "")
    return "nfs://%s%s?%s" % (_url_host(host), pseudo, query)


def mount_options(port: int) -> list:
    """Options mount(8) needs for this server."""
    return ["vers=4.1"] + (["port=%d" % port] if port != _gw_nfs.DEFAULT_PORT else [])


def _runtime_key(process: dict | None) -> str:
    """This boot and this ganesha process: the exports were checked for them."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as handle:
            boot = handle.read().strip()
    except OSError:
        boot = "unknown"
    return "%s %s" % (boot, process["pid"] if process else "-")
