# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tgt backend without a tgtd: its tgtadm commands and its reading of tgtadm's output.

``Runner.executor`` is swapped for :class:`FakeTgtd`, which keeps a target
configuration in memory, answers ``--op show`` in tgtadm's own format and records
every argv. These tests pin what the backend asks of tgtd (which commands, in which
order, with which arguments) and how it reads the answers; the same backend runs
against the real tgtd in the ``iscsi`` molecule scenario and the conformance suite
(``STORMGMT_CONFORMANCE_URIS`` with a ``tgt://`` URI).
"""

from __future__ import annotations

import json
import os
import shutil
import stat

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _gw_iscsi as gw
from ansible_collections.stormgmt.core.plugins.module_utils import errors
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner

MiB = 1024 * 1024
CHAP = {"username": "hosts-in", "password": "hosts-secret-0001", "mutual_username": None, "mutual_password": None}
MUTUAL = {"username": "m-in", "password": "m-secret-00001", "mutual_username": "m-target",
          "mutual_password": "m-target-secret1"}
HOST_A = "iqn.2026-11.io.stormgmt.test:host-a"
HOST_B = "iqn.2026-11.io.stormgmt.test:host-b"

# `tgtadm --lld iscsi --mode target --op show` of tgt 1.0.85 (Debian 12), two targets
SHOW = """\
Target 1: iqn.2026-11.io.stormgmt:g1
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
        I_T nexus: 10
            Initiator: iqn.2026-01.test:host1 alias: none
            Connection: 0
                IP Address: 127.0.0.1
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00010000
            SCSI SN: beaf10
            Size: 0 MB, Block size: 1
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: null
            Backing store path: None
            Backing store flags:
        LUN: 1
            Type: disk
            SCSI ID: 21f23c8e65c54dac8389b723e243d5ff
            SCSI SN: 21f23c8e65c54dac
            Size: 105 MB, Block size: 512
            Online: Yes
            Removable media: No
            Prevent removal: No
            Readonly: No
            SWP: No
            Thin-provisioning: No
            Backing store type: rdwr
            Backing store path: /srv/pool0/l1.img
            Backing store flags:
    Account information:
        alice
        tgtmut (outgoing)
    ACL information:
        10.0.0.1
        iqn.2026-01.test:host1
        iqn.2026-01.test:host2
Target 2: iqn.2026-11.io.stormgmt:empty
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            SCSI ID: IET     00020000
            SCSI SN: beaf20
            Size: 0 MB, Block size: 1
            Backing store type: null
            Backing store path: None
            Backing store flags:
    Account information:
    ACL information:
"""


def test_parse_targets():
    targets = gw.parse_targets(SHOW)
    assert sorted(targets) == [1, 2]
    one = targets[1]
    assert one["name"] == "iqn.2026-11.io.stormgmt:g1"
    assert one["sessions"] == ["iqn.2026-01.test:host1"]
    assert sorted(one["luns"]) == [0, 1]
    assert one["luns"][0]["path"] is None and one["luns"][0]["type"] == "controller"
    assert one["luns"][1] == {"type": "disk", "path": "/srv/pool0/l1.img", "size_mb": 105,
                              "scsi_id": "21f23c8e65c54dac8389b723e243d5ff", "scsi_sn": "21f23c8e65c54dac", "online": True}
    assert one["accounts"] == ["alice"] and one["outgoing"] == ["tgtmut"]
    assert one["acl"] == ["10.0.0.1", "iqn.2026-01.test:host1", "iqn.2026-01.test:host2"]
    assert targets[2]["acl"] == [] and targets[2]["accounts"] == [] and list(targets[2]["luns"]) == [0]


def test_parse_accounts_and_portals():
    assert gw.parse_accounts("Account list:\n    tgtmut\n    a b\n    alice\n") == ["tgtmut", "a b", "alice"]
    assert gw.parse_accounts("Account list:\n") == []
    assert gw.parse_portals("Portal: 127.0.0.1:3260,1\nPortal: [::]:3261,1\n") == ["127.0.0.1:3260", "[::]:3261"]


@pytest.mark.parametrize("size, shown", [
    # what tgtadm printed for LUN files of these sizes
    (512, 0), (1000000, 1), (1500001, 1), (10000000, 10), (10485760, 10), (10500000, 10),
    (52428800, 52), (104857600, 105), (209715200, 210),
])
def test_size_tgt_prints(size, shown):
    assert gw.tgt_shown_mb(size) == shown


@pytest.mark.parametrize("wanted, listening, served", [
    ("127.0.0.1:3260", ["127.0.0.1:3260"], True),
    ("192.0.2.1:3260", ["0.0.0.0:3260"], True),
    ("192.0.2.1:3261", ["0.0.0.0:3260"], False),
    ("127.0.0.1:3261", ["127.0.0.1:3260"], False),
])
def test_portal_served(wanted, listening, served):
    assert gw.portal_served(wanted, listening) is served


# --- a tgtd in memory ------------------------------------------------------------------

class FakeTgtd:
    """Answers tgtadm (and cp) like tgt 1.0.85 and coreutils do; records every argv."""

    def __init__(self, reflink: bool = True) -> None:
        self.running = True
        self.reflink = reflink
        self.portals = ["127.0.0.1:3260"]
        self.targets: dict = {}
        self.accounts: dict = {}
        self.calls: list = []
        self.fail_on = None  # (mode, op): answer with an error
        self.fail_on_once = False

    def restart(self) -> None:
        """What a tgtd restart does: the configuration is gone."""
        self.targets, self.accounts = {}, {}

    # the executor
    def __call__(self, argv, input_text, timeout, env):
        self.calls.append(list(argv))
        if argv[0] == "cp":
            return self._cp(argv[1:])
        return self._tgtadm(argv[1:])

    def tgtadm_calls(self, mode=None, op=None) -> list:
        out = []
        for argv in self.calls:
            if argv[0] != "tgtadm":
                continue
            opts = self._options(argv[1:])
            if (mode is None or opts["mode"] == mode) and (op is None or opts["op"] == op):
                out.append(argv)
        return out

    def _cp(self, args):
        options = [a for a in args if a.startswith("--")]
        source, dest = [a for a in args if not a.startswith("--")]
        if "--reflink=always" in options and not self.reflink:
            return 1, "", "cp: failed to clone '%s' from '%s': Operation not supported\n" % (dest, source)
        shutil.copyfile(source, dest)
        return 0, "", ""

    @staticmethod
    def _options(args) -> dict:
        opts, index = {}, 0
        while index < len(args):
            word = args[index]
            if word in ("--outgoing", "--force"):
                opts[word[2:]] = True
                index += 1
            else:
                opts[word.lstrip("-").replace("-", "_")] = args[index + 1]
                index += 2
        return opts

    def _tgtadm(self, args):
        if not self.running:
            return 107, "", "tgtadm: failed to send request hdr to tgt daemon, Transport endpoint is not connected\n"
        opts = self._options(args)
        assert opts.pop("lld") == "iscsi"
        mode, op = opts["mode"], opts["op"]
        if self.fail_on == (mode, op):
            if self.fail_on_once:
                self.fail_on = None
            return 22, "", "tgtadm: invalid request\n"
        handler = getattr(self, "_%s_%s" % (mode, op))
        return handler(opts)

    # portal, account
    def _portal_show(self, opts):
        return 0, "".join("Portal: %s,1\n" % portal for portal in self.portals), ""

    def _account_show(self, opts):
        return 0, "Account list:\n" + "".join("    %s\n" % user for user in self.accounts), ""

    def _account_new(self, opts):
        if opts["user"] in self.accounts:
            return 22, "", "tgtadm: this account already exists\n"
        self.accounts[opts["user"]] = opts["password"]
        return 0, "", ""

    def _account_delete(self, opts):
        if self.accounts.pop(opts["user"], None) is None:
            return 22, "", "tgtadm: can't find the account\n"
        for target in self.targets.values():  # tgtd unbinds a deleted account everywhere
            target["accounts"] = [u for u in target["accounts"] if u != opts["user"]]
            target["outgoing"] = [u for u in target["outgoing"] if u != opts["user"]]
        return 0, "", ""

    def _account_bind(self, opts):
        if opts["user"] not in self.accounts:
            return 22, "", "tgtadm: can't find the account\n"
        self.targets[int(opts["tid"])]["outgoing" if opts.get("outgoing") else "accounts"].append(opts["user"])
        return 0, "", ""

    def _account_unbind(self, opts):
        self.targets[int(opts["tid"])]["outgoing" if opts.get("outgoing") else "accounts"].remove(opts["user"])
        return 0, "", ""

    # targets
    def _target_new(self, opts):
        tid = int(opts["tid"])
        if tid in self.targets:
            return 22, "", "tgtadm: this target already exists\n"
        self.targets[tid] = {"name": opts["targetname"], "luns": {}, "accounts": [], "outgoing": [], "acl": []}
        return 0, "", ""

    def _target_delete(self, opts):
        del self.targets[int(opts["tid"])]
        return 0, "", ""

    def _target_bind(self, opts):
        self.targets[int(opts["tid"])]["acl"].append(opts.get("initiator_name") or opts["initiator_address"])
        return 0, "", ""

    def _target_unbind(self, opts):
        self.targets[int(opts["tid"])]["acl"].remove(opts.get("initiator_name") or opts["initiator_address"])
        return 0, "", ""

    def _target_show(self, opts):
        lines = []
        for tid in sorted(self.targets):
            target = self.targets[tid]
            lines += ["Target %d: %s" % (tid, target["name"]), "    System information:", "        Driver: iscsi",
                      "        State: ready", "    I_T nexus information:", "    LUN information:",
                      "        LUN: 0", "            Type: controller", "            Size: 0 MB, Block size: 1",
                      "            Backing store path: None"]
            for lun in sorted(target["luns"]):
                path, size, params = target["luns"][lun]
                lines += ["        LUN: %d" % lun, "            Type: disk",
                          "            SCSI ID: %s" % params.get("scsi_id", ""),
                          "            Size: %d MB, Block size: 512" % gw.tgt_shown_mb(size),
                          "            Backing store type: rdwr", "            Backing store path: %s" % path]
            lines.append("    Account information:")
            lines += ["        %s" % user for user in target["accounts"]]
            lines += ["        %s (outgoing)" % user for user in target["outgoing"]]
            lines.append("    ACL information:")
            lines += ["        %s" % entry for entry in target["acl"]]
        return 0, "\n".join(lines) + "\n", ""

    # logical units
    def _logicalunit_new(self, opts):
        path = opts["backing_store"]
        self.targets[int(opts["tid"])]["luns"][int(opts["lun"])] = [path, os.path.getsize(path), {}]
        return 0, "", ""

    def _logicalunit_update(self, opts):
        params = dict(item.split("=", 1) for item in opts["params"].split(","))
        lun = self.targets[int(opts["tid"])]["luns"][int(opts["lun"])]
        if "path" in params:  # tgtd opens the backing store again, and reads its size
            if lun[2].get("online", "1") != "0":
                return 22, "", "tgtadm: invalid request\n"
            lun[0], lun[1] = params.pop("path"), os.path.getsize(lun[0])
        lun[2].update(params)
        return 0, "", ""

    def _logicalunit_delete(self, opts):
        del self.targets[int(opts["tid"])]["luns"][int(opts["lun"])]
        return 0, "", ""


@pytest.fixture
def tgtd(monkeypatch):
    fake = FakeTgtd()
    monkeypatch.setattr(Runner, "path", lambda self: self.program)
    monkeypatch.setattr(Runner, "executor", staticmethod(fake))
    return fake


@pytest.fixture
def pool(tmp_path):
    path = tmp_path / "pool0"
    path.mkdir()
    return str(path)


@pytest.fixture
def backend(tgtd, pool):
    opened = []

    def _open(query="portal=127.0.0.1:3260"):
        backend = connect("tgt://%s?%s" % (pool, query))
        opened.append(backend)
        return backend
    yield _open
    for backend in opened:
        backend.close()


def _tgtadm(*words) -> list:
    return ["tgtadm", "--lld", "iscsi"] + list(words)


def _target(tgtd, name):
    return [t for t in tgtd.targets.values() if t["name"] == "iqn.2026-11.io.stormgmt:" + name][0]


# --- URIs ------------------------------------------------------------------------------

@pytest.mark.parametrize("uri, words", [
    ("tgt://storage1/srv/pool0", "no host"),
    ("tgt:///", "absolute path"),
    ("tgt:///srv/.pool", "named after its directory"),
    ("tgt:///srv/pool0?portal=127.0.0.1", "HOST:PORT"),
    ("tgt:///srv/pool0?portal=127.0.0.1:99999", "HOST:PORT"),
    ("tgt:///srv/pool0?iqn_base=IQN.bad", "iqn_base"),
    ("tgt:///srv/pool0?control_port=x", "control_port"),
    ("tgt:///srv/pool0?control_port=70000", "control_port=70000 is out of range"),
    ("tgt:///srv/pool0?control_port=%D9%A3", "control_port"),
    ("tgt:///srv/pool0?control_port=1&control_port=2", "control_port is given more than once"),
    ("tgt:///srv/pool0?portal=127.0.0.1:3260%0A", "portal"),
    ("tgt:///srv/pool0?protal=127.0.0.1:3260", "unknown parameter(s) protal"),
])
def test_bad_uri(uri, words):
    with pytest.raises(errors.ValueFormatEx) as info:
        connect(uri)
    assert words in info.value.msg


def test_missing_pool_directory(tgtd, tmp_path):
    with pytest.raises(errors.OperationPreReqNotMetEx) as info:
        connect("tgt://%s/absent" % tmp_path).list_luns()
    assert "does not exist" in info.value.msg
    assert tgtd.calls == []


def test_tgtd_not_running(tgtd, backend):
    tgtd.running = False
    with pytest.raises(errors.OperationPreReqNotMetEx) as info:
        backend().list_luns()
    assert "tgtd is not running" in info.value.msg


def test_portal_not_served(tgtd, backend):
    with pytest.raises(errors.OperationPreReqNotMetEx) as info:
        backend("portal=127.0.0.1:3261").list_luns()
    assert "does not listen on portal 127.0.0.1:3261; it listens on 127.0.0.1:3260" in info.value.msg


def test_control_port_reaches_every_tgtadm(tgtd, backend):
    array = backend("portal=127.0.0.1:3260&control_port=3")
    array.create_lun("l1", "pool0", MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": None}], None)
    assert tgtd.tgtadm_calls()
    for argv in tgtd.tgtadm_calls():
        assert argv[3:5] == ["--control-port", "3"], argv


def test_portal_defaults_to_what_tgtd_listens_on(tgtd, backend):
    array = backend("")
    array.create_access_group("g1", [HOST_A], [], None)
    assert array.get_access_group("g1")["portal"] == "127.0.0.1:3260"
    assert array.get_server()["access_port"] == 3260


# --- LUNs, snapshots, clones -------------------------------------------------------------

def test_luns_are_sparse_files_and_state_is_private(backend, pool):
    array = backend()
    lun = array.create_lun("thin1", "pool0", 64 * MiB, True, None)
    thick = array.create_lun("thick1", "pool0", 8 * MiB, False, None)
    path = os.path.join(pool, "thin1.img")
    assert lun["array_path"] == path and lun["size"] == os.path.getsize(path) == 64 * MiB
    assert os.stat(path).st_blocks * 512 < MiB  # sparse
    assert os.stat(thick["array_path"]).st_blocks * 512 >= 8 * MiB  # allocated
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(pool, ".stormgmt")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(pool, ".stormgmt", "state.json")).st_mode) == 0o600
    assert array.list_pools()[0]["vol_name"] == "pool0"
    assert [record["name"] for record in array.list_luns()] == ["thick1", "thin1"]
    with pytest.raises(errors.InvalidValueEx):
        array.create_lun("thin1", "pool0", MiB, True, None)
    with pytest.raises(errors.InvalidValueEx):
        array.create_lun("x", "pool9", MiB, True, None)
    with pytest.raises(errors.NoSuchOperationEx):
        array.create_lun("x", "pool0", MiB, True, "gold")


def test_reflink_copies_and_abilities(tgtd, backend, pool):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    assert array.get_abilities()["snapshot"] == "ONLINE"
    snap = array.create_snapshot("l1", "s1")
    assert snap["parent"] == "l1" and snap["se_type"] == "SNAP"
    assert stat.S_IMODE(os.stat(snap["array_path"]).st_mode) == 0o400  # read-only
    copies = [argv for argv in tgtd.calls if argv[0] == "cp" and "probe" not in argv[-1]]
    assert copies == [["cp", "--reflink=always", "--", os.path.join(pool, "l1.img"), copies[0][-1]]]


def test_full_copies_without_reflink(tgtd, backend, pool):
    tgtd.reflink = False
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    abilities = array.get_abilities()
    assert abilities["snapshot"] == abilities["clone"] == abilities["snap_clone"] == "OFFLINE"
    assert abilities["snapshot_restore"] == "OFFLINE"
    array.create_clone("c1", "l1")
    copy = [argv for argv in tgtd.calls if argv[0] == "cp" and argv[1] == "--reflink=never"]
    assert copy and copy[0][:3] == ["cp", "--reflink=never", "--sparse=always"]
    assert array.get_lun("c1")["parent"] == "l1"


def test_snapshot_restore_and_current(backend, pool):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    path = os.path.join(pool, "l1.img")
    with open(path, "r+b") as handle:
        handle.write(b"original")
    array.create_snapshot("l1", "s1")
    assert array.snapshot_is_current("l1", "s1")
    with open(path, "r+b") as handle:
        handle.write(b"changed!")
    os.utime(path, ns=(1, 1))  # a write moves mtime; make sure it differs
    assert not array.snapshot_is_current("l1", "s1")
    array.restore_snapshot("l1", "s1")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"original"
    assert array.snapshot_is_current("l1", "s1")


def test_dependencies(backend):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    array.create_snapshot("l1", "s1")
    array.create_clone("c1", "l1", "s1")
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": None}], None)
    with pytest.raises(errors.StorageElementBusyEx) as info:
        array.delete_lun("l1", force=True)  # clones: never, not even with force
    assert "c1" in info.value.msg
    with pytest.raises(errors.StorageElementBusyEx):
        array.delete_snapshot("l1", "s1")
    with pytest.raises(errors.SnapRestoreNotSafeEx):
        array.restore_snapshot("l1", "s1")
    with pytest.raises(errors.StorageElementBusyEx):
        array.delete_access_group("g1")
    array.split_clone("c1")
    assert array.get_lun("c1")["parent"] is None
    with pytest.raises(errors.StorageElementBusyEx):
        array.delete_lun("l1")  # mapped and has a snapshot
    array.delete_lun("l1", force=True)
    assert array.get_lun("l1") is None
    assert array.list_snapshots("l1") == []
    assert array.get_access_group("g1")["luns"] == []


def test_resize_reopens_the_lun_in_place(tgtd, backend):
    """offline, open the backing store again, online: same LUN number and identity, new size."""
    array = backend()
    lun = array.create_lun("l1", "pool0", 10 * MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": 3}], None)
    tid = [tid for tid, t in tgtd.targets.items() if t["name"].endswith(":g1")][0]
    before = len(tgtd.calls)
    array.resize_lun("l1", 20 * MiB)
    later = [argv[3:] for argv in tgtd.calls[before:] if argv[0] == "tgtadm" and "logicalunit" in argv]
    update = ["--mode", "logicalunit", "--op", "update", "--tid", str(tid), "--lun", "3", "--params"]
    assert later == [update + ["online=0"], update + ["path=%s" % lun["array_path"]], update + ["online=1"]]
    assert tgtd.targets[tid]["luns"][3][1] == 20 * MiB
    assert tgtd.targets[tid]["luns"][3][2]["scsi_id"] == lun["uuid"].replace("-", "")


def test_resize_adds_the_lun_again_when_tgtd_cannot_reopen_it(tgtd, backend):
    array = backend()
    array.create_lun("l1", "pool0", 10 * MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": 3}], None)
    tid = [tid for tid, t in tgtd.targets.items() if t["name"].endswith(":g1")][0]
    tgtd.fail_on = ("logicalunit", "update")
    before = len(tgtd.calls)
    tgtd.fail_on_once = True
    array.resize_lun("l1", 20 * MiB)
    later = [argv[3:7] for argv in tgtd.calls[before:] if argv[0] == "tgtadm" and "logicalunit" in argv]
    assert ["--mode", "logicalunit", "--op", "delete"] in later
    assert later[-2:] == [["--mode", "logicalunit", "--op", "new"], ["--mode", "logicalunit", "--op", "update"]]
    assert tgtd.targets[tid]["luns"][3][1] == 20 * MiB


# --- access groups ----------------------------------------------------------------------

def test_access_group_commands(tgtd, backend, pool):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    start = len(tgtd.calls)
    record = array.create_access_group("g1", [HOST_B, HOST_A], [{"name": "l1", "lun_id": None}], CHAP)
    lun = array.get_lun("l1")
    serial = lun["uuid"].replace("-", "")
    assert [argv for argv in tgtd.calls[start:] if argv[0] == "tgtadm" and "--op" in argv
            and argv[argv.index("--op") + 1] not in ("show",)] == [
        _tgtadm("--mode", "account", "--op", "new", "--user", "hosts-in", "--password", "hosts-secret-0001"),
        _tgtadm("--mode", "target", "--op", "new", "--tid", "1", "--targetname", "iqn.2026-11.io.stormgmt:g1"),
        _tgtadm("--mode", "account", "--op", "bind", "--tid", "1", "--user", "hosts-in"),
        _tgtadm("--mode", "logicalunit", "--op", "new", "--tid", "1", "--lun", "1",
                "--backing-store", os.path.join(pool, "l1.img")),
        _tgtadm("--mode", "logicalunit", "--op", "update", "--tid", "1", "--lun", "1", "--params",
                "scsi_id=%s,scsi_sn=%s,vendor_id=STORMGMT,product_id=TGT-LUN" % (serial, serial[:16])),
        _tgtadm("--mode", "target", "--op", "bind", "--tid", "1", "--initiator-name", HOST_A),
        _tgtadm("--mode", "target", "--op", "bind", "--tid", "1", "--initiator-name", HOST_B),
    ]
    assert record["target_iqn"] == "iqn.2026-11.io.stormgmt:g1"
    assert record["luns"] == [{"name": "l1", "lun_id": 1}]
    assert record["grp_entries"] == [HOST_A, HOST_B]
    assert record["chap_username"] == "hosts-in" and record["status"] is None
    assert lun["page83_id"] == serial
    # secrets: only salted hashes on disk
    with open(os.path.join(pool, ".stormgmt", "state.json")) as handle:
        text = handle.read()
    assert "hosts-secret-0001" not in text and "pbkdf2_sha256$" in text
    assert array.chap_matches("g1", CHAP)
    assert not array.chap_matches("g1", dict(CHAP, password="another-secret-1"))


def test_group_name_to_target_name(backend):
    array = backend()
    record = array.create_access_group("DB_Hosts", [HOST_A], [], None)
    assert record["target_iqn"] == "iqn.2026-11.io.stormgmt:db-hosts"
    with pytest.raises(errors.InvalidValueEx) as info:
        array.create_access_group("db-hosts", [HOST_A], [], None)
    assert "DB_Hosts" in info.value.msg


def test_foreign_target_is_left_alone(tgtd, backend):
    tgtd.targets[9] = {"name": "iqn.2026-11.io.stormgmt:g1", "luns": {}, "accounts": [], "outgoing": [],
                       "acl": ["ALL"]}
    array = backend()
    with pytest.raises(errors.InvalidValueEx) as info:
        array.create_access_group("g1", [HOST_A], [], None)
    assert "does not manage" in info.value.msg
    assert tgtd.targets[9]["acl"] == ["ALL"]


def test_group_entries_and_numbers(backend):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    with pytest.raises(errors.InvalidValueEx):
        array.create_access_group("g1", ["0x500a098812345678"], [], None)  # an FC WWPN
    with pytest.raises(errors.InvalidValueEx) as info:
        array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": 0}], None)
    assert "controller" in info.value.msg
    assert array.get_access_group("g1") is None


def test_update_access_group(tgtd, backend):
    array = backend()
    for name in ("l1", "l2"):
        array.create_lun(name, "pool0", MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": None}], None)
    record = array.update_access_group("g1", {
        "add_entries": [HOST_B], "remove_entries": [HOST_A], "map": [{"name": "l2", "lun_id": 5}],
        "unmap": ["l1"]})
    assert record["grp_entries"] == [HOST_B]
    assert record["luns"] == [{"name": "l2", "lun_id": 5}]
    target = _target(tgtd, "g1")
    assert target["acl"] == [HOST_B]
    assert sorted(target["luns"]) == [5]


def test_shared_chap_user_needs_the_same_secret(backend):
    array = backend()
    array.create_access_group("g1", [HOST_A], [], CHAP)
    with pytest.raises(errors.InvalidValueEx) as info:
        array.create_access_group("g2", [HOST_B], [], dict(CHAP, password="other-secret-01"))
    assert "already used by access group 'g1'" in info.value.msg
    assert array.get_access_group("g2") is None
    array.create_access_group("g2", [HOST_B], [], CHAP)  # the same secret may be shared
    array.delete_access_group("g1")
    assert array.get_access_group("g2")["chap_username"] == CHAP["username"]


def test_failed_tgtadm_changes_nothing_and_masks_the_secret(tgtd, backend):
    array = backend()
    tgtd.fail_on = ("account", "bind")
    with pytest.raises(errors.OperationFailedEx) as info:
        array.create_access_group("g1", [HOST_A], [], CHAP)
    assert "hosts-secret-0001" not in info.value.msg
    tgtd.fail_on = None
    assert array.get_access_group("g1") is None
    assert "hosts-in" not in tgtd.accounts  # rolled back: no account with a secret nobody has on record
    assert all(not target["acl"] for target in tgtd.targets.values())


def test_tgtd_restart_rebuilds_and_chap_fails_closed(tgtd, backend):
    array = backend()
    for name in ("l1", "l2"):
        array.create_lun(name, "pool0", MiB, True, None)
    array.create_access_group("plain", [HOST_A], [{"name": "l1", "lun_id": 4}], None)
    array.create_access_group("secure", [HOST_B], [{"name": "l2", "lun_id": 2}], MUTUAL)
    before = _target(tgtd, "secure")
    assert before["accounts"] == ["m-in"] and before["outgoing"] == ["m-target"]
    tgtd.restart()

    again = backend()
    groups = dict((group["grp_name"], group) for group in again.list_access_groups())
    plain, secure = _target(tgtd, "plain"), _target(tgtd, "secure")
    assert plain["acl"] == [HOST_A] and list(plain["luns"]) == [4]
    # locked: the target and its LUN exist, but nobody is admitted and no account exists
    assert list(secure["luns"]) == [2] and secure["acl"] == [] and tgtd.accounts == {}
    assert groups["plain"]["status"] is None
    assert "locked" in groups["secure"]["status"]
    assert "secure" in again.get_server()["status"]
    assert not again.chap_matches("secure", MUTUAL)

    again.update_access_group("secure", {"chap": MUTUAL})
    assert secure["accounts"] == ["m-in"] and secure["outgoing"] == ["m-target"] and secure["acl"] == [HOST_B]
    assert tgtd.accounts == {"m-in": "m-secret-00001", "m-target": "m-target-secret1"}
    assert backend().get_access_group("secure")["status"] is None
    # the ACL was bound only after the accounts
    secure_tid = [tid for tid, t in tgtd.targets.items() if t is secure][0]
    binds = [argv for argv in tgtd.tgtadm_calls() if "bind" in argv and "--tid" in argv
             and argv[argv.index("--tid") + 1] == str(secure_tid)]
    assert [argv[4] for argv in binds[-3:]] == ["account", "account", "target"]


def test_connect_removes_what_the_state_does_not_hold(tgtd, backend, pool):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": 1}], None)
    target = _target(tgtd, "g1")
    target["acl"].append("ALL")            # an address ACL added by hand
    target["acl"].append(HOST_B)           # an initiator added behind the backend's back
    target["luns"][9] = ["/etc/passwd", 100, {}]
    target["luns"][1][1] = 5 * MiB         # a resize that was cut short (tgt shows another size)
    backend().list_luns()                  # any first call connects, and connecting re-syncs
    assert target["acl"] == [HOST_A]
    assert sorted(target["luns"]) == [1] and target["luns"][1][1] == MiB


def _create_in_child(pool, index):
    """One fork: its own backend (and its own in-memory tgtd), the shared pool directory."""
    backend = connect("tgt://%s?portal=127.0.0.1:3260" % pool)
    backend.create_lun("par-%02d" % index, "pool0", MiB, True, None)
    backend.close()


def test_parallel_forks_lose_nothing(tgtd, pool):
    """20 processes create LUNs at once: the lock and the atomic state file keep every one."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_create_in_child, args=(pool, index)) for index in range(20)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0] * 20
    names = [lun["name"] for lun in connect("tgt://%s?portal=127.0.0.1:3260" % pool).list_luns()]
    assert names == ["par-%02d" % index for index in range(20)]
    assert sorted(os.listdir(pool)) == sorted([".stormgmt"] + ["par-%02d.img" % index for index in range(20)])


def test_a_run_killed_half_way_leaves_a_state_that_opens(backend, pool):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    meta = os.path.join(pool, ".stormgmt")
    # what a SIGKILL between "copy made" and "state saved" leaves: a scratch copy, a half-written state
    with open(os.path.join(meta, "tmp", "s1.0123"), "wb") as handle:
        handle.write(b"x" * 4096)
    with open(os.path.join(meta, "state.json.999.tmp"), "w") as handle:
        handle.write('{"version": 1, "lu')
    again = backend()
    assert [lun["name"] for lun in again.list_luns()] == ["l1"]
    assert os.listdir(os.path.join(meta, "tmp")) == []
    again.create_snapshot("l1", "s1")
    assert again.get_snapshot("l1", "s1") is not None


# --- issue 10: data first (items 1 and 11), what a killed run leaves (the fault points) -----------------

def test_clone_origin_is_kept_after_a_split(backend):
    array = backend()
    parent = array.create_lun("gold", "pool0", MiB, True, None)
    array.create_snapshot("gold", "s1")
    array.create_clone("copy", "gold", "s1")
    assert array.clone_origin("gold") is None
    array.split_clone("copy")
    assert array.get_lun("copy")["parent"] is None
    assert array.clone_origin("copy") == {"parent": "gold", "parent_snapshot": "s1", "parent_uuid": parent["uuid"]}


def test_a_file_the_state_does_not_describe_is_never_replaced(backend, pool):
    array = backend()
    foreign = os.path.join(pool, "db.img")
    with open(foreign, "wb") as handle:
        handle.write(b"someone's disk image")
    array.create_lun("src", "pool0", MiB, True, None)
    for make in (lambda: array.create_lun("db", "pool0", MiB, True, None), lambda: array.create_clone("db", "src")):
        with pytest.raises(errors.InvalidStorageArrayEx) as info:
            make()
        assert "%s already exists and the state of pool pool0 does not describe it" % foreign in info.value.msg
    with open(foreign, "rb") as handle:
        assert handle.read() == b"someone's disk image"
    assert array.get_lun("db") is None and _state(pool).get("pending", []) == []


def test_deleting_a_group_with_mappings_needs_force_and_leaves_nothing_to_inherit(tgtd, backend):
    array = backend()
    array.create_lun("l1", "pool0", MiB, True, None)
    array.create_access_group("g1", [HOST_A], [{"name": "l1", "lun_id": 3}], CHAP)
    with pytest.raises(errors.StorageElementBusyEx) as info:
        array.delete_access_group("g1")
    assert "still has LUN(s) l1 mapped" in info.value.msg
    assert _target(tgtd, "g1")["luns"][3][1] == MiB
    array.delete_access_group("g1", force=True)
    assert [t for t in tgtd.targets.values() if t["name"].endswith(":g1")] == []
    assert CHAP["username"] not in tgtd.accounts
    fresh = array.create_access_group("g1", [HOST_B], [], None)
    assert fresh["luns"] == [] and fresh["chap_username"] is None
    assert sorted(_target(tgtd, "g1")["luns"]) in ([], [0]) and _target(tgtd, "g1")["acl"] == [HOST_B]
    assert array.get_lun("l1")["access_grp_names"] == []


def _state(pool) -> dict:
    with open(os.path.join(pool, ".stormgmt", "state.json")) as handle:
        return json.load(handle)


def test_the_next_run_finishes_what_a_killed_one_recorded(tgtd, backend, pool):
    """State entries in "pending" are what a killed run left: the next connection removes the files
    they name that the state does not describe, and says so."""
    array = backend()
    array.create_lun("keep", "pool0", MiB, True, None)
    state = _state(pool)
    for name in ("orphan.img", "gone.img"):
        with open(os.path.join(pool, name), "wb") as handle:
            handle.write(b"x")
    state["pending"] = [{"op": "create_lun orphan", "dest": "orphan.img"},
                        {"op": "delete_lun gone", "remove": ["gone.img"]},
                        {"op": "create_lun keep", "dest": "keep.img"}]  # recorded by its save: kept
    with open(os.path.join(pool, ".stormgmt", "state.json"), "w") as handle:
        json.dump(state, handle)
    again = backend()
    assert again.get_lun("keep") is not None
    assert sorted(os.listdir(pool)) == [".stormgmt", "keep.img"]
    assert _state(pool)["pending"] == []
    assert any("orphan.img, left by an interrupted create_lun orphan" in text for text in again.repaired)
    assert any("gone.img, left by an interrupted delete_lun gone" in text for text in again.repaired)
