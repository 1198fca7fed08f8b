# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""provision_scale: the provision role on inventories of 10, 100 and 1,000 LUNs.

For each size N, an inventory of one host (localhost, local connection) lists N LUNs and
N/10 access groups (two initiators and ten LUNs each), on a simulator of its own. The
role runs twice with ansible-playbook: the first run creates everything, the second
finds everything as listed and must change nothing. A run with empty lists gives the
fixed cost of the role. Every run is timed as a whole (wall clock), and each task of the
largest runs by the callback timer, so the JSON says where the time goes.

SPEC §7 / issue 11: 1,000 LUNs + 100 groups converge in <= 60 s, the no-op rerun takes
<= 15 s, and the cost per object at 1,000 is <= 1.2x the cost per object at 10.

    python benchmarks/provision_scale.py [--sizes 10,100,1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

PER_OBJECT_TARGET = 1.2
FIRST_RUN_TARGET = 60.0
NOOP_RUN_TARGET = 15.0
LUNS_PER_GROUP = 10
TOP_TASKS = 8


def inventory(size: int, server: str) -> dict:
    """One host whose variables list ``size`` LUNs and size/10 access groups."""
    luns = [{"name": "bench-lun-%04d" % index, "size": "1G"} for index in range(size)]
    groups = []
    for number, start in enumerate(range(0, size, LUNS_PER_GROUP)):
        groups.append({
            "name": "bench-grp-%03d" % number,
            "initiators": ["iqn.2026-01.com.example:bench-%03d-a" % number, "iqn.2026-01.com.example:bench-%03d-b" % number],
            "luns": [lun["name"] for lun in luns[start:start + LUNS_PER_GROUP]],
        })
    return {"all": {"hosts": {"localhost": {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "stormgmt_server": server,
        "stormgmt_luns": luns,
        "stormgmt_access_groups": groups,
    }}}}


PLAYBOOK = [{
    "name": "provision_scale",
    "hosts": "all",
    "gather_facts": False,
    "roles": [{"role": "stormgmt.core.provision"}],
}]

_RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def run_role(workdir: str, label: str, size: int, server: str) -> dict:
    """One ansible-playbook run of the role; returns its wall time, recap and task timings."""
    inventory_path = os.path.join(workdir, "inventory-%s.json" % label)
    with open(inventory_path, "w") as handle:
        json.dump(inventory(size, server), handle)
    book = os.path.join(workdir, "playbook.yml")
    with open(book, "w") as handle:
        json.dump(PLAYBOOK, handle)  # JSON is YAML
    timings = os.path.join(workdir, "timings-%s.json" % label)
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": _common.collections_path(),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(_common.HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "stormgmt_task_timer",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_PIPELINING": env.get("ANSIBLE_PIPELINING", "true"),
        "STORMGMT_BENCH_TIMINGS": timings,
    })
    # as on a usual managed node (see README.md, "Pipelining and PYTHONUNBUFFERED")
    env.pop("PYTHONUNBUFFERED", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    started = time.perf_counter()
    done = subprocess.run([playbook_bin, "-i", inventory_path, book], env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    recap = _RECAP.findall(done.stdout)
    if done.returncode != 0 or len(recap) != 1:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-3000:])
        raise SystemExit("provision_scale: the role failed on %s (exit %d)" % (label, done.returncode))
    ok, changed, _unreachable, _failed = (int(value) for value in recap[0])
    with open(timings) as handle:
        tasks = json.load(handle)
    return {"seconds": seconds, "ok": ok, "changed": changed, "tasks": tasks}


def count_objects(server: str) -> tuple:
    _common.import_collection()
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect  # pylint: disable=import-outside-toplevel
    backend = connect(server)
    try:
        backend.read_only = True
        return len(backend.list_luns()), len(backend.list_access_groups())
    finally:
        backend.close()


def top_tasks(tasks: list) -> list:
    ordered = sorted(tasks, key=lambda task: task["seconds"], reverse=True)[:TOP_TASKS]
    return [{"task": task["name"], "action": task["action"], "seconds": round(task["seconds"], 3)} for task in ordered]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,100,1000", help="numbers of LUNs, comma separated (default 10,100,1000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each size (default 1)")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    cases: dict = {}
    where: dict = {}
    objects = dict((size, size + len(range(0, size, LUNS_PER_GROUP))) for size in sizes)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="stormgmt-bench-provision-") as workdir:
        for round_number in range(args.repeat):
            # round-robin, so that a change of load on a shared machine touches every size alike
            for size in [0] + sizes:
                server = "sim://%s/sim-%d-%d.db" % (workdir, size, round_number)
                label = "%d-%d" % (size, round_number)
                first = run_role(workdir, label + "-first", size, server)
                noop = run_role(workdir, label + "-noop", size, server)
                if noop["changed"]:
                    raise SystemExit("provision_scale: the rerun with %d LUNs changed %d task(s)" % (size, noop["changed"]))
                if size and not first["changed"]:
                    raise SystemExit("provision_scale: the first run with %d LUNs changed nothing" % size)
                made = count_objects(server)
                expected = (size, len(range(0, size, LUNS_PER_GROUP)))
                if made != expected:
                    raise SystemExit("provision_scale: %d LUNs, %d groups made; expected %d, %d" % (made + expected))
                cases.setdefault("first@%d" % size, []).append(first["seconds"])
                cases.setdefault("noop@%d" % size, []).append(noop["seconds"])
                if size == max(sizes):
                    where["first@%d" % size] = top_tasks(first["tasks"])
                    where["noop@%d" % size] = top_tasks(noop["tasks"])
    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    # cost per object: the whole run over the objects it converges (LUNs + groups)
    for size in sizes:
        for run in ("first", "noop"):
            stats["%s_per_object@%d" % (run, size)] = _common.summary(
                [seconds / objects[size] for seconds in cases["%s@%d" % (run, size)]])
            # what one more object costs: the run minus the role's fixed cost (empty lists)
            stats["%s_marginal@%d" % (run, size)] = _common.summary(
                [(seconds - stats["%s@0" % run]["median"]) / objects[size] for seconds in cases["%s@%d" % (run, size)]])
    ratios = {}
    small, large = min(sizes), max(sizes)
    for run in ("first", "noop"):
        ratios["%s per object %d/%d" % (run, large, small)] = _common.ratio(
            stats, "%s_per_object@%d" % (run, large), "%s_per_object@%d" % (run, small), PER_OBJECT_TARGET)
        ratios["%s marginal per object %d/%d" % (run, large, small)] = _common.ratio(
            stats, "%s_marginal@%d" % (run, large), "%s_marginal@%d" % (run, small))
    bars = {}
    if 1000 in sizes:
        for run, target in (("first", FIRST_RUN_TARGET), ("noop", NOOP_RUN_TARGET)):
            value = stats["%s@1000" % run]["median"]
            bars["%s@1000 seconds" % run] = {"value": round(value, 3), "target": target, "ok": value <= target}
    notes = ["objects per size (LUNs + access groups): %s" % ", ".join("%d: %d" % item for item in sorted(objects.items())),
             "load average (1, 5, 15 min) before: %s, after: %s; the bars are for a quiet machine"
             % (", ".join("%.2f" % value for value in load_before), ", ".join("%.2f" % value for value in os.getloadavg())),
             "bars (seconds, median): %s" % json.dumps(bars),
             "slowest tasks of the largest runs: %s" % json.dumps(where)]
    _common.write_result(
        "provision_scale",
        "wall time of two ansible-playbook runs of the provision role (first: creates, second: no-op) with N LUNs "
        "and N/10 access groups on the simulator, and per object (LUNs + groups)",
        {"sizes": sizes, "repeat": args.repeat, "luns_per_group": LUNS_PER_GROUP, "connection": "local",
         "backend": "sim://<tmp>/sim-N.db"},
        stats, ratios, notes)
    for label, limit in bars.items():
        print("  bar   %-22s %.3f s%s" % (label, limit["value"], "  (target <= %s: %s)" % (
            limit["target"], "ok" if limit["ok"] else "ABOVE")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
