# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ceph: the bars of the ceph:// backend, in one run, against a throw-away cluster it starts.

Needs root and the packages of ``make deps``. The cluster (ceph_test_cluster role, no CephFS)
and its iSCSI gateway (iscsi_target role) are started in a temporary directory on the ports
given (see --help) and removed at the end.

* ``snapshot`` / ``clone``: the backend's create_snapshot and create_clone of a 10 GiB image
  full of data (written with ``rbd bench``) against a 10 MiB one, N times each, alternating.
  SPEC: ratio <= 2.
* ``noop``: a no-op ``stormgmt.core.lun`` task on ``sim://``, on ``ceph://`` with the agent in a
  co-process (the venv's Python, which lacks Ceph's bindings) and on ``ceph://`` in process
  (``/usr/bin/python3``), alternating in one ansible-playbook run. SPEC: ceph/sim <= 1.5.
* ``interfaces``: what a no-op lun reads from the cluster, through Ceph's Python bindings (the
  agent, in process and as a co-process, each connecting once) and through the ``rbd`` and
  ``rados`` tools (``--format json`` where they have it, one process per read).
* ``provision``: the LUNs task of the provision role creating 10, then 100 LUNs: seconds per
  LUN. SPEC: per LUN at 100 <= 1.2 x per LUN at 10.

    python benchmarks/ceph.py [--repeat 9] [--tasks 30] [--big 10G] [--mon-port 16790 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  pylint: disable=wrong-import-position

SNAPSHOT_TARGET = 2.0
NOOP_TARGET = 1.5
PROVISION_TARGET = 1.2
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": _common.collections_path(),
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(_common.HERE, "callback_plugins"),
    })
    env.update(extra or {})
    return env


def playbook(workdir: str, name: str, plays: list, extra_env: dict | None = None) -> None:
    book = os.path.join(workdir, name + ".yml")
    with open(book, "w") as handle:
        json.dump(plays, handle)  # JSON is YAML
    done = subprocess.run([PLAYBOOK, "-i", "localhost,", book], env=_env(extra_env), capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-3000:])
        raise SystemExit("ceph benchmark: playbook %s failed (exit %d)" % (name, done.returncode))


def _play(tasks: list, vars_: dict | None = None) -> list:
    return [{"name": "ceph benchmark", "hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": dict({"ansible_python_interpreter": "{{ ansible_playbook_python }}"}, **(vars_ or {})),
             "tasks": tasks}]


class Cluster:
    """The throw-away cluster and its gateway, through the collection's roles."""

    def __init__(self, workdir: str, args) -> None:
        self.workdir = workdir
        self.vars = {
            "ceph_test_cluster_dir": os.path.join(workdir, "cluster"),
            "ceph_test_cluster_mon_port": args.mon_port, "ceph_test_cluster_mon_port_v1": args.mon_port_v1,
            "ceph_test_cluster_bind_port_min": args.bind_port_min, "ceph_test_cluster_bind_port_max": args.bind_port_max,
            "ceph_test_cluster_osd_size": args.osd_size, "ceph_test_cluster_cephfs": False,
            "ceph_test_cluster_install_packages": False,
            "iscsi_target_pool_dir": "", "iscsi_target_portal": args.portal,
            "iscsi_target_control_port": args.control_port, "iscsi_target_service_manager": "daemon",
            "iscsi_target_install_packages": False, "iscsi_target_run_dir": os.path.join(workdir, "run"),
        }
        self.conf = os.path.join(workdir, "cluster", "ceph.conf")
        self.plain = "ceph://rbd?conf=%s&id=admin" % self.conf
        self.server = "%s&portal=%s&control_port=%d" % (self.plain, args.portal, args.control_port)
        self.vars["iscsi_target_server"] = self.server

    def start(self) -> None:
        playbook(self.workdir, "start", _play([
            {"ansible.builtin.include_role": {"name": "stormgmt.core.ceph_test_cluster"}},
            {"ansible.builtin.include_role": {"name": "stormgmt.core.iscsi_target"}}], self.vars))

    def stop(self) -> None:
        playbook(self.workdir, "stop", _play([
            {"ansible.builtin.include_role": {"name": "stormgmt.core.iscsi_target", "tasks_from": "cleanup"}},
            {"ansible.builtin.include_role": {"name": "stormgmt.core.ceph_test_cluster", "tasks_from": "cleanup"}}],
            self.vars))

    def rbd(self, *words) -> None:
        subprocess.run(["rbd", "--conf", self.conf, "--pool", "rbd"] + list(words), check=True, capture_output=True)


# --- snapshot and clone: a large image full of data against a small one ------------------------------

def bench_snapshots(cluster: Cluster, args) -> dict:
    _common.import_collection()
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
    from ansible_collections.stormgmt.core.plugins.module_utils._units import parse_size
    backend = connect(cluster.plain)
    cases = {"snapshot_10MiB": [], "snapshot_big": [], "clone_10MiB": [], "clone_big": []}
    sizes = {"10MiB": 10 * 1024 * 1024, "big": parse_size(args.big, "big")}
    try:
        for label, size in sizes.items():
            backend.create_lun("bench-" + label, "rbd", size, True, None)
            # fill it: every object of the image holds data
            cluster.rbd("bench", "--io-type", "write", "--io-size", "4M", "--io-threads", "4", "--io-total", str(size),
                        "--io-pattern", "seq", "bench-" + label)
        for index in range(args.repeat):
            for label in sizes:
                lun = "bench-" + label
                started = time.monotonic()
                backend.create_snapshot(lun, "s%d" % index)
                cases["snapshot_" + label].append(time.monotonic() - started)
                started = time.monotonic()
                backend.create_clone("%s-c%d" % (lun, index), lun)
                cases["clone_" + label].append(time.monotonic() - started)
        for label in sizes:
            for index in range(args.repeat):
                backend.delete_lun("bench-%s-c%d" % (label, index))
            backend.delete_lun("bench-" + label, True)
    finally:
        backend.close()
    return cases


# --- no-op lun tasks: sim, ceph co-process, ceph in process ------------------------------------------

def bench_noop(cluster: Cluster, args, workdir: str) -> dict:
    sim = "sim://%s/sim.db" % workdir
    variants = {
        "noop_sim": ({"server": sim}, "{{ ansible_playbook_python }}"),
        "noop_ceph": ({"server": cluster.server}, "{{ ansible_playbook_python }}"),
        "noop_ceph_in_process": ({"server": cluster.server}, "/usr/bin/python3"),
    }
    lun = {"name": "bench-noop", "size": "1G"}
    tasks = []
    for case, (server, python) in variants.items():
        tasks.append({"name": "setup %s" % case, "stormgmt.core.lun": dict(lun, **server),
                      "vars": {"ansible_python_interpreter": python}})
    for index in range(args.warmup + args.tasks):
        for case, (server, python) in variants.items():
            tasks.append({"name": "%s %s %d" % ("warmup" if index < args.warmup else "timed", case, index),
                          "stormgmt.core.lun": dict(lun, **server), "vars": {"ansible_python_interpreter": python}})
    timings = os.path.join(workdir, "noop-timings.json")
    playbook(workdir, "noop", _play(tasks), {"ANSIBLE_CALLBACKS_ENABLED": "stormgmt_task_timer",
                                             "STORMGMT_BENCH_TIMINGS": timings})
    with open(timings) as handle:
        records = json.load(handle)
    bad = [r for r in records if r["name"].startswith("timed ") and r["status"] != "ok"]
    if bad:
        raise SystemExit("ceph benchmark: no-op tasks changed something or failed: %s" % bad[:3])
    cases = dict((case, [r["seconds"] for r in records if r["name"].startswith("timed %s " % case)]) for case in variants)
    playbook(workdir, "noop-cleanup", _play([{"stormgmt.core.lun": dict(name="bench-noop", state="absent", server=server)}
                                             for server in (sim, cluster.server)]))
    return cases


# --- the interfaces: Ceph's bindings against the tools ------------------------------------------------

READS_SCRIPT = r"""
import json, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
out = {}
# the collection is imported: from here on, only what the backend does for a no-op lun
started = time.monotonic()
backend = connect(sys.argv[2])
backend.get_lun("bench-iface")
out["in_process"] = backend.client.in_process
backend.close()
out["bindings"] = time.monotonic() - started
started = time.monotonic()
for argv in json.loads(sys.argv[3]):
    subprocess.run(argv, capture_output=True, check=False)
out["cli"] = time.monotonic() - started
print(json.dumps(out))
"""


def bench_interfaces(cluster: Cluster, args) -> dict:
    """What a no-op lun reads, timed inside one process after its imports: through the agent
    (connect, the reads, close), then the same reads with the tools, one process each."""
    _common.import_collection()
    top = _common.collections_path().split(os.pathsep)[0]
    cases = {"reads_bindings_in_process": [], "reads_bindings_coprocess": [], "reads_cli": []}
    # ansible (pure Python) for the system Python too: the collection's module_utils import it
    site_packages = os.pathsep.join(entry for entry in sys.path if entry.endswith("site-packages"))
    from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
    backend = connect(cluster.plain)
    backend.create_lun("bench-iface", "rbd", 64 * 1024 * 1024, True, None)
    backend.close()
    tools = ["--conf", cluster.conf, "--pool", "rbd"]
    cli = json.dumps([
        ["rados"] + tools + ["--namespace", "stormgmt", "get", "stormgmt.server", "-"],
        ["rbd"] + tools + ["info", "--format", "json", "bench-iface"],
        ["rbd"] + tools + ["image-meta", "list", "--format", "json", "bench-iface"],
        ["rbd"] + tools + ["snap", "ls", "--format", "json", "bench-iface"],
        ["rbd"] + tools + ["status", "--format", "json", "bench-iface"],
        ["rados"] + tools + ["--namespace", "stormgmt", "listomapvals", "stormgmt.jobs"],
    ])
    for _index in range(args.repeat):
        for python, case in (("/usr/bin/python3", "reads_bindings_in_process"),
                             (sys.executable, "reads_bindings_coprocess")):
            out = subprocess.run([python, "-c", READS_SCRIPT, top, cluster.plain, cli], capture_output=True, text=True,
                                 check=True, env=dict(os.environ, PYTHONPATH=site_packages))
            answer = json.loads(out.stdout)
            if answer["in_process"] != (case == "reads_bindings_in_process"):
                raise SystemExit("ceph benchmark: %s ran the agent %s" % (
                    python, "in process" if answer["in_process"] else "as a co-process"))
            cases[case].append(answer["bindings"])
            cases["reads_cli"].append(answer["cli"])
    backend = connect(cluster.plain)
    backend.delete_lun("bench-iface")
    backend.close()
    return cases


# --- the provision role: 10 LUNs, then 100 -------------------------------------------------------------

def bench_provision(cluster: Cluster, workdir: str) -> dict:
    per_lun = {}
    for count in (10, 100):
        luns = [{"name": "prov%d-%03d" % (count, index), "size": "16M"} for index in range(count)]
        timings = os.path.join(workdir, "provision-%d.json" % count)
        playbook(workdir, "provision-%d" % count, _play(
            [{"ansible.builtin.include_role": {"name": "stormgmt.core.provision"}}],
            {"stormgmt_server": cluster.server, "stormgmt_luns": luns}),
            {"ANSIBLE_CALLBACKS_ENABLED": "stormgmt_task_timer", "STORMGMT_BENCH_TIMINGS": timings})
        with open(timings) as handle:
            records = json.load(handle)
        seconds = [r["seconds"] for r in records if r["action"].endswith("lun") and r["name"].endswith("LUNs")]
        if len(seconds) != 1:
            raise SystemExit("ceph benchmark: cannot find the LUNs task of the provision role in %s" % records)
        per_lun["provision_%d_per_lun" % count] = [seconds[0] / count]
        playbook(workdir, "provision-%d-purge" % count, _play(
            [{"stormgmt.core.lun": {"server": cluster.server, "name": "{{ item.name }}", "state": "absent"},
              "loop": luns}]))
    return per_lun


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=9, help="samples of each snapshot/clone/reads case (default 9)")
    parser.add_argument("--tasks", type=int, default=20, help="timed no-op tasks of each variant (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed no-op tasks of each variant (default 2)")
    parser.add_argument("--big", default="10G", help="size of the large image (default 10G)")
    parser.add_argument("--osd-size", default="24G", help="the OSD's sparse block file (default 24G)")
    parser.add_argument("--mon-port", type=int, default=15300)
    parser.add_argument("--mon-port-v1", type=int, default=15301)
    parser.add_argument("--bind-port-min", type=int, default=15302)
    parser.add_argument("--bind-port-max", type=int, default=15399)
    parser.add_argument("--portal", default="127.0.0.1:3274", help="the gateway's portal (default 127.0.0.1:3274)")
    parser.add_argument("--control-port", type=int, default=24, help="the gateway's tgtd control port (default 24)")
    parser.add_argument("--skip", action="append", default=[], choices=["snapshots", "noop", "interfaces", "provision"])
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("ceph benchmark: run it as root (it starts a Ceph cluster and tgtd)")
    cases: dict = {}
    with tempfile.TemporaryDirectory(prefix="stormgmt-bench-ceph-", dir="/var/tmp") as workdir:
        cluster = Cluster(workdir, args)
        started = time.monotonic()
        try:
            cluster.start()
            cases["cluster_start"] = [time.monotonic() - started]
            if "snapshots" not in args.skip:
                cases.update(bench_snapshots(cluster, args))
            if "interfaces" not in args.skip:
                cases.update(bench_interfaces(cluster, args))
            if "noop" not in args.skip:
                cases.update(bench_noop(cluster, args, workdir))
            if "provision" not in args.skip:
                cases.update(bench_provision(cluster, workdir))
        finally:
            cluster.stop()
    stats = dict((case, _common.summary(samples)) for case, samples in cases.items())
    ratios = {}
    if "snapshot_big" in stats:
        ratios["snapshot %s/10MiB" % args.big] = _common.ratio(stats, "snapshot_big", "snapshot_10MiB", SNAPSHOT_TARGET)
        ratios["clone %s/10MiB" % args.big] = _common.ratio(stats, "clone_big", "clone_10MiB", SNAPSHOT_TARGET)
    if "noop_ceph" in stats:
        ratios["noop ceph/sim"] = _common.ratio(stats, "noop_ceph", "noop_sim", NOOP_TARGET)
        ratios["noop ceph in process/sim"] = _common.ratio(stats, "noop_ceph_in_process", "noop_sim", NOOP_TARGET)
    if "reads_cli" in stats:
        ratios["reads cli/bindings co-process"] = _common.ratio(stats, "reads_cli", "reads_bindings_coprocess")
        ratios["reads cli/bindings in process"] = _common.ratio(stats, "reads_cli", "reads_bindings_in_process")
    if "provision_100_per_lun" in stats:
        ratios["provision per LUN 100/10"] = _common.ratio(stats, "provision_100_per_lun", "provision_10_per_lun",
                                                           PROVISION_TARGET)
    _common.write_result(
        "ceph",
        "the ceph:// backend against a throw-away cluster: snapshot/clone of a large image full of data vs a small "
        "one; no-op lun task vs sim://; Ceph's bindings vs its tools for a no-op's reads; provision role at 10 and 100 LUNs",
        {"repeat": args.repeat, "tasks": args.tasks, "big": args.big, "osd_size": args.osd_size},
        stats, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
