"""``dirguard permissions check``: a granted set against the manifest for a service and mode
(the same comparison ``connect validate`` makes against what a connection holds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Principal, Service
from dirguard.core.consent_check import (
    ConsentReport,
    GrantedEntry,
    GrantedFileError,
    check_consent,
    parse_granted,
)
from dirguard.services.errors import ServiceError


def read_granted(path: Path) -> Sequence[GrantedEntry]:
    """The entries of a granted-set file (JSON or one name a line); a clear error naming it."""
    try:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise GrantedFileError("the file is not UTF-8 text") from None
        except OSError as exc:
            raise GrantedFileError(exc.strerror or type(exc).__name__) from None
        return parse_granted(
            text, kinds={k.value for k in Kind}, principals={p.value for p in Principal}
        )
    except GrantedFileError as exc:
        raise ServiceError(f"cannot use granted set {path}: {exc}") from None


def check_granted(
    granted: Sequence[GrantedEntry],
    *,
    service: Service | None,
    mode: Mode,
    include_setup: bool = False,
) -> ConsentReport:
    """What of the manifest's rows for ``service`` (all: ``None``) and ``mode`` the granted set
    lacks, and which features each missing one breaks; setup-only rows count only when asked."""
    required = tuple(
        p
        for p in MANIFEST.select(service=service, mode=mode)
        if include_setup or p.lifecycle is not Lifecycle.SETUP_ONLY
    )
    features_of = {p.key: [f.key for f in MANIFEST.features_for(p.key, mode)] for p in required}
    return check_consent(required, granted, features_of=features_of, known=MANIFEST.permissions)
