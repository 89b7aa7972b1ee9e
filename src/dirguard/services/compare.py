"""``dirguard diff``: what differs between two recorded moments of a directory (an AD domain or
an Entra tenant), or between a recorded moment and the live directory — how an administrator
checks that a rollback put everything back.

Each object's state at a moment is the one ``dirguard show --at`` gives (the nearest stored
version with the later events replayed onto it); the live state is a fresh full read through
the source's provider (the reader a snapshot uses), stored nowhere. A deleted object counts as
absent. The comparison itself (:func:`dirguard.core.state_diff.compare_states`) follows each
type's row: volatile fields left out, unordered fields compared as sets.
"""

from __future__ import annotations

from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dirguard.core.state_diff import FieldDifference, Presence, compare_states
from dirguard.providers.base import store_source
from dirguard.providers.readers import reading_provider
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.history import (
    HistoryQueryError,
    ObjectRef,
    find_object,
    object_ref,
)
from dirguard.services.moment_states import is_deleted, states_at
from dirguard.services.runtime import Runtime, choose_entra_tenant
from dirguard.store import json_codec
from dirguard.store.models import DirectoryObject

Content = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CompareRequest:
    since: datetime
    """The earlier moment."""
    until: datetime | None = None
    """The later moment; ``None`` with ``live``: the directory as it is now."""
    live: bool = False
    domain: str | None = None
    """The AD domain (``None``: the only one configured, unless ``tenant`` is given)."""
    tenant: str | None = None
    """An Entra tenant instead of an AD domain."""
    under: str | None = None
    """Only objects under this DN (at either moment); AD only."""
    object: str | None = None
    """Only this object (GUID or Graph id, DN or path, sAMAccountName or UPN)."""
    after_object: int | None = None
    """Two recorded moments, a page at a time: start after this object's store id (the
    ``next_object`` of the page before)."""
    page_objects: int | None = None
    """Two recorded moments: examine at most this many objects (``None``: all of them)."""


@dataclass(frozen=True, kw_only=True)
class ObjectDifference:
    guid: str
    type: str
    name: str | None
    dn: str | None
    presence: Presence
    fields: tuple[FieldDifference, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "guid": self.guid,
            "type": self.type,
            "name": self.name,
            "dn": self.dn,
            "presence": self.presence.value,
            "fields": [json_codec.encode(f.as_dict()) for f in self.fields],
        }


@dataclass(kw_only=True)
class CompareReport:
    domain: str
    since: str
    until: str
    """An ISO time, or ``live``."""
    compared: int = 0
    differences: list[ObjectDifference] = field(default_factory=list)
    next_object: int | None = None
    """Where the next page starts (:attr:`CompareRequest.after_object`); ``None``: all done."""

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(d.presence.value for d in self.differences)
        return {p.value: found[p.value] for p in Presence if p is not Presence.SAME}

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "since": self.since,
            "until": self.until,
            "compared": self.compared,
            "same": not self.differences,
            "counts": self.counts,
            "differences": [d.as_dict() for d in self.differences],
            "next_object": self.next_object,
        }


def _first(content: Content | None, name: str) -> str | None:
    if not content or not name:
        return None
    value = content.get(name)
    first = value[0] if isinstance(value, list) and value else value
    return first if isinstance(first, str) else None


def _dn(content: Content | None) -> str | None:
    return _first(content, "distinguishedName")


def directory_choice(directory: str | None) -> dict[str, str | None]:
    """The ``domain`` / ``tenant`` of a :class:`CompareRequest` from the console's directory
    value: a store key (``ad:corp.example.com``, ``entra:contoso``, as the Changes page shows
    them) or a bare AD domain name."""
    if not directory:
        return {"domain": None, "tenant": None}
    kind, _, name = directory.partition(":")
    if name and kind == "entra":
        return {"domain": None, "tenant": name}
    if name and kind == "ad":
        return {"domain": name, "tenant": None}
    return {"domain": directory, "tenant": None}


def _source(runtime: Runtime, request: CompareRequest) -> tuple[str, str]:
    """``(kind, name)`` of the directory compared: the tenant named, or the AD domain."""
    if request.tenant is not None and request.domain is not None:
        raise ServiceError("compare one directory: a domain or a tenant, not both", Problem.FAILURE)
    if request.tenant is not None:
        if request.under is not None:
            raise ServiceError(
                "an OU subtree is Active Directory's: an Entra tenant has none (compare the"
                " whole tenant or one object)",
                Problem.FAILURE,
            )
        return "entra", choose_entra_tenant(runtime.config, request.tenant).name
    return "ad", runtime.ad_domain(request.domain).name


def _under(dn: str | None, base: str) -> bool:
    return dn is not None and (dn.lower() == base or dn.lower().endswith("," + base))


def _recorded(states: dict[int, Content | None], ref: ObjectRef) -> Content | None:
    content = states.get(ref.id)
    return None if content is None or is_deleted(content) else content


def _live(runtime: Runtime, kind: str, name: str) -> dict[str, tuple[str, Content]]:
    """Every object of the source (a domain's partitions, a tenant's collections) as a full
    read finds it now: id → (type, content); deleted ones left out."""
    contents: dict[str, tuple[str, Content]] = {}
    with closing(reading_provider(kind).open_reader(runtime, name)) as reader:
        for scope in reader.scopes():
            for page in reader.read_all(scope):
                for observed in page.objects:
                    content = dict(observed.content)
                    if not is_deleted(content):
                        contents[observed.external_id] = (observed.resource_type.key, content)
    return contents


def compare(runtime: Runtime, request: CompareRequest) -> CompareReport:
    """The objects whose state differs between the two moments, with each field's change."""
    if request.live == (request.until is not None):
        raise ServiceError("compare with either --to TIME or --live", Problem.FAILURE)
    if request.until is not None and request.until < request.since:
        raise ServiceError("--to is earlier than --from", Problem.FAILURE)
    kind, source = _source(runtime, request)
    key = store_source(kind, source)
    paged = request.page_objects is not None and not request.live
    with runtime.sessions() as session:
        if request.object is not None:
            try:
                refs = [find_object(session, request.object, key)]
            except HistoryQueryError as error:
                raise ServiceError(str(error), Problem.NOT_FOUND) from None
        else:
            query = select(DirectoryObject).where(DirectoryObject.source == key)
            if request.after_object is not None:
                query = query.where(DirectoryObject.id > request.after_object)
            query = query.order_by(DirectoryObject.id)
            if paged:
                query = query.limit((request.page_objects or 0) + 1)
            refs = [object_ref(o) for o in session.scalars(query)]
        more = paged and request.object is None and len(refs) > (request.page_objects or 0)
        if more:
            refs = refs[: request.page_objects]
        ids = [r.id for r in refs]
        earlier = states_at(session, ids, request.since)
        later = states_at(session, ids, request.until) if request.until is not None else {}
    live = _live(runtime, kind, source) if request.live else {}
    report = CompareReport(
        domain=source,
        since=request.since.isoformat(),
        until="live" if request.live else (request.until or request.since).isoformat(),
        next_object=refs[-1].id if more and refs else None,
    )
    base = request.under.lower() if request.under else None
    for ref in refs:
        before = _recorded(earlier, ref)
        if request.live:
            after = live.pop(ref.external_id, (None, None))[1]
        else:
            after = _recorded(later, ref)
        if base is not None and not (_under(_dn(before), base) or _under(_dn(after), base)):
            continue
        report.compared += 1
        _add(report, ref.external_id, ref.resource_type, ref.natural_key, before, after)
    if request.object is None:
        for guid, (type_key, content) in live.items():  # live objects dirguard never recorded
            if base is None or _under(_dn(content), base):
                report.compared += 1
                _add(report, guid, type_key, None, None, content)
    return report


def _add(
    report: CompareReport,
    guid: str,
    type_key: str,
    name: str | None,
    before: Content | None,
    after: Content | None,
) -> None:
    row = RESOURCE_TYPES[type_key]
    difference = compare_states(row, before, after)
    if difference.presence is Presence.SAME:
        return
    report.differences.append(
        ObjectDifference(
            guid=guid,
            type=type_key,
            name=name or _first(after, row.natural_key) or _first(before, row.natural_key),
            dn=_dn(after) or _dn(before),
            presence=difference.presence,
            fields=difference.fields,
        )
    )
