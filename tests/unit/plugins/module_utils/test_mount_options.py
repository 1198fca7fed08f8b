# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How mount options are read (per-mount flags, superblock flags, fstab-only and mount(8)
options, the file system's own), compared with the live mount, and who an export lets mount.
Pure functions: the combinations of flags were checked against mount(8) and the kernel of
this machine (tests/unit/plugins/modules/test_mount_host.py mounts for real)."""

from __future__ import annotations

import pytest

from ansible_collections.stormgmt.core.plugins.module_utils import _host, _mount
from ansible_collections.stormgmt.core.plugins.module_utils._mount_options import MountOptions, split_options
from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx


def live(vfs: str, fstype: str = "ext4", super_options: str = "rw"):
    """A mountinfo entry with these per-mount and superblock options."""
    return _host.parse_mountinfo("44 22 7:1 / /mnt/data %s - %s /dev/loop1 %s\n" % (vfs, fstype, super_options))[0]


def test_strings_lists_and_quotes():
    assert MountOptions.parse(None).words == []
    assert MountOptions.parse("").words == []
    assert MountOptions.parse(" ro, noatime ,").words == ["ro", "noatime"]
    assert MountOptions.parse(["ro", "noatime,nodev"]).words == ["ro", "noatime", "nodev"]
    # Ansible splits a string option of type list at every comma: the quotes are put back together
    assert MountOptions.parse(['context="system_u:object_r:tmp_t:s0:c127', 'c456"', "ro"]).words == [
        'context="system_u:object_r:tmp_t:s0:c127,c456"', "ro"]
    assert split_options('a,b="1,2",c') == ["a", 'b="1,2"', "c"]


@pytest.mark.parametrize("value", [
    "ro,no atime", "ro\nrw", "ro\x0bx", "ro,\x85", "a\u2028b", "x\x00", "tab\there", "nbsp\xa0",
    "remount", "move", "make-private", "X-mount.mkdir", 'context="open', 5, ["ro", 1], {"ro": True},
])
def test_refused_options(value):
    with pytest.raises(InvalidValueEx):
        MountOptions.parse(value)


@pytest.mark.parametrize("opts, words", [
    # what the kernel of this machine showed in mountinfo for a tmpfs mounted with these options
    ("defaults", ["rw", "suid", "dev", "exec", "relatime", "diratime", "symfollow"]),
    ("noatime,relatime", ["rw", "suid", "dev", "exec", "noatime", "diratime", "symfollow"]),
    ("relatime,noatime", ["rw", "suid", "dev", "exec", "noatime", "diratime", "symfollow"]),
    ("strictatime,noatime", ["rw", "suid", "dev", "exec", "strictatime", "diratime", "symfollow"]),
    ("noatime,atime", ["rw", "suid", "dev", "exec", "relatime", "diratime", "symfollow"]),
    ("strictatime,nostrictatime", ["rw", "suid", "dev", "exec", "relatime", "diratime", "symfollow"]),
    ("users", ["rw", "nosuid", "nodev", "noexec", "relatime", "diratime", "symfollow"]),
    ("owner", ["rw", "nosuid", "nodev", "exec", "relatime", "diratime", "symfollow"]),
    ("user,exec", ["rw", "nosuid", "nodev", "exec", "relatime", "diratime", "symfollow"]),
    ("nosymfollow,symfollow,ro,rw,ro", ["ro", "suid", "dev", "exec", "relatime", "diratime", "symfollow"]),
])
def test_per_mount_flags_combine_as_the_kernel_does(opts, words):
    assert MountOptions.parse(opts).per_mount_words() == words


def test_kinds_of_options():
    options = MountOptions.parse("noauto,nofail,x-systemd.automount,comment=x,loop,offset=512,commit=30,ro,sync")
    assert options.fstab_only == ["noauto", "nofail", "x-systemd.automount", "comment=x"]
    assert options.mount8 == ["loop", "offset=512"]
    assert options.fs_specific == ["commit=30"]
    # fstab-only options never reach mount(8); every flag is spelt out
    assert options.mount_words() == ["loop", "offset=512", "ro", "suid", "dev", "exec", "relatime", "diratime",
                                     "sync", "commit=30"]
    assert options.remount_words(bind=True) == ["bind", "ro", "suid", "dev", "exec", "relatime", "diratime"]
    # symfollow only where it is needed: util-linux before 2.38 does not know the word
    assert options.remount_words(bind=True, live=live("ro,nosymfollow"))[-1] == "symfollow"
    assert "symfollow" in MountOptions.parse("symfollow").mount_words()
    assert "nosymfollow" in MountOptions.parse("nosymfollow").mount_words(bind=True)
    assert "symfollow" not in MountOptions.parse("ro").mount_words()


@pytest.mark.parametrize("opts, vfs, super_options, unmet", [
    ("defaults", "rw,relatime", "rw", []),
    ("defaults", "ro,relatime", "ro", ["rw"]),                # a read-only mount is not what defaults means
    ("ro", "rw,relatime", "rw", ["ro"]),
    ("noatime", "rw,relatime", "rw", ["noatime"]),
    ("defaults", "rw,noatime", "rw", ["relatime"]),
    ("strictatime", "rw,relatime", "rw", ["strictatime"]),
    ("strictatime", "rw", "rw", []),
    # issue 10 item 6: a flag missing from the live mount is not "met"
    ("nosuid", "rw,relatime", "rw", ["nosuid"]),
    ("nosuid,nodev,noexec", "rw,relatime", "rw", ["nosuid", "nodev", "noexec"]),
    ("nodiratime,nosymfollow", "rw,relatime", "rw", ["nodiratime", "nosymfollow"]),
    ("user", "rw,relatime", "rw", ["nosuid", "nodev", "noexec"]),
    ("nosuid,nodev", "rw,nosuid,nodev,relatime", "rw", []),
    ("defaults", "rw,nosuid,relatime", "rw", ["suid"]),
    ("defaults", "rw,relatime", "ro", ["rw"]),                 # the file system itself is read-only
    ("sync", "rw,relatime", "rw", ["sync"]),
    ("defaults", "rw,relatime", "rw,sync", ["async"]),
    ("lazytime", "rw,relatime", "rw", ["lazytime"]),
    ("discard", "rw,relatime", "rw", []),                       # not shown by the kernel: taken as met
    ("nodiscard", "rw,relatime", "rw,discard", ["nodiscard"]),
    ("commit=30", "rw,relatime", "rw,commit=5", ["commit=30"]),
    ("commit=30", "rw,relatime", "rw,commit=30", []),
    ("data=ordered", "rw,relatime", "rw", []),
    ("noauto,nofail,x-a=b,_netdev,loop", "rw,relatime", "rw", []),  # fstab-only and mount(8)'s own
])
def test_unmet(opts, vfs, super_options, unmet):
    assert MountOptions.parse(opts).unmet(live(vfs, super_options=super_options), bind=False) == unmet


def test_bind_mounts_compare_every_per_mount_flag_and_nothing_else():
    entry = live("rw,relatime", super_options="rw,sync,discard")
    assert MountOptions.parse("nodiscard").unmet(entry, bind=True) == []
    assert MountOptions.parse("nosuid,ro").unmet(entry, bind=True) == ["ro", "nosuid"]


def test_values_the_kernel_rewrites_count_once_recorded_in_fstab():
    entry = live("rw,relatime", "tmpfs", "rw,size=4096k")
    assert MountOptions.parse("size=4m").unmet(entry, bind=False) == ["size=4m"]
    assert MountOptions.parse("size=4m").unmet(entry, bind=False, recorded=["size=4m"]) == []
    assert MountOptions.parse("size=8m").unmet(entry, bind=False, recorded=["size=4m"]) == ["size=8m"]


@pytest.mark.parametrize("left, right, same", [
    ("ro,noatime,nodev", "nodev,ro,noatime", True),              # issue 10 item 17: order does not matter
    ("defaults", "", True),
    ("ro", "rw,ro", True),
    ("ro", "rw", False),
    ("noatime,relatime", "noatime", True),
    ("size=4m,mode=0700", "mode=0700,size=4m", True),
    ("size=4m", "size=8m", False),
    ("noauto", "auto", False),
    ("bind,ro", "ro,bind", True),
])
def test_canonical_form(left, right, same):
    assert (MountOptions.parse(left).canonical() == MountOptions.parse(right).canonical()) is same


@pytest.mark.parametrize("client, allowed", [
    ("*", True),
    ("localhost", True),
    ("local*", True),
    ("otherhost", False),
    ("127.0.0.1", True),
    ("127.0.0.0/8", True),
    ("192.0.2.0/24", False),
    ("::1", True),
    ("@trusted", False),
])
def test_export_clients_that_cover_this_host(client, allowed):
    names, addresses = {"localhost", "node1"}, {"127.0.0.1", "::1"}
    assert _mount.client_allows(client, names, addresses) is allowed
