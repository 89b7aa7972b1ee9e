"""Random passwords that meet Active Directory's complexity rules: the accounts `dirguard connect
ad` creates get one (and so does the throwaway Samba DC's administrator)."""

from __future__ import annotations

import secrets
import string

SYMBOLS = "!#%+-.:=?@^_~"
"""Symbols that need no quoting in LDIF, TOML or a shell."""
MIN_LENGTH = 12


def complex_password(length: int = 24, *, avoid: str = "") -> str:
    """A random password with all four character classes (lower, upper, digit, symbol) that does
    not contain ``avoid`` (the account name, which AD's complexity rule forbids), any case."""
    if length < MIN_LENGTH:
        raise ValueError(f"password length {length} is too short; use at least {MIN_LENGTH}")
    classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS)
    alphabet = "".join(classes)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if all(any(c in group for c in candidate) for group in classes) and (
            not avoid or avoid.lower() not in candidate.lower()
        ):
            return candidate


def unicode_pwd(password: str) -> bytes:
    """The value AD takes for ``unicodePwd``: the password in double quotes, UTF-16-LE (it is
    only ever written, over an encrypted connection, and never read back)."""
    return f'"{password}"'.encode("utf-16-le")
