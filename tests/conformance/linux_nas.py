# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A throw-away Linux NAS for tests and benchmarks: a btrfs loop pool and an nfs-ganesha.

Everything lives under one work directory: the image, its mount, ganesha's configuration,
log, pid file and recovery directory, and (``dbus=True``) a private message bus that
ganesha registers on. ganesha listens on 127.0.0.1 on a port free at start-up, NFSv4
only, without a grace period. :meth:`stop` stops what it started (by pid), unmounts only
mounts under the work directory, and removes the directory: nothing is left.

Needs root, btrfs-progs, util-linux, nfs-ganesha and nfs-ganesha-vfs (and dbus-daemon
for ``dbus=True``). Not a pytest module: conftest.py and benchmarks/ use it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

NEEDS = ("mkfs.btrfs", "btrfs", "losetup", "mount", "ganesha.nfsd")

GANESHA_CONF = """# a throw-away nfs-ganesha of the stormgmt tests
NFS_CORE_PARAM {{
    Protocols = 4;
    NFS_Port = {port};
    Bind_addr = 127.0.0.1;
    Enable_NLM = false;
    Enable_RQUOTA = false;
}}
NFSV4 {{
    Graceless = true;
    RecoveryBackend = fs;
    RecoveryRoot = "{recovery}";
}}
NFS_KRB5 {{
    Active_krb5 = false;
}}
%dir "{exports}/*.conf"
"""

DBUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
  </policy>
  <policy user="root">
    <allow own="org.ganesha.nfsd"/>
    <allow send_destination="org.ganesha.nfsd"/>
  </policy>
</busconfig>
"""


# libnfs 4.0 (Debian 12) cannot encode an NFSv4 WRITE of 4 KiB or more ("ZDR error: Failed to
# encode COMPOUND4args"), so nfs-cp fails on files larger than that; nfs_write sends pieces of this size
WRITE_PIECE = 3072


class _NfsUrl(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("path", ctypes.c_char_p), ("file", ctypes.c_char_p)]


def nfs_write(url: str, data: bytes) -> str | None:
    """Write ``data`` to the file of an NFS URL with libnfs (user space), in WRITEs of
    WRITE_PIECE bytes. Returns None, or libnfs's error (NFS4ERR_DQUOT past a quota...)."""
    name = ctypes.util.find_library("nfs")
    if name is None:
        return "libnfs is not installed"
    lib = ctypes.CDLL(name)
    lib.nfs_init_context.restype = ctypes.c_void_p
    lib.nfs_get_error.restype = ctypes.c_char_p
    lib.nfs_get_error.argtypes = [ctypes.c_void_p]
    lib.nfs_parse_url_full.restype = ctypes.POINTER(_NfsUrl)
    lib.nfs_parse_url_full.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nfs_mount.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    lib.nfs_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                               ctypes.POINTER(ctypes.c_void_p)]
    lib.nfs_pwrite.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p]
    lib.nfs_pwrite.restype = ctypes.c_int
    lib.nfs_close.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.nfs_destroy_context.argtypes = [ctypes.c_void_p]
    nfs = lib.nfs_init_context()
    if not nfs:
        return "cannot make a libnfs context"
    try:
        parsed = lib.nfs_parse_url_full(nfs, url.encode())
        if not parsed:
            return (lib.nfs_get_error(nfs) or b"bad URL").decode()
        target = parsed.contents
        if lib.nfs_mount(nfs, target.server, target.path) != 0:
            return "mount: " + (lib.nfs_get_error(nfs) or b"").decode()
        handle = ctypes.c_void_p()
        if lib.nfs_create(nfs, target.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, ctypes.byref(handle)) != 0:
            return "create: " + (lib.nfs_get_error(nfs) or b"").decode()
        offset, error = 0, None
        while offset < len(data):
            piece = data[offset:offset + WRITE_PIECE]
            written = lib.nfs_pwrite(nfs, handle, offset, len(piece), piece)
            if written <= 0:
                error = "write at %d: %s" % (offset, (lib.nfs_get_error(nfs) or b"").decode())
                break
            offset += written
        if lib.nfs_close(nfs, handle) != 0 and error is None:
            error = "close: " + (lib.nfs_get_error(nfs) or b"").decode()
        return error
    finally:
        lib.nfs_destroy_context(nfs)


def missing_tools() -> list:
    return [tool for tool in NEEDS if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*argv: str) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), (done.stderr or done.stdout).strip()))
    return done.stdout


class LinuxNas:
    """A btrfs pool and an nfs-ganesha of their own, for ``linux://`` tests."""

    def __init__(self, image_size: str = "3G", dbus: bool = False, pool: str = "nas0", workdir: str | None = None) -> None:
        self.workdir = workdir or tempfile.mkdtemp(prefix="stormgmt-nas-")
        self.image = os.path.join(self.workdir, "pool.img")
        self.mnt = os.path.join(self.workdir, "mnt")
        self.pool_dir = os.path.join(self.mnt, pool)
        self.conf_dir = os.path.join(self.workdir, "ganesha")
        self.conf = os.path.join(self.conf_dir, "ganesha.conf")
        self.log = os.path.join(self.workdir, "ganesha.log")
        self.pidfile = os.path.join(self.workdir, "ganesha.pid")
        self.image_size = image_size
        self.dbus = dbus
        self.port = None
        self.ganesha = None
        self.bus_pid = None
        self.bus_address = None

    @property
    def uri(self) -> str:
        return "linux://%s?nfs_conf=%s" % (self.pool_dir, self.conf)

    def url(self, pseudo: str) -> str:
        return "nfs://127.0.0.1%s?version=4&nfsport=%d" % (pseudo, self.port)

    # --- life cycle ---------------------------------------------------------------
    def start(self) -> "LinuxNas":
        try:
            run("truncate", "--size", self.image_size, self.image)
            run("mkfs.btrfs", "-q", self.image)
            os.makedirs(self.mnt)
            run("mount", "-o", "loop", self.image, self.mnt)
            run("btrfs", "quota", "enable", self.mnt)
            os.makedirs(self.pool_dir, mode=0o700)
            os.makedirs(os.path.join(self.conf_dir, "exports.d"))
            os.makedirs(os.path.join(self.workdir, "recovery"))
            self.port = free_port()
            with open(self.conf, "w", encoding="utf-8") as handle:
                handle.write(GANESHA_CONF.format(port=self.port, recovery=os.path.join(self.workdir, "recovery"),
                                                 exports=os.path.join(self.conf_dir, "exports.d")))
            if self.dbus:
                self._start_bus()
            self.start_ganesha()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_bus(self) -> None:
        socket_path = os.path.join(self.workdir, "bus.sock")
        config = os.path.join(self.workdir, "bus.conf")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(DBUS_CONF.format(socket=socket_path))
        out = run("dbus-daemon", "--config-file=" + config, "--fork", "--print-pid")
        self.bus_pid = int(out.split()[0])
        self.bus_address = "unix:path=" + socket_path

    def start_ganesha(self) -> None:
        env = dict(os.environ)
        # without dbus=True ganesha gets a bus that does not exist: the backend uses SIGHUP
        env["DBUS_SYSTEM_BUS_ADDRESS"] = self.bus_address or "unix:path=%s/no-bus" % self.workdir
        with open(self.log, "a", encoding="utf-8") as log:
            self.ganesha = subprocess.Popen(  # noqa: S603
                ["ganesha.nfsd", "-F", "-f", self.conf, "-L", self.log, "-p", self.pidfile, "-N", "NIV_EVENT"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.workdir)
        deadline = time.monotonic() + 30
        while True:
            if self.ganesha.poll() is not None:
                raise RuntimeError("ganesha.nfsd exited with %s; see %s" % (self.ganesha.returncode, self.log))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("ganesha.nfsd does not listen on 127.0.0.1:%d; see %s" % (self.port, self.log))
                time.sleep(0.1)

    def stop_ganesha(self) -> None:
        if self.ganesha is None:
            return
        if self.ganesha.poll() is None:
            self.ganesha.send_signal(signal.SIGTERM)
            try:
                self.ganesha.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.ganesha.kill()
                self.ganesha.wait()
        self.ganesha = None

    def restart_ganesha(self) -> None:
        self.stop_ganesha()
        self.start_ganesha()

    def mounts_below(self) -> list:
        """Mount points under the work directory, deepest first."""
        found = []
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            for line in handle:
                point = line.split()[4].replace("\\040", " ")
                if point == self.mnt or point.startswith(self.workdir + "/"):
                    found.append(point)
        return sorted(set(found), key=len, reverse=True)

    def stop(self) -> None:
        self.stop_ganesha()
        if self.bus_pid:
            try:
                os.kill(self.bus_pid, signal.SIGTERM)
            except OSError:
                pass
            self.bus_pid = None
        for point in self.mounts_below():
            subprocess.run(["umount", point], capture_output=True, check=False)
        if os.path.exists(self.image):
            # mount -o loop frees its loop device on unmount; one left by a crash is ours to free
            out = subprocess.run(["losetup", "-j", self.image], capture_output=True, text=True, check=False).stdout
            for line in out.splitlines():
                subprocess.run(["losetup", "-d", line.split(":", 1)[0]], capture_output=True, check=False)
        if not self.mounts_below():
            shutil.rmtree(self.workdir, ignore_errors=True)


def run_batch(commands: list) -> list:
    """Run each argv of ``commands`` (["put", URL, BYTES] writes with nfs_write) and return
    [{rc, stdout, stderr}]: many client checks for the price of one process of the caller."""
    results = []
    for argv in commands:
        if argv[:1] == ["put"]:
            problem = nfs_write(argv[1], b"x" * int(argv[2]))
            results.append({"rc": 1 if problem else 0, "stdout": "", "stderr": problem or ""})
            continue
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
        results.append({"rc": done.returncode, "stdout": done.stdout.strip(), "stderr": done.stderr.strip()})
    return results


if __name__ == "__main__":
    # python linux_nas.py put URL BYTES [FILL]: write BYTES bytes (of FILL, default "x") with libnfs
    # python linux_nas.py batch < JSON: run a list of argv (see run_batch), print the results as JSON
    if len(sys.argv) in (4, 5) and sys.argv[1] == "put":
        problem = nfs_write(sys.argv[2], (sys.argv[4] if len(sys.argv) == 5 else "x").encode()[:1] * int(sys.argv[3]))
        if problem:
            sys.exit("nfs_write: " + problem)
        sys.exit(0)
    if len(sys.argv) == 2 and sys.argv[1] == "batch":
        import json  # pylint: disable=import-outside-toplevel
        print(json.dumps(run_batch(json.load(sys.stdin))))
        sys.exit(0)
    sys.exit("usage: linux_nas.py put NFS-URL BYTES [FILL] | linux_nas.py batch < COMMANDS.json")
