# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The external backend: ``plugin+NAME://...`` runs the executable ``stormgmt-plugin-NAME``.

The plug-in is a separate program, in any language, that speaks JSON-RPC 2.0 on
its stdin and stdout, one JSON object per line (docs/plugin_protocol.md is the
contract). One plug-in process serves one module run: it is started on the first
call, greeted with ``plugin.info`` (protocol version check) and ``plugin.open``
(the server URI and the credentials, sent once), then asked the methods of
:class:`StorageArrayPlugin` and :class:`FileSystemPlugin` by the same names, with
the same parameters by name, and told ``plugin.close`` when the module is done.

Nothing a plug-in does can crash the module: an answer that is not JSON-RPC, a
record that does not match ``records.py``, an unknown error class, a plug-in that
dies, hangs or exits all become one of the seed-001 exceptions, with the end of
the plug-in's stderr (secrets masked) in the message.

The executable is looked up in ``$STORMGMT_PLUGIN_PATH`` (directories separated by
``:``), then ``~/.local/libexec/stormgmt/plugins``,
``/usr/local/libexec/stormgmt/plugins``, ``/usr/libexec/stormgmt/plugins``, then ``$PATH``.
``?plugin_timeout=SECONDS`` in the URI bounds each call (default 120).
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.stormgmt.core.plugins.module_utils import records
from ansible_collections.stormgmt.core.plugins.module_utils._lazy_re import lazy_compile
from ansible_collections.stormgmt.core.plugins.module_utils.backends._coprocess import (
    CoProcess,
    env_dirs,
    search,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    ERROR_CLASSES,
    IPluginException,
    NoSuchOperationEx,
    OperationFailedEx,
    OperationPreReqNotMetEx,
    ValueFormatEx,
    error_from_dict,
)
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import (
    FileSystemPlugin,
    StorageArrayPlugin,
    StoragePlugin,
    by_name,
    check_abilities,
    is_job,
)

#: version of the protocol this collection speaks; a plug-in must report the same major.
#: 1.1 added consistency groups, group snapshots, server_time and the records' created times
#: (all optional: a 1.0 plug-in works as before and reports the new abilities UNSUPPORTED)
API_VERSION = "1.1"
SCHEME_PREFIX = "plugin+"
PROGRAM_PREFIX = "stormgmt-plugin-"
PLUGIN_PATH_ENV = "STORMGMT_PLUGIN_PATH"
PLUGIN_DIRS = (
    "~/.local/libexec/stormgmt/plugins",
    "/usr/local/libexec/stormgmt/plugins",
    "/usr/libexec/stormgmt/plugins",
)
DEFAULT_TIMEOUT = 120.0
# plugin_timeout bounds: a call longer than an hour belongs in a job (docs/plugin_protocol.md 5.1)
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 3600
# grace given to a plug-in to exit after plugin.close
CLOSE_TIMEOUT = 5.0
TYPES = ("array", "filesystem")
# an answer longer than this is garbage, not a record listing
MAX_LINE = 256 * 1024 * 1024

# JSON-RPC 2.0 "method not found"
METHOD_NOT_FOUND = -32601

_NAME = lazy_compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")

# What each method of the plug-in API answers, and which half of the API it
# belongs to. The answer is checked before anything else sees it:
#   KIND    a record of that kind      KIND?   such a record or null
#   [KIND]  a list of such records     KIND|job, null|job: the result or a job record
#   bool, str, number (seconds since the epoch), abilities, export ({clients, access_groups, options}: lists of strings)
# A method marked ``True`` falls back to the base class's own implementation
# (for example get_lun scans list_luns) when the plug-in does not implement it.
METHODS = {
    "get_server": (None, "storage_server", False),
    "get_abilities": (None, "abilities", False),
    "list_pools": (None, "[vol_group]", False),
    "list_qos": (None, "[qos_vals]", True),
    "default_pool": (None, "str", True),
    "job_status": (None, "job", False),
    "server_time": (None, "number", True),
    "list_luns": ("array", "[storage_element]", False),
    "get_lun": ("array", "storage_element?", True),
    "list_clones": ("array", "[storage_element]", True),
    "create_lun": ("array", "storage_element|job", False),
    "resize_lun": ("array", "storage_element|job", False),
    "set_lun_qos": ("array", "storage_element|job", False),
    "delete_lun": ("array", "null|job", False),
    "list_snapshots": ("array", "[storage_element]", False),
    "get_snapshot": ("array", "storage_element?", True),
    "create_snapshot": ("array", "storage_element|job", False),
    "delete_snapshot": ("array", "null|job", False),
    "restore_snapshot": ("array", "storage_element|job", False),
    "snapshot_is_current": ("array", "bool", True),
    "create_clone": ("array", "storage_element|job", False),
    "split_clone": ("array", "storage_element|job", False),
    "clone_origin": ("array", "origin?", True),
    "list_access_groups": ("array", "[access_group]", False),
    "get_access_group": ("array", "access_group?", True),
    "create_access_group": ("array", "access_group|job", False),
    "update_access_group": ("array", "access_group|job", False),
    "delete_access_group": ("array", "null|job", False),
    "chap_matches": ("array", "bool", False),
    "list_consistency_groups": ("array", "[consistency_group]", False),
    "get_consistency_group": ("array", "consistency_group?", True),
    "create_consistency_group": ("array", "consistency_group|job", False),
    "update_consistency_group": ("array", "consistency_group|job", False),
    "delete_consistency_group": ("array", "null|job", False),
    "list_cg_snapshots": ("array", "[cg_snapshot]", False),
    "get_cg_snapshot": ("array", "cg_snapshot?", True),
    "create_cg_snapshot": ("array", "cg_snapshot|job", False),
    "delete_cg_snapshot": ("array", "null|job", False),
    "restore_cg_snapshot": ("array", "cg_snapshot|job", False),
    "list_filesystems": ("filesystem", "[file_system]", False),
    "get_filesystem": ("filesystem", "file_system?", True),
    "create_filesystem": ("filesystem", "file_system|job", False),
    "resize_filesystem": ("filesystem", "file_system|job", False),
    "set_export": ("filesystem", "file_system|job", False),
    "check_export": ("filesystem", "export", True),
    "delete_filesystem": ("filesystem", "null|job", False),
    "list_fs_snapshots": ("filesystem", "[file_system]", False),
    "get_fs_snapshot": ("filesystem", "file_system?", True),
    "create_fs_snapshot": ("filesystem", "file_system|job", False),
    "delete_fs_snapshot": ("filesystem", "null|job", False),
    "restore_fs_snapshot": ("filesystem", "file_system|job", False),
    "fs_snapshot_is_current": ("filesystem", "bool", True),
    "create_fs_clone": ("filesystem", "file_system|job", False),
    "split_fs_clone": ("filesystem", "file_system|job", False),
    "fs_clone_origin": ("filesystem", "origin?", True),
    "check_filesystem_action": ("filesystem", "null", True),
}

# get_* answers must be the object asked for: record field holding the name
_NAME_FIELD = {"storage_element": "name", "file_system": "name", "access_group": "grp_name",
               "consistency_group": "name", "cg_snapshot": "name"}

# parameter names whose values are secrets, wherever they appear in a call
_SECRET_PARAMS = ("password", "mutual_password")


class _MethodNotFound(Exception):
    """The plug-in answered JSON-RPC error -32601 for a method."""


def plugin_search_path() -> list:
    """Directories searched for ``stormgmt-plugin-NAME``, in order."""
    dirs = env_dirs(PLUGIN_PATH_ENV)
    dirs.extend(os.path.expanduser(d) for d in PLUGIN_DIRS)
    dirs.extend(env_dirs("PATH") or os.defpath.split(os.pathsep))
    return dirs


def find_plugin(name: str) -> str:
    """Absolute path of the plug-in executable; OperationPreReqNotMetEx when absent."""
    program = PROGRAM_PREFIX + name
    found = search(program, plugin_search_path())
    if found is None:
        own = env_dirs(PLUGIN_PATH_ENV)
        own.extend(os.path.expanduser(d) for d in PLUGIN_DIRS)
        raise OperationPreReqNotMetEx(
            "the plug-in executable %s was found neither in %s nor on PATH; install it in one of "
            "these directories or point %s at its directory" % (program, ", ".join(own), PLUGIN_PATH_ENV), "server")
    return found


class ExternalBackend(StorageArrayPlugin, FileSystemPlugin):
    """Forwards every backend call to a ``stormgmt-plugin-NAME`` co-process."""

    scheme = SCHEME_PREFIX

    def __init__(self, uri, username=None, password=None) -> None:
        super().__init__(uri, username, password)
        self.scheme = uri.scheme
        self.name = uri.scheme[len(SCHEME_PREFIX):]
        if not _NAME.match(self.name):
            raise ValueFormatEx(
                "server %r: the plug-in name after 'plugin+' must be 1-63 lower-case letters, digits, '.' or '-'"
                % uri.text, "server")
        self.timeout = uri.option("plugin_timeout", DEFAULT_TIMEOUT, float, minimum=MIN_TIMEOUT, maximum=MAX_TIMEOUT,
                                  unit="seconds")
        self.info: dict | None = None
        self._opened: dict = {}
        self._process = CoProcess("plug-in %s" % self.name)
        if password:
            self._process.secrets.add(password)
        self._buffer = bytearray()
        self._next_id = 1
        self._abilities: dict | None = None
        self._missing: set = set()

    # --- life cycle ---------------------------------------------------------
    @property
    def _proc(self):
        return self._process.proc

    def _ensure_started(self) -> None:
        self._process.check()
        if self._process.running:
            return
        path = find_plugin(self.name)
        proc = self._process.start(path)
        os.set_blocking(proc.stdin.fileno(), False)
        info = self._request("plugin.info", {"api_version": API_VERSION})
        self.info = self._check_info(info)
        opened = self._request("plugin.open", {
            "uri": self.uri.text, "username": self.username, "password": self.password})
        self._opened = self._check_opened(opened)

    def _check_info(self, info) -> dict:
        problem = None
        if not isinstance(info, dict):
            problem = "the answer is not an object"
        else:
            for field in ("name", "version", "api_version"):
                if not isinstance(info.get(field), str):
                    problem = "'%s' is not a string" % field
            types = info.get("types")
            if not isinstance(types, list) or not types or not set(types) <= set(TYPES):
                problem = problem or "'types' must be a non-empty list of %s" % " and ".join(TYPES)
        if problem:
            self._fail("plug-in %s answered plugin.info with %s: %s" % (self.name, _excerpt(info), problem))
        if info["api_version"].split(".", 1)[0] != API_VERSION.split(".", 1)[0]:
            self._kill()
            raise OperationPreReqNotMetEx(
                "plug-in %s %s speaks protocol version %s; this collection speaks %s: install a matching "
                "plug-in or collection release" % (self.name, info["version"], info["api_version"], API_VERSION),
                "server")
        return info

    def _check_opened(self, opened) -> dict:
        opened = {} if opened is None else opened
        if not isinstance(opened, dict):
            self._fail("plug-in %s answered plugin.open with %s: expected an object or null" % (self.name, _excerpt(opened)))
        for field, minimum in (("block_size", 1), ("min_lun_id", 0)):
            value = opened.get(field)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
                self._fail("plug-in %s answered plugin.open with %s=%r: expected an integer >= %d"
                           % (self.name, field, value, minimum))
        return opened

    def close(self) -> None:
        """Say plugin.close, let the plug-in exit, kill it if it does not. Never raises."""
        if self._process.running and self._process.failure is None:
            try:
                self._request("plugin.close", {}, timeout=min(self.timeout, CLOSE_TIMEOUT))
            except IPluginException:
                pass
        self._kill(grace=CLOSE_TIMEOUT)

    def _kill(self, grace: float = 0.0) -> None:
        self._process.stop(grace, hang_up=lambda proc: proc.stdin.close())

    # --- transport ------------------------------------------------------------
    def _request(self, method: str, params: dict, timeout: float | None = None):
        """Send one request and return its result; raise the error it carries."""
        ident = self._next_id
        self._next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params},
                          separators=(",", ":")) + "\n"
        deadline = time.monotonic() + (timeout or self.timeout)
        self._process.send(self._proc.stdin.fileno(), line.encode("utf-8"), method, deadline, self.timeout)
        answer = self._receive(method, deadline)
        if (not isinstance(answer, dict) or answer.get("jsonrpc") != "2.0" or answer.get("id") != ident
                or ("result" in answer) == ("error" in answer)):
            self._fail("plug-in %s answered %s with %s, which is not the JSON-RPC 2.0 response to request %d"
                       % (self.name, method, _excerpt(answer), ident))
        if "error" in answer:
            raise self._error(method, answer["error"])
        return answer["result"]

    def _receive(self, method: str, deadline: float):
        fd = self._proc.stdout.fileno()
        hint = " (set ?plugin_timeout=SECONDS in the server URI for a slower plug-in)"
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 1]
                if not line.strip():
                    continue
                try:
                    return json.loads(line.decode("utf-8"))
                except ValueError:
                    self._fail("plug-in %s wrote to stdout something that is not JSON while answering %s: %s"
                               % (self.name, method, _excerpt(line.decode("utf-8", "replace"))))
            if len(self._buffer) > MAX_LINE:
                self._fail("plug-in %s wrote more than %d bytes without a newline while answering %s"
                           % (self.name, MAX_LINE, method))
            self._buffer.extend(self._process.receive(fd, method, deadline, self.timeout, hint))

    def _fail(self, msg: str) -> None:
        """Give up on the plug-in: kill it and raise OperationFailedEx with its stderr tail.

        Later calls raise the same error: the conversation cannot be resumed.
        """
        self._process.fail(msg)

    def _mask(self, text: str) -> str:
        return self._process.mask(text)

    def _error(self, method: str, error) -> Exception:
        """The exception a JSON-RPC error object stands for."""
        if not isinstance(error, dict) or not isinstance(error.get("code"), int):
            self._fail("plug-in %s answered %s with the malformed JSON-RPC error %s" % (self.name, method, _excerpt(error)))
        data = error.get("data")
        if isinstance(data, dict) and "error" in data:
            msg = str(data.get("msg") or error.get("message") or "")
            if data["error"] not in ERROR_CLASSES:
                msg = "%s (the plug-in %s reported the unknown error class %r)" % (msg, self.name, data["error"])
            key = data.get("key")
            return error_from_dict({"error": data["error"], "msg": self._mask(msg),
                                    "key": key if isinstance(key, str) else None})
        if error["code"] == METHOD_NOT_FOUND:
            return _MethodNotFound(method)
        return OperationFailedEx(self._mask("plug-in %s failed in %s: %s (JSON-RPC error %d)" % (
            self.name, method, error.get("message"), error["code"])))

    # --- calls ------------------------------------------------------------------
    def _types(self) -> list:
        self._ensure_started()
        return self.info["types"]

    def call(self, method: str, params: dict, fallback=None):
        """Call ``method`` of the plug-in API with ``params`` and return its checked answer."""
        half, returns, _default = METHODS[method]
        if half is not None and half not in self._types():
            return self._absent_half(method, half, returns)
        for value in params.values():
            self._remember_secrets(value)
        if method not in self._missing:
            self._ensure_started()
            try:
                return self._check(method, returns, self._request(method, params), params)
            except _MethodNotFound:
                self._missing.add(method)
        if fallback is None:
            raise NoSuchOperationEx("the plug-in %s does not implement %s" % (self.name, method))
        return fallback(self, **params)

    def _absent_half(self, method: str, half: str, returns: str):
        """A plug-in without the array (or file system) half has no such objects."""
        if returns.startswith("["):
            return []
        if returns.endswith("?"):
            return None
        if returns == "bool":
            return False
        if returns == "null":
            return None
        raise NoSuchOperationEx("cannot %s: the plug-in %s has no %s half (it reports types %s)"
                                % (method, self.name, half, ", ".join(self.info["types"])))

    def _remember_secrets(self, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in _SECRET_PARAMS and isinstance(item, str) and item:
                    self._process.secrets.add(item)
                else:
                    self._remember_secrets(item)
        elif isinstance(value, list):
            for item in value:
                self._remember_secrets(item)

    def _check(self, method: str, returns: str, value, params: dict):
        """Validate an answer against METHODS; ValueFormatEx naming plug-in, method and field."""
        try:
            if returns == "bool":
                if not isinstance(value, bool):
                    raise ValueFormatEx("expected true or false, got %s" % _excerpt(value), method)
            elif returns == "str":
                if not isinstance(value, str) or not value:
                    raise ValueFormatEx("expected a non-empty string, got %s" % _excerpt(value), method)
            elif returns == "null":
                if value is not None:
                    raise ValueFormatEx("expected null, got %s" % _excerpt(value), method)
            elif returns == "origin?":
                if value is not None:
                    _check_origin(value, method)
            elif returns == "export":
                if not isinstance(value, dict) or set(value) - {"clients", "access_groups", "options"} or not all(
                        isinstance(items, list) and all(isinstance(item, str) for item in items)
                        for items in value.values()):
                    raise ValueFormatEx("expected an export {clients, access_groups, options} of lists of strings, "
                                        "got %s" % _excerpt(value), method)
            elif returns == "number":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e11:
                    raise ValueFormatEx("expected seconds since the epoch, got %s" % _excerpt(value), method)
                value = float(value)
            elif returns == "abilities":
                if not isinstance(value, dict):
                    raise ValueFormatEx("expected an object of abilities, got %s" % _excerpt(value), method)
                check_abilities(value)
            elif returns.startswith("["):
                if not isinstance(value, list):
                    raise ValueFormatEx("expected a list of %s records, got %s" % (returns[1:-1], _excerpt(value)), method)
                value = [_complete(returns[1:-1], item) for item in value]
            elif returns.endswith("|job"):
                if is_job(value):
                    value = _complete("job", value)
                elif returns == "null|job":
                    if value is not None:
                        raise ValueFormatEx("expected null or a job record, got %s" % _excerpt(value), method)
                else:
                    value = _complete(returns[:-4], value)
            elif returns.endswith("?"):
                if value is not None:
                    value = _complete(returns[:-1], value)
                    self._check_name(method, returns[:-1], value, params)
            else:
                value = _complete(returns, value)
        except IPluginException as error:
            raise ValueFormatEx("plug-in %s answered %s with a malformed result: %s"
                                % (self.name, method, self._mask(error.msg)), error.key) from None
        return value

    def _check_name(self, method: str, kind: str, record: dict, params: dict) -> None:
        field = _NAME_FIELD[kind]
        if record[field] != params.get("name"):
            raise ValueFormatEx(
                "asked for %r, got a record whose field '%s' is %r" % (params.get("name"), field, record[field]), field)

    # --- the API: everything else is generated from METHODS below -----------------
    def get_server(self) -> dict:
        return self.call("get_server", {})

    def get_abilities(self) -> dict:
        # abilities do not change during one module run, and require() asks often
        if self._abilities is None:
            self._abilities = self.call("get_abilities", {})
        return dict(self._abilities)

    # a batch reads its objects with one call to the plug-in, not one per object
    def get_luns(self, names):
        return by_name(self.list_luns(), "name", names)

    def get_access_groups(self, names):
        return by_name(self.list_access_groups(), "grp_name", names)

    @property
    def block_size(self) -> int:
        self._ensure_started()
        return self._opened.get("block_size") or StoragePlugin.block_size

    @property
    def min_lun_id(self) -> int:
        self._ensure_started()
        value = self._opened.get("min_lun_id")
        return StoragePlugin.min_lun_id if value is None else value


def _complete(kind: str, record) -> dict:
    """Validate a record and add the optional fields it left out (None, lists []),
    so a playbook sees the same keys whatever the backend."""
    records.validate(kind, record)
    return records.make(kind, **record)


def _check_origin(value, method: str) -> None:
    """{parent: name, parent_snapshot: name or null, parent_uuid: string or null}."""
    if not isinstance(value, dict) or set(value) - {"parent", "parent_snapshot", "parent_uuid"}:
        raise ValueFormatEx("expected null or an object of parent, parent_snapshot and parent_uuid, got %s"
                            % _excerpt(value), method)
    if not isinstance(value.get("parent"), str) or not value["parent"]:
        raise ValueFormatEx("'parent' must be a non-empty string, got %s" % _excerpt(value.get("parent")), "parent")
    for field in ("parent_snapshot", "parent_uuid"):
        if value.get(field) is not None and not isinstance(value[field], str):
            raise ValueFormatEx("'%s' must be a string or null, got %s" % (field, _excerpt(value[field])), field)
    value.setdefault("parent_snapshot", None)
    value.setdefault("parent_uuid", None)


def _excerpt(value, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=repr)
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def _forwarder(method: str, base):
    """A method with the name and parameters of ``base`` that calls the plug-in."""
    code = base.__code__
    names = code.co_varnames[1:code.co_argcount]
    defaults = base.__defaults__ or ()
    first_default = len(names) - len(defaults)
    fallback = base if METHODS[method][2] else None

    def forward(self, *args, **kwargs):
        if len(args) > len(names):
            raise TypeError("%s() takes %d arguments" % (method, len(names)))
        params = dict(zip(names, args))
        for name in names[len(args):]:
            if name in kwargs:
                params[name] = kwargs.pop(name)
            elif names.index(name) >= first_default:
                params[name] = defaults[names.index(name) - first_default]
            else:
                raise TypeError("%s() misses the argument %r" % (method, name))
        if kwargs:
            raise TypeError("%s() got unexpected arguments %s" % (method, ", ".join(sorted(kwargs))))
        return self.call(method, params, fallback)

    forward.__name__ = forward.__qualname__ = method
    forward.__doc__ = base.__doc__
    return forward


for _method in METHODS:
    if _method not in ExternalBackend.__dict__:
        setattr(ExternalBackend, _method, _forwarder(_method, getattr(ExternalBackend, _method)))
del _method
