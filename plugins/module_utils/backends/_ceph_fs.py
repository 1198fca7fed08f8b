# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""File systems of the ceph backend, on CephFS. Private to this collection; the functions
take the backend as their first argument and are imported on first use, so that a LUN task
does not compile them.

With ``fs=NAME`` in the server URI, a file system is a directory ``<fs_root>/<name>`` of
CephFS ``NAME`` (``fs_root`` defaults to ``/stormgmt/<pool>``):

* its size is the CephFS quota ``ceph.quota.max_bytes`` (writes past it fail with EDQUOT);
  its used space is the recursive ``ceph.dir.rbytes``;
* it is the backend's only when its extended attribute ``trusted.stormgmt`` names this
  server (NFS clients and unprivileged users cannot set ``trusted.*``); anything else under
  the root is never listed, changed or deleted;
* a snapshot is a CephFS snapshot (``<dir>/.snap/<name>``, instant), the backend's when its
  snapshot metadata names this server and file system;
* a clone is a copy (CephFS has no writable snapshots of a directory) of the file system,
  taken from an internal snapshot so that it is consistent, or of one of its snapshots,
  made under a temporary name by a job and renamed into place when whole; split forgets
  the lineage (the copy shares nothing);
* restore empties the directory and copies the snapshot back, as a job, and is refused
  while a client has the file system mounted (the MDS's sessions say who);
* hosts mount it with ceph-fuse (``mount`` with ``filesystem``);
* with ``nfs_conf=`` in the URI, it is exported over NFS by nfs-ganesha's CEPH FSAL on the
  host the task runs on, through the NFS gateway of the Linux server (:mod:`_gw_nfs`): one
  export file ``<ganesha config dir>/exports.d/ceph+<pool>@<name>.conf`` per file system,
  ``Path`` its CephFS directory, NFSv4 pseudo path ``/<pool>/<name>``, the same clients,
  access groups and options as on the Linux server; the FSAL block names the cephx client,
  the CephFS and the client's key (read from its keyring; only in that file, mode 0600).
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import _gw_nfs, records
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    IPluginException,
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
)

FS_XATTR = "trusted.stormgmt"
TMP_PREFIX = ".stormgmt-tmp-"
TRASH_PREFIX = ".stormgmt-trash-"
CLONE_BASE = ".stormgmt-clone-"
# snapshot metadata keys
S_SERVER, S_FS, S_UUID, S_CREATED = "stormgmt.server", "stormgmt.fs", "stormgmt.uuid", "stormgmt.created"
# the .snap entries of an ancestor's snapshots, as seen from below: _<name>_<inode>
_ANCESTOR_SNAP = lazy_compile(r"^_.+_[0-9]+$")


def fs_abilities(backend) -> dict:
    return dict(
        create_filesystem="ONLINE", resize_filesystem="ONLINE", delete_filesystem="ONLINE", fs_snapshot="ONLINE",
        # a restore rewrites the files under whoever has them open: no client may have it mounted
        fs_snapshot_restore="OFFLINE",
        # CephFS has no writable snapshot of a directory: a clone is a copy, its time grows with the data
        fs_clone="OFFLINE", fs_snap_clone="OFFLINE", fs_split_clone="ONLINE",
        # NFS exports need the NFS gateway: nfs-ganesha's CEPH FSAL, named by nfs_conf
        nfs_export="ONLINE" if backend.nfs_conf is not None else "UNSUPPORTED")


# --- reading ------------------------------------------------------------------------------------

def _need_fs(backend) -> None:
    if backend.fs_name is None:
        raise NoSuchOperationEx("the server URI names no CephFS: add fs=<name> to it for file systems")
    backend._connect()  # pylint: disable=protected-access


def _dir(backend, name: str) -> str:
    return "%s/%s" % (backend.fs_root, name)


def _entries(backend, names=None) -> dict:
    """{name: entry} of this server's file systems (all, or ``names``)."""
    found = backend._call("cannot read CephFS %s" % backend.fs_name, "fs_dirs", root=backend.fs_root,  # pylint: disable=protected-access
                          names=names)
    return dict((name, entry) for name, entry in found.items() if _ours(backend, name, entry))


def _ours(backend, name: str, entry: dict) -> bool:
    meta = entry.get("meta") or {}
    return (not name.startswith(".") and meta.get("server") == backend._uuid  # pylint: disable=protected-access
            and bool(meta.get("uuid")))


def _entry(backend, name: str):
    return _entries(backend, [name]).get(name)


def _existing(backend, name: str) -> dict:
    entry = _entry(backend, name)
    if entry is None:
        raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "filesystem")
    return entry


def _own_snaps(backend, entry: dict) -> dict:
    """{name: {uuid, id, created}}: the snapshots of the file system this server made."""
    out = {}
    for snap in entry.get("snaps") or []:
        meta = snap.get("metadata") or {}
        if (meta.get(S_SERVER) == backend._uuid and meta.get(S_FS) == entry["meta"]["uuid"]  # pylint: disable=protected-access
                and not snap["name"].startswith(".")):
            out[snap["name"]] = {"uuid": meta.get(S_UUID), "id": snap.get("id"), "created": float(meta.get(S_CREATED) or 0)}
    return out


def _foreign_snaps(backend, entry: dict) -> list:
    own = _own_snaps(backend, entry)
    return sorted(snap["name"] for snap in entry.get("snaps") or []
                  if snap["name"] not in own and not snap["name"].startswith(CLONE_BASE)
                  and not _ANCESTOR_SNAP.match(snap["name"]))


def _sessions(backend) -> list:
    """The CephFS client sessions, without those of the NFS gateway's own ganesha (its exports
    are not mounts: NFS clients are guarded by the export, which delete refuses without force)."""
    sessions = backend._call("cannot read the clients of CephFS %s" % backend.fs_name, "fs_sessions")  # pylint: disable=protected-access
    if backend.nfs_conf is None:
        return sessions
    found = _ganesha(backend).process()
    if found is None:
        return sessions
    host = socket.gethostname()
    return [session for session in sessions
            if not (str(session.get("pid")) == str(found["pid"]) and session.get("host") == host)]


def _users(path: str, sessions: list) -> list:
    """Sessions whose mount root is the directory or below it."""
    return [session for session in sessions
            if session.get("root") and (session["root"].rstrip("/") == path or session["root"].startswith(path + "/"))]


def _describe_users(users: list) -> str:
    return ", ".join(sorted(set("%s (client.%s, %s)" % (u.get("host") or "?", u.get("entity") or "?", u.get("root"))
                                for u in users)))


def _lineage(backend, entry: dict, entries: dict) -> tuple:
    """(parent, parent_snapshot): only while the parent it was copied from is still that file system."""
    origin = entry["meta"].get("origin") or {}
    parent = origin.get("parent")
    if not parent:
        return None, None
    current = entries.get(parent) if parent in entries else _entry(backend, parent)
    if current is None or current["meta"].get("uuid") != origin.get("parent_uuid"):
        return None, None
    return parent, origin.get("parent_snapshot")


def _mount_options(backend, path: str) -> list:
    return ["ceph.id=%s" % backend.client_id, "ceph.conf=%s" % backend.conf, "ceph.client_mountpoint=%s" % path]


def _record(backend, name: str, entry: dict, entries: dict, sessions: list, jobs: dict, live=None) -> dict:
    path = _dir(backend, name)
    size = int(entry.get("quota") or 0)
    used = int(entry.get("rbytes") or 0)
    users = _users(path, sessions)
    running = backend._running_job("fs:" + name, jobs)  # pylint: disable=protected-access
    state, status = ("MOUNTED", "OK, mounted by %s" % _describe_users(users)) if users else ("UNMOUNTED", "OK")
    nfs = _nfs_fields(backend, name, entry, live)
    if nfs.pop("problem", None):
        state, status = "ERROR", nfs["status"]
    elif nfs.get("status"):
        status += nfs["status"]
    nfs.pop("status", None)
    handle = progress = None
    if running is not None:
        handle, progress = running[0], running[1].get("progress")
        status = "busy: %s (job %s, %s%%)" % (running[1].get("op"), running[0], progress)
    parent, parent_snapshot = _lineage(backend, entry, entries)
    split = entry["meta"].get("split") or {}
    fields = dict(access_path=None, export_opts=[], export_clients=[], access_grp_names=[])
    fields.update(nfs)
    return records.make(
        "file_system",
        name=name, uuid=entry["meta"]["uuid"], ss_uuid=backend._uuid, size=size,  # pylint: disable=protected-access
        free_sz=max(size - used, 0), array_path="%s:%s" % (backend.fs_name, path),
        mount_options=_mount_options(backend, path), state=state, status=status,
        backing_device=backend.fs_name, fstype="ceph", vol_group_name=backend.pool,
        parent=parent, parent_snapshot=parent_snapshot, async_handle=handle, async_progress=progress,
        extra_info="split from %s" % split["parent"] if split.get("parent") else None, **fields)


def list_filesystems(backend):
    if backend.fs_name is None:
        return []
    _need_fs(backend)
    entries = _entries(backend)
    sessions, jobs = _sessions(backend), backend._jobs()  # pylint: disable=protected-access
    live = _ganesha(backend).live_ids() if backend.nfs_conf is not None and entries else None
    return [_record(backend, name, entries[name], entries, sessions, jobs, live) for name in sorted(entries)]


def get_filesystem(backend, name):
    if backend.fs_name is None:
        return None
    _need_fs(backend)
    entry = _entry(backend, name)
    if entry is None:
        return None
    return _record(backend, name, entry, {name: entry}, _sessions(backend), backend._jobs())  # pylint: disable=protected-access


# --- the host side: how a host mounts a file system (mount module) ------------------------------

def host_mount(backend, fs: dict, share_path) -> dict:
    """How the ``mount`` module mounts ``fs`` on this host: ceph-fuse, through mount(8)'s
    ``fuse.ceph`` helper (so an fstab line of the same form mounts it at boot)."""
    if share_path:
        raise NoSuchOperationEx("file system '%s': share_path is not supported with ceph-fuse mounts; mount the file "
                                "system and use the directory below the mount point" % fs["name"])
    uuid = fs["uuid"]

    def matches(live, path: str) -> bool:
        if live.fstype != "fuse.ceph-fuse":
            return False
        import os
        try:
            meta = json.loads(os.getxattr(path, FS_XATTR).decode("utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(meta, dict) and meta.get("uuid") == uuid
    return {"src": "none", "fstype": "fuse.ceph", "options": list(fs["mount_options"]), "matches": matches}


# --- NFS exports (the NFS gateway of the Linux server, FSAL CEPH) -----------------------------------

def _ganesha(backend):
    if getattr(backend, "_ganesha_obj", None) is None:
        backend._ganesha_obj = _gw_nfs.Ganesha(backend.nfs_conf, backend.nfs_host)  # pylint: disable=protected-access
    return backend._ganesha_obj  # pylint: disable=protected-access


def _export_name(backend, name: str) -> str:
    return "ceph+%s@%s" % (backend.pool, name)


def _pseudo(backend, name: str) -> str:
    return "/%s/%s" % (backend.pool, name)


def _url_host(host: str) -> str:
    return "[%s]" % host if ":" in host and not host.startswith("[") else host


def nfs_url(host: str, port: int, pseudo: str) -> str:
    """The URL libnfs (nfs-ls, nfs-cat) reads: NFSv4, the port when it is not 2049."""
    query = "version=4" + ("&nfsport=%d" % port if port != _gw_nfs.DEFAULT_PORT else "")
    return "nfs://%s%s?%s" % (_url_host(host), pseudo, query)


def _exports_of(backend, name: str, fs_uuid: str | None = None) -> dict | None:
    """The header of the export file of file system ``name`` of this server, or None."""
    header = _ganesha(backend).read(_export_name(backend, name))
    if header is None:
        return None
    if header.get("server") != backend._uuid:  # pylint: disable=protected-access
        raise InvalidValueEx(
            "nfs-ganesha (%s) already exports a file system '%s' of pool '%s' for another Ceph server (%s); "
            "give the pools exported by one NFS server different names" % (
                _ganesha(backend).conf, name, backend.pool, header.get("server")), "server")
    if fs_uuid is not None and header.get("fs_uuid") != fs_uuid:
        return None  # a file system of that name that is gone (deleted elsewhere): not this one's export
    return header


def _nfs_fields(backend, name: str, entry: dict, live) -> dict:
    """The NFS fields of a file system's record: access path, URL, export; status notes."""
    if backend.nfs_conf is None:
        return {}
    ganesha = _ganesha(backend)
    host, port = ganesha.address()
    pseudo = _pseudo(backend, name)
    header = _exports_of(backend, name, entry["meta"]["uuid"])
    export = (header or {}).get("export") or {}
    fields = dict(access_path="%s:%s" % (_url_host(host), pseudo), nfs_url=nfs_url(host, port, pseudo),
                  export_opts=list(export.get("options") or []), export_clients=list(export.get("clients") or []),
                  access_grp_names=list(export.get("access_groups") or []))
    if header is None:
        return fields
    problems = []
    if not header.get("intact", True):
        problems.append("its export file %s was edited outside stormgmt (the next change replaces it)"
                        % ganesha.path_of(_export_name(backend, name)))
    ids = [item["export_id"] for item in header.get("exports", [])]
    if ganesha.process() is None:
        problems.append("it is exported but nfs-ganesha (%s) is not running" % ganesha.conf)
    elif not (set(ids) <= live if live is not None else ganesha.serves(ids) is not False):
        problems.append("nfs-ganesha does not serve its export; see ganesha's log, then set the export again")
    if problems:
        fields.update(problem=True, status="; ".join(problems))
    else:
        fields["status"] = ", exported at %s:%s" % (_url_host(host), pseudo)
    return fields


def check_export(backend, export):
    """The export as records carry it, checked for nfs-ganesha (the Linux server's rules);
    InvalidValueEx before any change."""
    export = dict(export or {})
    if backend.nfs_conf is None:
        return export
    options = _gw_nfs.canonical_options(export.get("options") or [])
    for client in export.get("clients") or []:
        _gw_nfs.client_term(client)
        _gw_nfs.check_resolvable(client)
    return dict(clients=sorted(export.get("clients") or []),
                access_groups=sorted(export.get("access_groups") or []), options=options)


def _check_export(backend, name: str, export) -> dict:
    if export and (export.get("clients") or export.get("access_groups")) and backend.nfs_conf is None:
        raise NoSuchOperationEx("file system '%s': exporting over NFS needs the NFS gateway: add nfs_conf=<nfs-ganesha "
                                "configuration> to the server URI (or mount it with ceph-fuse)" % name)
    return check_export(backend, export)


def _is_initiator(entry: str) -> bool:
    return entry[:4].lower() in ("iqn.", "eui.", "naa.") or (entry.startswith("0x") and len(entry) == 18)


def _group_clients(backend, groups) -> dict:
    """{group: its NFS clients} of access groups ``groups`` (iSCSI initiators left out)."""
    state = backend._fresh_state()  # pylint: disable=protected-access
    found = {}
    for group in groups or []:
        record = state["groups"].get(group)
        if record is None:
            raise OperationPreReqNotMetEx("access group '%s' does not exist" % group, "access_groups")
        found[group] = sorted(entry for entry in record["entries"] if not _is_initiator(entry))
    return found


def _client_key(backend) -> str:
    """The cephx key of the backend's client, for ganesha's FSAL CEPH (from the keyring)."""
    answer = backend._call("cannot read the key of client.%s" % backend.client_id, "client_key")  # pylint: disable=protected-access
    key = answer.get("key")
    if not key or not re.match(r"^[A-Za-z0-9+/]{16,}={0,2}$", key):
        raise OperationPreReqNotMetEx(
            "no usable cephx key for client.%s in its keyring (%s): nfs-ganesha's CEPH FSAL needs it to reach "
            "CephFS %s" % (backend.client_id, ", ".join(answer.get("where") or []) or "none configured",
                           backend.fs_name), "server")
    return key


def _desired_exports(backend, name: str, export: dict) -> list:
    if not export or not (export.get("clients") or export.get("access_groups")):
        return []
    groups = _group_clients(backend, export.get("access_groups"))
    rule = _gw_nfs.export_rule(export.get("options") or [])
    rules = [dict(rule, clients=list(export.get("clients") or []))]
    rules.extend(dict(rule, clients=clients) for _group, clients in sorted(groups.items()))
    fsal = {"Name": "CEPH", "User_Id": backend.client_id, "Filesystem": backend.fs_name,
            "Secret_Access_Key": _client_key(backend)}
    return [dict(key="fs", path=_dir(backend, name), pseudo=_pseudo(backend, name), fsal=fsal, rules=rules)]


def _sync_exports(backend, name: str, fs_uuid: str, export: dict | None) -> None:
    """Make ganesha export file system ``name`` as ``export`` says ({} or None: not at all).
    Call under the backend's lock; ganesha must run when an export is added or changed."""
    ganesha = _ganesha(backend)
    old = _exports_of(backend, name)
    wanted = _desired_exports(backend, name, export or {})
    if not wanted and old is None:
        return
    ganesha.check_config()
    if wanted:
        ganesha.require_running()  # a removed export needs no ganesha: it reads the files when it starts
    meta = dict(owner="stormgmt", backend="ceph", fsid=backend._fsid, pool=backend.pool, cephfs=backend.fs_name,  # pylint: disable=protected-access
                server=backend._uuid, filesystem=name, fs_uuid=fs_uuid,  # pylint: disable=protected-access
                export=dict(clients=list(export.get("clients") or []),
                            access_groups=list(export.get("access_groups") or []),
                            options=list(export.get("options") or [])) if wanted else {})
    secrets = [item["fsal"]["Secret_Access_Key"] for item in wanted]
    try:
        with ganesha.locked():
            ganesha.commit(_export_name(backend, name), meta, wanted)
    except IPluginException as error:
        # ganesha's own words go into the message: they never carry the key, but make sure
        for secret in secrets:
            error.msg = error.msg.replace(secret, "<secret>")
            error.args = tuple(arg.replace(secret, "<secret>") if isinstance(arg, str) else arg for arg in error.args)
        raise


def exports_naming_group(backend, group: str) -> list:
    """File systems whose export names access group ``group``."""
    found = []
    ganesha = _ganesha(backend)
    prefix = _export_name(backend, "")
    for export_name in ganesha.files():
        if export_name.startswith(prefix):
            header = ganesha.read(export_name)
            if header and header.get("server") == backend._uuid and \
                    group in (header.get("export") or {}).get("access_groups", []):  # pylint: disable=protected-access
                found.append(header.get("filesystem"))
    return sorted(found)


def refresh_group_exports(backend, group: str, drop: bool = False) -> list:
    """Re-render the exports naming access group ``group`` (its clients changed), or with
    ``drop`` take the group out of them. Returns the file systems touched."""
    names = exports_naming_group(backend, group)
    if not names:
        return []
    with backend._write():  # pylint: disable=protected-access
        for name in names:
            entry = _entry(backend, name)
            header = _exports_of(backend, name, entry["meta"]["uuid"]) if entry is not None else None
            if header is None:
                continue
            export = dict(header.get("export") or {})
            if drop:
                export["access_groups"] = [g for g in export.get("access_groups") or [] if g != group]
            _sync_exports(backend, name, entry["meta"]["uuid"], export)
    return names


# --- changing -------------------------------------------------------------------------------------


def _name_free(backend, name: str) -> None:
    found = backend._call("cannot read CephFS %s" % backend.fs_name, "fs_dirs", root=backend.fs_root, names=[name])  # pylint: disable=protected-access
    if name in found:
        if _ours(backend, name, found[name]):
            raise InvalidValueEx("file system '%s' already exists" % name, "name")
        raise InvalidValueEx("%s of CephFS %s exists and is not a file system of this server; it is left alone: "
                             "choose another name" % (_dir(backend, name), backend.fs_name), "name")
    if backend._running_job("fs:" + name) is not None:  # pylint: disable=protected-access
        raise InvalidValueEx("file system '%s' is being made by a job (a clone); wait for it" % name, "name")


def _meta(backend, uuid: str, **extra) -> dict:
    meta = {"server": backend._uuid, "uuid": uuid, "created": time.time()}  # pylint: disable=protected-access
    meta.update(extra)
    return meta


def _check_space(backend, what: str, size: int) -> None:
    free = backend._pool_stats()[2]  # pylint: disable=protected-access
    if size > free:
        raise InvalidValueEx("%s needs %s but pool '%s' has %s free"
                             % (what, format_size(size), backend.pool, format_size(free)), "size")


def create_filesystem(backend, name, pool, size, export):
    _need_fs(backend)
    backend._check_pool(pool)  # pylint: disable=protected-access
    export = _check_export(backend, name, export)
    exported = bool(export and (export.get("clients") or export.get("access_groups")))
    call = backend._call  # pylint: disable=protected-access
    with backend._write() as state:  # pylint: disable=protected-access
        _name_free(backend, name)
        _check_space(backend, "file system '%s'" % name, size)
        if exported:
            # everything the export needs, before anything is made
            _group_clients(backend, export.get("access_groups"))
            _ganesha(backend).check_config()
            _ganesha(backend).require_running()
            _client_key(backend)
        uuid = str(uuidlib.uuid4())
        meta = _meta(backend, uuid)
        path = _dir(backend, name)
        state["pending"]["fs:" + name] = {"op": "fs_create", "started": time.time(), "meta": meta, "image": False}
        backend._save_state(state)  # pylint: disable=protected-access
        what = "cannot create file system '%s'" % name
        call(what, "fs_mkdirs", path=backend.fs_root, mode=0o755)
        call(what, "fs_mkdir", path=path, mode=0o755)
        call(what, "fs_set_quota", path=path, size=size)
        call(what, "fs_set_meta", path=path, meta=meta)
        del state["pending"]["fs:" + name]
        backend._save_state(state)  # pylint: disable=protected-access
        if exported:
            try:
                _sync_exports(backend, name, uuid, export)
            except BaseException:
                # the new, empty directory goes again: a failed task changes nothing
                call("cannot remove file system '%s' after its export failed" % name, "fs_remove_tree", path=path)
                raise
    return get_filesystem(backend, name)


def recover(backend, key: str, pending: dict) -> None:
    """A file system a killed run made before it could mark it: mark it (never delete it)."""
    name = key.split(":", 1)[1]
    found = backend.client.call("fs_dirs", root=backend.fs_root, names=[name])
    entry = found.get(name)
    if entry is not None and not entry.get("meta"):
        backend.client.call("fs_set_meta", path=_dir(backend, name), meta=pending["meta"])


def resize_filesystem(backend, name, size):
    _need_fs(backend)
    with backend._write():  # pylint: disable=protected-access
        entry = _existing(backend, name)
        used = int(entry.get("rbytes") or 0)
        if size < used:
            raise InvalidValueEx("file system '%s' holds %s, more than the new size %s"
                                 % (name, format_size(used), format_size(size)), "size")
        if size > int(entry.get("quota") or 0):
            _check_space(backend, "file system '%s' at %s" % (name, format_size(size)), size - int(entry.get("quota") or 0))
        backend._call("cannot resize file system '%s'" % name, "fs_set_quota", path=_dir(backend, name), size=size)  # pylint: disable=protected-access
    return get_filesystem(backend, name)


def set_export(backend, name, export):
    _need_fs(backend)
    export = _check_export(backend, name, export)
    if backend.nfs_conf is None:
        _existing(backend, name)
        return get_filesystem(backend, name)
    with backend._write():  # pylint: disable=protected-access
        entry = _existing(backend, name)
        _sync_exports(backend, name, entry["meta"]["uuid"], export)
    return get_filesystem(backend, name)


def _clones_of(backend, name: str, entries: dict, snapshot=None) -> list:
    out = []
    for other, entry in entries.items():
        origin = entry["meta"].get("origin") or {}
        if other != name and origin.get("parent") == name and (snapshot is None or origin.get("parent_snapshot") == snapshot):
            if origin.get("parent_uuid") == entries[name]["meta"]["uuid"]:
                out.append(other)
    return sorted(out)


def delete_filesystem(backend, name, force=False):
    _need_fs(backend)
    call = backend._call  # pylint: disable=protected-access
    with backend._write() as state:  # pylint: disable=protected-access
        entries = _entries(backend)
        entry = entries.get(name)
        if entry is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "filesystem")
        what = "file system '%s'" % name
        path = _dir(backend, name)
        backend._check_not_busy("fs:" + name, what)  # pylint: disable=protected-access
        users = _users(path, _sessions(backend))
        if users:
            raise FileSystemBusyEx("%s is mounted by %s; unmount it first" % (what, _describe_users(users)))
        foreign = _foreign_snaps(backend, entry)
        if foreign:
            raise FileSystemBusyEx("%s has CephFS snapshot(s) this server did not make (%s); they are left alone, so "
                                   "the file system cannot be deleted" % (what, ", ".join(foreign)))
        snaps = sorted(_own_snaps(backend, entry))
        clones = _clones_of(backend, name, entries)
        header = _exports_of(backend, name) if backend.nfs_conf is not None else None
        if not force and (snaps or clones or header is not None):
            reasons = []
            if header is not None:
                export = header.get("export") or {}
                reasons.append("is exported (to %s)" % ", ".join(
                    list(export.get("clients") or []) + ["group " + g for g in export.get("access_groups") or []]))
            if snaps:
                reasons.append("has snapshot(s) %s" % ", ".join(snaps))
            if clones:
                reasons.append("has clone(s) %s" % ", ".join(clones))
            raise FileSystemBusyEx("%s %s; remove them first or set force: true" % (what, " and ".join(reasons)))
        # NFS clients lose access first
        if header is not None:
            _sync_exports(backend, name, entry["meta"]["uuid"], None)
        # clones are copies: with force they become independent (split)
        for clone in clones:
            meta = dict(entries[clone]["meta"])
            origin = meta.pop("origin", {}) or {}
            meta["split"] = {"parent": name, "parent_snapshot": origin.get("parent_snapshot"), "at": time.time(),
                             "parent_uuid": origin.get("parent_uuid")}
            call("cannot split clone '%s'" % clone, "fs_set_meta", path=_dir(backend, clone), meta=meta)
        for snap in snaps + [s["name"] for s in entry.get("snaps") or [] if s["name"].startswith(CLONE_BASE)]:
            call("cannot delete snapshot '%s' of %s" % (snap, what), "fs_rmsnap", path=path, name=snap)
        # out of the way at once; removing the files takes time and happens outside the lock
        trash = "%s/%s%s" % (backend.fs_root, TRASH_PREFIX, uuidlib.uuid4().hex)
        call("cannot delete %s" % what, "fs_rename", src=path, dst=trash)
        state.setdefault("trash_fs", []).append(trash)
        backend._save_state(state)  # pylint: disable=protected-access
    empty_trash(backend, [trash])


def empty_trash(backend, paths) -> None:
    for path in paths:
        backend._call("cannot delete %s" % path, "fs_remove_tree", path=path)  # pylint: disable=protected-access
    with backend._state_lock():  # pylint: disable=protected-access
        state = backend._fresh_state()  # pylint: disable=protected-access
        left = [path for path in state.get("trash_fs", []) if path not in paths]
        if left != state.get("trash_fs", []):
            state["trash_fs"] = left
            backend._save_state(state)  # pylint: disable=protected-access


# --- snapshots --------------------------------------------------------------------------------------

def _snap_record(backend, fs_name: str, name: str, snap: dict, entry: dict) -> dict:
    return records.make(
        "storage_element",
        name=name, uuid=snap["uuid"], id=snap["uuid"], ss_uuid=backend._uuid, se_type="SNAP",  # pylint: disable=protected-access
        size=int(entry.get("quota") or 0), thin=True, vol_group_name=backend.pool, access_grp_names=[],
        state="ONLINE", status="OK", vendor="STORMGMT", product_id="CEPHFS-SNAP",
        path=["%s/.snap/%s" % (_dir(backend, fs_name), name)],
        array_path="%s:%s/.snap/%s" % (backend.fs_name, _dir(backend, fs_name), name), parent=fs_name)


def list_fs_snapshots(backend, filesystem=None):
    if backend.fs_name is None:
        return []
    _need_fs(backend)
    entries = _entries(backend, None if filesystem is None else [filesystem])
    out = []
    for fs_name in sorted(entries):
        snaps = _own_snaps(backend, entries[fs_name])
        for name in sorted(snaps, key=lambda n: (snaps[n]["created"], n)):
            out.append(_snap_record(backend, fs_name, name, snaps[name], entries[fs_name]))
    return out


def get_fs_snapshot(backend, filesystem, name):
    if backend.fs_name is None:
        return None
    _need_fs(backend)
    entry = _entry(backend, filesystem)
    snap = _own_snaps(backend, entry).get(name) if entry is not None else None
    return None if snap is None else _snap_record(backend, filesystem, name, snap, entry)


def _existing_snap(backend, entry: dict, fs_name: str, name: str) -> dict:
    snap = _own_snaps(backend, entry).get(name)
    if snap is None:
        raise OperationPreReqNotMetEx("snapshot '%s' of file system '%s' does not exist" % (name, fs_name), "snapshot")
    return snap


def _mksnap(backend, fs_name: str, entry: dict, name: str) -> None:
    metadata = {S_SERVER: backend._uuid, S_FS: entry["meta"]["uuid"], S_UUID: str(uuidlib.uuid4()),  # pylint: disable=protected-access
                S_CREATED: "%.6f" % time.time()}
    backend._call("cannot create snapshot '%s' of file system '%s'" % (name, fs_name), "fs_mksnap",  # pylint: disable=protected-access
                  path=_dir(backend, fs_name), name=name, metadata=metadata)


def create_fs_snapshot(backend, filesystem, name):
    _need_fs(backend)
    with backend._write():  # pylint: disable=protected-access
        entry = _existing(backend, filesystem)
        if name in _own_snaps(backend, entry):
            raise InvalidValueEx("snapshot '%s' of file system '%s' already exists" % (name, filesystem), "name")
        if name in [snap["name"] for snap in entry.get("snaps") or []]:
            raise InvalidValueEx("file system '%s' has a CephFS snapshot '%s' that this server did not make; it is left "
                                 "alone, choose another name" % (filesystem, name), "name")
        _mksnap(backend, filesystem, entry, name)
    return get_fs_snapshot(backend, filesystem, name)


def delete_fs_snapshot(backend, filesystem, name):
    _need_fs(backend)
    with backend._write():  # pylint: disable=protected-access
        entries = _entries(backend)
        entry = entries.get(filesystem)
        if entry is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % filesystem, "filesystem")
        _existing_snap(backend, entry, filesystem, name)
        clones = _clones_of(backend, filesystem, entries, snapshot=name)
        if clones:
            raise FileSystemBusyEx("snapshot '%s' of file system '%s' has clones that depend on it (%s): split or delete "
                                   "them first" % (name, filesystem, ", ".join(clones)))
        backend._call("cannot delete snapshot '%s' of file system '%s'" % (name, filesystem), "fs_rmsnap",  # pylint: disable=protected-access
                      path=_dir(backend, filesystem), name=name)


def fs_snapshot_is_current(backend, filesystem, name):
    _need_fs(backend)
    entry = _existing(backend, filesystem)
    _existing_snap(backend, entry, filesystem, name)
    if backend._running_job("fs:" + filesystem) is not None:  # pylint: disable=protected-access
        return False
    path = _dir(backend, filesystem)
    call = backend._call  # pylint: disable=protected-access
    return (call("cannot read file system '%s'" % filesystem, "fs_tree_fingerprint", path=path)
            == call("cannot read snapshot '%s'" % name, "fs_tree_fingerprint", path="%s/.snap/%s" % (path, name)))


def restore_fs_snapshot(backend, filesystem, name):
    _need_fs(backend)
    with backend._write():  # pylint: disable=protected-access
        entry = _existing(backend, filesystem)
        _existing_snap(backend, entry, filesystem, name)
        what = "file system '%s'" % filesystem
        backend._check_not_busy("fs:" + filesystem, what)  # pylint: disable=protected-access
        path = _dir(backend, filesystem)
        users = _users(path, _sessions(backend))
        if users:
            raise SnapRestoreNotSafeEx("restoring snapshot '%s' would change the files under the clients that have %s "
                                       "mounted (%s); unmount it first" % (name, what, _describe_users(users)))
        return backend._start_job(  # pylint: disable=protected-access
            "restore file system %s to snapshot %s" % (filesystem, name), "fs_copy", "fs:" + filesystem,
            {"source": "%s/.snap/%s" % (path, name), "dest": path, "empty_first": True})


# --- clones -------------------------------------------------------------------------------------------

def create_fs_clone(backend, name, filesystem, snapshot=None):
    _need_fs(backend)
    call = backend._call  # pylint: disable=protected-access
    with backend._write():  # pylint: disable=protected-access
        _name_free(backend, name)
        parent = _existing(backend, filesystem)
        parent_path = _dir(backend, filesystem)
        size = int(parent.get("quota") or 0)
        uuid = str(uuidlib.uuid4())
        if snapshot is not None:
            _existing_snap(backend, parent, filesystem, snapshot)
            base = snapshot
        else:
            # a consistent point in time: copy from a snapshot the job removes afterwards
            base = CLONE_BASE + uuid.replace("-", "")
            call("cannot clone file system '%s'" % filesystem, "fs_mksnap", path=parent_path, name=base,
                 metadata={S_SERVER: backend._uuid, S_FS: parent["meta"]["uuid"]})  # pylint: disable=protected-access
        _check_space(backend, "clone '%s'" % name, int(parent.get("rbytes") or 0))
        temp = "%s/%s%s" % (backend.fs_root, TMP_PREFIX, uuid.replace("-", ""))
        meta = _meta(backend, uuid, origin={"parent": filesystem, "parent_uuid": parent["meta"]["uuid"],
                                            "parent_snapshot": snapshot})
        what = "cannot clone file system '%s' as '%s'" % (filesystem, name)
        call(what, "fs_mkdir", path=temp, mode=0o755)
        call(what, "fs_set_quota", path=temp, size=size)
        op = "clone file system %s%s as %s" % (filesystem, "@" + snapshot if snapshot else "", name)
        return backend._start_job(op, "fs_copy", "fs:" + name, {  # pylint: disable=protected-access
            "source": "%s/.snap/%s" % (parent_path, base), "dest": temp, "rename_to": _dir(backend, name),
            "meta_after": {temp: meta}, "remove_snapshot": [parent_path, base] if snapshot is None else None})


def fs_clone_origin(backend, name):
    """Where file system ``name`` was cloned from: its lineage while it is a clone, the one
    recorded at the split after one; None for a file system not made as a clone."""
    if backend.fs_name is None:
        return None
    _need_fs(backend)
    entries = _entries(backend)
    entry = entries.get(name)
    if entry is None:
        return None
    parent, parent_snapshot = _lineage(backend, entry, entries)
    if parent is not None:
        return {"parent": parent, "parent_snapshot": parent_snapshot,
                "parent_uuid": (entry["meta"].get("origin") or {}).get("parent_uuid")}
    split = entry["meta"].get("split") or {}
    if not split.get("parent"):
        return None
    return {"parent": split["parent"], "parent_snapshot": split.get("parent_snapshot"),
            "parent_uuid": split.get("parent_uuid")}


def split_fs_clone(backend, name):
    _need_fs(backend)
    with backend._write():  # pylint: disable=protected-access
        entries = _entries(backend)
        entry = entries.get(name)
        if entry is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "filesystem")
        parent, parent_snapshot = _lineage(backend, entry, entries)
        if parent is None:
            raise InvalidValueEx("file system '%s' is not a clone (it has no parent)" % name, "name")
        meta = dict(entry["meta"])
        origin = meta.pop("origin", None) or {}
        meta["split"] = {"parent": parent, "parent_snapshot": parent_snapshot, "at": time.time(),
                         "parent_uuid": origin.get("parent_uuid")}
        # the copy shares nothing with its parent: splitting is forgetting the lineage
        backend._call("cannot split clone '%s'" % name, "fs_set_meta", path=_dir(backend, name), meta=meta)  # pylint: disable=protected-access
    return get_filesystem(backend, name)
