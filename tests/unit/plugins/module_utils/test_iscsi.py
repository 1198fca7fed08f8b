# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The iSCSI host side without a target: URLs, and the exact commands of both initiators.

``Runner.executor`` is swapped, so nothing runs. The user-space path (qemu-storage-daemon)
runs for real in the ``iscsi`` molecule scenario; the kernel path (open-iscsi) cannot log
in on the machines these tests were written on (no iscsi_tcp), so its commands are pinned
here only.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _iscsi, errors
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner

TARGET = "iqn.2026-11.io.stormgmt:hosts"
HOST_A = "iqn.2026-11.io.stormgmt.test:host-a"
CHAP = {"username": "hosts-in", "password": "hosts-secret-0001"}


@pytest.mark.parametrize("url, portal, target, lun", [
    ("iscsi://127.0.0.1/%s/1" % TARGET, "127.0.0.1:3260", TARGET, 1),
    ("iscsi://storage.example:3261/%s/7" % TARGET.upper(), "storage.example:3261", TARGET, 7),
    ("iscsi://[fd00::5]/%s/0" % TARGET, "[fd00::5]:3260", TARGET, 0),
])
def test_url(url, portal, target, lun):
    parsed = _iscsi.IscsiLun(url, HOST_A)
    assert (parsed.portal, parsed.target, parsed.lun, parsed.initiator) == (portal, target, lun, HOST_A)


@pytest.mark.parametrize("url, error", [
    ("iscsi:///%s/1" % TARGET, errors.ValueFormatEx),
    ("iscsi://127.0.0.1/%s" % TARGET, errors.ValueFormatEx),
    ("iscsi://127.0.0.1/%s/one" % TARGET, errors.ValueFormatEx),
    ("iscsi://127.0.0.1/not-an-iqn/1", errors.ValueFormatEx),
    ("iscsi://user%%3Asecret@127.0.0.1/%s/1" % TARGET, errors.ValueFormatEx),
    ("iscsi://127.0.0.1:0x/%s/1" % TARGET, errors.ValueFormatEx),
])
def test_bad_url(url, error):
    with pytest.raises(error):
        _iscsi.IscsiLun(url, HOST_A)


def test_short_chap_secret():
    with pytest.raises(errors.InvalidValueEx):
        _iscsi.IscsiLun("iscsi://127.0.0.1/%s/1" % TARGET, HOST_A, {"username": "u", "password": "short"})


def test_default_initiator_name(monkeypatch, tmp_path):
    conf = tmp_path / "initiatorname.iscsi"
    conf.write_text("## comment\nInitiatorName=iqn.1993-08.org.debian:01:abc123\n")
    monkeypatch.setattr(_iscsi, "INITIATOR_FILE", str(conf))
    assert _iscsi.default_initiator_name() == "iqn.1993-08.org.debian:01:abc123"
    monkeypatch.setattr(_iscsi, "INITIATOR_FILE", str(tmp_path / "absent"))
    monkeypatch.setattr(_iscsi.socket, "gethostname", lambda: "Web_01.example")
    assert _iscsi.default_initiator_name() == "iqn.2026-11.io.stormgmt:web-01.example"


class Recorder:
    def __init__(self, answers=None) -> None:
        self.calls = []
        self.answers = list(answers or [])

    def __call__(self, argv, input_text, timeout, env):
        self.calls.append((list(argv), input_text))
        return self.answers.pop(0) if self.answers else (0, "", "")


@pytest.fixture
def recorder(monkeypatch):
    def install(answers=None):
        rec = Recorder(answers)
        monkeypatch.setattr(Runner, "path", lambda self: self.program)
        monkeypatch.setattr(Runner, "executor", staticmethod(rec))
        return rec
    return install


def test_qemu_storage_daemon_command(recorder, tmp_path):
    rec = recorder()
    lun = _iscsi.IscsiLun("iscsi://127.0.0.1/%s/1" % TARGET, HOST_A, CHAP)
    state = tmp_path / "state"
    _iscsi._qemu_start(lun, str(state), str(state / "lun"), readonly=False)
    (argv, stdin), = rec.calls
    assert argv == [
        "qemu-storage-daemon",
        "--object", "qom-type=secret,id=chap,file=/dev/stdin",
        "--blockdev", "driver=iscsi,node-name=lun,transport=tcp,portal=127.0.0.1:3260,target=%s,lun=1,"
                      "initiator-name=%s,user=hosts-in,password-secret=chap" % (TARGET, HOST_A),
        "--export", "type=fuse,id=export,node-name=lun,mountpoint=%s,writable=on" % (state / "lun"),
        "--daemonize", "--pidfile", str(state / "qsd.pid"),
    ]
    # the secret goes through standard input, never on the command line
    assert stdin == "hosts-secret-0001"
    assert not any("hosts-secret-0001" in word for word in argv)
    assert oct(state.stat().st_mode & 0o777) == "0o700"


def test_qemu_storage_daemon_read_only_probe_without_chap(recorder, tmp_path):
    rec = recorder()
    lun = _iscsi.IscsiLun("iscsi://127.0.0.1/%s/2" % TARGET, HOST_A)
    _iscsi._qemu_start(lun, str(tmp_path / "p"), str(tmp_path / "p" / "lun"), readonly=True)
    (argv, stdin), = rec.calls
    assert "--object" not in argv and stdin == ""
    assert argv[argv.index("--blockdev") + 1].endswith(",read-only=on")
    assert argv[argv.index("--export") + 1].endswith(",writable=off")


def test_login_refused(recorder, tmp_path):
    said = ("qemu-storage-daemon: --blockdev driver=iscsi,...: iSCSI: Failed to connect to LUN : "
            "Failed to log in to target. Status: Authentication failure(513)\n")
    recorder([(1, "", said)])
    lun = _iscsi.IscsiLun("iscsi://127.0.0.1/%s/1" % TARGET, HOST_A, CHAP)
    with pytest.raises(errors.LoginFailedEx) as info:
        _iscsi._qemu_start(lun, str(tmp_path / "s"), str(tmp_path / "s" / "lun"), readonly=False)
    assert "Authentication failure" in info.value.msg and HOST_A in info.value.msg
    assert not (tmp_path / "s").exists()


def test_mutual_chap_needs_the_kernel(recorder, tmp_path):
    rec = recorder()
    lun = _iscsi.IscsiLun("iscsi://127.0.0.1/%s/1" % TARGET, HOST_A,
                          dict(CHAP, mutual_username="t", mutual_password="target-secret-1"))
    with pytest.raises(errors.NoSuchOperationEx):
        _iscsi._qemu_start(lun, str(tmp_path / "s"), str(tmp_path / "s" / "lun"), readonly=False)
    assert rec.calls == []


def test_kernel_login_commands(recorder, monkeypatch, tmp_path):
    rec = recorder([(0, "", ""), (0, "", "")] + [(0, "", "")] * 10)
    device = tmp_path / "by-path"
    monkeypatch.setattr(_iscsi, "_by_path", lambda lun: str(device))
    lun = _iscsi.IscsiLun("iscsi://192.0.2.10/%s/3" % TARGET, HOST_A,
                          dict(CHAP, mutual_username="t-user", mutual_password="target-secret-1"))
    original = _iscsi.ISCSIADM.executor

    def login_makes_the_device(argv, input_text, timeout, env):
        answer = original(argv, input_text, timeout, env)
        if "--login" in argv:
            device.write_text("")
        return answer
    monkeypatch.setattr(Runner, "executor", staticmethod(login_makes_the_device))
    attached = _iscsi._kernel_login(lun)
    assert attached.method == "kernel" and attached.created
    iface = _iscsi._iface(lun)
    node = ["iscsiadm", "--mode", "node", "--targetname", TARGET, "--portal", "192.0.2.10:3260", "--interface", iface]
    assert [argv for argv, _stdin in rec.calls] == [
        ["iscsiadm", "--mode", "iface", "--interface", iface, "--op", "show"],
        ["iscsiadm", "--mode", "iface", "--interface", iface, "--op", "update", "--name", "iface.initiatorname",
         "--value", HOST_A],
        node + ["--op", "new"],
        node + ["--op", "update", "--name", "node.session.auth.authmethod", "--value", "CHAP"],
        node + ["--op", "update", "--name", "node.session.auth.username", "--value", "hosts-in"],
        node + ["--op", "update", "--name", "node.session.auth.password", "--value", "hosts-secret-0001"],
        node + ["--op", "update", "--name", "node.session.auth.username_in", "--value", "t-user"],
        node + ["--op", "update", "--name", "node.session.auth.password_in", "--value", "target-secret-1"],
        node + ["--login"],
    ]


def test_kernel_error_masks_the_secret(recorder):
    recorder([(0, "", "")] * 5 + [(15, "", "iscsiadm: failed to update node.session.auth.password\n")])
    lun = _iscsi.IscsiLun("iscsi://192.0.2.10/%s/3" % TARGET, HOST_A, CHAP)
    with pytest.raises(errors.LoginFailedEx) as info:
        _iscsi._kernel_login(lun)
    assert "hosts-secret-0001" not in info.value.msg and "********" in info.value.msg


def test_probes_of_killed_runs_are_stopped(monkeypatch, tmp_path):
    monkeypatch.setattr(_iscsi, "STATE_DIR", str(tmp_path))
    lun = _iscsi.IscsiLun("iscsi://127.0.0.1/%s/1" % TARGET, HOST_A)
    for owner in (os.getpid(), 999999999):
        (tmp_path / ("%s.probe.%d" % (lun.key, owner))).mkdir()
    (tmp_path / "0123456789abcdef.probe.999999999").mkdir()  # another LUN's: not ours to judge now
    stopped = []
    monkeypatch.setattr(_iscsi, "_qemu_stop", lambda state_dir, loop: stopped.append(os.path.basename(state_dir)))
    _iscsi._stop_orphan_probes(lun.key)
    assert stopped == ["%s.probe.999999999" % lun.key]
