"""Directory role rows: role assignments and PIM's active and eligible schedules.

Sources: Microsoft's ``unifiedRoleAssignment`` page (``Create unifiedRoleAssignment``: principalId,
roleDefinitionId, directoryScopeId; there is no update: an assignment is deleted and created
anew), ``unifiedRoleAssignmentScheduleRequest`` / ``unifiedRoleEligibilityScheduleRequest``
(schedules are read-only: they are created with ``action: adminAssign`` and removed with
``action: adminRemove`` requests, each with a justification and a ``scheduleInfo``). None of
these collections has a delta function: they are polled and hashed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dirguard.catalog.graph_rules import Body, GraphCreate, GraphWrites, Reference
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.audit_records import ASSIGNED, ELIGIBLE, role_holding
from dirguard.providers.entra.types.rows import cloud_restore, graph

ROLES_READ = ("guardian.entra.role-assignments.monitor",)
ROLES_ROLLBACK = "guardian.entra.role-assignments.rollback"
PIM_READ = ("guardian.entra.pim.monitor",)
PIM_ROLLBACK = "guardian.entra.pim.rollback"

ROLE_PRINCIPALS = ("entra.user", "entra.group", "entra.service_principal")
ROLE_REFERENCES = (
    Reference(path="principalId", targets=ROLE_PRINCIPALS),
    Reference(
        path="directoryScopeId",
        targets=("entra.administrative_unit",),
        prefix="/administrativeUnits/",
    ),
)
"""What names other objects in an assignment or a schedule (``roleDefinitionId`` names a role
definition: built-in ones have the same id in every tenant)."""

JUSTIFICATION = "Restored by dirguard from its history"


def _first(content: Mapping[str, Any], name: str) -> str | None:
    value = content.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def role_holding_names(kind: str) -> Callable[[Mapping[str, Any]], tuple[str, ...]]:
    """What a role activity in the directory audit calls an assignment or schedule of ``kind``:
    its role (template) and principal (``audit_records.role_holding``)."""

    def names(content: Mapping[str, Any]) -> tuple[str, ...]:
        role, principal = _first(content, "roleDefinitionId"), _first(content, "principalId")
        if role is None or principal is None:
            return ()
        return (role_holding(kind, role, principal),)

    return names


_ROLE_FIELDS = ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId")
_SCHEDULE_FIELDS = (
    *_ROLE_FIELDS,
    "memberType",
    "scheduleInfo",
    "status",
    "createdUsing",
    "createdDateTime",
    "modifiedDateTime",
)
_SCHEDULE_READ_ONLY = frozenset(
    {"id", "memberType", "status", "createdUsing", "createdDateTime", "assignmentType"}
)


def schedule_request(action: str) -> Callable[[Mapping[str, Any]], Body]:
    """The body of a PIM schedule request with ``action`` for a schedule's stored values.

    A re-created schedule keeps the recorded ``scheduleInfo``: its ``startDateTime`` (the
    ``requestSchedule`` resource, https://learn.microsoft.com/graph/api/resources/requestschedule,
    puts no bound on it: "when the eligible or active assignment becomes active", so a start in
    the past is one PIM takes) and its expiration (type, ``endDateTime`` or ``duration``); the
    planner refuses one whose end has passed. A removal names the same principal, role and
    scope."""

    def wrap(schedule: Mapping[str, Any]) -> Body:
        body: Body = {
            "action": action,
            "principalId": schedule["principalId"],
            "roleDefinitionId": schedule["roleDefinitionId"],
            "directoryScopeId": schedule.get("directoryScopeId") or "/",
            "justification": JUSTIFICATION,
        }
        info = schedule.get("scheduleInfo")
        if action != "adminRemove" and isinstance(info, Mapping):
            body["scheduleInfo"] = {
                k: v for k, v in info.items() if v is not None and not k.startswith("@odata.")
            }
        return body

    return wrap


DIRECTORY_ROLE_ASSIGNMENT = graph(
    key="entra.directory_role_assignment",
    title="Entra directory role assignment",
    source=GraphSource(
        collection="roleManagement/directory/roleAssignments",
        entity="unifiedRoleAssignment",
        select=(*_ROLE_FIELDS, "condition"),
    ),
    writes=GraphWrites(
        patch=False,
        create=GraphCreate(
            path="roleManagement/directory/roleAssignments",
            requires=("principalId", "roleDefinitionId", "directoryScopeId"),
        ),
        references=ROLE_REFERENCES,
    ),
    natural_key="principalId",
    read_features=ROLES_READ,
    write_features=(ROLES_ROLLBACK,),
    restore=cloud_restore(ROLES_ROLLBACK),
    read_only_fields=frozenset({"id"}),
    audit_names=role_holding_names(ASSIGNED),
)


def _lists_direct_assignment(schedule: Mapping[str, Any]) -> bool:
    """An active schedule Graph lists for a role assignment made directly (not through a PIM
    request): it takes the assignment's id and names it in ``createdUsing``
    ("unifiedRoleAssignmentScheduleInstance resource type": an active assignment "might have
    been made through PIM assignments and activation requests, or directly through the role
    assignments API")."""
    made_by, own = _first(schedule, "createdUsing"), _first(schedule, "id")
    return made_by is not None and made_by == own


def _schedule(
    *, key: str, title: str, what: str, entity: str, extra: tuple[str, ...], kind: str
) -> ResourceType:
    requests = f"roleManagement/directory/{what}ScheduleRequests"
    return graph(
        key=key,
        title=title,
        source=GraphSource(
            collection=f"roleManagement/directory/{what}Schedules",
            entity=entity,
            select=(*_SCHEDULE_FIELDS, *extra),
        ),
        writes=GraphWrites(
            patch=False,
            create=GraphCreate(
                path=requests,
                requires=("principalId", "roleDefinitionId", "directoryScopeId"),
                wrap=schedule_request("adminAssign"),
                made_id="targetScheduleId",
            ),
            remove=GraphCreate(path=requests, wrap=schedule_request("adminRemove")),
            references=ROLE_REFERENCES,
            lists_others=_lists_direct_assignment if kind == ASSIGNED else None,
        ),
        natural_key="principalId",
        read_features=PIM_READ,
        write_features=(PIM_ROLLBACK,),
        restore=cloud_restore(
            PIM_ROLLBACK,
            refusal="cannot be brought back once removed: it is requested anew from history "
            "(a schedule request with adminAssign), with a new id, keeping its start and end",
        ),
        read_only_fields=_SCHEDULE_READ_ONLY & frozenset(_SCHEDULE_FIELDS + extra),
        volatile_fields=frozenset({"modifiedDateTime"}),
        audit_names=role_holding_names(kind),
    )


PIM_ACTIVE_SCHEDULE: ResourceType = _schedule(
    key="entra.pim_active_schedule",
    title="PIM active role assignment schedule",
    what="roleAssignment",
    entity="unifiedRoleAssignmentSchedule",
    extra=("assignmentType",),
    kind=ASSIGNED,
)
PIM_ELIGIBLE_SCHEDULE: ResourceType = _schedule(
    key="entra.pim_eligible_schedule",
    title="PIM eligible role assignment schedule",
    what="roleEligibility",
    entity="unifiedRoleEligibilitySchedule",
    extra=(),
    kind=ELIGIBLE,
)

ROLE_TYPES: tuple[ResourceType, ...] = (
    DIRECTORY_ROLE_ASSIGNMENT,
    PIM_ACTIVE_SCHEDULE,
    PIM_ELIGIBLE_SCHEDULE,
)
