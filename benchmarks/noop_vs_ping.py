# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""noop_vs_ping: a no-op ``stormgmt.core.lun`` task against ``ansible.builtin.ping``.

In ONE ansible-playbook run on localhost (local connection, the playbook's Python),
N ping tasks and N lun tasks that find the LUN as asked (no change) alternate, after
a few warm-up tasks of each; a callback times every task. SPEC §7: the median no-op
lun task costs at most 1.10x the median ping task. The run is repeated with
pipelining on (less fixed cost per task, so the module's own cost weighs more).

    python benchmarks/noop_vs_ping.py [--tasks 50] [--warmup 3] [--no-pipelining-run]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

TARGET = 1.10


def playbook(tasks: int, warmup: int, server: str) -> list:
    lun = {"server": server, "name": "bench01", "size": "1G"}
    steps = [{"name": "setup: the LUN exists", "stormgmt.core.lun": lun}]
    for index in range(warmup):
        steps.append({"name": "warmup ping %d" % index, "ansible.builtin.ping": None})
        steps.append({"name": "warmup lun %d" % index, "stormgmt.core.lun": lun})
    for index in range(tasks):
        steps.append({"name": "ping %d" % index, "ansible.builtin.ping": None})
        steps.append({"name": "lun %d" % index, "stormgmt.core.lun": lun})
    return [{
        "name": "noop_vs_ping", "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": steps,
    }]


def run_once(tasks: int, warmup: int, pipelining: bool, workdir: str) -> dict:
    server = "sim://%s/sim-%s.db" % (workdir, "pipe" if pipelining else "default")
    book = os.path.join(workdir, "playbook.yml")
    with open(book, "w") as handle:
        json.dump(playbook(tasks, warmup, server), handle)  # JSON is YAML
    timings = os.path.join(workdir, "timings.json")
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": _common.collections_path(),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(_common.HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "stormgmt_task_timer",
        "ANSIBLE_PIPELINING": "true" if pipelining else "false",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "STORMGMT_BENCH_TIMINGS": timings,
    })
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    done = subprocess.run([playbook_bin, "-i", "localhost,", book], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit("noop_vs_ping: the playbook failed (exit %d)" % done.returncode)
    with open(timings) as handle:
        records = json.load(handle)
    changed = [r for r in records if r["name"].startswith("lun ") and r["status"] != "ok"]
    if changed:
        raise SystemExit("noop_vs_ping: some lun tasks did not succeed: %s" % changed)
    return {
        "ping": [r["seconds"] for r in records if r["name"].startswith("ping ")],
        "lun": [r["seconds"] for r in records if r["name"].startswith("lun ")],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=50, help="tasks of each kind (default 50)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up tasks of each kind (default 3)")
    parser.add_argument("--no-pipelining-run", action="store_true", help="skip the second run with pipelining")
    args = parser.parse_args(argv)
    cases, ratios = {}, {}
    with tempfile.TemporaryDirectory(prefix="stormgmt-bench-") as workdir:
        measured = run_once(args.tasks, args.warmup, False, workdir)
        cases["ping"], cases["lun_noop"] = measured["ping"], measured["lun"]
        if not args.no_pipelining_run:
            measured = run_once(args.tasks, args.warmup, True, workdir)
            cases["ping_pipelining"], cases["lun_noop_pipelining"] = measured["ping"], measured["lun"]
    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    ratios["lun_noop/ping"] = _common.ratio(stats, "lun_noop", "ping", TARGET)
    if "ping_pipelining" in stats:
        ratios["lun_noop/ping (pipelining)"] = _common.ratio(stats, "lun_noop_pipelining", "ping_pipelining", TARGET)
    _common.write_result(
        "noop_vs_ping",
        "median wall time of a no-op stormgmt.core.lun task and of an ansible.builtin.ping task, "
        "alternating in one ansible-playbook run on localhost (local connection)",
        {"tasks": args.tasks, "warmup": args.warmup, "connection": "local", "backend": "sim://<tmp>/sim.db",
         "pipelining_runs": [False] if args.no_pipelining_run else [False, True]},
        stats, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
