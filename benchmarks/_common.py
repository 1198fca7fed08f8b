# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark shares: the result file shape, statistics, the environment.

A benchmark script builds ``cases`` ({case: list of seconds}) and ``ratios``, then
calls :func:`write_result`, which writes ``benchmarks/results/<name>.json`` in the
shape documented in benchmarks/README.md and prints a short summary.
"""

from __future__ import annotations

import atexit
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.environ.get("STORMGMT_BENCH_RESULTS") or os.path.join(HERE, "results")
SCHEMA_VERSION = 1


def collections_path() -> str:
    """A collections path holding stormgmt.core: $ANSIBLE_COLLECTIONS_PATH when it is set
    (``make bench`` points it at the built and installed collection), else a temporary
    ansible_collections/stormgmt/core symlink to this work tree."""
    given = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if given:
        return given
    top = tempfile.mkdtemp(prefix="stormgmt-bench-colls-")
    atexit.register(shutil.rmtree, top, True)
    os.makedirs(os.path.join(top, "ansible_collections", "stormgmt"))
    os.symlink(ROOT, os.path.join(top, "ansible_collections", "stormgmt", "core"))
    os.environ["ANSIBLE_COLLECTIONS_PATH"] = top
    return top


def import_collection() -> None:
    """Make ``ansible_collections.stormgmt.core`` importable in this process."""
    for entry in reversed(collections_path().split(os.pathsep)):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def summary(samples: list) -> dict:
    """Statistics of one case, in seconds."""
    ordered = sorted(samples)

    def quantile(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {
        "n": len(ordered),
        "median": statistics.median(ordered),
        "mean": statistics.fmean(ordered),
        "min": ordered[0],
        "p10": quantile(0.10),
        "p90": quantile(0.90),
        "stdev": statistics.stdev(ordered) if len(ordered) > 1 else 0.0,
    }


def ratio(cases: dict, numerator: str, denominator: str, target: float | None = None) -> dict:
    """median(numerator) / median(denominator), with the SPEC target when there is one."""
    value = cases[numerator]["median"] / cases[denominator]["median"]
    entry = {"of": "%s/%s" % (numerator, denominator), "value": round(value, 4)}
    if target is not None:
        entry.update(target=target, ok=value <= target)
    return entry


def _version(argv: list) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False).stdout
    except OSError:
        return None
    return out.strip() or None


def environment() -> dict:
    try:
        from ansible.release import __version__ as ansible_core
    except ImportError:
        ansible_core = None
    return {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "ansible_core": ansible_core,
        "sqlite": __import__("sqlite3").sqlite_version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "git_commit": _version(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]),
        "git_dirty": bool(_version(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])),
    }


def write_result(name: str, description: str, params: dict, cases: dict, ratios: dict, notes: list | None = None) -> dict:
    """Write results/<name>.json and print a summary; return the document.

    ``cases``: {case: [seconds, ...]} (or a summary() dict already); ``ratios``: {label: ratio()}.
    """
    document = {
        "schema": SCHEMA_VERSION,
        "name": name,
        "description": description,
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
        "timestamp": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "params": params,
        "unit": "seconds",
        "cases": dict((case, samples if isinstance(samples, dict) else summary(samples))
                      for case, samples in cases.items()),
        "ratios": ratios,
        "environment": environment(),
        "notes": list(notes or []),
    }
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name + ".json")
    with open(path, "w") as handle:
        json.dump(document, handle, indent=2, sort_keys=False)
        handle.write("\n")
    print_summary(document)
    print("  -> %s" % os.path.relpath(path))
    return document


def print_summary(document: dict) -> None:
    print("%s  (%s)" % (document["name"], document["timestamp"]))
    for case, stats in document["cases"].items():
        print("  %-28s median %9.3f ms   p10 %9.3f   p90 %9.3f   n=%d" % (
            case, stats["median"] * 1000, stats["p10"] * 1000, stats["p90"] * 1000, stats["n"]))
    for label, entry in document["ratios"].items():
        verdict = ""
        if "target" in entry:
            verdict = "  (target <= %s: %s)" % (entry["target"], "ok" if entry["ok"] else "ABOVE")
        print("  ratio %-22s %.3f%s" % (label, entry["value"], verdict))
