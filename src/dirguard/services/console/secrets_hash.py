"""Opaque secrets handed to browsers and scripts (session ids, API tokens) and how they are
stored: only their SHA-256 ever reaches the database.

A plain SHA-256 is enough here (unlike for passwords): the values are 256 random bits, so there
is nothing to guess from a leaked hash.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "dgt_"  # noqa: S105 (a prefix, not a secret)
"""API tokens start with this, so a leaked one is recognisable (secret scanners, logs)."""


def new_secret() -> str:
    """32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def secret_hash(value: str) -> str:
    """The SHA-256 hex digest that is stored in place of ``value``."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
