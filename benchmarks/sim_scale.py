# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""sim_scale: the simulator's cost per operation with 10, 10,000 and 100,000 LUNs.

One process opens one simulator store per size, seeded with that many LUNs (direct
SQL inserts in one transaction, pool counters updated to match, then checked), and
times the backend calls a module makes, round-robin across the stores so that load
on the machine hits every size alike:
  create  create_lun of a new LUN (one write transaction)
  lookup  get_lun of an existing LUN picked at random (what every lun task reads first)
  miss    get_lun of a name that does not exist (the read before a create)
  delete  delete_lun of a LUN made by `create`
  open    what a no-op lun task does against the store: open it, get_lun, close
SPEC §7: the median at 100,000 LUNs is at most 1.5x the median at 10.

    python benchmarks/sim_scale.py [--sizes 10,10000,100000] [--repeat 300]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

TARGET = 1.5
MiB = 1024 * 1024
KINDS = ("create", "lookup", "miss", "delete", "open")


def seed(backend, count: int) -> None:
    """Insert ``count`` thin 1 MiB LUNs into pool0 the fast way, keeping the pool counters right."""
    db = backend._conn()  # pylint: disable=protected-access
    pool_id = db.execute("SELECT id FROM pools WHERE name = 'pool0'").fetchone()[0]
    now = time.time()
    db.execute("BEGIN IMMEDIATE")
    db.executemany(
        "INSERT INTO luns (uuid, name, pool_id, size, thin, created) VALUES (?, ?, ?, ?, 1, ?)",
        ((str(uuid.uuid4()), "seed%06d" % index, pool_id, MiB, now) for index in range(count)))
    db.execute("UPDATE pools SET alloc_sz = alloc_sz + ? WHERE id = ?", (count * MiB, pool_id))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pool = [p for p in backend.list_pools() if p["vol_name"] == "pool0"][0]
    if pool["vol_alloc_sz"] != count * MiB or len(backend.list_luns()) != count:
        raise SystemExit("sim_scale: seeding %d LUNs did not add up" % count)


def open_lookup(connect, uri: str, name: str) -> None:
    backend = connect(uri)
    try:
        if backend.get_lun(name) is None:
            raise SystemExit("sim_scale: LUN %s vanished" % name)
    finally:
        backend.close()


def timed(call, *args) -> float:
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,10000,100000", help="LUN counts, the first is the baseline")
    parser.add_argument("--repeat", type=int, default=300, help="operations of each kind per size (default 300)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    _common.import_collection()
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect  # pylint: disable=import-error

    rng = random.Random(2026)
    cases = {}
    with tempfile.TemporaryDirectory(prefix="stormgmt-bench-sim-") as workdir:
        backends = {}
        for size in sizes:
            backends[size] = connect("sim://%s/sim-%d.db" % (workdir, size))
            started = time.perf_counter()
            seed(backends[size], size)
            print("  seeded %d LUNs in %.1fs" % (size, time.perf_counter() - started))
            for kind in KINDS:
                cases["%s@%d" % (kind, size)] = []
        for index in range(args.repeat):
            for size, backend in backends.items():
                name = "bench%06d" % index
                cases["create@%d" % size].append(timed(backend.create_lun, name, "pool0", MiB, True, None))
                cases["lookup@%d" % size].append(timed(backend.get_lun, "seed%06d" % rng.randrange(size)))
                cases["miss@%d" % size].append(timed(backend.get_lun, "absent%06d" % index))
                cases["open@%d" % size].append(timed(open_lookup, connect, backend.uri.text, "seed%06d" % rng.randrange(size)))
        for index in range(args.repeat):
            for size, backend in backends.items():
                cases["delete@%d" % size].append(timed(backend.delete_lun, "bench%06d" % index))
        for backend in backends.values():
            backend.close()
    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    ratios = {}
    base = sizes[0]
    for kind in KINDS:
        for size in sizes[1:]:
            ratios["%s %d/%d" % (kind, size, base)] = _common.ratio(
                stats, "%s@%d" % (kind, size), "%s@%d" % (kind, base), TARGET if size == max(sizes) else None)
    _common.write_result(
        "sim_scale",
        "median seconds per simulator backend call with N LUNs in the store, in one process",
        {"sizes": sizes, "repeat": args.repeat, "lun_size": MiB, "thin": True, "seeding": "direct SQL, counters kept"},
        stats, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
