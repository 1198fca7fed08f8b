# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The TTL cache keyed by storage server uuid (a fake clock stands in for time)."""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils._cache import DEFAULT_TTL, TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entries_expire_after_their_ttl():
    clock = Clock()
    cache = TTLCache(clock=clock)
    cache.set("ss1", "luns", ["a"], expire_time=10)
    clock.now = 9.9
    assert cache.get("ss1", "luns") == ["a"]
    clock.now = 10.0
    assert cache.get("ss1", "luns") is None


def test_default_ttl():
    clock = Clock()
    cache = TTLCache(clock=clock)
    cache.set("ss1", "k", 1)
    clock.now = DEFAULT_TTL - 0.01
    assert cache.get("ss1", "k") == 1
    clock.now = DEFAULT_TTL
    assert cache.get("ss1", "k") is None


def test_servers_do_not_share_entries():
    cache = TTLCache()
    cache.set("ss1", "luns", ["a"])
    cache.set("ss2", "luns", ["b"])
    assert cache.get("ss1", "luns") == ["a"] and cache.get("ss2", "luns") == ["b"]
    cache.clear("ss1")
    assert cache.get("ss1", "luns") is None and cache.get("ss2", "luns") == ["b"]


def test_setting_none_removes_the_entry():
    cache = TTLCache()
    cache.set("ss1", "k", 1)
    cache.set("ss1", "k", None)
    assert cache.get("ss1", "k") is None
    cache.set("ss9", "never-set", None)  # no error for an unknown server


def test_extend_pushes_a_live_entry_only():
    clock = Clock()
    cache = TTLCache(clock=clock)
    cache.set("ss1", "k", 1, expire_time=5)
    cache.extend("ss1", "k", 5)
    clock.now = 9
    assert cache.get("ss1", "k") == 1
    clock.now = 20
    cache.extend("ss1", "k", 100)  # already expired: stays expired
    assert cache.get("ss1", "k") is None


def test_get_or_set_computes_once_while_fresh():
    clock = Clock()
    cache = TTLCache(clock=clock)
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    assert cache.get_or_set("ss1", "k", compute, expire_time=5) == 1
    assert cache.get_or_set("ss1", "k", compute, expire_time=5) == 1
    clock.now = 5
    assert cache.get_or_set("ss1", "k", compute, expire_time=5) == 2
    assert len(calls) == 2


def test_simulator_clears_its_entries_after_a_write(sim):
    sim.cache.set(sim.server_uuid, "luns", ["stale"])
    sim.create_lun("db01", "pool0", 4096, True, None)
    assert sim.cache.get(sim.server_uuid, "luns") is None
