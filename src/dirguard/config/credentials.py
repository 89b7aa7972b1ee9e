"""Resolve credential references to secret values, at the moment a connection needs them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dirguard.config.credential_ref import CredentialRef, RefScheme
from dirguard.config.secret_store import SecretStore, SecretStoreError, check_private_file
from dirguard.log_setup import register_secret


class CredentialError(Exception):
    """A reference that cannot be resolved. Names the reference, never a secret value."""


def resolve_credential(
    ref: CredentialRef | str,
    store: SecretStore,
    environ: Mapping[str, str] | None = None,
) -> str:
    value = _resolve(
        ref if isinstance(ref, CredentialRef) else CredentialRef.parse(ref), store, environ
    )
    register_secret(value)
    return value


def _resolve(parsed: CredentialRef, store: SecretStore, environ: Mapping[str, str] | None) -> str:
    env = os.environ if environ is None else environ
    if parsed.scheme is RefScheme.ENV:
        value = env.get(parsed.target)
        if not value:
            raise CredentialError(f"{parsed}: environment variable {parsed.target} is not set")
        return value
    if parsed.scheme is RefScheme.FILE:
        path = Path(parsed.target)
        if not path.is_file():
            raise CredentialError(f"{parsed}: no such file")
        try:
            check_private_file(path, "credential file")
            text = path.read_text(encoding="utf-8").strip()
        except SecretStoreError as exc:
            raise CredentialError(f"{parsed}: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialError(f"{parsed}: cannot be read ({type(exc).__name__})") from None
        if not text:
            raise CredentialError(f"{parsed}: the file is empty")
        return text
    try:
        return store.get(parsed.target)
    except SecretStoreError as exc:
        raise CredentialError(f"{parsed}: {exc}") from None
