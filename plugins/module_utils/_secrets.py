# -*- coding: utf-8 -*-
# Copyright (c) 2026, stormgmt.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Secrets at rest: salted PBKDF2 hashes of CHAP secrets. Private to this collection.

Backends keep a hash, never the secret: ``hash_secret`` when a secret is set,
``secret_matches`` when a task gives it again (idempotency, without storing it).
"""

from __future__ import annotations

import hashlib
import os

PBKDF2_ROUNDS = 50000


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$ROUNDS$SALT$DIGEST`` (hex) of ``secret`` with a random (or the given) salt."""
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, PBKDF2_ROUNDS)
    return "pbkdf2_sha256$%d$%s$%s" % (PBKDF2_ROUNDS, salt.hex(), digest.hex())


def secret_matches(secret: str, stored: str | None) -> bool:
    """True when ``secret`` is the one ``stored`` (a :func:`hash_secret` value) was made from."""
    if not stored:
        return False
    try:
        _algo, rounds, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    import hmac  # here: a task that checks no secret does not load it
    return hmac.compare_digest(candidate.hex(), digest)
