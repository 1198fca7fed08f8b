# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the ``filesystem`` module wants, as resources for the engine. Private to this collection.

Two kinds of file system share the module:

* network (no ``device``): made on the storage server in a pool and exported
  (:class:`NetworkFilesystem`, through the backend's FileSystemPlugin methods);
* block based (``device``): made on a block device or image file of this host
  (:class:`BlockFilesystem`, through :mod:`_host`).
"""

from __future__ import annotations

import os

from ansible_collections.stormgmt.core.plugins.module_utils import _host, records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._iscsi import iscsi_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import (
    normalize_nfs_client,
    unique,
    validate_name,
)
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils._units import format_size, parse_size, round_up
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidFSTypeEx,
    InvalidValueEx,
    MissingKeyEx,
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, StorageArrayPlugin

# exports(5) options: a word, optionally =value (no spaces or commas)
_EXPORT_OPTION = lazy_compile(r"^[A-Za-z_][A-Za-z0-9_]*(=[^\s,]+)?$")


def filesystem_argument_spec() -> dict:
    return dict(
        name=dict(type="str"),
        pool=dict(type="str"),
        size=dict(type="raw"),
        export=dict(type="dict", options=dict(
            clients=dict(type="list", elements="str"),
            access_groups=dict(type="list", elements="str"),
            options=dict(type="list", elements="str"),
        )),
        device=dict(type="str"),
        fstype=dict(type="str"),
        force=dict(type="bool", default=False),
        grow=dict(type="bool", default=True),
        opts=dict(type="list", elements="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **iscsi_argument_spec()
    )


# pool, size and export with device: refused by BlockFilesystem with an error class
FILESYSTEM_MODULE_KWARGS = dict(required_one_of=[("name", "device")])


class FilesystemResource(Resource):
    """The resource of a task: block based when ``device`` is set, network otherwise."""

    kind = "filesystem"
    noun = "file system"

    @staticmethod
    def needs_server(params: dict) -> bool:
        return params.get("device") is None

    def __new__(cls, backend, params: dict):
        kind = cls
        if cls is FilesystemResource:
            kind = BlockFilesystem if params.get("device") is not None else NetworkFilesystem
        return super().__new__(kind)


def normalize_export(export: dict | None) -> dict | None:
    """{clients, access_groups, options} checked and in the form records carry; None: not managed."""
    if export is None:
        return None
    clients = sorted(unique(normalize_nfs_client(client) for client in export.get("clients") or []))
    groups = sorted(unique(validate_name(group, "access group name") for group in export.get("access_groups") or []))
    options = {}
    for option in export.get("options") or []:
        if not isinstance(option, str) or not _EXPORT_OPTION.match(option.strip()):
            raise ValueFormatEx("export option %r is not valid: use exports(5) words such as rw, sync, "
                                "no_root_squash or anonuid=1000" % (option,), "export")
        option = option.strip()
        other = options.setdefault(_export_setting(option), option)
        if other != option:
            raise InvalidValueEx("export options %r and %r contradict each other; keep one" % (other, option), "export")
    # a set: with no two options on one setting, their order means nothing
    return dict(clients=clients, access_groups=groups, options=sorted(options.values()))


# exports(5) options that undo one another, by the setting they are about
_EXPORT_OPPOSITE = {"ro": "rw", "async": "sync", "insecure": "secure", "insecure_locks": "secure_locks"}


def _export_setting(option: str) -> str:
    """The setting an export option is about: rw and ro -> rw, no_root_squash -> root_squash,
    nohide -> hide, anonuid=1000 -> anonuid."""
    if "=" in option:
        return option.split("=", 1)[0]
    option = _EXPORT_OPPOSITE.get(option, option)
    for prefix in ("no_", "no"):
        if option.startswith(prefix) and len(option) > len(prefix):
            return option[len(prefix):]
    return option


class NetworkFilesystem(FilesystemResource):
    """A file system made and exported by the storage server."""

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        if params.get("name") is None:
            raise MissingKeyEx("a network file system needs a name", "name")
        self.name = validate_name(params["name"], "file system name")
        if not isinstance(backend, FileSystemPlugin):
            raise NoSuchOperationEx("file system '%s': the %s backend has no network file systems; give a device "
                                    "for a block based one" % (self.name, backend.scheme))
        if params.get("pool") is not None:
            validate_name(params["pool"], "pool name")
        for key in ("fstype", "opts"):
            if params.get(key) is not None:
                raise InvalidValueEx("%s applies to block based file systems (with device), not to network file "
                                     "system '%s'" % (key, self.name), key)
        self.size = None
        if params.get("size") is not None:
            self.size = round_up(parse_size(params["size"], "size"), backend.block_size)
        self.export = normalize_export(params.get("export"))

    def describe(self) -> str:
        return "file system '%s'" % self.name

    def read(self):
        return self.backend.get_filesystem(self.name)

    def plan(self, before):
        if self.params["state"] == "absent":
            return self._plan_absent(before)
        if self.export is not None:
            self._check_groups()
            # the server's own rules (clients and options it can serve), before anything changes
            self.export = self.backend.check_export(self.export)
        if before is None:
            return self._plan_create()
        return self._plan_update(before)

    def _check_groups(self) -> None:
        for group in self.export["access_groups"]:
            if not isinstance(self.backend, StorageArrayPlugin) or self.backend.get_access_group(group) is None:
                raise OperationPreReqNotMetEx(
                    "access group '%s' (in export.access_groups of %s) does not exist" % (group, self.describe()),
                    "export")

    def _plan_absent(self, before) -> Plan:
        if before is None:
            return Plan()
        self.backend.require("delete_filesystem", "delete %s" % self.describe())
        self.backend.check_filesystem_action(self.name, "delete")
        if before["state"] in ("MOUNTED", "MOUNTED_READONLY"):
            raise FileSystemBusyEx("%s is %s; unmount it first" % (self.describe(), before["status"].replace("OK, ", "")))
        if not self.params["force"]:
            reasons = []
            if before.get("consistency_group"):
                reasons.append("is a member of consistency group '%s'" % before["consistency_group"])
            if before.get("export_clients") or before.get("access_grp_names"):
                reasons.append("is exported (to %s)" % ", ".join(
                    list(before.get("export_clients") or []) + ["group " + g for g in before.get("access_grp_names") or []]))
            snaps = [snap["name"] for snap in self.backend.list_fs_snapshots(self.name)]
            if snaps:
                reasons.append("has snapshot(s) %s" % ", ".join(snaps))
            clones = [fs["name"] for fs in self.backend.list_filesystems() if fs.get("parent") == self.name]
            if clones:
                reasons.append("has clone(s) %s" % ", ".join(clones))
            if reasons:
                raise FileSystemBusyEx("%s %s; remove them first or set force: true" % (self.describe(), " and ".join(reasons)))
        return Plan("delete", after=None, steps=["delete"])

    def _plan_create(self) -> Plan:
        if self.size is None:
            raise MissingKeyEx("%s does not exist and size is not set: give a size to create it" % self.describe(), "size")
        self.backend.require("create_filesystem", "create %s" % self.describe())
        self.backend.check_filesystem_action(self.name, "create")
        export = self.export or dict(clients=[], access_groups=[], options=[])
        if export["clients"] or export["access_groups"]:
            self.backend.require("nfs_export", "export %s" % self.describe())
        pool = self.params["pool"] or self.backend.default_pool()
        free = _pool_free(self.backend, pool)
        if self.size > free:
            raise InvalidValueEx("%s needs %s but pool '%s' has %s free"
                                 % (self.describe(), format_size(self.size), pool, format_size(free)), "size")
        after = records.make(
            "file_system", name=self.name, uuid=None, size=self.size, free_sz=self.size, access_path=None,
            array_path="%s/%s" % (pool, self.name), mount_options=["bind"], export_opts=export["options"],
            export_clients=export["clients"], access_grp_names=export["access_groups"], state="UNMOUNTED",
            status="to be created", backing_device=pool, vol_group_name=pool)
        return Plan("create", after=after, steps=["create"], pool=pool, export=export)

    def _plan_update(self, before) -> Plan:
        if before.get("state") == "ERROR":
            # e.g. its directory is gone: an error to report, not a file system that is "ok"
            raise OperationPreReqNotMetEx(before.get("status") or "%s is in state ERROR" % self.describe(), "name")
        steps = []
        after = dict(before)
        pool = before.get("vol_group_name")
        if self.params["pool"] is not None and self.params["pool"] != pool:
            raise InvalidValueEx("%s is in pool '%s', not '%s'; moving a file system between pools is not supported"
                                 % (self.describe(), pool, self.params["pool"]), "pool")
        if self.size is not None and self.size != before["size"]:
            self.backend.require("resize_filesystem", "resize %s" % self.describe())
            used = before["size"] - before["free_sz"]
            if self.size < used:
                raise InvalidValueEx("%s holds %s; size %s is too small for it" % (
                    self.describe(), format_size(used), format_size(self.size)), "size")
            grow = self.size - before["size"]
            if grow > 0:
                free = _pool_free(self.backend, pool)
                if grow > free:
                    raise InvalidValueEx("%s at %s needs %s more but pool '%s' has %s free" % (
                        self.describe(), format_size(self.size), format_size(grow), pool, format_size(free)), "size")
            steps.append("resize")
            after.update(size=self.size, free_sz=max(before["free_sz"] + self.size - before["size"], 0))
        if self.export is not None:
            current = dict(clients=sorted(before.get("export_clients") or []),
                           access_groups=sorted(before.get("access_grp_names") or []),
                           options=sorted(set(before.get("export_opts") or [])))
            if current != self.export:
                self.backend.require("nfs_export", "change the export of %s" % self.describe())
                steps.append("export")
                after.update(export_clients=self.export["clients"], access_grp_names=self.export["access_groups"],
                             export_opts=self.export["options"])
        if not steps:
            return Plan()
        return Plan("update", after=after, steps=steps)

    def apply(self, plan, before, run):
        for step in plan.steps:
            if step == "create":
                run(self.backend.create_filesystem(self.name, plan.details["pool"], self.size, plan.details["export"]))
            elif step == "resize":
                run(self.backend.resize_filesystem(self.name, self.size))
            elif step == "export":
                run(self.backend.set_export(self.name, self.export))
            elif step == "delete":
                run(self.backend.delete_filesystem(self.name, self.params["force"]))


def _pool_free(backend, pool: str) -> int:
    for record in backend.list_pools():
        if record["vol_name"] == pool:
            return record["vol_free_sz"]
    names = ", ".join(record["vol_name"] for record in backend.list_pools())
    raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (pool, names), "pool")


class BlockFilesystem(FilesystemResource):
    """A file system on a block device or image file of this host."""

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.spec = params["device"]
        if params.get("pool") is not None or params.get("size") is not None or params.get("export") is not None:
            raise InvalidValueEx("%s: pool, size and export apply to network file systems, not with device"
                                 % self.describe(), "device")
        self.fstype = params.get("fstype")
        if self.fstype is not None and self.fstype not in _host.FSTYPES:
            raise InvalidFSTypeEx("%s: fstype %r is not one this module makes; choose one of %s"
                                  % (self.describe(), self.fstype, ", ".join(_host.FSTYPES)), "fstype")
        self.label = params.get("name")
        if self.label is not None:
            if not isinstance(self.label, str) or not self.label or any(c in self.label for c in "\n\t/"):
                raise InvalidValueEx("%s: label %r is not valid" % (self.describe(), self.label), "name")
            limit = _host.LABEL_MAX.get(self.fstype or "", 255)
            if len(self.label.encode("utf-8")) > limit:
                raise InvalidValueEx("%s: label %r is too long for %s (at most %d bytes)"
                                     % (self.describe(), self.label, self.fstype, limit), "name")
        self.opts = params.get("opts")
        if self.opts is not None:
            if params.get("state") == "absent":
                raise InvalidValueEx("%s: opts are arguments of mkfs; they do not apply to state: absent"
                                     % self.describe(), "opts")
            if self.fstype is not None:
                try:
                    self.opts = _host.check_mkfs_opts(self.fstype, self.opts)
                except InvalidValueEx as error:
                    raise InvalidValueEx("%s: %s" % (self.describe(), error.msg), "opts") from None

    def describe(self) -> str:
        label = self.params.get("name")
        if isinstance(label, str) and label:
            return "file system '%s' on %s" % (label, self.spec)
        return "file system on %s" % self.spec

    def _attachment(self, attach: bool):
        # without attach, an iSCSI LUN that is not attached is attached read-only to be looked at
        return _host.resolve_device(self.spec, self.params, attach=attach, probe=not attach)

    def read(self):
        if not getattr(self.backend, "read_only", False):
            # a loop device or scratch mount a killed run left: taken back, and said so
            _host.report(_host.reap_orphans())
        found = self._attachment(attach=False)
        try:
            return self._record(found, _host.mountinfo())
        finally:
            found.release()

    def _record(self, found, table) -> dict | None:
        if found.device is None:
            return None
        signature = _host.probe(found.device)
        if not signature.get("TYPE") and not signature.get("PTTYPE"):
            return None
        fstype = signature.get("TYPE") or signature.get("PTTYPE")
        mounts = _mounts_of(found, table)
        mount_point = mounts[0].mount_point if mounts else None
        size, free = self._device_bytes(found), 0
        if fstype in _host.FSTYPES:
            size, free = _host.fs_size(fstype, found.device, mount_point)
        if mounts:
            state = "MOUNTED_READONLY" if all(entry.readonly for entry in mounts) else "MOUNTED"
            status = "OK, mounted on %s" % ", ".join(sorted(entry.mount_point for entry in mounts))
        else:
            state, status = "UNMOUNTED", "OK"
        if not signature.get("TYPE"):
            status = "holds a %s partition table, not a file system" % signature["PTTYPE"]
        return records.make(
            "file_system", name=signature.get("LABEL") or self.spec, uuid=signature.get("UUID"), size=size,
            free_sz=free, mount_options=[], export_opts=[], state=state, status=status, fstype=fstype,
            backing_device=self.spec)

    @staticmethod
    def _device_bytes(found) -> int:
        # an image file's own size counts: its loop device may not have seen it grow yet
        return _host.device_size(found.backing_file if found.kind in ("loop", "file") else found.device)

    def plan(self, before):
        found = self._attachment(attach=False)
        try:
            return self._plan(before, found)
        finally:
            found.release()

    def _plan(self, before, found):
        mounts = _mounts_of(found, _host.mountinfo()) if found.device else []
        if self.params["state"] == "absent":
            if before is None:
                return Plan()
            if mounts:
                raise FileSystemBusyEx("%s is mounted on %s; unmount it first"
                                       % (self.describe(), ", ".join(entry.mount_point for entry in mounts)))
            return Plan("delete", after=None, steps=["wipe"])
        if self.fstype is None:
            raise MissingKeyEx("fstype is required to make %s (one of %s)" % (self.describe(), ", ".join(_host.FSTYPES)),
                               "fstype")
        device_bytes = self._device_bytes(found) if found.device else 0
        if before is not None and before["fstype"] == self.fstype:
            if self.params["grow"] and _host.needs_growth(before["size"], device_bytes):
                if self.fstype == "ext4" and mounts and not _host.has_capability(_host.CAP_SYS_RESOURCE):
                    raise OperationPreReqNotMetEx(
                        "%s is mounted on %s: growing a mounted ext4 needs the CAP_SYS_RESOURCE capability, which "
                        "this process lacks (a container?); unmount it and run the task again to grow it offline"
                        % (self.describe(), mounts[0].mount_point), "grow")
                return Plan("grow", after=dict(before, size=device_bytes,
                                               free_sz=before["free_sz"] + device_bytes - before["size"]),
                            steps=["grow"], mount_point=mounts[0].mount_point if mounts else None)
            return Plan()
        if before is not None:
            if mounts:
                raise FileSystemBusyEx("%s holds a mounted %s file system (on %s); it cannot be replaced"
                                       % (self.describe(), before["fstype"], mounts[0].mount_point))
            if not self.params["force"]:
                raise InvalidValueEx("%s already holds %s, not %s; set force: true to overwrite it (its data is lost)"
                                     % (self.describe(), _what(before), self.fstype), "force")
        after = records.make(
            "file_system", name=self.label or self.spec, uuid=None, size=device_bytes, free_sz=device_bytes,
            mount_options=[], export_opts=[], state="UNMOUNTED", status="to be made", fstype=self.fstype,
            backing_device=self.spec)
        return Plan("create" if before is None else "replace", after=after, steps=["mkfs"])

    def apply(self, plan, before, run):
        found = self._attachment(attach=True)
        try:
            for step in plan.steps:
                if step == "mkfs":
                    if self._made_meanwhile(found, before):
                        self._made_by_another = True
                        continue
                    _host.mkfs(self.fstype, found.device, self.label, self.opts)
                elif step == "grow":
                    # the mount may have changed since the plan: look again
                    mounts = _mounts_of(found, _host.mountinfo())
                    _host.grow(self.fstype, found.device, mounts[0].mount_point if mounts else None)
                elif step == "wipe":
                    _host.wipe(found.device)
        finally:
            found.release()

    def outcome(self, plan) -> dict:
        """With ``opts``: whether mkfs ran (or, in check mode, would run) with them. They are
        arguments of mkfs: a file system that is already there is not made again for them."""
        if self.opts is None or self.params["state"] != "present":
            return {}
        applied = "mkfs" in plan.steps and not getattr(self, "_made_by_another", False)
        if not applied:
            _host.report(["%s: opts were not applied: they are arguments of mkfs, and the file system exists already "
                          "(it is not made again; to make it again with them, wipe it first with state: absent)"
                          % self.describe()])
        return {"opts_applied": applied}

    def _made_meanwhile(self, found, before) -> bool:
        """Look again right before mkfs: a device that could not be read when planning (not
        attached yet) or that another run formatted since is never overwritten unasked."""
        signature = _host.probe(found.device)
        current = signature.get("TYPE") or signature.get("PTTYPE")
        if not current or (before is not None and current == before["fstype"]):
            return False  # what the plan saw and decided on
        if current == self.fstype:
            return True
        if self.params["force"]:
            return False
        raise InvalidValueEx("%s already holds %s, not %s; set force: true to overwrite it (its data is lost)"
                             % (self.describe(), current, self.fstype), "force")


def _what(record: dict) -> str:
    if record["status"].startswith("holds"):
        return "%s %s partition table" % (_article(record["fstype"]), record["fstype"])
    return "%s %s file system" % (_article(record["fstype"]), record["fstype"])


def _article(word: str) -> str:
    """'an' before ext4, xfs, LVM2_member...; 'a' before btrfs, gpt, dos."""
    return "an" if word[:1].lower() in "aeiox" or word[:3].lower() in ("lvm", "ntf") else "a"


def _mounts_of(found, table: list) -> list:
    """Live mounts of the device (for an image file: of any loop device backed by it)."""
    mounts = []
    for entry in table:
        if not entry.source.startswith("/dev/"):
            continue
        if found.backing_file:
            back = _host.loop_backing_file(entry.source)
            if back and os.path.realpath(back) == os.path.realpath(found.backing_file):
                mounts.append(entry)
        elif found.device and _host.same_device(entry.source, found.device):
            mounts.append(entry)
    return mounts
