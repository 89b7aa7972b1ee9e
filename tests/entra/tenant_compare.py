"""Comparing what dirguard stored of a tenant with a fresh snapshot of it.

``stored_state`` reads a store: every object of the tenant as a version holds it (the newest, or
the newest of a run and the runs before: the state a snapshot took), keyed by resource type and
store id. ``fresh_state`` snapshots the tenant anew through ``dirguard snapshot entra`` into a
store of its own and reads that. ``differences`` names, line by line, how two states differ once
re-created objects (an id gone, another object of the same type and name in its place) are paired
and every reference to the old id is read as the new one (a re-created object — paired, or one
whose creation time changed — has its birth fields new, as its id); contents are
dirguard's normalized ones, so volatile fields are already out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store.models import DirectoryObject, ObjectVersion
from tests.entra.helpers import SECRET_ENV, TENANT, write_config
from tests.entra.tenant_read import timeless_licences
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

Key = tuple[str, str]
BIRTH_FIELDS = frozenset(
    {
        "createdDateTime",
        "modifiedDateTime",
        "createdUsing",
        # a user created anew: its new password's time (a password is never readable, so it
        # gets a random one), its sessions' start, its own security identifier
        "lastPasswordChangeDateTime",
        "signInSessionsValidFromDateTime",
        "securityIdentifier",
    }
)
"""When (and by which request) a re-created object was made: new with it, as its id is. A PIM
schedule requested anew keeps its recorded start and end (``scheduleInfo``), so those are
compared."""
METHODS = "authentication/methods"
"""A re-created user's authentication methods are registered anew (its password method too):
their kinds are compared, not their ids and times."""


def _unborn(content: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in content.items() if k not in BIRTH_FIELDS}
    if isinstance(kept.get(METHODS), list):
        kept[METHODS] = sorted(
            sorted(set(m) - {"id", "createdDateTime"}) if isinstance(m, dict) else m
            for m in kept[METHODS]
        )
    return kept


@dataclass
class TenantState:
    contents: dict[Key, dict[str, Any]] = field(default_factory=dict)
    names: dict[Key, str | None] = field(default_factory=dict)


def stored_state(store: Path, *, up_to_run: int | None = None) -> TenantState:
    """The objects a store holds as not deleted (with ``up_to_run``: as they were at the end of
    that run: their newest version of that run or before, whatever later runs recorded)."""
    sessions = sessionmaker(create_engine(f"sqlite:///{store}"))
    state = TenantState()
    with sessions() as session:
        query = select(DirectoryObject, ObjectVersion).join(
            ObjectVersion, ObjectVersion.object_id == DirectoryObject.id
        )
        if up_to_run is not None:
            query = query.where(ObjectVersion.run_id <= up_to_run)
        else:
            query = query.where(DirectoryObject.deleted.is_(False))
        newest: dict[int, tuple[DirectoryObject, ObjectVersion]] = {}
        for obj, version in session.execute(query):
            held = newest.get(obj.id)
            if held is None or held[1].version < version.version:
                newest[obj.id] = (obj, version)
        for obj, version in newest.values():
            key = (obj.resource_type, obj.external_id)
            state.contents[key] = dict(version.content)
            state.names[key] = obj.natural_key
    return state


def fresh_state(sandbox: RunningSandbox, directory: Path) -> TenantState:
    """``dirguard snapshot entra`` of the tenant as it is now, into a store in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    run = cli_runner(
        write_config(sandbox, directory), {SECRET_ENV: sandbox.info.full_client_secret}
    )
    run("snapshot", "entra", "--tenant", TENANT)
    return stored_state(directory / "store.db")


def _bare(external_id: str) -> str:
    return external_id.rsplit("/", 1)[-1]


def differences(before: TenantState, after: TenantState) -> list[str]:
    """How ``after`` differs from ``before``: objects missing or new, and per object the fields
    whose values differ; a re-created object is paired by type and name and its old id read as
    its new one everywhere in ``before``."""
    gone = [k for k in before.contents if k not in after.contents]
    new = [k for k in after.contents if k not in before.contents]
    renamed: dict[str, str] = {}
    paired: dict[Key, Key] = {}
    for key in gone:
        twins = [
            n
            for n in new
            if n[0] == key[0] and after.names[n] == before.names[key] and n not in paired.values()
        ]
        if len(twins) == 1:
            paired[key] = twins[0]
            renamed[_bare(key[1])] = _bare(twins[0][1])
    found: list[str] = []
    for key in gone:
        if key not in paired:
            found.append(f"missing: {key[0]} {before.names[key]!r} ({key[1]})")
    for key in new:
        if key not in paired.values():
            found.append(f"new: {key[0]} {after.names[key]!r} ({key[1]})")
    for key, content in before.contents.items():
        other = after.contents.get(paired.get(key, key))
        if other is None:
            continue
        text = json.dumps(content, sort_keys=True, default=str)
        for old, replacement in renamed.items():
            text = text.replace(old, replacement)
        then = json.loads(text)
        row = RESOURCE_TYPES[key[0]]
        for name in row.linked_fields | row.unordered_fields:  # renamed ids: in order again
            if isinstance(then.get(name), list) and all(isinstance(v, str) for v in then[name]):
                then[name] = sorted(then[name])
        now = json.loads(json.dumps(other, sort_keys=True, default=str))
        anew = key in paired or then.get("createdDateTime") != now.get("createdDateTime")
        if anew:
            then, now = _unborn(then), _unborn(now)
        then, now = timeless_licences(then), timeless_licences(now)
        for name in sorted(set(then) | set(now)):
            if name == "id":
                continue
            if then.get(name) != now.get(name):
                found.append(
                    f"{key[0]} {before.names[key]!r}: {name} was {then.get(name)!r},"
                    f" is {now.get(name)!r}"
                )
    return found
