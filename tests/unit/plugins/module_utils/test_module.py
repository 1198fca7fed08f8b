# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module glue (plugins/module_utils/_module.py) as every module goes through it, run as
Ansible runs a module (arguments as JSON through AnsibleModule): the server is never guessed,
a password written into a URI is never shown, argument errors carry an error class, numbers
are whole, empty credential fields are unset."""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest

from ansible.module_utils import basic

from ansible_collections.stormgmt.core.plugins.module_utils import _registry, records
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import StorageArrayPlugin, uri_secrets

MODULES = ("lun", "snapshot", "clone", "access_group", "filesystem", "mount", "storage_info")

SECRET = "Zq8-Uri-Secret-7Kd"


def valid_args(name: str, tmp_path) -> dict:
    """Options each module accepts, without server."""
    return {
        "lun": dict(name="db01", size="1G"),
        "snapshot": dict(name="s1", lun="db01"),
        "clone": dict(name="c1", lun="db01"),
        "access_group": dict(name="g1", chap=dict(username="u1", password="Chap-Secret-123")),
        "filesystem": dict(name="fs1", size="1G"),
        "mount": dict(path=str(tmp_path / "mnt"), filesystem="fs1", state="mounted",
                      fstab=str(tmp_path / "fstab")),
        "storage_info": dict(),
    }[name]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """HOME and XDG_STATE_HOME in the test's directory: where a guessed sim:// would write."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home" / "state"))
    for name in ("STORMGMT_SERVER", "STORMGMT_USERNAME", "STORMGMT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def logged(monkeypatch):
    """What the modules log on the managed node (AnsibleModule.log: the journal, else syslog)."""
    lines = []
    monkeypatch.setattr(basic, "has_journal", False)
    monkeypatch.setattr(basic.AnsibleModule, "_log_to_syslog", lambda self, msg: lines.append(msg))
    return lines


def files_under(path) -> list:
    return sorted(os.path.join(top, name) for top, _dirs, names in os.walk(str(path)) for name in names)


# --- item 19: the server is never guessed ----------------------------------------------------

@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("server", [None, ""])
def test_a_task_without_server_fails_and_writes_nothing(name, server, home, tmp_path, module):
    args = valid_args(name, tmp_path)
    if server is not None:
        args["server"] = server
    for check_mode in (True, False):
        result = module(name, args, check_mode=check_mode)
        assert result["failed"] is True and result["error"] == "MissingKeyEx", result
        assert "server is not set" in result["msg"] and "STORMGMT_SERVER" in result["msg"]
    assert files_under(tmp_path) == []


def test_an_empty_server_variable_is_not_a_server(home, tmp_path, module, monkeypatch):
    monkeypatch.setenv("STORMGMT_SERVER", "")
    result = module("lun", dict(name="db01", size="1G"))
    assert result["error"] == "MissingKeyEx" and "server is not set" in result["msg"]
    assert files_under(tmp_path) == []


def test_the_server_from_the_environment_is_used(home, sim_uri, sim, module, monkeypatch):
    monkeypatch.setenv("STORMGMT_SERVER", sim_uri)
    assert module("lun", dict(name="db01", size="1G"))["changed"] is True
    assert sim.get_lun("db01") is not None


def test_the_simulator_is_used_when_named(home, module):
    result = module("lun", dict(server="sim://", name="db01", size="1G"))
    assert result["changed"] is True
    assert files_under(home) == [str(home / "state" / "stormgmt" / "sim.db")]


def test_host_side_tasks_need_no_server(home, tmp_path, module):
    """A mount of a device or directory never reaches a storage server: no server needed."""
    source = tmp_path / "data"
    source.mkdir()
    args = dict(path=str(tmp_path / "mnt"), src=str(source), state="absent", fstab=str(tmp_path / "fstab"))
    result = module("mount", args)
    assert not result.get("failed") and result["changed"] is False, result


# --- item 12: a password in a URI is never shown -------------------------------------------

LEAKY_SERVERS = [
    "sim://admin:%s@host/x.db" % SECRET,
    "sim://admin:%s@[::1/x.db" % SECRET,                      # malformed too: an IPv6 host never closed
    "tgt://admin:%s@host:99999/pool" % SECRET,                # and a port out of range
    "sim://admin:pa/ss-%s@host/x.db" % SECRET,                # a '/' that urlsplit reads as the path
    "admin:%s@array1" % SECRET,                               # no scheme at all
    "plugin+acme://array1/?password=%s" % SECRET,             # a secret as a query parameter
    "plugin+acme://admin:%s@array1/" % quote(SECRET + "/@:", safe=""),  # percent-encoded
]


def secret_forms() -> list:
    return [SECRET, quote(SECRET + "/@:", safe=""), SECRET + "/@:"]


def assert_no_secret(text: str) -> None:
    for form in secret_forms():
        assert form not in text


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("server", LEAKY_SERVERS)
def test_a_password_in_the_server_uri_is_refused_and_never_shown(name, server, home, tmp_path, module, logged):
    args = dict(valid_args(name, tmp_path), server=server)
    for extra, error in ((dict(), "ValueFormatEx"), (dict(no_such_option=1), "InvalidValueEx")):
        for check_mode in (True, False):
            result = module(name, dict(args, **extra), check_mode=check_mode, diff=True)
            assert result["failed"] is True and result["error"] == error, result
            assert_no_secret(result["_stdout"])
            assert "server" in result["invocation"]["module_args"]
    assert_no_secret("\n".join(logged))
    assert logged, "the modules logged no invocation: this test would not see a leak there"
    assert files_under(tmp_path) == []


def test_a_password_in_the_server_variable_is_never_shown(home, tmp_path, module, logged, monkeypatch):
    monkeypatch.setenv("STORMGMT_SERVER", "sim://admin:%s@host/x.db" % SECRET)
    result = module("lun", dict(name="db01", size="1G"), diff=True)
    assert result["error"] == "ValueFormatEx" and "credentials" in result["msg"]
    assert_no_secret(result["_stdout"] + "\n".join(logged))


def test_a_password_in_an_iscsi_device_url_is_never_shown(home, tmp_path, module, logged):
    device = "iscsi://user:%s@127.0.0.1:3260/iqn.2026-01.com.example:t1/1" % SECRET
    result = module("filesystem", dict(device=device, fstype="ext4"), check_mode=True)
    assert result["failed"] and result["error"] == "ValueFormatEx", result
    assert_no_secret(result["_stdout"] + "\n".join(logged))


@pytest.mark.parametrize("text, found", [
    ("sim:///var/lib/stormgmt/sim.db", set()),
    ("tgt:///srv/pool0?portal=127.0.0.1:3260&control_port=7", set()),
    ("sim:///a@b/c:d.db", set()),
    ("plugin+acme://array:8443/pool", set()),
    ("plugin+acme://user@array/", set()),
    ("plugin+acme://user:p%40ss@array/", {"p%40ss", "p@ss"}),
    ("plugin+acme://array/?api_token=t0k&x=1&Secret=s+1", {"t0k", "s+1", "s 1"}),
    (None, set()),
    (["sim://a:b@c"], {"b"}),
])
def test_uri_secrets(text, found):
    assert uri_secrets(text) == found


# --- item 16: argument errors carry an error class -----------------------------------------

@pytest.mark.parametrize("name, args, error, words", [
    ("lun", dict(name="db01", state="gone"), "InvalidValueEx", ["state", "gone"]),
    ("lun", dict(size="1G"), "MissingKeyEx", ["name"]),
    ("lun", dict(name="db01", thin="maybe"), "ValueFormatEx", ["thin"]),
    ("lun", dict(name="db01", wait_timeout="soon"), "ValueFormatEx", ["wait_timeout"]),
    ("lun", dict(name="db01", colour="red"), "InvalidValueEx", ["colour"]),
    ("snapshot", dict(name="s1", lun="a", filesystem="b"), "InvalidValueEx", ["lun", "filesystem"]),
    ("snapshot", dict(name="s1"), "MissingKeyEx", ["lun", "filesystem"]),
    ("snapshot", dict(name="s1", lun="a", state="kept"), "InvalidValueEx", ["state"]),
    ("clone", dict(name="c1", lun="a", filesystem="b"), "InvalidValueEx", ["lun", "filesystem"]),
    ("clone", dict(name="c1", lun="a", split="perhaps"), "ValueFormatEx", ["split"]),
    ("access_group", dict(name="g1", chap=dict(username="u1")), "MissingKeyEx", ["password"]),
    ("access_group", dict(name="g1", chap=dict(username="u1", password="Chap-Secret-123", mutual_username="m")),
     "MissingKeyEx", ["mutual_password"]),
    ("access_group", dict(name="g1", chap=dict(username="u1", password="Chap-Secret-123", colour=1)),
     "InvalidValueEx", ["colour"]),
    ("access_group", dict(name="g1", append="sometimes"), "ValueFormatEx", ["append"]),
    ("filesystem", dict(size="1G"), "MissingKeyEx", ["name", "device"]),
    ("filesystem", dict(name="fs1", export=dict(options="rw", colour=1)), "InvalidValueEx", ["colour"]),
    ("filesystem", dict(name="fs1", export="everyone"), "ValueFormatEx", ["export"]),
    ("mount", dict(path="/mnt/x"), "MissingKeyEx", ["state"]),
    ("mount", dict(path="/mnt/x", state="mounted", src="/a", filesystem="b"), "InvalidValueEx", ["filesystem", "src"]),
    ("mount", dict(path="/mnt/x", state="mounted"), "MissingKeyEx", ["filesystem", "src"]),
    ("mount", dict(path="/mnt/x", state="absent", share_path="a"), "MissingKeyEx", ["share_path", "filesystem"]),
    ("mount", dict(path="/mnt/x", state="absent", passno="two"), "ValueFormatEx", ["passno"]),
    ("storage_info", dict(gather_subset=["everything"]), "InvalidValueEx", ["gather_subset"]),
])
def test_argument_errors_carry_an_error_class(name, args, error, words, sim_uri, sim_path, module):
    for check_mode in (True, False):
        result = module(name, dict(args, server=sim_uri), check_mode=check_mode)
        assert result["failed"] is True and result["error"] == error, result
        for word in words:
            assert word in result["msg"]
    assert not os.path.exists(sim_path)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_gives_argument_errors_a_class(name, sim_uri, tmp_path, module):
    args = dict(valid_args(name, tmp_path), server=sim_uri)
    assert module(name, dict(args, wait="perhaps"))["error"] == "ValueFormatEx"
    assert module(name, dict(args, no_such_option=1))["error"] == "InvalidValueEx"


# --- item 17: whole numbers ----------------------------------------------------------------

@pytest.mark.parametrize("value", [1.5, "1.5", "0.3K", "1.1T", True, False, -1, "-1G", float("nan"), float("inf"),
                                   "9" * 30])
def test_a_size_that_is_not_a_whole_number_of_bytes_is_refused(value, sim_uri, sim, module):
    for check_mode in (True, False):
        result = module("lun", dict(server=sim_uri, name="db01", size=value), check_mode=check_mode)
        assert result["failed"] is True and result["error"] in ("ValueFormatEx", "InvalidValueEx"), result
        assert "size" in result["msg"]
    assert sim.list_luns() == []


@pytest.mark.parametrize("value, size", [("1.5G", 1536 * 1024 ** 2), (2.0 * 1024, 2048), ("1.5KiB", 1536),
                                         ("0.5K", 512)])
def test_fractions_that_make_whole_bytes_stay_valid(value, size, sim_uri, module):
    assert module("lun", dict(server=sim_uri, name="db01", size=value))["lun"]["size"] == size


@pytest.mark.parametrize("lun_id", [1.5, "1.5", True, False, float("nan"), float("inf"), "0x10", "", [1], "-1"])
def test_a_lun_id_that_is_not_a_whole_number_is_refused(lun_id, sim_uri, sim, module):
    sim.create_lun("a", "pool0", 1024 ** 2, True, None)
    for check_mode in (True, False):
        result = module("access_group", dict(server=sim_uri, name="g1", luns=[dict(name="a", lun_id=lun_id)]),
                        check_mode=check_mode)
        assert result["failed"] is True and result["error"] == "ValueFormatEx", result
        assert "lun_id" in result["msg"]
    assert sim.list_access_groups() == []


def test_a_whole_lun_id_in_any_spelling_is_taken(sim_uri, sim, module):
    sim.create_lun("a", "pool0", 1024 ** 2, True, None)
    created = module("access_group", dict(server=sim_uri, name="g1", luns=[dict(name="a", lun_id=2.0)]))
    assert created["access_group"]["luns"] == [{"name": "a", "lun_id": 2}]
    again = module("access_group", dict(server=sim_uri, name="g1", luns=[dict(name="a", lun_id="2")]))
    assert again["changed"] is False


@pytest.mark.parametrize("name, args", [
    ("lun", dict(name="db01", size="1G", wait_timeout=True)),
    ("lun", dict(name="db01", size="1G", wait_timeout=-5)),
    ("storage_info", dict(wait_timeout=False)),
    ("mount", dict(path="/mnt/x", state="absent", dump=True)),
    ("mount", dict(path="/mnt/x", state="absent", passno=-1)),
    # Ansible's int type crashes on these (OverflowError, a traceback) or builds a billion-digit number
    ("lun", dict(name="db01", size="1G", wait_timeout=float("inf"))),
    ("lun", dict(name="db01", size="1G", wait_timeout="inf")),
    ("lun", dict(name="db01", size="1G", wait_timeout=" -Infinity ")),
    ("lun", dict(name="db01", size="1G", wait_timeout=float("nan"))),
    ("lun", dict(name="db01", size="1G", wait_timeout="1e999999999")),
    ("lun", dict(name="db01", size="1G", wait_timeout=2 ** 64)),
    ("mount", dict(path="/mnt/x", state="absent", dump="nan")),
])
def test_integer_options_take_whole_numbers_of_zero_or_more(name, args, sim_uri, sim_path, module):
    result = module(name, dict(args, server=sim_uri))
    assert result["failed"] is True and result["error"] == "ValueFormatEx", result
    assert "whole number" in result["msg"] or "convert" in result["msg"], result["msg"]
    assert not os.path.exists(sim_path)


def test_export_options_are_a_set(sim_uri, module, cycle):
    created = cycle("filesystem", dict(server=sim_uri, name="fs1", size="1G",
                                       export=dict(clients=["*"], options=["sync", "rw", "no_root_squash"])))
    assert created["filesystem"]["export_opts"] == ["no_root_squash", "rw", "sync"]
    for options in (["rw", "sync", "no_root_squash"], ["no_root_squash", "sync", "rw", "rw"]):
        for check_mode in (True, False):
            again = module("filesystem", dict(server=sim_uri, name="fs1", export=dict(clients=["*"], options=options)),
                           check_mode=check_mode)
            assert again["changed"] is False, again


@pytest.mark.parametrize("options", [["rw", "ro"], ["sync", "async"], ["root_squash", "no_root_squash"],
                                     ["hide", "nohide"], ["anonuid=1", "anonuid=2"], ["secure", "insecure"]])
def test_export_options_that_contradict_each_other_are_refused(options, sim_uri, sim, module):
    for check_mode in (True, False):
        result = module("filesystem", dict(server=sim_uri, name="fs1", size="1G",
                                           export=dict(clients=["*"], options=options)), check_mode=check_mode)
        assert result["failed"] is True and result["error"] == "InvalidValueEx", result
        assert "contradict" in result["msg"]
    assert sim.list_filesystems() == []


def test_records_carry_export_options_in_one_order_whatever_the_backend_stored():
    record = records.make("file_system", name="fs1", uuid=None, size=1, free_sz=1, mount_options=[],
                          export_opts=["sync", "rw", "sync"], state="UNMOUNTED", status="OK")
    assert record["export_opts"] == ["rw", "sync"]


# --- item 22: empty credential fields are not set -------------------------------------------

class Recorder(StorageArrayPlugin):
    """A backend that only records how it was connected (no storage behind it)."""

    scheme = "recorder"
    seen: list = []

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        Recorder.seen.append((username, password))

    def get_server(self):
        return records.make("storage_server", name="recorder", uuid="u", storage_type="iSCSIStorage",
                            backend=self.scheme, uri=self.uri.text, status="OK", storage_desc="records logins")

    def get_abilities(self):
        return {}


@pytest.fixture
def recorder(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTERED", {"recorder": Recorder})
    monkeypatch.setattr(Recorder, "seen", [])
    for name in ("STORMGMT_SERVER", "STORMGMT_USERNAME", "STORMGMT_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return Recorder.seen


def test_empty_credential_fields_are_not_set(recorder, module):
    result = module("storage_info", dict(server="recorder://", username="", password="", gather_subset=["server"]))
    assert not result.get("failed"), result
    assert recorder == [(None, None)]


def test_empty_credential_variables_are_not_set(recorder, module, monkeypatch):
    monkeypatch.setenv("STORMGMT_SERVER", "recorder://")
    monkeypatch.setenv("STORMGMT_USERNAME", "")
    monkeypatch.setenv("STORMGMT_PASSWORD", "")
    assert not module("storage_info", dict(gather_subset=["server"])).get("failed")
    monkeypatch.setenv("STORMGMT_USERNAME", "admin")
    monkeypatch.setenv("STORMGMT_PASSWORD", "Pw-From-Env-1")
    result = module("storage_info", dict(username="", gather_subset=["server"]))
    assert recorder == [(None, None), ("admin", "Pw-From-Env-1")]
    assert "Pw-From-Env-1" not in result["_stdout"]
