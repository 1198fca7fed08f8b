# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tgt_snapshot: snapshot and clone time of the tgt backend, large LUN against small LUN.

On a btrfs loop image (reflink copies) the backend snapshots and clones a 10 MiB and a
10 GiB LUN, both filled with data (not sparse), N times each; SPEC §7: the median time
for the large LUN is at most 2x the one for the small LUN (the copy shares extents, so
it does not grow with the data). The same is then measured on an ext4 loop image, where
the backend falls back to full copies (abilities OFFLINE), with a smaller large LUN
(default 1 GiB; the page cache of the source is dropped before each copy) to show what
the fallback costs per GiB.

The backend runs against a tgtd of its own (control port 9, portal 127.0.0.1:3269 by
default), started and stopped here. Needs root, tgt, btrfs-progs and e2fsprogs, and
about 12 GiB of free disk space for the time of the run.

    python benchmarks/tgt_snapshot.py [--repeat 9] [--small 10M] [--large 10G] [--full-copy-large 1G]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

TARGET = 2.0
MiB = 1024 * 1024
CHUNK = 4 * MiB


def size_arg(text: str) -> int:
    units = {"K": 1024, "M": MiB, "G": 1024 * MiB, "T": 1024 * 1024 * MiB}
    text = text.strip().upper().rstrip("B").rstrip("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def label(size: int) -> str:
    for unit, factor in (("GiB", 1024 * MiB), ("MiB", MiB)):
        if size >= factor and size % factor == 0:
            return "%d%s" % (size // factor, unit)
    return "%dB" % size


def run(*argv: str) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit("tgt_snapshot: %s failed: %s" % (" ".join(argv), (done.stderr or done.stdout).strip()))
    return done.stdout


class Tgtd:
    """A tgtd of the benchmark's own."""

    def __init__(self, portal: str, control_port: int, workdir: str) -> None:
        self.portal = portal
        self.control_port = str(control_port)
        self.pidfile = os.path.join(workdir, "tgtd.pid")

    def tgtadm(self, *words: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(["tgtadm", "--lld", "iscsi", "--control-port", self.control_port] + list(words),
                              capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise SystemExit("tgt_snapshot: tgtadm %s failed: %s" % (" ".join(words), done.stderr.strip()))
        return done

    def running(self) -> bool:
        return self.tgtadm("--mode", "sys", "--op", "show", check=False).returncode == 0

    def start(self) -> None:
        if self.running():
            raise SystemExit("tgt_snapshot: a tgtd already answers on control port %s; pick another with "
                             "--control-port" % self.control_port)
        run("tgtd", "--iscsi", "portal=" + self.portal, "--control-port", self.control_port,
            "--pid-file", self.pidfile)
        deadline = time.monotonic() + 30
        while not self.running():
            if time.monotonic() > deadline:
                raise SystemExit("tgt_snapshot: tgtd did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if not self.running():
            return
        self.tgtadm("--mode", "sys", "--op", "update", "--name", "State", "-v", "offline")
        for line in self.tgtadm("--mode", "target", "--op", "show").stdout.splitlines():
            if line.startswith("Target "):
                self.tgtadm("--mode", "target", "--op", "delete", "--force", "--tid", line.split()[1].rstrip(":"))
        self.tgtadm("--mode", "system", "--op", "delete")
        deadline = time.monotonic() + 30
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.1)


@contextlib.contextmanager
def pool_on(fstype: str, image_size: int, workdir: str):
    """A loop image with a file system of ``fstype``, mounted; yields the pool directory."""
    image = os.path.join(workdir, "%s.img" % fstype)
    mount_point = os.path.join(workdir, fstype)
    with open(image, "wb") as handle:
        handle.truncate(image_size)
    run("mkfs.%s" % fstype, "-q", "-f" if fstype == "btrfs" else "-F", image)
    os.makedirs(mount_point)
    run("mount", "-o", "loop", image, mount_point)  # mount -o loop frees the loop device on umount
    try:
        pool = os.path.join(mount_point, "pool")
        os.mkdir(pool, 0o700)
        yield pool
    finally:
        run("umount", mount_point)
        os.unlink(image)


def fill(path: str, size: int) -> None:
    """Write data over the whole LUN file (a sparse file would make every copy trivial)."""
    block = os.urandom(CHUNK)
    fd = os.open(path, os.O_WRONLY)
    try:
        written = 0
        while written < size:
            written += os.write(fd, block[:min(CHUNK, size - written)])
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_cache(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def measure(backend, sizes: list, repeat: int, cold: bool) -> dict:
    """{case: [seconds]}: snapshot and clone of a LUN of each size, ``repeat`` times."""
    cases = {}
    for size in sizes:
        name = "lun-%s" % label(size).lower()
        record = backend.create_lun(name, backend.default_pool(), size, True, None)
        fill(record["array_path"], size)
        snapshot_times, clone_times = [], []
        for index in range(repeat):
            if cold:
                drop_cache(record["array_path"])
            started = time.perf_counter()
            backend.create_snapshot(name, "s%d" % index)
            snapshot_times.append(time.perf_counter() - started)
            backend.delete_snapshot(name, "s%d" % index)
            os.sync()  # let the file system write back what the delete freed, outside the timing
            if cold:
                drop_cache(record["array_path"])
            started = time.perf_counter()
            backend.create_clone("%s-c%d" % (name, index), name)
            clone_times.append(time.perf_counter() - started)
            backend.delete_lun("%s-c%d" % (name, index))
            os.sync()
        backend.delete_lun(name)
        cases["snapshot_%s" % label(size)] = snapshot_times
        cases["clone_%s" % label(size)] = clone_times
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=9, help="snapshots and clones per LUN (default 9)")
    parser.add_argument("--small", type=size_arg, default=10 * MiB, help="small LUN (default 10M)")
    parser.add_argument("--large", type=size_arg, default=10 * 1024 * MiB, help="large LUN (default 10G)")
    parser.add_argument("--full-copy-large", type=size_arg, default=1024 * MiB,
                        help="large LUN of the full-copy run on ext4 (default 1G; 0 skips that run)")
    parser.add_argument("--full-copy-repeat", type=int, default=3, help="copies per LUN on ext4 (default 3)")
    parser.add_argument("--portal", default="127.0.0.1:3269", help="portal of the benchmark's tgtd")
    parser.add_argument("--control-port", type=int, default=9, help="control port of the benchmark's tgtd")
    parser.add_argument("--workdir", default="/var/tmp", help="where the loop images go (default /var/tmp)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("tgt_snapshot: run as root (tgtd, loop devices, mounts)")
    for program in ("tgtd", "tgtadm", "mkfs.btrfs", "mkfs.ext4"):
        if shutil.which(program) is None:
            raise SystemExit("tgt_snapshot: %s is not installed (make deps)" % program)
    _common.import_collection()
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect

    workdir = tempfile.mkdtemp(prefix="stormgmt-bench-tgt-", dir=args.workdir)
    tgtd = Tgtd(args.portal, args.control_port, workdir)
    cases, abilities = {}, {}
    try:
        tgtd.start()
        uri = "tgt://%%s?portal=%s&control_port=%d" % (args.portal, args.control_port)
        with pool_on("btrfs", args.large * 2 + 4 * 1024 * MiB, workdir) as pool:
            backend = connect(uri % pool)
            abilities["btrfs"] = backend.get_abilities()["snapshot"]
            cases.update(measure(backend, [args.small, args.large], args.repeat, cold=False))
            backend.close()
        if args.full_copy_large:
            with pool_on("ext4", args.full_copy_large * 3 + 1024 * MiB, workdir) as pool:
                backend = connect(uri % pool)
                abilities["ext4"] = backend.get_abilities()["snapshot"]
                full = measure(backend, [args.small, args.full_copy_large], args.full_copy_repeat, cold=True)
                cases.update(("full_copy_%s" % case, samples) for case, samples in full.items())
                backend.close()
    finally:
        tgtd.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    small, large = label(args.small), label(args.large)
    ratios = {
        "snapshot %s/%s (reflink)" % (large, small): _common.ratio(stats, "snapshot_" + large, "snapshot_" + small, TARGET),
        "clone %s/%s (reflink)" % (large, small): _common.ratio(stats, "clone_" + large, "clone_" + small, TARGET),
    }
    notes = ["pool abilities: btrfs snapshot=%s, ext4 snapshot=%s"
             % (abilities.get("btrfs"), abilities.get("ext4", "not measured"))]
    if args.full_copy_large:
        full_large = label(args.full_copy_large)
        ratios["snapshot %s/%s (full copy)" % (full_large, small)] = _common.ratio(
            stats, "full_copy_snapshot_" + full_large, "full_copy_snapshot_" + small)
        seconds = stats["full_copy_snapshot_" + full_large]["median"]
        per_gib = seconds / (args.full_copy_large / (1024.0 * MiB))
        notes.append("full-copy fallback (ext4): %.2f s per GiB of LUN, about %.0f s for a %s LUN; the reflink "
                     "snapshot of the %s LUN took %.1f ms" % (
                         per_gib, per_gib * args.large / (1024.0 * MiB), large, large,
                         stats["snapshot_" + large]["median"] * 1000))
    _common.write_result(
        "tgt_snapshot",
        "time of the tgt backend's create_snapshot and create_clone for a small and a large LUN filled with "
        "data, on a btrfs pool (reflink copies) and on an ext4 pool (full copies)",
        {"repeat": args.repeat, "small": args.small, "large": args.large,
         "full_copy_large": args.full_copy_large, "full_copy_repeat": args.full_copy_repeat,
         "pool_filesystems": ["btrfs", "ext4"] if args.full_copy_large else ["btrfs"]},
        stats, ratios, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
