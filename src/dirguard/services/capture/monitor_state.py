"""What the monitor knows about each source it follows between passes, and what it reports."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.base import SourceReader, store_source

if TYPE_CHECKING:
    from dirguard.providers.ad.connection import AdConnection


@dataclass(frozen=True, kw_only=True)
class WatchedSource:
    """A source followed besides the AD domains (an Entra tenant): opened through its
    provider, polled every ``interval`` seconds. ``open`` raises ``SourceError`` (refused: the
    monitor stops; else retried) or a :class:`ServiceError` as the AD connector does."""

    kind: str
    name: str
    open: Callable[[], SourceReader]
    interval: float

    @property
    def key(self) -> str:
        return store_source(self.kind, self.name)


@dataclass(kw_only=True)
class DomainState:
    """What the loop knows about one source (an AD domain, or a watched source) between
    passes."""

    domain: AdDomainConfig | None = None
    watched: WatchedSource | None = None
    reader: SourceReader | None = None
    """The open connection, if any: it reads the schema and builds the audit source once."""
    failures: int = 0
    due: float = 0.0
    passes: int = 0
    events: int = 0
    entries: int = 0
    errors: int = 0
    connects: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None
    last_pass_at: str | None = None
    """When the last successful pass ended (ISO 8601 UTC): the console's lag."""
    last_error_at: str | None = None
    deletions_hidden: bool | None = None
    """Found out once, at the first connection (``SourceReader.changes_incomplete``)."""

    @property
    def name(self) -> str:
        if self.watched is not None:
            return self.watched.name
        assert self.domain is not None
        return self.domain.name

    @property
    def conn(self) -> AdConnection | None:
        if self.domain is None:  # a Graph source: no LDAP connection (nor python-ldap needed)
            return None
        from dirguard.providers.ad.read import AdReader

        return self.reader.conn if isinstance(self.reader, AdReader) else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "deletions_hidden": self.deletions_hidden,
            "passes": self.passes,
            "entries": self.entries,
            "events": self.events,
            "ops": dict(sorted(self.ops.items())),
            "errors": self.errors,
            "connects": self.connects,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "last_pass_at": self.last_pass_at,
        }


@dataclass(kw_only=True)
class MonitorResult:
    run_id: int
    status: str
    domains: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "domains": self.domains}
