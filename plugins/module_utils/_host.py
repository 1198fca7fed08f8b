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
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
import time
import unicodedata

from ansible_collections.stormgmt.core.plugins.module_utils import _mountinfo
from ansible_collections.stormgmt.core.plugins.module_utils._faults import fault_point
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
# the mount table and loop devices live in _mountinfo (which _iscsi uses too); callers keep using them from here
from ansible_collections.stormgmt.core.plugins.module_utils._mountinfo import (  # noqa: F401 pylint: disable=unused-import
    LOSETUP,
    MOUNTINFO,
    MountEntry,
    loop_backing_file,
    loop_devices,
    loops_of,
    mount_at,
    mountinfo,
    parse_mountinfo,
    to_bytes,
    to_text,
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
    PermissionDeniedEx,
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

# Every operand a user's string can reach comes after "--", so that it is never read as an
# option (a source "--fstab=/tmp/x" is a source, not an option of mount(8)).
_END = fixed("--")


def _checked_options(value) -> list:
    """Options already checked (check_mkfs_opts), a list of words: never an operand."""
    return [str(word) for word in value] if isinstance(value, (list, tuple)) else []


_MKFS_FORMATS = dict(force=None, quiet=fixed("-q"), label=opt_val("-L"), opts=_checked_options, end=_END,
                     device=positional())
MKFS = {
    "ext4": Runner("mkfs.ext4", dict(_MKFS_FORMATS, force=flag("-F")), package="e2fsprogs", timeout=3600),
    "xfs": Runner("mkfs.xfs", dict(_MKFS_FORMATS, force=flag("-f")), package="xfsprogs", timeout=3600),
    "btrfs": Runner("mkfs.btrfs", dict(_MKFS_FORMATS, force=flag("-f")), package="btrfs-progs", timeout=3600),
}
BLKID = Runner("blkid", dict(
    probe=fixed("-p"), export=fixed("-o", "export"), uuid=opt_val("-U"), label=opt_val("-L"),
    end=_END, device=positional()), package="util-linux")
WIPEFS = Runner("wipefs", dict(all=fixed("--all"), quiet=fixed("--quiet"), end=_END, device=positional()),
                package="util-linux")
# --no-canonicalize: mount(8) and umount(8) take the paths as given (the target is reached
# through a directory this process holds open, see Pinned), never resolving symlinks again
MOUNT = Runner("mount", dict(
    nocanon=fixed("--no-canonicalize"), types=opt_val("-t"), options=opt_val("-o"), end=_END,
    source=positional(), target=positional()), package="mount")
UMOUNT = Runner("umount", dict(nocanon=fixed("--no-canonicalize"), end=_END, target=positional()), package="mount")
DUMPE2FS = Runner("dumpe2fs", dict(header=fixed("-h"), end=_END, device=positional()), package="e2fsprogs")
E2FSCK = Runner("e2fsck", dict(force=fixed("-f"), preen=fixed("-p"), end=_END, device=positional()),
                package="e2fsprogs", timeout=3600)
RESIZE2FS = Runner("resize2fs", dict(end=_END, device=positional()), package="e2fsprogs", timeout=3600)
XFS_INFO = Runner("xfs_info", dict(end=_END, target=positional()), package="xfsprogs")
XFS_GROWFS = Runner("xfs_growfs", dict(end=_END, target=positional()), package="xfsprogs", timeout=3600)
BTRFS = Runner("btrfs", dict(
    dump_super=fixed("inspect-internal", "dump-super"),
    resize=fixed("filesystem", "resize"), max=fixed("max"),
    subvolume_create=fixed("subvolume", "create"),
    subvolume_snapshot=fixed("subvolume", "snapshot"),
    subvolume_delete=fixed("subvolume", "delete"),
    property_set=fixed("property", "set", "-ts"), ro_true=fixed("ro", "true"),
    readonly=flag("-r"), end=_END,
    path=positional(), dest=positional()), package="btrfs-progs", timeout=3600)
CP = Runner("cp", dict(archive=fixed("-a", "--reflink=auto"), end=_END, source=positional(), dest=positional()),
            package="coreutils", timeout=None)


# --- the live mount table -------------------------------------------------------

# printable ASCII that fstab and mountinfo show as it is: not the space, not the escape
# character itself, and not "#", which starts a comment where a line begins with it
_UNSAFE = lazy_compile(r"[^!-\[\]-~]|#")
_ESCAPED = {}


def escape(text: str) -> str:
    """Write a field for fstab: every character that could end the field, end the line (any
    of the Unicode line breaks that ``str.splitlines`` knows too) or start a comment, every
    control, format and space character, and the backslash, as octal escapes of its bytes
    (what mount(8) and libmount read back). Letters of any script stay as they are.

    InvalidValueEx for what no path or option can hold: NUL, or text that is not valid
    Unicode (a lone surrogate).
    """
    return _UNSAFE.sub(_escape_char, text)


def _escape_char(match) -> str:
    char = match.group(0)
    escaped = _ESCAPED.get(char)
    if escaped is None:
        if char == "\0":
            raise InvalidValueEx("%r contains a NUL character" % (match.string,))
        if ord(char) > 0x7F and unicodedata.category(char)[0] not in "CZ":
            escaped = char
        else:
            try:
                data = to_bytes(char)
            except UnicodeEncodeError:
                raise InvalidValueEx("%r is not valid text (it holds a lone surrogate)" % (match.string,)) from None
            escaped = "".join("\\%03o" % byte for byte in data)
        _ESCAPED[char] = escaped
    return escaped


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


#: where a run notes what it attached or mounted for the time of one task, so that the
#: next run can take it back when the run was killed before it could (kill -9, power cut)
HOST_STATE_DIR = "/run/stormgmt/host"
SCRATCH_PREFIX = "stormgmt-grow-"
_JOURNALS = {}


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (tells it from a later process with the same pid)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2:].split()[19].decode("ascii", "replace")


def _journal(kind: str, **values) -> str:
    """Write a note of something this run is about to make (before it makes it)."""
    os.makedirs(HOST_STATE_DIR, mode=0o700, exist_ok=True)
    values.update(kind=kind, pid=os.getpid(), start=_process_start(os.getpid()))
    fd, path = tempfile.mkstemp(prefix="%s-%d-" % (kind, os.getpid()), suffix=".json", dir=HOST_STATE_DIR)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle)
    return path


def _journal_update(path: str, **values) -> None:
    with open(path, "r") as handle:
        data = json.load(handle)
    data.update(values)
    temp = path + ".new"
    with open(temp, "w") as handle:
        json.dump(data, handle)
    os.replace(temp, path)


def _journal_done(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def loop_attach(image: str, temporary: bool = False) -> str:
    """Attach ``image`` to a free loop device; return the device.

    ``temporary``: the caller detaches it before the task ends (:func:`loop_detach`). The
    attachment is noted first, so that a run killed in between leaves nothing behind:
    the next run detaches it (:func:`reap_orphans`).
    """
    journal = _journal("loop", image=os.path.realpath(image), before=loops_of(image)) if temporary else None
    try:
        device = _mountinfo.loop_attach(image)
    except BaseException:
        _journal_done(journal)  # losetup failed or named no device: nothing was attached
        raise
    if journal is not None:
        _journal_update(journal, device=device)
        _JOURNALS[device] = journal
    fault_point("host.loop.attached")
    return device


def loop_detach(device: str) -> None:
    _mountinfo.loop_detach(device)
    fault_point("host.loop.detached")
    _journal_done(_JOURNALS.pop(device, None))


def _holders(device: str) -> list:
    try:
        return os.listdir("/sys/block/%s/holders" % os.path.basename(device))
    except OSError:
        return []


def reap_orphans(dry_run: bool = False) -> list:
    """Take back what a killed run left (noted by :func:`_journal`); say what, one sentence each.

    A scratch mount of a file system grow is unmounted and its directory removed; a loop
    device attached for a mkfs, wipe or grow is detached, unless something mounts or
    holds it now. With ``dry_run`` (check mode) nothing changes: the sentences say what
    would be done.
    """
    try:
        # scratch mounts first: the loop device under one is free only once it is unmounted
        names = sorted(os.listdir(HOST_STATE_DIR), key=lambda name: (not name.startswith("scratch-"), name))
    except OSError:
        return []
    notes = []
    for name in names:
        path = os.path.join(HOST_STATE_DIR, name)
        if name.endswith(".new"):
            if not dry_run:
                _journal_done(path)
            continue
        try:
            with open(path, "r") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            data = None
        if data is not None and data.get("pid") and _process_start(data["pid"]) == data.get("start"):
            continue  # its run is still going
        if data is not None:
            notes.extend((_reap_scratch if data.get("kind") == "scratch" else _reap_loop)(data, dry_run))
        if not dry_run:
            _journal_done(path)
    return notes


def _reap_scratch(data: dict, dry_run: bool) -> list:
    directory = data.get("dir") or ""
    notes = []
    if (os.path.dirname(directory) != os.path.realpath(tempfile.gettempdir())
            or not os.path.basename(directory).startswith(SCRATCH_PREFIX) or not os.path.isdir(directory)):
        return notes
    live = mount_at(directory)
    if live is not None:
        notes.append("unmounted %s from %s, left by a run that was killed while growing its file system"
                     % (live.source, directory))
        if not dry_run:
            umount(directory, expected=live)
    if not dry_run:
        with contextlib.suppress(OSError):
            os.rmdir(directory)
    return notes


def _reap_loop(data: dict, dry_run: bool) -> list:
    image = data.get("image") or ""
    devices = [data["device"]] if data.get("device") else [
        device for device in loops_of(image) if device not in (data.get("before") or [])]
    busy = set(entry.source for entry in mountinfo())
    notes = []
    for device in devices:
        back = loop_backing_file(device)
        if back is None or os.path.realpath(back) != image or device in busy or _holders(device):
            continue
        notes.append("detached loop device %s of %s, left attached by a run that was killed" % (device, image))
        if not dry_run:
            LOSETUP("detach", detach=device)
    return notes


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
        device = loop_attach(image, temporary=True)
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
    result = BLKID("probe export end device", check_rc=False, device=device)
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


# Extra mkfs arguments a user may give (the ``opts`` of the filesystem module), per tool:
#   takes_value: short options whose value may be the next word (-b 4096); any other word that
#     does not start with "-" would be an operand (a device, a size) and is refused
#   refused: short options that would overrule what the module decides or make nothing (force,
#     file system type, label, dry run, version), that copy host files into the file system, or
#     that name another host file (mke2fs -z writes an undo file, as root, wherever it points; -l reads
#     a bad-block list from one)
#   long: whether the tool has long options, and the ones refused
#   refused_values: for an option, value words naming another device or file that mkfs would write
_MKFS_OPTS = {
    "ext4": dict(takes_value="bCdeEgGiIJlLmMNoOrtTUz", refused="FtnVLdShzl", long=False, long_refused=(),
                 refused_values={"J": ("device=", "location="), "O": ("journal_dev",)}),
    "xfs": dict(takes_value="bcdilLmnprs", refused="fNVLph", long=False, long_refused=(),
                refused_values=dict((key, ("logdev=", "rtdev=", "name=", "file")) for key in "dlr")),
    "btrfs": dict(takes_value="bdmnsLORUru", refused="fVLruh", long=True,
                  long_refused=("force", "label", "rootdir", "subvol", "shrink", "version", "help"), refused_values={}),
}
MKFS_OPT_MAX = 4096


def check_mkfs_opts(fstype: str, opts) -> list:
    """Validate the extra mkfs arguments ``opts`` (one argv word each) for ``fstype``; return them.

    They go before ``--`` and the device, so none may be an operand (a word not starting
    with "-" that is not the value of the option before it), leave a value-taking option
    last (it would take the "--"), hold a line break or control character, or name an
    option the module decides itself (force, type, label) or one that writes elsewhere.
    """
    if not opts:
        return []
    rules = _MKFS_OPTS[fstype]
    out = []
    pending = None  # the short option whose value the next word is
    for word in opts:
        if not isinstance(word, str) or not word or len(word) > MKFS_OPT_MAX:
            raise InvalidValueEx("opts: %r is not a mkfs argument (1 to %d characters)" % (word, MKFS_OPT_MAX), "opts")
        bad = next((char for char in word if unicodedata.category(char)[0] == "C"
                    or unicodedata.category(char) in ("Zl", "Zp")), None)
        if bad is not None:
            raise InvalidValueEx("opts: %r holds a line break or control character (U+%04X)" % (word, ord(bad)), "opts")
        if pending is not None:
            _check_mkfs_value(fstype, pending, word)
            pending = None
        elif word in ("-", "--"):
            raise InvalidValueEx("opts: %r is not allowed; the module puts '--' before the device itself" % word, "opts")
        elif any(char.isspace() for char in word):
            raise InvalidValueEx("opts: %r holds white space; give the option and its value as two items "
                                 "(['-E', 'lazy_itable_init=0'])" % word, "opts")
        elif word.startswith("--"):
            name = word[2:].split("=", 1)[0]
            if not rules["long"]:
                raise InvalidValueEx("opts: mkfs.%s has no long options such as %r" % (fstype, word), "opts")
            if name in rules["long_refused"]:
                raise InvalidValueEx("opts: %r is decided by the module (force, name) or makes no file system; "
                                     "it cannot be given in opts" % word, "opts")
        elif word.startswith("-"):
            for index, char in enumerate(word[1:], 1):
                if char in rules["refused"]:
                    raise InvalidValueEx(
                        "opts: -%s (in %r) cannot be given to mkfs.%s here: the module decides force, type and label "
                        "(options force, fstype, name), and mkfs must make the file system on the device and nothing "
                        "else" % (char, word, fstype), "opts")
                if char in rules["takes_value"]:
                    value = word[index + 1:]
                    if value:
                        _check_mkfs_value(fstype, char, value)
                    else:
                        pending = char
                    break
        else:
            raise InvalidValueEx(
                "opts: %r would be an operand of mkfs.%s (the device or a size), not an option; give options "
                "starting with '-', each value right after its short option (['-b', '4096']) or joined to its long "
                "option (--nodesize=16384)" % (word, fstype), "opts")
        out.append(word)
    if pending is not None:
        raise InvalidValueEx("opts: -%s needs a value after it" % pending, "opts")
    return out


def _check_mkfs_value(fstype: str, option: str, value: str) -> None:
    for refused in _MKFS_OPTS[fstype]["refused_values"].get(option, ()):
        if any(part.strip().startswith(refused) for part in value.split(",")):
            raise InvalidValueEx("opts: -%s %s would make mkfs.%s write another device or file, or something other "
                                 "than a file system on the device; only the device of the task is written"
                                 % (option, value, fstype), "opts")


def mkfs(fstype: str, device: str, label: str | None = None, opts=None) -> None:
    """Make ``fstype`` on ``device``. The caller has decided (blkid, ``force``) that it may:
    the tool's own force flag is given so that it never stops to ask. ``opts``: extra
    arguments, checked with :func:`check_mkfs_opts`; they come before "--" and the device."""
    if fstype not in MKFS:
        raise OperationFailedEx("internal error: no mkfs for %s" % fstype)
    opts = check_mkfs_opts(fstype, opts)
    MKFS[fstype]("force quiet label opts end device", force=True, label=label, opts=opts, device=device, input_text="")
    fault_point("host.mkfs.done")


def wipe(device: str) -> None:
    """Erase every file system and partition-table signature on ``device``."""
    WIPEFS("all quiet end device", device=device)
    fault_point("host.wipe.done")


def _dumpe2fs(device: str) -> dict:
    values = {}
    for line in DUMPE2FS("header end device", device=device).lines():
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
        text = XFS_INFO("end target", target=mount_point or device).out
        match = re.search(r"^data\s*=\s*bsize=(\d+)\s+blocks=(\d+)", text, re.MULTILINE)
        if match is None:
            raise OperationFailedEx("cannot read the size of the xfs file system on %s from xfs_info" % device)
        size = int(match.group(1)) * int(match.group(2))
        free = 0
    elif fstype == "btrfs":
        values = {}
        for line in BTRFS("dump_super end path", path=device).lines():
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
            E2FSCK("force preen end device", device=device)
        RESIZE2FS("end device", device=device)
        return
    if mount_point:
        _grow_mounted(fstype, mount_point)
        return
    journal = _journal("scratch")
    scratch = os.path.join(os.path.realpath(tempfile.gettempdir()),
                           SCRATCH_PREFIX + os.path.basename(journal)[:-len(".json")])
    _journal_update(journal, dir=scratch)
    os.mkdir(scratch, 0o700)
    try:
        mount(device, scratch, fstype, [])
        fault_point("host.grow.mounted")
        try:
            _grow_mounted(fstype, scratch)
        finally:
            umount(scratch)
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(scratch)
        _journal_done(journal)


def _grow_mounted(fstype: str, mount_point: str) -> None:
    if fstype == "xfs":
        XFS_GROWFS("end target", target=mount_point)
    elif fstype == "btrfs":
        try:
            BTRFS("resize end max path", path=mount_point)
        except OperationFailedEx as error:
            if "Invalid argument" not in error.msg:
                raise
            raise OperationFailedEx(error.msg + " (recent kernels resize btrfs only to 256 MiB or more)") from None
    else:
        raise OperationFailedEx("internal error: cannot grow %s" % fstype)


# --- paths reached without following symlinks -------------------------------------------

_O_PATH = getattr(os, "O_PATH", 0o10000000)


def _components(path: str) -> list:
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise InvalidValueEx("%r is not an absolute path" % (path,), "path")
    try:
        to_bytes(path)
    except UnicodeEncodeError:
        raise InvalidValueEx("%r is not valid text (it holds a lone surrogate)" % (path,), "path") from None
    return [part for part in os.path.normpath(path).split("/") if part]


def path_error(error: OSError, what: str, path: str):
    """The typed error for an OSError met on ``path``."""
    detail = "%s %s: %s" % (what, path, error.strerror or error)
    if error.errno in (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EINVAL):
        return InvalidValueEx(detail, "path")
    if error.errno in (errno.EACCES, errno.EPERM):
        return PermissionDeniedEx(detail, "path")
    return OperationPreReqNotMetEx(detail, "path")


def _symlink_error(what: str, path: str, link: str, fd: int, name: str) -> InvalidValueEx:
    try:
        target = os.readlink(name, dir_fd=fd)
    except OSError:
        target = "?"
    if link == path:
        detail = "%s %s is a symbolic link (to %s)" % (what, path, target)
    else:
        detail = "%s %s is reached through the symbolic link %s (to %s)" % (what, path, link, target)
    return InvalidValueEx("%s; symbolic links are not followed here: give the real path" % detail, "path")


def _open_dir(path: str, what: str, missing_ok: bool):
    """Open directory ``path`` (O_PATH) walking from / without following any symlink.

    Returns (fd, rest): ``rest`` are the trailing components that do not exist (only with
    ``missing_ok``; the fd is then the deepest existing directory). InvalidValueEx for a
    symlink or a file on the way.
    """
    parts = _components(path)
    fd = os.open("/", _O_PATH | os.O_DIRECTORY)
    done = "/"
    try:
        for index, name in enumerate(parts):
            here = os.path.join(done, name)
            try:
                new = os.open(name, _O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as error:
                if error.errno == errno.ENOENT and missing_ok:
                    return fd, parts[index:]
                if error.errno == errno.ENOENT:
                    raise OperationPreReqNotMetEx("%s %s does not exist" % (what, here), "path") from None
                if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise path_error(error, what, here) from None
                try:
                    mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode
                except OSError:
                    mode = 0
                if stat.S_ISLNK(mode):
                    raise _symlink_error(what, os.path.normpath(path), here, fd, name) from None
                raise InvalidValueEx("%s %s: %s is not a directory" % (what, os.path.normpath(path), here),
                                     "path") from None
            os.close(fd)
            fd, done = new, here
        return fd, []
    except BaseException:
        os.close(fd)
        raise


def check_no_symlink(path: str, what: str = "path") -> None:
    """InvalidValueEx when ``path`` or a directory on the way to it is a symbolic link (the
    parts that do not exist yet are fine)."""
    parts = _components(path)
    if not parts:
        return
    fd, rest = _open_dir(os.path.join("/", *parts[:-1]), what, missing_ok=True)
    try:
        if rest:
            return
        try:
            mode = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return
        except OSError as error:
            raise path_error(error, what, os.path.normpath(path)) from None
        if stat.S_ISLNK(mode):
            raise _symlink_error(what, os.path.normpath(path), os.path.normpath(path), fd, parts[-1])
    finally:
        os.close(fd)


class Pinned:
    """A directory entry reached through its parent directory held open.

    The parent is opened from / without following any symlink, and mount(8) and
    umount(8) get ``/proc/<pid>/fd/<fd>/<name>`` with --no-canonicalize: the kernel goes
    straight to the directory checked here, so a symlink swapped in on the way meanwhile
    changes nothing. (A directory that is a mount point cannot be renamed or replaced
    while it is mounted.)
    """

    def __init__(self, path: str, what: str = "mount point") -> None:
        parts = _components(path)
        if not parts:
            raise InvalidValueEx("the root directory cannot be a %s" % what, "path")
        self.path = os.path.join("/", *parts)
        self.name = parts[-1]
        self.what = what
        self.fd = None

    def __enter__(self) -> Pinned:
        self.fd, _rest = _open_dir(os.path.dirname(self.path), self.what, missing_ok=False)
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    @property
    def proc_path(self) -> str:
        return "/proc/%d/fd/%d/%s" % (os.getpid(), self.fd, self.name)

    def directory(self) -> os.stat_result:
        """The entry's stat; it must be a directory (not a symlink)."""
        try:
            result = os.stat(self.name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            raise OperationPreReqNotMetEx("%s %s does not exist" % (self.what, self.path), "path") from None
        if stat.S_ISLNK(result.st_mode):
            raise _symlink_error(self.what, self.path, self.path, self.fd, self.name)
        if not stat.S_ISDIR(result.st_mode):
            raise InvalidValueEx("%s %s exists and is not a directory" % (self.what, self.path), "path")
        return result

    def message(self, text: str) -> str:
        return text.replace(self.proc_path, self.path) if self.fd is not None else text


def open_inside(base: str, relative: str, what: str, must_exist: bool = True) -> tuple:
    """(real path, O_PATH fd) of directory ``relative`` inside directory ``base``.

    Symlinks inside ``base`` are resolved, but the real path must stay inside ``base``'s
    real path (PermissionDeniedEx otherwise); the directory is then opened component by
    component without following any symlink, so what is opened is what was checked. The
    caller closes the fd. Without ``must_exist``, a directory that does not exist yet
    gives (real path, None).
    """
    real_base = os.path.realpath(base)
    real = os.path.realpath(os.path.join(real_base, relative))
    if real != real_base and not real.startswith(real_base.rstrip("/") + "/"):
        raise PermissionDeniedEx("%s leads out of the file system (%s), through a symbolic link, to %s; it is not "
                                 "mounted" % (what, base, real), "share_path")
    fd, rest = _open_dir(real, what, missing_ok=True)
    if rest:
        os.close(fd)
        if must_exist:
            raise OperationPreReqNotMetEx("%s does not exist" % what, "share_path")
        return real, None
    return real, fd


# --- mount and umount ------------------------------------------------------------------

def _tool_message(result, pinned: Pinned | None) -> str:
    detail = (result.err or result.out).strip().splitlines()
    message = detail[-1] if detail else "exit %d" % result.rc
    return pinned.message(message) if pinned is not None else message


def mount(source: str, target: str, fstype: str | None, options: list, source_fd: int | None = None) -> MountEntry:
    """Mount ``source`` on directory ``target`` (no symlink on the way); return the new mount.

    ``source_fd``: mount the directory this O_PATH fd holds instead of looking ``source``
    up again (a bind mount of exactly the directory that was checked). When the new
    mount is not at ``target`` afterwards, it is taken off again and OperationFailedEx
    raised.
    """
    with Pinned(target) as pinned:
        pinned.directory()
        before = set(entry.mount_id for entry in mountinfo())
        given = "/proc/%d/fd/%d" % (os.getpid(), source_fd) if source_fd is not None else source
        result = MOUNT("nocanon types options end source target", check_rc=False,
                       types=fstype if fstype not in (None, "auto") else None,
                       options=",".join(options) or None, source=given, target=pinned.proc_path)
        if result.rc != 0:
            raise OperationFailedEx("cannot mount %s on %s: %s" % (source, target, _tool_message(result, pinned)))
        fault_point("host.mount.mounted")
        new = [entry for entry in mountinfo() if entry.mount_id not in before and entry.mount_point == pinned.path]
        if not new:
            UMOUNT("nocanon end target", check_rc=False, target=pinned.proc_path)
            raise OperationFailedEx("the mount of %s did not end up on %s (the directory was moved meanwhile); "
                                    "it was taken off again" % (source, target))
        return new[-1]


def remount(source: str, target: str, options: list, bind: bool = False) -> None:
    """Apply ``options`` to a live mount. Source and target are both given so that
    mount(8) takes the options as they are and reads no fstab."""
    words = ["remount"] + [option for option in options if option != "remount"]
    if bind and "bind" not in words:
        words.insert(1, "bind")
    with Pinned(target) as pinned:
        pinned.directory()
        result = MOUNT("nocanon options end source target", check_rc=False, options=",".join(words),
                       source=source, target=pinned.proc_path)
        if result.rc != 0:
            raise OperationFailedEx("cannot remount %s with %s: %s" % (target, ",".join(words[1:]),
                                                                       _tool_message(result, pinned)))
    fault_point("host.mount.remounted")


def umount(target: str, expected: MountEntry | None = None) -> None:
    """Unmount the mount on top at ``target``, which is reached without following symlinks.

    ``expected``: the mount the caller decided to take off; when another one is on top
    now, nothing is unmounted (OperationFailedEx).
    """
    with Pinned(target) as pinned:
        pinned.directory()
        if expected is not None:
            top = mount_at(pinned.path)
            if top is None or top.mount_id != expected.mount_id:
                raise OperationFailedEx("%s changed since it was read (%s on top now); nothing was unmounted"
                                        % (target, top.source if top else "nothing mounted"))
        result = UMOUNT("nocanon end target", check_rc=False, target=pinned.proc_path)
        if result.rc != 0:
            message = _tool_message(result, pinned)
            cls = FileSystemBusyEx if "busy" in message.lower() else OperationFailedEx
            raise cls("cannot unmount %s: %s" % (target, message))
    fault_point("host.umount.done")


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

_BLANKS = lazy_compile(r"[ \t]+")
_NUMBER = lazy_compile(r"^([0-9]+)[\r\v\f]*$")


class FstabEntry:
    """One mount line of fstab(5).

    Read as libmount reads it: fields separated by spaces and tabs only, octal escapes
    undone; a line is a comment only where its first non-blank character is "#".
    Written with every character that could split the field or the line, or start a
    comment, escaped (:func:`escape`), so that the line reads back as exactly this entry.
    """

    def __init__(self, src: str, path: str, fstype: str, options: list, dump: int = 0, passno: int = 0) -> None:
        self.src = src
        self.path = path
        self.fstype = fstype
        self.options = list(options) or ["defaults"]
        self.dump = dump
        self.passno = passno

    def line(self) -> str:
        return "%s %s %s %s %d %d" % (escape(self.src), escape(self.path), escape(self.fstype),
                                      escape(",".join(self.options)), self.dump, self.passno)

    def key(self) -> tuple:
        """What the line means: options compared as mount(8) reads them, not as text."""
        from ansible_collections.stormgmt.core.plugins.module_utils._mount_options import MountOptions, split_options

        options = MountOptions([word for word in split_options(",".join(self.options)) if word])
        return (self.src, os.path.normpath(self.path), self.fstype, options.canonical(), self.dump, self.passno)

    def same(self, other) -> bool:
        return other is not None and self.key() == other.key()

    def fields(self) -> tuple:
        return (self.src, self.path, self.fstype, self.options, self.dump, self.passno)

    def __eq__(self, other) -> bool:
        return isinstance(other, FstabEntry) and self.fields() == other.fields()

    __hash__ = None

    def __repr__(self) -> str:
        return "FstabEntry(%r)" % self.line()

    @classmethod
    def parse(cls, line: str):
        """The entry on ``line``, or None for a comment, a blank or a malformed line."""
        text = line.lstrip(" \t")
        if not text or text.startswith("#"):
            return None
        words = _BLANKS.split(text.rstrip(" \t"))
        if len(words) < 3:
            return None  # libmount needs a type too (and ignores fields after the sixth)
        numbers = [_NUMBER.match(number) for number in words[4:6]]
        if not all(numbers):
            return None
        return cls(unescape(words[0]), unescape(words[1]), unescape(words[2]),
                   unescape(words[3]).split(",") if len(words) > 3 else ["defaults"],
                   int(numbers[0].group(1)) if numbers else 0, int(numbers[1].group(1)) if len(numbers) > 1 else 0)


#: where the fstab locks live; a test may point it elsewhere
LOCK_DIR = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
_TEMP_MARK = ".stormgmt-new-"

#: the AnsibleModule of this run (set by the module's main): its atomic_move writes fstab,
#: and its warn() says what a run repaired
_MODULE = None


def use_module(module) -> None:
    global _MODULE
    _MODULE = module


def report(notes) -> None:
    """Say what this run repaired (a warning in the task result)."""
    for note in notes:
        if _MODULE is not None:
            _MODULE.warn(note)


def _fstab_lock_path(path: str) -> str:
    """A lock file per fstab (per real file: a symlink and its target share it), outside /etc."""
    digest = hashlib.sha256(to_bytes(os.path.realpath(path))).hexdigest()[:16]
    return os.path.join(LOCK_DIR, "stormgmt-fstab-%s.lock" % digest)


def _atomic_move(temp: str, dest: str) -> None:
    """Put ``temp`` in place of ``dest`` in one rename, keeping ``dest``'s owner, mode and
    SELinux context: AnsibleModule.atomic_move when a module runs, else the same steps."""
    if _MODULE is not None:
        try:
            _MODULE.atomic_move(temp, dest)
        except Exception as error:  # atomic_move raises plain exceptions
            raise OperationFailedEx("cannot replace %s: %s" % (dest, error)) from None
        return
    try:
        current = os.stat(dest)
    except FileNotFoundError:
        current = None
    if current is not None:
        os.chmod(temp, stat.S_IMODE(current.st_mode))
        os.chown(temp, current.st_uid, current.st_gid)
        with contextlib.suppress(OSError):
            os.setxattr(temp, "security.selinux", os.getxattr(dest, "security.selinux"))
    os.replace(temp, dest)


class Fstab:
    """An fstab file: every line kept as it is except the entries this module changes.

    A symlinked fstab is read and written through: the link stays, its target is
    replaced (atomically, keeping owner, mode and SELinux context), under a lock that
    belongs to the target.
    """

    @classmethod
    @contextlib.contextmanager
    def edit(cls, path: str, backup: bool = False):
        """Read, change and write ``path`` under a lock, so that parallel runs editing one
        fstab (several inventory hosts on one machine) do not lose each other's lines.
        ``backup``: before a change, keep a copy of the file as it was (its name in
        ``backup_file`` afterwards)."""
        with cls.locked(path):
            fstab = cls(path)
            yield fstab
            if fstab.dirty:
                if backup and fstab.exists:
                    fstab.backup_file = fstab.write_backup()
                fstab.write()

    @classmethod
    @contextlib.contextmanager
    def locked(cls, path: str):
        try:
            handle = os.open(_fstab_lock_path(path), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot lock %s: %s" % (path, error.strerror), "fstab") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        finally:
            os.close(handle)

    @classmethod
    def stray_temporaries(cls, path: str) -> list:
        """Temporary files a killed run left next to the fstab (it died before the rename)."""
        real = os.path.realpath(path)
        directory, prefix = os.path.dirname(real), "." + os.path.basename(real) + _TEMP_MARK
        try:
            return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.startswith(prefix))
        except OSError:
            return []

    @classmethod
    def sweep(cls, path: str, dry_run: bool = False) -> list:
        """Remove what :meth:`stray_temporaries` finds (under the lock, so no run is writing
        them); say what was removed."""
        if not cls.stray_temporaries(path):
            return []
        with cls.locked(path):
            found = cls.stray_temporaries(path)
            if not dry_run:
                for name in found:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name)
        return ["removed %s, a half-written copy of %s left by a run that was killed" % (name, path) for name in found]

    def __init__(self, path: str) -> None:
        self.path = path
        self.real = os.path.realpath(path)
        self.exists = os.path.exists(self.real)
        self.dirty = False
        self.lines = []
        self.backup_file = None
        self._raw = b""
        if self.exists:
            try:
                with open(self.real, "rb") as handle:
                    self._raw = handle.read()
                    text = to_text(self._raw)
            except (IOError, OSError) as error:
                raise OperationPreReqNotMetEx("cannot read %s: %s" % (path, error.strerror), "fstab") from None
            # lines end at "\n" only, as mount(8) reads them: never at the other characters
            # str.splitlines() takes for line breaks
            self.lines = text.split("\n")
            if self.lines and self.lines[-1] == "":
                self.lines.pop()

    def entries(self) -> list:
        return [entry for entry in (FstabEntry.parse(line) for line in self.lines) if entry is not None]

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
        """True when writing ``entry`` would change what the file means (the same options in
        another order are the same line)."""
        indexes = self._indexes(entry.path)
        return len(indexes) != 1 or not entry.same(FstabEntry.parse(self.lines[indexes[0]]))

    def set(self, entry: FstabEntry) -> bool:
        """Put ``entry`` in place of the first line for its mount point (drop others)."""
        if not self.needs(entry):
            return False
        line = entry.line()
        indexes = self._indexes(entry.path)
        if indexes:
            self.lines[indexes[0]] = line
            for index in reversed(indexes[1:]):
                del self.lines[index]
        else:
            self.lines.append(line)
        self.dirty = True
        return True

    def remove(self, mount_point: str) -> bool:
        indexes = self._indexes(mount_point)
        for index in reversed(indexes):
            del self.lines[index]
        self.dirty = self.dirty or bool(indexes)
        return bool(indexes)

    def write_backup(self) -> str:
        """Write the file as it was read to a new file beside it, ``NAME.PID.YYYY-MM-DD@HH:MM:SS~`` (as
        AnsibleModule.backup_local names them), with the file's mode; return its path.

        Written to a temporary file first and given its name with link(2), which never
        follows or replaces anything already there (a symbolic link planted under the name
        included): a copy is complete or absent, and nothing else is overwritten.
        """
        directory = os.path.dirname(self.real)
        try:
            mode = stat.S_IMODE(os.stat(self.real).st_mode) & 0o777
            fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(self.real) + _TEMP_MARK, dir=directory)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot back up %s: %s" % (self.path, error.strerror), "backup") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self._raw)
                handle.flush()
                os.fchmod(handle.fileno(), mode)
                os.fsync(handle.fileno())
            base = "%s.%d.%s" % (self.real, os.getpid(), time.strftime("%Y-%m-%d@%H:%M:%S"))
            for attempt in range(100):
                name = base + ("~" if not attempt else ".%d~" % attempt)
                try:
                    os.link(temp, name)
                except FileExistsError:
                    continue
                except OSError as error:
                    raise OperationPreReqNotMetEx("cannot back up %s to %s: %s" % (self.path, name, error.strerror),
                                                  "backup") from None
                return name
            raise OperationPreReqNotMetEx("cannot back up %s: %s and 99 more names are taken" % (self.path, base),
                                          "backup")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)

    def write(self) -> None:
        """Replace the file (the target of a symlink) in one rename, keeping its mode and owner."""
        directory = os.path.dirname(self.real)
        for name in self.stray_temporaries(self.path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        try:
            fd, temp = tempfile.mkstemp(prefix="." + os.path.basename(self.real) + _TEMP_MARK, dir=directory)
        except OSError as error:
            raise OperationPreReqNotMetEx("cannot write %s: %s" % (self.path, error.strerror), "fstab") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(to_bytes("".join(line + "\n" for line in self.lines)))
                handle.flush()
                os.fsync(handle.fileno())
            if not self.exists:
                os.chmod(temp, 0o644)
            fault_point("host.fstab.temp_written")
            _atomic_move(temp, self.real)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        fault_point("host.fstab.replaced")
        self.exists = True


# --- directory trees (simulator file systems) -----------------------------------------

def copy_tree(source: str, dest: str) -> None:
    """Copy the content of directory ``source`` into existing directory ``dest``
    (reflinks where the file system has them), keeping modes, owners and times."""
    CP("archive end source dest", source=os.path.join(source, "."), dest=dest)


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
    BTRFS("subvolume_create end path", path=path)


def subvolume_snapshot(source: str, dest: str, readonly: bool) -> None:
    BTRFS("subvolume_snapshot readonly end path dest", readonly=readonly, path=source, dest=dest)


def subvolume_delete(path: str) -> None:
    BTRFS("subvolume_delete end path", path=path)


def subvolume_set_readonly(path: str) -> None:
    BTRFS("property_set end path ro_true", path=path)
