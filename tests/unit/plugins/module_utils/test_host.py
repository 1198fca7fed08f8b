# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host side without running anything: the exact commands _host builds (from
test_host_commands.yml, with Runner.executor swapped), and its parsers of
mountinfo, fstab and loop listings. The same code runs for real in the
filesystem and mount integration targets."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.stormgmt.core.plugins.module_utils import _host
from ansible_collections.stormgmt.core.plugins.module_utils import errors
from ansible_collections.stormgmt.core.plugins.module_utils._runner import Runner

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "test_host_commands.yml")) as _handle:
    CASES = yaml.safe_load(_handle)


class Script:
    """An executor that expects exactly these commands, in this order."""

    def __init__(self, steps: list) -> None:
        self.steps = list(steps)
        self.seen = []

    def __call__(self, argv, input_text, timeout, env):
        self.seen.append(list(argv))
        assert self.steps, "unexpected command %r" % (argv,)
        step = self.steps.pop(0)
        assert list(argv) == step["argv"]
        return step.get("rc", 0), step.get("out", ""), step.get("err", "")


@pytest.fixture
def script(monkeypatch):
    """Install a Script as the executor; argv[0] is the bare program name."""
    monkeypatch.setattr(Runner, "path", lambda self: self.program)
    installed = {}

    def install(steps):
        installed["script"] = Script(steps)
        monkeypatch.setattr(Runner, "executor", staticmethod(installed["script"]))
        return installed["script"]
    return install


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_commands(case, script):
    run = script(case.get("run", []))
    function = getattr(_host, case["call"])
    if "raises" in case:
        with pytest.raises(getattr(errors, case["raises"])) as info:
            function(*case["args"], **case.get("kwargs", {}))
        if "message" in case:
            assert case["message"] in info.value.msg
    else:
        result = function(*case["args"], **case.get("kwargs", {}))
        if "returns" in case:
            expected = case["returns"]
            assert (list(result) if isinstance(result, tuple) else result) == expected
    assert run.steps == [], "commands not run: %r" % run.steps


# --- mountinfo -------------------------------------------------------------------

MOUNTINFO = """\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
44 22 7:1 / /mnt/data rw,noatime shared:5 - ext4 /dev/loop1 rw
45 22 254:0 /srv/state/sim.db.fs/home /mnt/home ro,relatime - ext4 /dev/vda rw,discard
46 22 254:0 /srv/state/sim.db.fs/home/projects /mnt/my\\040projects rw,nosuid - ext4 /dev/vda rw,discard
47 22 7:1 /sub /mnt/sub rw - ext4 /dev/loop1 rw
48 44 0:50 / /mnt/data rw - tmpfs tmpfs rw,size=1024k
"""


def test_mountinfo_fields_escapes_and_optional_fields():
    table = _host.parse_mountinfo(MOUNTINFO)
    assert [entry.mount_point for entry in table] == [
        "/", "/mnt/data", "/mnt/home", "/mnt/my projects", "/mnt/sub", "/mnt/data"]
    data = table[1]
    assert (data.majmin, data.root, data.fstype, data.source) == ("7:1", "/", "ext4", "/dev/loop1")
    assert data.options == ["rw", "noatime"]
    # a read-only per-mount flag wins over the file system's rw
    assert table[2].readonly and table[2].options == ["ro", "relatime", "discard"]


def test_mount_at_takes_the_top_of_a_stack():
    table = _host.parse_mountinfo(MOUNTINFO)
    assert _host.mount_at("/mnt/data", table).fstype == "tmpfs"
    assert _host.mount_at("/mnt/nothing", table) is None


def test_bind_mounts_are_found_by_file_system_and_path():
    table = _host.parse_mountinfo(MOUNTINFO)
    assert _host.directory_identity("/srv/state/sim.db.fs/home", table) == ("254:0", "/srv/state/sim.db.fs/home")
    under = _host.mounts_under("/srv/state/sim.db.fs/home", table)
    assert [entry.mount_point for entry in under] == ["/mnt/home", "/mnt/my projects"]
    assert _host.mounts_under("/srv/state/sim.db.fs/other", table) == []
    # a directory inside a mounted file system: its root is relative to that file system
    assert _host.directory_identity("/mnt/data/sub", table[:2]) == ("7:1", "/sub")
    assert [entry.mount_point for entry in _host.mounts_under("/mnt/data/sub", table[:2] + [table[4]])] == ["/mnt/sub"]


def test_bind_source_maps_back_to_a_host_path():
    table = _host.parse_mountinfo(MOUNTINFO)
    assert _host.bind_source(table[2], table) == "/srv/state/sim.db.fs/home"
    assert _host.bind_source(table[4], table) == "/mnt/data/sub"
    assert _host.bind_source(table[1], table) is None


def test_loops_of_ignores_deleted_and_partial_views(tmp_path):
    image = str(tmp_path / "disk.img")
    devices = [
        {"name": "/dev/loop1", "back-file": image, "offset": 0, "sizelimit": 0},
        {"name": "/dev/loop2", "back-file": image + " (deleted)", "offset": 0, "sizelimit": 0},
        {"name": "/dev/loop3", "back-file": image, "offset": 1048576, "sizelimit": 0},
        {"name": "/dev/loop4", "back-file": "/other.img", "offset": 0, "sizelimit": 0},
    ]
    assert _host.loops_of(image, devices) == ["/dev/loop1"]


# --- devices ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, error", [
    ("", errors.InvalidValueEx),
    ("disk.img", errors.InvalidValueEx),
    ("/nonexistent/disk.img", errors.OperationPreReqNotMetEx),
    ("/dev/null", errors.InvalidValueEx),  # a character device
])
def test_resolve_device_bad_specs(spec, error):
    with pytest.raises(error):
        _host.resolve_device(spec, {})


def test_resolve_device_probes_an_image_without_attaching(tmp_path, script):
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 4096)
    script([{"argv": ["losetup", "--list", "--json", "--output", "NAME,BACK-FILE,OFFSET,SIZELIMIT"], "out": ""}])
    found = _host.resolve_device(str(image), {}, attach=False)
    assert (found.kind, found.device, found.attached) == ("file", str(image), False)
    found.release()  # nothing to give back


def test_resolve_device_attaches_and_releases_an_image(tmp_path, script, monkeypatch):
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * 4096)
    notes = tmp_path / "notes"
    monkeypatch.setattr(_host, "HOST_STATE_DIR", str(notes))
    listing = {"argv": ["losetup", "--list", "--json", "--output", "NAME,BACK-FILE,OFFSET,SIZELIMIT"], "out": ""}
    run = script([
        listing,
        listing,  # the loop devices of the image before the attach, noted for a run killed in between
        {"argv": ["losetup", "--find", "--show", "--", str(image)], "out": "/dev/loop9\n"},
        {"argv": ["losetup", "--detach", "/dev/loop9"]},
    ])
    found = _host.resolve_device(str(image), {}, attach=True)
    assert (found.kind, found.device, found.attached, found.source) == ("loop", "/dev/loop9", True, str(image))
    assert len(os.listdir(str(notes))) == 1  # the attachment is noted while it lasts
    found.release()
    found.release()  # once only
    assert run.steps == []
    assert os.listdir(str(notes)) == []


# --- fstab ------------------------------------------------------------------------

FSTAB = """\
# /etc/fstab: static file system information.
UUID=1234 / ext4 errors=remount-ro 0 1

/dev/vdb /srv/data xfs defaults 0 2
/dev/vdc /srv/data xfs noatime 0 2
tmpfs /tmp tmpfs\tsize=1G 0 0
"""


def test_fstab_entries_and_escapes():
    entry = _host.FstabEntry.parse("/srv/my\\040images/a.img /mnt/a\\040b ext4 loop,ro 0 2")
    assert (entry.src, entry.path, entry.fstype, entry.options, entry.dump, entry.passno) == (
        "/srv/my images/a.img", "/mnt/a b", "ext4", ["loop", "ro"], 0, 2)
    assert entry.line() == "/srv/my\\040images/a.img /mnt/a\\040b ext4 loop,ro 0 2"
    assert _host.FstabEntry.parse("# a comment") is None
    assert _host.FstabEntry.parse("too short") is None
    assert _host.FstabEntry("/a", "/b", "ext4", []).line() == "/a /b ext4 defaults 0 0"


def test_fstab_set_replaces_the_first_drops_duplicates_keeps_the_rest(tmp_path):
    path = tmp_path / "fstab"
    path.write_text(FSTAB)
    os.chmod(str(path), 0o640)
    fstab = _host.Fstab(str(path))
    assert fstab.entry("/srv/data/").options == ["noatime"]  # the last line is the one mount(8) uses
    wanted = _host.FstabEntry("/dev/vdb", "/srv/data", "xfs", ["ro"], 0, 2)
    assert fstab.needs(wanted)
    assert fstab.set(wanted)
    fstab.write()
    assert path.read_text() == (
        "# /etc/fstab: static file system information.\n"
        "UUID=1234 / ext4 errors=remount-ro 0 1\n"
        "\n"
        "/dev/vdb /srv/data xfs ro 0 2\n"
        "tmpfs /tmp tmpfs\tsize=1G 0 0\n")
    assert oct(os.stat(str(path)).st_mode & 0o777) == oct(0o640)
    again = _host.Fstab(str(path))
    assert not again.needs(wanted) and not again.set(wanted)


def test_fstab_remove_and_a_missing_file(tmp_path):
    path = tmp_path / "fstab"
    path.write_text(FSTAB)
    fstab = _host.Fstab(str(path))
    assert fstab.remove("/srv/data") and not fstab.remove("/srv/data")
    fstab.write()
    assert "/srv/data" not in path.read_text() and "# /etc/fstab" in path.read_text()
    missing = _host.Fstab(str(tmp_path / "new" / "fstab"))
    assert not missing.exists and missing.entry("/x") is None
    fresh = _host.Fstab(str(tmp_path / "fstab.new"))
    fresh.set(_host.FstabEntry("/a.img", "/mnt/a", "ext4", ["loop"]))
    fresh.write()
    assert (tmp_path / "fstab.new").read_text() == "/a.img /mnt/a ext4 loop 0 0\n"
    assert [name for name in os.listdir(str(tmp_path)) if name.startswith(".")] == []  # no temporary file left


def test_growth_needs_a_mebibyte():
    assert not _host.needs_growth(64 << 20, (64 << 20) + 4096)
    assert _host.needs_growth(64 << 20, 128 << 20)


def test_capabilities_are_read_from_proc(monkeypatch, tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nCapEff:\t000001fffeffffff\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(str(status) if path == "/proc/self/status" else path, *args, **kwargs)
    monkeypatch.setattr("builtins.open", fake_open)
    assert not _host.has_capability(_host.CAP_SYS_RESOURCE)  # bit 24 is clear in 0xfeffffff
    assert _host.has_capability(21)  # CAP_SYS_ADMIN


# --- issue 10 item 9: lines and fields as mount(8) and the kernel write them -------------

def test_mountinfo_lines_end_at_newline_only():
    """The kernel escapes space, tab, newline and backslash in paths, nothing else: a
    mount point holding \\r, \\x85 or \\u2028 is one entry, not two."""
    text = ("30 1 0:40 / /mnt/a\rb rw,relatime - tmpfs tmpfs rw\n"
            "31 1 0:41 / /mnt/c\x85d\u2028e\x0bf rw,nosuid - tmpfs my\\040src rw,size=4k\n"
            "32 1 0:42 / /mnt/g\\012h rw - tmpfs tmpfs rw\n")
    table = _host.parse_mountinfo(text)
    assert [entry.mount_point for entry in table] == ["/mnt/a\rb", "/mnt/c\x85d\u2028e\x0bf", "/mnt/g\nh"]
    assert table[1].source == "my src" and table[1].vfs_options == ["rw", "nosuid"]


@pytest.mark.parametrize("line, fields", [
    ("/dev/a /mnt/a\x0bb ext4 defaults 0 0", ("/dev/a", "/mnt/a\x0bb", "ext4", ["defaults"], 0, 0)),
    ("/dev/b\r /mnt/c ext4 ro,x\\043y 0 0", ("/dev/b\r", "/mnt/c", "ext4", ["ro", "x#y"], 0, 0)),
    ("/src\\040x\t/mnt/d\\043 ext4 a\\054b 0 0", ("/src x", "/mnt/d#", "ext4", ["a", "b"], 0, 0)),
    ("/dev/f /mnt/f\x85g ext4 defaults 1 2 extra", ("/dev/f", "/mnt/f\x85g", "ext4", ["defaults"], 1, 2)),
    ("a /mnt/x ext4 defaults 0 0\r", ("a", "/mnt/x", "ext4", ["defaults"], 0, 0)),
    ("d /mnt/w ext4", ("d", "/mnt/w", "ext4", ["defaults"], 0, 0)),
    ("caf\\303\\251 /mnt/\\303 ext4 defaults", ("caf\xe9", "/mnt/\udcc3", "ext4", ["defaults"], 0, 0)),
])
def test_fstab_lines_read_as_libmount_reads_them(line, fields):
    """Each case as findmnt --tab-file read it on this machine (util-linux 2.38)."""
    entry = _host.FstabEntry.parse(line)
    assert (entry.src, entry.path, entry.fstype, entry.options, entry.dump, entry.passno) == fields


@pytest.mark.parametrize("line", [
    "  # an indented comment", "\t#x /mnt/e ext4 defaults", "c /mnt/z", "b /mnt/y ext4 defaults x y",
    "f /mnt/u ext4 defaults 3x 4", "",
])
def test_fstab_lines_libmount_skips(line):
    assert _host.FstabEntry.parse(line) is None


@pytest.mark.parametrize("src", ["#foo", "a\u2028b", "x\x85y", "v\x0bw", "c\rd", "\x1c", "back\\slash", "sp ace",
                                 "t\tab", "n\nl", "caf\xe9", "\udcff", "zero\u200bwidth", "nb\xa0sp"])
def test_fstab_fields_are_escaped_into_one_line(src):
    line = _host.FstabEntry(src, "/mnt/%s" % src, "tmpfs", ["size=1m", "x-%s" % src]).line()
    assert len(line.splitlines()) == 1 and len(line.split()) == 6 and not line.startswith("#")
    entry = _host.FstabEntry.parse(line)
    assert (entry.src, entry.path, entry.options) == (src, "/mnt/%s" % src, ["size=1m", "x-%s" % src])


@pytest.mark.parametrize("text", ["nul\x00", "lone\ud800"])
def test_fstab_fields_no_line_can_hold(text):
    with pytest.raises(errors.InvalidValueEx):
        _host.FstabEntry(text, "/mnt/x", "tmpfs", ["defaults"]).line()


def test_fstab_keeps_lines_it_does_not_understand_byte_for_byte(tmp_path):
    path = tmp_path / "fstab"
    original = "# \u2028 comment\r\n/dev/x /mnt/x ext4 defaults 0 0\x85\n\xff\xfe broken\n".encode(
        "utf-8", "surrogateescape")
    path.write_bytes(original + b"\xff tail")
    fstab = _host.Fstab(str(path))
    assert fstab.set(_host.FstabEntry("/a", "/mnt/a", "ext4", ["ro"]))
    fstab.write()
    assert path.read_bytes() == original + b"\xff tail\n/a /mnt/a ext4 ro 0 0\n"


def test_fstab_set_keeps_a_line_with_the_same_options_in_another_order(tmp_path):
    path = tmp_path / "fstab"
    path.write_text("/dev/vdb /srv/data xfs\tnoatime,ro,defaults 0 2\n")
    fstab = _host.Fstab(str(path))
    assert not fstab.needs(_host.FstabEntry("/dev/vdb", "/srv/data", "xfs", ["ro", "noatime"], 0, 2))
    assert fstab.needs(_host.FstabEntry("/dev/vdb", "/srv/data", "xfs", ["rw", "noatime"], 0, 2))


def test_a_symlinked_fstab_shares_the_lock_of_its_target(tmp_path):
    real = tmp_path / "fstab.real"
    real.write_text("")
    link = tmp_path / "fstab"
    link.symlink_to(real)
    assert _host._fstab_lock_path(str(link)) == _host._fstab_lock_path(str(real))  # pylint: disable=protected-access


def test_stray_temporary_copies_are_swept(tmp_path):
    path = tmp_path / "fstab"
    path.write_text("/a /mnt/a ext4 ro 0 0\n")
    stray = tmp_path / ".fstab.stormgmt-new-abc123"
    stray.write_text("/a /mnt/a ext4 ro 0 0\n/b /mnt/b")
    other = tmp_path / ".fstab.other"
    other.write_text("not ours")
    assert _host.Fstab.sweep(str(path), dry_run=True) and stray.exists()
    notes = _host.Fstab.sweep(str(path))
    assert len(notes) == 1 and str(stray) in notes[0]
    assert not stray.exists() and other.exists() and _host.Fstab.sweep(str(path)) == []
