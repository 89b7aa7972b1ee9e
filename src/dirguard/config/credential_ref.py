"""References to secrets: configuration names where a secret lives, never the secret itself.

Forms: ``env:NAME`` (environment variable), ``file:/abs/path`` (a file readable only by its
owner, mode 0600 or stricter), ``secret:NAME`` (dirguard's encrypted secret store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class RefScheme(StrEnum):
    ENV = "env"
    FILE = "file"
    SECRET = "secret"  # noqa: S105 - the scheme name, not a secret


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

CREDENTIAL_FIX = (
    "credentials are never written in the configuration: use env:VARIABLE, "
    "file:/absolute/path (mode 0600), or secret:NAME (stored with `dirguard secret set NAME`)"
)


class CredentialRefError(ValueError):
    """A credential reference that is not of a known form. Never carries the value itself."""


@dataclass(frozen=True)
class CredentialRef:
    scheme: RefScheme
    target: str

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.target}"

    @classmethod
    def parse(cls, text: str) -> CredentialRef:
        """Parse a reference; the error message never repeats ``text`` (it may be a secret)."""
        scheme, sep, target = text.partition(":")
        if not sep or scheme not in {s.value for s in RefScheme}:
            raise CredentialRefError(f"not a credential reference; {CREDENTIAL_FIX}")
        ref_scheme = RefScheme(scheme)
        if ref_scheme is RefScheme.ENV and not _ENV_NAME.match(target):
            raise CredentialRefError(
                "env: needs an environment variable name (letters, digits, underscore)"
            )
        if ref_scheme is RefScheme.FILE and not target.startswith("/"):
            raise CredentialRefError("file: needs an absolute path, e.g. file:/etc/dirguard/ad.pw")
        if ref_scheme is RefScheme.SECRET and not _SECRET_NAME.match(target):
            raise CredentialRefError(
                "secret: needs a name of letters, digits, '.', '_' or '-' (at most 128)"
            )
        return cls(ref_scheme, target)
