# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the ``mount`` module wants, as a resource for the engine. Private to this collection.

The states mean what they mean to ansible.posix.mount (mounted, unmounted,
present, absent, remounted), with the live mount as the truth:

* ``mounted`` compares the source and the options of the live mount (from
  /proc/self/mountinfo), not only the fstab line, and applies changed options to
  the live mount (remount);
* fstab is written only after the mount or unmount it goes with has succeeded;
* ``absent`` unmounts whether or not fstab lists the mount point, and keeps the
  mount-point directory.

A simulator file system (``filesystem``) is a bind mount of its directory (plus
``share_path``); an image file is mounted through a loop device that the kernel
frees on unmount; a directory ``src`` is bind mounted.
"""

from __future__ import annotations

import fnmatch
import os
import re
import socket
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import _host, records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._iscsi import STATE_DIR, find_attachment, iscsi_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._mount_options import MountOptions
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemAlreadyMountedEx,
    FileSystemBusyEx,
    InvalidFSTypeEx,
    InvalidValueEx,
    IPluginException,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    PermissionDeniedEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin

STATES = ["mounted", "unmounted", "present", "absent", "remounted"]

# what fstype may be: a word of the kernel's or a mount helper's (fuse.sshfs, nfs4, ceph)
_FSTYPE = lazy_compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
_MOUNT_UUID_NAMESPACE = uuidlib.UUID("0c3f6a3e-52a4-4a8e-9a54-6f1d2b7c9e11")


def mount_argument_spec() -> dict:
    return dict(
        path=dict(type="path", required=True),
        filesystem=dict(type="str"),
        src=dict(type="str"),
        fstype=dict(type="str"),
        opts=dict(type="list", elements="str"),
        share_path=dict(type="str"),
        fstab=dict(type="path", default="/etc/fstab"),
        boot=dict(type="bool", default=True),
        backup=dict(type="bool", default=False),
        dump=dict(type="int", default=0),
        passno=dict(type="int", default=0, no_log=False),
        state=dict(type="str", required=True, choices=STATES),
        **iscsi_argument_spec()
    )


MOUNT_MODULE_KWARGS = dict(
    mutually_exclusive=[("filesystem", "src")],
    required_if=[("state", "mounted", ("filesystem", "src"), True), ("state", "present", ("filesystem", "src"), True)],
    required_by={"share_path": "filesystem"},
)


# --- who this host is, for exports ---------------------------------------------------

def host_identities() -> tuple:
    """(names, addresses) an export must name for this host to mount it."""
    names = {"localhost"}
    try:
        names.add(socket.gethostname().lower())
    except OSError:
        pass
    return names, {"127.0.0.1", "::1"}


def client_allows(client: str, names: set, addresses: set) -> bool:
    """True when export client ``client`` (normalised) covers this host."""
    if client == "*":
        return True
    if client.startswith("@"):
        return False  # netgroups are not resolved here
    if "/" in client or ":" in client or re.match(r"^[0-9.]+$", client):
        from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import _netaddr
        netaddr = _netaddr("the export client %r" % client)
        try:
            network = netaddr.IPNetwork(client)
            return any(netaddr.IPAddress(address) in network for address in addresses
                       if netaddr.IPAddress(address).version == network.version)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            return False
    return any(fnmatch.fnmatchcase(name, client) for name in names)


# --- the mount --------------------------------------------------------------------------

class Wanted:
    """The source a task asks for, in the forms fstab, mount(8) and the live table use."""

    def __init__(self, kind: str, fstab_src: str, mount_src: str | None = None, fstype: str | None = None,
                 device: str | None = None, directory: str | None = None, backing_file: str | None = None,
                 extra: tuple = (), fs_record: dict | None = None, directory_fd: int | None = None) -> None:
        self.kind = kind  # bind, file, loop, block, tag, other, fuse, nfs
        self.fstab_src = fstab_src
        self.mount_src = mount_src or fstab_src
        self.fstype = fstype
        self.device = device
        self.directory = directory
        self.backing_file = backing_file
        self.extra = list(extra)
        self.fs_record = fs_record
        #: the directory to bind mount, held open (O_PATH) since it was checked
        self.directory_fd = directory_fd
        #: kind fuse: (live entry, mount point) -> True when the live mount is this file system
        self.matches = None

    @property
    def bind(self) -> bool:
        return self.kind == "bind"

    def close(self) -> None:
        if self.directory_fd is not None:
            os.close(self.directory_fd)
            self.directory_fd = None


def _text(value, what: str, key: str) -> str:
    """A user's string that reaches a path, a command line or fstab: no NUL, valid text."""
    if not isinstance(value, str):
        raise InvalidValueEx("%s must be a string, got %r" % (what, value), key)
    if "\0" in value:
        raise InvalidValueEx("%s %r contains a NUL character" % (what, value), key)
    try:
        _host.to_bytes(value)
    except UnicodeEncodeError:
        raise InvalidValueEx("%s %r is not valid text (it holds a lone surrogate)" % (what, value), key) from None
    return value


def _absolute(value, what: str, key: str) -> str:
    """An absolute path, normalised (one leading slash, no '.' or '..' left)."""
    _text(value, what, key)
    if not os.path.isabs(value):
        raise InvalidValueEx("%s %r must be an absolute path" % (what, value), key)
    return "/" + os.path.normpath(value).lstrip("/")


class MountResource(Resource):
    kind = "mount"

    @staticmethod
    def needs_server(params: dict) -> bool:
        return params.get("filesystem") is not None

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.path = _absolute(params["path"], "mount point", "path")
        if self.path == "/":
            raise InvalidValueEx("the root directory cannot be managed as a mount point", "path")
        try:
            self.opts = MountOptions.parse(params.get("opts"))
        except InvalidValueEx as error:
            raise InvalidValueEx("%s: %s" % (self.describe(), error.msg), error.key) from None
        if params.get("boot") is False:
            # as ansible.posix.mount: not mounted at boot is noauto in fstab (the live mount is not touched)
            if "auto" in self.opts.words:
                raise InvalidValueEx("%s: opts has 'auto' but boot is false; drop one of them" % self.describe(), "boot")
            if "noauto" not in self.opts.words:
                self.opts = MountOptions(self.opts.words + ["noauto"])
        self.backup_file = None
        self.fstab_path = _absolute(params.get("fstab") or "/etc/fstab", "%s: fstab" % self.describe(), "fstab")
        if params.get("filesystem") is not None:
            validate_name(params["filesystem"], "file system name")
        src = params.get("src")
        if src is not None:
            _text(src, "%s: src" % self.describe(), "src")
            if src.startswith("-"):
                raise InvalidValueEx("%s: src %r starts with '-'; no device, image, directory or tag does (mount(8) "
                                     "would read it as an option)" % (self.describe(), src), "src")
        self.share_path = params.get("share_path")
        if self.share_path is not None:
            _text(self.share_path, "%s: share_path" % self.describe(), "share_path")
            parts = self.share_path.strip("/").split("/")
            if os.path.isabs(self.share_path) or not self.share_path.strip("/") or ".." in parts:
                raise InvalidValueEx("%s: share_path %r must be a relative path inside the file system (no '..')"
                                     % (self.describe(), self.share_path), "share_path")
            self.share_path = os.path.normpath(self.share_path)
        fstype = params.get("fstype")
        if fstype is not None and (not isinstance(fstype, str) or not _FSTYPE.match(fstype)):
            raise InvalidFSTypeEx("%s: fstype %r is not a file system type (letters, digits and . _ + - only)"
                                  % (self.describe(), fstype), "fstype")
        for key in ("dump", "passno"):
            if params.get(key) is not None and params[key] < 0:
                raise InvalidValueEx("%s: %s must not be negative" % (self.describe(), key), key)
        self._fs = None
        self._repaired = False

    def describe(self) -> str:
        return "mount point %s" % self.path

    # --- reading -----------------------------------------------------------------
    def _filesystem(self) -> dict | None:
        name = self.params.get("filesystem")
        if name is None:
            return None
        if not isinstance(self.backend, FileSystemPlugin):
            raise NoSuchOperationEx("the %s backend has no network file systems to mount" % self.backend.scheme)
        if self._fs is None:
            self._fs = self.backend.get_filesystem(name)
        return self._fs

    def _repair(self) -> None:
        """Take back what a run killed half way left (a half-written fstab copy, a loop device
        or scratch mount), once per run and never in check mode; say what in a warning."""
        if self._repaired or getattr(self.backend, "read_only", False):
            return
        self._repaired = True
        _host.report(_host.Fstab.sweep(self.fstab_path) + _host.reap_orphans())

    def read(self):
        _host.check_no_symlink(self.path, "mount point")
        self._repair()
        table = _host.mountinfo()
        live = _host.mount_at(self.path, table)
        entry = _host.Fstab(self.fstab_path).entry(self.path)
        if live is None and entry is None:
            return None
        return self._record(live, entry, table)

    def _record(self, live, entry, table) -> dict:
        fs = self._filesystem()
        fs_uuid = None
        if live is not None:
            src = _live_source(live, table)
            fstype, options, mounted = live.fstype, live.options, True
            status = "mounted read-only" if live.readonly else "mounted"
            if live.source.startswith("/dev/") and live.root == "/":
                fs_uuid = _host.probe(live.source).get("UUID")
        else:
            src, fstype, options, mounted, status = entry.src, entry.fstype, entry.options, False, "not mounted"
        share_path = None
        if fs is not None and fs.get("access_path") and src:
            base = fs["access_path"]  # a directory here, or host:/path served over NFS
            base = (os.path.realpath(base) if os.path.isabs(base) else base).rstrip("/")
            if src == base or src.startswith(base + "/"):
                fs_uuid = fs["uuid"]
                share_path = os.path.relpath(src, base) if src != base else None
        return records.make(
            "mount", uuid=self._uuid(), fs_uuid=fs_uuid, mount_point=self.path, options=list(options),
            share_path=share_path, status=status, src=src, fstype=fstype, mounted=mounted,
            fstab_entry=entry.line() if entry is not None else None)

    def _uuid(self) -> str:
        return str(uuidlib.uuid5(_MOUNT_UUID_NAMESPACE, "%s:%s" % (socket.gethostname(), self.path)))

    # --- what the task asks for ------------------------------------------------------
    def _wanted(self, for_mount: bool) -> Wanted:
        fstype = self.params.get("fstype")
        if self.params.get("filesystem") is not None:
            return self._wanted_filesystem(fstype, for_mount)
        return wanted_source(self.params["src"], fstype, self.params, for_mount)

    def _wanted_filesystem(self, fstype, for_mount: bool) -> Wanted:
        name = self.params["filesystem"]
        fs = self._filesystem()
        if fs is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist on %s" % (name, self.params["server"]),
                                          "filesystem")
        if fs.get("state") == "ERROR":
            # e.g. its directory is gone: say so, not "share_path None does not exist"
            raise OperationPreReqNotMetEx(fs.get("status") or "file system '%s' is in state ERROR" % name, "filesystem")
        hook = getattr(self.backend, "host_mount", None)
        spec = hook(fs, self.share_path) if hook is not None else None
        if spec is not None:
            # the backend says how hosts mount it (ceph: ceph-fuse, through mount(8)'s fuse.ceph helper)
            if fstype not in (None, spec["fstype"]):
                raise InvalidFSTypeEx("file system '%s' is mounted as %s; leave fstype unset (got %r)"
                                      % (name, spec["fstype"], fstype), "fstype")
            wanted = Wanted("fuse", spec["src"], fstype=spec["fstype"], extra=spec["options"], fs_record=fs)
            wanted.matches = spec["matches"]
            return wanted
        if not fs.get("access_path"):
            raise OperationPreReqNotMetEx("file system '%s' has no access path this host can mount" % name,
                                          "filesystem")
        if fs.get("fstype") in NFS_TYPES:
            return self._wanted_nfs_filesystem(fs, fstype)
        if fstype not in (None, "none", "bind"):
            raise InvalidFSTypeEx("file system '%s' is mounted with a bind mount of its directory; leave fstype "
                                  "unset (got %r)" % (name, fstype), "fstype")
        what = "share_path %r of file system '%s'" % (self.share_path, name)
        # the directory as it really is: a symlink in the share may point inside it, never out
        directory, fd = _host.open_inside(fs["access_path"], self.share_path or ".", what, must_exist=for_mount)
        if for_mount:
            names, addresses = host_identities()
            allowed = [client for client in fs.get("export_clients") or [] if client_allows(client, names, addresses)]
            for group in fs.get("access_grp_names") or []:
                record = self.backend.get_access_group(group) if hasattr(self.backend, "get_access_group") else None
                entries = (record or {}).get("grp_entries") or []
                allowed += [entry for entry in entries if client_allows(entry, names, addresses)]
            if not allowed:
                os.close(fd)
                raise PermissionDeniedEx(
                    "file system '%s' is not exported to this host (%s); export it with stormgmt.core.filesystem "
                    "(export.clients, e.g. localhost or 127.0.0.1)" % (name, ", ".join(sorted(names))))
        return Wanted("bind", directory, fstype="none", directory=directory, extra=["bind"], fs_record=fs,
                      directory_fd=fd)

    def _wanted_nfs_filesystem(self, fs: dict, fstype) -> Wanted:
        """A file system the server serves over NFS: its ``access_path`` (host:/path) is the
        source; the server, not this module, decides who may mount it."""
        if fstype not in (None, "auto", "nfs", "nfs4"):
            raise InvalidFSTypeEx("file system '%s' is served over NFS; leave fstype unset or give nfs4 (got %r)"
                                  % (fs["name"], fstype), "fstype")
        src = fs["access_path"]
        if self.share_path:
            src = src.rstrip("/") + "/" + self.share_path
        wanted = nfs_source(src, fstype or fs["fstype"])
        wanted.extra = [option for option in fs.get("mount_options") or [] if option not in self.opts.words]
        wanted.fs_record = fs
        return wanted

    # --- deciding ------------------------------------------------------------------
    def plan(self, before):
        state = self.params["state"]
        _host.check_no_symlink(self.path, "mount point")
        table = _host.mountinfo()
        live = _host.mount_at(self.path, table)
        fstab = _host.Fstab(self.fstab_path)
        current = fstab.entry(self.path)
        if live is not None and state in ("unmounted", "absent"):
            self._check_no_submounts(table)
        if state == "unmounted":
            if live is None:
                return Plan()
            after = self._record(None, current, table) if current is not None else None
            return Plan("unmount", after=after, steps=["umount"], live=live)
        if state == "absent":
            steps = (["umount"] if live is not None else []) + (["fstab_remove"] if current is not None else [])
            if "fstab_remove" in steps:
                self._check_backup_possible()
            return Plan("unmount" if live is not None else "remove", after=None, steps=steps, live=live) if steps else Plan()
        if state == "remounted":
            if live is None:
                raise OperationPreReqNotMetEx("%s is not mounted, so it cannot be remounted; use state: mounted"
                                              % self.describe(), "state")
            if self.params.get("opts") is not None:
                options = self.opts
            elif current is not None:
                options = MountOptions.parse(current.options)
            else:  # what is in force now: the per-mount flags, and the superblock flags mount(8) sets
                options = MountOptions.parse(live.vfs_options + [option for option in live.super_options
                                                                 if option in ("sync", "dirsync", "lazytime", "mand")])
            bind = live.root != "/"
            after = dict(before, options=_predict_options(live, options, bind))
            return Plan("remount", after=after, steps=["remount"], live=live, options=options, bind=bind)
        wanted = self._wanted(for_mount=(state == "mounted"))
        entry = _host.FstabEntry(wanted.fstab_src, self.path, wanted.fstype or "auto",
                                 self.opts.fstab_words(wanted.extra),
                                 self.params.get("dump") or 0, self.params.get("passno") or 0)
        try:
            entry.line()  # a character no fstab field can hold fails here, before any change
        except InvalidValueEx as error:
            raise InvalidValueEx("%s: %s" % (self.describe(), error.msg), "src") from None
        steps = []
        if state == "mounted":
            steps = self._mount_steps(wanted, live, current, table)
        if fstab.needs(entry):
            steps.append("fstab")
            self._check_backup_possible()
        if not steps:
            wanted.close()
            return Plan()
        after = self._predict(wanted, entry, live if "mount" not in steps else None, state)
        action = "mount" if "mount" in steps else "remount" if "remount" in steps else "update fstab"
        return Plan(action, after=after, steps=steps, wanted=wanted, entry=entry, live=live,
                    options=self.opts, bind=wanted.bind)

    def _check_backup_possible(self) -> None:
        """backup: the copy goes beside fstab; a directory it cannot be written to fails before any change
        (not after the mount, when only the fstab line would be missing)."""
        real = os.path.realpath(self.fstab_path)
        if self.params.get("backup") and os.path.exists(real) and not os.access(os.path.dirname(real), os.W_OK):
            raise OperationPreReqNotMetEx("%s: backup: cannot write a copy of %s into %s"
                                          % (self.describe(), self.fstab_path, os.path.dirname(real)), "backup")

    def _mount_steps(self, wanted: Wanted, live, current, table) -> list:
        if live is not None:
            if live_is(wanted, live, table, self.path):
                recorded = current.options if current is not None else ()
                # a FUSE mount is always nosuid,nodev: only the flags the task names are compared
                unmet = self.opts.unmet(live, bind=wanted.bind or wanted.kind == "fuse", recorded=recorded)
                if wanted.kind == "fuse":
                    unmet = [word for word in unmet if word in self.opts.words]
                if unmet:
                    return ["remount"]
                return []
            if current is None or not self._fstab_names(current, live, table):
                raise FileSystemAlreadyMountedEx(
                    "%s is already a mount of %s, not of %s; unmount it first (state: unmounted) or choose "
                    "another path" % (self.describe(), _live_source(live, table), wanted.fstab_src), "path")
            # the mount fstab asked for before: this task moves it to the new source
            self._check_no_submounts(table)
            return ["umount", "mount"]
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise InvalidValueEx("%s exists and is not a directory" % self.describe(), "path")
        return (["mkdir"] if not os.path.isdir(self.path) else []) + ["mount"]

    def _check_no_submounts(self, table: list) -> None:
        """Mounts below the mount point make the unmount fail: say so before changing anything."""
        prefix = self.path.rstrip("/") + "/"
        below = sorted(set(entry.mount_point for entry in table if entry.mount_point.startswith(prefix)))
        if below:
            raise FileSystemBusyEx("%s has mounts below it (%s); unmount them first" % (self.describe(), ", ".join(below)))

    def _fstab_names(self, entry, live, table) -> bool:
        """True when fstab's current line for the path describes the live mount."""
        try:
            old = wanted_source(entry.src, None if entry.fstype in ("auto", "none") else entry.fstype,
                                self.params, for_mount=False, bind="bind" in entry.options)
        except IPluginException:
            return False
        return live_is(old, live, table)

    def _predict(self, wanted: Wanted, entry, live, state: str) -> dict:
        mounted = state == "mounted"
        if mounted and live is not None:
            options = _predict_options(live, self.opts, wanted.bind)
        elif mounted:
            options = shown_options(self.opts, wanted.bind)
        else:
            options = entry.options
        share_path = None
        if wanted.kind in ("nfs", "fuse"):
            share_path = self.share_path  # served over the network: nothing local to compare
        elif wanted.fs_record is not None and wanted.directory != os.path.realpath(wanted.fs_record["access_path"]):
            share_path = os.path.relpath(wanted.directory, os.path.realpath(wanted.fs_record["access_path"]))
        fs_uuid = wanted.fs_record["uuid"] if wanted.fs_record else None
        return records.make(
            "mount", uuid=self._uuid(), fs_uuid=fs_uuid, mount_point=self.path, options=options,
            share_path=share_path, status=("mounted read-only" if "ro" in options else "mounted") if mounted else
            "not mounted", src=wanted.fstab_src, fstype=None if wanted.bind else wanted.fstype, mounted=mounted,
            fstab_entry=entry.line())

    def outcome(self, plan) -> dict:
        # as ansible.posix.mount: the copy of fstab made before this run changed it (backup: true)
        return {"backup_file": self.backup_file} if self.backup_file else {}

    # --- doing ----------------------------------------------------------------------
    def apply(self, plan, before, run):
        made = None
        wanted = plan.details.get("wanted")
        try:
            for step in plan.steps:
                if step == "mkdir":
                    made = _make_dirs(self.path)
                    fault_point("host.mount.mkdir")
                elif step == "umount":
                    _host.umount(self.path, expected=plan.details["live"])
                    _host.release_after_unmount(plan.details["live"])
                elif step == "mount":
                    self._mount(wanted, plan.details.get("live"))
                elif step == "remount":
                    self._remount(plan)
                elif step == "fstab":
                    with _host.Fstab.edit(self.fstab_path, backup=self.params.get("backup")) as fstab:
                        fstab.set(plan.details["entry"])
                    self.backup_file = fstab.backup_file
                elif step == "fstab_remove":
                    with _host.Fstab.edit(self.fstab_path, backup=self.params.get("backup")) as fstab:
                        fstab.remove(self.path)
                    self.backup_file = fstab.backup_file
        except BaseException:
            if made is not None:
                _remove_made_dirs(self.path, made)
            raise
        finally:
            if wanted is not None:
                wanted.close()

    def _mount(self, wanted: Wanted, replaced) -> None:
        # an image file gets its loop device from mount(8), freed again on unmount
        if wanted.kind == "fuse":
            # the kernel sets nosuid,nodev on FUSE mounts: give the helper what the backend and the task name
            options = [word for word in wanted.extra if word not in self.opts.words] + [
                word for word in self.opts.words if word not in self.opts.fstab_only and word != "defaults"]
        else:
            extra = ["bind"] if wanted.bind else ["loop"] if wanted.kind == "file" else []
            if wanted.kind == "nfs":
                extra = list(wanted.extra)  # what the server says its clients need (vers=4.1, port=...)
            options = self.opts.mount_words(extra, bind=wanted.bind)
        source = wanted.mount_src
        attachment = None
        if wanted.kind in ("block", "tag") and wanted.device is None:
            attachment = _host.resolve_device(wanted.fstab_src, self.params, attach=True)
            source = attachment.device
        try:
            new = _host.mount(source, self.path, None if wanted.bind else wanted.fstype, options,
                              source_fd=wanted.directory_fd)
            if wanted.kind == "fuse" and not wanted.matches(new, self.path):
                _host.umount(self.path, expected=new)
                raise OperationFailedEx("%s: mount -t %s mounted something else than file system %s there; it was "
                                        "unmounted again" % (self.describe(), wanted.fstype, wanted.fstab_src))
            missing = [] if wanted.kind == "fuse" else self.opts.unmet_flags(new, bind=wanted.bind)
            if missing:
                _host.umount(self.path, expected=new)
                raise OperationFailedEx(
                    "%s: the kernel mounted %s without %s (it shows %s); it was unmounted again. A device that "
                    "is write-protected mounts only with ro" % (self.describe(), wanted.fstab_src, ",".join(missing),
                                                                ",".join(new.options)))
        except IPluginException:
            if attachment is not None:
                attachment.release()
            if replaced is not None:
                _remount_replaced(replaced, self.path)
            raise

    def _remount(self, plan) -> None:
        live = plan.details["live"]
        bind = plan.details["bind"]
        options = plan.details["options"]
        source = _host.bind_source(live) if live.root != "/" else live.source
        _host.remount(source or live.source, self.path, options.remount_words(bind, live), bind=bind)
        now = _host.mount_at(self.path)
        missing = options.unmet_flags(now, bind=bind) if now is not None else ["mounted"]
        if missing:
            raise OperationFailedEx(
                "%s: the remount did not apply %s (the mount shows %s); this flag changes only with a new mount: "
                "unmount it and mount it again" % (self.describe(), ",".join(missing),
                                                   ",".join(now.options) if now else "nothing"))


# --- helpers -------------------------------------------------------------------------------

def wanted_source(src: str, fstype, params: dict, for_mount: bool, bind: bool = False) -> Wanted:
    """A ``src`` as the mount needs it: bind (directory), image file, block device, tag or other."""
    if not isinstance(src, str) or not src.strip():
        raise InvalidValueEx("src must name a device, an image file, a directory or a tag such as UUID=...", "src")
    if fstype in NFS_TYPES or (fstype in (None, "auto") and NFS_SOURCE.match(src)):
        return nfs_source(src, fstype, check_client=for_mount)
    known = None
    if fstype not in (None, "auto", "none", "bind"):
        known = _host.known_fstypes()
        if fstype not in known:
            raise InvalidFSTypeEx("fstype %r is not known to this host's kernel or mount helpers" % fstype, "fstype")
    upper = src.upper()
    if upper.startswith("UUID=") or upper.startswith("LABEL="):
        device = _host.lookup_tag(src)
        if device is None and for_mount:
            raise OperationPreReqNotMetEx("no device has %s" % src, "src")
        return Wanted("tag", src, mount_src=device, fstype=_device_fstype(src, device, fstype, for_mount), device=device)
    if src.lower().startswith("iscsi://"):
        found = _host.resolve_device(src, params, attach=False)
        return Wanted("block", src, mount_src=found.device,
                      fstype=_device_fstype(src, found.device, fstype, for_mount), device=found.device)
    if not os.path.isabs(src):
        if fstype in (None, "auto"):
            raise InvalidFSTypeEx("src %r is not a path: give its fstype (for example tmpfs)" % src, "fstype")
        return Wanted("other", src, fstype=fstype)
    if os.path.isdir(src) or bind:
        if fstype not in (None, "none", "bind"):
            raise InvalidFSTypeEx("src %s is a directory, mounted with a bind mount; leave fstype unset (got %r)"
                                  % (src, fstype), "fstype")
        return Wanted("bind", src, fstype="none", directory=src, extra=["bind"])
    if not os.path.lexists(src) and not for_mount:
        return Wanted("block", src, fstype=fstype or "auto")
    found = _host.resolve_device(src, params, attach=False)
    kind_fstype = _device_fstype(src, found.device, fstype, for_mount)
    if found.kind == "file":
        return Wanted("file", src, mount_src=src, fstype=kind_fstype, device=found.device,
                      backing_file=found.backing_file, extra=["loop"])
    if found.kind == "loop":
        # the image is on a loop device already: mount that one, never a second view of the same data
        return Wanted("loop", src, mount_src=found.device, fstype=kind_fstype, device=found.device,
                      backing_file=found.backing_file, extra=["loop"])
    return Wanted("block", src, fstype=kind_fstype, device=found.device)


NFS_TYPES = ("nfs", "nfs4")
# host:/path, host an address, a name or [IPv6]; the path absolute
NFS_SOURCE = lazy_compile(r"^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z](?:[0-9A-Za-z.-]*[0-9A-Za-z])?):(/[^\s,]*)$")


def nfs_source(src: str, fstype, check_client: bool = True) -> Wanted:
    """``host:/path`` of an NFS export as mount(8) and fstab take it. The NFS client is the
    kernel's: the host needs it (a kernel with NFS and the mount.nfs helper of nfs-common /
    nfs-utils); without it nothing is changed and the task says what to install."""
    match = NFS_SOURCE.match(src or "")
    if not match or "\\" in src or not src.isprintable() or ".." in match.group(2).split("/"):
        raise InvalidValueEx("src %r is not an NFS export: expected host:/path (an address, a host name or "
                             "[IPv6 address], then an absolute path without spaces, commas or '..')" % (src,), "src")
    fstype = fstype if fstype in NFS_TYPES else "nfs4"
    if check_client and fstype not in _host.known_fstypes():
        raise OperationPreReqNotMetEx(
            "this host cannot mount NFS (%s): its kernel has no %s file system and there is no mount.%s helper; "
            "install nfs-common (Debian, Ubuntu) or nfs-utils" % (src, fstype, fstype), "fstype")
    return Wanted("nfs", src, fstype=fstype)


def _nfs_key(source: str) -> str:
    """An NFS source as compared: the path without a trailing '/'."""
    host, _sep, path = source.rpartition(":")
    return "%s:%s" % (host, path.rstrip("/") or "/")


def _device_fstype(src: str, device, fstype, for_mount: bool):
    """The type to mount ``device`` with: what is asked, checked against what is on it."""
    found = _host.probe(device).get("TYPE") if device else None
    if fstype in (None, "auto"):
        if found is None and for_mount:
            raise InvalidFSTypeEx("%s holds no file system that blkid recognises; make one with "
                                  "stormgmt.core.filesystem or give fstype" % src, "fstype")
        return found or "auto"
    if found is not None and found != fstype:
        raise InvalidFSTypeEx("%s holds a %s file system, not %s" % (src, found, fstype), "fstype")
    return fstype


def live_is(wanted: Wanted, live, table: list, path: str | None = None) -> bool:
    """True when live mount ``live`` (at ``path``) shows the source ``wanted`` names."""
    if wanted.kind == "fuse":
        return path is not None and wanted.matches(live, path)
    if wanted.kind == "bind":
        return _host.directory_identity(wanted.directory, table) == (live.majmin, live.root)
    if wanted.kind == "nfs":
        return live.fstype in NFS_TYPES and _nfs_key(live.source) == _nfs_key(wanted.mount_src)
    if live.root != "/":
        return False
    if wanted.kind in ("file", "loop"):
        back = _host.loop_backing_file(live.source)
        return back is not None and os.path.realpath(back) == os.path.realpath(wanted.backing_file)
    if wanted.kind in ("block", "tag"):
        return bool(wanted.device) and live.source.startswith("/") and _host.same_device(live.source, wanted.device)
    return live.source == wanted.mount_src and live.fstype == wanted.fstype


def _live_source(live, table: list) -> str:
    """The live mount's source as a user names it: directory of a bind mount, image of a loop."""
    if live.root != "/":
        return _host.bind_source(live, table) or live.source
    back = _host.loop_backing_file(live.source) if live.source.startswith("/dev/") else None
    if back and back.startswith(STATE_DIR + "/"):
        found = find_attachment(live.source)  # an iSCSI LUN attached in user space: its URL
        if found is not None and found.lun is not None:
            return found.lun.url
    return back or live.source


def shown_options(options: MountOptions, bind: bool) -> list:
    """The options a new mount with ``options`` shows, roughly as findmnt does."""
    shown = [word for word in options.per_mount_words()
             if word not in ("suid", "dev", "exec", "strictatime", "diratime", "symfollow")]
    if not bind:
        shown += [word for word in options.super_words() if not word.startswith("no") and word != "async"]
        shown += [word for word in options.fs_specific if word not in shown]
    return shown


_FLAG_WORDS = frozenset(("ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "atime", "noatime",
                         "relatime", "norelatime", "strictatime", "nostrictatime", "diratime", "nodiratime",
                         "symfollow", "nosymfollow", "sync", "async", "dirsync", "lazytime", "nolazytime",
                         "mand", "nomand"))


def _predict_options(live, options: MountOptions, bind: bool) -> list:
    """The live options after a remount with ``options``: the flags replaced, the rest kept."""
    result = shown_options(options, bind)
    return result + [word for word in live.options if word not in _FLAG_WORDS and word not in result]


def _make_dirs(path: str) -> str:
    """Make ``path`` with its missing parents; return the topmost directory made."""
    top = path
    while not os.path.isdir(os.path.dirname(top)):
        top = os.path.dirname(top)
    os.makedirs(path, 0o755)
    return top


def _remove_made_dirs(path: str, top: str) -> None:
    """Undo :func:`_make_dirs` (only directories that are still empty)."""
    current = path
    while True:
        try:
            os.rmdir(current)
        except OSError:
            return
        if current == top:
            return
        current = os.path.dirname(current)


def _remount_replaced(live, path: str) -> None:
    """Best effort: put back the mount a failed move took away."""
    try:
        source = live.source
        if live.root != "/":
            source = _host.bind_source(live) or live.source
            _host.mount(source, path, None, ["bind"])
        else:
            _host.mount(source, path, live.fstype, [])
    except IPluginException:
        pass
