# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Machinery of the backend conformance suite (see README.md next to this file).

* Backends: ``--backend URI`` (repeatable), else ``STORMGMT_CONFORMANCE_URIS``
  (space separated), else a fresh ``sim://`` state file for the session. Every
  test runs once per backend. Credentials come from STORMGMT_USERNAME/PASSWORD.
* Names: every object a run creates starts with a random prefix (``cf-1a2b3c-``),
  and every test has its own sub-prefix. Teardown deletes objects with that
  prefix only, and fails the test when one is left; nothing else on the server
  is touched.
* A proxy stands between the tests and the backend: it waits on jobs (so the
  suite runs against ``sim:///x.db?job_delay=0.2`` too, and any backend that
  answers with jobs), turning them back into the record the call would have
  returned, and it times every operation (``--timings FILE`` writes JSON).
"""

from __future__ import annotations

import atexit
import importlib
import inspect
import itertools
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_URI = "sim:// (a fresh state file for the session)"
# libstoragemgmt's protocol, through the test plug-in of the lsm_plugin integration target
DEFAULT_LSM_URI = "lsm+stormtest:// (the test plug-in, a fresh state file for the session)"
LSM_TEST_PLUGIN_DIR = os.path.join(ROOT, "tests", "integration", "targets", "lsm_plugin", "files")
LINUX_URI = "linux:// (a btrfs loop pool and an nfs-ganesha started for the session)"


def _make_collection_importable() -> None:
    """As tests/unit/conftest.py: use PYTHONPATH if it has the collection, else build the layout."""
    try:
        importlib.import_module("ansible_collections.stormgmt.core.plugins.module_utils.errors")
        return
    except ImportError:
        pass
    parts = ROOT.split(os.sep)
    if parts[-3:] == ["ansible_collections", "stormgmt", "core"]:
        sys.path.insert(0, os.sep.join(parts[:-3]) or os.sep)
    else:
        top = tempfile.mkdtemp(prefix="stormgmt-conformance-path-")
        atexit.register(shutil.rmtree, top, True)
        os.makedirs(os.path.join(top, "ansible_collections", "stormgmt"))
        os.symlink(ROOT, os.path.join(top, "ansible_collections", "stormgmt", "core"))
        sys.path.insert(0, top)
    importlib.invalidate_caches()
    sys.modules.pop("ansible_collections", None)


_make_collection_importable()

# pylint: disable=wrong-import-position
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect  # noqa: E402
from ansible_collections.stormgmt.core.plugins.module_utils._units import round_up  # noqa: E402
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (  # noqa: E402
    IPluginException,
    OperationFailedEx,
    error_from_dict,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (  # noqa: E402
    ABILITY_AVAILABLE,
    FileSystemPlugin,
    StorageArrayPlugin,
    is_job,
)

MiB = 1024 ** 2
# how long the proxy waits for one job; a backend slower than this fails the test
JOB_TIMEOUT = float(os.environ.get("STORMGMT_CONFORMANCE_JOB_TIMEOUT", "600"))

TIMINGS: dict = {}


# --- options and parametrisation ---------------------------------------------

def pytest_addoption(parser):
    group = parser.getgroup("stormgmt", "stormgmt.core backend conformance")
    group.addoption("--backend", action="append", default=[], metavar="URI",
                    help="server URI of a backend to test (repeatable); default: $STORMGMT_CONFORMANCE_URIS, "
                         "else a fresh sim:// state file")
    group.addoption("--timings", metavar="FILE", default=None,
                    help="write the per-operation timings of the run to FILE as JSON")


# --backend lsm+stormtest:// and --backend linux:// (exactly these) name the backends the suite
# starts itself: the test plug-in of libstoragemgmt's protocol and a Linux NAS (btrfs + nfs-ganesha)
def backend_uris(config) -> list:
    uris = list(config.getoption("--backend") or []) or os.environ.get("STORMGMT_CONFORMANCE_URIS", "").split()
    aliases = {"lsm+stormtest://": DEFAULT_LSM_URI, "linux://": LINUX_URI}
    return [aliases.get(uri, uri) for uri in uris] or [DEFAULT_URI, DEFAULT_LSM_URI, LINUX_URI]


DEFAULT_IDS = {DEFAULT_URI: "sim-default", DEFAULT_LSM_URI: "lsm-stormtest-default", LINUX_URI: "linux-nas"}


def pytest_generate_tests(metafunc):
    if "uri" in metafunc.fixturenames:
        uris = backend_uris(metafunc.config)
        metafunc.parametrize("uri", uris, scope="session", ids=[DEFAULT_IDS.get(uri, uri) for uri in uris])


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--timings", default=None)
    if path and TIMINGS:
        with open(path, "w") as handle:
            json.dump({"unit": "seconds", "backends": TIMINGS}, handle, indent=2, sort_keys=True)
            handle.write("\n")


# --- the proxy -------------------------------------------------------------------

# The record a call would have returned had it not answered with a job:
# method -> (getter, names of the call's arguments the getter takes)
RESULT_OF = {
    "create_lun": ("get_lun", ("name",)),
    "resize_lun": ("get_lun", ("name",)),
    "set_lun_qos": ("get_lun", ("name",)),
    "create_clone": ("get_lun", ("name",)),
    "split_clone": ("get_lun", ("name",)),
    "restore_snapshot": ("get_lun", ("lun",)),
    "create_snapshot": ("get_snapshot", ("lun", "name")),
    "create_access_group": ("get_access_group", ("name",)),
    "update_access_group": ("get_access_group", ("name",)),
    "create_filesystem": ("get_filesystem", ("name",)),
    "resize_filesystem": ("get_filesystem", ("name",)),
    "set_export": ("get_filesystem", ("name",)),
    "restore_fs_snapshot": ("get_filesystem", ("filesystem",)),
    "create_fs_snapshot": ("get_fs_snapshot", ("filesystem", "name")),
    "create_fs_clone": ("get_filesystem", ("name",)),
    "split_fs_clone": ("get_filesystem", ("name",)),
    "create_consistency_group": ("get_consistency_group", ("name",)),
    "update_consistency_group": ("get_consistency_group", ("name",)),
    "create_cg_snapshot": ("get_cg_snapshot", ("group", "name")),
    "restore_cg_snapshot": ("get_cg_snapshot", ("group", "name")),
}


def _api_arguments(method: str, args: tuple, kwargs: dict) -> dict:
    """Arguments by name, read from the public base class (a backend's own signature may be *args)."""
    for base in (StorageArrayPlugin, FileSystemPlugin):
        if hasattr(base, method):
            bound = inspect.signature(getattr(base, method)).bind(None, *args, **kwargs)
            return dict(bound.arguments)
    return {}


class Proxy:
    """The backend as the tests see it: jobs waited on, every call timed."""

    def __init__(self, backend, uri_id: str) -> None:
        self._backend = backend
        self._timings = TIMINGS.setdefault(uri_id, {})
        self.jobs_seen = 0

    @property
    def raw(self):
        return self._backend

    # helpers for the tests (not backend methods, not timed)
    def available(self, key: str) -> bool:
        return available(self, key)

    def need(self, *keys) -> None:
        need(self, *keys)

    def sweep(self, prefix: str) -> list:
        return sweep(self, prefix)

    def __getattr__(self, name):
        attr = getattr(self._backend, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args, **kwargs):
            started = time.monotonic()
            outcome, job = "ok", None
            try:
                answer = attr(*args, **kwargs)
                if is_job(answer):
                    job = answer
                    answer = self._finish(name, answer, args, kwargs)
                return answer
            except IPluginException as error:
                outcome = error.name
                raise
            finally:
                self._record(name, time.monotonic() - started, outcome, job)

        return call

    def _finish(self, method: str, job: dict, args: tuple, kwargs: dict):
        self.jobs_seen += 1
        deadline = time.monotonic() + JOB_TIMEOUT
        delay = 0.02
        progress = [job.get("progress")]
        while job["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise OperationFailedEx("job %s (%s) still running after %ss" % (job["job_id"], method, JOB_TIMEOUT))
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
            job = self._backend.job_status(job["job_id"])
            progress.append(job.get("progress"))
        if job["status"] == "ERROR":
            raise error_from_dict(job.get("error") or {"msg": "job %s failed" % job["job_id"]})
        known = [value for value in progress if isinstance(value, int) and value >= 0]
        if known != sorted(known):
            raise AssertionError("job %s of %s reported progress going backwards: %s" % (job["job_id"], method, progress))
        if method not in RESULT_OF:
            return None
        getter, names = RESULT_OF[method]
        named = _api_arguments(method, args, kwargs)
        return getattr(self._backend, getter)(*[named[key] for key in names])

    def _record(self, method: str, seconds: float, outcome: str, job) -> None:
        entry = self._timings.setdefault(method, {"calls": 0, "total": 0.0, "max": 0.0, "jobs": 0, "outcomes": {}})
        entry["calls"] += 1
        entry["total"] = round(entry["total"] + seconds, 6)
        entry["max"] = round(max(entry["max"], seconds), 6)
        entry["jobs"] += 1 if job else 0
        entry["outcomes"][outcome] = entry["outcomes"].get(outcome, 0) + 1


# --- targets, names, cleanup -------------------------------------------------------

class Target:
    """One backend under test for the whole session."""

    def __init__(self, uri: str, uri_id: str, prefix: str) -> None:
        self.uri = uri
        self.uri_id = uri_id
        self.prefix = prefix
        self._counter = itertools.count(1)

    def test_prefix(self) -> str:
        """The prefix of the next test's objects."""
        return "%s%03d-" % (self.prefix, next(self._counter))

    def connect(self) -> Proxy:
        backend = connect(self.uri, os.environ.get("STORMGMT_USERNAME"), os.environ.get("STORMGMT_PASSWORD"))
        return Proxy(backend, self.uri_id)


def available(backend, key: str) -> bool:
    return backend.get_abilities().get(key, "UNSUPPORTED") in ABILITY_AVAILABLE


def need(backend, *keys) -> None:
    """Skip the test, naming the ability, unless the backend has all of ``keys``."""
    abilities = backend.get_abilities()
    for key in keys:
        value = abilities.get(key, "UNSUPPORTED")
        if value not in ABILITY_AVAILABLE:
            pytest.skip("the backend reports ability %s=%s" % (key, value))


def sweep(backend, prefix: str) -> list:
    """Delete every object whose name starts with ``prefix``; return the names still there.

    Groups first (their mappings go with them; consistency groups with their group
    snapshots), then LUNs and file systems with force, clones before their parents,
    retrying while something is deleted.
    """
    groups = isinstance(backend.raw, StorageArrayPlugin) and available(backend, "consistency_group")

    def sweep_groups():
        for group in backend.list_consistency_groups():
            if group["name"].startswith(prefix):
                _quietly(backend.delete_consistency_group, group["name"], True)

    if groups:
        sweep_groups()  # a clone of one of their snapshots keeps them until the clones are gone: again below
    if isinstance(backend.raw, StorageArrayPlugin) and available(backend, "access_groups"):
        for group in backend.list_access_groups():
            if group["grp_name"].startswith(prefix):
                _quietly(backend.delete_access_group, group["grp_name"], True)
    kinds = []
    if isinstance(backend.raw, StorageArrayPlugin) and available(backend, "delete_lun"):
        kinds.append((backend.list_luns, backend.delete_lun))
    if isinstance(backend.raw, FileSystemPlugin) and available(backend, "delete_filesystem"):
        kinds.append((backend.list_filesystems, backend.delete_filesystem))
    left = []
    for lister, deleter in kinds:
        for _attempt in range(10):
            mine = [record for record in lister() if record["name"].startswith(prefix)]
            if not mine:
                break
            mine.sort(key=lambda record: record.get("parent") is None)  # clones first
            for record in mine:
                _quietly(deleter, record["name"], True)
        left.extend(record["name"] for record in lister() if record["name"].startswith(prefix))
    if groups:
        sweep_groups()
    if isinstance(backend.raw, StorageArrayPlugin) and available(backend, "access_groups"):
        left.extend(group["grp_name"] for group in backend.list_access_groups() if group["grp_name"].startswith(prefix))
    if groups:
        left.extend(group["name"] for group in backend.list_consistency_groups() if group["name"].startswith(prefix))
    return left


def _quietly(fn, *args):
    try:
        fn(*args)
    except IPluginException:
        pass  # retried, or reported as left over


def foreign_names(backend, prefix: str) -> set:
    names = set()
    if isinstance(backend.raw, StorageArrayPlugin):
        names.update("lun:" + lun["name"] for lun in backend.list_luns())
        if available(backend, "access_groups"):
            names.update("group:" + group["grp_name"] for group in backend.list_access_groups())
        if available(backend, "consistency_group"):
            names.update("cg:" + group["name"] for group in backend.list_consistency_groups())
    if isinstance(backend.raw, FileSystemPlugin):
        names.update("fs:" + fs["name"] for fs in backend.list_filesystems())
    return set(name for name in names if not name.split(":", 1)[1].startswith(prefix))


LINUX_NAS: dict = {}


def start_linux_nas():
    """The session's throw-away Linux NAS (linux_nas.py), or a skip saying what is missing."""
    if "nas" in LINUX_NAS:
        return LINUX_NAS["nas"]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import linux_nas  # pylint: disable=import-outside-toplevel
    if os.geteuid() != 0:
        pytest.skip("the linux:// server needs root (loop devices, mounts, nfs-ganesha)")
    missing = linux_nas.missing_tools()
    if missing:
        pytest.skip("the linux:// server needs %s (make deps installs them)" % ", ".join(missing))
    nas = linux_nas.LinuxNas()
    atexit.register(nas.stop)
    LINUX_NAS["nas"] = nas.start()
    return nas


@pytest.fixture(scope="session")
def target(uri, tmp_path_factory):
    if uri == DEFAULT_URI:
        real_uri, uri_id = "sim://%s" % (tmp_path_factory.mktemp("conformance") / "sim.db"), "sim-default"
    elif uri == DEFAULT_LSM_URI:
        # the plug-in's launcher runs $STORMTEST_PYTHON: this interpreter starts at once (a pyenv shim does not)
        os.environ.setdefault("STORMTEST_PYTHON", sys.executable)
        real_uri = "lsm+stormtest://%s?lsm_plugin_dir=%s" % (
            tmp_path_factory.mktemp("conformance") / "stormtest.json", LSM_TEST_PLUGIN_DIR)
        uri_id = DEFAULT_IDS[uri]
    elif uri == LINUX_URI:
        real_uri, uri_id = start_linux_nas().uri, "linux-nas"
    else:
        real_uri, uri_id = uri, uri
    # lower-case letters, digits and '-' only: valid in every backend's names and in IQNs
    the_target = Target(real_uri, uri_id, "cf-%s-" % secrets.token_hex(3))
    backend = the_target.connect()
    before = foreign_names(backend, the_target.prefix)
    yield the_target
    try:
        left = sweep(backend, the_target.prefix)
        gone = before - foreign_names(backend, the_target.prefix)
        if left:
            warnings.warn("conformance: could not delete %s on %s" % (", ".join(left), uri_id))
        if gone:
            # someone else may have deleted them meanwhile; this suite never deletes outside its prefix
            warnings.warn("conformance: objects outside the prefix disappeared during the run: %s" % ", ".join(sorted(gone)))
    finally:
        backend.close()
        if uri == LINUX_URI and "nas" in LINUX_NAS:
            LINUX_NAS.pop("nas").stop()


@pytest.fixture
def linux_nas(target):
    """The Linux NAS this suite started (tests that restart ganesha or look at the pool need it)."""
    if "nas" not in LINUX_NAS or LINUX_NAS["nas"].uri != target.uri:
        pytest.skip("needs the linux:// server this suite starts itself (no --backend)")
    return LINUX_NAS["nas"]


class Names:
    """Names for one test: ``<run prefix><test number>-<label>``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, label: str) -> str:
        name = self.prefix + label
        if len(name) > 63:
            raise ValueError("conformance name too long: %s" % name)
        return name


@pytest.fixture
def backend(target):
    """A fresh connection per test, as each module run has; the test's objects are swept after it."""
    proxy = target.connect()
    proxy.test_prefix = target.test_prefix()
    yield proxy
    try:
        left = sweep(proxy, proxy.test_prefix)
    finally:
        proxy.close()
    if left:
        pytest.fail("teardown could not delete %s" % ", ".join(left))


@pytest.fixture
def names(backend):
    return Names(backend.test_prefix)


@pytest.fixture
def array(backend):
    """The backend, if it is a storage array (LUN tests skip otherwise)."""
    if not isinstance(backend.raw, StorageArrayPlugin):
        pytest.skip("not a storage array backend")
    return backend


@pytest.fixture
def sizes(array):
    """A small LUN size and a larger one, rounded to the backend's block size."""
    block = array.block_size
    return round_up(16 * MiB, block), round_up(32 * MiB, block)


@pytest.fixture
def make_lun(array, names, sizes):
    """Create a LUN ``names(label)`` in the default pool (thin where the backend can)."""
    thin = available(array, "thin_provisioning")
    if not thin:
        need(array, "thick_provisioning")
    need(array, "create_lun")

    def _make(label: str, size: int | None = None) -> dict:
        return array.create_lun(names(label), array.default_pool(), size or sizes[0], thin, None)

    return _make


@pytest.fixture
def initiators(backend, names):
    """Initiators for a test's access group: none, where the backend allows empty groups; else one
    IQN of the group's own (libstoragemgmt's groups need one, and its simulator refuses an
    initiator that is in another group)."""
    def _make(label: str) -> list:
        if getattr(backend.raw, "empty_access_groups", True):
            return []
        return ["iqn.2026-01.io.stormgmt.conformance:%s" % names(label)]

    return _make


# --- file systems --------------------------------------------------------------------------

@pytest.fixture
def files(backend):
    """The backend, if it makes network file systems (file system tests skip otherwise)."""
    if not isinstance(backend.raw, FileSystemPlugin):
        pytest.skip("not a file system backend")
    need(backend, "create_filesystem")
    return backend


@pytest.fixture
def fs_size(files):
    return round_up(64 * MiB, files.block_size)


# exported to this host, writable by root: the suite reads and writes through the export
LOCAL_EXPORT = {"clients": ["127.0.0.1"], "access_groups": [], "options": ["no_root_squash", "rw"]}


@pytest.fixture
def make_fs(files, names, fs_size):
    """Create a file system ``names(label)`` in the default pool, exported to this host."""

    def _make(label: str, size: int | None = None, export: dict | None = None) -> dict:
        export = LOCAL_EXPORT if export is None else export
        if export.get("clients") or export.get("access_groups"):
            need(files, "nfs_export")
        return files.create_filesystem(names(label), files.default_pool(), size or fs_size, export)

    return _make


class FsData:
    """Files in a file system, the way its users reach them: the directory of a simulator file
    system, or NFS (libnfs nfs-cp/nfs-cat, user space) for one served over NFS."""

    def __init__(self, tmp_path) -> None:
        self.tmp = tmp_path

    @staticmethod
    def _local(record: dict):
        path = record.get("access_path")
        return path if path and os.path.isabs(path) and os.path.isdir(path) else None

    def _url(self, record: dict, relpath: str) -> str:
        url = record.get("nfs_url")
        if not url:
            pytest.skip("%s has neither a local directory nor an NFS URL to reach its files" % record["name"])
        if shutil.which("nfs-cp") is None:
            pytest.skip("reading files over NFS needs libnfs-utils (nfs-cp, nfs-cat)")
        base, _sep, query = url.partition("?")
        return "%s/%s?%s" % (base.rstrip("/"), relpath, query)

    def write(self, record: dict, relpath: str, data: bytes) -> bool:
        """True when the whole of ``data`` was written."""
        local = self._local(record)
        if local:
            try:
                with open(os.path.join(local, relpath), "wb") as handle:
                    handle.write(data)
                return True
            except OSError:
                return False
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import linux_nas  # pylint: disable=import-outside-toplevel
        # libnfs (user space) in WRITEs of 3 KiB: libnfs 4.0's nfs-cp cannot write 4 KiB or more over NFSv4
        return linux_nas.nfs_write(self._url(record, relpath), data) is None

    def read(self, record: dict, relpath: str):
        """The bytes of the file, or None when it cannot be read."""
        local = self._local(record)
        if local:
            try:
                with open(os.path.join(local, relpath), "rb") as handle:
                    return handle.read()
            except OSError:
                return None
        done = subprocess.run(["nfs-cat", self._url(record, relpath)], capture_output=True, check=False, timeout=120)
        return done.stdout if done.returncode == 0 else None


@pytest.fixture
def fsdata(tmp_path):
    return FsData(tmp_path)
