# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Backend registry: the URI scheme picks the backend. Private to this collection.

Backends are imported only when their scheme is used (a ``sim://`` task does not
pay for loading the tgt backend), but the imports are written out so Ansible
ships every backend with every module.
"""

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils.errors import ValueFormatEx
from ansible_collections.stormgmt.core.plugins.module_utils.plugin import ServerURI

# extra schemes registered at run time (tests register fakes here)
_REGISTERED: dict = {}

KNOWN_SCHEMES = ("sim", "tgt", "linux", "ceph", "plugin+NAME", "lsm+NAME")


def register(cls):
    """Class decorator: make ``cls`` the backend of ``cls.scheme``."""
    _REGISTERED[cls.scheme] = cls
    return cls


def backend_class(uri: ServerURI):
    scheme = uri.scheme
    if scheme in _REGISTERED:
        return _REGISTERED[scheme]
    if scheme == "sim":
        from ansible_collections.stormgmt.core.plugins.module_utils.backends.sim import SimBackend
        return SimBackend
    if scheme in ("tgt", "linux"):
        # the Linux storage server: tgt:// as before (blocks; files with nfs_conf), linux:// files (and blocks)
        from ansible_collections.stormgmt.core.plugins.module_utils.backends.linux import LinuxBackend
        return LinuxBackend
    if scheme == "ceph":
        from ansible_collections.stormgmt.core.plugins.module_utils.backends.ceph import CephBackend
        return CephBackend
    if scheme.startswith("plugin+"):
        from ansible_collections.stormgmt.core.plugins.module_utils.backends.external import ExternalBackend
        return ExternalBackend
    if scheme.startswith("lsm+"):
        from ansible_collections.stormgmt.core.plugins.module_utils.backends.lsm import LsmBackend
        return LsmBackend
    raise ValueFormatEx(
        "server %r uses the unknown scheme '%s'; known schemes: %s" % (uri.text, scheme, ", ".join(KNOWN_SCHEMES)),
        "server")


def connect(server: str, username: str | None = None, password: str | None = None):
    """Return a backend instance for the ``server`` URI."""
    uri = ServerURI(server)
    return backend_class(uri)(uri, username, password)
