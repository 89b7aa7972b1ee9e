"""The tenant read as a whole by a test's own Graph client, to compare two moments: every Entra
type dirguard declares with its declared ``$select`` and its links (``tenant_snapshot``), and
how two such reads differ once re-created objects are paired and every reference to an old id
is read as the new one (``differences``). The rogue day (``rogue_day.py``) checks its undo with
it."""

from __future__ import annotations

from typing import Any

import httpx


def get(client: httpx.Client, path: str) -> dict[str, Any]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


GENERIC_VOLATILE = frozenset({"@odata.context", "@odata.etag", "@odata.nextLink"})
"""Annotations of an answer, not state."""
RECREATED_VOLATILE = frozenset({"id", "createdDateTime", "modifiedDateTime", "createdUsing"})
"""What a re-created object has anew: its id and when (and by which request) it was made."""
BORN_WITH_A_USER = frozenset(
    {"lastPasswordChangeDateTime", "signInSessionsValidFromDateTime", "securityIdentifier"}
)
"""What a user created anew has of its own: its new password's time (dirguard gives it a random
one, never the old: a password is never readable), its sessions' start and its security
identifier (an object's SID is its own, never reused)."""

Snapshot = dict[str, dict[str, dict[str, Any]]]
"""Type key -> object id -> the object as Graph answers it (declared ``$select``, its links)."""


def _pages(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url: str | None = path
    while url is not None:
        page = get(client, url)
        found.extend(page.get("value", []))
        url = page.get("@odata.nextLink")
    return found


def tenant_snapshot(client: httpx.Client) -> Snapshot:
    """Every Entra type dirguard declares, read with its declared ``$select`` and its links
    (one relationship read per object), by ``client`` alone: no dirguard code reads it."""
    from dirguard.catalog.resource_type import GraphSource
    from dirguard.providers.registry import RESOURCE_TYPES

    snapshot: Snapshot = {}
    for key, row in RESOURCE_TYPES.items():
        source = row.source
        if row.provider != "entra" or not isinstance(source, GraphSource) or not source.app_only:
            continue
        select = f"?$select={','.join(source.select)}" if source.select else ""
        if source.parent is not None:
            parents = snapshot.get(source.parent, {})
            paths = [source.collection.replace("{parent}", p) for p in parents]
        else:
            paths = [source.collection]
        objects: dict[str, dict[str, Any]] = {}
        for path in paths:
            if source.singleton:
                items = [get(client, f"/{path}{select}")]
            else:
                items = _pages(client, f"/{path}{select}")
            for item in items:
                name = str(item.get("id") or path)
                for link in source.links:
                    url = f"/{path}/{name}/{link.path}"
                    answer = client.get(url)
                    if link.single:
                        item[link.field] = answer.json().get("id") if answer.is_success else None
                    else:
                        assert answer.status_code == 200, (url, answer.text)
                        values = _pages(client, url)
                        item[link.field] = sorted(str(v.get("id")) for v in values)
                objects[name] = item
        snapshot[key] = objects
    return snapshot


def _identity(key: str, item: dict[str, Any]) -> tuple[Any, ...]:
    """What names an object that was created anew: the principal, role and scope of an
    assignment or schedule; else its display name."""
    if "roleDefinitionId" in item:
        return (item.get("principalId"), item["roleDefinitionId"], item.get("directoryScopeId"))
    return (key, item.get("displayName"))


def _renamed(text: str, new_ids: dict[str, str]) -> str:
    for old, new in new_ids.items():
        text = text.replace(old, new)
    return text


def _mapped(value: Any, new_ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _renamed(value, new_ids)
    if isinstance(value, list):
        return [_mapped(v, new_ids) for v in value]
    if isinstance(value, dict):
        return {k: _mapped(v, new_ids) for k, v in value.items()}
    return value


LICENCE_STATES = "licenseAssignmentStates"


def timeless_licences(content: dict[str, Any]) -> dict[str, Any]:
    """A user's licence assignments without ``lastUpdatedDateTime``: the service sets it when it
    processes an assignment, so a licence given back (to a user created anew, or by
    ``assignLicense`` after a rogue took it) is processed anew; which licences, from where
    (direct or which group) and with which plans disabled are still compared."""
    states = content.get(LICENCE_STATES)
    if not isinstance(states, list):
        return content
    timeless = [
        {k: v for k, v in s.items() if k != "lastUpdatedDateTime"} if isinstance(s, dict) else s
        for s in states
    ]
    return {**content, LICENCE_STATES: timeless}


def _without(item: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in fields}


def differences(before: Snapshot, after: Snapshot) -> tuple[list[str], dict[str, str]]:
    """What differs between two reads of the tenant, but for volatile fields (the catalog's and
    an answer's annotations) and the ids of objects created anew: an object gone by id whose
    identity (``_identity``) reappears under a new id is the same object, and every reference
    to its old id is read as the new one. The differences, and the id map found."""
    from dirguard.providers.registry import RESOURCE_TYPES

    new_ids: dict[str, str] = {}
    for key, objects in before.items():
        later = after.get(key, {})
        appeared = {_identity(key, later[i]): i for i in later.keys() - objects.keys()}
        for gone in objects.keys() - later.keys():
            found = appeared.get(_identity(key, objects[gone]))
            if found is not None:
                new_ids[gone] = found
    found_differences: list[str] = []
    for key, objects in before.items():
        row = RESOURCE_TYPES[key]
        volatile = GENERIC_VOLATILE | row.volatile_fields
        later = after.get(key, {})
        for old_id, item in objects.items():
            new_id = new_ids.get(old_id, old_id)
            if new_id not in later:
                found_differences.append(f"{key} {item.get('displayName') or old_id}: gone")
                continue
            born = RECREATED_VOLATILE | (BORN_WITH_A_USER if key == "entra.user" else frozenset())
            skip = volatile | (born if new_id != old_id else frozenset())
            then = _without(_mapped(item, new_ids), skip)
            for link in row.source.links:  # a link's ids are read sorted: so are the mapped
                if isinstance(then.get(link.field), list):
                    then[link.field] = sorted(then[link.field])
            now = timeless_licences(_without(later[new_id], skip))
            then = timeless_licences(then)
            for name in sorted(then.keys() | now.keys()):
                if then.get(name) != now.get(name):
                    found_differences.append(
                        f"{key} {item.get('displayName') or old_id}.{name}: "
                        f"{then.get(name)!r} -> {now.get(name)!r}"
                    )
        for new_id in later.keys() - set(new_ids.values()) - objects.keys():
            found_differences.append(f"{key} {later[new_id].get('displayName') or new_id}: new")
    return found_differences, new_ids
