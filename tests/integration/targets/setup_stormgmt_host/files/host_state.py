# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything the host-side cases read about the host, in one run (tasks/state.yml).

    host_state.py --dir DIR [--fstab FILE] [--path PATH] [--device FILE] [--mountpoint PATH]
                  [--read FILE]... [--exists PATH]...

Prints one JSON object:
  mounts       findmnt's mounts (target, source, fstype, options, fsroot) whose target is under DIR
  loops        losetup's loop devices (name, back-file) whose image file is under DIR
  fstab        the text of FILE ("" when it cannot be read)
  path_exists  whether PATH exists (a dangling symlink exists; default DIR/none)
  device       ``blkid -p -o export FILE`` (its output, "" when blkid finds nothing), and
  device_rc    its exit status (2: no file system signature; none without --device)
  live         findmnt's mounts on exactly PATH given as --mountpoint ([] when none)
  files        {FILE: its text, or null when it cannot be read} for each --read
  exists       {PATH: what it is, "dir", "file", "link" or "other"; false when it does not
               exist} for each --exists

The plain tools, not the modules under test, so that a read works when they do not; one
process instead of a module run per read (a module run costs half a second of CPU).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess


def _run(argv):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout


def _findmnt(*extra):
    code, out = _run(["findmnt", "--json", "--list", "--output", "TARGET,SOURCE,FSTYPE,OPTIONS,FSROOT"] + list(extra))
    if code not in (0, 1):
        raise SystemExit("findmnt failed with status %d" % code)
    return json.loads(out).get("filesystems", []) if out.strip() else []


def _text(path):
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except OSError:
        return None


def _kind(path):
    if os.path.islink(path):
        return "link"
    if os.path.isdir(path):
        return "dir"
    if os.path.isfile(path):
        return "file"
    return "other" if os.path.lexists(path) else False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--fstab", default="/nonexistent")
    parser.add_argument("--path")
    parser.add_argument("--device")
    parser.add_argument("--mountpoint")
    parser.add_argument("--read", action="append", default=[])
    parser.add_argument("--exists", action="append", default=[])
    args = parser.parse_args()
    under = args.dir.rstrip("/") + "/"

    code, out = _run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"])
    if code != 0:
        raise SystemExit("losetup failed with status %d" % code)
    loops = json.loads(out).get("loopdevices", []) if out.strip() else []
    device_rc, device = _run(["blkid", "-p", "-o", "export", "--", args.device]) if args.device else (None, "")
    state = {
        "mounts": [entry for entry in _findmnt() if (entry.get("target") or "").startswith(under)],
        "loops": [entry for entry in loops if (entry.get("back-file") or "").startswith(under)],
        "fstab": _text(args.fstab) or "",
        "path_exists": os.path.lexists(args.path or under + "none"),
        "device": device.rstrip("\n"),
        "device_rc": device_rc,
        "live": _findmnt("--mountpoint", args.mountpoint) if args.mountpoint else [],
        "files": dict((path, _text(path)) for path in args.read),
        "exists": dict((path, _kind(path)) for path in args.exists),
    }
    print(json.dumps(state, sort_keys=True))


if __name__ == "__main__":
    main()
