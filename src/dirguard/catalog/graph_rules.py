"""What a Microsoft Graph resource type declares besides its collection: how its links are read
and written, which of its values are ids of other objects, and how Graph wants its bodies.

Pure data (with a hook or two), read by the Entra collection engine (``$select``, delta, the
relationship reads of links), by the write-body builders (``providers/entra/write_bodies.py``)
and by the generated docs. Names are Graph v1.0 property names as Microsoft's CSDL spells them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class LinkRead(StrEnum):
    """How the values of a link are read."""

    DELTA = "delta"
    """With the type's delta answer, as ``<path>@delta`` annotations (``members@delta``: each
    value an object with its ``id``, ``@removed`` when it went)."""
    RELATIONSHIP = "relationship"
    """One paged ``GET {item}/{path}`` per object (``$select=id`` for links to directory
    objects); a single-valued one answers 404 when unset (``users/{id}/manager``)."""


class LinkWrite(StrEnum):
    """How one value of a link is added or removed."""

    REF_COLLECTION = "ref-collection"
    """``POST {item}/{path}/$ref`` with ``{"@odata.id": "<graph>/directoryObjects/{id}"}``;
    ``DELETE {item}/{path}/{id}/$ref``."""
    REF_SINGLE = "ref-single"
    """``PUT {item}/{path}/$ref`` with the same body; ``DELETE {item}/{path}/$ref``."""
    OBJECTS = "objects"
    """The values are objects of their own, created and deleted with their own calls
    (``POST {item}/{path}`` and ``DELETE {item}/{path}/{id}``) where Graph allows it."""
    NONE = "none"
    """Not written through the link (kept for history and dependencies only)."""


@dataclass(frozen=True, kw_only=True)
class GraphLink:
    """A link of a Graph object to others (a navigation property), stored as a field."""

    field: str
    """The field that holds it in stored content (ids, or objects for ``LinkWrite.OBJECTS``)."""
    path: str
    """The relationship below the object's item path (``members``, ``authentication/methods``);
    each segment is a navigation property in Microsoft's CSDL."""
    read: LinkRead
    write: LinkWrite
    single: bool = False
    """At most one value (``manager``): stored as the id or ``None``."""
    targets: tuple[str, ...] = ()
    """Type keys of the objects it points to (for the id map and dependency order)."""
    bind_on_create: bool = False
    """A create body may carry it as ``<field>@odata.bind`` (group members and owners)."""
    restorable: bool = True
    """Restore writes it; ``False``: history only, with ``reason``."""
    writable_when: Callable[[Mapping[str, Any]], bool] | None = None
    """Whether an object in this state lets the link be written (a dynamic group's members
    cannot be); ``None``: always."""
    reason: str = ""
    """Why the link is not restored, or when it cannot be written (``writable_when``)."""


@dataclass(frozen=True, kw_only=True)
class Reference:
    """A value inside an object that is the id of another object: fixed through the id map when
    that object was created anew (a policy naming a re-created named location)."""

    path: str
    """Dotted path into the object; ``[]`` after a name: each element of that array
    (``conditions.locations.includeLocations[]``)."""
    targets: tuple[str, ...]
    """Type keys of the objects such an id can name."""
    keeps: frozenset[str] = frozenset()
    """Values that are not ids (``All``, ``None``, ``AllTrusted``), left as they are."""
    prefix: str = ""
    """The id follows this prefix in the value (``/administrativeUnits/`` in a
    ``directoryScopeId``); other values are not ids."""
    by: str = "id"
    """The target's field the value holds: ``id``, or ``appId`` (a CA policy names
    applications by their appId, which a re-created registration gets anew)."""


Body = dict[str, Any]
"""A JSON request body."""


@dataclass(frozen=True, kw_only=True)
class SeparateRequest:
    """One request a separate write makes: method, path under the object's item path (``""``:
    the item itself) and body."""

    method: str
    path: str
    body: Body | None


SeparateOutcome = tuple[tuple[SeparateRequest, ...], tuple[str, ...]]
"""The requests that turn the current value into the target, and what cannot be done (each a
sentence naming the value)."""

SeparateBuilder = Callable[[Any, Any], SeparateOutcome]
"""Builds a separate write from the current value and the target value."""


@dataclass(frozen=True, kw_only=True)
class SeparateWrite:
    """A field a PATCH body never carries: written by a call of its own, or not at all."""

    field: str
    call: str
    """The call that writes it (``POST users/{id}/assignLicense``), or ``""`` when none can."""
    reason: str
    """Why it is not in the PATCH body (and, when ``call`` is empty, why it is not restored)."""
    build: SeparateBuilder | None = None
    """Builds the requests; ``None``: the field is never restored (``reason`` says why)."""
    held_elsewhere: Callable[[Mapping[str, Any]], frozenset[str]] | None = None
    """The values (by key: a licence's ``skuId``) a stored version holds through something else
    (a user's licences inherited from a group): never written to the object directly, and never
    taken from it when the rest is given back."""
    undo_changes: bool = False
    """A change of the field is planned back by a write-apart step of its own (a group's
    licences: members inherit them, so putting them back on the group restores the members');
    otherwise only a brought-back object gets it (``restored_apart``)."""


RequestWrap = Callable[[Mapping[str, Any]], Body]
"""Turns a create body into the body of the request that creates the object (a PIM schedule
is created by a schedule request)."""


@dataclass(frozen=True, kw_only=True)
class GraphCreate:
    """How an object that cannot be brought back is created anew from a stored version."""

    path: str
    """The POST path under the API version root (``{collection}`` for most types)."""
    requires: tuple[str, ...] = ()
    """Fields a create body must hold (Graph's required properties)."""
    wrap: RequestWrap | None = None
    """``None``: the create body is the request body."""
    generated: tuple[str, ...] = ()
    """Fields history never holds that the writer makes up for the new object (a new user's
    ``passwordProfile``, a random password it must change)."""
    made_id: str = "id"
    """The field of Graph's answer that holds the new object's id: a PIM schedule request
    answers with the request, whose ``targetScheduleId`` is the schedule it made
    ("unifiedRoleEligibilityScheduleRequest resource type")."""


@dataclass(frozen=True, kw_only=True)
class GraphWrites:
    """How Graph wants objects of a type written."""

    patch: bool = True
    """Attribute changes are PATCHed; ``False``: the object is immutable (a role assignment is
    deleted and created anew)."""
    odata_type: bool = False
    """Bodies carry the object's ``@odata.type`` (derived types: named locations, method
    configurations)."""
    odata_type_of: Callable[[Mapping[str, Any]], str | None] | None = None
    """The derived type of an object whose stored state lost its ``@odata.type`` (the store
    keeps no annotations), from its other fields."""
    create: GraphCreate | None = None
    """``None``: cannot be created anew (singletons, verified domains)."""
    delete: bool = True
    """``DELETE {item}`` removes an object (undo of a create); ``False``: it cannot be deleted
    (a custom security attribute definition is deactivated instead)."""
    remove: GraphCreate | None = None
    """Objects removed by a request of their own instead of ``DELETE`` (a PIM schedule: a
    schedule request with ``adminRemove``)."""
    create_only: frozenset[str] = frozenset()
    """Set when the object is created, not changed afterwards (``isAssignableToRole``)."""
    separate: tuple[SeparateWrite, ...] = ()
    references: tuple[Reference, ...] = ()
    on_premises_mastered: frozenset[str] = frozenset()
    """Fields (and links) directory synchronization owns on an object synchronized from
    on-premises AD (``onPremisesSyncEnabled``): Graph refuses writing them there, so restore
    leaves them to the AD side."""
    lists_others: Callable[[Mapping[str, Any]], bool] | None = None
    """For a type whose collection also lists what another type holds (PIM's
    ``roleAssignmentSchedules`` list every directory role assignment), known to be the same by
    ``ResourceType.audit_names``: whether this object is only the other's listing (``True``:
    re-creating the other brings it back) or the other is its listing (``False``: re-creating
    this one makes the other too). When both were deleted, the plan re-creates one."""
