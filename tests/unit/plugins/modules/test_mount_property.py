# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests (hypothesis) of the mount module's fstab handling, in process,
against a scratch fstab: any string for path, src, opts, fstype and share_path either
works or fails with a typed error (an IPluginException), and what is written reads back
as exactly the same entries, with no extra line and no comment, and goes away again
without a trace. Nothing outside the test directory is touched: the only programs run
are read-only ones, /etc/fstab and the mount table are as they were.

The examples are derandomized (the same every run, so CI is reproducible) and bounded to
a few seconds. STORMGMT_HYPOTHESIS_EXAMPLES=5000 explores more by hand.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile

from ansible.module_utils.common.validation import check_type_list
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.stormgmt.core.plugins.module_utils import _host
from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._mount import MountResource, mount_argument_spec
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner
from ansible_collections.stormgmt.core.plugins.module_utils.errors import IPluginException

MAX_EXAMPLES = int(os.environ.get("STORMGMT_HYPOTHESIS_EXAMPLES", "200"))
PROFILE = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                          HealthCheck.filter_too_much])
# the pure parsers need fewer examples to cover their input space
PURE = settings(PROFILE, max_examples=max(MAX_EXAMPLES // 2, 1))

# every character str.splitlines() or str.split() cuts at, and what fstab, mount(8) and
# the shell treat specially; a lone surrogate of each kind
SPECIAL = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u2028", "\u2029", "\u3000",
           "#", " ", "\t", "\\", "\\040", "\\043", ",", "-", "--", "=", '"', "\x00", "/", "..", ".", "$HOME", "~",
           "\u00e9", "\u200b", "\ufeff", "\udc80", "\ud800", "UUID=", "LABEL=", "iscsi://"]
PIECE = st.one_of(st.sampled_from(SPECIAL), st.text(max_size=6))
WEIRD = st.lists(PIECE, max_size=8).map("".join)
LONG = st.builds(lambda text, count: text * count, st.text(min_size=1, max_size=8), st.integers(100, 600))
TEXT = st.one_of(WEIRD, WEIRD, WEIRD, LONG)

FOREIGN = "# someone else's fstab\ntmpfs /var/tmp/not-ours tmpfs size=1M,noauto 0 0\n"
READ_ONLY = {("blkid",), ("losetup", "--list")}


class World:
    """The test directory, a simulator with an exported file system, and what must not change."""

    def __init__(self) -> None:
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="stormgmt-prop-"))
        self.fstab = os.path.join(self.root, "fstab")
        self.backend = connect("sim://" + os.path.join(self.root, "state", "sim.db") + "?create=true")
        self.backend.create_filesystem("fs1", self.backend.default_pool(), 1 << 20,
                                       dict(clients=["localhost"], access_groups=[], options=[]))
        self.share = self.backend.get_filesystem("fs1")["access_path"]
        os.makedirs(os.path.join(self.share, "sub dir", "a#b"))
        self.lines = []  # every line written, for mount(8)'s own reading at the end
        self.commands = []
        self.listing = None

    def files(self) -> list:
        """What is in the test directory (the fstab locks apart)."""
        return sorted(os.path.relpath(os.path.join(top, name), self.root)
                      for top, dirs, names in os.walk(self.root) for name in dirs + names
                      if not name.startswith("stormgmt-fstab-"))


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _params(world: World, **values) -> dict:
    params = dict((key, spec.get("default")) for key, spec in mount_argument_spec().items())
    params.update(server="sim://", username=None, password=None, wait=True, wait_timeout=300, fstab=world.fstab)
    params.update(values)
    if params.get("opts") is not None:
        params["opts"] = check_type_list(params["opts"])  # as AnsibleModule converts type=list
    return params


def _converge(world: World, params: dict, check_mode: bool = False):
    resource = MountResource(world.backend, params)
    world.backend.read_only = check_mode
    try:
        return resource, converge(resource, check_mode, Waiter(world.backend))
    finally:
        world.backend.read_only = False


def _attempt(world: World, values: dict) -> None:
    with open(world.fstab, "w") as handle:
        handle.write(FOREIGN)
    params = _params(world, state="present", **values)
    try:
        resource, result = _converge(world, params)
    except IPluginException:
        with open(world.fstab) as handle:
            assert handle.read() == FOREIGN  # a failed task changed nothing
        assert world.files() == world.listing
        return
    text = open(world.fstab, "rb").read().decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    assert lines[-1] == "" and lines[:2] == FOREIGN.split("\n")[:2], repr(text)
    assert len(lines) == 4, repr(text)  # exactly one line more
    line = lines[2]
    assert len(line.splitlines()) == 1 and len(text.splitlines()) == 3, repr(line)
    assert not line.lstrip(" \t").startswith("#"), repr(line)
    assert result["changed"] and result["mount"]["fstab_entry"] == line
    entry = _host.FstabEntry.parse(line)
    assert entry is not None and entry.line() == line
    assert entry.path == resource.path
    if values.get("src") is not None:
        assert entry.src == values["src"]
    else:
        assert entry.src == os.path.realpath(os.path.join(world.share, values.get("share_path") or "."))
    assert _host.Fstab(world.fstab).entry(resource.path) == entry
    world.lines.append((line, entry))
    # idempotent, in check mode and for real: the file is not even rewritten
    before = os.stat(world.fstab).st_ino
    for check_mode in (True, False):
        assert not _converge(world, params, check_mode)[1]["changed"]
    assert os.stat(world.fstab).st_ino == before
    # and it goes away without a trace
    assert _converge(world, dict(params, state="absent"))[1]["changed"]
    with open(world.fstab) as handle:
        assert handle.read() == FOREIGN
    assert world.files() == world.listing


def _executor(world: World, real):
    def run(argv, input_text, timeout, env):
        words = [os.path.basename(argv[0])] + list(argv[1:])
        world.commands.append(words)
        assert any(tuple(words[:len(allowed)]) == allowed for allowed in READ_ONLY), words
        return real(argv, input_text, timeout, env)
    return run


def test_any_input_works_or_fails_typed_and_fstab_round_trips(monkeypatch):
    world = World()
    monkeypatch.setattr(_host, "LOCK_DIR", world.root, raising=False)
    monkeypatch.setattr(Runner, "executor", staticmethod(_executor(world, Runner.executor)))
    etc_fstab = _digest("/etc/fstab") if os.path.exists("/etc/fstab") else None
    with open(world.fstab, "w") as handle:
        handle.write(FOREIGN)
    world.listing = world.files()

    path = st.one_of(TEXT.map(lambda text: os.path.join(world.root, "m", text)), TEXT,
                     TEXT.map(lambda text: "/" + text))
    src = st.one_of(TEXT, TEXT.map(lambda text: "/" + text), TEXT.map(lambda text: "-" + text),
                    TEXT.map(lambda text: "#" + text), TEXT.map(lambda text: os.path.join(world.root, "no", text)))
    opts = st.one_of(st.none(), TEXT, st.lists(TEXT, max_size=4),
                     st.lists(st.sampled_from(["ro", "nosuid", "noauto", "x-a=b", "size=1m", "defaults", "bind"]),
                              max_size=4))
    fstype = st.one_of(st.none(), st.sampled_from(["tmpfs", "ext4", "none", "auto", "fuse.sshfs"]), TEXT)
    share_path = st.one_of(st.none(), st.sampled_from(["sub dir", "sub dir/a#b", "sub dir/../sub dir"]), TEXT)
    source = st.one_of(st.fixed_dictionaries({"src": src, "fstype": fstype}),
                       st.fixed_dictionaries({"filesystem": st.just("fs1"), "share_path": share_path}))

    @PROFILE
    @given(path=path, source=source, opts=opts)
    def check(path, source, opts):
        _attempt(world, dict(source, path=path, opts=opts))

    try:
        check()
        assert world.lines, "no example got as far as writing fstab"
        # mount(8)'s own library reads every line written as the same entry
        with open(world.fstab, "wb") as handle:
            handle.write("".join(line + "\n" for line, _entry in world.lines).encode("utf-8", "surrogateescape"))
        found = subprocess.run(["findmnt", "--tab-file", world.fstab, "--json", "--output", "SOURCE,TARGET,FSTYPE"],
                               capture_output=True, check=True).stdout
        import json

        read = json.loads(found.decode("utf-8", "surrogateescape"))["filesystems"]
        assert [(fs["source"], fs["target"], fs["fstype"]) for fs in read] == [
            (entry.src, entry.path, entry.fstype) for _line, entry in world.lines]
    finally:
        world.backend.close()
        subprocess.run(["rm", "-rf", "--", world.root], check=False)
    assert etc_fstab == (_digest("/etc/fstab") if os.path.exists("/etc/fstab") else None)
    assert [entry for entry in _host.mountinfo() if world.root in entry.mount_point or world.root in entry.source
            or world.root in entry.root] == []
    assert all(words[0] in ("blkid", "losetup") for words in world.commands)


def _kernel_escape(text: str) -> str:
    """How the kernel writes a path into mountinfo: space, tab, newline and backslash as octal."""
    return "".join("\\%03o" % ord(char) if char in " \t\n\\" else char for char in text)


@PURE
@given(points=st.lists(TEXT.filter(lambda text: "\x00" not in text and "\ud800" not in text), min_size=1,
                       max_size=4))
def test_mountinfo_reads_any_mount_point(points):
    """The kernel escapes only space, tab, newline and backslash: every other character
    (\\r, \\x85, \\u2028...) must stay inside its field and its line."""
    text = "".join("%d 1 0:%d / /mnt/%s rw,relatime shared:1 - tmpfs tmpfs rw\n" % (index + 30, index, _kernel_escape(point))
                   for index, point in enumerate(points))
    entries = _host.parse_mountinfo(text)
    assert [entry.mount_point for entry in entries] == ["/mnt/" + point for point in points]
    assert all(entry.fstype == "tmpfs" and entry.options == ["rw", "relatime"] for entry in entries)


@PURE
@given(fields=st.lists(TEXT.filter(lambda text: "\x00" not in text and "\ud800" not in text), min_size=4,
                       max_size=4))
def test_fstab_entries_round_trip(fields):
    """Whatever a field holds, its line is one line, not a comment, and reads back the same."""
    src, path, fstype, option = fields
    entry = _host.FstabEntry(src or "x", path or "/x", fstype or "auto", [option or "defaults"], 1, 2)
    line = entry.line()
    assert len(line.splitlines()) == 1 and len(line.split()) == 6 and not line.startswith("#")
    assert "\n" not in line and "\r" not in line
    back = _host.FstabEntry.parse(line)
    assert (back.src, back.path, back.fstype, back.options, back.dump, back.passno) == (
        entry.src, entry.path, entry.fstype, ",".join(entry.options).split(","), 1, 2)
