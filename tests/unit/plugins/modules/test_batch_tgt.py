# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The list form of lun and access_group on the Linux server backend (tgt://), for real.

A tgtd of this module's own is started on a free iSCSI port and a free control port (chosen
at run time, so that the suite runs beside other tgtds) and stopped at the end. The modules
run as Ansible runs them (AnsibleModule, in this process); what they did is read back from
tgtd with tgtadm: one target per group, its ACL, its logical units, its CHAP account.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _gw_iscsi as gw  # the iSCSI gateway: tgtadm parsers
from ansible_collections.stormgmt.core.plugins.module_utils.backends import tgt

MiB = 1024 * 1024
IQN = "iqn.2026-01.com.example:%s"
SECRET = "Tgt-Batch-Secret-01"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("tgtd") or not shutil.which("tgtadm"),
                                reason="needs root and tgt (tgtd, tgtadm)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tgtadm(control: int, *words: str, check: bool = True) -> str:
    return subprocess.run(["tgtadm", "-C", str(control)] + list(words), capture_output=True, text=True,
                          check=check).stdout


@pytest.fixture(scope="module")
def tgtd(tmp_path_factory):
    """(portal, control port) of a tgtd started for this module only."""
    log = tmp_path_factory.mktemp("tgtd") / "tgtd.log"
    proc = None
    for _attempt in range(20):
        control = random.randint(2000, 60000)
        if os.path.exists("/var/run/tgtd/socket.%d" % control):
            continue
        port = _free_port()
        with open(str(log), "w") as handle:
            proc = subprocess.Popen(["tgtd", "-f", "-C", str(control), "--iscsi", "portal=127.0.0.1:%d" % port],
                                    stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            if "127.0.0.1:%d" % port in _tgtadm(control, "--mode", "portal", "--op", "show", check=False):
                break
            time.sleep(0.1)
        if proc.poll() is None:
            break
    else:
        pytest.fail("could not start a tgtd: %s" % log.read_text())
    yield "127.0.0.1:%d" % port, control
    for tid in gw.parse_targets(_tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "show", check=False)):
        _tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", str(tid),
                check=False)
    _tgtadm(control, "--op", "update", "--mode", "sys", "--name", "State", "-v", "offline", check=False)
    _tgtadm(control, "--op", "delete", "--mode", "system", check=False)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for suffix in ("", ".lock"):
        try:
            os.unlink("/var/run/tgtd/socket.%d%s" % (control, suffix))
        except OSError:
            pass


@pytest.fixture
def server(tgtd, tmp_path):
    """A tgt:// URI on a pool directory of this test; its targets are deleted at the end."""
    portal, control = tgtd
    pool = tmp_path / "pool0"
    pool.mkdir()
    yield "tgt://%s?portal=%s&control_port=%d&iqn_base=iqn.2026-01.io.stormgmt.batch%d" % (
        pool, portal, control, random.randint(0, 10 ** 6))
    for tid in gw.parse_targets(_tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "show")):
        _tgtadm(control, "--lld", "iscsi", "--mode", "target", "--op", "delete", "--force", "--tid", str(tid))
    for user in gw.parse_accounts(_tgtadm(control, "--lld", "iscsi", "--mode", "account", "--op", "show")):
        _tgtadm(control, "--lld", "iscsi", "--mode", "account", "--op", "delete", "--user", user)


def _targets(tgtd) -> dict:
    """{target name suffix: target} as tgtd shows them."""
    shown = gw.parse_targets(_tgtadm(tgtd[1], "--lld", "iscsi", "--mode", "target", "--op", "show"))
    return dict((target["name"].rsplit(":", 1)[1], target) for target in shown.values())


def test_luns_and_groups_in_one_task_each_on_tgtd(tgtd, server, batch_cycle, module, monkeypatch):
    luns = dict(server=server, luns=[dict(name="l%d" % index, size="%dM" % (index + 1)) for index in range(4)])
    made = batch_cycle("lun", luns)
    assert [(r["lun"]["name"], r["lun"]["size"]) for r in made["results"]] == [("l%d" % i, (i + 1) * MiB) for i in range(4)]
    assert all(os.path.getsize(r["lun"]["array_path"]) == r["lun"]["size"] for r in made["results"])

    groups = dict(server=server, access_groups=[
        dict(name="web", initiators=[IQN % "web1", IQN % "web2"], luns=["l0", dict(name="l1", lun_id=5)]),
        dict(name="db", initiators=[IQN % "db1"], luns=["l2", "l3"], chap=dict(username="db-in", password=SECRET)),
    ])
    made = batch_cycle("access_group", groups)
    assert SECRET not in made["_stdout"]
    targets = _targets(tgtd)
    assert sorted(targets) == ["db", "web"]
    assert targets["web"]["acl"] == [IQN % "web1", IQN % "web2"] and targets["db"]["acl"] == [IQN % "db1"]
    assert sorted(n for n in targets["web"]["luns"] if n) == [1, 5] and sorted(n for n in targets["db"]["luns"] if n) == [1, 2]
    assert targets["db"]["accounts"] == ["db-in"] and targets["web"]["accounts"] == []
    assert [r["access_group"]["target_iqn"] for r in made["results"]] == [targets["web"]["name"], targets["db"]["name"]]

    # a no-op batch reads the state file once for all its LUNs, not once per LUN
    reads = []
    real_state = tgt.TgtBackend._state  # pylint: disable=protected-access

    def counting(self):
        reads.append(1)
        return real_state(self)
    monkeypatch.setattr(tgt.TgtBackend, "_state", counting)
    assert module("lun", luns)["changed"] is False
    assert len(reads) == 1


def test_failing_items_change_nothing_on_tgtd_and_the_others_converge(tgtd, server, module):
    assert not module("lun", dict(server=server, luns=[dict(name="l0", size="1M")])).get("failed")
    before = _targets(tgtd)
    result = module("access_group", dict(server=server, access_groups=[
        dict(name="fc", initiators=["0x21000024ff314c5a"], luns=["l0"]),   # tgt admits iSCSI names only
        dict(name="nolun", initiators=[IQN % "h1"], luns=["ghost"]),       # no such LUN
        dict(name="ok", initiators=[IQN % "h2"], luns=["l0"]),
    ]))
    assert result["failed"] and [r.get("error") for r in result["results"]] == [
        "NoSuchOperationEx", "OperationPreReqNotMetEx", None]
    assert "access group 'fc'" in result["msg"] and "access group 'nolun'" in result["msg"]
    after = _targets(tgtd)
    assert sorted(after) == sorted(before) + ["ok"] and after["ok"]["acl"] == [IQN % "h2"]
    refused = module("lun", dict(server=server, luns=[dict(name="l0", size="1M", qos="gold"), dict(name="l1", size="1M")]))
    assert [r.get("error") for r in refused["results"]] == ["NoSuchOperationEx", None]
    assert os.path.exists(refused["results"][1]["lun"]["array_path"])
