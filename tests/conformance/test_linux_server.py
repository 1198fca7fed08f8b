# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Linux server's file half for real, beyond the conformance contract: what NFS clients
see (libnfs, user space), a ganesha restart and a reboot, the guards around mounts and data
this server did not make, and input that must never reach ganesha's configuration.

Uses the Linux NAS the suite starts (btrfs loop pool, nfs-ganesha on 127.0.0.1 on a free
port); skipped with --backend, since these tests restart ganesha and unmount in its pool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._filesystem import (
    FilesystemResource,
    filesystem_argument_spec,
)
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    IPluginException,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import linux_nas  # noqa: E402  pylint: disable=wrong-import-position

MiB = 1024 * 1024
RW_ROOT = ["no_root_squash", "rw"]


def lists(url: str) -> bool:
    return subprocess.run(["nfs-ls", url], capture_output=True, check=False, timeout=60).returncode == 0


def cat(url: str):
    done = subprocess.run(["nfs-cat", url], capture_output=True, check=False, timeout=120)
    return done.stdout if done.returncode == 0 else None


def put(url: str, data: bytes):
    return linux_nas.nfs_write(url, data)


def file_url(record: dict, name: str) -> str:
    base, _sep, query = record["nfs_url"].partition("?")
    return "%s/%s?%s" % (base, name, query)


def export(clients, options=None, groups=None):
    return {"clients": list(clients), "access_groups": list(groups or []), "options": list(options or RW_ROOT)}


@pytest.fixture
def nas(linux_nas, files):
    return linux_nas


def _params(**values):
    params = dict((key, option.get("default")) for key, option in filesystem_argument_spec().items())
    params.update(values)
    return params


# --- what clients see ----------------------------------------------------------------------------

def test_only_listed_clients_get_in_and_a_change_reaches_the_running_server(nas, files, make_fs):
    fs = make_fs("fs", export=export(["127.0.0.2"]))
    assert not lists(fs["nfs_url"])  # this client is 127.0.0.1: not listed, the export is not even visible
    fs = files.set_export(fs["name"], export(["127.0.0.2", "127.0.0.1"]))
    assert lists(fs["nfs_url"])
    fs = files.set_export(fs["name"], export(["127.0.0.0/30"]))  # a network holding this client
    assert lists(fs["nfs_url"])
    files.set_export(fs["name"], {})
    assert not lists(fs["nfs_url"])


def test_read_only_export_refuses_writes(nas, files, make_fs):
    fs = make_fs("fs", export=export(["127.0.0.1"], ["ro", "no_root_squash"]))
    assert put(file_url(fs, "x"), b"no") is not None
    fs = files.set_export(fs["name"], export(["127.0.0.1"]))
    assert put(file_url(fs, "x"), b"yes") is None and cat(file_url(fs, "x")) == b"yes"


def test_root_is_squashed_unless_the_export_says_otherwise(nas, files, make_fs):
    fs = make_fs("fs", export=export(["127.0.0.1"], ["rw"]))  # root_squash by default (exports(5))
    assert put(file_url(fs, "as-root"), b"x") is not None  # nobody may not write into root's 0755 directory
    fs = files.set_export(fs["name"], export(["127.0.0.1"], ["rw", "all_squash", "anonuid=0", "anongid=0"]))
    assert put(file_url(fs, "as-anon-0"), b"x") is None


def test_writing_past_the_size_fails_with_edquot(nas, files, make_fs):
    fs = make_fs("fs", 8 * MiB)
    problem = put(file_url(fs, "big"), b"x" * (12 * MiB))
    assert problem is not None and "NFS4ERR_DQUOT" in problem
    assert files.get_filesystem(fs["name"])["free_sz"] < MiB
    files.delete_filesystem(fs["name"], True)


def test_snapshots_are_served_read_only_beside_the_file_system(nas, files, make_fs):
    fs = make_fs("fs")
    assert put(file_url(fs, "v"), b"one") is None
    snap = files.create_fs_snapshot(fs["name"], "nightly")
    url = nas.url("/%s/.snapshots/%s/nightly" % (os.path.basename(nas.pool_dir), fs["name"]))
    assert snap["path"][1] == "127.0.0.1:" + url.split("127.0.0.1", 1)[1].split("?")[0]
    assert put(file_url(fs, "w"), b"two") is None
    base, _sep, query = url.partition("?")
    assert cat("%s/v?%s" % (base, query)) == b"one"
    assert cat("%s/w?%s" % (base, query)) is None
    assert put("%s/z?%s" % (base, query), b"no") is not None  # read-only


def test_a_change_of_one_export_does_not_drop_the_clients_of_another(nas, files, make_fs):
    busy = make_fs("busy")
    other = make_fs("other")
    data = os.urandom(48 * MiB)
    assert put(file_url(busy, "stream"), data) is None
    result = {}
    reader = threading.Thread(target=lambda: result.update(data=cat(file_url(busy, "stream"))))
    reader.start()
    for index in range(6):
        files.set_export(other["name"], export(["127.0.0.1", "192.0.2.%d" % (index + 1)]))
    reader.join(120)
    assert result.get("data") == data


def test_a_ganesha_restart_keeps_every_export(nas, files, make_fs):
    fs = make_fs("fs")
    files.create_fs_snapshot(fs["name"], "before")
    assert put(file_url(fs, "kept"), b"kept") is None
    nas.restart_ganesha()
    assert cat(file_url(fs, "kept")) == b"kept"
    assert lists(nas.url("/%s/.snapshots/%s/before" % (os.path.basename(nas.pool_dir), fs["name"])))


def test_after_a_reboot_the_next_task_serves_the_exports_again(nas, files, make_fs):
    """A reboot takes the export mounts away, and a ganesha started before they are back
    cannot export the file systems; the next connection puts both back."""
    fs = make_fs("fs")
    assert put(file_url(fs, "kept"), b"kept") is None
    nas.stop_ganesha()
    for point in nas.mounts_below():
        if point != nas.mnt:
            subprocess.run(["umount", point], check=True)
    nas.start_ganesha()
    assert not lists(fs["nfs_url"])
    backend = connect(nas.uri)
    record = backend.get_filesystem(fs["name"])
    assert record["state"] != "ERROR", record["status"]
    assert cat(file_url(fs, "kept")) == b"kept"
    backend.close()


def test_group_members_follow_into_the_exports(nas, files, make_fs, names):
    files.create_access_group(names("grp"), ["127.0.0.2"], [], None)
    fs = make_fs("fs", export=export([], RW_ROOT, [names("grp")]))
    assert not lists(fs["nfs_url"])
    files.update_access_group(names("grp"), {"add_entries": ["127.0.0.1"]})
    assert lists(fs["nfs_url"])
    files.update_access_group(names("grp"), {"remove_entries": ["127.0.0.1"]})
    assert not lists(fs["nfs_url"])


# --- nothing reaches the configuration but what was meant -----------------------------------------

def test_injection_is_impossible_and_changes_nothing(nas, files, make_fs):
    fs = make_fs("fs")
    conf = os.path.join(nas.conf_dir, "exports.d", "%s@%s.conf" % (os.path.basename(nas.pool_dir), fs["name"]))
    with open(conf, "rb") as handle:
        before = handle.read()
    bad_clients = ["1.2.3.4; }", "host,evil", "a\nEXPORT", "a\u2028b", "x#y", '"q"', "(a)", "{", "yes", "9p",
                   "on", "1host.example", "@1group", "host name", "a\x85b", "a\rb"]
    bad_options = ["rw; Squash = None", "anonuid=0}", "ro\nrw", "sec=sys\u2028x", "fsid=0", "async", "crossmnt",
                   "rw,no_root_squash", "anonuid=-1", "anonuid=1e3", "sec=sys:evil", "#", "rw ro", "all_squash,ro"]
    for entry in bad_clients:
        with pytest.raises(IPluginException):
            converge(FilesystemResource(files.raw, _params(name=fs["name"], export={"clients": [entry]})), False,  # pylint: disable=abstract-class-instantiated
                     Waiter(files.raw))
    for option in bad_options:
        with pytest.raises(IPluginException):
            converge(FilesystemResource(files.raw, _params(name=fs["name"], export={  # pylint: disable=abstract-class-instantiated
                "clients": ["127.0.0.1"], "options": [option]})), False, Waiter(files.raw))
    with open(conf, "rb") as handle:
        assert handle.read() == before
    assert files.get_filesystem(fs["name"])["state"] != "ERROR"
    assert lists(fs["nfs_url"])


def test_an_export_file_edited_by_hand_shows_and_is_replaced(nas, files, make_fs):
    fs = make_fs("fs")
    conf = os.path.join(nas.conf_dir, "exports.d", "%s@%s.conf" % (os.path.basename(nas.pool_dir), fs["name"]))
    with open(conf, "a", encoding="utf-8") as handle:
        handle.write("# an edit\n")
    record = files.get_filesystem(fs["name"])
    assert record["state"] == "ERROR" and "edited" in record["status"]
    files.set_export(fs["name"], export(["127.0.0.1", "192.0.2.1"]))
    assert files.get_filesystem(fs["name"])["state"] != "ERROR"


# --- data this server did not make, mounts ----------------------------------------------------------

def test_what_the_server_did_not_make_is_never_listed_or_touched(nas, files, names, fs_size):
    foreign = os.path.join(nas.pool_dir, "fs", names("foreign"))
    os.makedirs(os.path.dirname(foreign), exist_ok=True)
    linux_nas.run("btrfs", "subvolume", "create", foreign)
    try:
        with open(os.path.join(foreign, "precious"), "w", encoding="utf-8") as handle:
            handle.write("not yours\n")
        assert names("foreign") not in [fs["name"] for fs in files.list_filesystems()]
        assert files.get_filesystem(names("foreign")) is None
        with pytest.raises(InvalidValueEx):
            files.create_filesystem(names("foreign"), files.default_pool(), fs_size, {})
        with pytest.raises(OperationPreReqNotMetEx):
            files.delete_filesystem(names("foreign"), True)
        with open(os.path.join(foreign, "precious"), encoding="utf-8") as handle:
            assert handle.read() == "not yours\n"
    finally:
        linux_nas.run("btrfs", "subvolume", "delete", foreign)


def test_a_mount_inside_stops_delete_and_restore(nas, files, make_fs):
    fs = make_fs("fs")
    files.create_fs_snapshot(fs["name"], "snap")
    path = os.path.join(nas.pool_dir, "fs", fs["name"], "inner")
    os.mkdir(path)
    linux_nas.run("mount", "-t", "tmpfs", "-o", "size=1m", "stormgmt-test", path)
    try:
        with open(os.path.join(path, "other-data"), "w", encoding="utf-8") as handle:
            handle.write("on another file system\n")
        with pytest.raises(FileSystemBusyEx):
            files.delete_filesystem(fs["name"], True)
        with pytest.raises((FileSystemBusyEx, SnapRestoreNotSafeEx)):
            files.restore_fs_snapshot(fs["name"], "snap")
        with open(os.path.join(path, "other-data"), encoding="utf-8") as handle:
            assert handle.read() == "on another file system\n"
        assert files.get_fs_snapshot(fs["name"], "snap") is not None
    finally:
        linux_nas.run("umount", path)


def test_mounted_on_the_server(nas, files, make_fs, tmp_path):
    fs = make_fs("fs")
    point = tmp_path / "mnt"
    point.mkdir()
    linux_nas.run("mount", "--bind", os.path.join(nas.pool_dir, "fs", fs["name"]), str(point))
    try:
        record = files.get_filesystem(fs["name"])
        assert record["state"] == "MOUNTED" and str(point) in record["status"]
        with pytest.raises(FileSystemBusyEx):
            files.delete_filesystem(fs["name"], True)
        files.create_fs_snapshot(fs["name"], "snap")
        with pytest.raises(SnapRestoreNotSafeEx):
            files.restore_fs_snapshot(fs["name"], "snap")
    finally:
        linux_nas.run("umount", str(point))
    assert files.get_filesystem(fs["name"])["state"] == "UNMOUNTED"


def test_a_lost_state_file_is_not_a_new_server(nas, files, make_fs):
    fs = make_fs("fs")
    state = os.path.join(nas.pool_dir, ".stormgmt", "state.json")
    with open(state, encoding="utf-8") as handle:
        saved = handle.read()
    os.unlink(state)
    try:
        backend = connect(nas.uri)
        assert backend.get_filesystem(fs["name"])["uuid"] == fs["uuid"]
        assert json.loads(open(state, encoding="utf-8").read())["uuid"] == json.loads(saved)["uuid"]
        backend.close()
    finally:
        if not os.path.exists(state):
            with open(state, "w", encoding="utf-8") as handle:
                handle.write(saved)


def test_a_pool_that_is_not_on_btrfs(nas, tmp_path):
    pool = tmp_path / "plain"
    pool.mkdir()
    backend = connect("linux://%s?nfs_conf=%s" % (pool, nas.conf))
    with pytest.raises(OperationPreReqNotMetEx, match="btrfs"):
        backend.list_filesystems()
    backend.close()


# --- the live mechanism: DBus when ganesha is on a bus --------------------------------------------

@pytest.fixture(scope="module")
def dbus_nas():
    if os.geteuid() != 0 or linux_nas.missing_tools() or not os.path.exists("/usr/bin/dbus-daemon"):
        pytest.skip("needs root, nfs-ganesha and dbus-daemon")
    nas = linux_nas.LinuxNas(image_size="1G", dbus=True).start()
    yield nas
    nas.stop()


def test_changes_go_over_dbus_when_ganesha_is_on_a_bus(dbus_nas):
    backend = connect(dbus_nas.uri)
    try:
        assert backend.ganesha.process()["bus"] == dbus_nas.bus_address
        fs = backend.create_filesystem("viadbus", backend.default_pool(), 32 * MiB, export(["127.0.0.2"]))
        assert not lists(fs["nfs_url"])
        fs = backend.set_export("viadbus", export(["127.0.0.1"]))
        assert lists(fs["nfs_url"]) and fs["state"] == "UNMOUNTED"
        with open(dbus_nas.log, encoding="utf-8") as handle:
            assert "SIGHUP" not in handle.read()  # no full reload: only the changed export
        backend.create_fs_snapshot("viadbus", "s1")
        assert lists(dbus_nas.url("/%s/.snapshots/viadbus/s1" % os.path.basename(dbus_nas.pool_dir)))
        backend.delete_filesystem("viadbus", True)
        assert not lists(fs["nfs_url"])
    finally:
        backend.close()
