# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.stormgmt.core.plugins.module_utils._secrets import hash_secret, secret_matches


def test_a_hash_matches_its_secret_only():
    stored = hash_secret("Conformance-Secret-1")
    assert "Conformance-Secret-1" not in stored and stored.startswith("pbkdf2_sha256$")
    assert secret_matches("Conformance-Secret-1", stored)
    assert not secret_matches("Conformance-Secret-2", stored)


def test_salted():
    assert hash_secret("same secret!") != hash_secret("same secret!")
    assert hash_secret("same secret!", b"s" * 16) == hash_secret("same secret!", b"s" * 16)


def test_garbage_never_matches():
    for stored in (None, "", "garbage", "pbkdf2_sha256$x$zz$00", "a$b$c"):
        assert not secret_matches("anything", stored)
