# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""TTL cache keyed by storage server uuid. Private to this collection.

Backends cache raw answers from a storage server (a tgtadm listing, a pool scan)
for the life of one module run, so a task that reads the same thing several times
asks the server once. Entries expire (default 30 seconds); a backend clears the
entries of a server after every write so a re-read sees the change.
"""

from __future__ import annotations

import time

DEFAULT_TTL = 30.0


class TTLCache:
    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._data: dict = {}

    def set(self, ss_uuid: str, key: str, value, expire_time: float = DEFAULT_TTL) -> None:
        """Store ``value``; a value of None removes the entry."""
        if value is None:
            self._data.get(ss_uuid, {}).pop(key, None)
            return
        self._data.setdefault(ss_uuid, {})[key] = (value, self._clock() + expire_time)

    def get(self, ss_uuid: str, key: str):
        """Return the value, or None when absent or expired."""
        entry = self._data.get(ss_uuid, {}).get(key)
        if entry is None:
            return None
        value, deadline = entry
        if self._clock() >= deadline:
            del self._data[ss_uuid][key]
            return None
        return value

    def extend(self, ss_uuid: str, key: str, extend_time: float) -> None:
        """Push the expiry of a live entry ``extend_time`` seconds further."""
        entry = self._data.get(ss_uuid, {}).get(key)
        if entry is not None and self._clock() < entry[1]:
            self._data[ss_uuid][key] = (entry[0], entry[1] + extend_time)

    def clear(self, ss_uuid: str) -> None:
        """Forget every entry of one storage server."""
        self._data.pop(ss_uuid, None)

    def get_or_set(self, ss_uuid: str, key: str, compute, expire_time: float = DEFAULT_TTL):
        value = self.get(ss_uuid, key)
        if value is None:
            value = compute()
            self.set(ss_uuid, key, value, expire_time)
        return value
