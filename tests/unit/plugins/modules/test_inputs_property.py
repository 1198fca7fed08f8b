# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property: whatever a task gives the string and number options of a module, on the simulator,
the module either works or fails with a typed error (an exception class of the plug-in API, never
an "unexpected error"), a failure changes nothing, check mode changes nothing, a run that worked
is idempotent, and nothing is written outside the simulator's directory.

Each example runs the module's main() in this process, with its arguments handed to AnsibleModule
as the JSON document Ansible sends (tests/unit/conftest.py run_module), so that validation, the
glue and the engine are the real ones and hundreds of inputs run in seconds. Every example starts
from a copy of one simulator state holding LUNs, a snapshot, a clone, an access group and an
exported file system with a snapshot.

The mount module (host side, fstab) has its own property test. Examples are derandomized: the
same inputs every run (CI); STORMGMT_PROPERTY_EXAMPLES sets how many per module (default 40),
HYPOTHESIS_PROFILE=explore draws new ones.
"""

from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.errors import ERROR_CLASSES

EXAMPLES = int(os.environ.get("STORMGMT_PROPERTY_EXAMPLES", "40"))
settings.register_profile("ci", derandomize=True, database=None, deadline=None, max_examples=EXAMPLES,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile("explore", parent=settings.get_profile("ci"), derandomize=False)
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
MiB = 1024 ** 2

# --- what tasks may say -----------------------------------------------------------------------

EXISTING = ["db01", "db02", "s1", "c1", "g1", "fs1", "n1", "pool0", "pool1"]
HOSTILE = ["", " ", ".", "..", "../escape", "../../escape", "a/b", "/etc", "-rf", "--", ".hidden", "a\nb",
           "a\x00b", "a\u2028b", "a\x85b", "a\rb", "#c", "x" * 64, "x" * 63, "*", "%2e%2e", "db01 ", " db01",
           "DB01", "ä", "\U0001F4BE", "@SANDBOX@/escape", "@SANDBOX@/home/escape"]


def usually(valid, hostile):
    """Mostly one of the ``valid`` values (so that runs get past the first check), else ``hostile``."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid), hostile)


def texts():
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))


def names():
    """Object names: existing ones, fresh ones, hostile ones, anything."""
    return usually(EXISTING + ["new1", "new-2", "n.3"], st.one_of(st.sampled_from(HOSTILE), st.text(max_size=70)))


NUMBERS = st.one_of(
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.integers(min_value=-3, max_value=5 * MiB),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.from_regex(r"\A\s?-?[0-9]{0,22}(\.[0-9]{0,4})?\s?([KMGTPEkmgtpe]|[KMGTPE]i?B|B|b|bytes)?\s?\Z"),
    st.sampled_from(["1G", "1.5G", "1.5", "512M", "10GiB", "0", "-1G", "1e3", "nan", "inf", "1,5G", "8E", "1T", ""]),
    texts(),
)
SIZES = usually(["1M", "2M", "512K", 1048576, "3MiB", 4 * MiB, "1.5M"], NUMBERS)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


def options(required=None, **fields):
    """A dict of options: the ``required`` ones always, the others each absent or drawn."""
    return st.fixed_dictionaries(required or {}, optional=fields)


def states(*valid):
    return usually(list(valid), texts())


BOOLS = usually([True, False], st.sampled_from(["yes", "no", "maybe", 2, "", None]))
IQNS = usually(["iqn.2026-01.com.example:h1", "iqn.2026-01.com.example:h2", "0x21000024ff314c5a",
                "21:00:00:24:ff:31:4c:5b", "eui.0123456789ABCDEF"], st.one_of(st.just("iqn.2026-13.x:y"), texts()))
CLIENTS = usually(["*", "192.0.2.0/24", "192.0.2.1", "host1.example.com", "@ng", "::1", "*.lab.example.com"],
                  st.one_of(st.sampled_from(["300.1.1.1", "a b", "192.0.2.0/33"]), texts()))
EXPORT_OPTIONS = usually(["rw", "ro", "sync", "async", "no_root_squash", "root_squash", "anonuid=1000", "anonuid=2",
                          "sec=sys"], st.one_of(st.sampled_from(["rw,sync", "x y"]), texts()))
LUN_IDS = usually([0, 1, 2, 3, 16383, "4", 5.0], st.one_of(NUMBERS, st.integers(min_value=0, max_value=16384)))
SECRETS = usually(["Chap-Secret-0001", "Chap-Secret-0002", "Mutual-Secret-01"], st.one_of(st.text(max_size=300), texts()))

CONNECTION = dict(wait=BOOLS, wait_timeout=usually([300, 1, "60"], NUMBERS), username=maybe(texts()),
                  password=maybe(texts()))
STATES = ("present", "absent")

STRATEGIES = {
    "lun": options(dict(name=names()), pool=names(), size=SIZES, thin=BOOLS,
                   qos=usually(["gold", "bronze"], texts()), state=states(*STATES), allow_shrink=BOOLS, force=BOOLS,
                   **CONNECTION),
    "snapshot": st.one_of(
        options(dict(name=names(), lun=names()), state=states("present", "absent", "restored"), **CONNECTION),
        options(dict(name=names(), filesystem=names()), state=states("present", "absent", "restored")),
        options(dict(name=names()), lun=names(), filesystem=names())),
    "clone": st.one_of(
        options(dict(name=names(), lun=names()), snapshot=names(), split=BOOLS, state=states(*STATES), **CONNECTION),
        options(dict(name=names(), filesystem=names()), snapshot=names(), split=BOOLS, state=states(*STATES)),
        options(dict(name=names()), lun=names(), filesystem=names())),
    "access_group": options(
        dict(name=names()), initiators=st.lists(IQNS, max_size=3), clients=st.lists(CLIENTS, max_size=3),
        luns=st.lists(st.one_of(names(), st.fixed_dictionaries({"name": names()}, optional={"lun_id": LUN_IDS}),
                                NUMBERS), max_size=3),
        chap=options(username=maybe(usually(["u1", "web"], texts())), password=maybe(SECRETS),
                     mutual_username=maybe(usually(["m1"], texts())), mutual_password=maybe(SECRETS),
                     state=states(*STATES)),
        append=BOOLS, state=states(*STATES), force=BOOLS, **CONNECTION),
    "filesystem": options(
        dict(name=names()), pool=names(), size=SIZES,
        export=maybe(options(clients=st.lists(CLIENTS, max_size=3), access_groups=st.lists(names(), max_size=2),
                             options=st.lists(EXPORT_OPTIONS, max_size=4))),
        force=BOOLS, state=states(*STATES), **CONNECTION),
    "storage_info": options(gather_subset=st.lists(usually(
        ["all", "server", "abilities", "pools", "luns", "snapshots", "access_groups", "filesystems"], texts()),
        max_size=3), **CONNECTION),
}


# --- the simulator state of each example ------------------------------------------------------

def make_golden(directory: str) -> str:
    path = os.path.join(directory, "state", "sim.db")
    os.mkdir(os.path.dirname(path), 0o700)
    backend = connect("sim://" + path)
    try:
        backend.create_lun("db01", "pool0", MiB, True, None)
        backend.create_lun("db02", "pool1", 2 * MiB, False, "gold")
        backend.create_snapshot("db01", "s1")
        backend.create_clone("c1", "db01", "s1")
        backend.create_access_group("g1", ["iqn.2026-01.com.example:h1"], [{"name": "db02", "lun_id": 3}], None)
        backend.create_filesystem("fs1", "pool0", MiB, {"clients": ["*"], "access_groups": [], "options": ["rw"]})
        with open(os.path.join(backend.fs_root, "fs1", "data.txt"), "w") as handle:
            handle.write("precious\n")
        backend.create_fs_snapshot("fs1", "n1")
    finally:
        backend.close()
    return os.path.dirname(path)


def state_of(state_dir: str) -> dict:
    """Everything the simulator holds, and every file under its directory (the state file aside)."""
    backend = connect("sim://" + os.path.join(state_dir, "sim.db"))
    backend.read_only = True
    try:
        data = dict(luns=backend.list_luns(), snapshots=backend.list_snapshots(), groups=backend.list_access_groups(),
                    filesystems=backend.list_filesystems(), fs_snapshots=backend.list_fs_snapshots(),
                    pools=backend.list_pools())
    finally:
        backend.close()
    data["files"] = sorted(
        (os.path.relpath(os.path.join(top, entry), state_dir), os.path.getsize(os.path.join(top, entry)))
        for top, dirs, files in os.walk(state_dir) for entry in files + dirs
        if not entry.startswith("sim.db") and not os.path.islink(os.path.join(top, entry))
        and os.path.isfile(os.path.join(top, entry)))
    return data


def outside(sandbox: str, state_dir: str) -> list:
    """Files and directories under the sandbox that are not the simulator's."""
    found = []
    for top, dirs, files in os.walk(sandbox):
        for entry in dirs + files:
            path = os.path.join(top, entry)
            if not (path == state_dir or path.startswith(state_dir + os.sep) or path == os.path.join(sandbox, "cwd")
                    or path == os.path.join(sandbox, "home")):
                found.append(path)
    return found


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    return make_golden(str(tmp_path_factory.mktemp("golden")))


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """HOME, XDG_STATE_HOME and the working directory inside the test's directory."""
    for sub in ("home", "cwd"):
        os.mkdir(str(tmp_path / sub))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(str(tmp_path / "cwd"))
    for variable in ("STORMGMT_SERVER", "STORMGMT_USERNAME", "STORMGMT_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    return str(tmp_path)


def assert_typed(result: dict, name: str, args: dict) -> None:
    assert isinstance(result.get("msg"), str) and result["msg"], (name, args, result)
    assert result.get("error") in ERROR_CLASSES, (name, args, result)
    assert "unexpected error" not in result["msg"] and "exception" not in result, (name, args, result)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_input_works_or_fails_typed_and_changes_nothing_on_failure(name, golden, sandbox, module):
    counter = [0]
    outcomes = []

    @PROFILE
    @given(args=STRATEGIES[name])
    def check(args):
        counter[0] += 1
        state_dir = os.path.join(sandbox, "example%d" % counter[0], "state")
        shutil.copytree(golden, state_dir, symlinks=True)
        # the hostile names include ones aimed at the sandbox itself
        args = dict((key, value.replace("@SANDBOX@", sandbox) if isinstance(value, str) else value)
                    for key, value in args.items())
        args["server"] = "sim://" + os.path.join(state_dir, "sim.db")
        before = state_of(state_dir)
        try:
            predicted = module(name, args, check_mode=True)
            assert state_of(state_dir) == before, ("check mode changed the state", name, args, predicted)
            applied = module(name, args)
            outcomes.append(applied.get("error") or ("changed" if applied["changed"] else "ok"))
            if predicted.get("failed"):
                assert_typed(predicted, name, args)
            # check mode predicts the real run: the same failure, or the same change
            assert predicted.get("error") == applied.get("error"), ("check mode predicted otherwise", name, args,
                                                                    predicted, applied)
            assert predicted.get("changed") == applied.get("changed"), (name, args, predicted, applied)
            if applied.get("failed"):
                assert_typed(applied, name, args)
                assert state_of(state_dir) == before, ("a failed task changed the state", name, args, applied)
            else:
                again = module(name, args, check_mode=True)
                assert again.get("failed") or again["changed"] is False, ("not idempotent", name, args, again)
                for record in (applied.get(applied_kind) for applied_kind in ("lun", "snapshot", "clone", "filesystem")):
                    for key in ("access_path", "array_path"):
                        path = (record or {}).get(key)
                        if path and os.path.isabs(path):
                            real = os.path.realpath(path)
                            assert real.startswith(os.path.realpath(state_dir) + os.sep), (name, args, record)
            assert outside(sandbox, os.path.join(sandbox, "example%d" % counter[0])) == [], (name, args)
        finally:
            shutil.rmtree(os.path.join(sandbox, "example%d" % counter[0]), ignore_errors=True)

    check()
    assert counter[0] >= min(EXAMPLES, 10)
    if EXAMPLES >= 40:  # the inputs reach past the argument spec: some work, some change, some fail typed
        assert {"ok", "changed"} & set(outcomes) and len(set(outcomes)) >= 3, outcomes


def test_hostile_names_aimed_at_the_sandbox_are_tried():
    """The names strategy holds names that would escape the simulator's directory, were they taken."""
    assert any(name.startswith("../") for name in HOSTILE) and "/etc" in HOSTILE
    assert any(name.startswith("@SANDBOX@/") for name in HOSTILE)
