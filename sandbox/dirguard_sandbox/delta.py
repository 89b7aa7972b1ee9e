"""Delta queries (users, groups, applications, service principals, directory roles,
administrative units, organizational contacts and delegated permission grants): a full round,
then only what changed since a deltaLink.

A delta token is a position in the tenant's change sequence (plus the tenant's epoch and the time
it was issued). Changed objects come back whole (projected by the round's ``$select``), objects
that left carry ``@removed`` (``changed`` when soft-deleted and restorable, ``deleted`` when gone),
and groups, administrative units and directory roles carry ``members@delta`` with the links
added and removed.
Tokens live 7 days; an expired or unknown token is answered 410 so the client resyncs.
"""

from __future__ import annotations

import datetime
import secrets
from typing import Any

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import GraphError, bad_request
from dirguard_sandbox.graph_properties import selectable
from dirguard_sandbox.graph_routing import Call
from dirguard_sandbox.odata_query import (
    DEFAULT_PAGE_SIZE,
    context_url,
    decode_token,
    encode_token,
    project,
)

TOKEN_LIFETIME = datetime.timedelta(days=7)
_SESSIONS_KEPT = 200


def _gone() -> GraphError:
    return GraphError(
        410,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be "
        "synchronized again.",
    )


def _links(state: DirectoryState, kind: str) -> dict[str, list[str]] | None:
    """The member lists whose changes a round reports as ``members@delta``."""
    if kind == "groups":
        return state.members
    if kind == "administrativeUnits":
        return state.unit_members
    if kind == "directoryRoles":
        return _role_members(state)
    return None


def _role_members(state: DirectoryState) -> dict[str, list[str]]:
    """Each activated directory role's members: its tenant-wide role assignments."""
    by_template = {
        role["roleTemplateId"]: role_id for role_id, role in state.directory_roles.items()
    }
    members: dict[str, list[str]] = {}
    for assignment in state.role_assignments.values():
        role_id = by_template.get(assignment["roleDefinitionId"])
        if role_id is not None and assignment["directoryScopeId"] == "/":
            members.setdefault(role_id, []).append(assignment["principalId"])
    return members


def _entries(state: DirectoryState, kind: str, since: int | None) -> list[Json]:
    """What one round reports, in change order: present objects, removals, member changes."""
    table = state.collection(kind)
    links = _links(state, kind)
    if since is None:
        entries: list[Json] = [{"id": object_id} for object_id in table]
        if links is not None:
            for first in entries:
                members = links.get(first["id"], [])
                first["members"] = [(member_id, True) for member_id in members]
        return entries
    changed = sorted(
        (seq, object_id)
        for object_id, seq in state.changed_at.items()
        if seq > since and (object_id in table or _left(state, kind, object_id, since))
    )
    entries = []
    for _, object_id in changed:
        if object_id in table:
            entry: Json = {"id": object_id}
            if links is not None:
                net: dict[str, bool] = {}
                for change in state.member_changes:
                    if change.seq > since and change.group_id == object_id:
                        net[change.member_id] = change.added
                entry["members"] = list(net.items())
            entries.append(entry)
        else:
            entries.append({"id": object_id, "removed": _left(state, kind, object_id, since)})
    return entries


def _left(state: DirectoryState, kind: str, object_id: str, since: int) -> str | None:
    reasons = [
        removal.reason
        for removal in state.removals
        if removal.kind == kind and removal.object_id == object_id and removal.seq > since
    ]
    return reasons[-1] if reasons else None


def _member_type(state: DirectoryState, member_id: str) -> str:
    return state.object_type(member_id) or "#microsoft.graph.user"


def _render(state: DirectoryState, kind: str, entry: Json, select: Any, default: Any) -> Json:
    object_id = entry["id"]
    if entry.get("removed"):
        return {"id": object_id, "@removed": {"reason": entry["removed"]}}
    item = project(state.collection(kind)[object_id], select, default)
    item["id"] = object_id
    if "members" in entry:
        item["members@delta"] = [
            {"@odata.type": _member_type(state, member_id), "id": member_id}
            if added
            else {
                "@odata.type": _member_type(state, member_id),
                "id": member_id,
                "@removed": {"reason": "deleted"},
            }
            for member_id, added in entry["members"]
        ]
    return item


def delta_response(
    call: Call,
    kind: str,
    *,
    known: frozenset[str],
    default_select: tuple[str, ...] | None,
    entity_set: str | None = None,
    type_name: str | None = None,
) -> Json:
    """One page of a delta round over ``state.collection(kind)``; ``entity_set`` is the path of
    the collection when it is not ``kind`` (``directory/administrativeUnits``)."""
    state = call.state
    entity_set = entity_set or kind
    params = dict(call.request.query_params)
    sessions: dict[str, Json] = state.delta_sessions
    if "$skiptoken" in params:
        found = sessions.get(params["$skiptoken"])
        if found is None or found["kind"] != kind:
            raise _gone()
        session: Json = found
    else:
        session = _new_round(state, kind, params, known, type_name or kind[:-1])
    select_names = tuple(session["select"]) if session["select"] else None
    page, rest = session["entries"][:DEFAULT_PAGE_SIZE], session["entries"][DEFAULT_PAGE_SIZE:]
    base = f"{call.graph_base}/{entity_set}/delta"
    body: Json = {"@odata.context": context_url(call.graph_base, entity_set, select_names)}
    if rest:
        key = secrets.token_urlsafe(24)
        sessions[key] = {**session, "entries": rest}
        while len(sessions) > _SESSIONS_KEPT:
            sessions.pop(next(iter(sessions)))
        body["@odata.nextLink"] = f"{base}?$skiptoken={key}"
    else:
        token = encode_token(
            {
                "k": kind,
                "s": session["end"],
                "e": state.epoch,
                "t": state.now().isoformat(),
                "sel": session["select"],
            }
        )
        body["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
    live = [
        entry for entry in page if entry.get("removed") or entry["id"] in state.collection(kind)
    ]
    body["value"] = [_render(state, kind, entry, select_names, default_select) for entry in live]
    return body


def _new_round(
    state: DirectoryState, kind: str, params: dict[str, str], known: frozenset[str], type_name: str
) -> Json:
    select = None
    if "$select" in params:
        select = [name.strip() for name in params["$select"].split(",") if name.strip()]
        if _links(state, kind) is not None and "members" in select:
            # "$select=...,members" asks for the members@delta annotations (Microsoft's "group:
            # delta", https://learn.microsoft.com/graph/api/group-delta), which every round
            # carries: the name is a navigation property, not one of the object's values.
            select = [name for name in select if name != "members"]
        for name in select:
            if name not in selectable(type_name, known):
                raise bad_request(
                    f"Could not find a property named '{name}' on type "
                    f"'microsoft.graph.{type_name}'."
                )
    token = params.get("$deltatoken")
    if token == "latest":  # noqa: S105 - the documented keyword, not a secret
        return {"kind": kind, "entries": [], "end": state.seq, "select": select}
    since: int | None = None
    if token is not None:
        since, select = _read_token(state, kind, token)
    return {
        "kind": kind,
        "entries": _entries(state, kind, since),
        "end": state.seq,
        "select": select,
    }


def _read_token(state: DirectoryState, kind: str, token: str) -> tuple[int, Any]:
    payload = decode_token(token)
    if payload is None or payload.get("k") != kind or payload.get("e") != state.epoch:
        raise _gone()
    seq = payload.get("s")
    if not isinstance(seq, int) or seq > state.seq:
        raise _gone()
    try:
        issued = datetime.datetime.fromisoformat(str(payload.get("t")))
    except ValueError as error:
        raise _gone() from error
    if state.now() - issued > TOKEN_LIFETIME:
        raise _gone()
    return seq, payload.get("sel")
