# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CephFS file systems of the ceph backend exported over NFS (nfs-ganesha, FSAL CEPH) through
the NFS gateway, without a cluster: the URI, the FSAL CEPH block as ganesha reads it, the cephx
key that stays out of the header, records, results and messages, client strings that try to
break out of the export, and the export's life (create, change, delete guard) against an agent
that answers from a dictionary and a ganesha that is recorded, not run (its live mechanisms are
tested in test_gw_nfs.py).

The same code runs against a real cluster and a real ganesha (FSAL CEPH) in the conformance suite
(``--backend 'ceph://...&fs=...&nfs_conf=...'``, see docs/ceph_backend.md)."""

from __future__ import annotations

import json
import os
import stat
import socket

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _ceph_agent
from ansible_collections.stormgmt.core.plugins.module_utils import _gw_nfs as gw
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.backends import _ceph_fs
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
)

MiB = 1024 * 1024
KEY = "AQDqcQ9rd3iwFhAACVXJD3fmXGaE6cWFaju94Q=="
OTHER_KEY = "AQBxcQ9rAAAAABAAq0mWm9vB3ixZ6cWFaju94Q=="
CEPH_CONF = "/etc/ceph/test.conf"
MAIN = """NFS_CORE_PARAM { Protocols = 4; NFS_Port = 12052; Bind_addr = 127.0.0.1; }
NFSV4 { Graceless = true; }
CEPH { Ceph_Conf = "/etc/ceph/test.conf"; }
%%dir "%s/exports.d/*.conf"
"""
GANESHA_PID = 4242


# --- the URI ------------------------------------------------------------------------------------------

def test_nfs_conf_turns_nfs_exports_on():
    assert connect("ceph://rbd?fs=cephfs").get_abilities()["nfs_export"] == "UNSUPPORTED"
    backend = connect("ceph://rbd?fs=cephfs&nfs_conf=/etc/ganesha/ganesha.conf&nfs_host=nas.example")
    assert backend.get_abilities()["nfs_export"] == "ONLINE"
    assert (backend.nfs_conf, backend.nfs_host, backend.nfs_clients) == ("/etc/ganesha/ganesha.conf", "nas.example", True)


@pytest.mark.parametrize("uri", [
    "ceph://rbd?nfs_conf=/etc/ganesha/ganesha.conf",                        # no CephFS to export
    "ceph://rbd?fs=cephfs&nfs_host=nas.example",                            # a host without a ganesha
    "ceph://rbd?fs=cephfs&nfs_conf=ganesha.conf",                           # relative
    "ceph://rbd?fs=cephfs&nfs_conf=/etc/ganesha/../x.conf",                 # not normalised
    "ceph://rbd?fs=cephfs&nfs_conf=/etc/ganesha/a%20b.conf",                # a blank
    "ceph://rbd?fs=cephfs&nfs_conf=/etc/g.conf&nfs_host=a;b",
])
def test_bad_nfs_parameters_are_value_format_errors(uri):
    with pytest.raises(ValueFormatEx):
        connect(uri)


# --- the FSAL CEPH block ----------------------------------------------------------------------------

def ceph_export(key=KEY, export_id=1, clients=("127.0.0.1",)):
    rule = dict(gw.export_rule(["rw", "no_root_squash"]), clients=list(clients))
    return dict(key="fs", export_id=export_id, path="/stormgmt/rbd/share1", pseudo="/rbd/share1",
                fsal={"Name": "CEPH", "User_Id": "admin", "Filesystem": "cephfs", "Secret_Access_Key": key},
                rules=[rule])


def _block(tree, name):
    return [node for node in tree if node[0] == "block" and node[1] == name]


def test_the_fsal_ceph_block_reads_back_as_ganesha_reads_it():
    text = gw.render({"filesystem": "share1"}, [ceph_export()])
    body = text.split("\n", 2)[2]
    export = _block(gw.parse(body), "EXPORT")[0][2]
    params = dict((node[1], node[2]) for node in export if node[0] == "param")
    assert params["Path"] == [("DQUOTE", "/stormgmt/rbd/share1")] and params["Pseudo"] == [("DQUOTE", "/rbd/share1")]
    fsal = dict((node[1], node[2]) for node in _block(export, "FSAL")[0][2])
    assert fsal == {"Name": [("TOKEN", "CEPH")], "User_Id": [("DQUOTE", "admin")],
                    "Filesystem": [("DQUOTE", "cephfs")], "Secret_Access_Key": [("DQUOTE", KEY)]}
    clients = [dict((n[1], n[2]) for n in block[2]) for block in _block(export, "CLIENT")]
    assert clients[0]["Clients"] == [("V4ADDR", "127.0.0.1")] and clients[0]["Access_Type"] == [("TOKEN", "RW")]
    assert clients[-1] == {"Clients": [("V4_ANY", "*")], "Access_Type": [("TOKEN", "None")]}


def test_the_key_is_in_the_block_only_and_its_digest_in_the_header():
    text = gw.render({"filesystem": "share1"}, [ceph_export()])
    header_line, body = text.split("\n", 2)[1], text.split("\n", 2)[2]
    assert KEY not in header_line and text.count(KEY) == 1 and KEY in body
    header = gw.read_export_file(text)
    assert header["intact"] and header["exports"][0]["fsal"]["Secret_Access_Key"].startswith("sha256:")
    assert KEY not in json.dumps(header)


@pytest.mark.parametrize("key", [KEY[:-2] + '";', KEY + "\n}", KEY + "\\", "AQ\u2028x", ""])
def test_a_key_that_would_break_out_of_its_string_is_refused(key):
    with pytest.raises((InvalidValueEx, OperationFailedEx)):
        gw.render({}, [ceph_export(key=key)])


def test_commit_writes_0600_and_a_changed_key_updates_the_export(tmp_path, monkeypatch):
    (tmp_path / "ganesha.conf").write_text(MAIN % tmp_path)
    ganesha = gw.Ganesha(str(tmp_path / "ganesha.conf"))
    applied = []
    monkeypatch.setattr(ganesha, "apply", lambda name, changes: applied.append(changes) or "sighup")
    with ganesha.locked():
        ganesha.commit("ceph+rbd@share1", {}, [dict(ceph_export(), export_id=None)])
        path = ganesha.path_of("ceph+rbd@share1")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        before = os.stat(path).st_mtime_ns
        ganesha.commit("ceph+rbd@share1", {}, [dict(ceph_export(), export_id=None)])   # the same: nothing
        assert os.stat(path).st_mtime_ns == before
        ganesha.commit("ceph+rbd@share1", {}, [dict(ceph_export(key=OTHER_KEY), export_id=None)])
    assert applied == [dict(removed=[], added=[1], updated=[]), dict(removed=[], added=[], updated=[1])]
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert OTHER_KEY in text and KEY not in text and OTHER_KEY not in text.splitlines()[1]


# --- client strings and options: exactly the Linux server's rules ------------------------------------------

@pytest.fixture
def nfs_backend(tmp_path):
    (tmp_path / "ganesha.conf").write_text(MAIN % tmp_path)
    return connect("ceph://rbd?conf=%s&fs=cephfs&nfs_conf=%s/ganesha.conf" % (CEPH_CONF, tmp_path))


@pytest.mark.parametrize("client", [
    "127.0.0.1)", "host,evil", "a\nb", "a\u2028b", "a\u0085b", 'a"b', "a}b", "a;b", "a{b", "a b", "1host",
    "*.example.com; Access_Type = RW", "@ng\nEXPORT { Export_Id = 9; }", "host'x",
])
def test_client_strings_that_try_to_break_out_are_refused(nfs_backend, client):
    with pytest.raises(InvalidValueEx):
        nfs_backend.check_export({"clients": [client], "access_groups": [], "options": ["rw"]})


@pytest.mark.parametrize("options", [
    ["rw,no_root_squash"], ["anonuid=0;"], ["sec=sys}"], ["async"], ["crossmnt"], ["fsid=0"], ["rw", "ro"],
    ["rw\n"], ["all_squash", "no_root_squash"],
])
def test_options_ganesha_does_not_serve_are_refused(nfs_backend, options):
    with pytest.raises(InvalidValueEx):
        nfs_backend.check_export({"clients": ["127.0.0.1"], "access_groups": [], "options": options})


def test_a_good_export_comes_back_as_records_carry_it(nfs_backend):
    assert nfs_backend.check_export({"clients": ["192.0.2.0/24", "127.0.0.1"], "access_groups": ["b", "a"],
                                     "options": ["rw", "no_root_squash", "rw"]}) == {
        "clients": ["127.0.0.1", "192.0.2.0/24"], "access_groups": ["a", "b"], "options": ["no_root_squash", "rw"]}


# --- the keyring --------------------------------------------------------------------------------

def test_the_key_is_read_from_the_clients_section_of_the_keyring(tmp_path):
    keyring = tmp_path / "keyring"
    keyring.write_text("[mon.]\n\tkey = %s\n\tcaps mon = \"allow *\"\n[client.admin]\n\tkey = %s\n" % (OTHER_KEY, KEY))
    assert _ceph_agent._keyring_key(str(keyring), "client.admin") == KEY
    assert _ceph_agent._keyring_key(str(keyring), "client.nfs") is None
    assert _ceph_agent._keyring_key(str(tmp_path / "missing"), "client.admin") is None


# --- a file system's export, over an agent that answers from a dictionary ------------------------------

class FakeCephFS:
    """Just enough of :class:`_ceph_agent.Agent` for file systems and their exports: the state
    object with its lock, directories with quota and metadata, client sessions. Not Ceph."""

    def __init__(self) -> None:
        self.objects: dict = {}
        self.locks: dict = {}
        self.dirs: dict = {}
        self.sessions: list = []
        self.key = KEY
        self.calls: list = []

    def call(self, op, **args):
        self.calls.append(op)
        return json.loads(json.dumps(getattr(self, "op_" + op)(**args)))

    def op_connect(self, conf, client_id, pool, fs=None):
        return {"pool": True, "applications": ["rbd", "cephfs"], "fsid": "f00", "version": "16.2.15"}

    def op_pool_stats(self):
        return {"cluster": {"total_bytes": 1 << 40}, "pool": {"stored": 0, "max_avail": 1 << 40}}

    def op_read(self, obj):
        return {"data": self.objects.get(obj)}

    def op_write(self, obj, data):
        self.objects[obj] = data

    def op_lock(self, obj, cookie, duration, wait):
        self.locks[obj] = cookie
        return {"locked": True}

    def op_unlock(self, obj, cookie):
        self.locks.pop(obj, None)

    def op_jobs(self):
        return {}

    def op_images_info(self, names=None, children=False):
        return {}

    def op_client_key(self):
        return {"key": self.key, "where": ["/etc/ceph/keyring"]}

    def op_fs_dirs(self, root, names=None):
        out = {}
        for path, entry in self.dirs.items():
            parent, _sep, name = path.rpartition("/")
            if parent == root and (names is None or name in names):
                out[name] = dict(entry, ino=1, mode=0o40755, snaps=[])
        return out

    def op_fs_mkdirs(self, path, mode):
        return None

    def op_fs_mkdir(self, path, mode):
        self.dirs[path] = {"quota": 0, "rbytes": 0, "meta": None}

    def op_fs_set_quota(self, path, size):
        self.dirs[path]["quota"] = size

    def op_fs_set_meta(self, path, meta):
        self.dirs[path]["meta"] = meta

    def op_fs_sessions(self):
        return list(self.sessions)

    def op_fs_rename(self, src, dst):
        self.dirs[dst] = self.dirs.pop(src)

    def op_fs_remove_tree(self, path):
        self.dirs.pop(path, None)

    def close(self):
        return None


@pytest.fixture
def cephfs():
    return FakeCephFS()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A ganesha that 'runs' (pid GANESHA_PID) and whose live changes are recorded."""
    (tmp_path / "ganesha.conf").write_text(MAIN % tmp_path)
    applied = []
    monkeypatch.setattr(gw.Ganesha, "process", lambda self: {"pid": GANESHA_PID, "log": None, "bus": None})
    monkeypatch.setattr(gw.Ganesha, "apply", lambda self, name, changes: applied.append((name, changes)) or "sighup")
    monkeypatch.setattr(gw.Ganesha, "serves", lambda self, ids: None)
    monkeypatch.setattr(gw.Ganesha, "live_ids", lambda self: None)
    return applied


@pytest.fixture
def array(tmp_path, cephfs, served):
    backend = connect("ceph://rbd?conf=%s&fs=cephfs&nfs_conf=%s/ganesha.conf" % (CEPH_CONF, tmp_path))
    backend.client = cephfs
    return backend


EXPORT = {"clients": ["127.0.0.1"], "access_groups": [], "options": ["no_root_squash", "rw"]}


def _export_file(tmp_path):
    with open(tmp_path / "exports.d" / "ceph+rbd@share1.conf", encoding="utf-8") as handle:
        return handle.read()


def test_create_exports_the_cephfs_directory_with_fsal_ceph(array, cephfs, served, tmp_path):
    fs = array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    assert fs["access_path"] == "127.0.0.1:/rbd/share1" and fs["nfs_url"] == "nfs://127.0.0.1/rbd/share1?version=4&nfsport=12052"
    assert (fs["export_clients"], fs["export_opts"], fs["state"]) == (["127.0.0.1"], ["no_root_squash", "rw"], "UNMOUNTED")
    assert "exported at 127.0.0.1:/rbd/share1" in fs["status"]
    assert served == [("ceph+rbd@share1", dict(removed=[], added=[1], updated=[]))]
    text = _export_file(tmp_path)
    export = _block(gw.parse(text), "EXPORT")[0][2]
    assert dict((n[1], n[2]) for n in export if n[0] == "param")["Path"] == [("DQUOTE", "/stormgmt/rbd/share1")]
    assert dict((n[1], n[2]) for n in _block(export, "FSAL")[0][2])["Secret_Access_Key"] == [("DQUOTE", KEY)]
    # the key: in the block ganesha reads, in no record, no listing, no header
    assert KEY not in json.dumps(fs) and KEY not in json.dumps(array.list_filesystems())
    assert KEY not in text.splitlines()[1]
    assert stat.S_IMODE(os.stat(tmp_path / "exports.d" / "ceph+rbd@share1.conf").st_mode) == 0o600


def test_ganeshas_own_session_is_not_a_mount_but_a_ceph_fuse_one_is(array, cephfs):
    array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    cephfs.sessions = [{"id": 1, "root": "/stormgmt/rbd/share1", "host": socket.gethostname(), "entity": "admin",
                        "pid": str(GANESHA_PID)}]
    assert array.get_filesystem("share1")["state"] == "UNMOUNTED"
    cephfs.sessions.append({"id": 2, "root": "/stormgmt/rbd/share1", "host": "client1", "entity": "admin", "pid": "77"})
    assert array.get_filesystem("share1")["state"] == "MOUNTED"


def test_an_exported_file_system_is_deleted_only_with_force(array, cephfs, served, tmp_path):
    array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    with pytest.raises(FileSystemBusyEx, match="is exported"):
        array.delete_filesystem("share1")
    assert array.get_filesystem("share1") is not None and os.path.exists(tmp_path / "exports.d" / "ceph+rbd@share1.conf")
    array.delete_filesystem("share1", force=True)
    assert array.get_filesystem("share1") is None
    assert not os.path.exists(tmp_path / "exports.d" / "ceph+rbd@share1.conf")
    assert served[-1] == ("ceph+rbd@share1", dict(removed=[1], added=[], updated=[]))


def test_set_export_changes_the_clients_and_an_empty_export_removes_it(array, served, tmp_path):
    array.create_filesystem("share1", "rbd", 64 * MiB, {"clients": [], "access_groups": [], "options": []})
    assert served == [] and not os.path.exists(tmp_path / "exports.d" / "ceph+rbd@share1.conf")
    fs = array.set_export("share1", dict(EXPORT, clients=["192.0.2.0/24"], options=["ro"]))
    assert (fs["export_clients"], fs["export_opts"]) == (["192.0.2.0/24"], ["ro"])
    assert "Access_Type = RO" in _export_file(tmp_path)
    fs = array.set_export("share1", {"clients": [], "access_groups": [], "options": []})
    assert fs["export_clients"] == [] and not os.path.exists(tmp_path / "exports.d" / "ceph+rbd@share1.conf")


def test_a_missing_key_fails_before_anything_is_made(array, cephfs):
    cephfs.key = None
    with pytest.raises(OperationPreReqNotMetEx, match="cephx key for client.admin"):
        array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    assert cephfs.dirs == {}


def test_ganesha_not_running_fails_before_anything_is_made(array, cephfs, monkeypatch):
    monkeypatch.setattr(gw.Ganesha, "process", lambda self: None)
    with pytest.raises(OperationPreReqNotMetEx, match="not running"):
        array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    assert cephfs.dirs == {}


def test_a_refused_export_takes_the_new_directory_back_and_never_quotes_the_key(array, cephfs, monkeypatch):
    def refuse(self, name, changes):
        raise OperationFailedEx("nfs-ganesha could not read the export: Secret_Access_Key = %s" % KEY)
    monkeypatch.setattr(gw.Ganesha, "apply", refuse)
    with pytest.raises(OperationFailedEx) as caught:
        array.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    assert KEY not in caught.value.msg and KEY not in str(caught.value) and "<secret>" in caught.value.msg
    assert cephfs.dirs == {}


def test_without_nfs_conf_an_export_is_no_such_operation(tmp_path, cephfs):
    backend = connect("ceph://rbd?conf=%s&fs=cephfs" % CEPH_CONF)
    backend.client = cephfs
    with pytest.raises(NoSuchOperationEx, match="nfs_conf"):
        backend.create_filesystem("share1", "rbd", 64 * MiB, EXPORT)
    fs = backend.create_filesystem("share1", "rbd", 64 * MiB, {"clients": [], "access_groups": [], "options": []})
    assert fs["access_path"] is None and fs.get("nfs_url") is None and fs["export_clients"] == []


def _add_group(cephfs, name, entries):
    state = json.loads(cephfs.objects["stormgmt.server"])
    state["groups"][name] = {"uuid": "g-" + name, "target": "iqn.2026-11.io.stormgmt.ceph.rbd:" + name,
                             "entries": sorted(entries), "luns": {}, "chap": None, "created": 0}
    cephfs.objects["stormgmt.server"] = json.dumps(state)


def test_access_groups_export_their_nfs_clients_and_never_their_initiators(array, cephfs, tmp_path):
    array.create_filesystem("share1", "rbd", 64 * MiB, {"clients": [], "access_groups": [], "options": []})
    _add_group(cephfs, "hosts", ["192.0.2.7", "iqn.2026-01.com.example:db1"])
    fs = array.set_export("share1", {"clients": ["127.0.0.1"], "access_groups": ["hosts"], "options": ["rw"]})
    assert fs["access_grp_names"] == ["hosts"] and fs["export_clients"] == ["127.0.0.1"]
    blocks = [dict((n[1], n[2]) for n in block[2])
              for block in _block(_block(gw.parse(_export_file(tmp_path)), "EXPORT")[0][2], "CLIENT")]
    assert [block["Clients"] for block in blocks] == [[("V4ADDR", "127.0.0.1")], [("V4ADDR", "192.0.2.7")],
                                                      [("V4_ANY", "*")]]
    assert "iqn." not in _export_file(tmp_path).split("\n", 2)[2]
    assert _ceph_fs.exports_naming_group(array, "hosts") == ["share1"]
    # the group goes (delete_access_group with force): its clients lose access, the others keep it
    assert _ceph_fs.refresh_group_exports(array, "hosts", drop=True) == ["share1"]
    assert array.get_filesystem("share1")["access_grp_names"] == []
    assert "192.0.2.7" not in _export_file(tmp_path) and "127.0.0.1" in _export_file(tmp_path)


def test_an_export_naming_a_missing_group_changes_nothing(array, cephfs, served, tmp_path):
    with pytest.raises(OperationPreReqNotMetEx, match="access group 'nobody'"):
        array.create_filesystem("share1", "rbd", 64 * MiB, {"clients": [], "access_groups": ["nobody"], "options": []})
    assert cephfs.dirs == {} and served == []
