# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parallel runs editing one fstab (several inventory hosts on one machine) keep every line."""

from __future__ import annotations

import multiprocessing
import time

from ansible_collections.stormgmt.core.plugins.module_utils import _host


def _add_entry(path: str, index: int, start) -> None:
    start.wait()
    with _host.Fstab.edit(path) as fstab:
        lines = list(fstab.lines)
        time.sleep(0.02)  # widen the read-modify-write window a lost update needs
        fstab.lines = lines
        fstab.set(_host.FstabEntry.parse("/dev/loop%d /mnt/host%d ext4 defaults 0 2" % (index, index)))


def test_parallel_edits_lose_no_line(tmp_path):
    path = str(tmp_path / "fstab")
    with open(path, "w") as handle:
        handle.write("# kept comment\n")
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [context.Process(target=_add_entry, args=(path, index, start)) for index in range(8)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0] * 8
    with open(path) as handle:
        text = handle.read()
    assert text.startswith("# kept comment\n")
    assert sorted(line.split()[1] for line in text.splitlines()[1:]) == sorted("/mnt/host%d" % i for i in range(8))


def test_edit_without_change_does_not_rewrite(tmp_path):
    path = tmp_path / "fstab"
    path.write_text("/dev/sda1 / ext4 defaults 0 1\n")
    before = path.stat().st_ino
    with _host.Fstab.edit(str(path)) as fstab:
        fstab.remove("/not/there")
    assert path.stat().st_ino == before
