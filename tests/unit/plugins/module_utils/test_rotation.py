# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rotation planner with a fake clock: names, durations, due times, retention, time zones."""

from __future__ import annotations

import calendar
import datetime
import os
import random
import time

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _rotation as rotation
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx, ValueFormatEx

DAY = 86400
T0 = calendar.timegm((2026, 12, 1, 3, 0, 0))  # 2026-12-01T03:00:00Z


class Series:
    """A snapshot series that a sequence of runs rotates, as the storage server would keep it."""

    def __init__(self, prefix="nightly-", every=DAY, keep=None, max_age=None) -> None:
        self.prefix, self.every, self.keep, self.max_age = prefix, every, keep, max_age
        self.snaps = {}  # name -> created (the server's record)
        self.held = {}
        self.log = []

    def run(self, now: float) -> rotation.RotationPlan:
        entries = [rotation.Entry(name, created, self.held.get(name)) for name, created in self.snaps.items()]
        plan = rotation.plan_rotation(entries, self.prefix, self.every, self.keep, self.max_age, now)
        if plan.create:
            self.snaps[plan.create] = int(now)
        for name in plan.prune:
            del self.snaps[name]
        self.log.append(plan)
        return plan

    def generated(self) -> list:
        return sorted(name for name in self.snaps if rotation.name_time(self.prefix, name) is not None)


# --- values -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [
    ("1d", DAY), ("12h", 43200), ("1h30m", 5400), ("2w", 14 * DAY), ("90s", 90), ("90m", 5400), (" 1D ", DAY),
    ("3600", 3600), (3600, 3600), ("1d12h", 36 * 3600),
])
def test_durations(text, seconds):
    assert rotation.parse_duration(text, "every") == seconds


@pytest.mark.parametrize("text, error", [
    ("1y", ValueFormatEx), ("1 month", ValueFormatEx), ("d", ValueFormatEx), ("-1d", ValueFormatEx), ("", ValueFormatEx),
    (True, ValueFormatEx), (None, ValueFormatEx), ("0s", InvalidValueEx), (0, InvalidValueEx), ("1.5d", ValueFormatEx),
])
def test_bad_durations(text, error):
    with pytest.raises(error) as info:
        rotation.parse_duration(text, "every")
    assert "every" in info.value.msg


def test_names_are_prefix_and_utc_time():
    assert rotation.generated_name("nightly-", T0) == "nightly-20261201T030000Z"
    assert rotation.name_time("nightly-", "nightly-20261201T030000Z") == T0
    assert rotation.split_generated("db.hourly-20261201T030000Z") == ("db.hourly-", T0)


@pytest.mark.parametrize("name", [
    "nightly-before-upgrade", "nightly-20261201", "nightly-20261201T030000", "nightly-20261201T030000Zx",
    "nightly-20261301T030000Z", "nightly-20261232T030000Z", "nightly-20261201T250000Z", "nightly-20261201T030060Z",
    "nightly-20260229T030000Z", "Nightly-20261201T030000Z", "nightly_20261201T030000Z", "xnightly-20261201T030000Z",
    "nightly-x20261201T030000Z",
])
def test_only_exact_generated_names_belong_to_the_series(name):
    assert rotation.name_time("nightly-", name) is None


def test_prefix_rules():
    assert rotation.check_prefix("db.nightly-") == "db.nightly-"
    for bad in ("", "-x", ".x", "a/b", "a b", "x" * 48, None):
        with pytest.raises(InvalidValueEx):
            rotation.check_prefix(bad)
    assert rotation.check_prefix("x" * 47)


# --- due times ----------------------------------------------------------------------------------------

def test_a_second_run_within_the_interval_changes_nothing():
    series = Series(keep=7)
    assert series.run(T0).create == "nightly-20261201T030000Z"
    for later in (1, 3600, 20 * 3600, 22 * 3600 - 1):
        plan = series.run(T0 + later)
        assert not plan.changed and plan.create is None and plan.prune == []
    assert series.run(T0 + 22 * 3600).create is not None


def test_nightly_keep_7_with_a_jittery_schedule():
    """Three weeks of nightly runs that start up to a minute early or late: one snapshot a night, 7 kept."""
    rng = random.Random(15)
    series = Series(keep=7)
    for night in range(21):
        now = T0 + night * DAY + rng.randint(-60, 60)
        plan = series.run(now)
        assert plan.create == rotation.generated_name("nightly-", now), night
        assert len(plan.prune) == (1 if night >= 7 else 0)
        # and a manual run later the same night changes nothing
        assert not series.run(now + 2 * 3600).changed
    names = series.generated()
    assert len(names) == 7
    assert names[0] == rotation.generated_name("nightly-", series.snaps[names[0]])
    assert [rotation.name_time("nightly-", name) // DAY for name in names] == [
        (T0 + night * DAY) // DAY for night in range(14, 21)]


def test_next_due_is_every_less_the_tolerance():
    series = Series(every=DAY, keep=3)
    plan = series.run(T0)
    assert plan.next_due == T0 + DAY - 7200
    plan = Series(every=3600, keep=3).run(T0)
    assert plan.next_due == T0 + 3600 - 360


@pytest.mark.parametrize("zone, local_time", [
    ("America/New_York", (1, 30)), ("America/New_York", (2, 30)), ("Europe/Berlin", (2, 30)),
    ("Australia/Lord_Howe", (1, 45)), ("Asia/Kathmandu", (3, 0)),
])
def test_a_schedule_in_local_time_across_daylight_saving_changes(zone, local_time):
    """cron or AWX at a local hour: the UTC interval is 23, 24 or 25 hours (30 minutes at Lord Howe);
    one snapshot per night all year, none skipped, none doubled."""
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        tz = zoneinfo.ZoneInfo(zone)
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no time zone data for %s" % zone)
    series = Series(keep=7)
    day = datetime.date(2026, 1, 1)
    rng = random.Random(zone)
    for _night in range(365):
        local = datetime.datetime(day.year, day.month, day.day, *local_time, tzinfo=tz)
        # a local time skipped by the change runs at once after it, as cron does
        now = local.astimezone(datetime.timezone.utc).timestamp() + rng.randint(-30, 30)
        plan = series.run(now)
        assert plan.create is not None, (zone, day)
        day += datetime.timedelta(days=1)
    assert len(series.generated()) == 7


def test_the_process_time_zone_changes_nothing(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    results = []
    for zone in ("UTC", "America/Los_Angeles", "Asia/Kathmandu", "Pacific/Chatham", "Europe/Dublin"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        series = Series(keep=3, max_age=5 * DAY)
        runs = [series.run(T0 + night * DAY + 7) for night in range(6)]
        results.append([(plan.create, plan.prune, plan.next_due) for plan in runs])
    monkeypatch.delenv("TZ")
    time.tzset()
    assert all(result == results[0] for result in results)
    assert results[0][0][0] == "nightly-20261201T030007Z"


# --- retention -----------------------------------------------------------------------------------------

def test_max_age_prunes_the_old_and_never_the_newest():
    series = Series(every=DAY, max_age=3 * DAY)
    for night in range(6):
        series.run(T0 + night * DAY)
    assert len(series.generated()) == 4  # 0, 1, 2 and 3 days old
    # no run for a month: the run takes a new one and every old one goes
    plan = series.run(T0 + 40 * DAY)
    assert plan.create is not None and len(plan.prune) == 4
    # nothing due (every is longer than max_age): the newest stays, whatever its age
    series.every = 60 * DAY
    plan = series.run(T0 + 50 * DAY)
    assert not plan.changed and series.generated() == [rotation.generated_name("nightly-", T0 + 40 * DAY)]


def test_keep_and_max_age_both_prune():
    series = Series(every=3600, keep=5, max_age=2 * 3600 + 60)
    for hour in range(10):
        series.run(T0 + hour * 3600)
    assert len(series.generated()) == 3  # max_age cuts deeper than keep


def test_held_snapshots_are_kept_and_reported_and_do_not_count():
    series = Series(keep=2)
    for night in range(3):
        series.run(T0 + night * DAY)
    oldest = series.generated()[0]
    assert len(series.generated()) == 2 and oldest == rotation.generated_name("nightly-", T0 + DAY)
    series.held[oldest] = "clone(s) db-test depend on it"
    for night in range(3, 6):
        plan = series.run(T0 + night * DAY)
        assert oldest not in plan.prune
        assert {"name": oldest, "reason": "past the newest 2, but clone(s) db-test depend on it"} in plan.kept
    assert len(series.generated()) == 3  # the two newest, and the held one
    del series.held[oldest]
    plan = series.run(T0 + 6 * DAY)
    assert oldest in plan.prune and plan.kept == []


def test_foreign_snapshots_are_never_pruned():
    series = Series(keep=1)
    series.snaps.update({"nightly-before-upgrade": T0 - 90 * DAY, "weekly-20261101T030000Z": T0 - 30 * DAY,
                         "nightly-20261101": T0 - 30 * DAY})
    for night in range(4):
        series.run(T0 + night * DAY)
    assert sorted(series.snaps) == sorted(["nightly-before-upgrade", "weekly-20261101T030000Z", "nightly-20261101",
                                           rotation.generated_name("nightly-", T0 + 3 * DAY)])


def test_a_server_clock_gone_back_takes_nothing_and_a_name_clash_is_refused():
    series = Series(keep=3)
    series.run(T0)
    assert not series.run(T0 - 3600).changed  # the newest is "in the future": not due
    entries = [rotation.Entry("nightly-20261202T030000Z", T0 - 5 * DAY)]
    with pytest.raises(InvalidValueEx) as info:
        rotation.plan_rotation(entries, "nightly-", DAY, 3, None, T0 + DAY)
    assert "nightly-20261202T030000Z" in info.value.msg


def test_creation_time_comes_from_the_record_and_the_name_only_without_one():
    old_name = rotation.generated_name("n-", T0 - 10 * DAY)
    # made by hand today with an old-looking name: its age is its record's
    plan = rotation.plan_rotation([rotation.Entry(old_name, T0 - 60)], "n-", DAY, None, 5 * DAY, T0)
    assert plan.create is None and plan.prune == []
    # a backend that records no creation time: the name tells
    plan = rotation.plan_rotation([rotation.Entry(old_name, None)], "n-", DAY, None, 5 * DAY, T0)
    assert plan.create is not None and plan.prune == [old_name]


def test_status_for_storage_info():
    entries = [rotation.Entry(rotation.generated_name("n-", T0 - day * DAY), T0 - day * DAY) for day in (3, 2, 1)]
    status = rotation.status(entries, "n-", DAY, T0)
    assert status == {"prefix": "n-", "count": 3, "newest": rotation.generated_name("n-", T0 - DAY),
                      "newest_created": "2026-11-30T03:00:00Z", "oldest": rotation.generated_name("n-", T0 - 3 * DAY),
                      "next_due": "2026-12-01T01:00:00Z", "due": True}
    assert rotation.status(entries, "n-", None, T0)["next_due"] is None
    assert rotation.status([], "n-", DAY, T0)["due"] is True


def test_utc_names_in_any_process_time_zone(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("no time.tzset on this platform")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert rotation.generated_name("n-", T0) == "n-20261201T030000Z"
        assert rotation.name_time("n-", "n-20261201T030000Z") == T0
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert os.environ.get("TZ") is None
