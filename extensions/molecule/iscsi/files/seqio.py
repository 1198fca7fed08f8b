# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sequence numbers through a real iSCSI initiator, to prove group snapshots consistent.

  seqio.py write --portal H:P --target IQN --luns 1,2 --initiator IQN-PREFIX --work DIR [--seconds N]
      One qemu-io per LUN (qemu's iSCSI driver is libiscsi), each logged in as IQN-PREFIX-<lun>.
      Writes n = 1, 2, 3, ... as an 8-byte big-endian number at offset 0 of each LUN in turn, each
      write acknowledged before the next starts, until DIR/stop exists or N seconds have passed.
      So at any instant LUN 1 holds n or n+1 when LUN 2 holds n: in a crash-consistent snapshot of
      both, their numbers differ by at most one. DIR/progress counts the rounds done; DIR/result.json
      holds {"rounds", "errors", "max_latency", "slow"} at the end (a latency is the time from sending a
      write to qemu-io's report of it; "slow": writes that took more than a second).
  seqio.py read FILE...
      The numbers at offset 0 of FILEs (snapshot files on the storage server), as a JSON list.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import struct
import subprocess
import sys
import time

COMMAND_TIMEOUT = 60.0


class Writer:
    def __init__(self, portal, target, lun, initiator, work):
        self.lun = lun
        self.source = os.path.join(work, "source.%d" % lun)
        self.proc = subprocess.Popen(
            ["qemu-io", "--image-opts",
             "driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d,initiator-name=%s-%d" % (
                 portal, target, lun, initiator, lun)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def write(self, number):
        """Write ``number``; return (seconds it took, None) or (seconds, what went wrong)."""
        with open(self.source + ".tmp", "wb") as handle:
            handle.write(struct.pack(">Q", number) + bytes(504))
        os.replace(self.source + ".tmp", self.source)
        started = time.monotonic()
        self.proc.stdin.write(("write -s %s 0 512\n" % self.source).encode())
        self.proc.stdin.flush()
        out = b""
        while b"ops/sec" not in out:
            left = COMMAND_TIMEOUT - (time.monotonic() - started)
            ready = select.select([self.proc.stdout], [], [], max(left, 0))[0]
            if not ready:
                return time.monotonic() - started, "LUN %d: no answer to write %d within %ss" % (
                    self.lun, number, COMMAND_TIMEOUT)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return time.monotonic() - started, "LUN %d: qemu-io exited: %r" % (self.lun, out[-300:])
            out += chunk
            if b"failed" in out or b"rror" in out:
                return time.monotonic() - started, "LUN %d: write %d: %r" % (self.lun, number, out[-300:])
        return time.monotonic() - started, None

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
            return "LUN %d: qemu-io did not exit" % self.lun
        return None


def write(args):
    os.makedirs(args.work, exist_ok=True)
    writers = [Writer(args.portal, args.target, int(lun), args.initiator, args.work) for lun in args.luns.split(",")]
    rounds, errors, latencies = 0, [], []
    deadline = time.monotonic() + args.seconds
    stop = os.path.join(args.work, "stop")
    try:
        while not errors and not os.path.exists(stop) and time.monotonic() < deadline:
            rounds += 1
            for writer in writers:
                took, error = writer.write(rounds)
                latencies.append(took)
                if error:
                    errors.append(error)
                    break
            if rounds % 10 == 0:
                with open(os.path.join(args.work, "progress.tmp"), "w") as handle:
                    handle.write(str(rounds))
                os.replace(os.path.join(args.work, "progress.tmp"), os.path.join(args.work, "progress"))
    finally:
        errors.extend(error for error in (writer.close() for writer in writers) if error)
    result = {"rounds": rounds, "errors": errors, "max_latency": round(max(latencies or [0]), 3),
              "slow": sum(1 for took in latencies if took > 1.0)}
    with open(os.path.join(args.work, "result.json"), "w") as handle:
        json.dump(result, handle)
    print(json.dumps(result))
    return 0 if not errors else 1


def read(args):
    numbers = []
    for path in args.files:
        with open(path, "rb") as handle:
            numbers.append(struct.unpack(">Q", handle.read(8))[0])
    print(json.dumps(numbers))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("--portal", required=True)
    w.add_argument("--target", required=True)
    w.add_argument("--luns", required=True)
    w.add_argument("--initiator", required=True)
    w.add_argument("--work", required=True)
    w.add_argument("--seconds", type=float, default=300)
    r = sub.add_parser("read")
    r.add_argument("files", nargs="+")
    args = parser.parse_args()
    return write(args) if args.command == "write" else read(args)


if __name__ == "__main__":
    sys.exit(main())
