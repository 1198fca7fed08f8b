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
"""

from __future__ import annotations

import _imp
import marshal
import os
import sys
import time

_PREFIX = "ansible_collections.stormgmt.core.plugins.module_utils."
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


class _Loader:
    """Loads one module of this collection from the AnsiballZ zip: compiled once, or not at all."""

    def __init__(self, fullname: str, filename: str, source: bytes, is_package: bool, directory) -> None:
        self.name = fullname
        self._filename = filename
        self._source = source
        self._is_package = is_package
        self._directory = directory

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        exec(self.get_code(module.__name__), module.__dict__)  # pylint: disable=exec-used

    def is_package(self, fullname: str) -> bool:
        return self._is_package

    def get_filename(self, fullname: str) -> str:
        return self._filename

    def get_source(self, fullname: str) -> str:
        return self._source.decode("utf-8")

    def get_code(self, fullname: str):
        entry = None
        if self._directory is not None:
            import hashlib  # already loaded by ansible.module_utils.basic
            entry = os.path.join(self._directory, hashlib.sha256(_MAGIC + b"\0" + self._source).hexdigest())
            code = _read(entry)
            if code is not None:
                if code.co_filename != self._filename:
                    _imp._fix_co_filename(code, self._filename)  # pylint: disable=protected-access
                return code
        code = compile(self._source, self._filename, "exec", dont_inherit=True)
        if entry is not None and not sys.dont_write_bytecode:
            _write(self._directory, entry, code)
        return code


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


def _write(directory: str, entry: str, code) -> None:
    temporary = "%s.%d.tmp" % (entry, os.getpid())
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(marshal.dumps(code))
        os.replace(temporary, entry)
    except (OSError, ValueError):
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return
    _prune(directory)


def _prune(directory: str) -> None:
    """Remove entries of this cache unused for _MAX_AGE (other versions of the sources)."""
    limit = time.time() - _MAX_AGE
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if len(name.split(".", 1)[0]) != 64:
            continue  # not an entry of ours
        path = os.path.join(directory, name)
        try:
            if os.lstat(path).st_mtime < limit:
                os.unlink(path)
        except OSError:
            pass


class _Finder:
    """Finds this collection's module_utils in the AnsiballZ zip, reading each file once.

    Python 3.11's zip importer compiles a module to answer ``get_filename`` while it builds
    the module's spec, and again to run it: this finder builds the spec from the zip's data.
    """

    def __init__(self, directory) -> None:
        self._directory = directory

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(_PREFIX) or not path:
            return None
        tail = fullname.rpartition(".")[2]
        for entry in path:
            importer = _zip_importer(entry)
            if importer is None:
                continue
            for relative, is_package in ((tail + "/__init__.py", True), (tail + ".py", False)):
                filename = os.path.join(entry, relative)
                try:
                    source = importer.get_data(filename)
                except OSError:
                    continue
                from importlib.machinery import ModuleSpec
                spec = ModuleSpec(fullname, _Loader(fullname, filename, source, is_package, self._directory),
                                  origin=filename, is_package=is_package)
                spec.has_location = True
                if is_package:
                    spec.submodule_search_locations = [os.path.join(entry, tail)]
                return spec
            return None
        return None

    def invalidate_caches(self) -> None:
        pass


def _zip_importer(entry: str):
    """The zip importer of a package directory inside a zip, or None (a directory on disk)."""
    importer = sys.path_importer_cache.get(entry)
    if importer is None and not os.path.isdir(entry):
        try:
            import zipimport
            importer = zipimport.zipimporter(entry)
        except (ImportError, OSError):
            return None
    return importer if type(importer).__name__ == "zipimporter" else None


def install() -> None:
    """Put the finder just before the path finder (once); finders placed before that stay first."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    from importlib.machinery import PathFinder
    position = next((index for index, finder in enumerate(sys.meta_path) if finder is PathFinder), len(sys.meta_path))
    sys.meta_path.insert(position, _Finder(_directory()))


install()
