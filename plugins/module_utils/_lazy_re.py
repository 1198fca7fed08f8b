# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Regular expressions compiled when first used. Private to this collection.

``re.compile`` runs Python code (re's parser and compiler): about half a million instructions
a pattern. Compiled at import, the patterns of the module_utils a task loads cost a no-op task
more than its own work (benchmarks/README.md); compiled on first use, a task pays only for
those it matches against.
"""

from __future__ import annotations

import re


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``: every attribute (``match``, ``sub``,
    ``pattern``...) is the compiled pattern's, compiled at the first use."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._compiled = None

    def __getattr__(self, name: str):
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(*self._args)
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return "LazyPattern(%r)" % (self._args[0],)


def lazy_compile(pattern, flags: int = 0) -> LazyPattern:
    """``re.compile``, deferred to the first use of the pattern."""
    return LazyPattern(pattern, flags)
