# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nfs_fs: file systems of the Linux server (btrfs + nfs-ganesha), large against small, many against one.

1. Snapshot and clone of a file system holding 10 GiB against one holding 10 MiB (files
   written with data, not sparse): btrfs snapshots share everything, so the time must not
   grow with the data. Target: median(10 GiB) <= 2 x median(10 MiB).
2. One export change (``set_export`` of one file system, applied to the running ganesha)
   on a server with 200 exported file systems against one with a single export. Target:
   <= 2x. Measured with ganesha on a message bus of its own (DBus UpdateExport: the change
   touches one export) and, for comparison, without a bus (SIGHUP: ganesha re-reads all
   its exports).

Each part runs against a throw-away NAS of its own (tests/conformance/linux_nas.py: a
btrfs loop image and an nfs-ganesha on 127.0.0.1 on a free port), timed in-process around
the backend call, as benchmarks/tgt_snapshot.py does. Needs root, btrfs-progs,
nfs-ganesha, dbus-daemon, and about 12 GiB of free disk for the time of the run.

    python benchmarks/nfs_fs.py [--repeat 9] [--large 10G] [--exports 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "conformance"))
import _common  # noqa: E402  pylint: disable=wrong-import-position
import linux_nas  # noqa: E402  pylint: disable=wrong-import-position

TARGET = 2.0
MiB = 1024 * 1024
CHUNK = 4 * MiB
EXPORT = {"clients": ["127.0.0.1"], "access_groups": [], "options": ["rw"]}


def size_arg(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB}
    text = text.strip().upper().rstrip("B").rstrip("I")
    return int(float(text[:-1]) * units[text[-1]]) if text and text[-1] in units else int(text)


def label(size: int) -> str:
    return "%dGiB" % (size // (1024 * MiB)) if size % (1024 * MiB) == 0 else "%dMiB" % (size // MiB)


def fill(path: str, size: int) -> None:
    """Data in the file system (written on the server: what matters is that it is there)."""
    block = os.urandom(CHUNK)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            written += handle.write(block[:min(CHUNK, size - written)])
        handle.flush()
        os.fsync(handle.fileno())


def timed(call, *args):
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


def snapshots_and_clones(connect, workdir: str, sizes: list, repeat: int) -> dict:
    nas = linux_nas.LinuxNas(image_size="%dG" % (sizes[-1] // (1024 * MiB) + 4), dbus=True, workdir=workdir).start()
    cases = {}
    try:
        backend = connect(nas.uri)
        for size in sizes:
            name = "fs-%s" % label(size).lower()
            backend.create_filesystem(name, backend.default_pool(), size + 256 * MiB, EXPORT)
            fill(os.path.join(nas.pool_dir, "fs", name, "data"), size)
            os.sync()
            snapshot_times, clone_times = [], []
            for index in range(repeat):
                snapshot_times.append(timed(backend.create_fs_snapshot, name, "s%d" % index))
                backend.delete_fs_snapshot(name, "s%d" % index)
                clone_times.append(timed(backend.create_fs_clone, "%s-c%d" % (name, index), name))
                backend.delete_filesystem("%s-c%d" % (name, index), True)
                os.sync()  # what the deletes freed is written back outside the timing
            backend.delete_filesystem(name, True)
            cases["fs_snapshot_%s" % label(size)] = snapshot_times
            cases["fs_clone_%s" % label(size)] = clone_times
        backend.close()
    finally:
        nas.stop()
    return cases


def export_changes(connect, workdir: str, exports: int, repeat: int, dbus: bool) -> dict:
    nas = linux_nas.LinuxNas(image_size="2G", dbus=dbus, workdir=workdir).start()
    mode = "dbus" if dbus else "sighup"
    cases = {}
    try:
        backend = connect(nas.uri)
        backend.create_filesystem("target", backend.default_pool(), 16 * MiB, EXPORT)
        for count, case in ((1, "export_change_1_export_%s" % mode), (exports, "export_change_%d_exports_%s" % (
                exports, mode))):
            for index in range(len(backend.list_filesystems()), count):
                backend.create_filesystem("other-%03d" % index, backend.default_pool(), 16 * MiB, EXPORT)
            backend.close()
            samples = []
            for index in range(repeat):
                backend = connect(nas.uri)  # a fresh connection, as each task has
                change = dict(EXPORT, clients=["127.0.0.1", "192.0.2.%d" % (index % 2 + 1)])
                samples.append(timed(backend.set_export, "target", change))
                backend.close()
            cases[case] = samples
            backend = connect(nas.uri)
        backend.close()
    finally:
        nas.stop()
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=9, help="snapshots, clones and export changes per case")
    parser.add_argument("--small", type=size_arg, default=10 * MiB, help="data in the small file system (10M)")
    parser.add_argument("--large", type=size_arg, default=10 * 1024 * MiB, help="data in the large one (10G)")
    parser.add_argument("--exports", type=int, default=200, help="exports of the busy server (200)")
    parser.add_argument("--workdir", default="/var/tmp", help="where the loop images go (default /var/tmp)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("nfs_fs: run as root (loop devices, mounts, nfs-ganesha)")
    missing = linux_nas.missing_tools()
    if missing:
        raise SystemExit("nfs_fs: %s not installed (make deps)" % ", ".join(missing))
    _common.import_collection()
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect

    def workdir(tag):
        path = os.path.join(args.workdir, "stormgmt-bench-nfs-%s-%d" % (tag, os.getpid()))
        os.makedirs(path)
        return path

    cases = {}
    cases.update(snapshots_and_clones(connect, workdir("snap"), [args.small, args.large], args.repeat))
    cases.update(export_changes(connect, workdir("dbus"), args.exports, args.repeat, dbus=True))
    cases.update(export_changes(connect, workdir("sighup"), args.exports, args.repeat, dbus=False))

    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    small, large = label(args.small), label(args.large)
    ratios = {
        "fs snapshot %s/%s" % (large, small): _common.ratio(stats, "fs_snapshot_" + large, "fs_snapshot_" + small, TARGET),
        "fs clone %s/%s" % (large, small): _common.ratio(stats, "fs_clone_" + large, "fs_clone_" + small, TARGET),
        "export change %d/1 (dbus)" % args.exports: _common.ratio(
            stats, "export_change_%d_exports_dbus" % args.exports, "export_change_1_export_dbus", TARGET),
        "export change %d/1 (sighup)" % args.exports: _common.ratio(
            stats, "export_change_%d_exports_sighup" % args.exports, "export_change_1_export_sighup"),
    }
    notes = [
        "the backend changes exports over DBus when ganesha is on a bus (the nfs_server role gives it one); the "
        "sighup figures are the fallback without a bus, for comparison",
        "times are of the backend call in-process (connection, checks, export file, ganesha's answer), not of a "
        "whole Ansible task",
    ]
    _common.write_result(
        "nfs_fs",
        "Linux server file systems: snapshot and clone time against the data they hold; time of one export "
        "change against the number of exports of the server",
        {"repeat": args.repeat, "small": args.small, "large": args.large, "exports": args.exports},
        stats, ratios, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
