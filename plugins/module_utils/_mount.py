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
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._iscsi import STATE_DIR, find_attachment, iscsi_argument_spec
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

# options that mount(8) or fstab act on, which never show in the live mount
USERSPACE_OPTIONS = frozenset((
    "defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group", "nofail", "_netdev",
    "loop", "bind", "rbind", "remount"))
USERSPACE_PREFIXES = ("x-", "X-", "comment=", "loop=", "offset=", "sizelimit=", "encryption=", "helper=")
# per-mount flags: one of each group is always in force
EXCLUSIVE = (
    ("ro", "rw"), ("noatime", "relatime", "strictatime"), ("sync", "async"), ("suid", "nosuid"),
    ("dev", "nodev"), ("exec", "noexec"), ("diratime", "nodiratime"))
# what "defaults" means for the groups a task does not mention
IMPLICIT = ("rw", "relatime", "async", "suid", "dev", "exec")
# flags in force that the kernel does not list
INVISIBLE = ("async", "suid", "dev", "exec", "diratime", "atime")
_MOUNT_UUID_NAMESPACE = uuidlib.UUID("0c3f6a3e-52a4-4a8e-9a54-6f1d2b7c9e11")


class _NotMounted:
    """Stands for the live mount where there is none."""

    fstype = source = root = None


_NOT_MOUNTED = _NotMounted()


def mount_argument_spec() -> dict:
    return dict(
        path=dict(type="path", required=True),
        filesystem=dict(type="str"),
        src=dict(type="str"),
        fstype=dict(type="str"),
        opts=dict(type="str"),
        share_path=dict(type="str"),
        fstab=dict(type="path", default="/etc/fstab"),
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


# --- options ---------------------------------------------------------------------

def parse_opts(text) -> list:
    """'rw,noatime' -> ['rw', 'noatime']; nothing -> ['defaults']."""
    if text is None:
        return ["defaults"]
    options = [word.strip() for word in str(text).split(",") if word.strip()]
    for option in options:
        if re.search(r"\s", option):
            raise InvalidValueEx("mount option %r contains white space" % option, "opts")
    return options or ["defaults"]


def kernel_options(options: list) -> list:
    """The options that show in the live mount (drop fstab and mount(8)-only ones)."""
    return [option for option in options
            if option not in USERSPACE_OPTIONS and not option.startswith(USERSPACE_PREFIXES)]


def _group(option: str):
    for group in EXCLUSIVE:
        if option in group:
            return group
    return None


def wanted_options(options: list) -> list:
    """Kernel options asked for, plus the default of every per-mount flag not mentioned."""
    wanted = kernel_options(options)
    mentioned = set()
    for option in wanted:
        group = _group(option)
        if group is not None:
            mentioned.add(group)
        if option in ("atime", "noatime"):
            mentioned.add(_group("relatime"))
    for option in IMPLICIT:
        if _group(option) not in mentioned:
            wanted.append(option)
    return wanted


def unmet_options(wanted: list, live: list, flags_only: bool = False, recorded=()) -> list:
    """Options of ``wanted`` that the live mount contradicts.

    An option the kernel shows is compared; one it does not show is taken as met
    unless the live mount shows its opposite (``noX`` / ``X``, another member of its
    group, or the same ``key=`` with another value). The kernel rewrites some values
    (tmpfs ``size=4m`` shows as ``size=4096k``): a ``key=value`` already in the fstab line
    of this mount (``recorded``) counts as applied. ``flags_only``: only per-mount flags
    (what a bind mount can change).
    """
    live_set = set(live)
    live_keys = dict(option.split("=", 1) for option in live if "=" in option)
    unmet = []
    for option in wanted:
        group = _group(option)
        if flags_only and group is None:
            continue
        if option in live_set:
            continue
        if group is not None and any(other in live_set for other in group if other != option):
            unmet.append(option)
        elif option.startswith("no") and option[2:] in live_set:
            unmet.append(option)
        elif "no" + option in live_set:
            unmet.append(option)
        elif "=" in option and option not in recorded:
            key, value = option.split("=", 1)
            if key in live_keys and live_keys[key] != value:
                unmet.append(option)
    return unmet


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
                 extra: tuple = (), fs_record: dict | None = None) -> None:
        self.kind = kind  # bind, file, loop, block, tag, other, fuse
        self.fstab_src = fstab_src
        self.mount_src = mount_src or fstab_src
        self.fstype = fstype
        self.device = device
        self.directory = directory
        self.backing_file = backing_file
        self.extra = list(extra)
        self.fs_record = fs_record
        #: kind fuse: (live entry, mount point) -> True when the live mount is this file system
        self.matches = None

    @property
    def bind(self) -> bool:
        return self.kind == "bind"


class MountResource(Resource):
    kind = "mount"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        path = params["path"]
        if not isinstance(path, str) or not os.path.isabs(path):
            raise InvalidValueEx("mount point %r must be an absolute path" % (path,), "path")
        self.path = os.path.normpath(path)
        if self.path == "/":
            raise InvalidValueEx("the root directory cannot be managed as a mount point", "path")
        try:
            self.opts = parse_opts(params.get("opts"))
        except InvalidValueEx as error:
            raise InvalidValueEx("%s: %s" % (self.describe(), error.msg), error.key) from None
        self.fstab_path = params.get("fstab") or "/etc/fstab"
        if not os.path.isabs(self.fstab_path):
            raise InvalidValueEx("%s: fstab %r must be an absolute path" % (self.describe(), self.fstab_path), "fstab")
        if params.get("filesystem") is not None:
            validate_name(params["filesystem"], "file system name")
        self.share_path = params.get("share_path")
        if self.share_path is not None:
            parts = self.share_path.strip("/").split("/")
            if os.path.isabs(self.share_path) or not self.share_path.strip("/") or ".." in parts:
                raise InvalidValueEx("%s: share_path %r must be a relative path inside the file system (no '..')"
                                     % (self.describe(), self.share_path), "share_path")
            self.share_path = os.path.normpath(self.share_path)
        fstype = params.get("fstype")
        if fstype is not None and (not fstype or re.search(r"[\s,]", fstype)):
            raise InvalidFSTypeEx("%s: fstype %r is not a file system type" % (self.describe(), fstype), "fstype")
        for key in ("dump", "passno"):
            if params.get(key) is not None and params[key] < 0:
                raise InvalidValueEx("%s: %s must not be negative" % (self.describe(), key), key)
        self._fs = None

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

    def read(self):
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
            base = fs["access_path"].rstrip("/")
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
        if fstype not in (None, "none", "bind"):
            raise InvalidFSTypeEx("file system '%s' is mounted with a bind mount of its directory; leave fstype "
                                  "unset (got %r)" % (name, fstype), "fstype")
        directory = fs["access_path"]
        if self.share_path:
            directory = os.path.join(directory, self.share_path)
        if for_mount:
            if not os.path.isdir(directory):
                raise OperationPreReqNotMetEx("share_path %r does not exist in file system '%s'"
                                              % (self.share_path, name), "share_path")
            names, addresses = host_identities()
            allowed = [client for client in fs.get("export_clients") or [] if client_allows(client, names, addresses)]
            for group in fs.get("access_grp_names") or []:
                record = self.backend.get_access_group(group) if hasattr(self.backend, "get_access_group") else None
                entries = (record or {}).get("grp_entries") or []
                allowed += [entry for entry in entries if client_allows(entry, names, addresses)]
            if not allowed:
                raise PermissionDeniedEx(
                    "file system '%s' is not exported to this host (%s); export it with stormgmt.core.filesystem "
                    "(export.clients, e.g. localhost or 127.0.0.1)" % (name, ", ".join(sorted(names))))
        return Wanted("bind", directory, fstype="none", directory=directory, extra=["bind"], fs_record=fs)

    # --- deciding ------------------------------------------------------------------
    def plan(self, before):
        state = self.params["state"]
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
            return Plan("unmount" if live is not None else "remove", after=None, steps=steps, live=live) if steps else Plan()
        if state == "remounted":
            if live is None:
                raise OperationPreReqNotMetEx("%s is not mounted, so it cannot be remounted; use state: mounted"
                                              % self.describe(), "state")
            if self.params.get("opts") is not None:
                options = self.opts
            elif current is not None:
                options = current.options
            else:
                options = live.vfs_options
            after = dict(before, options=_predict_options(live.options, options))
            return Plan("remount", after=after, steps=["remount"], live=live, options=wanted_options(options))
        wanted = self._wanted(for_mount=(state == "mounted"))
        entry = _host.FstabEntry(wanted.fstab_src, self.path, wanted.fstype or "auto", self._fstab_options(wanted),
                                 self.params.get("dump") or 0, self.params.get("passno") or 0)
        steps = []
        if state == "mounted":
            steps = self._mount_steps(wanted, live, current, table)
        if fstab.needs(entry):
            steps.append("fstab")
        if not steps:
            return Plan()
        after = self._predict(wanted, entry, live if "mount" not in steps else None, state)
        action = "mount" if "mount" in steps else "remount" if "remount" in steps else "update fstab"
        return Plan(action, after=after, steps=steps, wanted=wanted, entry=entry, live=live)

    def _mount_steps(self, wanted: Wanted, live, current, table) -> list:
        if live is not None:
            if live_is(wanted, live, table, self.path):
                recorded = current.options if current is not None else ()
                # a FUSE mount is always nosuid,nodev: only the options the task names are compared
                asked = kernel_options(self.opts) if wanted.kind == "fuse" else wanted_options(self.opts)
                if unmet_options(asked, live.options, flags_only=wanted.bind, recorded=recorded):
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
        prefix = os.path.realpath(self.path).rstrip("/") + "/"
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

    def _fstab_options(self, wanted: Wanted) -> list:
        options = [option for option in self.opts if option != "defaults"]
        return [extra for extra in wanted.extra if extra not in options] + options or ["defaults"]

    def _predict(self, wanted: Wanted, entry, live, state: str) -> dict:
        mounted = state == "mounted"
        if mounted and live is not None:
            options = _predict_options(live.options, wanted_options(self.opts))
        elif mounted:
            options = [option for option in wanted_options(self.opts) if option not in INVISIBLE]
        else:
            options = entry.options
        share_path = self.share_path if self.params.get("filesystem") is not None else None
        fs_uuid = wanted.fs_record["uuid"] if wanted.fs_record else None
        return records.make(
            "mount", uuid=self._uuid(), fs_uuid=fs_uuid, mount_point=self.path, options=options,
            share_path=share_path, status=("mounted read-only" if "ro" in options else "mounted") if mounted else
            "not mounted", src=wanted.fstab_src, fstype=None if wanted.bind else wanted.fstype, mounted=mounted,
            fstab_entry=entry.line())

    # --- doing ----------------------------------------------------------------------
    def apply(self, plan, before, run):
        made = None
        try:
            for step in plan.steps:
                if step == "mkdir":
                    made = _make_dirs(self.path)
                elif step == "umount":
                    _host.umount(self.path)
                    _host.release_after_unmount(plan.details["live"])
                elif step == "mount":
                    self._mount(plan.details["wanted"], plan.details.get("live"))
                elif step == "remount":
                    self._remount(plan)
                elif step == "fstab":
                    with _host.Fstab.edit(self.fstab_path) as fstab:
                        fstab.set(plan.details["entry"])
                elif step == "fstab_remove":
                    with _host.Fstab.edit(self.fstab_path) as fstab:
                        fstab.remove(self.path)
        except BaseException:
            if made is not None:
                _remove_made_dirs(self.path, made)
            raise

    def _mount(self, wanted: Wanted, replaced) -> None:
        # an image file gets its loop device from mount(8), freed again on unmount
        if wanted.kind == "fuse":
            options = wanted.extra + kernel_options(self.opts)
        else:
            extra = ["bind"] if wanted.bind else ["loop"] if wanted.kind == "file" else []
            options = extra + wanted_options(self.opts)
        source = wanted.mount_src
        attachment = None
        if wanted.kind in ("block", "tag") and wanted.device is None:
            attachment = _host.resolve_device(wanted.fstab_src, self.params, attach=True)
            source = attachment.device
        try:
            _host.mount(source, self.path, None if wanted.bind else wanted.fstype, options)
            if wanted.kind == "fuse" and not wanted.matches(_host.mount_at(self.path) or _NOT_MOUNTED, self.path):
                # mount(8)'s FUSE helpers may report success when their daemon failed to start
                raise OperationFailedEx("%s: mount -t %s reported success, but the file system is not mounted there; "
                                        "see the log of the FUSE client" % (self.describe(), wanted.fstype))
        except IPluginException:
            if attachment is not None:
                attachment.release()
            if replaced is not None:
                _remount_replaced(replaced, self.path)
            raise

    def _remount(self, plan) -> None:
        live = plan.details["live"]
        table = _host.mountinfo()
        bind = live.root != "/"
        source = _host.bind_source(live, table) if bind else live.source
        options = plan.details.get("options") or wanted_options(self.opts)
        _host.remount(source or live.source, self.path, options, bind=bind)


# --- helpers -------------------------------------------------------------------------------

def wanted_source(src: str, fstype, params: dict, for_mount: bool, bind: bool = False) -> Wanted:
    """A ``src`` as the mount needs it: bind (directory), image file, block device, tag or other."""
    if not isinstance(src, str) or not src.strip():
        raise InvalidValueEx("src must name a device, an image file, a directory or a tag such as UUID=...", "src")
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


def _predict_options(live: list, wanted: list) -> list:
    """The live options after a remount with ``wanted``: each group's member replaced."""
    result = list(live)
    for option in kernel_options(wanted):
        group = _group(option)
        if group is not None:
            result = [current for current in result if current not in group or current == option]
        if option not in result and option not in INVISIBLE:
            result.append(option)
    return result


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
