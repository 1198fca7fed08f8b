# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""iSCSI LUNs on this host: attach ``iscsi://host[:port]/target-iqn/lun``, detach. Private to this collection.

Two ways in, chosen per host:

* the kernel initiator (open-iscsi, ``iscsiadm``) where the kernel has ``iscsi_tcp``:
  a node record (with an iface carrying the initiator name), CHAP in the node
  record, login; the device is ``/dev/disk/by-path/ip-<portal>-iscsi-<iqn>-lun-<n>``;
* in user space otherwise: ``qemu-storage-daemon`` logs in with libiscsi and exports
  the LUN as a plain file through FUSE; a loop device on that file is the block
  device. The daemon, its FUSE file and pid file live in
  ``/run/stormgmt/iscsi/<key>/`` (``key``: portal, target, LUN and initiator), so a
  later task (``mount`` unmounting, ``filesystem`` making a file system) finds the
  attachment again, and detaching leaves nothing running.

CHAP secrets reach qemu-storage-daemon on its standard input (a ``secret`` object
read from ``/dev/stdin``), never on a command line or in a file. qemu's iSCSI
driver cannot authenticate the target, so mutual CHAP needs the kernel initiator.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import time
from urllib.parse import unquote, urlsplit

from ansible_collections.stormgmt.core.plugins.module_utils import _mountinfo
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import normalize_iqn, normalize_initiator
from ansible_collections.stormgmt.core.plugins.module_utils._runner import (
    Runner,
    fixed,
    flag,
    key_values,
    opt_val,
    positional,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    LoginFailedEx,
    LogoutFailedEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)

STATE_DIR = "/run/stormgmt/iscsi"
DEFAULT_PORT = 3260
INITIATOR_FILE = "/etc/iscsi/initiatorname.iscsi"
STOP_TIMEOUT = 30.0

QSD = Runner("qemu-storage-daemon", {
    "secret": key_values("--object"),
    "blockdev": key_values("--blockdev"),
    "export": key_values("--export"),
    "daemonize": fixed("--daemonize"),
    "pidfile": opt_val("--pidfile"),
}, package="qemu-utils, qemu-block-extra and fuse3", timeout=120)
FUSERMOUNT = Runner("fusermount3", {"unmount": fixed("-u"), "quiet": fixed("-q"), "end": fixed("--"), "path": positional()},
                    package="fuse3")
ISCSIADM = Runner("iscsiadm", {
    "mode": opt_val("--mode"),
    "targetname": opt_val("--targetname"),
    "portal": opt_val("--portal"),
    "interface": opt_val("--interface"),
    "op": opt_val("--op"),
    "name": opt_val("--name"),
    "value": opt_val("--value"),
    "login": flag("--login"),
    "logout": flag("--logout"),
}, package="open-iscsi", secrets=("value",), error=LoginFailedEx)
UDEVADM = Runner("udevadm", {"settle": fixed("settle")}, package="udev")


def iscsi_argument_spec() -> dict:
    """Options of modules that attach iSCSI LUNs (doc fragment stormgmt.core.iscsi_initiator)."""
    return dict(
        initiator_name=dict(type="str"),
        chap=dict(
            type="dict",
            options=dict(
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                mutual_username=dict(type="str"),
                mutual_password=dict(type="str", no_log=True),
            ),
            required_together=[("mutual_username", "mutual_password")],
        ),
    )


# --- what the user names -------------------------------------------------------------

class IscsiLun:
    """A parsed ``iscsi://host[:port]/target-iqn/lun`` plus how to log in."""

    def __init__(self, url: str, initiator_name: str | None = None, chap: dict | None = None) -> None:
        self.url = url
        parts = urlsplit(url)
        if parts.scheme.lower() != "iscsi" or not parts.hostname:
            raise ValueFormatEx("device %r is not an iSCSI URL: expected iscsi://host[:port]/target-iqn/lun" % url,
                                "device")
        if parts.username is not None or parts.password is not None:
            raise ValueFormatEx("device %r must not carry CHAP credentials; use the chap option" % url,
                                "device")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise ValueFormatEx("device %r has an invalid port" % url, "device") from None
        path = unquote(parts.path).strip("/").split("/")
        if len(path) != 2 or not path[1].isdigit():
            raise ValueFormatEx("device %r: expected iscsi://host[:port]/target-iqn/lun with a LUN number" % url,
                                "device")
        self.host = parts.hostname
        self.port = port
        self.target = normalize_target(path[0])
        self.lun = int(path[1])
        self.initiator = normalize_iqn(initiator_name) if initiator_name else default_initiator_name()
        self.chap = dict(chap) if chap else None
        if self.chap is not None:
            for key in ("password", "mutual_password"):
                secret = self.chap.get(key)
                if secret is not None and not 12 <= len(secret) <= 255:
                    raise InvalidValueEx("chap %s must be 12 to 255 characters long" % key, "chap")

    @property
    def portal(self) -> str:
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (host, self.port)

    @property
    def key(self) -> str:
        """Names the attachment: one per portal, target, LUN and initiator."""
        text = "%s|%s|%d|%s" % (self.portal, self.target, self.lun, self.initiator)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def __str__(self) -> str:
        return "iscsi://%s/%s/%d" % (self.portal, self.target, self.lun)


def normalize_target(name: str) -> str:
    try:
        return normalize_initiator(name)  # IQN, EUI or NAA: the same forms name targets
    except ValueFormatEx:
        raise ValueFormatEx("%r is not an iSCSI target name (IQN, EUI or NAA)" % name, "device") from None


def default_initiator_name() -> str:
    """This host's open-iscsi initiator name, else one made from the host name."""
    with contextlib.suppress(OSError):
        with open(INITIATOR_FILE, "r", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("InitiatorName="):
                    return normalize_iqn(line.split("=", 1)[1].strip())
    host = re.sub(r"[^a-z0-9.-]+", "-", socket.gethostname().lower()).strip("-.") or "host"
    return "iqn.2026-11.io.stormgmt:%s" % host


def _escape(value) -> str:
    """qemu option values: a comma is written twice."""
    return str(value).replace(",", ",,")


# --- which initiator ------------------------------------------------------------------

def kernel_initiator() -> bool:
    """open-iscsi can log in only when the kernel has the iSCSI TCP transport."""
    return ISCSIADM.available() and (os.path.isdir("/sys/module/iscsi_tcp")
                                     or os.path.isdir("/sys/class/iscsi_transport/tcp"))


class Attached:
    """An attached LUN: ``device`` is the block device (or, for a read-only probe, a file)."""

    def __init__(self, lun: IscsiLun, device: str, method: str, state_dir: str | None = None,
                 fuse_file: str | None = None, created: bool = False) -> None:
        self.lun = lun
        self.device = device
        self.method = method        # kernel, qemu, qemu-probe
        self.state_dir = state_dir
        self.fuse_file = fuse_file
        self.created = created      # this call attached it

    def detach(self) -> None:
        if self.method == "kernel":
            _kernel_logout(self.lun)
        else:
            _qemu_stop(self.state_dir, self.device if self.method == "qemu" else None)


# --- user space: qemu-storage-daemon + FUSE + loop ---------------------------------------

def _pid_alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid, "r") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _read_pid(state_dir: str) -> int | None:
    try:
        with open(os.path.join(state_dir, "qsd.pid"), "r") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _fuse_mounted(path: str) -> bool:
    entry = _mountinfo.mount_at(path)
    return entry is not None and entry.fstype.startswith("fuse")


def _loop_of(fuse_file: str) -> str | None:
    loops = _mountinfo.loops_of(fuse_file)
    return loops[0] if loops else None


def _qemu_start(lun: IscsiLun, state_dir: str, fuse_file: str, readonly: bool) -> None:
    if lun.chap and lun.chap.get("mutual_username"):
        raise NoSuchOperationEx(
            "%s: mutual CHAP needs the kernel initiator (open-iscsi); this host attaches iSCSI LUNs in user "
            "space with qemu-storage-daemon, which cannot authenticate the target" % lun)
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    os.chmod(state_dir, 0o700)
    with open(fuse_file, "a"):
        pass
    os.chmod(fuse_file, 0o600)
    blockdev = {
        "driver": "iscsi", "node-name": "lun", "transport": "tcp", "portal": _escape(lun.portal),
        "target": _escape(lun.target), "lun": lun.lun, "initiator-name": _escape(lun.initiator),
    }
    values = {}
    order = ["blockdev", "export", "daemonize", "pidfile"]
    if lun.chap:
        blockdev["user"] = _escape(lun.chap["username"])
        blockdev["password-secret"] = "chap"
        values["secret"] = {"qom-type": "secret", "id": "chap", "file": "/dev/stdin"}
        order.insert(0, "secret")
    if readonly:
        blockdev["read-only"] = "on"
    values["blockdev"] = blockdev
    values["export"] = {"type": "fuse", "id": "export", "node-name": "lun", "mountpoint": _escape(fuse_file),
                        "writable": "off" if readonly else "on"}
    values["pidfile"] = os.path.join(state_dir, "qsd.pid")
    result = QSD(order, check_rc=False, input_text=lun.chap["password"] if lun.chap else "", **values)
    if result.rc != 0:
        message = (result.err or result.out).strip().splitlines()
        message = message[-1] if message else "no message"
        # "qemu-storage-daemon: --blockdev <all options>: iSCSI: Failed to ...": keep what iSCSI said
        message = message.split(": iSCSI: ", 1)[-1]
        if lun.chap:
            message = message.replace(lun.chap["password"], "********")
        with contextlib.suppress(OSError):
            shutil.rmtree(state_dir)
        if "Authentication" in message or "log in" in message or "Login" in message:
            raise LoginFailedEx("iSCSI login to target %s (portal %s) as initiator %s failed: %s"
                                % (lun.target, lun.portal, lun.initiator, message))
        raise OperationFailedEx("qemu-storage-daemon could not attach LUN %d of target %s (portal %s): %s"
                                % (lun.lun, lun.target, lun.portal, message))


def _qemu_stop(state_dir: str, loop: str | None) -> None:
    """Loop device, FUSE mount, daemon, state directory: in that order."""
    fuse_file = os.path.join(state_dir, "lun")
    loops = [loop] if loop else []
    if os.path.exists(fuse_file):
        loops = list(set(loops + _mountinfo.loops_of(fuse_file)))
    for device in loops:
        mounted = [entry.mount_point for entry in _mountinfo.mountinfo() if entry.source == device]
        if mounted:
            raise FileSystemBusyEx("%s is still mounted on %s; unmount it before detaching the LUN"
                                   % (device, ", ".join(mounted)))
        _mountinfo.loop_detach(device)
    if _fuse_mounted(fuse_file):
        FUSERMOUNT("unmount quiet end path", path=fuse_file)
    pid = _read_pid(state_dir)
    if pid is not None and _pid_alive(pid):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while _pid_alive(pid):
            if time.monotonic() >= deadline:
                raise LogoutFailedEx("qemu-storage-daemon (pid %d) did not stop within %ds" % (pid, STOP_TIMEOUT))
            time.sleep(0.05)
    with contextlib.suppress(OSError):
        shutil.rmtree(state_dir)


def _write_info(state_dir: str, lun: IscsiLun, loop: str | None) -> None:
    info = {"url": lun.url, "portal": lun.portal, "target": lun.target, "lun": lun.lun,
            "initiator": lun.initiator, "loop": loop, "attached": time.time()}
    path = os.path.join(state_dir, "info.json")
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(info, handle)
    os.replace(path + ".tmp", path)


def _qemu_attach(lun: IscsiLun, readonly: bool) -> Attached:
    state_dir = os.path.join(STATE_DIR, lun.key)
    fuse_file = os.path.join(state_dir, "lun")
    pid = _read_pid(state_dir)
    if pid is not None and _pid_alive(pid) and _fuse_mounted(fuse_file):
        loop = _loop_of(fuse_file)
        if loop is None and not readonly:
            loop = _mountinfo.loop_attach(fuse_file)
            _write_info(state_dir, lun, loop)
            return Attached(lun, loop, "qemu", state_dir, fuse_file, created=True)
        if loop is not None:
            return Attached(lun, loop, "qemu", state_dir, fuse_file)
    elif os.path.isdir(state_dir):
        _qemu_stop(state_dir, None)  # what a killed run left behind
    _stop_orphan_probes(lun.key)
    if readonly:
        # a look at the LUN (blkid, file system size) needs no loop device and no write access
        probe_dir = os.path.join(STATE_DIR, "%s.probe.%d" % (lun.key, os.getpid()))
        probe_file = os.path.join(probe_dir, "lun")
        _qemu_start(lun, probe_dir, probe_file, readonly=True)
        return Attached(lun, probe_file, "qemu-probe", probe_dir, probe_file, created=True)
    _qemu_start(lun, state_dir, fuse_file, readonly=False)
    try:
        loop = _mountinfo.loop_attach(fuse_file)
        _write_info(state_dir, lun, loop)
    except Exception:
        _qemu_stop(state_dir, None)
        raise
    return Attached(lun, loop, "qemu", state_dir, fuse_file, created=True)


def _stop_orphan_probes(key: str) -> None:
    """Read-only probes of runs that were killed before they detached them."""
    with contextlib.suppress(OSError):
        for entry in os.listdir(STATE_DIR):
            owner = entry.rsplit(".", 1)[-1]
            if entry.startswith(key + ".probe.") and owner.isdigit() and not _pid_alive(int(owner)):
                _qemu_stop(os.path.join(STATE_DIR, entry), None)


def find_attachment(device: str) -> Attached | None:
    """The attachment behind block device ``device`` (a loop on one of our FUSE files), or None."""
    back = _mountinfo.loop_backing_file(device)
    if not back or not back.startswith(STATE_DIR + "/"):
        return None
    state_dir = os.path.dirname(back)
    try:
        with open(os.path.join(state_dir, "info.json"), "r", encoding="utf-8") as handle:
            info = json.load(handle)
        lun = IscsiLun(info["url"], info["initiator"])
    except (OSError, ValueError, KeyError):
        return Attached(None, device, "qemu", state_dir, back)
    return Attached(lun, device, "qemu", state_dir, back)


def release_device(device: str) -> bool:
    """Detach the iSCSI LUN behind ``device`` if it is one of ours; True when it was."""
    found = find_attachment(device)
    if found is None:
        return False
    found.detach()
    return True


# --- kernel: open-iscsi -------------------------------------------------------------------

def _by_path(lun: IscsiLun) -> str:
    return "/dev/disk/by-path/ip-%s-iscsi-%s-lun-%d" % (lun.portal, lun.target, lun.lun)


def _iface(lun: IscsiLun) -> str:
    return "stormgmt-" + hashlib.sha256(lun.initiator.encode("utf-8")).hexdigest()[:8]


def _node(lun: IscsiLun, order: str, **values):
    return ISCSIADM("mode targetname portal interface " + order, mode="node", targetname=lun.target,
                    portal=lun.portal, interface=_iface(lun), **values)


def _kernel_login(lun: IscsiLun) -> Attached:
    device = _by_path(lun)
    if os.path.exists(device):
        return Attached(lun, os.path.realpath(device), "kernel")
    iface = _iface(lun)
    if ISCSIADM("mode interface op", check_rc=False, mode="iface", interface=iface, op="show").rc != 0:
        ISCSIADM("mode interface op", mode="iface", interface=iface, op="new")
    ISCSIADM("mode interface op name value", mode="iface", interface=iface, op="update",
             name="iface.initiatorname", value=lun.initiator)
    _node(lun, "op", op="new")
    settings = [("node.session.auth.authmethod", "CHAP" if lun.chap else "None")]
    if lun.chap:
        settings += [("node.session.auth.username", lun.chap["username"]),
                     ("node.session.auth.password", lun.chap["password"])]
        if lun.chap.get("mutual_username"):
            settings += [("node.session.auth.username_in", lun.chap["mutual_username"]),
                         ("node.session.auth.password_in", lun.chap["mutual_password"])]
    for name, value in settings:
        _node(lun, "op name value", op="update", name=name, value=value)
    _node(lun, "login", login=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(device):
        if time.monotonic() >= deadline:
            raise LoginFailedEx("%s: logged in but %s did not appear" % (lun, device))
        with contextlib.suppress(OperationFailedEx, OperationPreReqNotMetEx):
            UDEVADM("settle")
        time.sleep(0.2)
    return Attached(lun, os.path.realpath(device), "kernel", created=True)


def _kernel_logout(lun: IscsiLun) -> None:
    _node(lun, "logout", logout=True, error=LogoutFailedEx)


# --- the entry points -------------------------------------------------------------------

def attach(url: str, params: dict | None = None, readonly: bool = False) -> Attached:
    """Attach the LUN ``url`` names, or find it attached already.

    ``params``: module options ``initiator_name`` and ``chap``. ``readonly``:
    only to look at the LUN (no loop device in user space); the caller detaches it.
    """
    params = params or {}
    lun = IscsiLun(url, params.get("initiator_name"), params.get("chap"))
    if kernel_initiator():
        return _kernel_login(lun)
    return _qemu_attach(lun, readonly)


def attached(url: str, params: dict | None = None) -> Attached | None:
    """The existing read-write attachment of ``url``, or None (attaches nothing)."""
    params = params or {}
    lun = IscsiLun(url, params.get("initiator_name"), params.get("chap"))
    if kernel_initiator():
        device = _by_path(lun)
        return Attached(lun, os.path.realpath(device), "kernel") if os.path.exists(device) else None
    state_dir = os.path.join(STATE_DIR, lun.key)
    fuse_file = os.path.join(state_dir, "lun")
    pid = _read_pid(state_dir)
    if pid is None or not _pid_alive(pid) or not _fuse_mounted(fuse_file):
        return None
    loop = _loop_of(fuse_file)
    return Attached(lun, loop, "qemu", state_dir, fuse_file) if loop else None
