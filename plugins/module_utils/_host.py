# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host side: devices, loop devices, file systems, mounts and fstab. Private to this collection.

Everything a module does to the machine it runs on goes through here: probing a
device (``blkid``), making and growing file systems, attaching image files to loop
devices, mounting and unmounting, reading the live mount table and editing fstab.
Every program runs through :mod:`_runner`, with its argument formats declared once
below; the live mount table is read from ``/proc/self/mountinfo``.

A device named by a user (a block device, an image file, later an iSCSI URL) goes
through :func:`resolve_device` and nowhere else, so a new kind of device is one
branch there.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
import tempfile

# the mount table and loop devices live in _mountinfo (which _iscsi uses too); callers keep using them from here
from ansible_collections.stormgmt.core.plugins.module_utils._mountinfo import (  # noqa: F401 pylint: disable=unused-import
    LOSETUP,
    MOUNTINFO,
    MountEntry,
    loop_attach,
    loop_backing_file,
    loop_detach,
    loop_devices,
    loops_of,
    mount_at,
    mountinfo,
    parse_mountinfo,
    unescape,
)
from ansible_collections.stormgmt.core.plugins.module_utils._runner import (
    Runner,
    fixed,
    flag,
    opt_val,
    positional,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    FileSystemBusyEx,
    InvalidValueEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
)

#: file systems the ``filesystem`` module makes on block devices
FSTYPES = ("ext4", "xfs", "btrfs")

#: longest label each mkfs accepts
LABEL_MAX = {"ext4": 16, "xfs": 12, "btrfs": 255}

PROC_FILESYSTEMS = "/proc/filesystems"
# a file system is grown when the device is larger by at least this much (the tools
# leave a remainder smaller than an allocation group or block group unused)
GROW_SLACK = 1024 * 1024

# --- programs: argument formats declared once ---------------------------------

_MKFS_FORMATS = dict(force=None, quiet=fixed("-q"), label=opt_val("-L"), device=positional())
MKFS = {
    "ext4": Runner("mkfs.ext4", dict(_MKFS_FORMATS, force=flag("-F")), package="e2fsprogs", timeout=3600),
    "xfs": Runner("mkfs.xfs", dict(_MKFS_FORMATS, force=flag("-f")), package="xfsprogs", timeout=3600),
    "btrfs": Runner("mkfs.btrfs", dict(_MKFS_FORMATS, force=flag("-f")), package="btrfs-progs", timeout=3600),
}
BLKID = Runner("blkid", dict(
    probe=fixed("-p"), export=fixed("-o", "export"), uuid=opt_val("-U"), label=opt_val("-L"),
    device=positional()), package="util-linux")
WIPEFS = Runner("wipefs", dict(all=fixed("--all"), quiet=fixed("--quiet"), device=positional()), package="util-linux")
MOUNT = Runner("mount", dict(
    types=opt_val("-t"), options=opt_val("-o"), source=positional(), target=positional()), package="mount")
UMOUNT = Runner("umount", dict(target=positional()), package="mount")
DUMPE2FS = Runner("dumpe2fs", dict(header=fixed("-h"), device=positional()), package="e2fsprogs")
E2FSCK = Runner("e2fsck", dict(force=fixed("-f"), preen=fixed("-p"), device=positional()), package="e2fsprogs",
                timeout=3600)
RESIZE2FS = Runner("resize2fs", dict(device=positional()), package="e2fsprogs", timeout=3600)
XFS_INFO = Runner("xfs_info", dict(target=positional()), package="xfsprogs")
XFS_GROWFS = Runner("xfs_growfs", dict(target=positional()), package="xfsprogs", timeout=3600)
BTRFS = Runner("btrfs", dict(
    dump_super=fixed("inspect-internal", "dump-super"),
    resize_max=fixed("filesystem", "resize", "max"),
    subvolume_create=fixed("subvolume", "create"),
    subvolume_snapshot=fixed("subvolume", "snapshot"),
    subvolume_delete=fixed("subvolume", "delete"),
    property_set=fixed("property", "set", "-ts"), ro_true=fixed("ro", "true"),
    readonly=flag("-r"),
    path=positional(), dest=positional()), package="btrfs-progs", timeout=3600)
CP = Runner("cp", dict(archive=fixed("-a", "--reflink=auto"), source=positional(), dest=positional()),
            package="coreutils", timeout=None)


# --- the live mount table -------------------------------------------------------

def escape(text: str) -> str:
    """Escape a path for fstab: backslash, space, tab and newline as octal."""
    return "".join("\\%03o" % ord(char) if char in "\\ \t\n" else char for char in text)


def _containing_mount(path: str, table: list) -> MountEntry | None:
    best = None
    for entry in table:
        point = entry.mount_point
        if path == point or path.startswith(point.rstrip("/") + "/"):
            if best is None or len(point) >= len(best.mount_point):
                best = entry
    return best


def directory_identity(path: str, table: list | None = None) -> tuple | None:
    """(majmin, root) that a bind mount of directory ``path`` shows in mountinfo.

    A bind mount is recognised by the file system it is on and the path inside that
    file system, not by its source string (the kernel reports the device there).
    """
    table = table if table is not None else mountinfo()
    real = os.path.realpath(path)
    holder = _containing_mount(real, table)
    if holder is None:
        return None
    rest = os.path.relpath(real, holder.mount_point)
    root = holder.root if rest == "." else os.path.normpath(os.path.join(holder.root, rest))
    return holder.majmin, root


def mounts_under(path: str, table: list | None = None) -> list:
    """Mounts whose source is directory ``path`` or a directory inside it (bind mounts)."""
    table = table if table is not None else mountinfo()
    identity = directory_identity(path, table)
    if identity is None:
        return []
    majmin, root = identity
    prefix = root.rstrip("/") + "/"
    real = os.path.realpath(path)
    return [entry for entry in table
            if entry.majmin == majmin and (entry.root == root or entry.root.startswith(prefix))
            and entry.mount_point != real and not (root == "/" and entry.root == "/")]


def bind_source(entry: MountEntry, table: list | None = None) -> str | None:
    """The directory a bind mount shows, as a path on this host, when it can be found."""
    if entry.root == "/":
        return None
    table = table if table is not None else mountinfo()
    best = None
    for other in table:
        if other is entry or other.majmin != entry.majmin:
            continue
        base = other.root.rstrip("/")
        if other.root == "/" or entry.root == other.root or entry.root.startswith(base + "/"):
            # the whole file system (root "/") first, then the earliest mount: the
            # original view of the directory, not another bind mount of a parent of it
            if best is None or len(other.root) < len(best.root):
                best = other
    if best is None:
        return None
    rest = entry.root[len(best.root.rstrip("/")):].lstrip("/")
    return os.path.join(best.mount_point, rest) if rest else best.mount_point


# --- devices -------------------------------------------------------------------

class Attachment:
    """A device ready for use, and how to give it back.

    ``device``: the path to hand to mkfs, mount, blkid. ``kind``: block (a block
    device), loop (an image file on a loop device), file (an image file not attached:
    only for probing) or iscsi. ``attached``: this call attached it, so
    :meth:`release` detaches it again; a device that was already there is left alone.
    ``source``: what fstab and mount(8) should name (the image file for a loop).
    """

    def __init__(self, spec: str, device: str, kind: str, attached: bool = False, release=None,
                 source: str | None = None, backing_file: str | None = None) -> None:
        self.spec = spec
        self.device = device
        self.kind = kind
        self.attached = attached
        self._release = release
        self.source = source or spec
        self.backing_file = backing_file

    def release(self) -> None:
        if self.attached and self._release is not None:
            self._release()
            self.attached = False

    def __repr__(self) -> str:
        return "Attachment(%s -> %s, %s%s)" % (self.spec, self.device, self.kind, ", attached" if self.attached else "")


def loop_refresh(device: str, image: str) -> None:
    """Let the loop device see that its image file grew."""
    if device_size(device) < os.path.getsize(image):
        LOSETUP("set_capacity", set_capacity=device)


def resolve_device(spec: str, params: dict | None = None, attach: bool = True, probe: bool = False) -> Attachment:
    """THE way from what a user names as a device to a device path.

    * ``/dev/...`` block device: used as it is.
    * a regular file (image): its loop device when one is attached already; else, with
      ``attach``, a new loop device that :meth:`Attachment.release` detaches; without
      ``attach`` the file itself (blkid and mount -o loop read files).
    * ``iscsi://host[:port]/target-iqn/lun``: the LUN attached on this host by
      :mod:`_iscsi` (options ``initiator_name``, ``chap`` in ``params``): its device when
      attached already; else, with ``attach``, attached now (released by
      :meth:`Attachment.release`); else, with ``probe``, attached read-only to be looked
      at (kind file, released by :meth:`Attachment.release`); else no device (None).

    Anything else (missing path, directory, character device) raises before any change.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidValueEx("a device must be a path or an iscsi:// URL, got %r" % (spec,), "device")
    if spec.lower().startswith("iscsi://"):
        return _iscsi_device(spec, params or {}, attach, probe)
    if not os.path.isabs(spec):
        raise InvalidValueEx("device %r must be an absolute path (or an iscsi:// URL)" % spec, "device")
    try:
        mode = os.stat(spec).st_mode
    except OSError as error:
        raise OperationPreReqNotMetEx("device %s does not exist (%s)" % (spec, error.strerror), "device") from None
    if stat.S_ISBLK(mode):
        return Attachment(spec, spec, "block", backing_file=loop_backing_file(spec))
    if stat.S_ISREG(mode):
        image = os.path.realpath(spec)
        existing = loops_of(image)
        if existing:
            loop_refresh(existing[0], image)
            return Attachment(spec, existing[0], "loop", source=spec, backing_file=image)
        if not attach:
            return Attachment(spec, image, "file", source=spec, backing_file=image)
        device = loop_attach(image)
        return Attachment(spec, device, "loop", attached=True, release=lambda: loop_detach(device),
                          source=spec, backing_file=image)
    raise InvalidValueEx("device %s is neither a block device nor an image file" % spec, "device")


def _iscsi_device(spec: str, params: dict, attach: bool, probe: bool) -> Attachment:
    from ansible_collections.stormgmt.core.plugins.module_utils import _iscsi

    found = _iscsi.attached(spec, params)
    if found is None and (attach or probe):
        found = _iscsi.attach(spec, params, readonly=not attach)
    if found is None:
        return Attachment(spec, None, "iscsi")
    if found.method == "qemu-probe":
        return Attachment(spec, found.device, "file", attached=True, release=found.detach, source=spec,
                          backing_file=found.device)
    return Attachment(spec, found.device, "iscsi", attached=found.created, release=found.detach, source=spec,
                      backing_file=found.fuse_file)


def same_device(left: str, right: str) -> bool:
    """True when two device paths (or image files) name the same device."""
    try:
        a, b = os.stat(left), os.stat(right)
    except OSError:
        return False
    if stat.S_ISBLK(a.st_mode) and stat.S_ISBLK(b.st_mode):
        return a.st_rdev == b.st_rdev
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def device_size(device: str) -> int:
    """Size in bytes of a block device or file."""
    fd = os.open(device, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def lookup_tag(tag: str) -> str | None:
    """UUID=... / LABEL=... -> the device path blkid finds, or None."""
    key, _sep, value = tag.partition("=")
    value = value.strip('"')
    key = key.upper()
    if key not in ("UUID", "LABEL"):
        return None
    result = BLKID(key.lower(), check_rc=False, **{key.lower(): value})
    device = result.out.strip()
    return device if result.rc == 0 and device else None


# --- file systems on devices ------------------------------------------------------

def probe(device: str) -> dict:
    """What blkid finds on ``device`` (TYPE, UUID, LABEL, PTTYPE, ...); {} when nothing."""
    result = BLKID("probe export device", check_rc=False, device=device)
    if result.rc == 2 and not result.out.strip():
        return {}  # blkid: nothing found
    if result.rc != 0:
        detail = (result.err or result.out).strip() or "exit %d" % result.rc
        raise OperationFailedEx("blkid cannot probe %s: %s" % (device, detail))
    found = {}
    for line in result.lines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip()] = value.strip()
    found.pop("DEVNAME", None)
    return found


def known_fstypes() -> set:
    """Types the kernel knows (/proc/filesystems) or a mount helper handles."""
    types = set()
    try:
        with open(PROC_FILESYSTEMS) as handle:
            for line in handle:
                words = line.split()
                if words:
                    types.add(words[-1])
    except (IOError, OSError):
        pass
    for directory in ("/sbin", "/usr/sbin", "/usr/local/sbin"):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        types.update(name[len("mount."):] for name in names if name.startswith("mount."))
    return types


def mkfs(fstype: str, device: str, label: str | None = None) -> None:
    """Make ``fstype`` on ``device``. The caller has decided (blkid, ``force``) that it may:
    the tool's own force flag is given so that it never stops to ask."""
    if fstype not in MKFS:
        raise OperationFailedEx("internal error: no mkfs for %s" % fstype)
    MKFS[fstype]("force quiet label device", force=True, label=label, device=device, input_text="")


def wipe(device: str) -> None:
    """Erase every file system and partition-table signature on ``device``."""
    WIPEFS("all quiet device", device=device)


def _dumpe2fs(device: str) -> dict:
    values = {}
    for line in DUMPE2FS("header device", device=device).lines():
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _number(text, what: str) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise OperationFailedEx("cannot read %s (got %r)" % (what, text)) from None


def fs_size(fstype: str, device: str, mount_point: str | None = None) -> tuple:
    """(size, free) of the file system on ``device``, in bytes."""
    if mount_point:
        os.sync()  # the superblock on disk is what the tools below read
    if fstype == "ext4":
        header = _dumpe2fs(device)
        block = _number(header.get("Block size"), "the ext4 block size of %s" % device)
        size = _number(header.get("Block count"), "the ext4 block count of %s" % device) * block
        free = _number(header.get("Free blocks"), "the ext4 free blocks of %s" % device) * block
    elif fstype == "xfs":
        text = XFS_INFO("target", target=mount_point or device).out
        match = re.search(r"^data\s*=\s*bsize=(\d+)\s+blocks=(\d+)", text, re.MULTILINE)
        if match is None:
            raise OperationFailedEx("cannot read the size of the xfs file system on %s from xfs_info" % device)
        size = int(match.group(1)) * int(match.group(2))
        free = 0
    elif fstype == "btrfs":
        values = {}
        for line in BTRFS("dump_super path", path=device).lines():
            words = line.split()
            if len(words) == 2:
                values[words[0]] = words[1]
        size = _number(values.get("dev_item.total_bytes"), "the btrfs size of %s" % device)
        free = size - _number(values.get("bytes_used"), "the btrfs bytes used of %s" % device)
    else:
        raise OperationFailedEx("internal error: no size reader for %s" % fstype)
    if mount_point:
        try:
            stats = os.statvfs(mount_point)
            free = stats.f_bavail * stats.f_frsize
        except OSError:
            pass
    return size, max(free, 0)


CAP_SYS_RESOURCE = 24


def has_capability(bit: int) -> bool:
    """Whether this process has Linux capability ``bit`` in its effective set."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (IOError, OSError, ValueError, IndexError):
        pass
    return True  # cannot tell: let the tool say


def needs_growth(fs_bytes: int, device_bytes: int) -> bool:
    return device_bytes - fs_bytes >= GROW_SLACK


def grow(fstype: str, device: str, mount_point: str | None) -> None:
    """Grow the file system on ``device`` to the size of the device.

    ext4 grows mounted (online) or unmounted (after a forced check); xfs and btrfs
    only grow mounted, so an unmounted one is mounted on a private temporary
    directory for the time of the resize.
    """
    if fstype == "ext4":
        if not mount_point:
            E2FSCK("force preen device", device=device)
        RESIZE2FS("device", device=device)
        return
    if mount_point:
        _grow_mounted(fstype, mount_point)
        return
    scratch = tempfile.mkdtemp(prefix="stormgmt-grow-")
    try:
        mount(device, scratch, fstype, [])
        try:
            _grow_mounted(fstype, scratch)
        finally:
            umount(scratch)
    finally:
        os.rmdir(scratch)


def _grow_mounted(fstype: str, mount_point: str) -> None:
    if fstype == "xfs":
        XFS_GROWFS("target", target=mount_point)
    elif fstype == "btrfs":
        try:
            BTRFS("resize_max path", path=mount_point)
        except OperationFailedEx as error:
            if "Invalid argument" not in error.msg:
                raise
            raise OperationFailedEx(error.msg + " (recent kernels resize btrfs only to 256 MiB or more)") from None
    else:
        raise OperationFailedEx("internal error: cannot grow %s" % fstype)


# --- mount and umount ------------------------------------------------------------------

def mount(source: str, target: str, fstype: str | None, options: list) -> None:
    MOUNT("types options source target", types=fstype if fstype not in (None, "auto") else None,
          options=",".join(options) or None, source=source, target=target)


def remount(source: str, target: str, options: list, bind: bool = False) -> None:
    """Apply ``options`` to a live mount. Source and target are both given so that
    mount(8) takes the options as they are and reads no fstab."""
    words = ["remount"] + (["bind"] if bind else []) + [option for option in options if option not in ("bind", "loop")]
    MOUNT("options source target", options=",".join(words), source=source, target=target)


def umount(target: str) -> None:
    result = UMOUNT("target", check_rc=False, target=target)
    if result.rc != 0:
        detail = (result.err or result.out).strip().splitlines()
        message = detail[-1] if detail else "exit %d" % result.rc
        cls = FileSystemBusyEx if "busy" in message.lower() else OperationFailedEx
        raise cls("cannot unmount %s: %s" % (target, message))


def release_after_unmount(entry: MountEntry | None) -> None:
    """Give back what was attached for a mount that is now gone.

    An image file is mounted through a loop device that the kernel frees by itself on
    unmount (mount -o loop sets autoclear), so there is nothing to do for it; a kind
    of device that is attached by this collection (iSCSI) detaches here.
    """
    if entry is not None and entry.source.startswith("/dev/loop"):
        from ansible_collections.stormgmt.core.plugins.module_utils import _iscsi

        _iscsi.release_device(entry.source)


# --- fstab --------------------------------------------------------------------------------

class FstabEntry:
    """One mount line of fstab(5)."""

    def __init__(self, src: str, path: str, fstype: str, options: list, dump: int = 0, passno: int = 0) -> None:
        self.src = src
        self.path = path
        self.fstype = fstype
        self.options = list(options) or ["defaults"]
        self.dump = dump
        self.passno = passno

    def line(self) -> str:
        return "%s %s %s %s %d %d" % (escape(self.src), escape(self.path), self.fstype,
                                      ",".join(self.options), self.dump, self.passno)

    def same(self, other) -> bool:
        return other is not None and self.line() == other.line()

    @classmethod
    def parse(cls, line: str):
        """The entry on ``line``, or None for a comment, a blank or a malformed line."""
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        words = text.split()
        if len(words) < 4:
            return None
        try:
            dump = int(words[4]) if len(words) > 4 else 0
            passno = int(words[5]) if len(words) > 5 else 0
        except ValueError:
            return None
        return cls(unescape(words[0]), unescape(words[1]), words[2], words[3].split(","), dump, passno)


def _fstab_lock_path(path: str) -> str:
    """A lock file per fstab, outside /etc: /run/lock when there is one."""
    directory = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
    digest = hashlib.sha256(os.path.abspath(path).encode("utf-8")).hexdigest()[:16]
    return os.path.join(directory, "stormgmt-fstab-%s.lock" % digest)


class Fstab:
    """An fstab file: every line kept as it is except the entries this module changes."""

    @classmethod
    @contextlib.contextmanager
    def edit(cls, path: str):
        """Read, change and write ``path`` under a lock, so that parallel runs editing one
        fstab (several inventory hosts on one machine) do not lose each other's lines."""
        try:
            handle = os.open(_fstab_lock_path(path), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot lock %s: %s" % (path, error.strerror), "fstab") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            fstab = cls(path)
            yield fstab
            if fstab.dirty:
                fstab.write()
        finally:
            os.close(handle)

    def __init__(self, path: str) -> None:
        self.path = path
        self.exists = os.path.exists(path)
        self.dirty = False
        self.lines = []
        if self.exists:
            try:
                with open(path, "r") as handle:
                    self.lines = handle.read().splitlines()
            except (IOError, OSError) as error:
                raise OperationPreReqNotMetEx("cannot read %s: %s" % (path, error.strerror), "fstab") from None

    def _indexes(self, mount_point: str) -> list:
        wanted = os.path.normpath(mount_point)
        found = []
        for index, line in enumerate(self.lines):
            entry = FstabEntry.parse(line)
            if entry is not None and os.path.normpath(entry.path) == wanted:
                found.append(index)
        return found

    def entry(self, mount_point: str) -> FstabEntry | None:
        """The entry for ``mount_point`` (the last one, which mount(8) would use)."""
        indexes = self._indexes(mount_point)
        return FstabEntry.parse(self.lines[indexes[-1]]) if indexes else None

    def needs(self, entry: FstabEntry) -> bool:
        """True when writing ``entry`` would change the file."""
        indexes = self._indexes(entry.path)
        return len(indexes) != 1 or not entry.same(FstabEntry.parse(self.lines[indexes[0]]))

    def set(self, entry: FstabEntry) -> bool:
        """Put ``entry`` in place of the first line for its mount point (drop others)."""
        if not self.needs(entry):
            return False
        indexes = self._indexes(entry.path)
        if indexes:
            self.lines[indexes[0]] = entry.line()
            for index in reversed(indexes[1:]):
                del self.lines[index]
        else:
            self.lines.append(entry.line())
        self.dirty = True
        return True

    def remove(self, mount_point: str) -> bool:
        indexes = self._indexes(mount_point)
        for index in reversed(indexes):
            del self.lines[index]
        self.dirty = self.dirty or bool(indexes)
        return bool(indexes)

    def write(self) -> None:
        """Replace the file in one rename, keeping its mode and owner."""
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            current = os.stat(self.path) if self.exists else None
            fd, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(self.path), dir=directory)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot write %s: %s" % (self.path, error.strerror), "fstab") from None
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write("\n".join(self.lines) + ("\n" if self.lines else ""))
                handle.flush()
                os.fsync(handle.fileno())
            if current is not None:
                os.chmod(temp, stat.S_IMODE(current.st_mode))
                os.chown(temp, current.st_uid, current.st_gid)
            else:
                os.chmod(temp, 0o644)
            os.replace(temp, self.path)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        self.exists = True


# --- directory trees (simulator file systems) -----------------------------------------

def copy_tree(source: str, dest: str) -> None:
    """Copy the content of directory ``source`` into existing directory ``dest``
    (reflinks where the file system has them), keeping modes, owners and times."""
    CP("archive source dest", source=os.path.join(source, "."), dest=dest)


def is_btrfs_subvolume(path: str) -> bool:
    try:
        return os.stat(path).st_ino == 256 and directory_fstype(path) == "btrfs"
    except OSError:
        return False


def directory_fstype(path: str, table: list | None = None) -> str | None:
    table = table if table is not None else mountinfo()
    holder = _containing_mount(os.path.realpath(path), table)
    return holder.fstype if holder is not None else None


def subvolume_create(path: str) -> None:
    BTRFS("subvolume_create path", path=path)


def subvolume_snapshot(source: str, dest: str, readonly: bool) -> None:
    BTRFS("subvolume_snapshot readonly path dest", readonly=readonly, path=source, dest=dest)


def subvolume_delete(path: str) -> None:
    BTRFS("subvolume_delete path", path=path)


def subvolume_set_readonly(path: str) -> None:
    BTRFS("property_set path ro_true", path=path)
