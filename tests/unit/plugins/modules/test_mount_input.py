# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mount: bad input, run in-process (root: a real ext4 image file).

These were module round trips of the mount integration target; the target keeps one
representative (a relative mount point) and the cases about what is on the host (a type other
than the device's, a missing device, a blank image, a file as mount point, a busy mount point).
The checks are the target's: the task fails in check mode and for real with the same exception
class and a message naming the mount point, and the mounts and loop devices under the scratch
directory, the scratch fstab and the mount point path are as they were.
"""

from __future__ import annotations

import os

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

pytestmark = needs_root


def _host_state(scratch, path: str) -> dict:
    return dict(mounts=scratch.mounts(), loops=scratch.loops(), fstab=scratch.fstab_text(),
                path_exists=os.path.lexists(path))


@pytest.mark.parametrize("fstype, words", [("ext5", ["ext5"]), ("nfs4 ", ["nfs4 "]), ("", ["fstype ''"])],
                         ids=["unknown type", "type with a space", "empty type"])
def test_an_unknown_file_system_type_is_refused_and_changes_nothing(scratch, module, fstype, words):
    image = scratch.image("a.img")
    with open(scratch.fstab, "w") as handle:
        handle.write("tmpfs /var/tmp/not-ours tmpfs size=1M,noauto 0 0\n")
    path = scratch.path("bad-type")
    args = dict(path=path, src=image, fstype=fstype, state="mounted", fstab=scratch.fstab)
    before = _host_state(scratch, path)
    predicted = module("mount", args, check_mode=True)
    failed = module("mount", args)
    for result in (predicted, failed):
        assert result["failed"] is True and not result.get("changed"), result
        assert result["error"] == "InvalidFSTypeEx", result
        assert "Traceback" not in result["_stdout"]
    assert failed["msg"] == predicted["msg"] and path in failed["msg"]
    for word in words:
        assert word in failed["msg"], failed["msg"]
    assert _host_state(scratch, path) == before
