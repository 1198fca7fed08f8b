# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compiled code of this collection's module_utils, kept between module runs. Private to this collection.

Ansible sends a module with its module_utils as Python *sources* in a zip (AnsiballZ), and
Python's zip importer compiles every file it imports, on every run, and writes no bytecode:
for a no-op task that compiling is most of what this collection adds to the cost of
``ansible.builtin.ping`` (benchmarks/README.md). Imported first by every module, this module
puts an import finder before Python's path finder (and so before the zip importer), for this
collection's module_utils only:
it compiles a file once and keeps its code object (``marshal``, as ``__pycache__`` does) in a
directory private to the user, named by the SHA-256 of the source and the Python bytecode
version, so that a file is never run from a code object of another source.

- The cache is ``$STORMGMT_BYTECODE_CACHE``, else ``$XDG_CACHE_HOME/stormgmt/bytecode``, else
  ``~/.cache/stormgmt/bytecode``; ``STORMGMT_BYTECODE_CACHE=off`` turns it off.
- It is used only when it is a real directory owned by the user running the module with no
  access for group or others (created so: 0700); anything else, or any error, means the file
  is compiled as without the cache. Entries are written to a temporary name and renamed.
- Python's ``-B`` / ``PYTHONDONTWRITEBYTECODE`` are honoured: code already there is read,
  nothing is written.
- Entries unused for 30 days are removed when a new one is written.

Python 3.11's zip importer compiles this file twice as well (see ``_Finder`` in _bytecode_finder.py): it holds
only what it takes to run the finder itself from the cache (``_boot``); the finder, the writing
and the pruning of entries are in ``_bytecode_finder``, compiled once and then kept like the rest.
"""

from __future__ import annotations

import _imp
import marshal
import os
import sys
import time

_MAX_AGE = 30 * 24 * 3600
# the bytecode version: the cached code of one Python is never run by another
_MAGIC = getattr(sys.modules.get("_frozen_importlib_external"), "MAGIC_NUMBER", None) or sys.version.encode()


def _directory():
    """The cache directory, made if missing; None when it cannot be trusted or is off."""
    path = os.environ.get("STORMGMT_BYTECODE_CACHE")
    if path and path.lower() in ("off", "0", "false", "no"):
        return None
    if not path:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "stormgmt", "bytecode")
    if not os.path.isabs(path):
        return None
    try:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            if sys.dont_write_bytecode:
                return None
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            os.mkdir(path, 0o700)
            info = os.lstat(path)
    except OSError:
        return None
    # a directory of ours that nobody else may write to (or read: code of the modules we run)
    if not os.path.isdir(path) or os.path.islink(path) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return path


def _read(entry: str):
    try:
        fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            return None
        with os.fdopen(fd, "rb") as handle:
            fd = None
            code = marshal.loads(handle.read())
        # seen as used: keeps it from being pruned (the file system may not record reads)
        if time.time() - info.st_mtime > _MAX_AGE / 2:
            os.utime(entry)
        return code
    except (OSError, ValueError, EOFError, TypeError):
        return None
    finally:
        if fd is not None:
            os.close(fd)


def code_of(directory, filename: str, source: bytes):
    """``(code, entry)``: the code of ``source``, from the cache in ``directory`` (None: no cache) or
    compiled; ``entry`` is where to keep it when it was compiled and may be kept (else None)."""
    entry = None
    if directory is not None:
        import hashlib  # already loaded by ansible.module_utils.basic
        entry = os.path.join(directory, hashlib.sha256(_MAGIC + b"\0" + source).hexdigest())
        code = _read(entry)
        if code is not None:
            if code.co_filename != filename:
                _imp._fix_co_filename(code, filename)  # pylint: disable=protected-access
            return code, None
    code = compile(source, filename, "exec", dont_inherit=True)
    return code, entry if entry is not None and not sys.dont_write_bytecode else None


def _boot() -> None:
    """Import _bytecode_finder (from the zip: compiled once, then from the cache) and install its finder."""
    loader = globals().get("__loader__")
    package = __name__.rpartition(".")[0]
    name = package + "._bytecode_finder"
    filename = os.path.join(os.path.dirname(__file__), "_bytecode_finder.py")
    try:
        source = loader.get_data(filename) if type(loader).__name__ == "zipimporter" else None
    except OSError:
        source = None
    if source is None or name in sys.modules:  # on disk (a .pyc is kept there), or imported already
        from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode_finder
        install = getattr(_bytecode_finder, "install", None)
        if install is not None:  # None: _bytecode_finder was imported first and is importing this module
            install()
        return
    from importlib.machinery import ModuleSpec
    directory = _directory()
    code, entry = code_of(directory, filename, source)
    module = type(sys)(name)
    module.__file__ = filename
    module.__loader__ = loader
    module.__package__ = package
    module.__spec__ = ModuleSpec(name, loader, origin=filename)
    module.__spec__.has_location = True
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)  # pylint: disable=exec-used
    except BaseException:
        del sys.modules[name]
        raise
    setattr(sys.modules[package], "_bytecode_finder", module)
    if entry is not None:
        module._write(directory, entry, code)  # pylint: disable=protected-access
    module.install(directory)


_boot()
