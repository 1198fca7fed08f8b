# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mount: ``boot`` (noauto in fstab) and ``backup`` (a copy of fstab before a change), as
ansible.posix.mount has them (issue 11). Real mounts (tmpfs, root) and a scratch fstab."""

from __future__ import annotations

import glob
import os
import stat

import pytest
from host_scratch import needs_root, scratch  # noqa: F401  pylint: disable=unused-import

pytestmark = needs_root

OTHER = "# kept\nLABEL=data /srv/data ext4 defaults 0 2\n"


def _tmpfs(scratch, **values):
    args = dict(path=scratch.path("m"), src="tmpfs", fstype="tmpfs", opts="size=1m", state="mounted",
                fstab=scratch.fstab)
    args.update(values)
    return args


def _backups(scratch) -> list:
    return sorted(glob.glob(scratch.fstab + ".*~"))


def _line(scratch) -> str:
    return [line for line in scratch.fstab_text().splitlines() if scratch.path("m") in line][0]


def test_boot_false_writes_noauto_and_mounts(scratch, module):
    args = _tmpfs(scratch, boot=False)
    for check_mode in (True, False):
        result = module("mount", args, check_mode=check_mode)
        assert result["changed"] and result["action"] == "mount", result
        assert "noauto" in result["mount"]["fstab_entry"].split()[3].split(",")
    assert scratch.mount_of(scratch.path("m")) is not None  # boot: false still mounts now
    assert "noauto" in _line(scratch).split()[3].split(",")
    for check_mode in (True, False):
        assert not module("mount", args, check_mode=check_mode)["changed"]


def test_boot_false_on_an_existing_entry_changes_fstab_not_the_mount(scratch, module):
    assert module("mount", _tmpfs(scratch))["changed"]
    assert "noauto" not in _line(scratch)
    before = scratch.mount_of(scratch.path("m"))
    for check_mode in (True, False):
        result = module("mount", _tmpfs(scratch, boot=False), check_mode=check_mode, diff=True)
        assert result["changed"] and result["action"] == "update fstab", result
    assert "noauto" in _line(scratch).split()[3].split(",")
    assert scratch.mount_of(scratch.path("m")) == before  # the live mount was not touched
    assert not module("mount", _tmpfs(scratch, boot=False))["changed"]
    # back to boot: true with the same opts: noauto goes again
    result = module("mount", _tmpfs(scratch))
    assert result["changed"] and "noauto" not in _line(scratch)


def test_boot_true_keeps_a_noauto_opts_names(scratch, module):
    module("mount", _tmpfs(scratch, opts="size=1m,noauto", state="present"))
    assert "noauto" in _line(scratch)


def test_boot_false_with_auto_is_refused(scratch, module):
    result = module("mount", _tmpfs(scratch, opts="auto,size=1m", boot=False))
    assert result["failed"] and result["error"] == "InvalidValueEx" and "boot" in result["msg"]
    assert scratch.mount_of(scratch.path("m")) is None and not os.path.exists(scratch.fstab)


def test_backup_is_the_fstab_before_the_change(scratch, module):
    with open(scratch.fstab, "w") as handle:
        handle.write(OTHER)
    os.chmod(scratch.fstab, 0o644)
    predicted = module("mount", _tmpfs(scratch, backup=True), check_mode=True)
    assert predicted["changed"] and "backup_file" not in predicted
    assert _backups(scratch) == []  # check mode writes nothing
    result = module("mount", _tmpfs(scratch, backup=True))
    assert result["changed"]
    backup = result["backup_file"]
    assert _backups(scratch) == [backup]
    assert os.path.dirname(backup) == os.path.dirname(scratch.fstab)
    with open(backup) as handle:
        assert handle.read() == OTHER
    info = os.lstat(backup)
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o644
    # no change: no copy
    again = module("mount", _tmpfs(scratch, backup=True))
    assert not again["changed"] and "backup_file" not in again
    assert _backups(scratch) == [backup]
    # a change again: a second copy, holding the line the first run wrote
    changed = module("mount", _tmpfs(scratch, backup=True, boot=False, state="present"))
    assert changed["changed"] and changed["backup_file"] != backup
    with open(changed["backup_file"]) as handle:
        assert scratch.path("m") in handle.read()
    # state absent removes the line and backs up too
    gone = module("mount", _tmpfs(scratch, backup=True, state="absent"))
    assert gone["changed"] and len(_backups(scratch)) == 3
    assert scratch.fstab_text() == OTHER


def test_no_backup_without_the_option_or_without_a_file(scratch, module):
    result = module("mount", _tmpfs(scratch, backup=True, state="present"))  # no fstab yet: nothing to keep
    assert result["changed"] and "backup_file" not in result and _backups(scratch) == []
    result = module("mount", _tmpfs(scratch, boot=False, state="present"))
    assert result["changed"] and "backup_file" not in result and _backups(scratch) == []


def test_backup_of_a_symlinked_fstab_is_beside_its_target(scratch, module):
    os.mkdir(scratch.path("etc"))
    real = scratch.path("etc", "fstab.real")
    with open(real, "w") as handle:
        handle.write(OTHER)
    os.chmod(real, 0o640)
    os.symlink(real, scratch.fstab)
    result = module("mount", _tmpfs(scratch, backup=True, state="present"))
    backup = result["backup_file"]
    assert backup.startswith(real + ".")
    assert os.path.islink(scratch.fstab)  # the link stays a link
    assert stat.S_IMODE(os.lstat(backup).st_mode) == 0o640  # the copy is no more readable than fstab
    with open(backup) as handle:
        assert handle.read() == OTHER


def test_backup_never_writes_through_a_planted_symlink(scratch, module, monkeypatch):
    """Someone who can write the fstab's directory plants symlinks under every name the copy
    could take this second: the copy takes another name; the victim file is untouched."""
    import time as time_module
    from ansible_collections.stormgmt.core.plugins.module_utils import _host
    with open(scratch.fstab, "w") as handle:
        handle.write(OTHER)
    victim = scratch.path("victim")
    with open(victim, "w") as handle:
        handle.write("precious\n")
    monkeypatch.setattr(_host.time, "strftime", lambda fmt: "2026-12-02@01:02:03")
    base = "%s.%d.2026-12-02@01:02:03" % (scratch.fstab, os.getpid())
    os.symlink(victim, base + "~")
    os.symlink(victim, base + ".1~")
    result = module("mount", _tmpfs(scratch, backup=True, state="present"))
    assert result["backup_file"] == base + ".2~"
    assert not os.path.islink(result["backup_file"])
    with open(victim) as handle:
        assert handle.read() == "precious\n"
    assert time_module.strftime  # the real one is back after the test (monkeypatch)


def test_backup_fails_cleanly_when_every_name_is_taken(scratch, module, monkeypatch):
    from ansible_collections.stormgmt.core.plugins.module_utils import _host
    with open(scratch.fstab, "w") as handle:
        handle.write(OTHER)
    monkeypatch.setattr(_host.time, "strftime", lambda fmt: "2026-12-02@01:02:03")
    base = "%s.%d.2026-12-02@01:02:03" % (scratch.fstab, os.getpid())
    for attempt in range(100):
        os.symlink("/nonexistent", base + ("~" if not attempt else ".%d~" % attempt))
    result = module("mount", _tmpfs(scratch, backup=True, state="present"))
    assert result["failed"] and result["error"] == "OperationPreReqNotMetEx", result
    assert scratch.fstab_text() == OTHER  # fstab unchanged: the copy comes first
    leftovers = [name for name in os.listdir(scratch.root) if ".stormgmt-new-" in name]
    assert leftovers == []


@pytest.mark.parametrize("value", ["yes please", 2])
def test_boot_and_backup_are_booleans(scratch, module, value):
    for option in ("boot", "backup"):
        result = module("mount", _tmpfs(scratch, **{option: value}))
        assert result["failed"] and result["error"] == "ValueFormatEx", result


def test_backup_that_cannot_be_written_fails_before_the_mount(scratch, module, monkeypatch):
    """The directory of fstab is read-only (a read-only /etc; simulated: root passes permission checks):
    the task fails before mounting, not after it with the fstab line missing."""
    from ansible_collections.stormgmt.core.plugins.module_utils import _mount
    with open(scratch.fstab, "w") as handle:
        handle.write(OTHER)
    real_access = os.access
    monkeypatch.setattr(_mount.os, "access", lambda path, mode: False if path == scratch.root else real_access(path, mode))
    result = module("mount", _tmpfs(scratch, backup=True))
    assert result["failed"] and result["error"] == "OperationPreReqNotMetEx" and "backup" in result["msg"], result
    assert scratch.mount_of(scratch.path("m")) is None
    assert scratch.fstab_text() == OTHER and _backups(scratch) == []
