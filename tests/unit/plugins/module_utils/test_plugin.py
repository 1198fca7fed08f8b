# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The public plug-in API: server URIs, ability tables, base classes, registry, error classes."""

from __future__ import annotations

import inspect

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _registry, errors
from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import SimBackend
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    ARRAY_ABILITIES,
    FEATURE_ABILITIES,
    FS_ABILITIES,
    FileSystemPlugin,
    ServerURI,
    StorageArrayPlugin,
    check_abilities,
    is_job,
)


# --- ServerURI --------------------------------------------------------------

@pytest.mark.parametrize("text, scheme, host, port, path, query", [
    ("sim://", "sim", None, None, None, {}),
    ("sim:///var/tmp/sim.db", "sim", None, None, "/var/tmp/sim.db", {}),
    ("SIM:///x.db?job_delay=0.5", "sim", None, None, "/x.db", {"job_delay": "0.5"}),
    ("tgt:///srv/pool0?portal=127.0.0.1:3260", "tgt", None, None, "/srv/pool0", {"portal": "127.0.0.1:3260"}),
    ("plugin+acme://array.example.com:8443/pool?tls=", "plugin+acme", "array.example.com", 8443, "/pool", {"tls": ""}),
])
def test_server_uri_parts(text, scheme, host, port, path, query):
    uri = ServerURI(text)
    assert (uri.scheme, uri.host, uri.port, uri.path, uri.query) == (scheme, host, port, path, query)
    assert str(uri) == text


@pytest.mark.parametrize("text", ["sim:", "/var/tmp/sim.db", "", None, 5, "pool0"])
def test_not_a_uri(text):
    with pytest.raises(ValueFormatEx) as info:
        ServerURI(text)
    assert info.value.key == "server"


@pytest.mark.parametrize("text", ["plugin+acme://admin:secret@array/", "plugin+acme://admin@array/"])
def test_credentials_in_the_uri_are_refused_without_echoing_them(text):
    with pytest.raises(ValueFormatEx) as info:
        ServerURI(text)
    assert "secret" not in info.value.msg and "username and password options" in info.value.msg


def test_invalid_port():
    with pytest.raises(ValueFormatEx) as info:
        ServerURI("plugin+acme://array:99999/")
    assert "port" in info.value.msg


@pytest.mark.parametrize("value, convert, bounds, expected", [
    ("0.25", float, {}, 0.25), ("12", int, {}, 12), ("3600", float, {"maximum": 3600}, 3600.0),
    ("TRUE", bool, {}, True), ("off", bool, {}, False), ("a/b", str, {}, "a/b"), ("", str, {}, ""),
])
def test_uri_option_accepts(value, convert, bounds, expected):
    assert ServerURI("x:///y?p=%s" % value).option("p", None, convert, **bounds) == expected


@pytest.mark.parametrize("value, convert, bounds, words", [
    ("inf", float, {}, "is not valid: expected a number"),
    ("nan", float, {}, "is not valid"),
    ("1e308", float, {}, "is not valid"),
    ("-1", float, {"minimum": 0}, "is not valid"),
    ("%EF%BC%91", int, {}, "is not valid"),           # a full-width digit: int() would take it
    ("\u0661", int, {}, "is not valid"),
    (" 5", int, {}, "is not valid"),
    ("70000", int, {"minimum": 0, "maximum": 65535}, "out of range: expected a whole number from 0 to 65535"),
    ("0.01", float, {"minimum": 0.1, "maximum": 10, "unit": "seconds"},
     "expected a number of seconds from 0.1 to 10"),
    ("maybe", bool, {}, "expected true or false"),
    ("a%0Ab", str, {}, "without control characters"),
    ("a%E2%80%A8b", str, {}, "without control characters"),
])
def test_uri_option_refuses(value, convert, bounds, words):
    with pytest.raises(ValueFormatEx) as info:
        ServerURI("x:///y?p=%s" % value).option("p", None, convert, **bounds)
    assert words in info.value.msg and info.value.msg.startswith("server URI parameter p=")
    assert info.value.key == "server"


def test_uri_option_given_twice_is_refused():
    uri = ServerURI("x:///y?p=1&q=2&p=3")
    assert uri.option("q", None, int) == 2
    with pytest.raises(ValueFormatEx) as info:
        uri.option("p", None, int)
    assert "p is given more than once" in info.value.msg


def test_unknown_uri_parameters_are_refused():
    with pytest.raises(ValueFormatEx) as info:
        ServerURI("x:///y?job_dealy=1&b=2").check_parameters(("job_delay",), "sim")
    assert "unknown parameter(s) b, job_dealy; the sim backend reads job_delay" in info.value.msg


def test_uri_option_conversion():
    uri = ServerURI("sim:///x.db?job_delay=0.25&bad=abc")
    assert uri.option("job_delay", 0.0, float) == 0.25
    assert uri.option("absent", 7, int) == 7
    with pytest.raises(ValueFormatEx) as info:
        uri.option("bad", 0, float)
    assert "bad='abc'" in info.value.msg


# --- abilities --------------------------------------------------------------

def test_simulator_ability_table_is_valid_and_complete(sim):
    abilities = sim.get_abilities()
    assert check_abilities(abilities) is abilities
    assert set(abilities) == set(ARRAY_ABILITIES) | set(FS_ABILITIES)
    operations = set(abilities) - FEATURE_ABILITIES - {"backing_device_type"}
    assert all(abilities[key] == "ONLINE" for key in operations)
    assert all(abilities[key] == "YES" for key in FEATURE_ABILITIES)


@pytest.mark.parametrize("table, key", [
    ({"create_lun": "ONLINE", "teleport": "YES"}, "teleport"),
    ({"create_lun": "MAYBE"}, "create_lun"),
    ({"chap": "ONLINE"}, "chap"),                       # feature keys take YES/NO only
    ({"backing_device_type": "ONLINE"}, "backing_device_type"),
])
def test_bad_ability_tables(table, key):
    with pytest.raises(ValueFormatEx) as info:
        check_abilities(table)
    assert info.value.key == key


class Minimal(StorageArrayPlugin, FileSystemPlugin):
    """A backend that implements only what every backend must."""

    scheme = "minimal"

    def __init__(self, abilities=None, pools=None) -> None:
        super().__init__(ServerURI("minimal://"))
        self.abilities = abilities or {}
        self.pools = pools

    def get_server(self):
        return {}

    def get_abilities(self):
        return self.abilities

    def list_pools(self):
        if self.pools is None:
            return super().list_pools()
        return self.pools


@pytest.mark.parametrize("value, ok", [
    ("ONLINE", True), ("OFFLINE", True), ("YES", True), ("UNSUPPORTED", False), ("NO", False), ("INVALID", False),
])
def test_require(value, ok):
    backend = Minimal({"snapshot": value})
    if ok:
        assert backend.require("snapshot", "snapshot LUN 'a'") == value
    else:
        with pytest.raises(NoSuchOperationEx) as info:
            backend.require("snapshot", "snapshot LUN 'a'")
        assert "snapshot LUN 'a'" in info.value.msg and "snapshot=%s" % value in info.value.msg


def test_an_ability_not_in_the_table_is_unsupported():
    assert Minimal().ability("clone") == "UNSUPPORTED"
    with pytest.raises(NoSuchOperationEx):
        Minimal().require("clone", "clone LUN 'a'")


@pytest.mark.parametrize("call", [
    lambda b: b.list_luns(), lambda b: b.create_lun("a", "p", 1, True, None), lambda b: b.resize_lun("a", 1),
    lambda b: b.delete_lun("a"), lambda b: b.create_snapshot("a", "s"), lambda b: b.restore_snapshot("a", "s"),
    lambda b: b.create_clone("c", "a"), lambda b: b.split_clone("c"), lambda b: b.list_access_groups(),
    lambda b: b.create_access_group("g", [], [], None), lambda b: b.chap_matches("g", {}),
    lambda b: b.list_filesystems(), lambda b: b.create_filesystem("f", "p", 1, {}), lambda b: b.job_status("j"),
    lambda b: b.list_pools(), lambda b: b.get_lun("a"),
])
def test_what_a_backend_does_not_implement_is_no_such_operation(call):
    with pytest.raises(NoSuchOperationEx) as info:
        call(Minimal())
    assert "minimal backend cannot" in info.value.msg


def test_default_pool_is_the_first_pool_or_an_error():
    assert Minimal(pools=[{"vol_name": "fast"}, {"vol_name": "slow"}]).default_pool() == "fast"
    with pytest.raises(InvalidValueEx):
        Minimal(pools=[]).default_pool()


def test_base_defaults():
    backend = Minimal()
    assert backend.list_qos() == [] and backend.block_size == 512 and backend.min_lun_id == 1
    assert backend.snapshot_is_current("a", "s") is False
    backend.close()


def test_is_job():
    assert is_job({"job_id": "1", "progress": 0, "status": "RUNNING", "op": "x"})
    assert not is_job({"name": "db01"}) and not is_job(None) and not is_job("job")


# --- registry ----------------------------------------------------------------

def test_sim_scheme_selects_the_simulator(sim_uri):
    backend = _registry.connect(sim_uri, "user", "pw")
    try:
        assert isinstance(backend, SimBackend)
        assert backend.username == "user" and backend.password == "pw"
    finally:
        backend.close()


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(ValueFormatEx) as info:
        _registry.connect("nosuch:///x")
    assert "nosuch" in info.value.msg and "sim" in info.value.msg
    assert info.value.key == "server"


def test_registered_scheme_wins(monkeypatch):
    monkeypatch.setattr(_registry, "_REGISTERED", {})

    @_registry.register
    class Fake(Minimal):
        scheme = "fake"

        def __init__(self, uri, username=None, password=None):  # pylint: disable=super-init-not-called
            self.uri = uri

    assert isinstance(_registry.connect("fake://x/y"), Fake)


# --- error classes -----------------------------------------------------------

def test_every_error_class_is_registered():
    defined = [cls for _name, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, errors.IPluginException) and cls is not errors.IPluginException]
    assert sorted(cls.__name__ for cls in defined) == sorted(errors.ERROR_CLASSES)


def test_error_round_trip_through_a_dict():
    error = errors.StorageElementBusyEx("LUN 'a' is mapped", "name")
    again = errors.error_from_dict(error.to_dict())
    assert again.__class__ is errors.StorageElementBusyEx
    assert (again.msg, again.key, again.name) == ("LUN 'a' is mapped", "name", "StorageElementBusyEx")


@pytest.mark.parametrize("data", [{"error": "SystemExit", "msg": "x"}, {"error": "IPluginException"}, {}])
def test_unknown_error_names_become_operation_failed(data):
    error = errors.error_from_dict(data)
    assert error.__class__ is OperationFailedEx and error.msg
