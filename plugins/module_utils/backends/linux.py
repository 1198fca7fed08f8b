# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Linux storage server, block and file, as targetd is. Private to this collection.

One backend, two halves, one pool directory (the path of the URI), one state and lock
(``<pool>/.stormgmt``), one set of access groups (iSCSI initiators and NFS clients):

* block: LUNs exported over iSCSI by tgtd (:mod:`backends.tgt`);
* file: btrfs subvolumes exported over NFS by nfs-ganesha (:mod:`backends._tgt_fs`, imported
  on first use, like the simulator's file half, so a LUN task does not compile it).

URIs::

    tgt:///srv/pool0?portal=HOST:PORT[&iqn_base=IQN][&control_port=N]   block (as before)
    tgt:///srv/pool0?portal=...&nfs_conf=/etc/ganesha/ganesha.conf       block and file
    linux:///srv/nas0[?nfs_conf=PATH][&nfs_host=HOST]                    file (no tgtd needed)
    linux:///srv/pool0?portal=...&nfs_conf=...                           block and file

``linux://`` serves blocks when a block parameter (``portal``, ``iqn_base``,
``control_port``) is given, and files always (``nfs_conf`` defaults to
``/etc/ganesha/ganesha.conf``); ``tgt://`` serves blocks always, and files when
``nfs_conf`` is given.
"""

from __future__ import annotations

import copy
import os
import re
import socket

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.backends.tgt import (
    URI_PARAMETERS,
    TgtBackend,
    new_state,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin

FILE_PARAMETERS = ("nfs_conf", "nfs_host")
DEFAULT_NFS_CONF = "/etc/ganesha/ganesha.conf"
_HOST = lazy_compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                     r"|[0-9A-Fa-f:.]+)$")
_MISSING = object()


def _fs_half():
    """``_tgt_fs.TgtFileSystems``, imported on first use (see backends/sim.py for the pattern)."""
    from ansible_collections.stormgmt.core.plugins.module_utils.backends._tgt_fs import TgtFileSystems
    return TgtFileSystems


def _fs_method(name: str):
    def method(self, *args, **kwargs):
        implementation = vars(_fs_half()).get(name) or getattr(FileSystemPlugin, name)
        return implementation(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name
    method.__doc__ = getattr(FileSystemPlugin, name).__doc__
    return method


class LinuxBackend(TgtBackend, FileSystemPlugin):
    scheme = "linux"
    fs_size_enforced = True  # btrfs qgroup limits: EDQUOT

    def __init__(self, uri, username=None, password=None) -> None:
        known = URI_PARAMETERS + FILE_PARAMETERS
        unknown = sorted(set(uri.query) - set(known))
        if unknown:
            raise ValueFormatEx("server %r: unknown parameter(s) %s; the %s backend reads %s"
                                % (uri.text, ", ".join(unknown), uri.scheme, ", ".join(known)), "server")
        block_uri = copy.copy(uri)
        block_uri.query = dict((key, value) for key, value in uri.query.items() if key in URI_PARAMETERS)
        super().__init__(block_uri, username, password)
        self.uri = uri
        self.scheme = uri.scheme
        self.block = uri.scheme == "tgt" or any(key in uri.query for key in URI_PARAMETERS)
        self.files = uri.scheme == "linux" or "nfs_conf" in uri.query
        if uri.scheme == "tgt" and "nfs_host" in uri.query and not self.files:
            raise ValueFormatEx("server %r: nfs_host needs nfs_conf (the nfs-ganesha configuration)" % uri.text,
                                "server")
        self.nfs_conf = uri.option("nfs_conf", DEFAULT_NFS_CONF)
        if not os.path.isabs(self.nfs_conf) or not re.match(r"^[A-Za-z0-9/._-]+$", self.nfs_conf):
            raise ValueFormatEx("server URI parameter nfs_conf=%r: give the absolute path of nfs-ganesha's "
                                "configuration (letters, digits, / . _ -)" % self.nfs_conf, "server")
        self.nfs_conf = os.path.normpath(self.nfs_conf)
        self.nfs_host = uri.option("nfs_host")
        if self.nfs_host is not None and not _HOST.match(self.nfs_host.strip("[]")):
            raise ValueFormatEx("server URI parameter nfs_host=%r is not a host name or address" % self.nfs_host,
                                "server")
        if self.nfs_host is not None:
            self.nfs_host = self.nfs_host.strip("[]")
        self.nfs_clients = self.files

    def __getattr__(self, name: str):
        # only for what normal lookup does not find: the attributes of the file half
        attribute = _MISSING if name.startswith("__") else vars(_fs_half()).get(name, _MISSING)
        if attribute is _MISSING:
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return attribute.__get__(self, type(self)) if hasattr(attribute, "__get__") else attribute

    # --- connection: without a block half there is no tgtd to talk to ------------------
    def _adopt_state(self) -> None:
        """A pool whose state file is gone keeps its file systems: they name the server uuid."""
        if os.path.exists(self.store.path) or not os.path.isdir(os.path.join(self.pool_dir, "fs")):
            return
        found = set()
        for entry in os.listdir(os.path.join(self.pool_dir, "fs")):
            try:
                found.add(os.getxattr(os.path.join(self.pool_dir, "fs", entry), "trusted.stormgmt.server",
                                      follow_symlinks=False).decode("ascii", "replace"))
            except OSError:
                continue
        if len(found) == 1:
            self.store.ensure()
            with self.store.locked():
                if not os.path.exists(self.store.path):
                    self.store.save(dict(new_state(), uuid=found.pop()))
        elif len(found) > 1:
            raise OperationPreReqNotMetEx(
                "%s lost its state file, and its file systems name %d different servers; nothing is adopted or "
                "changed" % (self.pool_dir, len(found)), "server")

    def _connect(self) -> None:
        if self._uuid is not None:
            return
        if not os.path.isdir(self.pool_dir):
            raise OperationPreReqNotMetEx(
                "the pool directory %s does not exist on this host; create it (the configure phase of the "
                "stormgmt.core.nfs_server or iscsi_target role does)" % self.pool_dir, "server")
        self._adopt_state()
        if self.block:
            super()._connect()
            return
        self.store.ensure()
        with self.store.locked():
            state = self.store.load()
            if state is None:
                state = new_state()
                self.store.save(state)
        self._uuid = state["uuid"]

    def _live(self) -> dict:
        if not self.block:
            return {"targets": {}, "accounts": set()}
        return super()._live()

    def _reconcile(self, state, name, live) -> None:
        if self.block:
            super()._reconcile(state, name, live)

    def _push(self, state, names, secrets, previous) -> None:
        if self.block:
            super()._push(state, names, secrets, previous)

    def _group_record(self, state, name, accounts) -> dict:
        record = super()._group_record(state, name, accounts)
        if not self.block:
            record.update(target_iqn=None, portal=None)
        return record

    def _check_entries(self, name: str, entries) -> None:
        if not self.block:
            for entry in entries:
                if entry[:4].lower() in ("iqn.", "eui.", "naa.") or entry.startswith("0x"):
                    raise NoSuchOperationEx(
                        "access group '%s': %s serves no LUNs (no iSCSI): give portal=HOST:PORT in the server URI to "
                        "serve them, or list NFS clients only" % (name, self.uri.text))
        super()._check_entries(name, entries)

    # --- server ------------------------------------------------------------------------------
    def get_abilities(self) -> dict:
        if self.block:
            abilities = super().get_abilities()
        else:
            abilities = dict((key, "UNSUPPORTED") for key in (
                "create_lun", "resize_lun", "shrink_lun", "delete_lun", "snapshot", "snapshot_restore", "clone",
                "snap_clone", "split_clone"))
            abilities.update(dict((key, "NO") for key in (
                "thin_provisioning", "thick_provisioning", "qos", "iscsi_initiators", "fc_initiators", "chap",
                "mutual_chap", "async_jobs")))
            abilities["access_groups"] = "ONLINE"
        if self.files:
            abilities.update(dict((key, "ONLINE") for key in (
                "create_filesystem", "resize_filesystem", "delete_filesystem", "fs_snapshot", "fs_snapshot_restore",
                "fs_clone", "fs_snap_clone", "fs_split_clone", "nfs_export")))
            abilities["backing_device_type"] = "PLUGIN_SINGLE"
        return abilities

    def _nfs_status(self) -> tuple:
        """(address text, problem or None) of the NFS server."""
        ganesha = self.ganesha
        host, port = ganesha.address()
        if ganesha.process() is None:
            return "%s:%d" % (host, port), "nfs-ganesha (%s) is not running" % ganesha.conf
        return "%s:%d" % (host, port), None

    def get_server(self) -> dict:
        if not self.files:
            return super().get_server()
        address, problem = self._nfs_status()
        nfs_text = "NFS: nfs-ganesha %s at %s, file systems in %s/fs" % (self.nfs_conf, address, self.pool_dir)
        if self.block:
            record = super().get_server()
            status = record["status"]
            if problem:
                status = ("DEGRADED: " + problem) if status == "OK" else "%s; %s" % (status, problem)
            record.update(status=status, extra_info="%s; %s" % (record.get("extra_info") or "", nfs_text),
                          storage_desc=record["storage_desc"] + "; btrfs file systems exported by nfs-ganesha")
            return records.validate("storage_server", record)
        self._connect()
        state = self._state()
        st = os.statvfs(self.pool_dir)
        total = st.f_blocks * st.f_frsize
        host, port = address.rsplit(":", 1)
        return records.make(
            "storage_server",
            name="linux %s on %s" % (self.pool_name, socket.gethostname()), uuid=state["uuid"],
            storage_server_id=self.pool_dir, storage_type="NetworkFileSystem", backend=self.scheme,
            uri=self.uri.text, chap=False, admin_host=socket.gethostname(), access_host=host, access_port=int(port),
            status="DEGRADED: " + problem if problem else "OK",
            total_sz=total, used_sz=total - st.f_bfree * st.f_frsize, free_sz=st.f_bavail * st.f_frsize,
            vol_groups=[self.pool_name], access_grps=sorted(state["groups"]), storage_name="nfs-ganesha",
            storage_desc="Linux NAS: btrfs file systems of %s exported by nfs-ganesha" % self.pool_dir,
            extra_info=nfs_text)

    def list_pools(self) -> list:
        if self.block:
            return super().list_pools()
        self._connect()
        st = os.statvfs(self.pool_dir)
        total = st.f_blocks * st.f_frsize
        return [records.make(
            "vol_group", vol_name=self.pool_name, vol_total_sz=total, vol_used_sz=total - st.f_bfree * st.f_frsize,
            vol_free_sz=st.f_bavail * st.f_frsize, vol_desc="directory %s (btrfs subvolumes)" % self.pool_dir)]

    # --- LUNs need the block half -------------------------------------------------------------------
    def _block_on(self, what: str) -> None:
        if not self.block:
            raise NoSuchOperationEx("cannot %s: %s serves no LUNs (no iSCSI); give portal=HOST:PORT in the server "
                                    "URI to serve them with tgtd" % (what, self.uri.text))

    def create_lun(self, name, pool, size, thin, qos):
        self._block_on("create LUN '%s'" % name)
        return super().create_lun(name, pool, size, thin, qos)

    def create_clone(self, name, lun, snapshot=None):
        self._block_on("clone LUN '%s'" % lun)
        return super().create_clone(name, lun, snapshot)

    # --- access groups: their NFS clients are in exports too --------------------------------------
    def update_access_group(self, name, changes):
        record = super().update_access_group(name, changes)
        if self.files and (changes.get("add_entries") or changes.get("remove_entries")):
            self.refresh_group_exports(name)
        return record

    def delete_access_group(self, name, force=False):
        if self.files:
            exporting = self.exports_naming_group(name)
            if exporting and not force:
                raise StorageElementBusyEx(
                    "access group '%s' is named by the export of file system(s) %s; take it out of their export "
                    "first or set force: true (which does)" % (name, ", ".join(exporting)))
            if exporting:
                # clients lose access first; a group of that name made later inherits nothing
                self.refresh_group_exports(name, drop=True)
        return super().delete_access_group(name, force)

    def check_export(self, export: dict) -> dict:
        return vars(_fs_half())["check_export"](self, export)


for _name in [name for name, value in vars(FileSystemPlugin).items() if callable(value) and not name.startswith("_")]:
    if _name not in vars(LinuxBackend):
        setattr(LinuxBackend, _name, _fs_method(_name))
del _name
