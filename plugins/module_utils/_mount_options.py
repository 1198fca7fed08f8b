# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mount options as mount(8) and the kernel read them. Private to this collection.

An option list is read the way libmount and the kernel combine it, so that two lists
that mount the same way compare equal, whatever their order:

* **per-mount flags** (``ro``, ``nosuid``, ``nodev``, ``noexec``, the atime mode,
  ``nodiratime``, ``nosymfollow``) are bits, the last word for a bit wins, and every
  bit not named has its default. The kernel shows all of them in field 6 of
  /proc/self/mountinfo, so they are compared exactly, on bind mounts too. The atime
  mode follows the kernel: ``strictatime`` beats ``noatime``, which beats the default
  ``relatime`` (``noatime,relatime`` is noatime);
* **per-superblock flags** (``sync``, ``dirsync``, ``lazytime``, ``mand``, and the file
  system's own ``ro``) show in the super options; a bind mount cannot change them;
* **fstab-only options** (``noauto``, ``nofail``, ``_netdev``, ``x-*``, ``user``...)
  are for mount -a, systemd or non-root users: written to fstab, never given to
  mount(8) by this collection and never compared with the live mount. ``user``,
  ``users``, ``owner`` and ``group`` imply ``nosuid,nodev`` (and ``noexec`` for the first
  two), as they do when root mounts such a line;
* **mount(8) options** (``loop``, ``offset=``, ``bind``...) drive mount(8) itself;
* anything else is the file system's own option (``commit=30``, ``size=4m``,
  ``discard``): given to mount(8), compared when the kernel shows it.

Words are split on commas outside double quotes (``context="a,b"``) as libmount does.
"""

from __future__ import annotations

import unicodedata

from ansible_collections.stormgmt.core.plugins.module_utils.errors import InvalidValueEx

#: per-mount bits, their defaults, and how the kernel names a set bit in mountinfo
PER_MOUNT_DEFAULTS = dict(ro=False, nosuid=False, nodev=False, noexec=False, noatime=False, strictatime=False,
                          nodiratime=False, nosymfollow=False)
#: superblock bits mount(8) can set
SUPER_DEFAULTS = dict(sync=False, dirsync=False, lazytime=False, mand=False)

# word -> ((bit, value), ...)
_PER_MOUNT_WORDS = {
    "ro": (("ro", True),), "rw": (("ro", False),),
    "nosuid": (("nosuid", True),), "suid": (("nosuid", False),),
    "nodev": (("nodev", True),), "dev": (("nodev", False),),
    "noexec": (("noexec", True),), "exec": (("noexec", False),),
    "noatime": (("noatime", True),), "atime": (("noatime", False),),
    "strictatime": (("strictatime", True),), "nostrictatime": (("strictatime", False),),
    # MS_RELATIME is the kernel's default whenever noatime is not set: these change nothing
    "relatime": (), "norelatime": (),
    "nodiratime": (("nodiratime", True),), "diratime": (("nodiratime", False),),
    "nosymfollow": (("nosymfollow", True),), "symfollow": (("nosymfollow", False),),
}
_SUPER_WORDS = {
    "sync": (("sync", True),), "async": (("sync", False),),
    "dirsync": (("dirsync", True),),
    "lazytime": (("lazytime", True),), "nolazytime": (("lazytime", False),),
    "mand": (("mand", True),), "nomand": (("mand", False),),
}
# fstab-only words, and the per-mount bits some of them imply when root mounts the line
_FSTAB_ONLY_WORDS = {
    "defaults": (), "auto": (), "noauto": (), "nouser": (), "nofail": (), "_netdev": (), "_rnetdev": (),
    "user": (("nosuid", True), ("nodev", True), ("noexec", True)),
    "users": (("nosuid", True), ("nodev", True), ("noexec", True)),
    "owner": (("nosuid", True), ("nodev", True)),
    "group": (("nosuid", True), ("nodev", True)),
}
_FSTAB_ONLY_PREFIXES = ("x-", "X-", "comment=", "helper=", "uhelper=", "user=")
# options that mount(8) acts on itself (a loop device, a bind mount)
_MOUNT8_WORDS = frozenset(("loop", "bind", "rbind"))
_MOUNT8_PREFIXES = ("loop=", "offset=", "sizelimit=", "encryption=")
# words that are operations of mount(8), not options of a mount
_REFUSED = frozenset(("remount", "move", "rmove", "shared", "rshared", "slave", "rslave", "private", "rprivate",
                      "unbindable", "runbindable"))
_REFUSED_PREFIXES = ("make-", "X-mount.", "x-mount.")


def _bad_character(text: str):
    """The first character that must not be in a mount option (white space, line breaks,
    control characters, NUL), or None."""
    for char in text:
        if char.isspace() or unicodedata.category(char)[0] in "CZ":
            return char
    return None


def split_options(text: str) -> list:
    """Split an option string on the commas outside double quotes, as libmount does."""
    words, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            words.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise InvalidValueEx("mount options %r have an unbalanced double quote" % text, "opts")
    words.append("".join(current))
    return words


def _key(word: str) -> str:
    return word.split("=", 1)[0]


def _generic_bit(word: str):
    """('discard', True) for discard, ('discard', False) for nodiscard; None for key=value."""
    if "=" in word:
        return None
    if word.startswith("no") and len(word) > 2:
        return word[2:], False
    return word, True


class MountOptions:
    """A mount's option list: as written (for fstab) and as mount(8) and the kernel see it."""

    def __init__(self, words: list) -> None:
        self.words = list(words)
        self.per_mount = dict(PER_MOUNT_DEFAULTS)
        self.super = dict(SUPER_DEFAULTS)
        self.super_named = set()
        self.fstab_only = []
        self.mount8 = []
        self.fs_specific = []
        for word in self.words:
            if word in _PER_MOUNT_WORDS:
                self.per_mount.update(_PER_MOUNT_WORDS[word])
            elif word in _SUPER_WORDS:
                for bit, value in _SUPER_WORDS[word]:
                    self.super[bit] = value
                    self.super_named.add(bit)
            elif word in _FSTAB_ONLY_WORDS or word.startswith(_FSTAB_ONLY_PREFIXES):
                self.per_mount.update(_FSTAB_ONLY_WORDS.get(word, ()))
                self.fstab_only.append(word)
            elif word in _MOUNT8_WORDS or word.startswith(_MOUNT8_PREFIXES):
                self.mount8.append(word)
            else:
                self.fs_specific.append(word)

    # --- reading what a task gives ---------------------------------------------------
    @classmethod
    def parse(cls, value, what: str = "opts") -> MountOptions:
        """From a comma separated string, a list of them, or None (defaults)."""
        if value is None:
            return cls([])
        if isinstance(value, str):
            items = [value]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise InvalidValueEx("%s must be a comma separated string or a list of strings, not %s"
                                 % (what, type(value).__name__), "opts")
        for item in items:
            if not isinstance(item, str):
                raise InvalidValueEx("%s must be a comma separated string or a list of strings; %r is not a string"
                                     % (what, item), "opts")
        words = []
        for word in split_options(",".join(items)):
            word = word.strip(" ")
            if not word:
                continue
            bad = _bad_character(word)
            if bad is not None:
                raise InvalidValueEx("mount option %r contains %s, which no mount option may hold"
                                     % (word, _describe(bad)), "opts")
            if word in _REFUSED or word.startswith(_REFUSED_PREFIXES):
                raise InvalidValueEx("%r is not supported in opts: it is an operation of mount(8) (or a libmount "
                                     "X-mount option), not an option of the mount; use state: remounted to remount"
                                     % word, "opts")
            words.append(word)
        return cls(words)

    # --- writing ---------------------------------------------------------------------
    def fstab_words(self, extra=()) -> list:
        """The fstab field: ``extra`` (bind, loop) first unless named, then the words as given."""
        words = [word for word in self.words if word != "defaults"]
        return [word for word in extra if word not in words] + words or ["defaults"]

    def per_mount_words(self) -> list:
        """Every per-mount bit spelt out, so that a mount or remount leaves none to chance."""
        flags = self.per_mount
        atime = "strictatime" if flags["strictatime"] else "noatime" if flags["noatime"] else "relatime"
        return ["ro" if flags["ro"] else "rw", "nosuid" if flags["nosuid"] else "suid",
                "nodev" if flags["nodev"] else "dev", "noexec" if flags["noexec"] else "exec", atime,
                "nodiratime" if flags["nodiratime"] else "diratime",
                "nosymfollow" if flags["nosymfollow"] else "symfollow"]

    def super_words(self) -> list:
        words = ["sync" if self.super["sync"] else "async"]
        for bit in ("dirsync", "lazytime", "mand"):
            if bit in self.super_named:
                words.append(bit if self.super[bit] else "no" + bit)
        return [word for word in words if word != "nodirsync"]  # dirsync has no negation

    def _command_flags(self, live=None) -> list:
        """The per-mount flags for mount(8): all of them, except ``symfollow`` unless it is
        needed (named, or undoing a live ``nosymfollow``): util-linux before 2.38 does not
        know the word and would hand it to the file system, which refuses it."""
        words = self.per_mount_words()
        if words[-1] == "symfollow" and "symfollow" not in self.words and (
                live is None or "nosymfollow" not in live.vfs_options):
            words.pop()
        return words

    def mount_words(self, extra=(), bind: bool = False) -> list:
        """What to give mount(8) for a new mount: mount(8)'s own options, every flag, the rest."""
        own = [word for word in extra if word not in self.mount8] + self.mount8
        if bind:
            return own + self._command_flags()
        return own + self._command_flags() + self.super_words() + _last_per_key(self.fs_specific)

    def remount_words(self, bind: bool, live=None) -> list:
        """What to give mount -o remount: a bind mount can change per-mount flags only."""
        if bind:
            return ["bind"] + self._command_flags(live)
        return self._command_flags(live) + self.super_words() + _last_per_key(self.fs_specific)

    # --- comparing -------------------------------------------------------------------
    def canonical(self, extra=()) -> tuple:
        """Equal for two option lists that mean the same mount (order, repeats and
        ``defaults`` aside): what an fstab line is compared by."""
        generic = {}
        for word in list(extra) + self.fstab_only + self.mount8 + self.fs_specific:
            bit = _generic_bit(word)
            if bit is None:
                generic[_key(word) + "="] = word.split("=", 1)[1]
            elif word not in ("defaults",):
                generic[bit[0]] = bit[1]
        return (tuple(sorted(self.per_mount.items())), tuple(sorted(self.super.items())),
                tuple(sorted(generic.items())))

    def unmet(self, live, bind: bool, recorded=()) -> list:
        """What the live mount ``live`` (a mountinfo entry) does not have of these options.

        Per-mount flags are compared exactly (the kernel shows every one of them); for a
        mount that is not a bind mount, the superblock flags asked for and the file
        system's own options the kernel shows are compared too. A ``key=value`` the
        kernel rewrites (tmpfs ``size=4m`` shows as ``size=4096k``) counts as applied when
        the fstab line of this mount (``recorded``) has it already.
        """
        unmet = []
        have = live_per_mount(live.vfs_options)
        want = self.per_mount_words()
        for word in want:
            if word not in have:
                unmet.append(word)
        if bind:
            return unmet
        supers = set(live.super_options)
        if not self.per_mount["ro"] and "ro" in supers and "rw" not in unmet:
            unmet.append("rw")
        for bit in ("sync", "dirsync", "lazytime", "mand"):
            if bit == "sync" or bit in self.super_named:
                if self.super[bit] != (bit in supers):
                    unmet.append(bit if self.super[bit] else "async" if bit == "sync" else "no" + bit)
        shown = set(live.super_options) | set(live.vfs_options)
        shown_keys = dict(option.split("=", 1) for option in shown if "=" in option)
        for word in _last_per_key(self.fs_specific):
            if word in shown:
                continue
            if "=" in word:
                key, value = word.split("=", 1)
                if key in shown_keys and shown_keys[key] != value and word not in recorded:
                    unmet.append(word)
            else:
                name, value = _generic_bit(word)
                opposite = name if not value else "no" + name
                if opposite in shown:
                    unmet.append(word)
        return unmet

    def unmet_flags(self, live, bind: bool) -> list:
        """The flags (per-mount, and superblock unless ``bind``) the live mount lacks:
        what must be in force after a mount or remount."""
        unmet = self.unmet(live, bind)
        fs_words = set(self.fs_specific)
        return [word for word in unmet if word not in fs_words]


def live_per_mount(vfs_options: list) -> list:
    """Every per-mount flag of a live mount, spelt as :meth:`MountOptions.per_mount_words` does."""
    shown = set(vfs_options)
    atime = "noatime" if "noatime" in shown else "relatime" if "relatime" in shown else "strictatime"
    return ["ro" if "ro" in shown else "rw", "nosuid" if "nosuid" in shown else "suid",
            "nodev" if "nodev" in shown else "dev", "noexec" if "noexec" in shown else "exec", atime,
            "nodiratime" if "nodiratime" in shown else "diratime",
            "nosymfollow" if "nosymfollow" in shown else "symfollow"]


def _last_per_key(words: list) -> list:
    """Each option once: the last value of a ``key=`` and the last of ``X``/``noX`` wins."""
    seen = {}
    for word in words:
        bit = _generic_bit(word)
        key = _key(word) + "=" if bit is None else bit[0]
        seen.pop(key, None)
        seen[key] = word
    return list(seen.values())


def _describe(char: str) -> str:
    if char == "\0":
        return "a NUL character"
    if char in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":
        return "a line break (U+%04X)" % ord(char)
    if char.isspace():
        return "white space (U+%04X)" % ord(char)
    return "a control character (U+%04X)" % ord(char)
