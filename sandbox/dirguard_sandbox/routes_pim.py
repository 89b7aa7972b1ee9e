"""Privileged Identity Management for directory roles: schedule requests create schedules and
their instances; an active assignment request also creates the role assignment itself."""

from __future__ import annotations

import datetime

from starlette.responses import Response

from dirguard_sandbox.directory_state import Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, handles
from dirguard_sandbox.identity_answers import collection_answer, entity_answer, required_fields
from dirguard_sandbox.pim_audit import audit_schedule_request
from dirguard_sandbox.role_catalog import ROLES_BY_TEMPLATE
from dirguard_sandbox.routes_roles import activate_role, assign_role, unassign_role
from dirguard_sandbox.value_formats import date_time_offset, iso_duration

_RM = "/roleManagement/directory"
_ACTIONS = (
    "adminAssign",
    "adminRemove",
    "adminUpdate",
    "adminExtend",
    "adminRenew",
    "selfActivate",
    "selfDeactivate",
    "selfExtend",
    "selfRenew",
)
_KINDS = {
    # collection: (entity type, the kind it is stored under)
    "roleAssignmentScheduleRequests": ("unifiedRoleAssignmentScheduleRequest", "assignmentRequest"),
    "roleAssignmentSchedules": ("unifiedRoleAssignmentSchedule", "assignmentSchedule"),
    "roleAssignmentScheduleInstances": (
        "unifiedRoleAssignmentScheduleInstance",
        "assignmentInstance",
    ),
    "roleEligibilityScheduleRequests": (
        "unifiedRoleEligibilityScheduleRequest",
        "eligibilityRequest",
    ),
    "roleEligibilitySchedules": ("unifiedRoleEligibilitySchedule", "eligibilitySchedule"),
    "roleEligibilityScheduleInstances": (
        "unifiedRoleEligibilityScheduleInstance",
        "eligibilityInstance",
    ),
}


def _records(call: Call, kind: str) -> list[Json]:
    records = [
        {k: v for k, v in record.items() if k != "kind"}
        for record in call.state.role_schedules.values()
        if record["kind"] == kind
    ]
    if kind in ("assignmentSchedule", "assignmentInstance"):
        records += _direct_assignments(call, kind, records)
    return records


def _direct_assignments(call: Call, kind: str, through_pim: list[Json]) -> list[Json]:
    """Role assignments made directly (``roleAssignments``, ``directoryRoles/{id}/members``), as
    schedules and instances: "unifiedRoleAssignmentScheduleInstance resource type"
    (https://learn.microsoft.com/graph/api/resources/unifiedroleassignmentscheduleinstance) says
    an active assignment "might have been made through PIM assignments and activation
    requests, or directly through the role assignments API". They are permanent and take the
    assignment's id."""
    covered = {
        (r["principalId"], r["roleDefinitionId"], r["directoryScopeId"]) for r in through_pim
    }
    made = []
    for assignment in call.state.role_assignments.values():
        key = (assignment["principalId"], assignment["roleDefinitionId"], "/")
        if key in covered:
            continue
        common: Json = {
            "id": assignment["id"],
            "principalId": assignment["principalId"],
            "roleDefinitionId": assignment["roleDefinitionId"],
            "directoryScopeId": assignment["directoryScopeId"],
            "appScopeId": assignment.get("appScopeId"),
            "memberType": "Direct",
            "assignmentType": "Assigned",
        }
        if kind == "assignmentInstance":
            made.append(
                {
                    **common,
                    "startDateTime": None,
                    "endDateTime": None,
                    "roleAssignmentOriginId": assignment["id"],
                    "roleAssignmentScheduleId": assignment["id"],
                }
            )
        else:
            made.append(
                {
                    **common,
                    "createdDateTime": None,
                    "createdUsing": assignment["id"],
                    "modifiedDateTime": None,
                    "status": "Provisioned",
                    "scheduleInfo": {
                        "startDateTime": None,
                        "recurrence": None,
                        "expiration": {
                            "type": "noExpiration",
                            "endDateTime": None,
                            "duration": None,
                        },
                    },
                }
            )
    return made


def _register_collection(collection: str) -> None:
    type_name, kind = _KINDS[collection]
    item = type_name

    @handles("GET", f"{_RM}/{collection}")
    async def list_items(call: Call) -> Response:
        return collection_answer(
            call, _records(call, kind), f"roleManagement/directory/{collection}", type_name
        )

    @handles("GET", f"{_RM}/{collection}/{{{item}-id}}")
    async def get_item(call: Call) -> Response:
        wanted = call.param(f"{item}_id")
        for record in _records(call, kind):
            if record["id"] == wanted:
                return entity_answer(call, record, f"roleManagement/directory/{collection}")
        raise not_found(wanted)


for _collection in _KINDS:
    _register_collection(_collection)


def _schedule_info(body: Json, now: str) -> Json:
    """The request's ``scheduleInfo`` checked as "expirationPattern resource type"
    (https://learn.microsoft.com/graph/api/resources/expirationpattern) says: ``afterDateTime``
    with an ``endDateTime``, ``afterDuration`` with an ISO 8601 ``duration`` (and no end; the
    schedule's end is then its start plus the duration)."""
    info = body.get("scheduleInfo") or {}
    if not isinstance(info, dict):
        raise bad_request("scheduleInfo must be a requestSchedule object.")
    expiration = info.get("expiration") or {"type": "noExpiration"}
    kind = expiration.get("type")
    if kind not in ("noExpiration", "afterDateTime", "afterDuration"):
        raise bad_request(f"scheduleInfo.expiration.type '{kind}' is not valid.")
    start = info.get("startDateTime") or now
    started = date_time_offset(start, "scheduleInfo.startDateTime")
    end = expiration.get("endDateTime")
    duration = expiration.get("duration")
    if kind == "afterDateTime":
        if end is None:
            raise bad_request(
                "An afterDateTime expiration needs scheduleInfo.expiration.endDateTime."
            )
        if date_time_offset(end, "scheduleInfo.expiration.endDateTime") <= started:
            raise bad_request("scheduleInfo.expiration.endDateTime must be after startDateTime.")
    if kind == "afterDuration":
        if duration is None or end is not None:
            raise bad_request(
                "An afterDuration expiration needs scheduleInfo.expiration.duration and no "
                "endDateTime."
            )
        span = iso_duration(duration, "scheduleInfo.expiration.duration")
        if span <= datetime.timedelta(0):
            raise bad_request("scheduleInfo.expiration.duration must be positive.")
        end = graph_time(started + span)
    elif duration is not None:
        iso_duration(duration, "scheduleInfo.expiration.duration")
    return {
        "startDateTime": start,
        "recurrence": None,
        "expiration": {"type": kind, "endDateTime": end, "duration": duration},
    }


async def _request(call: Call, *, eligibility: bool) -> Response:
    state = call.state
    body = await call.body()
    required_fields(
        body, ("action", "principalId", "roleDefinitionId", "directoryScopeId"), "schedule request"
    )
    if body["action"] not in _ACTIONS:
        raise bad_request(f"action '{body['action']}' is not a unifiedRoleScheduleRequestActions.")
    if body["roleDefinitionId"] not in ROLES_BY_TEMPLATE:
        raise bad_request(f"The role definition '{body['roleDefinitionId']}' does not exist.")
    if state.lookup(str(body["principalId"])) is None:
        raise bad_request(f"The principal '{body['principalId']}' does not exist.")
    now = graph_time(state.now())
    schedule = _schedule_info(body, now)
    prefix = "eligibility" if eligibility else "assignment"
    common: Json = {
        "principalId": body["principalId"],
        "roleDefinitionId": body["roleDefinitionId"],
        "directoryScopeId": body["directoryScopeId"],
        "appScopeId": None,
    }
    removing = body["action"] in ("adminRemove", "selfDeactivate")
    target_schedule_id = new_id()
    for record_id, record in list(state.role_schedules.items()):
        same = all(record.get(k) == v for k, v in common.items())
        if same and record["kind"] in (f"{prefix}Schedule", f"{prefix}Instance") and removing:
            target_schedule_id = record.get("targetScheduleId") or record_id
            del state.role_schedules[record_id]
    if removing and not eligibility:
        for assignment_id, assignment in list(state.role_assignments.items()):
            if (assignment["principalId"], assignment["roleDefinitionId"]) == (
                body["principalId"],
                body["roleDefinitionId"],
            ):
                unassign_role(state, assignment_id)
    elif not eligibility:
        assign_role(state, str(body["principalId"]), str(body["roleDefinitionId"]))
    else:
        activate_role(state, str(body["roleDefinitionId"]))
    request: Json = {
        "id": new_id(),
        "kind": f"{prefix}Request",
        **common,
        "action": body["action"],
        "status": "Revoked" if removing else "Provisioned",
        "createdDateTime": now,
        "completedDateTime": now,
        "justification": body.get("justification"),
        "isValidationOnly": False,
        "scheduleInfo": schedule,
        "targetScheduleId": target_schedule_id,
        "approvalId": None,
        "customData": None,
        "createdBy": {"user": None, "application": None, "device": None},
        "ticketInfo": {"ticketNumber": None, "ticketSystem": None},
    }
    state.role_schedules[request["id"]] = request
    if not removing:
        state.role_schedules[target_schedule_id] = {
            "id": target_schedule_id,
            "kind": f"{prefix}Schedule",
            **common,
            "createdDateTime": now,
            "createdUsing": request["id"],
            "modifiedDateTime": now,
            "status": "Provisioned",
            "memberType": "Direct",
            "scheduleInfo": schedule,
            **({"assignmentType": "Assigned"} if not eligibility else {}),
        }
        instance_id = new_id()
        expiration = schedule["expiration"]
        state.role_schedules[instance_id] = {
            "id": instance_id,
            "kind": f"{prefix}Instance",
            **common,
            "startDateTime": schedule["startDateTime"],
            "endDateTime": expiration["endDateTime"],
            "memberType": "Direct",
            "roleEligibilityScheduleId": target_schedule_id,
            "targetScheduleId": target_schedule_id,
        }
        if not eligibility:
            instance = state.role_schedules[instance_id]
            del instance["roleEligibilityScheduleId"]
            instance["assignmentType"] = "Assigned"
            instance["roleAssignmentOriginId"] = target_schedule_id
            instance["roleAssignmentScheduleId"] = target_schedule_id
        else:
            del state.role_schedules[instance_id]["targetScheduleId"]
    answer = {k: v for k, v in request.items() if k != "kind"}
    audit_schedule_request(state, call.actor, answer, eligibility=eligibility)
    collection = f"role{prefix.capitalize()}ScheduleRequests"
    return entity_answer(call, answer, f"roleManagement/directory/{collection}", 201)


@handles("POST", f"{_RM}/roleAssignmentScheduleRequests")
async def request_assignment(call: Call) -> Response:
    return await _request(call, eligibility=False)


@handles("POST", f"{_RM}/roleEligibilityScheduleRequests")
async def request_eligibility(call: Call) -> Response:
    return await _request(call, eligibility=True)
