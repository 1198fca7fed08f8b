# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The import finder of the bytecode cache that _bytecode.py describes. Private to this collection.

It finds this collection's module_utils in the AnsiballZ zip and runs each from the code kept in
the cache, compiling a file only when its code is not there yet. _bytecode.py runs this file so
too (the zip importer would compile it twice) and installs the finder.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

from ansible_collections.stormgmt.core.plugins.module_utils._bytecode import _MAX_AGE, _directory, code_of

_PREFIX = "ansible_collections.stormgmt.core.plugins.module_utils."


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
        code, entry = code_of(self._directory, self._filename, self._source)
        if entry is not None:
            _write(self._directory, entry, code)
        return code


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


_UNKNOWN = object()


def install(directory=_UNKNOWN) -> None:
    """Put the finder just before the path finder (once); finders placed before that stay first.
    ``directory``: the cache, when the caller has it already (see ``_bytecode._directory``)."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    from importlib.machinery import PathFinder
    position = next((index for index, finder in enumerate(sys.meta_path) if finder is PathFinder), len(sys.meta_path))
    sys.meta_path.insert(position, _Finder(_directory() if directory is _UNKNOWN else directory))
