# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The list form of a module: many objects of one kind in one module run. Private to this collection.

``stormgmt.core.lun: {luns: [{name: a, size: 1G}, {name: b, size: 2G}]}`` converges every
item as the single form (``name: a, size: 1G``) would, through the same engine
(:func:`_engine.converge_many` calls :func:`_engine.converge` per object), over one backend
connection, after one bulk read of the objects. What the single form gives, each item gets:

* its options validated with the single form's argument spec, one item at a time: a bad item
  fails with an error class (``MissingKeyEx``, ``ValueFormatEx``, ``InvalidValueEx``) and the
  others go on. The options of the task besides the list are the defaults of every item;
* check mode, its record and its diff (``results[i]``, shaped as the single form's result plus
  the item's ``name``), and in ``diff`` mode one before/after per changed object;
* its own failure: an object that fails is left as it was and named in the task's ``msg`` with
  its error class; the task fails after every other object was converged;
* secrets: the no_log options of every item (CHAP passwords) are hidden from the start, in the
  invocation log and in every result, as the single form hides its own.
"""

from __future__ import annotations

import copy
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import _list_no_log_values

from ansible_collections.stormgmt.core.plugins.module_utils._engine import Waiter, converge_many
from ansible_collections.stormgmt.core.plugins.module_utils._module import (
    _connect,
    connection_argument_spec,
    fail,
    new_module,
    run_resource,
)
from ansible_collections.stormgmt.core.plugins.module_utils.errors import (
    InvalidValueEx,
    IPluginException,
    MissingKeyEx,
    ValueFormatEx,
)

# what a failed argument spec check of an item means, as a seed-001 error class
_ITEM_ERRORS = dict(
    [(name, MissingKeyEx) for name in (
        "RequiredError", "RequiredIfError", "RequiredByError", "RequiredOneOfError", "RequiredTogetherError")]
    + [(name, ValueFormatEx) for name in ("ArgumentTypeError", "ElementError", "SubParameterTypeError")]
    + [(name, InvalidValueEx) for name in ("ArgumentValueError", "MutuallyExclusiveError", "UnsupportedError")])

# at most this many failed objects are spelled out in the task's msg (all are in results)
_MSG_FAILURES = 10


def batch_argument_spec(single_spec: dict, option: str) -> dict:
    """The module's argument spec: the single form's, ``name`` no longer required, and
    ``option``, a list of dicts, each validated later with ``single_spec`` on its own."""
    spec = copy.deepcopy(single_spec)
    spec["name"].pop("required", None)
    spec[option] = dict(type="list", elements="dict")
    return spec


def item_secrets(item_spec: dict, item) -> set:
    """The values of the no_log options of one item (CHAP passwords), as Ansible finds them."""
    if not isinstance(item, dict):
        return set()
    try:
        return _list_no_log_values(item_spec, item)
    except (TypeError, ValueError):
        # a malformed sub-option (chap given as a list...): hide every string under the
        # options that hold secrets, the item fails its validation later
        secrets = set()
        for key, option in item_spec.items():
            if _holds_secret(option):
                secrets.update(_strings(item.get(key)))
        return secrets


def _holds_secret(option: dict) -> bool:
    return bool(option.get("no_log")) or any(_holds_secret(sub) for sub in (option.get("options") or {}).values())


def _strings(value) -> set:
    if isinstance(value, str):
        return set([value]) if value else set()
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*[_strings(item) for item in value]) if value else set()
    return set()


class _ItemSecrets:
    """AnsibleModule mixin: the secrets of every item are no_log values before anything is
    logged or returned (AnsibleModule knows the no_log options of its own spec only)."""

    batch_option = ""
    item_spec: dict = {}

    def _load_params(self):
        super()._load_params()  # pylint: disable=no-member
        items = self.params.get(self.batch_option)  # pylint: disable=no-member
        for item in items if isinstance(items, list) else []:
            self.no_log_values.update(item_secrets(self.item_spec, item))  # pylint: disable=no-member


def new_batch_module(single_spec: dict, option: str, **kwargs):
    """AnsibleModule of a module with a list form: ``name`` or ``option``, one of them."""
    mixin = type("StorageBatchModule", (_ItemSecrets,), {"batch_option": option, "item_spec": single_spec})
    kwargs.setdefault("mutually_exclusive", []).append(("name", option))
    kwargs.setdefault("required_one_of", []).append(("name", option))
    return new_module(batch_argument_spec(single_spec, option), mixin=mixin, **kwargs)


def run(module, resource_class, option: str, single_spec: dict) -> None:
    """Converge what the task asks for, one object (``name``) or the list ``option``; exit."""
    if module.params.get(option) is None:
        run_resource(module, resource_class)
    else:
        run_batch(module, resource_class, option, single_spec)


def _label(resource_class, option: str, index: int, item) -> str:
    """How a message names an item that is not an object yet."""
    name = item.get("name") if isinstance(item, dict) else None
    noun = getattr(resource_class, "noun", "") or resource_class.kind.replace("_", " ")
    if isinstance(name, str) and name:
        return "%s '%s' (item %d of %s)" % (noun, name, index + 1, option)
    return "item %d of %s" % (index + 1, option)


def item_params(module, option: str, validator, item) -> dict:
    """One item's parameters as the single form's module would have them, or the error class
    of its argument spec check (raised, naming the item). ``validator``: an
    ArgumentSpecValidator of the single form's argument spec."""
    if not isinstance(item, dict):
        raise ValueFormatEx("each item of %s is a dict of options, got %r" % (option, item), option)
    params = module.params
    merged = dict((key, value) for key, value in params.items()
                  if key in validator.argument_spec and key != "name" and value is not None)
    merged.update(item)
    result = validator.validate(merged)
    module.no_log_values.update(result._no_log_values)  # pylint: disable=protected-access
    if result.error_messages:
        errors = result.errors.errors
        # the cause, not a side effect of it (a NoLogError of a malformed sub-option)
        error = ([error for error in errors if type(error).__name__ in _ITEM_ERRORS] or errors)[0]
        msg = error.error_message
        if type(error).__name__ == "UnsupportedError":
            msg = "unsupported parameters: " + msg
        raise _ITEM_ERRORS.get(type(error).__name__, InvalidValueEx)(msg, option)
    out = dict((key, params[key]) for key in connection_argument_spec())
    out.update(result.validated_parameters)
    return out


def _prepare(module, backend, resource_class, option: str, single_spec: dict) -> list:
    """[resource or a failed result] per item, in order; items naming one object twice fail."""
    slots = []
    validator = ArgumentSpecValidator(single_spec)
    for index, item in enumerate(module.params[option]):
        try:
            slots.append(resource_class(backend, item_params(module, option, validator, item)))
        except IPluginException as error:
            what = _label(resource_class, option, index, item)
            slots.append({"changed": False, "failed": True, "error": error.name,
                          "msg": error.msg if what in error.msg else "%s: %s" % (what, error.msg)})
    seen: dict = {}
    for index, slot in enumerate(slots):
        if not isinstance(slot, dict):
            seen.setdefault(slot.describe(), []).append(index)
    for what, indexes in seen.items():
        if len(indexes) > 1:
            for index in indexes:
                slots[index] = {"changed": False, "failed": True, "error": InvalidValueEx.__name__,
                                "msg": "%s is given by items %s of %s: give each object once"
                                       % (what, ", ".join(str(i + 1) for i in indexes), option)}
    return slots


def _summary(option: str, results: list) -> str:
    failed = [result for result in results if result.get("failed")]
    listed = ["%s (%s)" % (result["msg"], result["error"]) for result in failed[:_MSG_FAILURES]]
    if len(failed) > _MSG_FAILURES:
        listed.append("and %d more (see results)" % (len(failed) - _MSG_FAILURES))
    return "%d of %d items of %s failed, the others were converged: %s" % (
        len(failed), len(results), option, "; ".join(listed))


def run_batch(module, resource_class, option: str, single_spec: dict) -> None:
    """Converge every item of ``option``; exit with ``results``, or fail naming each failure."""
    params = module.params
    backend = None
    exception = None
    try:
        if params["wait_timeout"] <= 0:
            module.fail_json(msg="wait_timeout must be a positive number of seconds, got %s" % params["wait_timeout"],
                             error="InvalidValueEx")
        backend = _connect(params)  # MissingKeyEx without a server: the storage is never guessed
        backend.read_only = module.check_mode
        slots = _prepare(module, backend, resource_class, option, single_spec)
        resources = [slot for slot in slots if not isinstance(slot, dict)]
        converged = iter(converge_many(
            resources, module.check_mode, lambda: Waiter(backend, wait=params["wait"], timeout=params["wait_timeout"])))
        results = [slot if isinstance(slot, dict) else next(converged) for slot in slots]
        names = [item.get("name") if isinstance(item, dict) else None for item in params[option]]
    except IPluginException as error:
        fail(module, "%s: %s" % (option, error.msg), error.name)
    except Exception as error:  # the last line of defence: a message, never a traceback
        fail(module, "%s: unexpected error: %s" % (option, error), "OperationFailedEx", exception=traceback.format_exc())
    finally:
        if backend is not None:
            backend.close()
    diffs = []
    for index, (name, slot, result) in enumerate(zip(names, slots, results)):
        results[index] = result = dict(name=name, **result)
        if "exception" in result:
            exception = exception or result.pop("exception")
            result.pop("exception", None)
        if not module._diff:  # pylint: disable=protected-access
            result.pop("diff", None)
        elif result.get("changed") and "diff" in result:
            header = slot.describe()
            diffs.append(dict(result["diff"], before_header=header, after_header=header))
    out = {"changed": any(result["changed"] for result in results), "results": results}
    if module._diff:  # pylint: disable=protected-access
        out["diff"] = diffs
    if any(result.get("failed") for result in results):
        first = [result for result in results if result.get("failed")][0]
        if exception is not None:
            out["exception"] = exception
        fail(module, _summary(option, results), first["error"], **out)
    module.exit_json(**out)
