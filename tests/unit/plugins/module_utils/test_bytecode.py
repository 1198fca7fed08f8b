# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_bytecode: module_utils imported from an AnsiballZ-shaped zip are compiled once, then not at all.

Each case runs a fresh Python (as a module run does) that imports from a real zip holding
_bytecode.py and two module_utils (a module and a package), and counts the compilations
with the ``compile`` audit event that Python raises for every ``compile()``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PACKAGE = "ansible_collections/stormgmt/core/plugins/module_utils"

# _bytecode_finder.py: run by _bytecode.py from the zip, compiled once and then kept as the others
ALL = ["_bytecode_finder.py", "_probe.py", "pkg/__init__.py", "pkg/sub.py"]

PROBE = """
VALUE = 42

def where():
    raise ValueError("from the probe")
"""

RUN = r"""
import json, sys, traceback
compiled = []
sys.addaudithook(lambda event, args: compiled.append(str(args[1])) if event == "compile" else None)
sys.path.insert(0, sys.argv[1])
from ansible_collections.stormgmt.core.plugins.module_utils import _bytecode
from ansible_collections.stormgmt.core.plugins.module_utils import _probe
from ansible_collections.stormgmt.core.plugins.module_utils.pkg import sub
try:
    _probe.where()
except ValueError:
    line = traceback.format_exc().splitlines()[-2].strip()
print(json.dumps({
    "value": _probe.VALUE, "sub": sub.NAME, "file": _probe.__file__,
    # what was compiled after _bytecode came in (the zip importer compiled it and its package)
    "compiled": sorted(name.split("/module_utils/", 1)[1] for name in compiled if "/module_utils/" in name
                       and name.split("/module_utils/", 1)[1] not in ("__init__.py", "_bytecode.py")),
    "traceback_line": line,
}))
"""


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("ansible_collections", "ansible_collections/stormgmt", "ansible_collections/stormgmt/core",
                        "ansible_collections/stormgmt/core/plugins", PACKAGE, PACKAGE + "/pkg"):
            archive.writestr(package + "/__init__.py", "")
        for name in ("_bytecode.py", "_bytecode_finder.py"):
            with open(os.path.join(ROOT, "plugins", "module_utils", name), "rb") as handle:
                archive.writestr(PACKAGE + "/" + name, handle.read())
        archive.writestr(PACKAGE + "/_probe.py", PROBE)
        archive.writestr(PACKAGE + "/pkg/sub.py", "NAME = 'sub'\n")
    return str(path)


def run(payload, cache, *flags, **env):
    environment = dict(os.environ, STORMGMT_BYTECODE_CACHE=str(cache), **env)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable] + list(flags) + ["-c", RUN, payload], env=environment,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def entries(cache):
    return sorted(os.listdir(cache)) if os.path.isdir(cache) else []


def test_compiled_once_then_read_from_the_cache(payload, tmp_path):
    cache = tmp_path / "cache" / "bytecode"
    first = run(payload, cache)
    assert first["value"] == 42 and first["sub"] == "sub"
    assert first["file"] == payload + "/" + PACKAGE + "/_probe.py"
    # each file once (Python 3.11's zip importer alone compiles each twice)
    assert first["compiled"] == ALL
    assert len(entries(cache)) == 4
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(cache / name).st_mode) == 0o600 for name in entries(cache))

    second = run(payload, cache)
    assert second["compiled"] == []
    assert second["value"] == 42 and second["sub"] == "sub"
    # the cached code names the file of this run: tracebacks show its source line
    assert second["traceback_line"] == 'raise ValueError("from the probe")'


def test_a_changed_source_is_compiled_again(payload, tmp_path):
    cache = tmp_path / "cache"
    run(payload, cache)
    changed = str(tmp_path / "changed.zip")
    with zipfile.ZipFile(payload) as old, zipfile.ZipFile(changed, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            new.writestr(info, data.replace(b"VALUE = 42", b"VALUE = 43"))
    result = run(changed, cache)
    assert result["value"] == 43
    assert result["compiled"] == ["_probe.py"]


@pytest.mark.parametrize("mode", [0o777, 0o755, 0o770])
def test_a_cache_others_may_write_or_read_is_not_used(payload, tmp_path, mode):
    cache = tmp_path / "shared"
    cache.mkdir()
    os.chmod(cache, mode)
    planted = cache / ("0" * 64)
    planted.write_bytes(b"not code")
    for attempt in (1, 2):
        result = run(payload, cache)
        assert result["value"] == 42
        assert result["compiled"] == ALL, attempt
    assert entries(cache) == [planted.name]


def test_a_symlinked_cache_is_not_used(payload, tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    run(payload, link)
    assert entries(real) == []


def test_off_and_dont_write_bytecode_write_nothing(payload, tmp_path):
    cache = tmp_path / "cache"
    assert run(payload, "off")["compiled"] == ALL
    run(payload, cache, "-B")
    assert entries(cache) == []
    run(payload, cache)
    assert len(entries(cache)) == 4
    # -B still reads what is there, as Python does with __pycache__
    assert run(payload, cache, "-B")["compiled"] == []


def test_a_damaged_entry_is_compiled_again(payload, tmp_path):
    cache = tmp_path / "cache"
    run(payload, cache)
    for name in entries(cache):
        (cache / name).write_bytes(b"\x00garbage")
    result = run(payload, cache)
    assert result["value"] == 42
    assert result["compiled"] == ALL
