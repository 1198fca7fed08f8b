# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""noop_vs_peers: no-op tasks of this collection against the peer modules doing the same job.

In ONE ansible-playbook run on localhost (local connection, the playbook's Python), these
no-op tasks alternate, after warm-up tasks of each, and a callback times every task:

    ping                          ansible.builtin.ping
    lun                           stormgmt.core.lun, a LUN that exists as asked
    posix_mount / mount           ansible.posix.mount / stormgmt.core.mount, state mounted,
                                  on the same bind mount (each with its own scratch fstab)
    cg_filesystem / filesystem    community.general.filesystem / stormgmt.core.filesystem,
                                  the ext4 on the same loop device

SPEC 7: lun/ping <= 1.10, mount/posix_mount <= 1.0, filesystem/cg_filesystem <= 1.0.
The peers are benchmark-only: `make bench` extracts ansible.posix and community.general
from the `ansible` package on PyPI into .cache/bench/peers (STORMGMT_BENCH_PEERS names
another collections directory). Needs root (bind mount, loop device); both are undone.

    python benchmarks/noop_vs_peers.py [--tasks 30] [--warmup 3] [--pipelining]
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

TARGETS = {"lun/ping": 1.10, "mount/posix_mount": 1.0, "filesystem/cg_filesystem": 1.0}


def peers_path() -> str:
    path = os.environ.get("STORMGMT_BENCH_PEERS") or os.path.join(_common.ROOT, ".cache", "bench", "peers")
    for collection in ("ansible/posix", "community/general"):
        if not os.path.isdir(os.path.join(path, "ansible_collections", collection)):
            raise SystemExit("noop_vs_peers: %s has no ansible_collections/%s; run `make bench-peers` "
                             "(or point STORMGMT_BENCH_PEERS at a collections directory holding it)"
                             % (path, collection))
    return path


def cases(workdir: str, device: str) -> dict:
    server = "sim://%s/sim.db" % workdir
    src, mnt = os.path.join(workdir, "src"), os.path.join(workdir, "mnt")
    return {
        "ping": {"ansible.builtin.ping": None},
        "lun": {"stormgmt.core.lun": {"server": server, "name": "bench01", "size": "1G"}},
        "posix_mount": {"ansible.posix.mount": {"src": src, "path": mnt, "fstype": "none", "opts": "bind",
                                                "state": "mounted", "fstab": os.path.join(workdir, "fstab.posix")}},
        "mount": {"stormgmt.core.mount": {"server": server, "src": src, "path": mnt, "state": "mounted",
                                          "fstab": os.path.join(workdir, "fstab.stormgmt")}},
        "cg_filesystem": {"community.general.filesystem": {"dev": device, "fstype": "ext4"}},
        "filesystem": {"stormgmt.core.filesystem": {"server": server, "device": device, "fstype": "ext4"}},
    }


def playbook(tasks: int, warmup: int, workdir: str, device: str) -> list:
    kinds = cases(workdir, device)
    steps = [dict({"name": "setup %s" % kind}, **task) for kind, task in kinds.items()]
    for index in range(warmup):
        steps += [dict({"name": "warmup %s %d" % (kind, index)}, **task) for kind, task in kinds.items()]
    for index in range(tasks):
        steps += [dict({"name": "%s %d" % (kind, index)}, **task) for kind, task in kinds.items()]
    return [{
        "name": "noop_vs_peers", "hosts": "localhost", "gather_facts": False, "connection": "local",
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "tasks": steps,
    }]


def run(argv: list) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--tasks", type=int, default=30, help="timed tasks of each kind (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed warm-up tasks of each kind (default 3)")
    parser.add_argument("--pipelining", action="store_true", help="run with ANSIBLE_PIPELINING=true")
    args = parser.parse_args(argv)
    peers = peers_path()
    with tempfile.TemporaryDirectory(prefix="stormgmt-bench-peers-") as workdir:
        os.mkdir(os.path.join(workdir, "src"))
        os.mkdir(os.path.join(workdir, "mnt"))
        image = os.path.join(workdir, "fs.img")
        with open(image, "wb") as handle:
            handle.truncate(64 * 1024 * 1024)
        run(["mount", "--bind", os.path.join(workdir, "src"), os.path.join(workdir, "mnt")])
        device = None
        try:
            device = run(["losetup", "--find", "--show", image])
            run(["mkfs.ext4", "-q", device])
            samples = measure(args, peers, workdir, device)
        finally:
            subprocess.run(["umount", os.path.join(workdir, "mnt")], check=False)
            if device:
                subprocess.run(["losetup", "-d", device], check=False)
    stats = dict((kind, _common.summary(values)) for kind, values in samples.items())
    ratios = dict((label, _common.ratio(stats, *label.split("/"), target=target)) for label, target in TARGETS.items())
    _common.write_result(
        "noop_vs_peers",
        "median wall time of no-op tasks of stormgmt.core and of the peer modules doing the same job, "
        "alternating in one ansible-playbook run on localhost (local connection)",
        {"tasks": args.tasks, "warmup": args.warmup, "connection": "local", "pipelining": args.pipelining,
         "peers": {"ansible.posix": collection_version(peers, "ansible/posix"),
                   "community.general": collection_version(peers, "community/general")}},
        stats, ratios,
        notes=["PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE are removed from the modules' environment, "
               "as on a usual managed node (see benchmarks/README.md)"])
    return 0


def collection_version(peers: str, name: str):
    try:
        with open(os.path.join(peers, "ansible_collections", name, "MANIFEST.json")) as handle:
            return json.load(handle)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        return None


def measure(args, peers: str, workdir: str, device: str) -> dict:
    book = os.path.join(workdir, "playbook.yml")
    with open(book, "w") as handle:
        json.dump(playbook(args.tasks, args.warmup, workdir, device), handle)  # JSON is YAML
    timings = os.path.join(workdir, "timings.json")
    env = dict(os.environ)
    for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([_common.collections_path(), peers]),
        "ANSIBLE_CALLBACK_PLUGINS": os.path.join(_common.HERE, "callback_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "stormgmt_task_timer",
        "ANSIBLE_PIPELINING": "true" if args.pipelining else "false",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "STORMGMT_BENCH_TIMINGS": timings,
    })
    playbook_bin = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    done = subprocess.run([playbook_bin, "-i", "localhost,", book], env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit("noop_vs_peers: the playbook failed (exit %d)" % done.returncode)
    with open(timings) as handle:
        records = json.load(handle)
    samples = dict((kind, []) for kind in cases(workdir, device))
    for record in records:
        kind, index = record["name"].rsplit(" ", 1) if " " in record["name"] else (record["name"], "")
        if kind in samples and index.isdigit():
            if record["status"] != "ok":
                raise SystemExit("noop_vs_peers: task %r was not a no-op: %s" % (record["name"], record["status"]))
            samples[kind].append(record["seconds"])
    return samples


if __name__ == "__main__":
    sys.exit(main())
