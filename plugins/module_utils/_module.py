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

import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge
from ansible_collections.stormgmt.core.plugins.module_utils._registry import connect
from ansible_collections.stormgmt.core.plugins.module_utils.errors import IPluginException


def connection_argument_spec() -> dict:
    """Options of the ``stormgmt.core.connection`` doc fragment."""
    return dict(
        server=dict(type="str", default="sim://", fallback=(env_fallback, ["STORMGMT_SERVER"])),
        username=dict(type="str", fallback=(env_fallback, ["STORMGMT_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["STORMGMT_PASSWORD"])),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


def new_module(argument_spec: dict, mixin=None, **kwargs) -> AnsibleModule:
    """The module's AnsibleModule; ``mixin``: a class whose methods come first (the list form's
    item secrets, _batch.py)."""
    spec = connection_argument_spec()
    spec.update(argument_spec)
    kwargs.setdefault("supports_check_mode", True)
    module_class = AnsibleModule if mixin is None else type(mixin.__name__, (mixin, AnsibleModule), {})
    return module_class(argument_spec=spec, **kwargs)


def _message(resource, error: IPluginException, resource_class=None, params=None) -> str:
    """Name the object in the message unless the backend already did.

    When the input was too bad to build the resource (a size that is not a size, an
    unknown URI scheme...), the object is named from its ``name`` option.
    """
    if resource is not None:
        what = resource.describe()
    elif resource_class is not None and isinstance((params or {}).get("name"), str):
        noun = getattr(resource_class, "noun", "") or resource_class.kind.replace("_", " ")
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
        backend = connect(params["server"], params["username"], params["password"])
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
        backend = connect(params["server"], params["username"], params["password"])
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
