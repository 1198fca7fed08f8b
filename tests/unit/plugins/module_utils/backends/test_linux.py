# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Linux server backend without a server: URIs and halves, abilities of a NAS without
tgtd, the lazy file half, and the parsing of btrfs' output. The backend itself runs for
real in tests/conformance (a btrfs loop pool and nfs-ganesha)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._registry import backend_class, connect
from ansible_collections.stormgmt.core.plugins.module_utils.backends import _tgt_fs, linux, tgt
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    NoSuchOperationEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import FileSystemPlugin, ServerURI, check_abilities


@pytest.mark.parametrize("uri, block, files", [
    ("tgt:///srv/pool0?portal=127.0.0.1:3260", True, False),
    ("tgt:///srv/pool0", True, False),
    ("tgt:///srv/pool0?portal=127.0.0.1:3260&nfs_conf=/etc/ganesha/ganesha.conf", True, True),
    ("linux:///srv/nas0", False, True),
    ("linux:///srv/nas0?nfs_conf=/etc/stormgmt/ganesha/ganesha.conf&nfs_host=nas.example", False, True),
    ("linux:///srv/pool0?portal=127.0.0.1:3260", True, True),
])
def test_which_halves_a_uri_asks_for(uri, block, files):
    backend = connect(uri)
    assert isinstance(backend, linux.LinuxBackend) and (backend.block, backend.files) == (block, files)
    assert backend.scheme == ServerURI(uri).scheme and backend.uri.text == uri


@pytest.mark.parametrize("uri", [
    "linux:///srv/nas0?bogus=1", "linux:///srv/nas0?nfs_conf=relative.conf", "linux:///srv/nas0?nfs_conf=/a%20b.conf",
    "linux:///srv/nas0?nfs_host=a/b", "linux:///srv/nas0?nfs_host=a%0Ab", "tgt:///srv/pool0?nfs_host=x",
    "linux://host/srv/nas0", "linux:///", "linux:///srv/bad%20name",
])
def test_bad_uris(uri):
    with pytest.raises(ValueFormatEx):
        connect(uri)


def test_both_schemes_are_the_linux_backend():
    assert backend_class(ServerURI("tgt:///x")) is linux.LinuxBackend
    assert backend_class(ServerURI("linux:///x")) is linux.LinuxBackend


def test_a_nas_without_tgtd(tmp_path):
    """linux:// without a block parameter never asks tgtd anything: LUN abilities are
    unsupported, access groups hold NFS clients and have no target."""
    pool = tmp_path / "nas0"
    pool.mkdir()
    backend = connect("linux://%s?nfs_conf=%s" % (pool, tmp_path / "ganesha.conf"))
    abilities = check_abilities(backend.get_abilities())
    assert abilities["create_lun"] == "UNSUPPORTED" and abilities["iscsi_initiators"] == "NO"
    assert abilities["create_filesystem"] == "ONLINE" and abilities["access_groups"] == "ONLINE"
    group = backend.create_access_group("clients", ["192.0.2.0/24", "127.0.0.1"], [], None)
    assert (group["grp_entries"], group["target_iqn"], group["portal"]) == (["127.0.0.1", "192.0.2.0/24"], None, None)
    with pytest.raises(NoSuchOperationEx):
        backend.create_access_group("iscsi", ["iqn.2026-01.io.example:host"], [], None)
    with pytest.raises(NoSuchOperationEx):
        backend.create_lun("db", "nas0", 1 << 20, True, None)
    assert backend.list_luns() == [] and backend.get_lun("db") is None
    with pytest.raises(OperationPreReqNotMetEx):
        backend.delete_lun("db")
    assert backend.list_pools()[0]["vol_name"] == "nas0"


def test_a_block_server_without_files_says_how_to_get_them(tmp_path):
    backend = connect("tgt://%s?portal=127.0.0.1:3260" % tmp_path)
    assert backend.list_filesystems() == [] and backend.get_filesystem("x") is None
    with pytest.raises(NoSuchOperationEx, match="nfs_conf"):
        backend.create_filesystem("x", tmp_path.name, 1 << 20, {})


def test_access_group_acls_admit_initiators_only():
    """NFS clients in a group never reach tgtadm's ACL of its target."""
    calls = []

    class Tgtadm:
        def __getattr__(self, name):
            return lambda *args: calls.append((name,) + args)

    backend = tgt.TgtBackend.__new__(tgt.TgtBackend)
    backend.tgtadm = Tgtadm()
    backend.pool_dir = "/nonexistent"
    state = {"groups": {"g": {"target": "iqn.2026-11.io.stormgmt:g", "entries": ["192.0.2.1", "iqn.2026-01.io.x:a"],
                              "luns": {}, "chap": None}}, "luns": {}}
    live = {"targets": {}, "accounts": set()}
    backend._reconcile(state, "g", live)
    assert ("bind", 1, "iqn.2026-01.io.x:a") in calls and not [call for call in calls if "192.0.2.1" in call]


def test_the_file_half_does_not_shadow_the_block_half():
    """The mixin's private names never collide with the tgt backend's (a collision would call the wrong one)."""
    block = set(dir(linux.LinuxBackend))
    api = set(name for name in vars(FileSystemPlugin) if not name.startswith("__"))
    for name in vars(_tgt_fs.TgtFileSystems):
        if name.startswith("__") or name in api:
            continue
        assert name not in block or name in vars(linux.LinuxBackend), name


PROBE = """
import sys
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
backend = connect(sys.argv[1])
backend.get_lun('none') if backend.block else None
print(any(name.endswith('backends._tgt_fs') for name in sys.modules),
      any(name.endswith('module_utils._gw_nfs') for name in sys.modules))
"""


def test_a_lun_task_does_not_load_the_file_half(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    uri = "linux://%s?nfs_conf=/etc/ganesha/ganesha.conf" % tmp_path
    done = subprocess.run([sys.executable, "-c", PROBE, uri], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.split() == ["False", "False"]


QGROUPS = """\
Qgroupid    Referenced    Exclusive  Max referenced  Max exclusive   Path
--------    ----------    ---------  --------------  -------------   ----
0/5              16384        16384            none           none   <toplevel>
0/256         20955136     20955136        20971520           none   nas0/fs/home
0/257            16384        16384        67108864           none   nas0/fs/scratch
1/100                0            0            none           none   <0 member qgroups>
"""


def test_parse_qgroups():
    found = _tgt_fs.parse_qgroups(QGROUPS)
    assert found[256] == {"rfer": 20955136, "excl": 20955136, "max_rfer": 20971520}
    assert found[5]["max_rfer"] is None and set(found) == {5, 256, 257}


def test_subvolume_info_of_what_is_not_a_subvolume(tmp_path):
    assert _tgt_fs.subvolume_info(str(tmp_path)) is None
    assert _tgt_fs.subvolume_info(str(tmp_path / "missing")) is None


def test_urls_and_mount_options():
    assert _tgt_fs.nfs_url("127.0.0.1", 12049, "/nas0/home") == "nfs://127.0.0.1/nas0/home?version=4&nfsport=12049"
    assert _tgt_fs.nfs_url("2001:db8::1", 2049, "/p/h") == "nfs://[2001:db8::1]/p/h?version=4"
    assert _tgt_fs.mount_options(2049) == ["vers=4.1"] and _tgt_fs.mount_options(12049) == ["vers=4.1", "port=12049"]


def test_tree_digest_follows_content_and_stops_at_other_file_systems(tmp_path):
    (tmp_path / "a").write_text("one")
    first = _tgt_fs.tree_digest(str(tmp_path))
    assert _tgt_fs.tree_digest(str(tmp_path)) == first
    (tmp_path / "a").write_text("two!")
    assert _tgt_fs.tree_digest(str(tmp_path)) != first
    assert _tgt_fs.foreign_boundaries(str(tmp_path)) == []
