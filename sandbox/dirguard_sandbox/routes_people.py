"""The people relevant to a user (``GET /me/people``, ``GET /users/{id}/people``).

Microsoft (https://learn.microsoft.com/graph/api/user-list-people): "Retrieve a collection of
person objects ordered by their relevance to the user, which is determined by the user's
communication and collaboration patterns, and business relationships." Permissions: People.Read
(delegated, the signed-in user's own list), People.Read.All (delegated for another user,
application). The sandbox has no mail traffic, so relevance is the business relationships:
the user's manager first, then their direct reports, then colleagues of the same department,
each with a decreasing ``relevanceScore`` in ``scoredEmailAddresses``; ``personType`` is
``Person`` / ``OrganizationUser``. ``$top`` (default 10, as Graph) and ``$select`` apply.
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import GraphError
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.odata_query import context_url, project
from dirguard_sandbox.routes_users import find_user

PERSON_PROPERTIES = (
    "id",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "department",
    "officeLocation",
    "userPrincipalName",
    "scoredEmailAddresses",
    "personType",
)


def relevant_people(state: DirectoryState, user: Json) -> list[Json]:
    ranked: list[str] = []
    manager = state.managers.get(user["id"])
    if manager in state.users:
        ranked.append(manager)
    ranked += sorted(u for u, m in state.managers.items() if m == user["id"] and u in state.users)
    department = user.get("department")
    if department:
        ranked += sorted(
            (u["id"] for u in state.users.values() if u.get("department") == department),
            key=lambda i: state.users[i]["userPrincipalName"].lower(),
        )
    seen: list[str] = []
    for candidate in ranked:
        if candidate != user["id"] and candidate not in seen:
            seen.append(candidate)
    people = []
    for rank, person_id in enumerate(seen):
        person = state.users[person_id]
        address = person.get("mail") or person["userPrincipalName"]
        people.append(
            {
                "id": person_id,
                "displayName": person.get("displayName"),
                "givenName": person.get("givenName"),
                "surname": person.get("surname"),
                "jobTitle": person.get("jobTitle"),
                "department": person.get("department"),
                "officeLocation": person.get("officeLocation"),
                "userPrincipalName": person["userPrincipalName"],
                "scoredEmailAddresses": [
                    {
                        "address": address,
                        "relevanceScore": round(30.0 / (rank + 1), 2),
                        "selectionLikelihood": "notSpecified",
                    }
                ],
                "personType": {"class": "Person", "subclass": "OrganizationUser"},
            }
        )
    return people


def _answer(call: Call, user: Json) -> Response:
    params = call.request.query_params
    try:
        top = int(params.get("$top", "10"))
    except ValueError:
        raise GraphError(400, "BadRequest", "Invalid $top value.") from None
    select = tuple(s for s in params.get("$select", "").split(",") if s) or None
    unknown = [s for s in select or () if s not in PERSON_PROPERTIES]
    if unknown:
        raise GraphError(
            400, "BadRequest", f"Could not find a property named '{unknown[0]}' on type 'person'."
        )
    people = relevant_people(call.state, user)[: max(top, 0)]
    return graph_json(
        {
            "@odata.context": context_url(call.graph_base, "people", select),
            "value": [project(p, select, None) for p in people],
        }
    )


@handles("GET", "/me/people")
async def my_people(call: Call) -> Response:
    if "scp" not in call.claims:
        raise GraphError(
            400,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        )
    return _answer(call, find_user(call.state, str(call.claims.get("oid"))))


@handles("GET", "/users/{user-id}/people")
async def user_people(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    scopes = str(call.claims.get("scp", "")).split()
    if (
        "scp" in call.claims
        and call.claims.get("oid") != user["id"]
        and ("People.Read.All" not in scopes)
    ):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    return _answer(call, user)
