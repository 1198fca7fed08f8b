# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AnsibleModule glue shared by every module. Private to this collection.

Connection options (in step with the ``connection`` doc fragment), backend
selection, check mode and diff, and the single place where exceptions become
``fail_json(msg=..., error=<class name>)``.
"""

from __future__ import annotations

import decimal
import math
import os
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.errors import AnsibleFallbackNotFound

from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.errors import IPluginException, MissingKeyEx
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import uri_secrets

SERVER_ENV = "STORMGMT_SERVER"
# AWX and AAP send the fields of a credential the user left empty as ""
_CREDENTIALS = ("server", "username", "password")
# options that may hold a URI, where a password may be written (refused, and never shown)
_URI_OPTIONS = ("server", "device", "src")

NO_SERVER = (
    "server is not set: name the storage server of the task with the server option (for example "
    "sim:///var/lib/stormgmt/sim.db or tgt:///srv/pool0?portal=192.0.2.10:3260), once for a play with "
    "module_defaults (group/stormgmt.core.storage), or in the environment variable STORMGMT_SERVER")

# Argument spec checks of AnsibleModule (ansible.module_utils.errors) -> error class
_ARGUMENT_ERRORS = dict(
    [(name, "MissingKeyEx") for name in (
        "RequiredError", "RequiredIfError", "RequiredByError", "RequiredOneOfError", "RequiredTogetherError")]
    + [(name, "ValueFormatEx") for name in ("ArgumentTypeError", "ElementError", "SubParameterTypeError")]
    + [(name, "InvalidValueEx") for name in ("ArgumentValueError", "MutuallyExclusiveError", "UnsupportedError")])


def _env(*names: str) -> str:
    """Fallback from the first of ``names`` set to a non-empty value (env_fallback takes "")."""
    for name in names:
        if os.environ.get(name):
            return os.environ[name]
    raise AnsibleFallbackNotFound


def connection_argument_spec() -> dict:
    """Options of the ``stormgmt.core.connection`` doc fragment."""
    return dict(
        server=dict(type="str", fallback=(_env, [SERVER_ENV])),
        username=dict(type="str", fallback=(_env, ["STORMGMT_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(_env, ["STORMGMT_PASSWORD"])),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


# whole-number options hold counts, seconds and sizes: at most what SQLite and file sizes hold
_MAX_INTEGER = 2 ** 63 - 1


def _unconvertible(value) -> bool:
    """A value Ansible's int type would crash on rather than refuse: inf and nan (OverflowError,
    a traceback), or 1e999999999 (an integer of a billion digits)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        try:
            number = decimal.Decimal(value.strip())
        except (decimal.DecimalException, ValueError):
            return False  # not a number at all: the int type refuses it as it should
        return not number.is_finite() or number.adjusted() > 18
    return False


def _bad_integer(spec: dict, params, where: str = "") -> str | None:
    """Why an ``int`` option (or element) does not hold a whole number from 0 to 2^63-1, or None.

    Ansible's int type lets ``true`` through as 1; counts and sizes are never negative.
    """
    for name, option in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        if value is None:
            continue
        values = value if option.get("type") == "list" and isinstance(value, list) else [value]
        if "int" in (option.get("type"), option.get("elements")):
            for number in values:
                if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= _MAX_INTEGER:
                    return "%s%s must be a whole number from 0 to %d, got %r" % (where, name, _MAX_INTEGER, number)
        for item in values if option.get("options") else ():
            problem = _bad_integer(option["options"], item, "%s%s." % (where, name))
            if problem:
                return problem
    return None


class StorageModule(AnsibleModule):
    """AnsibleModule with the collection's input rules, in place before anything can print a parameter:

    * a password written into a URI (``server``, or an ``iscsi://`` device; refused later) is a
      no_log value from the start, so the invocation log (syslog/journal) and
      ``invocation.module_args`` of every result, argument errors included, show it masked;
    * the connection options given as "" are not set (an empty AWX credential field);
    * every failure carries ``error``: argument spec errors get a seed-001 class;
    * whole-number options hold whole numbers from 0 to 2^63-1: no boolean, no negative number,
      and no inf or nan, on which Ansible's int type would crash with a traceback.
    """

    def __init__(self, argument_spec: dict, **kwargs) -> None:
        self._held: dict = {}  # values Ansible's int type cannot take, kept out of its validation
        super().__init__(argument_spec, **kwargs)
        self.params.update(self._held)
        problem = _bad_integer(self.argument_spec, self.params)
        if problem:
            self.fail_json(msg=problem, error="ValueFormatEx")

    def _load_params(self):
        super()._load_params()
        for key in _CREDENTIALS:
            if self.params.get(key) == "":
                del self.params[key]
        for text in [self.params.get(key) for key in _URI_OPTIONS] + [os.environ.get(SERVER_ENV)]:
            self.no_log_values.update(uri_secrets(text))
        for key, option in self.argument_spec.items():
            if option.get("type") == "int" and _unconvertible(self.params.get(key)):
                self._held[key] = self.params.pop(key)

    def fail_json(self, msg, **kwargs):
        if "error" not in kwargs:
            errors = list(getattr(getattr(self, "validation_result", None), "errors", None) or [])
            known = [error for error in errors if type(error).__name__ in _ARGUMENT_ERRORS]
            if known:
                if msg == errors[0].error_message:  # a side effect (NoLogError...) would hide the cause
                    msg = known[0].error_message
                kwargs["error"] = _ARGUMENT_ERRORS[type(known[0]).__name__]
            else:
                kwargs["error"] = "InvalidValueEx" if errors else "OperationFailedEx"
        super().fail_json(msg, **kwargs)


def new_module(argument_spec: dict, mixin=None, **kwargs) -> StorageModule:
    """The module's StorageModule; ``mixin``: a class whose methods come first (the list form's
    item secrets, _batch.py)."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    module_class = StorageModule if mixin is None else type(mixin.__name__, (mixin, StorageModule), {})
    return module_class(spec, **kwargs)


class _NoServer:
    """The storage server of a task that needs none (mount with src, filesystem with device):
    should it be used after all, it fails with MissingKeyEx; the storage is never guessed."""

    read_only = True
    repaired = ()  # nothing on a storage server to repair

    def __getattr__(self, name: str):
        raise MissingKeyEx(NO_SERVER, "server")

    def close(self) -> None:
        """Nothing to release."""


def _connect(params: dict, needs_server: bool = True):
    if params["server"] is not None:
        return connect(params["server"], params["username"], params["password"])
    if needs_server:
        raise MissingKeyEx(NO_SERVER, "server")
    return _NoServer()


def _message(resource, error: IPluginException, resource_class=None, params=None) -> str:
    """Name the object in the message unless the backend already did.

    When the input was too bad to build the resource (a size that is not a size, an
    unknown URI scheme...), the object is named from its ``name`` option.
    """
    if resource is not None:
        what = resource.describe()
    elif resource_class is not None and isinstance((params or {}).get("name"), str):
        noun = getattr(resource_class, "noun", "") or getattr(resource_class, "kind", "object").replace("_", " ")
        what = "%s '%s'" % (noun, params["name"])
        if repr(params["name"]) in error.msg:
            return error.msg
    else:
        return error.msg
    return error.msg if what in error.msg else "%s: %s" % (what, error.msg)


def fail(module: AnsibleModule, msg: str, error: str, **extra) -> None:
    module.fail_json(msg=msg, error=error, **extra)


def run_resource(module: AnsibleModule, resource_class) -> None:
    """Converge one resource and exit the module; never lets a traceback through."""
    params = module.params
    backend = resource = None
    try:
        if params["wait_timeout"] <= 0:
            module.fail_json(msg="wait_timeout must be a positive number of seconds, got %s" % params["wait_timeout"],
                             error="InvalidValueEx")
        # a resource class, or a factory that picks one (snapshot: one, a group's, a rotation)
        needs_server = getattr(resource_class, "needs_server", None)
        backend = _connect(params, needs_server(params) if needs_server is not None else True)
        backend.read_only = module.check_mode
        resource = resource_class(backend, params)
        waiter = Waiter(backend, wait=params["wait"], timeout=params["wait_timeout"])
        result = converge(resource, module.check_mode, waiter)
    except IPluginException as error:
        extra = {"job": waiter.jobs[-1]} if resource is not None and waiter.jobs else {}
        fail(module, _message(resource, error, resource_class, params), error.name, **extra)
    except Exception as error:  # the last line of defence: a message, never a traceback
        fail(module, "%s: unexpected error: %s" % (resource.describe() if resource else "stormgmt", error),
             "OperationFailedEx", exception=traceback.format_exc())
    finally:
        if backend is not None:
            backend.close()
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


def run_info(module: AnsibleModule, gather) -> None:
    """Run a read-only ``gather(backend, params) -> result`` with the same error mapping."""
    params = module.params
    backend = None
    try:
        backend = _connect(params)
        backend.read_only = True
        result = gather(backend, params)
    except IPluginException as error:
        fail(module, error.msg, error.name)
    except Exception as error:
        fail(module, "stormgmt: unexpected error: %s" % error, "OperationFailedEx", exception=traceback.format_exc())
    finally:
        if backend is not None:
            backend.close()
    module.exit_json(changed=False, **result)
