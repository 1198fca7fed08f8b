# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A backend that says how hosts mount its file systems (``host_mount``: the ceph backend and
ceph-fuse): the mount module plans with what the backend gives, never with a bind mount.

The live table is parsed from a recorded mountinfo line; the mount itself (mount(8) with the
fuse.ceph helper, ceph-fuse) runs for real in the molecule scenario ``ceph``.
"""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _host, _mount
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidFSTypeEx, NoSuchOperationEx
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, ServerURI

# a ceph-fuse mount, as /proc/self/mountinfo shows it (Debian 12, ceph-fuse 16.2)
FUSE_LINE = ("50 27 0:54 / /mnt/share1 rw,nosuid,nodev,relatime - fuse.ceph-fuse ceph-fuse "
             "rw,user_id=0,group_id=0,allow_other\n")
OPTIONS = ["ceph.id=admin", "ceph.conf=/etc/ceph/ceph.conf", "ceph.client_mountpoint=/stormgmt/rbd/share1"]


class HookBackend(FileSystemPlugin):
    scheme = "hook"

    def __init__(self, owner: str = "uuid-1") -> None:
        super().__init__(ServerURI("hook://"))
        self.owner = owner

    def get_server(self):
        return {}

    def get_abilities(self):
        return {}

    def get_filesystem(self, name):
        return {"name": name, "uuid": "uuid-1", "access_path": None, "mount_options": OPTIONS,
                "export_clients": [], "access_grp_names": []}

    def host_mount(self, fs, share_path):
        if share_path:
            raise NoSuchOperationEx("no share_path")
        return {"src": "none", "fstype": "fuse.ceph", "options": list(fs["mount_options"]),
                "matches": lambda live, path: live.fstype == "fuse.ceph-fuse" and self.owner == fs["uuid"]}


def _resource(backend, **params):
    base = dict(path="/mnt/share1", filesystem="share1", src=None, fstype=None, opts=None, share_path=None,
                fstab="/nonexistent/fstab", dump=0, passno=0, state="mounted", server="hook://")
    base.update(params)
    return _mount.MountResource(backend, base)


@pytest.fixture
def table(monkeypatch):
    entries = _host.parse_mountinfo("")
    monkeypatch.setattr(_host, "mountinfo", lambda: entries)
    return entries


def test_the_backend_says_how_to_mount(table, monkeypatch):
    monkeypatch.setattr(_mount.os.path, "isdir", lambda path: True)
    plan = _resource(HookBackend()).plan(None)
    wanted = plan.details["wanted"]
    assert (wanted.kind, wanted.fstab_src, wanted.fstype, wanted.extra) == ("fuse", "none", "fuse.ceph", OPTIONS)
    assert plan.steps == ["mount", "fstab"]
    assert plan.details["entry"].line() == "none /mnt/share1 fuse.ceph %s 0 0" % ",".join(OPTIONS)


def test_a_live_mount_of_that_file_system_is_kept(table, monkeypatch):
    table.extend(_host.parse_mountinfo(FUSE_LINE))
    monkeypatch.setattr(_mount.os.path, "isdir", lambda path: True)
    resource = _resource(HookBackend())
    wanted = resource._wanted(for_mount=True)  # pylint: disable=protected-access
    assert _mount.live_is(wanted, table[-1], table, "/mnt/share1")
    # FUSE mounts are nosuid,nodev whatever the defaults say: only options a task names count
    assert resource._mount_steps(wanted, table[-1], None, table) == []  # pylint: disable=protected-access
    readonly = _resource(HookBackend(), opts="ro")
    assert readonly._mount_steps(  # pylint: disable=protected-access
        readonly._wanted(for_mount=True), table[-1], None, table) == ["remount"]  # pylint: disable=protected-access


def test_a_live_mount_of_something_else_is_not_taken_for_it(table, monkeypatch):
    table.extend(_host.parse_mountinfo(FUSE_LINE))
    resource = _resource(HookBackend(owner="another"))
    wanted = resource._wanted(for_mount=True)  # pylint: disable=protected-access
    assert not _mount.live_is(wanted, table[-1], table, "/mnt/share1")


def test_fstype_and_share_path_the_backend_refuses(table):
    with pytest.raises(InvalidFSTypeEx):
        _resource(HookBackend(), fstype="nfs4")._wanted(for_mount=True)  # pylint: disable=protected-access
    with pytest.raises(NoSuchOperationEx):
        _resource(HookBackend(), share_path="sub")._wanted(for_mount=True)  # pylint: disable=protected-access
