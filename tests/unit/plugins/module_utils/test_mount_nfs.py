# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mount module with NFS exports (``fstype: nfs4``, ``src: host:/path``, or a file system
the Linux server serves over NFS).

MOCKED, AND WHY: the machines this project is tested on have no kernel NFS client (see
/work/shared/MACHINE.md: no kernel NFS client or server), so nothing here can mount NFS for
real. These tests pin the exact command lines the module runs (Runner.executor replaced)
and feed it the mount table as Linux shows an NFS mount: the mountinfo lines below follow
what the kernel prints for a mount of nfs-ganesha 4.3 by Linux 6.1 with nfs-common
(``nfs_show_options``: vers, rsize, wsize, namlen, hard, proto, port, timeo, retrans, sec,
clientaddr, local_lock, addr). The server side of NFS is tested for real in
tests/conformance/test_linux_server.py (libnfs clients) and the molecule scenario ``nas``.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _host, _mount, _mountinfo, records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidFSTypeEx,
    InvalidValueEx,
    OperationPreReqNotMetEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin

ROOT_LINE = "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard"
NFS_LINE = ("88 22 0:53 / {path} {flags} shared:120 - nfs4 {src} rw,vers=4.1,rsize=1048576,wsize=1048576,"
            "namlen=255,hard,proto=tcp,port={port},timeo=600,retrans=2,sec=sys,clientaddr=127.0.0.1,"
            "local_lock=none,addr=127.0.0.1")


class Commands:
    """Expects exactly these commands, in this order, and changes the mount table as they would."""

    def __init__(self, table: dict, steps: list) -> None:
        self.table = table
        self.steps = list(steps)

    def __call__(self, argv, input_text, timeout, env):
        assert self.steps, "unexpected command %r" % (argv,)
        expected, mounted = self.steps.pop(0)
        # the mount point is reached through a directory the module holds open (/proc/PID/fd/N/name)
        argv = [os.path.realpath(word) if word.startswith("/proc/") else word for word in argv]
        assert argv == expected
        if mounted is not None:
            self.table["lines"] = [ROOT_LINE] + ([mounted] if mounted else [])
        return 0, "", ""


@pytest.fixture
def host(monkeypatch, tmp_path):
    """A host with an NFS client, an empty mount table and a scratch fstab."""
    table = {"lines": [ROOT_LINE]}
    for where in (_host, _mountinfo):
        monkeypatch.setattr(where, "mountinfo", lambda: _host.parse_mountinfo("\n".join(table["lines"])))
    monkeypatch.setattr(_host, "known_fstypes", lambda: {"ext4", "nfs", "nfs4"})
    monkeypatch.setattr(Runner, "path", lambda self: self.program)
    point = tmp_path / "home"
    point.mkdir()

    def expect(*steps):
        commands = Commands(table, steps)
        monkeypatch.setattr(Runner, "executor", staticmethod(commands))
        return commands

    return dict(table=table, path=str(point), fstab=str(tmp_path / "fstab"), expect=expect)


def params(host, **values):
    base = dict((key, spec.get("default")) for key, spec in _mount.mount_argument_spec().items())
    base.update(server="sim://", username=None, password=None, path=host["path"], fstab=host["fstab"])
    base.update(values)
    return base


def run(backend, host, check_mode=False, **values):
    return converge(_mount.MountResource(backend, params(host, **values)), check_mode, Waiter(backend))


def line(host, src="127.0.0.1:/nas0/home", flags="rw,relatime", port=12049):
    return NFS_LINE.format(path=host["path"], src=src, flags=flags, port=port)


def test_mount_an_nfs_export_then_nothing_changes(host):
    opts = dict(src="127.0.0.1:/nas0/home", fstype="nfs4", opts="vers=4.1,port=12049", state="mounted")
    predicted = run(None, host, check_mode=True, **opts)
    assert predicted["changed"] and predicted["mount"]["src"] == "127.0.0.1:/nas0/home"
    commands = host["expect"](
        (["mount", "--no-canonicalize", "-t", "nfs4", "-o", "rw,suid,dev,exec,relatime,diratime,async,vers=4.1,port=12049",
          "--", "127.0.0.1:/nas0/home", host["path"]], line(host)))
    done = run(None, host, **opts)
    assert done["changed"] and commands.steps == []
    record = records.validate("mount", done["mount"])
    assert (record["src"], record["fstype"], record["mounted"]) == ("127.0.0.1:/nas0/home", "nfs4", True)
    with open(host["fstab"], encoding="utf-8") as handle:
        assert handle.read() == "127.0.0.1:/nas0/home %s nfs4 vers=4.1,port=12049 0 0\n" % host["path"]
    host["expect"]()  # no command at all
    assert run(None, host, check_mode=True, **opts)["changed"] is False
    assert run(None, host, **opts)["changed"] is False


def test_changed_options_are_remounted(host):
    host["table"]["lines"].append(line(host))
    opts = dict(src="127.0.0.1:/nas0/home", fstype="nfs4", opts="vers=4.1,port=12049,ro", state="mounted")
    commands = host["expect"](
        (["mount", "--no-canonicalize", "-o", "remount,ro,suid,dev,exec,relatime,diratime,async,vers=4.1,port=12049",
          "--", "127.0.0.1:/nas0/home", host["path"]], line(host, flags="ro,relatime")))
    done = run(None, host, **opts)
    assert done["action"] == "remount" and commands.steps == []


def test_unmount(host):
    host["table"]["lines"].append(line(host))
    commands = host["expect"]((["umount", "--no-canonicalize", "--", host["path"]], ""))
    done = run(None, host, state="unmounted")
    assert done["changed"] and commands.steps == []


def test_the_source_is_compared_not_only_the_mount_point(host):
    """A mount of another export at the path is not 'mounted' (ansible.posix.mount's bug 2)."""
    host["table"]["lines"].append(line(host, src="127.0.0.1:/nas0/other"))
    with pytest.raises(Exception) as info:
        run(None, host, src="127.0.0.1:/nas0/home", fstype="nfs4", state="mounted")
    assert type(info.value).__name__ == "FileSystemAlreadyMountedEx"
    host["table"]["lines"][-1] = line(host, src="127.0.0.1:/nas0/home/")  # the kernel may keep a trailing /
    assert run(None, host, src="127.0.0.1:/nas0/home", fstype="nfs4", opts="vers=4.1,port=12049",
               state="mounted")["changed"] is True  # only fstab is written
    assert run(None, host, src="127.0.0.1:/nas0/home", fstype="nfs4", opts="vers=4.1,port=12049",
               state="mounted")["changed"] is False


def test_a_host_without_an_nfs_client_is_told_what_to_install(host, monkeypatch):
    monkeypatch.setattr(_host, "known_fstypes", lambda: {"ext4"})
    host["expect"]()
    with pytest.raises(OperationPreReqNotMetEx, match="nfs-common"):
        run(None, host, src="127.0.0.1:/nas0/home", fstype="nfs4", state="mounted")
    with pytest.raises(OperationPreReqNotMetEx, match="nfs-common"):
        run(None, host, src="nas.example:/nas0/home", state="mounted")  # host:/path without fstype means nfs4


@pytest.mark.parametrize("src", ["127.0.0.1:nas0", "127.0.0.1:/a b", "127.0.0.1:/a,b", "-o:/x", "host:/../etc",
                                 "a:/x\n", "host:/p\u2028q", ":/x", "[zz]:/x", "host:/a\\b"])
def test_bad_nfs_sources(host, src):
    host["expect"]()
    with pytest.raises((InvalidValueEx, InvalidFSTypeEx)):
        run(None, host, src=src, fstype="nfs4", state="mounted")


class LinuxServer(FileSystemPlugin):
    """A backend answering as the Linux server does for a file system it serves over NFS."""

    scheme = "linux"

    def get_server(self):
        return {}

    def get_abilities(self):
        return {}

    def get_filesystem(self, name):
        return records.make(
            "file_system", name=name, uuid="548e6fab-5c6f-c44e-9359-212ccb5f69ef", size=1 << 30, free_sz=1 << 29,
            access_path="192.0.2.10:/nas0/%s" % name, nfs_url="nfs://192.0.2.10/nas0/%s?version=4" % name,
            mount_options=["vers=4.1"], export_opts=["rw"], export_clients=["192.0.2.0/24"], state="UNMOUNTED",
            status="OK", fstype="nfs4")


def test_a_file_system_of_the_linux_server_is_mounted_over_nfs(host):
    backend = LinuxServer(None)
    commands = host["expect"](
        (["mount", "--no-canonicalize", "-t", "nfs4", "-o", "vers=4.1,rw,suid,dev,exec,relatime,diratime,async", "--",
          "192.0.2.10:/nas0/home/projects", host["path"]], line(host, src="192.0.2.10:/nas0/home/projects", port=2049)))
    done = run(backend, host, filesystem="home", share_path="projects", state="mounted")
    assert done["changed"] and commands.steps == []
    assert (done["mount"]["fs_uuid"], done["mount"]["share_path"]) == ("548e6fab-5c6f-c44e-9359-212ccb5f69ef", "projects")
    with open(host["fstab"], encoding="utf-8") as handle:
        assert handle.read().split()[:4] == ["192.0.2.10:/nas0/home/projects", host["path"], "nfs4", "vers=4.1"]
    host["expect"]()
    assert run(backend, host, filesystem="home", share_path="projects", state="mounted")["changed"] is False
    with pytest.raises(InvalidFSTypeEx):
        run(backend, host, filesystem="home", fstype="ext4", state="mounted")
