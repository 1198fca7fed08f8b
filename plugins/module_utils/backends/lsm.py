# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The libstoragemgmt backend: ``lsm+NAME://REST`` drives libstoragemgmt's plug-in ``NAME_lsmplugin``.

Any storage system libstoragemgmt supports, through its own plug-ins (sim, simc, ontap,
smispy, targetd, nfs, ...), without the lsmd daemon: the plug-in is started here, with one
end of a socket pair, and spoken to in libstoragemgmt's protocol (:mod:`_lsm_wire`). The
plug-in gets its own URI: ``lsm+sim://?statefile=/x`` becomes ``sim://?statefile=/x``, the
task's ``username`` goes into it (``lsm+ontap://filer1`` with username root:
``ontap://root@filer1``) and its ``password`` goes with it in ``plugin_register`` and
nowhere else. Query parameters starting with ``lsm_`` are this backend's own and are
taken out of the plug-in's URI: ``lsm_plugin_dir`` (the one directory to find the
plug-in in), ``lsm_timeout`` (seconds for one answer, default 120; also the plug-in's
own time-out) and ``lsm_block_size`` (what sizes are rounded up to, default 512).

The plug-in executable is looked up in ``lsm_plugin_dir`` when given (and only there),
else in ``$STORMGMT_LSM_PLUGIN_PATH``, /usr/bin (where libstoragemgmt's packages and its
daemon keep plug-ins), /usr/local/bin (a source install) and ``$PATH``.

How libstoragemgmt's model becomes ours (docs/lsm_backend.md has the tables):

* Objects are found by name. libstoragemgmt names them by id; two volumes of the same
  name make that name unusable (the error names both ids) rather than a guess.
* A LUN is a volume. libstoragemgmt has no LUN snapshots and keeps no lineage, so the
  names carry it: snapshot S of LUN P is the volume ``P@S`` (a point-in-time replica,
  space-efficient where the plug-in can); clone X of P (or of P's snapshot S) is the volume
  ``X@@P`` (``X@@P@S``). ``@`` is never part of a stormgmt name, so no LUN name is ever
  read as one of these. A clone depends on its origin while the plug-in reports a child
  dependency on the origin; splitting removes the origin's dependencies
  (volume_child_dependency_rm), which libstoragemgmt does for all its dependants at once.
* Mappings have no LUN numbers in libstoragemgmt, CHAP is write-only and per initiator,
  and access groups cannot be empty: the class attributes below tell the resources.
* Every write the plug-in answers with a job is either returned as our job (a single
  step), or waited for here (a step of several); ``job_status`` maps progress and frees
  finished jobs.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import uuid as uuidlib

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._identifiers import initiator_type
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.backends import _lsm_wire as wire
from ansible_collections.stormgmt.core.plugins.module_utils.backends._coprocess import CoProcess, env_dirs, search
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    ERROR_CLASSES,
    FileSystemBusyEx,
    IPluginException,
    InvalidValueEx,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    SnapRestoreNotSafeEx,
    StorageElementBusyEx,
    ValueFormatEx,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    ABILITY_AVAILABLE,
    FileSystemPlugin,
    StorageArrayPlugin,
)

SCHEME_PREFIX = "lsm+"
PROGRAM_SUFFIX = "_lsmplugin"
PATH_ENV = "STORMGMT_LSM_PLUGIN_PATH"
# libstoragemgmt's daemon looks in /usr/bin unless told otherwise (lsmd --plugindir); its
# packages install the plug-ins there; a source install with the default prefix, in /usr/local/bin
PLUGIN_DIRS = ("/usr/bin", "/usr/local/bin")
OWN_PARAMS = ("lsm_plugin_dir", "lsm_timeout", "lsm_block_size")
DEFAULT_TIMEOUT = 120.0
CLOSE_TIMEOUT = 5.0
SNAP_SEP = "@"
CLONE_SEP = "@@"

_PART = lazy_compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
_NAME = lazy_compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
_USER = lazy_compile(r"^[^@/:?#\s\x00-\x1f\x7f]{1,255}$")

# ability -> libstoragemgmt capabilities it needs (all of them)
NEEDS = {
    "create_lun": ("VOLUMES", "VOLUME_CREATE"),
    "resize_lun": ("VOLUMES", "VOLUME_RESIZE"),
    "shrink_lun": ("VOLUMES", "VOLUME_RESIZE"),
    "delete_lun": ("VOLUMES", "VOLUME_DELETE"),
    "thin_provisioning": ("VOLUMES", "VOLUME_CREATE", "VOLUME_THIN"),
    "thick_provisioning": ("VOLUMES", "VOLUME_CREATE"),
    "snapshot": ("VOLUMES", "VOLUME_REPLICATE", "VOLUME_DELETE"),
    "snapshot_restore": ("VOLUMES", "VOLUME_REPLICATE", "VOLUME_COPY_RANGE"),
    "clone": ("VOLUMES", "VOLUME_REPLICATE", "VOLUME_REPLICATE_CLONE"),
    "snap_clone": ("VOLUMES", "VOLUME_REPLICATE", "VOLUME_REPLICATE_CLONE", "VOLUME_DELETE"),
    "split_clone": ("VOLUMES", "VOLUME_REPLICATE_CLONE", "VOLUME_CHILD_DEPENDENCY", "VOLUME_CHILD_DEPENDENCY_RM"),
    "access_groups": ("VOLUMES", "ACCESS_GROUPS", "ACCESS_GROUP_DELETE", "VOLUME_MASK", "VOLUME_UNMASK",
                      "VOLUMES_ACCESSIBLE_BY_ACCESS_GROUP"),
    "iscsi_initiators": ("ACCESS_GROUPS", "ACCESS_GROUP_CREATE_ISCSI_IQN", "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN"),
    "fc_initiators": ("ACCESS_GROUPS", "ACCESS_GROUP_CREATE_WWPN", "ACCESS_GROUP_INITIATOR_ADD_WWPN"),
    "chap": ("ACCESS_GROUPS", "VOLUME_ISCSI_CHAP_AUTHENTICATION"),
    "mutual_chap": ("ACCESS_GROUPS", "VOLUME_ISCSI_CHAP_AUTHENTICATION"),
    "create_filesystem": ("FS", "FS_CREATE"),
    "resize_filesystem": ("FS", "FS_RESIZE"),
    "delete_filesystem": ("FS", "FS_DELETE"),
    "fs_snapshot": ("FS", "FS_SNAPSHOTS", "FS_SNAPSHOT_CREATE", "FS_SNAPSHOT_DELETE"),
    "fs_snapshot_restore": ("FS", "FS_SNAPSHOTS", "FS_SNAPSHOT_RESTORE"),
    "fs_clone": ("FS", "FS_CLONE"),
    "fs_snap_clone": ("FS", "FS_CLONE", "FS_SNAPSHOTS"),
    "fs_split_clone": ("FS", "FS_CLONE", "FS_CHILD_DEPENDENCY", "FS_CHILD_DEPENDENCY_RM"),
    "nfs_export": ("FS", "EXPORTS", "EXPORT_FS", "EXPORT_REMOVE"),
}
# features: YES/NO
FEATURES = ("thin_provisioning", "thick_provisioning", "iscsi_initiators", "fc_initiators", "chap", "mutual_chap")
# operations that copy whole volumes report OFFLINE (they work, and may take long)
_SLOW = {"snapshot_restore"}

# export options that are lists of hosts or numbers in libstoragemgmt's NfsExport, not option words
_EXPORT_FLAGS = ("ro", "rw", "no_root_squash", "root_squash")


def _about(subject: str):
    """Decorator: errors the plug-in answers during the call name ``subject`` (formatted with the
    call's arguments), so that a message says which object the refused operation was about."""
    def wrap(method):
        names = method.__code__.co_varnames[1:method.__code__.co_argcount]

        def run(self, *args, **kwargs):
            values = dict(zip(names, args), **kwargs)
            self._subject = subject.format(**dict((key, values.get(key)) for key in names))
            try:
                return method(self, *args, **kwargs)
            finally:
                self._subject = None
        run.__name__ = method.__name__
        run.__doc__ = method.__doc__
        return run
    return wrap


def parse_scheme(scheme: str) -> tuple:
    """``lsm+NAME[+PROTO]`` -> (NAME, the plug-in's scheme). ValueFormatEx unless plain names."""
    rest = scheme[len(SCHEME_PREFIX):]
    parts = rest.split("+")
    if not rest or len(parts) > 2 or not all(_PART.match(part) for part in parts):
        raise ValueFormatEx(
            "server scheme %r: after 'lsm+' comes the libstoragemgmt plug-in's own scheme, a plain name such as "
            "sim, ontap or smispy+ssl (lower-case letters, digits, '.', '-')" % scheme, "server")
    return parts[0], rest


def plugin_search_path(uri_dir: str | None) -> list:
    """Directories searched for ``NAME_lsmplugin``, in order."""
    if uri_dir:
        return [uri_dir]
    dirs = env_dirs(PATH_ENV)
    dirs.extend(PLUGIN_DIRS)
    dirs.extend(env_dirs("PATH") or os.defpath.split(os.pathsep))
    return dirs


def find_plugin(name: str, uri_dir: str | None = None) -> str:
    program = name + PROGRAM_SUFFIX
    found = search(program, plugin_search_path(uri_dir))
    if found is None:
        where = uri_dir if uri_dir else "%s or on PATH" % ", ".join(env_dirs(PATH_ENV) + list(PLUGIN_DIRS))
        raise OperationPreReqNotMetEx(
            "the libstoragemgmt plug-in %s was found neither in %s; install libstoragemgmt's package of that plug-in "
            "(for example libstoragemgmt-%s-plugin), or name its directory in %s or with ?lsm_plugin_dir= in the "
            "server URI" % (program, where, name, PATH_ENV), "server")
    return found


class LsmBackend(StorageArrayPlugin, FileSystemPlugin):
    """Drives one libstoragemgmt plug-in process for one module run."""

    scheme = SCHEME_PREFIX
    lun_numbers = False
    thin_reported = False
    chap_readable = False
    empty_access_groups = False
    snapshot_times = False  # a Volume has no creation time (FsSnapshot has: ts)
    nfs_access_groups = False  # AccessGroup holds iSCSI IQNs and FC WWPNs only
    fs_split_with_parent_snapshots = False  # fs_child_dependency_rm may remove the parent's snapshots

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        self.scheme = uri.scheme
        self.name, self.plugin_scheme = parse_scheme(uri.scheme)
        self.program = self.name + PROGRAM_SUFFIX
        self.timeout = uri.option("lsm_timeout", DEFAULT_TIMEOUT, float)
        if not 0 < self.timeout <= 86400:
            raise ValueFormatEx("server URI parameter lsm_timeout must be a number of seconds, 0 < t <= 86400",
                                "server")
        self.block_size = uri.option("lsm_block_size", 512, int)
        if not 1 <= self.block_size <= 1 << 30:
            raise ValueFormatEx("server URI parameter lsm_block_size must be a positive number of bytes", "server")
        self.plugin_dir = uri.option("lsm_plugin_dir")
        if self.plugin_dir is not None and (not self.plugin_dir.startswith("/") or "\x00" in self.plugin_dir):
            raise ValueFormatEx("server URI parameter lsm_plugin_dir must be an absolute directory", "server")
        if username is not None and not _USER.match(username):
            raise ValueFormatEx("username %r cannot go into a libstoragemgmt URI: no '@', '/', ':', '?', '#', "
                                "spaces or control characters" % username, "username")
        self.plugin_uri = self._plugin_uri(uri.text)
        self._process = CoProcess("libstoragemgmt plug-in %s" % self.program)
        if password:
            self._process.secrets.add(password)
        self._sock = None
        self._buffer = bytearray()
        self._registered = False
        self._register_error: IPluginException | None = None
        self._listing: dict = {}
        self._caps: set | None = None
        # job id -> what it does, for the job records of this run
        self._job_ops: dict = {}
        self._job_progress: dict = {}
        # the object the current operation is about, for the plug-in's error messages
        self._subject: str | None = None

    def _plugin_uri(self, text: str) -> str:
        """The URI the plug-in gets: our scheme prefix, and our own parameters, taken out."""
        rest = text.split("://", 1)[1]
        base, sep, query = rest.partition("?")
        if sep:
            kept = [part for part in query.split("&") if part and part.split("=", 1)[0] not in OWN_PARAMS]
            base = base + ("?" + "&".join(kept) if kept else "")
        if self.username:
            base = "%s@%s" % (self.username, base)
        return "%s://%s" % (self.plugin_scheme, base)

    # --- life cycle ----------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        self._process.check()
        if self._register_error is not None:
            raise type(self._register_error)(self._register_error.msg, self._register_error.key)
        if self._process.running:
            return
        path = find_plugin(self.name, self.plugin_dir)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._process.start(path, (str(theirs.fileno()),), stdin=subprocess.DEVNULL,
                                stdout=CoProcess.TO_STDERR, pass_fds=(theirs.fileno(),))
        except IPluginException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        try:
            self._request("plugin_register", {"uri": self.plugin_uri, "password": self.password,
                                              "timeout": int(self.timeout * 1000)})
        except IPluginException as error:
            if self._process.running:
                self._register_error = error
            raise
        self._registered = True

    def close(self) -> None:
        """plugin_unregister, let the plug-in exit, kill it if it does not. Never raises."""
        if self._process.running and self._registered and self._process.failure is None:
            try:
                self._request("plugin_unregister", {}, timeout=min(self.timeout, CLOSE_TIMEOUT))
            except IPluginException:
                pass
        self._stop(CLOSE_TIMEOUT)

    def _stop(self, grace: float = 0.0) -> None:
        sock, self._sock = self._sock, None

        def hang_up(_proc):
            if sock is not None:
                sock.close()

        self._process.stop(grace, hang_up=hang_up)
        if sock is not None:
            sock.close()

    # --- transport -------------------------------------------------------------------------------
    def _request(self, method: str, params: dict, timeout: float | None = None):
        """Send one request, return its result, raise the error it carries."""
        for key in ("password", "in_password", "out_password"):
            if isinstance(params.get(key), str) and params[key]:
                self._process.secrets.add(params[key])
        deadline = time.monotonic() + (timeout or self.timeout)
        what = "%s (%s)" % (method, self._subject) if self._subject else method
        self._process.send(self._sock.fileno(), wire.encode_request(method, params), what, deadline, self.timeout)
        answer = self._receive(what, deadline)
        if "error" in answer:
            raise self._error(method, answer["error"])
        return answer["result"]

    def _receive(self, method: str, deadline: float) -> dict:
        hint = " (set ?lsm_timeout=SECONDS in the server URI for a slower storage system)"
        fd = self._sock.fileno()
        while len(self._buffer) < wire.HEADER_LEN:
            self._buffer.extend(self._process.receive(fd, method, deadline, self.timeout, hint))
        header = bytes(self._buffer[:wire.HEADER_LEN])
        length = wire.parse_header(header)
        if length is None:
            self._process.fail("%s answered %s with a length header that is not 10 decimal digits of at most %d: %s"
                               % (self._process.label, method, wire.MAX_MESSAGE, wire.excerpt(
                                   header.decode("utf-8", "replace") + bytes(self._buffer[10:60]).decode(
                                       "utf-8", "replace"))))
        while len(self._buffer) < wire.HEADER_LEN + length:
            self._buffer.extend(self._process.receive(fd, method, deadline, self.timeout, hint))
        body = bytes(self._buffer[wire.HEADER_LEN:wire.HEADER_LEN + length])
        del self._buffer[:wire.HEADER_LEN + length]
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError:
            self._process.fail("%s answered %s with something that is not JSON: %s"
                               % (self._process.label, method, wire.excerpt(body.decode("utf-8", "replace"))))
        if self._buffer:
            self._process.fail("%s wrote %d bytes more than the %d its length header announced while answering %s: %s"
                               % (self._process.label, len(self._buffer), length, method,
                                  wire.excerpt(bytes(self._buffer[:80]).decode("utf-8", "replace"))))
        if not isinstance(answer, dict) or ("result" in answer) == ("error" in answer):
            self._process.fail("%s answered %s with %s, which is neither a result nor an error"
                               % (self._process.label, method, wire.excerpt(answer)))
        if "error" in answer and not (isinstance(answer["error"], dict) and isinstance(answer["error"].get("code"), int)):
            self._process.fail("%s answered %s with the malformed error %s"
                               % (self._process.label, method, wire.excerpt(answer["error"])))
        return answer

    def _error(self, method: str, error: dict) -> IPluginException:
        """The exception an error answer stands for, with the plug-in's own message."""
        code = error["code"]
        name, cls = wire.ERRORS.get(code, ("UNKNOWN_ERROR", OperationFailedEx))
        message = str(error.get("message") or "no message")
        data = error.get("data")
        if isinstance(data, str) and data.strip() and data.strip() != message:
            # a plug-in's traceback: only its last line, never the traceback itself
            message += " (%s)" % data.strip().splitlines()[-1].strip()
        exc = cls(self._process.mask("%s: %s(%d): %s" % (self._what(method), name, code, message)))
        exc.lsm_code = code
        return exc

    def _what(self, method: str) -> str:
        what = "plug-in %s refused %s" % (self.name, method)
        return "%s: %s" % (self._subject, what) if self._subject else what

    def call(self, method: str, **params):
        """A request after registration; answers checked by the caller."""
        self._ensure_started()
        return self._request(method, params)

    # --- checked answers --------------------------------------------------------------------------
    def _objects(self, method: str, cls: str, **params) -> list:
        answer = self.call(method, **params)
        if not isinstance(answer, list):
            raise self._malformed(method, "expected a list of %s objects, got %s" % (cls, wire.excerpt(answer)))
        return [self._object(method, item, cls) for item in answer]

    def _object(self, method: str, value, cls: str) -> dict:
        try:
            return wire.check_object(value, cls)
        except ValueFormatEx as error:
            raise self._malformed(method, error.msg) from None

    def _malformed(self, method: str, what: str) -> ValueFormatEx:
        return ValueFormatEx(self._process.mask("plug-in %s answered %s with a malformed result: %s"
                                                % (self.name, method, what)), method)

    def _job_or(self, method: str, answer, cls: str | None, op: str):
        """Answers of the form [job_id, object] (or job_id alone): our job record, or the object."""
        if cls is not None:
            if not isinstance(answer, list) or len(answer) != 2:
                raise self._malformed(method, "expected [job id, %s], got %s" % (cls, wire.excerpt(answer)))
            job, value = answer
        else:
            job, value = answer, None
        if job is not None:
            if not isinstance(job, str) or not job:
                raise self._malformed(method, "the job id is %s" % wire.excerpt(job))
            self._job_ops[job] = op
            return records.make("job", job_id=job, op=op, progress=0, status="RUNNING")
        if cls is not None:
            if value is None:
                raise self._malformed(method, "neither a job id nor a %s" % cls)
            return self._object(method, value, cls)
        return None

    def _is_job(self, value) -> bool:
        return isinstance(value, dict) and "job_id" in value and "progress" in value

    def _finish(self, answer, op: str):
        """Wait here for a job a step of several returned (bounded by lsm_timeout)."""
        if not self._is_job(answer):
            return answer
        deadline = time.monotonic() + self.timeout
        delay = 0.02
        while True:
            job = self.job_status(answer["job_id"])
            if job["status"] == "COMPLETE":
                return None
            if job["status"] == "ERROR":
                error = job.get("error") or {}
                raise ERROR_CLASSES.get(error.get("error"), OperationFailedEx)(
                    error.get("msg") or "job %s (%s) failed" % (answer["job_id"], op))
            if time.monotonic() > deadline:
                raise OperationFailedEx("job %s (%s) of plug-in %s did not finish within %ss; it goes on on the "
                                        "storage system" % (answer["job_id"], op, self.name, self.timeout))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def job_status(self, job_id: str) -> dict:
        op = self._job_ops.get(job_id, "job %s" % job_id)
        try:
            answer = self.call("job_status", job_id=job_id)
        except IPluginException as error:
            if self._process.failure is not None:
                raise
            self._free(job_id)
            return records.make("job", job_id=job_id, op=op, progress=None, status="ERROR", error=error.to_dict())
        if (not isinstance(answer, list) or len(answer) != 3 or answer[0] not in (
                wire.JOB_INPROGRESS, wire.JOB_COMPLETE, wire.JOB_ERROR)
                or not isinstance(answer[1], int) or isinstance(answer[1], bool)):
            raise self._malformed("job_status", "expected [status 1-3, percent, object or null], got %s"
                                  % wire.excerpt(answer))
        # progress never goes back in our job records, whatever a plug-in reports (simc's is random)
        status, percent = answer[0], max(0, min(100, answer[1]), self._job_progress.get(job_id, 0))
        self._job_progress[job_id] = percent
        self._invalidate()
        if status == wire.JOB_INPROGRESS:
            return records.make("job", job_id=job_id, op=op, progress=percent, status="RUNNING")
        self._free(job_id)
        if status == wire.JOB_COMPLETE:
            return records.make("job", job_id=job_id, op=op, progress=100, status="COMPLETE")
        return records.make("job", job_id=job_id, op=op, progress=percent, status="ERROR",
                            error=OperationFailedEx("plug-in %s reports that job %s (%s) failed"
                                                    % (self.name, job_id, op)).to_dict())

    def _free(self, job_id: str) -> None:
        try:
            self.call("job_free", job_id=job_id)
        except IPluginException:
            if self._process.failure is not None:
                raise

    # --- capabilities and abilities -------------------------------------------------------------------
    def capabilities(self) -> set:
        """Names of the libstoragemgmt capabilities every system of the plug-in supports."""
        if self._caps is None:
            caps = None
            for system in self._systems():
                value = self._object("capabilities", self.call("capabilities", system=system), "Capabilities")
                names = wire.supported(value["cap"])
                caps = names if caps is None else caps & names
            self._caps = caps or set()
        return self._caps

    def get_abilities(self) -> dict:
        caps = self.capabilities()
        abilities = {}
        for key, needs in NEEDS.items():
            ok = all(need in caps for need in needs)
            if key == "snapshot" and ok:
                ok = bool(caps & {"VOLUME_REPLICATE_CLONE", "VOLUME_REPLICATE_COPY"})
            if key == "snapshot_restore" and ok:
                ok = bool(caps & {"VOLUME_COPY_RANGE_COPY", "VOLUME_COPY_RANGE_CLONE"})
            if key in FEATURES:
                abilities[key] = "YES" if ok else "NO"
            elif not ok:
                abilities[key] = "UNSUPPORTED"
            elif key in _SLOW or (key == "snapshot" and "VOLUME_REPLICATE_CLONE" not in caps):
                abilities[key] = "OFFLINE"
            else:
                abilities[key] = "ONLINE"
        abilities.update(qos="NO", async_jobs="YES", backing_device_type="UNSUPPORTED")
        # libstoragemgmt's API has no consistency groups (nor snapshots of several volumes at one instant)
        abilities.update(consistency_group="UNSUPPORTED", cg_snapshot="UNSUPPORTED", cg_snapshot_restore="UNSUPPORTED",
                         cg_filesystems="NO")
        return abilities

    def require(self, key: str, action: str) -> str:
        value = self.ability(key)
        if value not in ABILITY_AVAILABLE:
            missing = [need for need in NEEDS.get(key, ()) if need not in self.capabilities()]
            because = ""
            if missing:
                because = " (it lacks the libstoragemgmt capabilit%s %s)" % (
                    "y" if len(missing) == 1 else "ies", ", ".join(missing))
            raise NoSuchOperationEx("cannot %s: the libstoragemgmt plug-in %s reports ability %s=%s%s"
                                    % (action, self.name, key, value, because))
        return value

    def _need(self, action: str, *caps) -> None:
        missing = [cap for cap in caps if cap not in self.capabilities()]
        if missing:
            raise NoSuchOperationEx("cannot %s: the libstoragemgmt plug-in %s lacks the capabilit%s %s"
                                    % (action, self.name, "y" if len(missing) == 1 else "ies", ", ".join(missing)))

    # --- listings (cached until the next write) ---------------------------------------------------------
    def _cached(self, key: str, fetch):
        self._process.check()  # after a failure, nothing is answered from what was read before
        if key not in self._listing:
            self._listing[key] = fetch()
        return self._listing[key]

    def _invalidate(self) -> None:
        self._listing.clear()

    def _systems(self) -> list:
        def fetch():
            systems = self._objects("systems", "System")
            if not systems:
                raise OperationFailedEx("plug-in %s reports no storage system at %s" % (self.name, self.plugin_uri))
            return systems
        return self._cached("systems", fetch)

    def _pools(self) -> list:
        return self._cached("pools", lambda: self._objects("pools", "Pool", search_key=None, search_value=None))

    def _pool_names(self) -> dict:
        """Pool id -> our name: its name when that is a valid stormgmt name used once, else its id."""
        def fetch():
            pools = self._pools()
            counts: dict = {}
            for pool in pools:
                counts[pool["name"]] = counts.get(pool["name"], 0) + 1
            return dict((pool["id"], pool["name"] if _NAME.match(pool["name"]) and counts[pool["name"]] == 1
                         else pool["id"]) for pool in pools)
        return self._cached("pool_names", fetch)

    def _pool(self, name: str) -> dict | None:
        names = self._pool_names()
        for pool in self._pools():
            if names[pool["id"]] == name:
                return pool
        return None

    def _volumes(self) -> list:
        if "VOLUMES" not in self.capabilities():
            return []
        return self._cached("volumes", lambda: self._objects("volumes", "Volume", search_key=None, search_value=None))

    def _groups(self) -> list:
        if "ACCESS_GROUPS" not in self.capabilities():
            return []
        return self._cached("groups", lambda: self._objects("access_groups", "AccessGroup", search_key=None,
                                                            search_value=None))

    def _masking(self) -> dict:
        """Access group id -> ids of the volumes masked to it."""
        def fetch():
            if "VOLUMES_ACCESSIBLE_BY_ACCESS_GROUP" not in self.capabilities():
                return {}
            return dict((group["id"], [vol["id"] for vol in self._objects(
                "volumes_accessible_by_access_group", "Volume", access_group=group)]) for group in self._groups())
        return self._cached("masking", fetch)

    def _dependants(self, volume: dict) -> bool | None:
        """Whether the plug-in reports volumes depending on ``volume`` (None: it cannot say)."""
        if "VOLUME_CHILD_DEPENDENCY" not in self.capabilities():
            return None
        key = "dep:" + volume["id"]

        def fetch():
            answer = self.call("volume_child_dependency", volume=volume)
            if not isinstance(answer, bool):
                raise self._malformed("volume_child_dependency", "expected true or false, got %s" % wire.excerpt(answer))
            return answer
        return self._cached(key, fetch)

    # --- names: volumes as LUNs, snapshots and clones ----------------------------------------------------
    @staticmethod
    def parse_volume_name(raw: str) -> tuple:
        """(kind, name, parent, parent snapshot): kind is lun, snap or clone."""
        if CLONE_SEP in raw:
            name, origin = raw.split(CLONE_SEP, 1)
            parent, sep, snap = origin.partition(SNAP_SEP)
            if _NAME.match(name) and _NAME.match(parent) and (not sep or _NAME.match(snap)):
                return "clone", name, parent, snap if sep else None
        elif SNAP_SEP in raw:
            parent, snap = raw.split(SNAP_SEP, 1)
            if _NAME.match(parent) and _NAME.match(snap):
                return "snap", snap, parent, None
        return "lun", raw, None, None

    def _vols_by(self, kind: str, name: str, parent: str | None = None) -> list:
        found = []
        for vol in self._volumes():
            vkind, vname, vparent, _vsnap = self.parse_volume_name(vol["name"])
            if kind == "lun" and vkind in ("lun", "clone") and vname == name:
                found.append(vol)
            elif kind == "snap" and vkind == "snap" and vname == name and vparent == parent:
                found.append(vol)
        return found

    def _one(self, found: list, what: str) -> dict | None:
        if len(found) > 1:
            raise InvalidValueEx(
                "%s is ambiguous: the storage system has %d volumes for it (%s); rename or remove all but one with "
                "the storage system's own tools" % (what, len(found), ", ".join(
                    "'%s' id %s" % (vol["name"], vol["id"]) for vol in found)), "name")
        return found[0] if found else None

    def _lun_volume(self, name: str) -> dict | None:
        return self._one(self._vols_by("lun", name), "LUN '%s'" % name)

    def _snap_volume(self, lun: str, name: str) -> dict | None:
        return self._one(self._vols_by("snap", name, lun), "snapshot '%s' of LUN '%s'" % (name, lun))

    def _existing(self, lun: str) -> dict:
        vol = self._lun_volume(lun)
        if vol is None:
            raise OperationPreReqNotMetEx("LUN '%s' does not exist" % lun, "name")
        return vol

    def _origin(self, parent: str, snap: str | None) -> dict | None:
        return self._snap_volume(parent, snap) if snap else self._lun_volume(parent)

    # --- records -------------------------------------------------------------------------------------------
    def _server_uuid(self) -> str:
        ids = ",".join(sorted(system["id"] for system in self._systems()))
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "lsm:%s:%s" % (self.name, ids)))

    def _uuid(self, kind: str, obj: dict) -> str:
        return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, "lsm:%s:%s:%s:%s" % (self.name, obj.get("system_id"), kind,
                                                                             obj["id"])))

    def _extra(self, obj: dict, **more) -> str:
        info = dict(lsm_id=obj["id"], lsm_name=obj["name"])
        if obj.get("system_id") is not None:
            info["lsm_system_id"] = obj["system_id"]
        info.update(more)
        return json.dumps(info, sort_keys=True)

    def _groups_of(self, vol: dict) -> list:
        masking = self._masking()
        return sorted(group["name"] for group in self._groups() if vol["id"] in masking.get(group["id"], []))

    def _volume_record(self, vol: dict) -> dict:
        kind, name, parent, snap = self.parse_volume_name(vol["name"])
        se_type = "LUN"
        if kind == "snap":
            se_type = "SNAP"
        elif kind == "clone":
            origin = self._origin(parent, snap)
            if origin is None or self._dependants(origin) is False:
                parent = snap = None  # split (or its origin is gone): independent
            elif snap:
                se_type = "SNAPCLONE"
        enabled = vol["admin_state"] == wire.ADMIN_STATE_ENABLED
        return records.make(
            "storage_element", name=name, uuid=self._uuid("volume", vol), id=vol["id"], ss_uuid=self._server_uuid(),
            page83_id=vol["vpd83"] or None, se_type=se_type, size=vol["block_size"] * vol["num_of_blocks"],
            thin=None, vol_group_name=self._pool_names().get(vol["pool_id"], vol["pool_id"]),
            access_grp_names=self._groups_of(vol), qos=None, state="ONLINE" if enabled else "OFFLINE",
            status="OK" if enabled else "disabled by the storage administrator", path=[], array_path=vol["name"],
            parent=parent, parent_snapshot=snap, extra_info=self._extra(vol, lsm_pool_id=vol["pool_id"]))

    @staticmethod
    def _entry_of(init_id: str) -> str:
        """libstoragemgmt's initiator form -> ours (WWPN 10:00:... -> 0x1000...)."""
        plain = init_id.replace(":", "").replace("-", "").replace(".", "").lower()
        if re.match(r"^(0x)?[0-9a-f]{16}$", plain) and not init_id.lower().startswith(("iqn.", "eui.", "naa.")):
            return "0x" + plain[-16:]
        return init_id.lower() if init_id.lower().startswith(("eui.", "naa.")) else init_id

    @staticmethod
    def _init_of(entry: str) -> tuple:
        """Our initiator -> (libstoragemgmt's form, init_type); InvalidValueEx for NFS clients."""
        kind = initiator_type(entry)
        if kind == "wwpn":
            hexa = entry[2:]
            return ":".join(hexa[i:i + 2] for i in range(0, 16, 2)), wire.INIT_TYPE_WWPN
        if kind in ("iqn", "eui", "naa"):
            return entry, wire.INIT_TYPE_ISCSI_IQN
        raise InvalidValueEx("'%s' is not an initiator: libstoragemgmt access groups hold iSCSI names and FC WWPNs, "
                             "not NFS clients" % entry, "initiators")

    def _group_record(self, group: dict) -> dict:
        masking = self._masking()
        vols = dict((vol["id"], vol) for vol in self._volumes())
        luns = []
        for vol_id in masking.get(group["id"], []):
            if vol_id in vols:
                luns.append({"name": self.parse_volume_name(vols[vol_id]["name"])[1], "lun_id": None})
        return records.make(
            "access_group", grp_name=group["name"], grp_entries=sorted(self._entry_of(i) for i in group["init_ids"]),
            uuid=self._uuid("access_group", group), luns=sorted(luns, key=lambda lun: lun["name"]))

    # --- server, pools ---------------------------------------------------------------------------------------
    def get_server(self) -> dict:
        systems = self._systems()
        try:
            info = self.call("plugin_info")
            desc = "%s %s" % (info[0], info[1]) if isinstance(info, list) and len(info) == 2 else str(info)
        except IPluginException:
            desc = "libstoragemgmt plug-in"
        pools = self.list_pools()
        ok = all(system["status"] & wire.SYSTEM_STATUS_OK for system in systems)
        caps = self.capabilities()
        storage_type = "SANStorage" if "VOLUMES" in caps or "FS" not in caps else "NetworkFileSystem"
        total = sum(pool["vol_total_sz"] for pool in pools)
        free = sum(pool["vol_free_sz"] for pool in pools)
        return records.make(
            "storage_server", name=systems[0]["name"], uuid=self._server_uuid(),
            storage_server_id=",".join(system["id"] for system in systems), storage_type=storage_type,
            backend=self.scheme, uri=self.uri.text, chap="VOLUME_ISCSI_CHAP_AUTHENTICATION" in caps,
            status="OK" if ok else "; ".join(
                "%s: %s" % (system["name"], system.get("status_info") or "not OK") for system in systems),
            total_sz=total, used_sz=total - free, free_sz=free, vol_groups=[pool["vol_name"] for pool in pools],
            access_grps=sorted(group["name"] for group in self._groups()),
            storage_desc="%s, through libstoragemgmt's %s" % (desc.strip(), self.program),
            extra_info=json.dumps({"lsm_plugin": self.program, "lsm_capabilities": sorted(caps)}, sort_keys=True))

    def list_pools(self) -> list:
        names = self._pool_names()
        out = []
        for pool in self._pools():
            total, free = pool["total_space"], pool["free_space"]
            known = total >= 0 and free >= 0
            total, free = (total, min(free, total)) if known else (0, 0)
            uses = [what for bit, what in ((wire.ELEMENT_TYPE_VOLUME, "volumes"), (wire.ELEMENT_TYPE_FS, "file systems"))
                    if pool["element_type"] & bit]
            out.append(records.make(
                "vol_group", vol_name=names[pool["id"]], vol_total_sz=total, vol_used_sz=total - free, vol_free_sz=free,
                vol_desc="libstoragemgmt pool '%s' (id %s; for %s%s)" % (
                    pool["name"], pool["id"], " and ".join(uses) or "nothing this collection makes",
                    "" if known else "; its size is unknown")))
        return out

    def default_pool(self) -> str:
        """The first pool that takes volumes (file systems, for a NAS-only plug-in), not reserved."""
        names = self._pool_names()
        want = wire.ELEMENT_TYPE_VOLUME if "VOLUMES" in self.capabilities() else wire.ELEMENT_TYPE_FS
        for strict in (True, False):
            for pool in self._pools():
                if not pool["element_type"] & want:
                    continue
                if strict and (pool["element_type"] & wire.ELEMENT_TYPE_SYS_RESERVED
                               or pool["unsupported_actions"] & wire.UNSUPPORTED_VOLUME_GROW):
                    continue
                return names[pool["id"]]
        raise InvalidValueEx("the storage system behind plug-in %s has no pool for %s"
                             % (self.name, "volumes" if want == wire.ELEMENT_TYPE_VOLUME else "file systems"), "pool")

    # --- LUNs ------------------------------------------------------------------------------------------------
    def list_luns(self) -> list:
        return [self._volume_record(vol) for vol in self._volumes()
                if self.parse_volume_name(vol["name"])[0] in ("lun", "clone")]

    def get_lun(self, name: str) -> dict | None:
        vol = self._lun_volume(name)
        return None if vol is None else self._volume_record(vol)

    def list_clones(self, lun: str) -> list:
        return [record for record in self.list_luns() if record.get("parent") == lun]

    def _check_free_name(self, name: str, what: str) -> None:
        if self._vols_by("lun", name) or any(vol["name"] == name for vol in self._volumes()):
            raise InvalidValueEx("%s cannot be made: LUN '%s' already exists" % (what, name), "name")

    @_about("LUN '{name}'")
    def create_lun(self, name: str, pool: str, size: int, thin: bool, qos: str | None) -> dict:
        self._need("create LUN '%s'" % name, "VOLUMES", "VOLUME_CREATE")
        if qos is not None:
            raise NoSuchOperationEx("cannot set QoS %r on LUN '%s': libstoragemgmt has no QoS levels" % (qos, name))
        if thin:
            self._need("create thin LUN '%s'" % name, "VOLUME_THIN")
        self._check_free_name(name, "LUN '%s'" % name)
        lsm_pool = self._pool(pool)
        if lsm_pool is None:
            raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (
                pool, ", ".join(sorted(self._pool_names().values()))), "pool")
        if not lsm_pool["element_type"] & wire.ELEMENT_TYPE_VOLUME:
            raise InvalidValueEx("pool '%s' holds no volumes (libstoragemgmt element type %d)"
                                 % (pool, lsm_pool["element_type"]), "pool")
        answer = self.call("volume_create", pool=lsm_pool, volume_name=name, size_bytes=size,
                           provisioning=wire.PROVISION_THIN if thin else wire.PROVISION_FULL)
        self._invalidate()
        return self._as_record(self._job_or("volume_create", answer, "Volume", "create LUN '%s'" % name))

    def _as_record(self, value):
        if value is None or self._is_job(value):
            return value
        self._invalidate()
        return self._volume_record(value)

    @_about("LUN '{name}'")
    def resize_lun(self, name: str, size: int) -> dict:
        self._need("resize LUN '%s'" % name, "VOLUMES", "VOLUME_RESIZE")
        vol = self._existing(name)
        self._check_resizable(vol, size, "LUN '%s'" % name)
        answer = self.call("volume_resize", volume=vol, new_size_bytes=size)
        self._invalidate()
        return self._as_record(self._job_or("volume_resize", answer, "Volume", "resize LUN '%s'" % name))

    def _check_resizable(self, vol: dict, size: int, what: str) -> None:
        pools = dict((pool["id"], pool) for pool in self._pools())
        pool = pools.get(vol["pool_id"])
        current = vol["block_size"] * vol["num_of_blocks"]
        if pool is None:
            return
        bit, verb = ((wire.UNSUPPORTED_VOLUME_GROW, "grow") if size > current else (wire.UNSUPPORTED_VOLUME_SHRINK, "shrink"))
        if pool["unsupported_actions"] & bit:
            raise NoSuchOperationEx("cannot %s %s: libstoragemgmt pool '%s' does not let its volumes %s"
                                    % (verb, what, pool["name"], verb))

    @_about("LUN '{name}'")
    def delete_lun(self, name: str, force: bool = False):
        self._need("delete LUN '%s'" % name, "VOLUMES", "VOLUME_DELETE")
        vol = self._existing(name)
        what = "LUN '%s'" % name
        clones = [record["name"] for record in self.list_clones(name)]
        if clones:
            raise StorageElementBusyEx("%s has clones that depend on it (%s): split or delete them first"
                                       % (what, ", ".join(clones)))
        snaps = self._vols_snapshots_of(name)
        groups = [group for group in self._groups() if vol["id"] in self._masking().get(group["id"], [])]
        if not force and (snaps or groups):
            reasons = []
            if groups:
                reasons.append("is mapped to access group(s) %s" % ", ".join(group["name"] for group in groups))
            if snaps:
                reasons.append("has snapshot(s) %s" % ", ".join(self.parse_volume_name(s["name"])[1] for s in snaps))
            raise StorageElementBusyEx("%s %s; unmap/delete them first or set force: true" % (what, " and ".join(reasons)))
        if not snaps and self._dependants(vol):
            raise StorageElementBusyEx("%s has dependants that were not made through this collection (the plug-in "
                                       "reports a child dependency): remove them with the storage system's own tools"
                                       % what)
        for snap in snaps:
            for clone in self.list_luns():
                if clone.get("parent") == name and clone.get("parent_snapshot") == self.parse_volume_name(snap["name"])[1]:
                    raise StorageElementBusyEx("%s: its snapshot has clone %s" % (what, clone["name"]))
        for group in groups:
            self._unmask(group, vol)
        for snap in snaps:
            self._finish(self._job_or("volume_delete", self.call("volume_delete", volume=snap), None,
                                      "delete snapshot volume '%s'" % snap["name"]), "delete snapshot")
            self._invalidate()
        answer = self.call("volume_delete", volume=vol)
        self._invalidate()
        return self._job_or("volume_delete", answer, None, "delete %s" % what)

    def _vols_snapshots_of(self, lun: str) -> list:
        return [vol for vol in self._volumes() if self.parse_volume_name(vol["name"])[0] == "snap"
                and self.parse_volume_name(vol["name"])[2] == lun]

    # --- snapshots ---------------------------------------------------------------------------------------------
    def list_snapshots(self, lun: str | None = None) -> list:
        return [self._volume_record(vol) for vol in self._volumes() if self.parse_volume_name(vol["name"])[0] == "snap"
                and (lun is None or self.parse_volume_name(vol["name"])[2] == lun)]

    def get_snapshot(self, lun: str, name: str) -> dict | None:
        vol = self._snap_volume(lun, name)
        return None if vol is None else self._volume_record(vol)

    @_about("snapshot '{name}' of LUN '{lun}'")
    def create_snapshot(self, lun: str, name: str) -> dict:
        what = "snapshot '%s' of LUN '%s'" % (name, lun)
        self._need("create %s" % what, "VOLUMES", "VOLUME_REPLICATE")
        caps = self.capabilities()
        if not caps & {"VOLUME_REPLICATE_CLONE", "VOLUME_REPLICATE_COPY"}:
            self._need("create %s" % what, "VOLUME_REPLICATE_CLONE")
        # space-efficient where the plug-in can, else a full copy
        rep_type = wire.REPLICATE_CLONE if "VOLUME_REPLICATE_CLONE" in caps else wire.REPLICATE_COPY
        vol = self._existing(lun)
        raw = lun + SNAP_SEP + name
        if self._snap_volume(lun, name) is not None or any(v["name"] == raw for v in self._volumes()):
            raise InvalidValueEx("%s already exists" % what, "name")
        answer = self.call("volume_replicate", pool=None, rep_type=rep_type, volume_src=vol, name=raw)
        self._invalidate()
        return self._as_record(self._job_or("volume_replicate", answer, "Volume", "create %s" % what))

    @_about("snapshot '{name}' of LUN '{lun}'")
    def delete_snapshot(self, lun: str, name: str):
        what = "snapshot '%s' of LUN '%s'" % (name, lun)
        self._need("delete %s" % what, "VOLUMES", "VOLUME_DELETE")
        snap = self._snap_volume(lun, name)
        if snap is None:
            raise OperationPreReqNotMetEx("%s does not exist" % what, "name")
        clones = [r["name"] for r in self.list_luns() if r.get("parent") == lun and r.get("parent_snapshot") == name]
        if clones:
            raise StorageElementBusyEx("%s has clones that depend on it (%s): split or delete them first"
                                       % (what, ", ".join(clones)))
        groups = self._groups_of(snap)
        if groups:
            raise StorageElementBusyEx("%s is mapped to access group(s) %s; unmap it first" % (what, ", ".join(groups)))
        answer = self.call("volume_delete", volume=snap)
        self._invalidate()
        return self._job_or("volume_delete", answer, None, "delete %s" % what)

    @_about("LUN '{lun}'")
    def restore_snapshot(self, lun: str, name: str) -> dict:
        what = "LUN '%s' to its snapshot '%s'" % (lun, name)
        self._need("restore %s" % what, "VOLUMES", "VOLUME_COPY_RANGE")
        caps = self.capabilities()
        if not caps & {"VOLUME_COPY_RANGE_COPY", "VOLUME_COPY_RANGE_CLONE"}:
            self._need("restore %s" % what, "VOLUME_COPY_RANGE_COPY")
        vol = self._existing(lun)
        snap = self._snap_volume(lun, name)
        if snap is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of LUN '%s' does not exist" % (name, lun), "name")
        groups = self._groups_of(vol)
        if groups:
            raise SnapRestoreNotSafeEx("restoring %s would change the data under the initiators of access group(s) %s; "
                                       "unmap it first" % (what, ", ".join(groups)))
        size = snap["block_size"] * snap["num_of_blocks"]
        current = vol["block_size"] * vol["num_of_blocks"]
        if size != current:
            self._need("restore %s (it changed size)" % what, "VOLUME_RESIZE")
            self._check_resizable(vol, size, "LUN '%s'" % lun)
        unit = vol["block_size"]
        if "VOLUME_COPY_RANGE_BLOCK_SIZE" in caps:
            system = [s for s in self._systems() if s["id"] == vol["system_id"]] or self._systems()
            unit = self.call("volume_replicate_range_block_size", system=system[0])
            if not isinstance(unit, int) or isinstance(unit, bool) or unit <= 0:
                raise self._malformed("volume_replicate_range_block_size", "block size %s" % wire.excerpt(unit))
        if size % unit:
            raise NoSuchOperationEx("cannot restore %s: its size is not a multiple of the plug-in's copy unit %d"
                                    % (what, unit))
        if size != current:
            self._finish(self._job_or("volume_resize", self.call("volume_resize", volume=vol, new_size_bytes=size),
                                      "Volume", "resize LUN '%s'" % lun), "resize")
            self._invalidate()
            vol = self._existing(lun)
        rep_type = wire.REPLICATE_COPY if "VOLUME_COPY_RANGE_COPY" in caps else wire.REPLICATE_CLONE
        ranges = [{"class": "BlockRange", "src_block": 0, "dest_block": 0, "block_count": size // unit}]
        had_dependants = self._dependants(snap)
        try:
            answer = self.call("volume_replicate_range", rep_type=rep_type, volume_src=snap, volume_dest=vol,
                               ranges=ranges)
            if answer is not None and not isinstance(answer, str):
                raise self._malformed("volume_replicate_range", "expected a job id or null, got %s"
                                      % wire.excerpt(answer))
            # waited for here: the copy must be over before the relation it leaves is removed
            self._finish(self._job_or("volume_replicate_range", answer, None, "restore %s" % what), "restore")
        except IPluginException:
            if size != current:
                self._undo(lambda: self.call("volume_resize", volume=vol, new_size_bytes=current))
            raise
        self._invalidate()
        if had_dependants is False and self._dependants(snap):
            # some plug-ins (simc) keep the copy as a replication from the snapshot to the LUN, which
            # would tie the two together for good: the data is copied, so that relation goes
            self._done(self.call("volume_child_dependency_rm", volume=snap), "restore")
            self._invalidate()
        return self.get_lun(lun)

    def _undo(self, step) -> None:
        """A rollback step: best effort, its own failure does not hide the first one."""
        try:
            self._done(step(), "undo")
        except IPluginException:
            pass
        finally:
            self._invalidate()

    def _done(self, answer, op: str) -> None:
        """Wait for whatever job a raw answer carries (a job id, or [job id, object])."""
        if isinstance(answer, list) and len(answer) == 2:
            answer = answer[0]
        if isinstance(answer, str) and answer:
            self._finish(records.make("job", job_id=answer, op=op, progress=0, status="RUNNING"), op)

    # --- clones --------------------------------------------------------------------------------------------------
    @_about("clone '{name}'")
    def create_clone(self, name: str, lun: str, snapshot: str | None = None) -> dict:
        what = "clone '%s' of %s" % (name, "snapshot '%s' of LUN '%s'" % (snapshot, lun) if snapshot else "LUN '%s'" % lun)
        self._need("create %s" % what, "VOLUMES", "VOLUME_REPLICATE", "VOLUME_REPLICATE_CLONE")
        self._existing(lun)
        source = self._origin(lun, snapshot)
        if source is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of LUN '%s' does not exist" % (snapshot, lun), "snapshot")
        self._check_free_name(name, what)
        raw = name + CLONE_SEP + lun + (SNAP_SEP + snapshot if snapshot else "")
        answer = self.call("volume_replicate", pool=None, rep_type=wire.REPLICATE_CLONE, volume_src=source, name=raw)
        self._invalidate()
        return self._as_record(self._job_or("volume_replicate", answer, "Volume", "create %s" % what))

    @_about("clone '{name}'")
    def split_clone(self, name: str) -> dict:
        what = "clone '%s'" % name
        self._need("split %s" % what, "VOLUMES", "VOLUME_CHILD_DEPENDENCY", "VOLUME_CHILD_DEPENDENCY_RM")
        vol = self._existing(name)
        kind, _name, parent, snap = self.parse_volume_name(vol["name"])
        origin = self._origin(parent, snap) if kind == "clone" else None
        if origin is None or not self._dependants(origin):
            return self._volume_record(vol)
        answer = self.call("volume_child_dependency_rm", volume=origin)
        self._invalidate()
        if answer is not None and not isinstance(answer, str):
            raise self._malformed("volume_child_dependency_rm", "expected a job id or null, got %s" % wire.excerpt(answer))
        job = self._job_or("volume_child_dependency_rm", answer, None, "split %s" % what)
        return job if job is not None else self.get_lun(name)

    def clone_origin(self, name: str) -> dict | None:
        """Where LUN ``name`` was cloned from, split or not: its volume's name ``X@@P[@S]`` says so.

        libstoragemgmt keeps no lineage; the name this backend gave the clone when it made it is
        the record (the same one ``parent`` of an unsplit clone is read from). It does not tell a
        LUN that was deleted and made again under the same name from the one cloned, so
        ``parent_uuid`` is None (docs/lsm_backend.md, section 4)."""
        vol = self._lun_volume(name)
        return None if vol is None else self._name_origin(vol["name"])

    def _name_origin(self, raw: str) -> dict | None:
        kind, _name, parent, snap = self.parse_volume_name(raw)
        if kind != "clone":
            return None
        return {"parent": parent, "parent_snapshot": snap, "parent_uuid": None}

    # --- access groups --------------------------------------------------------------------------------------------
    def list_access_groups(self) -> list:
        return [self._group_record(group) for group in self._groups()]

    def _group(self, name: str) -> dict | None:
        found = [group for group in self._groups() if group["name"] == name]
        if len(found) > 1:
            raise InvalidValueEx("access group '%s' is ambiguous: the storage system has %d of that name (ids %s)"
                                 % (name, len(found), ", ".join(group["id"] for group in found)), "name")
        return found[0] if found else None

    def get_access_group(self, name: str) -> dict | None:
        group = self._group(name)
        return None if group is None else self._group_record(group)

    def _lun_volumes(self, luns: list, what: str) -> list:
        vols = []
        for lun in luns:
            if lun.get("lun_id") is not None:
                raise NoSuchOperationEx("cannot give LUN '%s' the number %s in %s: libstoragemgmt does not take LUN "
                                        "numbers" % (lun["name"], lun["lun_id"], what))
            vol = self._lun_volume(lun["name"])
            if vol is None:
                raise OperationPreReqNotMetEx("LUN '%s' does not exist, so %s cannot map it" % (lun["name"], what), "luns")
            vols.append(vol)
        return vols

    def _check_entries(self, entries: list, what: str) -> list:
        inits = [self._init_of(entry) for entry in entries]
        caps = self.capabilities()
        for _init, init_type in inits:
            if init_type == wire.INIT_TYPE_WWPN and "ACCESS_GROUP_INITIATOR_ADD_WWPN" not in caps:
                self._need("add FC WWPNs to %s" % what, "ACCESS_GROUP_INITIATOR_ADD_WWPN")
            if init_type == wire.INIT_TYPE_ISCSI_IQN and "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN" not in caps:
                self._need("add iSCSI initiators to %s" % what, "ACCESS_GROUP_INITIATOR_ADD_ISCSI_IQN")
        return inits

    def _chap_steps(self, inits: list, chap: dict | None, what: str) -> list:
        if not chap:
            return []
        self._need("set CHAP on %s" % what, "VOLUME_ISCSI_CHAP_AUTHENTICATION")
        for key in ("password", "mutual_password"):
            if chap.get(key):
                self._process.secrets.add(chap[key])
        return [dict(init_id=init, in_user=chap.get("username"), in_password=chap.get("password"),
                     out_user=chap.get("mutual_username"), out_password=chap.get("mutual_password"))
                for init, init_type in inits if init_type == wire.INIT_TYPE_ISCSI_IQN]

    @_about("access group '{name}'")
    def create_access_group(self, name: str, entries: list, luns: list, chap: dict | None) -> dict:
        what = "access group '%s'" % name
        self._need("create %s" % what, "ACCESS_GROUPS", "VOLUME_MASK")
        if self._group(name) is not None:
            raise InvalidValueEx("%s already exists" % what, "name")
        if not entries:
            raise InvalidValueEx("%s needs at least one initiator: libstoragemgmt access groups cannot be empty" % what,
                                 "initiators")
        inits = self._check_entries(entries, what)
        first, first_type = inits[0]
        self._need("create %s" % what, "ACCESS_GROUP_CREATE_WWPN" if first_type == wire.INIT_TYPE_WWPN
                   else "ACCESS_GROUP_CREATE_ISCSI_IQN")
        vols = self._lun_volumes(luns, what)
        chap_calls = self._chap_steps(inits, chap, what)
        system = self._systems()[0]
        group = self._object("access_group_create", self.call(
            "access_group_create", name=name, init_id=first, init_type=first_type, system=system), "AccessGroup")
        self._invalidate()
        try:
            self._grow_group(group, inits[1:], vols, chap_calls)
        except IPluginException:
            self._undo(lambda: self._drop_group(group))
            raise
        return self.get_access_group(name)

    def _grow_group(self, group: dict, inits: list, vols: list, chap_calls: list) -> None:
        """Add initiators, mask volumes, set CHAP; on failure undo what this call did, then raise."""
        done = []
        try:
            for init, init_type in inits:
                self._object("access_group_initiator_add", self.call(
                    "access_group_initiator_add", access_group=group, init_id=init, init_type=init_type),
                    "AccessGroup")
                done.append(("init", init, init_type))
                self._invalidate()
            for vol in vols:
                self._mask(group, vol)
                done.append(("mask", vol))
            for call in chap_calls:
                self.call("iscsi_chap_auth", **call)
        except IPluginException:
            for step in reversed(done):
                if step[0] == "mask":
                    self._undo(lambda vol=step[1]: self._unmask(group, vol))
                else:
                    self._undo(lambda init=step[1], init_type=step[2]: self.call(
                        "access_group_initiator_delete", access_group=group, init_id=init, init_type=init_type))
            raise

    def _mask(self, group: dict, vol: dict) -> None:
        try:
            self._done(self.call("volume_mask", access_group=group, volume=vol), "mask")
        except IPluginException as error:
            if getattr(error, "lsm_code", None) != wire.NO_STATE_CHANGE:  # already masked: done
                raise
        self._invalidate()

    def _unmask(self, group: dict, vol: dict) -> None:
        try:
            self._done(self.call("volume_unmask", access_group=group, volume=vol), "unmask")
        except IPluginException as error:
            if getattr(error, "lsm_code", None) != wire.NO_STATE_CHANGE:  # not masked: done
                raise
        self._invalidate()

    def _drop_group(self, group: dict) -> None:
        for vol_id in self._masking().get(group["id"], []):
            vol = [v for v in self._volumes() if v["id"] == vol_id]
            if vol:
                self._unmask(group, vol[0])
        self.call("access_group_delete", access_group=group)
        self._invalidate()

    @_about("access group '{name}'")
    def update_access_group(self, name: str, changes: dict) -> dict:
        what = "access group '%s'" % name
        group = self._group(name)
        if group is None:
            raise OperationPreReqNotMetEx("%s does not exist" % what, "name")
        current = [self._entry_of(init) for init in group["init_ids"]]
        add = [entry for entry in changes.get("add_entries") or [] if entry not in current]
        remove = [entry for entry in changes.get("remove_entries") or [] if entry in current]
        if set(current) - set(remove) | set(add) == set():
            raise InvalidValueEx("%s would have no initiator left: libstoragemgmt access groups cannot be empty "
                                 "(delete the group instead)" % what, "initiators")
        add_inits = self._check_entries(add, what)
        remove_inits = [self._init_of(entry) for entry in remove]
        if remove_inits:
            self._need("remove initiators from %s" % what, "ACCESS_GROUP_INITIATOR_DELETE")
        mapped = self._masking().get(group["id"], [])
        to_map = [vol for vol in self._lun_volumes(changes.get("map") or [], what) if vol["id"] not in mapped]
        to_unmap = []
        for lun in changes.get("unmap") or []:
            vol = self._lun_volume(lun)
            if vol is not None and vol["id"] in mapped:
                to_unmap.append(vol)
        chap_calls = self._chap_steps(add_inits, changes.get("chap"), what) if "chap" in changes else []
        if to_unmap:
            self._need("unmap LUNs from %s" % what, "VOLUME_UNMASK")
        self._grow_group(group, add_inits, to_map, chap_calls)
        try:
            for vol in to_unmap:
                self._unmask(group, vol)
            group = self._group(name) or group
            for init, init_type in remove_inits:
                self._object("access_group_initiator_delete", self.call(
                    "access_group_initiator_delete", access_group=group, init_id=init, init_type=init_type),
                    "AccessGroup")
                self._invalidate()
        except IPluginException:
            for vol in to_unmap:
                self._undo(lambda vol=vol: self._mask(group, vol))
            raise
        return self.get_access_group(name)

    @_about("access group '{name}'")
    def delete_access_group(self, name: str, force: bool = False):
        what = "access group '%s'" % name
        self._need("delete %s" % what, "ACCESS_GROUPS", "ACCESS_GROUP_DELETE")
        group = self._group(name)
        if group is None:
            raise OperationPreReqNotMetEx("%s does not exist" % what, "name")
        vols = dict((vol["id"], vol) for vol in self._volumes())
        mapped = [vols[vol_id] for vol_id in self._masking().get(group["id"], []) if vol_id in vols]
        if mapped and not force:
            raise StorageElementBusyEx("%s still has LUN(s) %s mapped; unmap them first or set force: true" % (
                what, ", ".join(self.parse_volume_name(vol["name"])[1] for vol in mapped)))
        for vol in mapped:
            self._unmask(group, vol)
        self.call("access_group_delete", access_group=group)
        self._invalidate()
        return None

    def chap_matches(self, name: str, chap: dict) -> bool:
        raise NoSuchOperationEx("cannot compare the CHAP accounts of access group '%s': libstoragemgmt sets CHAP per "
                                "initiator and cannot read it back" % name)

    # --- file systems -----------------------------------------------------------------------------------------------
    def _fss(self) -> list:
        if "FS" not in self.capabilities():
            return []
        return self._cached("fss", lambda: self._objects("fs", "FileSystem", search_key=None, search_value=None))

    def _exports(self) -> list:
        if "EXPORTS" not in self.capabilities():
            return []
        return self._cached("exports", lambda: self._objects("exports", "NfsExport", search_key=None, search_value=None))

    def _fs_snaps(self, fs: dict) -> list:
        if "FS_SNAPSHOTS" not in self.capabilities():
            return []
        return self._cached("fs_snaps:" + fs["id"], lambda: self._objects("fs_snapshots", "FsSnapshot", fs=fs))

    def _fs_dependants(self, fs: dict) -> bool | None:
        if "FS_CHILD_DEPENDENCY" not in self.capabilities():
            return None

        def fetch():
            answer = self.call("fs_child_dependency", fs=fs, files=None)
            if not isinstance(answer, bool):
                raise self._malformed("fs_child_dependency", "expected true or false, got %s" % wire.excerpt(answer))
            return answer
        return self._cached("fsdep:" + fs["id"], fetch)

    def _fs_by(self, name: str) -> dict | None:
        found = [fs for fs in self._fss() if self.parse_volume_name(fs["name"])[1] == name
                 and self.parse_volume_name(fs["name"])[0] in ("lun", "clone")]
        if len(found) > 1:
            raise InvalidValueEx("file system '%s' is ambiguous: the storage system has %d for it (%s)" % (
                name, len(found), ", ".join("'%s' id %s" % (fs["name"], fs["id"]) for fs in found)), "name")
        return found[0] if found else None

    def _fs_existing(self, name: str) -> dict:
        fs = self._fs_by(name)
        if fs is None:
            raise OperationPreReqNotMetEx("file system '%s' does not exist" % name, "name")
        return fs

    def _fs_record(self, fs: dict) -> dict:
        kind, name, parent, snap = self.parse_volume_name(fs["name"])
        if kind == "clone":
            origin = self._fs_by(parent)
            if origin is None or self._fs_dependants(origin) is False:
                parent = snap = None
        else:
            parent = snap = None
        exports = [exp for exp in self._exports() if exp["fs_id"] == fs["id"]]
        clients, options, path = [], [], None
        for exp in exports:
            path = path or exp["export_path"]
            for host in exp["root"] + exp["rw"] + exp["ro"]:
                if host not in clients:
                    clients.append(host)
            if not options:
                options = [word for word in (exp.get("options") or "").split(",") if word]
        return records.make(
            "file_system", name=name, uuid=self._uuid("fs", fs), ss_uuid=self._server_uuid(),
            size=fs["total_space"], free_sz=max(0, min(fs["free_space"], fs["total_space"])), access_path=path,
            array_path=fs["name"], mount_options=[], export_opts=options, export_clients=sorted(clients),
            access_grp_names=[], state="UNMOUNTED", status="OK" if not exports else "OK, exported",
            vol_group_name=self._pool_names().get(fs["pool_id"], fs["pool_id"]), parent=parent,
            parent_snapshot=snap, extra_info=self._extra(fs, lsm_pool_id=fs["pool_id"]))

    def list_filesystems(self) -> list:
        return [self._fs_record(fs) for fs in self._fss() if self.parse_volume_name(fs["name"])[0] in ("lun", "clone")]

    def get_filesystem(self, name: str) -> dict | None:
        fs = self._fs_by(name)
        return None if fs is None else self._fs_record(fs)

    def _export_params(self, fs: dict, export: dict, what: str) -> dict | None:
        if export.get("access_groups"):
            raise NoSuchOperationEx("cannot export %s to access groups: libstoragemgmt exports to NFS hosts "
                                    "(export.clients)" % what)
        if not export.get("clients"):
            return None
        self._need("export %s" % what, "EXPORTS", "EXPORT_FS")
        options = list(export.get("options") or [])
        hosts = list(export["clients"])
        params = dict(fs_id=fs["id"], export_path=None, root_list=[], rw_list=[], ro_list=[], anon_uid=-1,
                      anon_gid=-1, auth_type=None, options=",".join(options) or None)
        params["ro_list" if "ro" in options else "rw_list"] = hosts
        if "no_root_squash" in options:
            params["root_list"] = hosts
        for option in options:
            key, _sep, value = option.partition("=")
            if key in ("anonuid", "anongid") and value.isdigit():
                params["anon_uid" if key == "anonuid" else "anon_gid"] = int(value)
        return params

    @_about("file system '{name}'")
    def create_filesystem(self, name: str, pool: str, size: int, export: dict) -> dict:
        what = "file system '%s'" % name
        self._need("create %s" % what, "FS", "FS_CREATE")
        if self._fs_by(name) is not None or any(fs["name"] == name for fs in self._fss()):
            raise InvalidValueEx("%s already exists" % what, "name")
        lsm_pool = self._pool(pool)
        if lsm_pool is None:
            raise InvalidValueEx("pool '%s' does not exist; pools: %s" % (
                pool, ", ".join(sorted(self._pool_names().values()))), "pool")
        if not lsm_pool["element_type"] & wire.ELEMENT_TYPE_FS:
            raise InvalidValueEx("pool '%s' holds no file systems" % pool, "pool")
        wants_export = bool(export and (export.get("clients") or export.get("access_groups")))
        if wants_export:
            self._export_params({"id": ""}, export, what)  # refuse before any write
        answer = self.call("fs_create", pool=lsm_pool, name=name, size_bytes=size)
        self._invalidate()
        result = self._job_or("fs_create", answer, "FileSystem", "create %s" % what)
        if not wants_export:
            return self._fs_result(result)
        self._finish(result, "create")
        fs = self._fs_existing(name)
        try:
            self._object("export_fs", self.call("export_fs", **self._export_params(fs, export, what)), "NfsExport")
        except IPluginException:
            self._undo(lambda: self.call("fs_delete", fs=fs))
            raise
        self._invalidate()
        return self.get_filesystem(name)

    def _fs_result(self, value):
        if value is None or self._is_job(value):
            return value
        self._invalidate()
        return self._fs_record(value)

    @_about("file system '{name}'")
    def resize_filesystem(self, name: str, size: int) -> dict:
        self._need("resize file system '%s'" % name, "FS", "FS_RESIZE")
        fs = self._fs_existing(name)
        answer = self.call("fs_resize", fs=fs, new_size_bytes=size)
        self._invalidate()
        return self._fs_result(self._job_or("fs_resize", answer, "FileSystem", "resize file system '%s'" % name))

    @_about("file system '{name}'")
    def set_export(self, name: str, export: dict) -> dict:
        what = "file system '%s'" % name
        fs = self._fs_existing(name)
        params = self._export_params(fs, export, what)
        old = [exp for exp in self._exports() if exp["fs_id"] == fs["id"]]
        if old:
            self._need("change the export of %s" % what, "EXPORT_REMOVE")
        removed = []
        try:
            for exp in old:
                self.call("export_remove", export=exp)
                removed.append(exp)
                self._invalidate()
            if params is not None:
                self._object("export_fs", self.call("export_fs", **params), "NfsExport")
        except IPluginException:
            for exp in removed:
                self._undo(lambda exp=exp: self.call(
                    "export_fs", fs_id=exp["fs_id"], export_path=exp["export_path"], root_list=exp["root"],
                    rw_list=exp["rw"], ro_list=exp["ro"], anon_uid=exp.get("anonuid", -1),
                    anon_gid=exp.get("anongid", -1), auth_type=exp.get("auth"), options=exp.get("options")))
            raise
        self._invalidate()
        return self.get_filesystem(name)

    @_about("file system '{name}'")
    def delete_filesystem(self, name: str, force: bool = False):
        what = "file system '%s'" % name
        self._need("delete %s" % what, "FS", "FS_DELETE")
        fs = self._fs_existing(name)
        clones = [record["name"] for record in self.list_filesystems() if record.get("parent") == name]
        if clones:
            raise FileSystemBusyEx("%s has clones that depend on it (%s): split or delete them first"
                                   % (what, ", ".join(clones)))
        exports = [exp for exp in self._exports() if exp["fs_id"] == fs["id"]]
        snaps = self._fs_snaps(fs)
        if not force and (exports or snaps):
            reasons = []
            if exports:
                reasons.append("is exported")
            if snaps:
                reasons.append("has snapshot(s) %s" % ", ".join(snap["name"] for snap in snaps))
            raise FileSystemBusyEx("%s %s; remove them first or set force: true" % (what, " and ".join(reasons)))
        if not snaps and self._fs_dependants(fs):
            raise FileSystemBusyEx("%s has dependants that were not made through this collection: remove them with "
                                   "the storage system's own tools" % what)
        for exp in exports:
            self.call("export_remove", export=exp)
            self._invalidate()
        for snap in snaps:
            self._finish(self._job_or("fs_snapshot_delete", self.call("fs_snapshot_delete", fs=fs, snapshot=snap),
                                      None, "delete snapshot"), "delete snapshot")
            self._invalidate()
        answer = self.call("fs_delete", fs=fs)
        self._invalidate()
        return self._job_or("fs_delete", answer, None, "delete %s" % what)

    def _snap_record(self, fs: dict, snap: dict) -> dict:
        """A file system snapshot: a ``storage_element`` record (SNAP), as on every backend; libstoragemgmt's
        FsSnapshot carries the time it was taken (``ts``, epoch seconds; 0 or less: the plug-in does not say)."""
        taken = snap["ts"] if snap["ts"] > 0 else None
        return records.make(
            "storage_element", name=snap["name"],
            uuid=self._uuid("fs_snapshot", dict(snap, system_id=fs["system_id"])), id=snap["id"],
            ss_uuid=self._server_uuid(), se_type="SNAP", size=fs["total_space"], thin=None,
            vol_group_name=self._pool_names().get(fs["pool_id"], fs["pool_id"]), access_grp_names=[], qos=None,
            state="ONLINE", status="OK", path=[], array_path="%s@%s" % (fs["name"], snap["name"]),
            parent=self.parse_volume_name(fs["name"])[1], created=None if taken is None else records.format_time(taken),
            extra_info=self._extra(snap, lsm_fs_id=fs["id"]))

    def list_fs_snapshots(self, filesystem: str | None = None) -> list:
        out = []
        for fs in self._fss():
            kind, name = self.parse_volume_name(fs["name"])[:2]
            if kind in ("lun", "clone") and (filesystem is None or name == filesystem):
                out.extend(self._snap_record(fs, snap) for snap in self._fs_snaps(fs))
        return out

    def _fs_snap(self, fs: dict, name: str) -> dict | None:
        found = [snap for snap in self._fs_snaps(fs) if snap["name"] == name]
        if len(found) > 1:
            raise InvalidValueEx("snapshot '%s' of file system '%s' is ambiguous (ids %s)"
                                 % (name, fs["name"], ", ".join(snap["id"] for snap in found)), "name")
        return found[0] if found else None

    @_about("snapshot '{name}' of file system '{filesystem}'")
    def create_fs_snapshot(self, filesystem: str, name: str) -> dict:
        what = "snapshot '%s' of file system '%s'" % (name, filesystem)
        self._need("create %s" % what, "FS", "FS_SNAPSHOTS", "FS_SNAPSHOT_CREATE")
        fs = self._fs_existing(filesystem)
        if self._fs_snap(fs, name) is not None:
            raise InvalidValueEx("%s already exists" % what, "name")
        answer = self.call("fs_snapshot_create", fs=fs, snapshot_name=name)
        self._invalidate()
        result = self._job_or("fs_snapshot_create", answer, "FsSnapshot", "create %s" % what)
        if result is None or self._is_job(result):
            return result
        return self._snap_record(fs, result)

    @_about("snapshot '{name}' of file system '{filesystem}'")
    def delete_fs_snapshot(self, filesystem: str, name: str):
        what = "snapshot '%s' of file system '%s'" % (name, filesystem)
        self._need("delete %s" % what, "FS", "FS_SNAPSHOTS", "FS_SNAPSHOT_DELETE")
        fs = self._fs_existing(filesystem)
        snap = self._fs_snap(fs, name)
        if snap is None:
            raise OperationPreReqNotMetEx("%s does not exist" % what, "name")
        clones = [r["name"] for r in self.list_filesystems() if r.get("parent") == filesystem
                  and r.get("parent_snapshot") == name]
        if clones:
            raise FileSystemBusyEx("%s has clones that depend on it (%s)" % (what, ", ".join(clones)))
        answer = self.call("fs_snapshot_delete", fs=fs, snapshot=snap)
        self._invalidate()
        return self._job_or("fs_snapshot_delete", answer, None, "delete %s" % what)

    @_about("file system '{filesystem}'")
    def restore_fs_snapshot(self, filesystem: str, name: str) -> dict:
        what = "file system '%s' to its snapshot '%s'" % (filesystem, name)
        self._need("restore %s" % what, "FS", "FS_SNAPSHOTS", "FS_SNAPSHOT_RESTORE")
        fs = self._fs_existing(filesystem)
        snap = self._fs_snap(fs, name)
        if snap is None:
            raise OperationPreReqNotMetEx("snapshot '%s' of file system '%s' does not exist" % (name, filesystem), "name")
        answer = self.call("fs_snapshot_restore", fs=fs, snapshot=snap, files=None, restore_files=None, all_files=True)
        self._invalidate()
        job = self._job_or("fs_snapshot_restore", answer, None, "restore %s" % what)
        return job if job is not None else self.get_filesystem(filesystem)

    @_about("file system clone '{name}'")
    def create_fs_clone(self, name: str, filesystem: str, snapshot: str | None = None) -> dict:
        what = "clone '%s' of file system '%s'" % (name, filesystem)
        self._need("create %s" % what, "FS", "FS_CLONE")
        fs = self._fs_existing(filesystem)
        snap = None
        if snapshot is not None:
            snap = self._fs_snap(fs, snapshot)
            if snap is None:
                raise OperationPreReqNotMetEx("snapshot '%s' of file system '%s' does not exist"
                                              % (snapshot, filesystem), "snapshot")
        if self._fs_by(name) is not None:
            raise InvalidValueEx("%s cannot be made: file system '%s' already exists" % (what, name), "name")
        raw = name + CLONE_SEP + filesystem + (SNAP_SEP + snapshot if snapshot else "")
        answer = self.call("fs_clone", src_fs=fs, dest_fs_name=raw, snapshot=snap)
        self._invalidate()
        return self._fs_result(self._job_or("fs_clone", answer, "FileSystem", "create %s" % what))

    def fs_clone_origin(self, name: str) -> dict | None:
        """As :meth:`clone_origin`: the file system's name ``X@@P[@S]`` says where it was cloned from."""
        fs = self._fs_by(name)
        return None if fs is None else self._name_origin(fs["name"])

    @_about("file system clone '{name}'")
    def split_fs_clone(self, name: str) -> dict:
        what = "file system clone '%s'" % name
        self._need("split %s" % what, "FS", "FS_CHILD_DEPENDENCY", "FS_CHILD_DEPENDENCY_RM")
        fs = self._fs_existing(name)
        kind, _name, parent, _snap = self.parse_volume_name(fs["name"])
        origin = self._fs_by(parent) if kind == "clone" else None
        if origin is None or not self._fs_dependants(origin):
            return self._fs_record(fs)
        snaps = self._fs_snaps(origin)
        if snaps:
            # libstoragemgmt lets fs_child_dependency_rm drop the parent's snapshots (its simulator does)
            raise FileSystemBusyEx("cannot split %s: libstoragemgmt may remove every snapshot of its parent '%s' to "
                                   "split it (%s); delete those snapshots first if that is what you want"
                                   % (what, parent, ", ".join(snap["name"] for snap in snaps)))
        answer = self.call("fs_child_dependency_rm", fs=origin, files=None)
        self._invalidate()
        job = self._job_or("fs_child_dependency_rm", answer, None, "split %s" % what)
        return job if job is not None else self.get_filesystem(name)
