# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The simulator never loses data it does not describe (issue 10: items 1, 2, 3, 11, 14, 15, 20).

Every case runs the modules as a playbook would (``run_module``) and asserts what a user
would notice: the typed error, the sentence, and that nothing changed - the state the
modules report and the files on disk. Mount cases use real bind mounts and a tmpfs
(root only; skipped otherwise).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils.backends import _sim_fs
from ansible_collections.stormgmt.core.plugins.module_utils.errors import FileSystemBusyEx

GiB = 1024 ** 3
EXPORT = {"clients": ["127.0.0.1"]}
ROOT = os.geteuid() == 0


def info(module, uri) -> dict:
    """What storage_info shows: the state a failed task must leave as it was."""
    result = module("storage_info", dict(server=uri))
    assert not result.get("failed"), result
    storage = result["storage"]
    return dict((key, storage[key]) for key in ("pools", "luns", "snapshots", "access_groups", "filesystems"))


def refused(module, name, args, error, words=()) -> dict:
    """The task fails with ``error`` in check mode and for real."""
    for check_mode in (True, False):
        result = module(name, args, check_mode=check_mode)
        assert result.get("failed") and result["error"] == error, result
        for word in words:
            assert word in result["msg"], result["msg"]
    return result


def tree(path) -> dict:
    """{relative path: content} of the files under ``path``."""
    found = {}
    for directory, _dirs, files in os.walk(str(path)):
        for name in files:
            full = os.path.join(directory, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, str(path))] = handle.read()
    return found


@pytest.fixture
def home(sim_uri, module):
    """A file system 'home' holding a file, and an unrelated one 'other'."""
    for name in ("home", "other"):
        result = module("filesystem", dict(server=sim_uri, name=name, size="1G", export=EXPORT))
        assert result["changed"], result
    path = module("filesystem", dict(server=sim_uri, name="home"))["filesystem"]["access_path"]
    with open(os.path.join(path, "thesis.txt"), "w") as handle:
        handle.write("four years of work")
    return path


# --- item 1: the clone module acts only on clones of the parent it names --------------------

def test_clone_absent_does_not_delete_an_independent_lun(sim_uri, module):
    for name in ("prod-db", "scratch"):
        module("lun", dict(server=sim_uri, name=name, size="1G"))
    before = info(module, sim_uri)
    result = refused(module, "clone", dict(server=sim_uri, name="prod-db", lun="scratch", state="absent"),
                     "InvalidValueEx", ["LUN 'prod-db' exists and is not a clone of scratch", "nothing was changed"])
    assert "lun module" in result["msg"]
    assert info(module, sim_uri) == before


def test_clone_present_does_not_adopt_an_unrelated_lun(sim_uri, module):
    for name in ("m1", "c1"):
        module("lun", dict(server=sim_uri, name=name, size="1G"))
    before = info(module, sim_uri)
    refused(module, "clone", dict(server=sim_uri, name="m1", lun="c1"), "InvalidValueEx", ["not a clone of c1"])
    refused(module, "clone", dict(server=sim_uri, name="m1", lun="c1", split=True), "InvalidValueEx")
    assert info(module, sim_uri) == before


def test_clone_absent_does_not_delete_an_independent_file_system(sim_uri, module, home):
    before, files = info(module, sim_uri), tree(home)
    refused(module, "clone", dict(server=sim_uri, name="home", filesystem="other", state="absent"),
            "InvalidValueEx", ["file system 'home' exists and is not a clone of other"])
    assert info(module, sim_uri) == before and tree(home) == files == {"thesis.txt": b"four years of work"}


def test_a_split_clone_is_still_proven_a_clone_of_its_parent(sim_uri, module, home, cycle):
    cycle("clone", dict(server=sim_uri, name="copy", filesystem="home", split=True))
    assert module("filesystem", dict(server=sim_uri, name="copy"))["filesystem"]["parent"] is None
    assert module("clone", dict(server=sim_uri, name="copy", filesystem="home"))["changed"] is False
    refused(module, "clone", dict(server=sim_uri, name="copy", filesystem="other", state="absent"),
            "InvalidValueEx", ["was split from a clone of home, not of other"])
    cycle("clone", dict(server=sim_uri, name="copy", filesystem="home", state="absent"))
    assert tree(home) == {"thesis.txt": b"four years of work"}


def test_a_clone_of_an_earlier_parent_of_the_same_name_is_not_a_clone_of_the_new_one(sim_uri, module):
    module("lun", dict(server=sim_uri, name="gold", size="1G"))
    module("clone", dict(server=sim_uri, name="copy", lun="gold", split=True))
    module("lun", dict(server=sim_uri, name="gold", state="absent"))
    module("lun", dict(server=sim_uri, name="gold", size="1G"))
    refused(module, "clone", dict(server=sim_uri, name="copy", lun="gold", state="absent"), "InvalidValueEx",
            ["cloned from an earlier LUN 'gold'"])


def test_a_clone_split_before_its_lineage_was_recorded_is_left_alone(sim, sim_uri, module):
    sim.create_lun("gold", "pool0", GiB, True, None)
    sim.create_clone("copy", "gold")
    sim.split_clone("copy")
    # what a schema-1 state knows of a clone split before the upgrade: nothing
    sim._conn().execute("UPDATE luns SET origin_name = NULL, origin_uuid = NULL WHERE name = 'copy'")
    refused(module, "clone", dict(server=sim_uri, name="copy", lun="gold", state="absent"), "InvalidValueEx",
            ["not a clone of gold"])
    assert sim.get_lun("copy") is not None


# --- item 2: no deletion or copy reaches into a mount ------------------------------------------

@pytest.fixture
def mounts():
    """mount(8) with teardown: every mount made here is undone, innermost first."""
    made = []

    def _mount(*args):
        subprocess.run(["mount"] + list(args), check=True)
        made.append(args[-1])
    yield _mount
    for point in reversed(made):
        subprocess.run(["umount", point], check=False)


needs_root = pytest.mark.skipif(not ROOT, reason="bind mounts and tmpfs need root")


@needs_root
@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_deleting_a_file_system_with_a_mount_inside_fails_before_anything_changes(sim_uri, module, home, mounts,
                                                                                  tmp_path, kind):
    other = module("filesystem", dict(server=sim_uri, name="other"))["filesystem"]["access_path"]
    with open(os.path.join(other, "keep.txt"), "w") as handle:
        handle.write("another file system's data")
    nested = os.path.join(home, "nested")
    os.mkdir(nested)
    if kind == "bind":
        mounts("--bind", other, nested)  # another file system of the same simulator, same device
    else:
        mounts("-t", "tmpfs", "none", nested)  # another device
        with open(os.path.join(nested, "keep.txt"), "w") as handle:
            handle.write("another file system's data")
    before = info(module, sim_uri)
    refused(module, "filesystem", dict(server=sim_uri, name="home", state="absent", force=True), "FileSystemBusyEx",
            ["mounted at or inside its directory (%s)" % nested, "nothing was changed"])
    assert info(module, sim_uri) == before
    with open(os.path.join(nested, "keep.txt")) as handle:
        assert handle.read() == "another file system's data"
    assert os.path.exists(os.path.join(home, "thesis.txt"))


@needs_root
def test_restoring_with_a_mount_inside_fails_before_anything_changes(sim_uri, module, home, mounts, tmp_path):
    module("snapshot", dict(server=sim_uri, name="s1", filesystem="home"))
    with open(os.path.join(home, "thesis.txt"), "w") as handle:
        handle.write("chapter five")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the simulator's")
    nested = os.path.join(home, "nested")
    os.mkdir(nested)
    mounts("--bind", str(elsewhere), nested)
    before = info(module, sim_uri)
    refused(module, "snapshot", dict(server=sim_uri, name="s1", filesystem="home", state="restored"),
            "FileSystemBusyEx", [nested])
    assert info(module, sim_uri) == before
    assert (elsewhere / "keep.txt").read_text() == "not the simulator's"
    with open(os.path.join(home, "thesis.txt")) as handle:
        assert handle.read() == "chapter five"


@needs_root
def test_a_mount_inside_a_snapshot_directory_stops_restore_and_delete(sim, sim_uri, module, home, mounts, tmp_path):
    snap = module("snapshot", dict(server=sim_uri, name="s1", filesystem="home"))["snapshot"]["path"][0]
    mounts("-t", "tmpfs", "none", snap)  # on the snapshot directory itself
    with open(os.path.join(home, "thesis.txt"), "w") as handle:
        handle.write("changed")
    refused(module, "snapshot", dict(server=sim_uri, name="s1", filesystem="home", state="restored"),
            "FileSystemBusyEx", [snap])
    refused(module, "snapshot", dict(server=sim_uri, name="s1", filesystem="home", state="absent"),
            "FileSystemBusyEx", [snap])
    refused(module, "filesystem", dict(server=sim_uri, name="home", state="absent", force=True), "FileSystemBusyEx",
            [snap])
    assert sim.get_fs_snapshot("home", "s1") is not None


@needs_root
def test_the_tree_walk_itself_never_crosses_a_mount(sim, home, mounts, tmp_path, monkeypatch):
    """The second line of defence: with the mount check switched off, removal stops at the mount."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the simulator's")
    for kind in ("bind", "tmpfs"):
        victim = os.path.join(sim.fs_root, ".trash", "victim-" + kind)
        os.makedirs(os.path.join(victim, "deep", "mnt"))
        with open(os.path.join(victim, "deep", "file"), "w"):
            pass
        point = os.path.join(victim, "deep", "mnt")
        if kind == "bind":
            mounts("--bind", str(elsewhere), point)
        else:
            mounts("-t", "tmpfs", "none", point)
            with open(os.path.join(point, "keep.txt"), "w") as handle:
                handle.write("on tmpfs")
        monkeypatch.setattr(_sim_fs.SimFileSystems, "_check_mounts", lambda *args, **kwargs: None)
        with pytest.raises(FileSystemBusyEx) as error:
            sim._remove_tree(victim)
        assert "another file system" in error.value.msg and point in error.value.msg
        assert os.path.exists(os.path.join(point, "keep.txt"))
    assert (elsewhere / "keep.txt").read_text() == "not the simulator's"


@needs_root
def test_snapshot_and_clone_copies_never_cross_a_mount(sim_uri, module, home, mounts):
    nested = os.path.join(home, "nested")
    os.mkdir(nested)
    mounts("-t", "tmpfs", "none", nested)
    refused(module, "snapshot", dict(server=sim_uri, name="s1", filesystem="home"), "FileSystemBusyEx", [nested])
    refused(module, "clone", dict(server=sim_uri, name="copy", filesystem="home"), "FileSystemBusyEx", [nested])


# --- item 3: a lost state never empties what it does not describe ---------------------------------

def test_a_deleted_state_beside_file_systems_is_an_error_not_a_new_server(sim_path, sim_uri, module, home):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(sim_path + suffix):
            os.unlink(sim_path + suffix)
    for check_mode in (True, False):
        result = module("filesystem", dict(server=sim_uri, name="home", size="1G", export=EXPORT),
                        check_mode=check_mode)
        assert result["error"] == "InvalidStorageArrayEx", result
        assert "does not exist but %s.fs holds file systems" % sim_path in result["msg"]
        assert "restore the state file from a backup" in result["msg"]
    assert not os.path.exists(sim_path)
    assert tree(home) == {"thesis.txt": b"four years of work"}


@pytest.mark.parametrize("with_data", [True, False])
def test_a_truncated_state_is_an_error_and_is_kept(sim, sim_path, sim_uri, module, with_data):
    sim.create_lun("db01", "pool0", GiB, True, None)
    if with_data:
        sim.create_filesystem("home", "pool0", GiB, {})
    sim.close()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(sim_path + suffix):
            os.unlink(sim_path + suffix)
    open(sim_path, "w").close()  # truncated to zero bytes
    for name, args in (("lun", dict(name="db02", size="1G")), ("storage_info", {})):
        result = module(name, dict(args, server=sim_uri))
        assert result["error"] == "InvalidStorageArrayEx", result
        assert ("is empty (0 bytes)" in result["msg"]), result["msg"]
    assert os.path.getsize(sim_path) == 0


def test_create_never_empties_a_directory_the_state_does_not_describe(sim, sim_uri, module):
    foreign = os.path.join(sim.fs_root, "home")
    os.makedirs(foreign)
    with open(os.path.join(foreign, "thesis.txt"), "w") as handle:
        handle.write("four years of work")
    before = info(module, sim_uri)
    for name, args in (("filesystem", dict(name="home", size="1G")),
                       ("clone", dict(name="home", filesystem="src"))):
        if name == "clone":
            module("filesystem", dict(server=sim_uri, name="src", size="1G"))
            before = info(module, sim_uri)
        refused(module, name, dict(args, server=sim_uri), "InvalidStorageArrayEx",
                ["%s already exists and this simulator's state does not describe it" % foreign, "data is kept"])
        assert info(module, sim_uri) == before
    assert tree(foreign) == {"thesis.txt": b"four years of work"}


def test_a_symlink_to_the_state_is_the_same_simulator(sim, sim_path, tmp_path, module):
    sim.create_filesystem("home", "pool0", GiB, {})
    link = tmp_path / "elsewhere" / "link.db"
    link.parent.mkdir()
    link.symlink_to(sim_path)
    result = module("filesystem", dict(server="sim://%s" % link, name="home", size="1G"))
    assert result["changed"] is False and result["filesystem"]["access_path"] == os.path.join(sim_path + ".fs", "home")
    module("lun", dict(server="sim://%s" % link, name="via-link", size="1G"))
    assert sim.get_lun("via-link") is not None
    assert sorted(os.listdir(str(link.parent))) == ["link.db"]  # no -wal, -shm or .fs of a second name


# --- item 11: deleting an access group leaves nothing a new group of that name could inherit ----

def test_deleting_a_group_named_in_an_export(sim_uri, module):
    module("access_group", dict(server=sim_uri, name="team", clients=["10.0.0.0/8"]))
    module("filesystem", dict(server=sim_uri, name="share", size="1G", export={"access_groups": ["team"]}))
    before = info(module, sim_uri)
    refused(module, "access_group", dict(server=sim_uri, name="team", state="absent"), "StorageElementBusyEx",
            ["is named in the export of file system(s) share"])
    assert info(module, sim_uri) == before
    result = module("access_group", dict(server=sim_uri, name="team", state="absent", force=True))
    assert result["changed"], result
    assert module("filesystem", dict(server=sim_uri, name="share"))["filesystem"]["access_grp_names"] == []
    # a new group of the same name, open to everyone, does not get the old share
    module("access_group", dict(server=sim_uri, name="team", clients=["*"]))
    assert module("filesystem", dict(server=sim_uri, name="share"))["filesystem"]["access_grp_names"] == []


def test_deleting_a_group_with_mappings_needs_force_and_force_unmaps(sim_uri, module):
    module("lun", dict(server=sim_uri, name="db", size="1G"))
    module("access_group", dict(server=sim_uri, name="team", initiators=["iqn.2026-01.io.example:a"], luns=["db"]))
    refused(module, "access_group", dict(server=sim_uri, name="team", state="absent"), "StorageElementBusyEx",
            ["still has LUN(s) db mapped"])
    module("access_group", dict(server=sim_uri, name="team", state="absent", force=True))
    module("access_group", dict(server=sim_uri, name="team", initiators=["iqn.2026-01.io.example:b"]))
    assert module("lun", dict(server=sim_uri, name="db"))["lun"]["access_grp_names"] == []


def test_an_export_naming_a_deleted_group_is_dropped_when_an_old_state_is_upgraded(sim, sim_path, sim_uri, module):
    sim.create_access_group("team", [], [], None)
    sim.create_filesystem("share", "pool0", GiB, {"access_groups": ["team"]})
    db = sim._conn()
    db.execute("DELETE FROM access_groups WHERE name = 'team'")  # what schema 1 left behind
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    sim.close()
    module("access_group", dict(server=sim_uri, name="team", clients=["*"]))
    assert module("filesystem", dict(server=sim_uri, name="share"))["filesystem"]["access_grp_names"] == []


# --- item 14: a file system whose directory is gone is an error, on every module ----------------------

def test_a_file_system_whose_directory_is_missing(sim_uri, module, home, tmp_path):
    os.rename(home, str(tmp_path / "moved-away"))
    words = ["its directory %s is missing" % home]
    for name, args in (("filesystem", dict(name="home")), ("filesystem", dict(name="home", size="2G")),
                       ("snapshot", dict(name="s1", filesystem="home")),
                       ("clone", dict(name="copy", filesystem="home")),
                       ("mount", dict(filesystem="home", path=str(tmp_path / "mnt"), fstab=str(tmp_path / "fstab"),
                                      state="mounted"))):
        result = refused(module, name, dict(args, server=sim_uri), "OperationPreReqNotMetEx", words)
        assert "share_path None" not in result["msg"]
    listed = [fs for fs in info(module, sim_uri)["filesystems"] if fs["name"] == "home"][0]
    assert listed["state"] == "ERROR" and words[0] in listed["status"]
    # the way out the message gives: delete the record
    assert module("filesystem", dict(server=sim_uri, name="home", state="absent", force=True))["changed"] is True
    assert (tmp_path / "moved-away" / "thesis.txt").read_text() == "four years of work"


# --- item 15: a damaged state is InvalidStorageArrayEx with a sentence ---------------------------------

@pytest.mark.parametrize("damage, words", [
    ("UPDATE meta SET value = 'two' WHERE key = 'schema_version'", "its schema version is 'two', not a number"),
    ("DROP TABLE luns", "table(s) luns are missing"),
    ("DROP TABLE fs_exports", "table(s) fs_exports are missing"),
    ("DELETE FROM meta WHERE key = 'uuid'", "it records no server uuid"),
])
def test_a_damaged_state_is_a_clear_error(sim, sim_path, sim_uri, module, damage, words):
    sim.create_lun("db01", "pool0", GiB, True, None)
    sim.close()
    db = sqlite3.connect(sim_path)
    db.execute(damage)
    db.commit()
    db.close()
    for name, args in (("lun", dict(name="db01")), ("storage_info", {})):
        result = module(name, dict(args, server=sim_uri))
        assert result["error"] == "InvalidStorageArrayEx", result
        assert words in result["msg"] and "unexpected" not in result["msg"]


@pytest.mark.parametrize("path", ["/dev/null", "/tmp"])
def test_a_state_path_that_is_not_a_regular_file(path, module):
    for check_mode in (True, False):
        result = module("lun", dict(server="sim://%s" % path, name="db01", size="1G"), check_mode=check_mode)
        assert result["error"] == "InvalidStorageArrayEx", result
        assert "not a regular file" in result["msg"] and "rollback" not in result["msg"]


def test_a_corrupt_page_is_a_clear_error(sim, sim_path, sim_uri, module):
    for index in range(200):
        sim.create_lun("lun%03d" % index, "pool0", GiB, True, None)
    sim._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    sim.close()
    with open(sim_path, "r+b") as handle:
        handle.seek(3 * 4096)
        handle.write(b"\xff" * 4096)
    result = module("lun", dict(server=sim_uri, name="lun150"))
    assert result["error"] == "InvalidStorageArrayEx", result
    assert "cannot be used" in result["msg"] and "unexpected" not in result["msg"]


# --- item 20: the simulator does not guess a directory into existence ---------------------------------

def test_a_missing_directory_is_an_error_unless_create_is_asked(tmp_path, module):
    state = tmp_path / "typo" / "sim.db"
    for check_mode in (True, False):
        result = module("lun", dict(server="sim://%s" % state, name="db01", size="1G"), check_mode=check_mode)
        assert result["error"] == "InvalidStorageArrayEx", result
        assert "the directory %s of the simulator state %s does not exist" % (state.parent, state) in result["msg"]
        assert "?create=true" in result["msg"]
    assert not state.parent.exists()
    result = module("lun", dict(server="sim://%s?create=true" % state, name="db01", size="1G"))
    assert result["changed"] is True and oct(state.parent.stat().st_mode & 0o777) == "0o700"
    # once it exists, the URI without create=true names the same simulator
    assert module("lun", dict(server="sim://%s" % state, name="db01", size="1G"))["changed"] is False


@pytest.mark.parametrize("query", ["create=maybe", "create=true&create=false", "crate=true"])
def test_bad_create_parameter(tmp_path, module, query):
    result = module("lun", dict(server="sim://%s/x/sim.db?%s" % (tmp_path, query), name="db01", size="1G"))
    assert result["error"] == "ValueFormatEx", result
    assert not (tmp_path / "x").exists()
