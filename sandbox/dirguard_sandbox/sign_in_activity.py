"""A user's ``signInActivity``, derived from the tenant's sign-in log.

Microsoft (https://learn.microsoft.com/en-us/graph/api/resources/signInActivity): the property
holds the last interactive sign-in attempt (``lastSignInDateTime``, successful or not), the last
non-interactive one (``lastNonInteractiveSignInDateTime``) and the last successful one of either
kind (``lastSuccessfulSignInDateTime``), each with its request id. The user list and get
(https://learn.microsoft.com/en-us/graph/api/user-list, example "Get users including their last
sign-in time") return it only when ``$select`` names it, and reading it needs
``AuditLog.Read.All`` (with ``User.Read.All``); without it Graph answers 403. A user who never
signed in has ``null``.
"""

from __future__ import annotations

from collections.abc import Callable

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import insufficient_privileges

PROPERTY = "signInActivity"
NEEDS = "AuditLog.Read.All"


def sign_in_activity(state: DirectoryState, user_id: str) -> Json | None:
    """The user's signInActivity from ``state.sign_in_log`` (oldest first), or ``None``."""
    found: Json = {}
    for entry in state.sign_in_log:
        if entry.get("userId") != user_id:
            continue
        when, request = entry.get("createdDateTime"), entry.get("correlationId")
        if entry.get("isInteractive", True):
            found["lastSignInDateTime"], found["lastSignInRequestId"] = when, request
        else:
            found["lastNonInteractiveSignInDateTime"] = when
            found["lastNonInteractiveSignInRequestId"] = request
        if (entry.get("status") or {}).get("errorCode", 0) == 0:
            found["lastSuccessfulSignInDateTime"] = when
            found["lastSuccessfulSignInRequestId"] = request
    if not found:
        return None
    names = ("lastSignIn", "lastNonInteractiveSignIn", "lastSuccessfulSignIn")
    return {
        "@odata.type": "#microsoft.graph.signInActivity",
        **{f"{n}{k}": found.get(f"{n}{k}") for n in names for k in ("DateTime", "RequestId")},
    }


def check_may_read(claims: Json) -> None:
    """403 unless the token holds AuditLog.Read.All (app role or delegated scope)."""
    granted = str(claims["scp"]).split() if "scp" in claims else claims.get("roles") or []
    if NEEDS not in granted:
        raise insufficient_privileges()


Decorate = Callable[[Json, Json], None]


def add_sign_in_activity(
    state: DirectoryState, claims: Json, select: tuple[str, ...] | None, then: Decorate | None
) -> Decorate | None:
    """A ``decorate(record, item)`` filling signInActivity when ``$select`` names it, then
    doing what ``then`` does (the ``$expand`` decoration)."""
    if select is None or PROPERTY not in select:
        return then
    check_may_read(claims)

    def decorate(record: Json, item: Json) -> None:
        item[PROPERTY] = sign_in_activity(state, record["id"])
        if then is not None:
            then(record, item)

    return decorate
