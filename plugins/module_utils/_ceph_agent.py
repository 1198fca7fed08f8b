# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ceph agent of the ceph backend: Ceph's own Python bindings behind a small protocol.
Private to this collection.

The ``rados``, ``rbd`` and ``cephfs`` bindings (Debian ``python3-rados``, ``python3-rbd``,
``python3-cephfs``) are built for the distribution's Python and import nowhere else: not in
a virtual environment, not in another interpreter an inventory may name as
``ansible_python_interpreter``. So this file depends on nothing but the standard library
and the bindings, and the backend runs it in one of two ways:

* **in process**, when the module's own Python imports the bindings (the usual case on a
  managed node, where Ansible runs ``/usr/bin/python3``);
* **as a co-process**, ``/usr/bin/python3 -c <this file> serve``, when it does not (a
  venv): one process per module run, one cluster connection, requests and answers as JSON
  lines on its stdin and stdout.

``python3 -c <this file> job CONF ID POOL JOB`` runs one long operation (flatten,
rollback, a file system copy) detached from the module, reporting its progress in the
jobs object of the pool, so that ``wait: false`` returns at once and the operation goes on.

A request is ``{"op": NAME, "args": {...}}``; the answer ``{"result": ...}`` or
``{"error": {"type": CLASS, "errno": N, "msg": TEXT}}``, where ``type`` is the name of the
binding's exception (``ImageNotFound``, ``ObjectBusy``, ...). Nothing here knows Ansible or
the collection's records: the backend turns answers into records and errors into its
exception classes.
"""

from __future__ import annotations

import calendar
import errno as errno_codes
import json
import os
import re
import select
import socket
import stat as stat_mode
import subprocess
import sys
import time

PROTOCOL = 1
#: RADOS namespace of the backend's own objects in the pool (images stay in the default one)
NAMESPACE = "stormgmt"
STATE_OBJECT = "stormgmt.server"
JOBS_OBJECT = "stormgmt.jobs"
LOCK_NAME = "stormgmt"
#: image metadata keys of the backend start with this
META_PREFIX = "stormgmt."
#: the extended attribute that marks a directory as a file system of the backend (NFS
#: clients and unprivileged ceph-fuse users cannot set ``trusted.*``)
FS_XATTR = "trusted.stormgmt"
#: a worker reports at least this often
HEARTBEAT_EVERY = 2.0
#: RBD's snapshot namespace of the member snapshots of a group snapshot (RBD_SNAP_NAMESPACE_TYPE_GROUP)
SNAP_NAMESPACE_GROUP = 1


class AgentError(Exception):
    def __init__(self, kind: str, msg: str, code: int = 0) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg
        self.code = code


def _error_of(exc: BaseException) -> dict:
    if isinstance(exc, AgentError):
        return {"type": exc.kind, "errno": exc.code, "msg": exc.msg}
    code = getattr(exc, "errno", None)
    if not isinstance(code, int):
        code = 0
    return {"type": type(exc).__name__, "errno": abs(code), "msg": str(exc)}


def _keyring_key(path: str, name: str) -> str | None:
    """The ``key`` of section ``[name]`` of a Ceph keyring file, else None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    section = None
    for line in lines:
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == name and "=" in line:
            key, _sep, value = line.partition("=")
            if key.strip() == "key":
                return value.strip().strip('"') or None
    return None


class Agent:
    """One cluster connection and the operations of the backend on one pool."""

    def __init__(self) -> None:
        self.cluster = None
        self.ioctx = None      # the pool, default namespace (images)
        self.meta = None       # the pool, the backend's namespace (state, jobs)
        self.fs = None         # libcephfs mount, on first use
        self.conf = self.client_id = self.pool = None
        self.fs_name = None

    # --- connection ------------------------------------------------------------
    def op_connect(self, conf: str, client_id: str, pool: str, fs: str | None = None) -> dict:
        import rados  # pylint: disable=import-error
        self.conf, self.client_id, self.pool, self.fs_name = conf, client_id, pool, fs
        cluster = rados.Rados(conffile=conf, rados_id=client_id)
        # a dead cluster answers nothing: give up in seconds, not in the default five minutes
        for key, value in (("client_mount_timeout", "15"), ("rados_mon_op_timeout", "30"),
                           ("rados_osd_op_timeout", "120")):
            cluster.conf_set(key, value)
        cluster.connect(timeout=15)
        self.cluster = cluster
        if not cluster.pool_exists(pool):
            return {"pool": False, "fsid": cluster.get_fsid(), "version": str(cluster.version())}
        self.ioctx = cluster.open_ioctx(pool)
        self.meta = cluster.open_ioctx(pool)
        self.meta.set_namespace(NAMESPACE)
        return {"pool": True, "fsid": cluster.get_fsid(), "applications": self.ioctx.application_list(),
                "version": str(cluster.version()), "pid": os.getpid()}

    def close(self) -> None:
        if self.fs is not None:
            try:
                self.fs.shutdown()
            except Exception:  # pylint: disable=broad-except
                pass
            self.fs = None
        for ioctx in (self.ioctx, self.meta):
            if ioctx is not None:
                ioctx.close()
        self.ioctx = self.meta = None
        if self.cluster is not None:
            self.cluster.shutdown()
            self.cluster = None

    def op_ping(self) -> dict:
        return {"protocol": PROTOCOL, "pid": os.getpid()}

    # --- cluster ---------------------------------------------------------------
    def op_mon(self, command: dict) -> dict:
        """A monitor (or, through it, manager) command; ``command`` is its JSON form."""
        ret, out, err = self.cluster.mon_command(json.dumps(command), b"")
        text = out.decode("utf-8", "replace")
        return {"ret": ret, "out": text, "err": err}

    def op_pool_stats(self) -> dict:
        ret, out, err = self.cluster.mon_command(json.dumps({"prefix": "df", "format": "json"}), b"")
        if ret != 0:
            raise AgentError("MonCommandFailed", "ceph df failed: %s" % err, -ret)
        data = json.loads(out)
        for pool in data.get("pools", []):
            if pool.get("name") == self.pool:
                return {"cluster": data.get("stats", {}), "pool": pool.get("stats", {})}
        return {"cluster": data.get("stats", {}), "pool": None}

    # --- the backend's objects: state, lock, jobs --------------------------------
    def op_read(self, obj: str) -> dict:
        import rados  # pylint: disable=import-error
        try:
            size = self.meta.stat(obj)[0]
        except rados.ObjectNotFound:
            return {"data": None}
        data = self.meta.read(obj, max(size, 1)) if size else b""
        return {"data": data.decode("utf-8")}

    def op_write(self, obj: str, data: str) -> None:
        self.meta.write_full(obj, data.encode("utf-8"))

    def op_remove(self, obj: str) -> None:
        import rados  # pylint: disable=import-error
        try:
            self.meta.remove_object(obj)
        except rados.ObjectNotFound:
            pass

    def op_lock(self, obj: str, cookie: str, duration: int, wait: float) -> dict:
        """Take the exclusive lock of ``obj``, waiting up to ``wait`` seconds for another holder."""
        import rados  # pylint: disable=import-error
        deadline = time.monotonic() + wait
        delay = 0.02
        while True:
            try:
                self.meta.lock_exclusive(obj, LOCK_NAME, cookie, "stormgmt backend (pid %d on %s)"
                                         % (os.getpid(), socket.gethostname()), duration)
                return {"locked": True}
            except rados.ObjectExists:  # we hold it already (same cookie)
                return {"locked": True}
            except rados.ObjectBusy:
                if time.monotonic() >= deadline:
                    return {"locked": False}
                time.sleep(delay)
                delay = min(delay * 2, 0.25)

    def op_unlock(self, obj: str, cookie: str) -> None:
        import rados  # pylint: disable=import-error
        try:
            self.meta.unlock(obj, LOCK_NAME, cookie)
        except rados.ObjectNotFound:
            pass

    def op_omap_get(self, obj: str, keys=None) -> dict:
        import rados  # pylint: disable=import-error
        op = self.meta.create_read_op()
        try:
            if keys is None:
                items, _ret = self.meta.get_omap_vals(op, "", "", 100000)
            else:
                items, _ret = self.meta.get_omap_vals_by_keys(op, tuple(keys))
            try:
                self.meta.operate_read_op(op, obj)
            except rados.ObjectNotFound:
                return {}
            return dict((key, value.decode("utf-8")) for key, value in items)
        finally:
            self.meta.release_read_op(op)

    def op_omap_set(self, obj: str, values: dict) -> None:
        op = self.meta.create_write_op()
        try:
            keys = tuple(values)
            self.meta.set_omap(op, keys, tuple(values[key].encode("utf-8") for key in keys))
            self.meta.operate_write_op(op, obj)
        finally:
            self.meta.release_write_op(op)

    def op_omap_remove(self, obj: str, keys) -> None:
        import rados  # pylint: disable=import-error
        op = self.meta.create_write_op()
        try:
            self.meta.remove_omap_keys(op, tuple(keys))
            try:
                self.meta.operate_write_op(op, obj)
            except rados.ObjectNotFound:
                pass
        finally:
            self.meta.release_write_op(op)

    # --- RBD images ----------------------------------------------------------------
    def _image(self, name: str, snapshot: str | None = None, read_only: bool = False):
        import rbd  # pylint: disable=import-error
        return rbd.Image(self.ioctx, name, snapshot=snapshot, read_only=read_only)

    def op_images(self) -> list:
        import rbd  # pylint: disable=import-error
        return sorted(rbd.RBD().list(self.ioctx))

    def _info(self, image, name: str, children: bool) -> dict:
        import rbd  # pylint: disable=import-error
        info = image.stat()
        snaps = []
        for snap in image.list_snaps():
            entry = {"id": snap["id"], "name": snap["name"], "size": snap["size"],
                     "namespace": snap.get("namespace", 0)}
            try:  # stamped by the OSD that holds the image header (the cluster's clock)
                entry["timestamp"] = calendar.timegm(image.get_snap_timestamp(snap["id"]).timetuple())
            except Exception:  # pylint: disable=broad-except
                entry["timestamp"] = None
            if entry["namespace"] == 0:  # a user snapshot (not a group or trash one)
                entry["protected"] = image.is_protected_snap(snap["name"])
            elif entry["namespace"] == SNAP_NAMESPACE_GROUP:  # a member of an RBD group snapshot
                group = image.snap_get_group_namespace(snap["id"])
                entry["group"] = {"local": group.get("pool") == self.ioctx.get_pool_id(), "name": group.get("name"),
                                  "snap": group.get("snap_name")}
            snaps.append(entry)
        try:
            spec = image.get_parent_image_spec()
            parent = {"pool": spec["pool_name"], "namespace": spec.get("pool_namespace", ""),
                      "image": spec["image_name"], "snap": spec["snap_name"]}
        except rbd.ImageNotFound:
            parent = None
        result = {
            "name": name, "id": image.id(), "size": info["size"], "objects": info["num_objs"],
            "features": image.features(), "parent": parent, "snaps": snaps,
            "meta": dict((key, value) for key, value in image.metadata_list() if key.startswith(META_PREFIX)),
            "watchers": len(list(image.watchers_list())),
            "created": calendar.timegm(image.create_timestamp().timetuple()),
        }
        if children:
            result["children"] = [
                {"pool": child["pool"], "image": child["image"], "trash": child.get("trash", False)}
                for child in image.list_children2()]
        return result

    def op_image(self, name: str, children: bool = False) -> dict | None:
        import rbd  # pylint: disable=import-error
        try:
            with self._image(name, read_only=True) as image:
                return self._info(image, name, children)
        except rbd.ImageNotFound:
            return None

    def op_images_info(self, names=None, children: bool = False) -> dict:
        """{name: info} of ``names`` (default: every image of the pool); vanished ones left out."""
        out = {}
        for name in self.op_images() if names is None else names:
            info = self.op_image(name, children)
            if info is not None:
                out[name] = info
        return out

    def op_children(self, name: str) -> list:
        with self._image(name, read_only=True) as image:
            return [{"pool": child["pool"], "image": child["image"], "trash": child.get("trash", False)}
                    for child in image.list_children2()]

    def op_create(self, name: str, size: int, meta: dict) -> None:
        import rbd  # pylint: disable=import-error
        rbd.RBD().create(self.ioctx, name, size)
        self.op_meta_set(name, meta)

    def op_resize(self, name: str, size: int) -> None:
        with self._image(name) as image:
            image.resize(size)

    def op_meta_set(self, name: str, meta: dict) -> None:
        with self._image(name) as image:
            for key in sorted(meta):
                image.metadata_set(key, meta[key])

    def op_meta_remove(self, name: str, keys) -> None:
        import rbd  # pylint: disable=import-error
        with self._image(name) as image:
            for key in keys:
                try:
                    image.metadata_remove(key)
                except rbd.ImageNotFound:  # the key
                    pass

    def op_snap_create(self, name: str, snap: str) -> dict:
        with self._image(name) as image:
            image.create_snap(snap)
            for entry in image.list_snaps():
                if entry["name"] == snap:
                    stamp = calendar.timegm(image.get_snap_timestamp(entry["id"]).timetuple())
                    return {"id": entry["id"], "size": entry["size"], "timestamp": stamp}
        raise AgentError("ImageNotFound", "snapshot %s@%s vanished after it was made" % (name, snap), errno_codes.ENOENT)

    def op_snap_remove(self, name: str, snap: str) -> None:
        """Remove a snapshot (unprotecting it first); a missing one is no error."""
        with self._image(name) as image:
            names = [entry["name"] for entry in image.list_snaps()]
            if snap not in names:
                return
            if image.is_protected_snap(snap):
                image.unprotect_snap(snap)
            image.remove_snap(snap)

    def op_snap_children(self, name: str, snap: str) -> list:
        """Images cloned from snapshot ``snap`` of image ``name``."""
        with self._image(name, read_only=True) as image:
            image.set_snap(snap)
            return [child["image"] if child["pool"] == self.pool else "%s/%s" % (child["pool"], child["image"])
                    for child in image.list_children2()]

    def op_snap_protect(self, name: str, snap: str) -> None:
        with self._image(name) as image:
            if not image.is_protected_snap(snap):
                image.protect_snap(snap)

    def op_snap_unprotect(self, name: str, snap: str) -> None:
        with self._image(name) as image:
            if image.is_protected_snap(snap):
                image.unprotect_snap(snap)

    def op_clone(self, parent: str, snap: str, name: str, meta: dict) -> None:
        import rbd  # pylint: disable=import-error
        rbd.RBD().clone(self.ioctx, parent, snap, self.ioctx, name)
        self.op_meta_set(name, meta)

    # --- RBD groups (consistency groups) ----------------------------------------------
    def op_groups(self) -> list:
        import rbd  # pylint: disable=import-error
        return sorted(rbd.RBD().group_list(self.ioctx))

    def _group(self, name: str):
        import rbd  # pylint: disable=import-error
        return rbd.Group(self.ioctx, name)

    def op_group(self, name: str) -> dict | None:
        """{images: [names in this pool], foreign_images: [pool/name elsewhere], snaps: [names]}, None if missing."""
        import rbd  # pylint: disable=import-error
        if name not in rbd.RBD().group_list(self.ioctx):
            return None
        group = self._group(name)
        pool_id = self.ioctx.get_pool_id()
        images, elsewhere = [], []
        for image in group.list_images():
            if image.get("pool") == pool_id:
                images.append(image["name"])
            else:
                elsewhere.append("%s/%s" % (image.get("pool"), image["name"]))
        return {"images": sorted(images), "elsewhere": sorted(elsewhere),
                "snaps": sorted(snap["name"] for snap in group.list_snaps())}

    def op_group_create(self, name: str) -> None:
        import rbd  # pylint: disable=import-error
        rbd.RBD().group_create(self.ioctx, name)

    def op_group_remove(self, name: str) -> None:
        import rbd  # pylint: disable=import-error
        rbd.RBD().group_remove(self.ioctx, name)

    def op_group_add(self, name: str, image: str) -> None:
        self._group(name).add_image(self.ioctx, image)

    def op_group_remove_image(self, name: str, image: str) -> None:
        self._group(name).remove_image(self.ioctx, image)

    def op_group_snap_create(self, name: str, snap: str) -> dict:
        """Take RBD group snapshot ``name@snap`` (librbd holds the writes to every member while it
        snapshots them: crash consistent); return {image: {id, size, timestamp}} of its members."""
        group = self._group(name)
        group.create_snap(snap)
        out = {}
        for image_name in self.op_group(name)["images"]:
            with self._image(image_name, read_only=True) as image:
                for entry in self._info(image, image_name, False)["snaps"]:
                    if (entry.get("group") or {}).get("name") == name and entry["group"]["snap"] == snap:
                        out[image_name] = {"id": entry["id"], "size": entry["size"], "timestamp": entry["timestamp"]}
        return out

    def op_group_snap_remove(self, name: str, snap: str) -> None:
        self._group(name).remove_snap(snap)

    def op_changed_since(self, name: str, snap: str) -> bool:
        """True when the image differs from its snapshot (size, or any object written since)."""
        with self._image(name, read_only=True) as image:
            sizes = dict((entry["name"], entry["size"]) for entry in image.list_snaps())
            if snap not in sizes:
                raise AgentError("ImageNotFound", "snapshot %s@%s does not exist" % (name, snap), errno_codes.ENOENT)
            if sizes[snap] != image.size():
                return True
            found = []

            def note(_offset, _length, _exists):
                found.append(1)
                return 0
            image.diff_iterate(0, image.size(), snap, note, whole_object=True)
            return bool(found)

    def op_trash_move(self, name: str) -> str:
        """Move the image to the trash (instant); returns its id for :meth:`op_trash_remove`."""
        import rbd  # pylint: disable=import-error
        with self._image(name, read_only=True) as image:
            image_id = image.id()
        rbd.RBD().trash_move(self.ioctx, name, 0)
        return image_id

    def op_trash_remove(self, image_id: str) -> None:
        import rbd  # pylint: disable=import-error
        try:
            rbd.RBD().trash_remove(self.ioctx, image_id, True)
        except rbd.ImageNotFound:
            pass

    def op_read_data(self, name: str, offset: int, length: int, snap: str | None = None) -> str:
        """Bytes of an image (or of one of its snapshots), hex: for tests and checks."""
        with self._image(name, snapshot=snap, read_only=True) as image:
            return image.read(offset, length).hex()

    def op_client_key(self) -> dict:
        """The cephx key of this connection's client, from its keyring (or the ``key``/``keyfile``
        of the configuration): what an NFS gateway needs to reach CephFS as the same client.
        ``{"key": None, "where": [...]}`` when none is found; never in an error message."""
        name = "client." + self.client_id
        where = []
        key = (self.cluster.conf_get("key") or "").strip()
        if not key and self.cluster.conf_get("keyfile"):
            path = self.cluster.conf_get("keyfile")
            where.append(path)
            try:
                with open(path, encoding="ascii") as handle:
                    key = handle.read().strip()
            except (OSError, UnicodeError):
                key = ""
        for path in [] if key else re.split(r"[,;\s]+", self.cluster.conf_get("keyring") or ""):
            if not path:
                continue
            where.append(path)
            key = _keyring_key(path, name)
            if key:
                break
        return {"key": key or None, "where": where}

    # --- CephFS ---------------------------------------------------------------------
    def _cephfs(self):
        if self.fs is None:
            import cephfs  # pylint: disable=import-error
            fs = cephfs.LibCephFS(rados_inst=self.cluster)
            fs.mount(filesystem_name=self.fs_name)
            self.fs = fs
        return self.fs

    def op_fs_stat(self, path: str) -> dict | None:
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        try:
            st = fs.stat(path)
        except cephfs.ObjectNotFound:
            return None
        out = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size,
               "dir": stat_mode.S_ISDIR(st.st_mode)}
        if out["dir"]:
            out.update(self._dir_xattrs(path))
        return out

    def _dir_xattrs(self, path: str) -> dict:
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        out = {}
        for key, name in (("rbytes", "ceph.dir.rbytes"), ("quota", "ceph.quota.max_bytes"),
                          ("rentries", "ceph.dir.rentries")):
            try:
                value = fs.getxattr(path, name)
                out[key] = int(value.decode("ascii").strip() or 0) if value else 0
            except (cephfs.NoData, cephfs.ObjectNotFound, cephfs.OperationNotSupported, ValueError):
                out[key] = 0
        try:
            # the default buffer (255 bytes) is too small for a clone's lineage (ERANGE)
            raw = fs.getxattr(path, FS_XATTR, 65536)
            meta = json.loads(raw.decode("utf-8")) if raw else None
        except (cephfs.NoData, cephfs.ObjectNotFound, ValueError):
            meta = None
        out["meta"] = meta if isinstance(meta, dict) else None
        return out

    def op_fs_dirs(self, root: str, names=None) -> dict:
        """{name: {ino, mode, rbytes, quota, rentries, meta, snaps}} of the directories of ``root``
        (all, or ``names``); with ``snaps``: [{name, id, metadata}] from their .snap."""
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        out = {}
        for name in self.op_fs_listdir(root) if names is None else names:
            path = root.rstrip("/") + "/" + name
            try:
                st = fs.statx(path, cephfs.CEPH_STATX_INO | cephfs.CEPH_STATX_MODE, cephfs.AT_SYMLINK_NOFOLLOW)
            except cephfs.ObjectNotFound:
                continue
            if not stat_mode.S_ISDIR(st["mode"]):
                continue
            entry = {"ino": st["ino"], "mode": st["mode"]}
            entry.update(self._dir_xattrs(path))
            entry["snaps"] = self.op_fs_snaps(path) if entry["meta"] else []
            out[name] = entry
        return out

    def op_fs_snaps(self, path: str) -> list:
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        snaps = []
        for name in self.op_fs_listdir(path.rstrip("/") + "/.snap"):
            if re.match(r"^_.+_[0-9]+$", name):
                continue  # a snapshot of a parent directory, seen from below
            try:
                info = fs.snap_info(path.rstrip("/") + "/.snap/" + name)
            except cephfs.Error:
                continue
            snaps.append({"name": name, "id": info.get("id"), "metadata": info.get("metadata") or {}})
        return snaps

    def op_fs_mksnap(self, path: str, name: str, metadata: dict) -> dict:
        fs = self._cephfs()
        fs.mksnap(path, name, 0o755, metadata=metadata)
        return fs.snap_info(path.rstrip("/") + "/.snap/" + name)

    def op_fs_rmsnap(self, path: str, name: str) -> None:
        import cephfs  # pylint: disable=import-error
        try:
            self._cephfs().rmsnap(path, name)
        except cephfs.ObjectNotFound:
            pass

    def op_fs_sessions(self) -> list:
        """The client sessions of the file system's active MDS: {id, root, host, entity}."""
        fs = self._cephfs()
        ret, out, err = fs.mds_command("0" if not self.fs_name else "%s:0" % self.fs_name,
                                       json.dumps({"prefix": "session ls", "format": "json"}), b"")
        if ret != 0:
            raise AgentError("MdsCommandFailed", "session ls failed: %s" % err, -ret)
        sessions = []
        my_id = fs.get_instance_id()
        for session in json.loads(out or "[]"):
            meta = session.get("client_metadata") or {}
            if session.get("id") == my_id:
                continue
            sessions.append({"id": session.get("id"), "root": meta.get("root", "/"),
                             "host": meta.get("hostname"), "entity": meta.get("entity_id"), "pid": meta.get("pid")})
        return sessions

    def op_fs_listdir(self, path: str) -> list:
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        names = []
        try:
            handle = fs.opendir(path)
        except cephfs.ObjectNotFound:
            return []
        try:
            entry = fs.readdir(handle)
            while entry is not None:
                name = entry.d_name.decode("utf-8", "surrogateescape")
                if name not in (".", ".."):
                    names.append(name)
                entry = fs.readdir(handle)
        finally:
            fs.closedir(handle)
        return sorted(names)

    def op_fs_mkdirs(self, path: str, mode: int = 0o755) -> None:
        import cephfs  # pylint: disable=import-error
        try:
            self._cephfs().mkdirs(path, mode)
        except cephfs.ObjectExists:
            pass

    def op_fs_mkdir(self, path: str, mode: int = 0o755) -> None:
        self._cephfs().mkdir(path, mode)

    def op_fs_rmdir(self, path: str) -> None:
        import cephfs  # pylint: disable=import-error
        try:
            self._cephfs().rmdir(path)
        except cephfs.ObjectNotFound:
            pass

    def op_fs_rename(self, src: str, dst: str) -> None:
        self._cephfs().rename(src, dst)

    def op_fs_chmod(self, path: str, mode: int) -> None:
        self._cephfs().chmod(path, mode)

    def op_fs_setxattr(self, path: str, name: str, value: str) -> None:
        fs = self._cephfs()
        fs.setxattr(path, name, value.encode("utf-8"), 0)

    def op_fs_set_meta(self, path: str, meta: dict) -> None:
        self.op_fs_setxattr(path, FS_XATTR, json.dumps(meta, sort_keys=True))

    def op_fs_set_quota(self, path: str, size: int) -> None:
        self.op_fs_setxattr(path, "ceph.quota.max_bytes", str(int(size)))

    def op_fs_remove_tree(self, path: str) -> None:
        """Remove a directory tree of CephFS, never crossing into a snapshot directory."""
        import cephfs  # pylint: disable=import-error
        fs = self._cephfs()
        try:
            st = fs.lstat(path)
        except cephfs.ObjectNotFound:
            return
        if not stat_mode.S_ISDIR(st.st_mode):
            fs.unlink(path)
            return
        for name in self.op_fs_listdir(path):
            self.op_fs_remove_tree(path.rstrip("/") + "/" + name)
        fs.rmdir(path)

    def op_fs_write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        fs = self._cephfs()
        fd = fs.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            fs.write(fd, data.encode("utf-8"), 0)
        finally:
            fs.close(fd)

    def op_fs_read_file(self, path: str, length: int = 1 << 20) -> str:
        fs = self._cephfs()
        fd = fs.open(path, os.O_RDONLY, 0)
        try:
            return fs.read(fd, 0, length).decode("utf-8", "replace")
        finally:
            fs.close(fd)

    def op_fs_tree_fingerprint(self, path: str) -> str:
        """Names, types, sizes and modification times of a tree: equal for a tree and an
        unchanged copy, different once a file changes."""
        import hashlib
        fs = self._cephfs()
        digest = hashlib.sha256()
        stack = [""]
        while stack:
            rel = stack.pop()
            full = path.rstrip("/") + ("/" + rel if rel else "")
            for name in self.op_fs_listdir(full):
                child = (rel + "/" + name) if rel else name
                st = fs.lstat(path.rstrip("/") + "/" + child)
                parts = [child, "%o" % st.st_mode, str(st.st_uid), str(st.st_gid)]
                if stat_mode.S_ISDIR(st.st_mode):
                    stack.append(child)
                else:
                    # CephFS gives whole seconds: a same-size rewrite within the second of the snapshot is not seen
                    parts += [str(st.st_size), str(calendar.timegm(st.st_mtime.timetuple()))]
                    if stat_mode.S_ISLNK(st.st_mode):
                        parts.append(fs.readlink(path.rstrip("/") + "/" + child, 4096).decode("utf-8", "replace"))
                digest.update(("\0".join(parts) + "\n").encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def copy_tree(self, source: str, dest: str, progress=None) -> None:
        """Copy a CephFS tree (files, directories, symlinks, modes, owners) into ``dest``,
        which exists; ``progress(done_bytes, total_bytes)`` after each file."""
        fs = self._cephfs()
        total = max(self._dir_xattrs(source).get("rbytes", 0), 1)
        done = [0]

        def walk(src: str, dst: str) -> None:
            for name in self.op_fs_listdir(src):
                s_path, d_path = src.rstrip("/") + "/" + name, dst.rstrip("/") + "/" + name
                st = fs.lstat(s_path)
                times = (calendar.timegm(st.st_atime.timetuple()), calendar.timegm(st.st_mtime.timetuple()))
                if stat_mode.S_ISDIR(st.st_mode):
                    fs.mkdir(d_path, stat_mode.S_IMODE(st.st_mode))
                    walk(s_path, d_path)
                elif stat_mode.S_ISLNK(st.st_mode):
                    fs.symlink(fs.readlink(s_path, 4096), d_path)
                elif stat_mode.S_ISREG(st.st_mode):
                    self._copy_file(s_path, d_path, stat_mode.S_IMODE(st.st_mode))
                    done[0] += st.st_size
                    if progress is not None:
                        progress(done[0], total)
                else:
                    continue  # devices, fifos, sockets: not copied
                try:
                    fs.lchown(d_path, st.st_uid, st.st_gid)
                    fs.lutimes(d_path, times)  # a restored file keeps its time: restore again sees no change
                except Exception:  # pylint: disable=broad-except
                    pass
        walk(source, dest)

    def _copy_file(self, source: str, dest: str, mode: int) -> None:
        fs = self._cephfs()
        src = fs.open(source, os.O_RDONLY, 0)
        try:
            dst = fs.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                offset = 0
                while True:
                    chunk = fs.read(src, offset, 4 << 20)
                    if not chunk:
                        break
                    fs.write(dst, chunk, offset)
                    offset += len(chunk)
            finally:
                fs.close(dst)
        finally:
            fs.close(src)

    # --- jobs ------------------------------------------------------------------------
    def op_jobs(self) -> dict:
        return dict((key, json.loads(value)) for key, value in self.op_omap_get(JOBS_OBJECT).items())

    def op_job(self, job_id: str) -> dict | None:
        value = self.op_omap_get(JOBS_OBJECT, [job_id]).get(job_id)
        return json.loads(value) if value is not None else None

    def _job_update(self, job_id: str, job: dict, **changes) -> None:
        job.update(changes)
        job["heartbeat"] = time.time()
        self.op_omap_set(JOBS_OBJECT, {job_id: json.dumps(job, sort_keys=True)})

    def run_job(self, job_id: str) -> int:
        """Carry out job ``job_id`` of the jobs object; its record says what to do."""
        job = self.op_job(job_id)
        if job is None or job.get("status") != "RUNNING":
            return 1
        reporter = _Progress(self, job_id, job)
        self._job_update(job_id, job, pid=os.getpid(), host=socket.gethostname())
        try:
            kind = job["kind"]
            args = job.get("args") or {}
            if kind == "flatten":
                self._job_flatten(args, reporter)
            elif kind == "rollback":
                self._job_rollback(args, reporter)
            elif kind == "group_rollback":
                self._job_group_rollback(args, reporter)
            elif kind == "copy_snapshot":
                self._job_copy_snapshot(args, reporter)
            elif kind == "fs_copy":
                self._job_fs_copy(args, reporter)
            else:
                raise AgentError("InvalidArgument", "unknown job kind %r" % kind, errno_codes.EINVAL)
        except Exception as exc:  # pylint: disable=broad-except
            self._job_update(job_id, job, status="ERROR", progress=reporter.last, error=_error_of(exc),
                             finished=time.time())
            return 1
        self._job_update(job_id, job, status="COMPLETE", progress=100, finished=time.time())
        return 0

    def _job_flatten(self, args: dict, reporter) -> None:
        with self._image(args["image"]) as image:
            image.flatten(on_progress=reporter.callback)
        # the lineage a user can still prove after the split, then the parent's snapshot
        # that only this clone needed
        self.op_meta_set(args["image"], args.get("meta_after") or {})
        self.op_meta_remove(args["image"], args.get("meta_remove") or [])
        internal = args.get("release_snapshot")
        if internal:
            self._release_snapshot(*internal)

    def _release_snapshot(self, image_name: str, snap: str) -> None:
        """Unprotect ``snap`` once no clone depends on it; remove it when it is internal."""
        import rbd  # pylint: disable=import-error
        try:
            with self._image(image_name) as image:
                if snap not in [s["name"] for s in image.list_snaps()]:
                    return
                image.set_snap(snap)
                children = list(image.list_children2())
                image.set_snap(None)
                if children:
                    return
                if image.is_protected_snap(snap):
                    image.unprotect_snap(snap)
                if snap.startswith(".stormgmt-"):
                    image.remove_snap(snap)
        except rbd.ImageNotFound:
            pass

    def op_release_snapshot(self, image: str, snap: str) -> None:
        self._release_snapshot(image, snap)

    def _job_rollback(self, args: dict, reporter) -> None:
        """``rbd snap rollback`` (the binding reports no progress; the tool does, on stderr)."""
        self._rbd_with_progress(["snap", "rollback", "--", "%s@%s" % (args["image"], args["snap"])], reporter)
        # mark the state right after the rollback, so that a restore again is seen as done
        self._mark_restored(args["image"], args)

    def _job_group_rollback(self, args: dict, reporter) -> None:
        """``rbd group snap rollback``: every member image back to its snapshot of the group snapshot."""
        self._rbd_with_progress(["group", "snap", "rollback", "--", "%s@%s" % (args["group"], args["snap"])], reporter)
        for image, after in sorted((args.get("images") or {}).items()):
            self._mark_restored(image, after)

    def _job_copy_snapshot(self, args: dict, reporter) -> None:
        """A full copy of one snapshot (by id: a group snapshot's member, which RBD cannot clone) into a new
        image: made under an internal name, marked, then renamed into place, so that a copy is never half seen."""
        import rbd  # pylint: disable=import-error
        import threading
        failed = []

        def copy() -> None:
            try:
                with self._image(args["image"], read_only=True) as image:
                    image.set_snap_by_id(args["snap_id"])
                    image.copy(self.ioctx, args["tmp"])
            except Exception as exc:  # pylint: disable=broad-except
                failed.append(exc)
        worker = threading.Thread(target=copy, daemon=True)
        worker.start()
        while worker.is_alive():  # the binding reports no progress: the job stays alive, at 0 %
            worker.join(HEARTBEAT_EVERY)
            reporter.beat()
        try:
            if failed:
                raise failed[0]
            self.op_meta_set(args["tmp"], args["meta"])
            rbd.RBD().rename(self.ioctx, args["tmp"], args["name"])
        except Exception:
            try:
                rbd.RBD().remove(self.ioctx, args["tmp"])
            except Exception:  # pylint: disable=broad-except
                pass
            raise

    def _mark_restored(self, image: str, args: dict) -> None:
        mark = args.get("mark")
        if mark:
            for old in args.get("old_marks") or []:
                self.op_snap_remove(image, old)
            self.op_snap_create(image, mark)
        self.op_meta_set(image, args.get("meta_after") or {})

    def _rbd_with_progress(self, command: list, reporter) -> None:
        argv = ["rbd", "--conf", self.conf, "--id", self.client_id, "--pool", self.pool] + command
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,  # noqa: S603
                                stderr=subprocess.PIPE, close_fds=True)
        buffered = b""
        tail = b""
        while True:
            ready, _w, _x = select.select([proc.stderr], [], [], HEARTBEAT_EVERY)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                buffered += chunk
                tail = (tail + chunk)[-2000:]
                *done, buffered = buffered.replace(b"\r", b"\n").split(b"\n")
                for line in done:
                    words = line.decode("utf-8", "replace").split()
                    for word in words:
                        if word.endswith("%") and word[:-1].isdigit():
                            reporter.set(int(word[:-1]))
            reporter.beat()
        rc = proc.wait()
        if rc != 0:
            lines = [line for line in tail.decode("utf-8", "replace").replace("\r", "\n").split("\n")
                     if line.strip() and "complete" not in line]
            raise AgentError("RollbackFailed", "rbd %s failed (exit %d): %s"
                             % (" ".join(word for word in command[:3] if word != "--"), rc, lines[-1] if lines else "no message"), rc)

    def _job_fs_copy(self, args: dict, reporter) -> None:
        """Copy a tree (a file system or one of its snapshots) into ``dest``: a clone (made
        under a temporary name, renamed into place when whole) or a restore (emptied first)."""
        if args.get("empty_first"):
            for name in self.op_fs_listdir(args["dest"]):
                self.op_fs_remove_tree(args["dest"].rstrip("/") + "/" + name)
        self.copy_tree(args["source"], args["dest"], progress=lambda done, total: reporter.set(100 * done // total))
        for path, meta in (args.get("meta_after") or {}).items():
            self.op_fs_set_meta(path, meta)
        if args.get("rename_to"):
            self._cephfs().rename(args["dest"], args["rename_to"])
        if args.get("remove_snapshot"):
            self.op_fs_rmsnap(*args["remove_snapshot"])


class _Progress:
    """Progress of a running job, written to its record at most every half second."""

    def __init__(self, agent: Agent, job_id: str, job: dict) -> None:
        self.agent = agent
        self.job_id = job_id
        self.job = job
        self.last = 0
        self.written = 0.0

    def set(self, percent: int) -> None:
        percent = max(self.last, min(int(percent), 99))
        changed = percent != self.last
        self.last = percent
        now = time.monotonic()
        if (changed and now - self.written >= 0.5) or now - self.written >= HEARTBEAT_EVERY:
            self.written = now
            self.agent._job_update(self.job_id, self.job, progress=self.last)  # pylint: disable=protected-access

    def beat(self) -> None:
        self.set(self.last)

    def callback(self, done: int, total: int) -> int:
        self.set(100 * done // max(total, 1))
        return 0


def serve(stream_in=None, stream_out=None) -> int:
    """The co-process: answer JSON requests, one per line, until stdin closes."""
    stream_in = stream_in or sys.stdin
    stream_out = stream_out or sys.stdout
    agent = Agent()
    try:
        for line in stream_in:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
                method = getattr(agent, "op_" + str(request.get("op")), None)
                if method is None:
                    raise AgentError("InvalidArgument", "unknown operation %r" % request.get("op"), errno_codes.EINVAL)
                answer = json.dumps({"result": method(**(request.get("args") or {}))})
            except Exception as exc:  # pylint: disable=broad-except
                answer = json.dumps({"error": _error_of(exc)})
            stream_out.write(answer + "\n")
            stream_out.flush()
    finally:
        agent.close()
    return 0


def job_main(conf: str, client_id: str, pool: str, job_id: str, fs: str | None = None) -> int:
    agent = Agent()
    try:
        agent.op_connect(conf, client_id, pool, fs or None)
        return agent.run_job(job_id)
    finally:
        agent.close()


def main(argv) -> int:
    if len(argv) >= 2 and argv[1] == "serve":
        return serve()
    if len(argv) >= 6 and argv[1] == "job":
        return job_main(*argv[2:7])
    sys.stderr.write("usage: serve | job CONF ID POOL JOB_ID [FS]\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
