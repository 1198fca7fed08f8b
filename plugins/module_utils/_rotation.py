# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Snapshot rotation: the planner and the resource of the ``snapshot`` module's rotation form.
Private to this collection.

A rotation is a series of snapshots of one LUN, file system or consistency group whose names
are ``<prefix><UTC time>``, e.g. ``nightly-20261202T030012Z`` (``YYYYMMDDTHHMMSSZ``, always UTC,
always 16 characters). Only names of exactly that form are part of the series: a snapshot
called ``nightly-before-upgrade`` merely shares the prefix and is never touched.

One task: a new snapshot is due when the newest of the series is at least ``every`` old
(less a tolerance of a tenth of ``every``, at most two hours, so that a schedule that starts a
few seconds early, or an hour early after a daylight saving change, does not skip a turn); then the snapshots past the newest ``keep`` or older
than ``max_age`` are pruned, except the newest, and except those a clone depends on or that
are busy (kept and reported). Ages are differences of seconds since the epoch on the storage
server's clock (``server_time()`` and the records' ``created``): no local time, no time
zone, no daylight saving time anywhere.
"""

from __future__ import annotations

import calendar
import time

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Plan, Resource
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import validate_name
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    MissingKeyEx,
    OperationPreReqNotMetEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.records import SE_BUSY_STATES

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
STAMP_LENGTH = 16
_STAMP = lazy_compile(r"^[0-9]{8}T[0-9]{6}Z$")
MAX_PREFIX = 63 - STAMP_LENGTH
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = lazy_compile(r"^(?:[0-9]+[smhdw])+$")
_DURATION_PART = lazy_compile(r"([0-9]+)([smhdw])")
MIN_EVERY = 60
#: at most this much earlier than ``every`` a run still takes the next snapshot: a schedule kept in
#: local time (cron, AWX) moves by an hour at a daylight saving change, and starts a little late or early
MAX_TOLERANCE = 2 * 3600


# --- values --------------------------------------------------------------------------------

def parse_duration(value, option: str) -> int:
    """``1d``, ``12h``, ``1h30m``, ``2w``, ``90s`` or a number of seconds -> seconds (> 0).

    Units: s, m, h, d (86400 s), w (7 d). No months or years: their length varies.
    """
    if isinstance(value, bool) or value is None:
        raise ValueFormatEx("%s must be a duration such as 1d, 12h or 1h30m, got %r" % (option, value), option)
    if isinstance(value, int):
        seconds = value
    else:
        text = str(value).strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = int(text)
        elif _DURATION.match(text):
            seconds = sum(int(number) * UNITS[unit] for number, unit in _DURATION_PART.findall(text))
        else:
            raise ValueFormatEx("%s must be a duration such as 1d, 12h, 1h30m or 2w (units s, m, h, d, w), got %r"
                                % (option, value), option)
    if seconds <= 0:
        raise InvalidValueEx("%s must be longer than 0 seconds, got %r" % (option, value), option)
    return seconds


def format_duration(seconds: int) -> str:
    """Seconds -> the shortest ``1d12h``-style spelling (for messages and status)."""
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, UNITS[unit])
        if count:
            parts.append("%d%s" % (count, unit))
    return "".join(parts) or "0s"


def tolerance(every: int) -> int:
    """How much earlier than ``every`` a run still takes the next snapshot."""
    return min(every // 10, MAX_TOLERANCE)


def check_prefix(prefix) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise InvalidValueEx("prefix must be a non-empty string", "prefix")
    if len(prefix) > MAX_PREFIX:
        raise InvalidValueEx(
            "prefix %r is %d characters long; at most %d leave room for the %d-character UTC time in the snapshot "
            "names (names have at most 63)" % (prefix, len(prefix), MAX_PREFIX, STAMP_LENGTH), "prefix")
    validate_name(prefix + "20260101T000000Z", "prefix %r (names are the prefix and a UTC time)" % prefix)
    return prefix


def generated_name(prefix: str, epoch: float) -> str:
    """The name a rotation gives the snapshot it takes at ``epoch``."""
    return prefix + time.strftime(STAMP_FORMAT, time.gmtime(int(epoch)))


def _stamp_time(stamp: str) -> int | None:
    if not _STAMP.match(stamp):
        return None
    try:
        epoch = calendar.timegm(time.strptime(stamp, STAMP_FORMAT))
    except ValueError:
        return None
    # strptime takes seconds 60 and 61: only a time that formats back to the same text counts
    return epoch if time.strftime(STAMP_FORMAT, time.gmtime(epoch)) == stamp else None


def name_time(prefix: str, name: str) -> int | None:
    """The time in ``name`` if the rotation ``prefix`` made it (exactly prefix + UTC time), else None."""
    if not name.startswith(prefix) or len(name) != len(prefix) + STAMP_LENGTH:
        return None
    return _stamp_time(name[len(prefix):])


def split_generated(name: str):
    """(prefix, time) when ``name`` has the generated form with a non-empty prefix, else None."""
    if len(name) <= STAMP_LENGTH:
        return None
    epoch = _stamp_time(name[-STAMP_LENGTH:])
    return None if epoch is None else (name[:-STAMP_LENGTH], epoch)


# --- the planner ------------------------------------------------------------------------------

class Entry:
    """One snapshot as the planner sees it: name, creation time (seconds), why it must stay (or None)."""

    def __init__(self, name: str, created: float | None = None, held: str | None = None) -> None:
        self.name = name
        self.created = created
        self.held = held


def series(entries, prefix: str) -> list:
    """The generated snapshots of ``prefix`` among ``entries``, newest first, as (time, Entry).

    The time is the creation time the server recorded; the time in the name when it recorded none.
    """
    found = []
    for entry in entries:
        stamped = name_time(prefix, entry.name)
        if stamped is not None:
            found.append((entry.created if entry.created is not None else stamped, entry))
    found.sort(key=lambda item: (item[0], item[1].name), reverse=True)
    return found


class RotationPlan:
    """What one run does: ``create`` (a name or None), ``prune`` (names), ``kept`` ([{name, reason}]),
    and the series afterwards: ``names`` (oldest first), ``newest``, ``newest_time``, ``next_due``."""

    def __init__(self, create, prune, kept, names, newest, newest_time, next_due) -> None:
        self.create = create
        self.prune = prune
        self.kept = kept
        self.names = names
        self.newest = newest
        self.newest_time = newest_time
        self.next_due = next_due

    @property
    def changed(self) -> bool:
        return bool(self.create or self.prune)


def plan_rotation(entries, prefix: str, every: int, keep: int | None, max_age: int | None, now: float) -> RotationPlan:
    """Decide one run of the rotation at ``now`` (seconds since the epoch, server clock)."""
    current = series(entries, prefix)
    create = None
    if not current or now - current[0][0] >= every - tolerance(every):
        create = generated_name(prefix, now)
        if any(entry.name == create for entry in entries):
            raise InvalidValueEx(
                "the next snapshot of the rotation would be '%s', which exists already (made by hand, or the storage "
                "server's clock went back); nothing was changed" % create, "prefix")
        current.insert(0, (int(now), Entry(create, int(now))))
    prune, kept = [], []
    for index, (created, entry) in enumerate(current):
        if index == 0:
            continue  # the newest stays, whatever its age
        expired = []
        if keep is not None and index >= keep:
            expired.append("past the newest %d" % keep)
        if max_age is not None and now - created > max_age:
            expired.append("older than %s" % format_duration(max_age))
        if not expired:
            continue
        if entry.held:
            kept.append({"name": entry.name, "reason": "%s, but %s" % (" and ".join(expired), entry.held)})
        else:
            prune.append(entry.name)
    remaining = [(created, entry) for created, entry in current if entry.name not in prune]
    newest_time, newest = (remaining[0][0], remaining[0][1].name) if remaining else (None, None)
    next_due = None if newest_time is None else newest_time + every - tolerance(every)
    names = [entry.name for _created, entry in reversed(remaining)]
    return RotationPlan(create, prune, kept, names, newest, newest_time, next_due)


def status(entries, prefix: str, every: int | None, now: float) -> dict:
    """The rotation status storage_info reports for one series."""
    current = series(entries, prefix)
    newest_time = current[0][0] if current else None
    next_due = None
    if every is not None:
        next_due = now if newest_time is None else max(newest_time + every - tolerance(every), 0)
    return {
        "prefix": prefix,
        "count": len(current),
        "newest": current[0][1].name if current else None,
        "newest_created": None if newest_time is None else records.format_time(newest_time),
        "oldest": current[-1][1].name if current else None,
        "next_due": None if next_due is None else records.format_time(next_due),
        "due": None if next_due is None else now >= next_due,
    }


# --- what the series belongs to ------------------------------------------------------------------

def _created(record: dict):
    return records.parse_time(record["created"]) if record.get("created") else None


def _busy(record: dict):
    return "it is busy (%s)" % record["state"] if record.get("state") in SE_BUSY_STATES else None


def _held(reasons) -> str | None:
    reasons = [reason for reason in reasons if reason]
    return " and ".join(reasons) or None


class _Series:
    """The snapshots of one parent: how to list, take and delete them."""

    key = noun = ability = ""

    def __init__(self, backend, name: str) -> None:
        self.backend = backend
        self.name = name

    def describe(self) -> str:
        return "%s '%s'" % (self.noun, self.name)


class LunSeries(_Series):
    key, noun, ability = "lun", "LUN", "snapshot"

    def exists(self) -> bool:
        return self.backend.get_lun(self.name) is not None

    def entries(self) -> list:
        clones = {}
        for clone in self.backend.list_clones(self.name):
            if clone.get("parent_snapshot"):
                clones.setdefault(clone["parent_snapshot"], []).append(clone["name"])
        found = []
        for snap in self.backend.list_snapshots(self.name):
            if snap.get("consistency_group"):
                continue  # part of a group snapshot: the group's rotation manages it
            depends = clones.get(snap["name"])
            held = _held([_busy(snap), "clone(s) %s depend on it" % ", ".join(sorted(depends)) if depends else None])
            found.append(Entry(snap["name"], _created(snap), held))
        return found

    def create(self, name):
        return self.backend.create_snapshot(self.name, name)

    def delete(self, name):
        return self.backend.delete_snapshot(self.name, name)


class FilesystemSeries(_Series):
    key, noun, ability = "filesystem", "file system", "fs_snapshot"

    def exists(self) -> bool:
        return self.backend.get_filesystem(self.name) is not None

    def entries(self) -> list:
        clones = {}
        for fs in self.backend.list_filesystems():
            if fs.get("parent") == self.name and fs.get("parent_snapshot"):
                clones.setdefault(fs["parent_snapshot"], []).append(fs["name"])
        found = []
        for snap in self.backend.list_fs_snapshots(self.name):
            if snap.get("consistency_group"):
                continue
            depends = clones.get(snap["name"])
            held = _held([_busy(snap), "clone(s) %s depend on it" % ", ".join(sorted(depends)) if depends else None])
            found.append(Entry(snap["name"], _created(snap), held))
        return found

    def create(self, name):
        return self.backend.create_fs_snapshot(self.name, name)

    def delete(self, name):
        return self.backend.delete_fs_snapshot(self.name, name)


class GroupSeries(_Series):
    key, noun, ability = "consistency_group", "consistency group", "cg_snapshot"

    def exists(self) -> bool:
        return self.backend.get_consistency_group(self.name) is not None

    def entries(self) -> list:
        snaps = self.backend.list_cg_snapshots(self.name)
        clones = {}
        for lun in sorted(set(lun for snap in snaps for lun in snap["luns"])):
            for clone in self.backend.list_clones(lun):
                if clone.get("parent_snapshot"):
                    clones.setdefault(clone["parent_snapshot"], []).append(clone["name"])
        if any(snap["filesystems"] for snap in snaps):
            members = set(fs for snap in snaps for fs in snap["filesystems"])
            for fs in self.backend.list_filesystems():
                if fs.get("parent") in members and fs.get("parent_snapshot"):
                    clones.setdefault(fs["parent_snapshot"], []).append(fs["name"])
        found = []
        for snap in snaps:
            depends = clones.get(snap["name"])
            held = _held([_busy(snap), "clone(s) %s depend on its snapshots" % ", ".join(sorted(depends))
                          if depends else None])
            found.append(Entry(snap["name"], _created(snap), held))
        return found

    def create(self, name):
        return self.backend.create_cg_snapshot(self.name, name)

    def delete(self, name):
        return self.backend.delete_cg_snapshot(self.name, name)


SERIES = {"lun": LunSeries, "filesystem": FilesystemSeries, "consistency_group": GroupSeries}


def series_of(backend, params: dict) -> _Series:
    for key, cls in SERIES.items():
        if params.get(key) is not None:
            return cls(backend, validate_name(params[key], "%s name" % cls.noun))
    raise OperationPreReqNotMetEx("one of lun, filesystem or consistency_group is required", "lun")


# --- the resource --------------------------------------------------------------------------------

class RotationResource(Resource):
    """``snapshot`` with ``prefix``: take the due snapshot of the series, prune the expired ones."""

    kind = "rotation"
    noun = "rotation"

    def __init__(self, backend, params: dict) -> None:
        super().__init__(backend, params)
        self.prefix = check_prefix(params.get("prefix"))
        self.series = series_of(backend, params)
        if params.get("state") not in (None, "present"):
            raise InvalidValueEx("the rotation form (prefix) takes state present only; delete single snapshots "
                                 "by name", "state")
        if params.get("every") is None:
            raise MissingKeyEx("a rotation needs every: how often a snapshot is taken (e.g. 1d)", "every")
        self.every = parse_duration(params["every"], "every")
        if self.every < MIN_EVERY:
            raise InvalidValueEx("every must be at least 1m (snapshot names carry whole seconds), got %r"
                                 % params["every"], "every")
        self.keep = params.get("keep")
        if self.keep is not None and (isinstance(self.keep, bool) or not isinstance(self.keep, int) or self.keep < 1):
            raise InvalidValueEx("keep must be a whole number of at least 1, got %r" % (self.keep,), "keep")
        self.max_age = None if params.get("max_age") is None else parse_duration(params["max_age"], "max_age")
        if self.keep is None and self.max_age is None:
            raise MissingKeyEx("a rotation needs keep, max_age or both: without them it would only ever add "
                               "snapshots", "keep")
        self._outcome = None

    def describe(self) -> str:
        return "rotation '%s' of %s" % (self.prefix, self.series.describe())

    def _record(self, plan: RotationPlan | None, names=None, newest=None, newest_time=None, next_due=None) -> dict:
        if plan is not None:
            names, newest, newest_time, next_due = plan.names, plan.newest, plan.newest_time, plan.next_due
        return {
            "prefix": self.prefix, "parent": self.series.name, "parent_type": self.series.key,
            "every": format_duration(self.every), "snapshots": list(names or []), "count": len(names or []),
            "newest": newest, "newest_created": None if newest_time is None else records.format_time(newest_time),
            "next_due": None if next_due is None else records.format_time(next_due),
        }

    def read(self):
        # before any call that needs them: a backend without the ability refuses naming it
        needs = ("consistency_group",) if self.series.key == "consistency_group" else ()
        for key in needs + (self.series.ability,):
            self.backend.require(key, "rotate snapshots of %s" % self.series.describe())
        if not self.series.exists():
            return None
        current = series(self.series.entries(), self.prefix)
        if not current:
            return self._record(None)
        newest_time = current[0][0]
        return self._record(None, [entry.name for _t, entry in reversed(current)], current[0][1].name, newest_time,
                            newest_time + self.every - tolerance(self.every))

    def plan(self, before):
        if before is None:
            raise OperationPreReqNotMetEx("%s does not exist" % self.series.describe(), self.series.key)
        self.backend.require(self.series.ability, "rotate snapshots of %s" % self.series.describe())
        rotation = plan_rotation(self.series.entries(), self.prefix, self.every, self.keep, self.max_age,
                                 self.backend.server_time())
        if not rotation.changed:
            return Plan(rotation=rotation)
        steps = (["create"] if rotation.create else []) + ["prune"] * bool(rotation.prune)
        return Plan("rotate", after=self._record(rotation), steps=steps, rotation=rotation)

    def apply(self, plan, before, run):
        rotation = plan.details["rotation"]
        self._outcome = {"created_snapshot": None, "pruned_snapshots": [], "kept_snapshots": list(rotation.kept)}
        if rotation.create:
            run(self.series.create(rotation.create))
            self._outcome["created_snapshot"] = rotation.create
        for name in rotation.prune:
            try:
                run(self.series.delete(name))
            except (StorageElementBusyEx, FileSystemBusyEx) as error:
                # a clone made or a job started since the plan: it stays, and the run says why
                self._outcome["kept_snapshots"].append({"name": name, "reason": error.msg})
                continue
            except OperationPreReqNotMetEx:
                if any(entry.name == name for entry in self.series.entries()):
                    raise
                continue  # another run pruned it meanwhile
            self._outcome["pruned_snapshots"].append(name)

    def outcome(self, plan):
        if self._outcome is not None:
            return self._outcome
        rotation = plan.details["rotation"]
        # check mode: what the run would do
        return {"created_snapshot": rotation.create, "pruned_snapshots": list(rotation.prune),
                "kept_snapshots": list(rotation.kept)}
