"""The rows of each report, read from a tenant through dirguard's Graph client.

Each builder takes the Graph client, the time "now" and the ``days`` parameter and returns the
rows as dicts keyed by the report's column keys. Times are ISO 8601 strings as Graph gives
them; "days since" and "days left" are whole days (floor) from ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from dirguard.providers.entra.graph_client import GraphClient
from dirguard.services.reports.catalog import Cell

Row = dict[str, Cell]
Builder = Callable[[GraphClient, datetime, int | None], list[Row]]

_SIGN_IN_SELECT = "id,displayName,userPrincipalName,userType,accountEnabled,signInActivity"
_NOT_MFA = "#microsoft.graph.passwordAuthenticationMethod"
"""The one method type that is no second factor."""


def parse_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def days_between(earlier: datetime | None, later: datetime) -> int | None:
    return None if earlier is None else (later - earlier) // timedelta(days=1)


def _users(graph: GraphClient, select: str) -> Iterator[dict[str, Any]]:
    return graph.pages("/users", **{"$select": select})


def _sign_in_row(user: dict[str, Any], now: datetime) -> Row:
    activity = user.get("signInActivity") or {}
    successful = activity.get("lastSuccessfulSignInDateTime")
    return {
        "display_name": user.get("displayName"),
        "user_principal_name": user.get("userPrincipalName"),
        "user_type": user.get("userType"),
        "account_enabled": user.get("accountEnabled"),
        "last_sign_in": activity.get("lastSignInDateTime"),
        "last_successful_sign_in": successful,
        "days_since_sign_in": days_between(parse_time(successful), now),
    }


def _by_name(rows: list[Row], *keys: str) -> list[Row]:
    return sorted(rows, key=lambda row: tuple(str(row.get(k) or "").lower() for k in keys))


def last_sign_in(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    rows = [_sign_in_row(user, now) for user in _users(graph, _SIGN_IN_SELECT)]
    return _by_name(rows, "user_principal_name")


def inactive_users(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    threshold = days or 0
    return [
        row
        for row in last_sign_in(graph, now, days)
        if row["days_since_sign_in"] is None or int(row["days_since_sign_in"]) >= threshold
    ]


def users_without_mfa(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    rows: list[Row] = []
    select = "id,displayName,userPrincipalName,userType,accountEnabled"
    for user in _users(graph, select):
        if user.get("userType") == "Guest" or user.get("accountEnabled") is False:
            continue
        methods = list(graph.pages(f"/users/{user['id']}/authentication/methods"))
        kinds = sorted(str(m.get("@odata.type", "")).rpartition(".")[2] for m in methods)
        if any(m.get("@odata.type") != _NOT_MFA for m in methods):
            continue
        rows.append(
            {
                "display_name": user.get("displayName"),
                "user_principal_name": user.get("userPrincipalName"),
                "account_enabled": user.get("accountEnabled"),
                "methods": ", ".join(kinds),
            }
        )
    return _by_name(rows, "user_principal_name")


def guests(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    select = (
        "id,displayName,userPrincipalName,userType,mail,createdDateTime,"
        "externalUserState,signInActivity"
    )
    rows: list[Row] = []
    for user in _users(graph, select):
        if user.get("userType") != "Guest":
            continue
        activity = user.get("signInActivity") or {}
        rows.append(
            {
                "display_name": user.get("displayName"),
                "user_principal_name": user.get("userPrincipalName"),
                "mail": user.get("mail"),
                "created": user.get("createdDateTime"),
                "invitation_state": user.get("externalUserState"),
                "last_successful_sign_in": activity.get("lastSuccessfulSignInDateTime"),
            }
        )
    return _by_name(rows, "user_principal_name")


def stale_devices(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    threshold = days or 0
    select = "id,displayName,operatingSystem,accountEnabled,approximateLastSignInDateTime"
    rows: list[Row] = []
    for device in graph.pages("/devices", **{"$select": select}):
        seen = device.get("approximateLastSignInDateTime")
        since = days_between(parse_time(seen), now)
        if since is not None and since < threshold:
            continue
        rows.append(
            {
                "display_name": device.get("displayName"),
                "operating_system": device.get("operatingSystem"),
                "account_enabled": device.get("accountEnabled"),
                "last_sign_in": seen,
                "days_since_sign_in": since,
            }
        )
    return _by_name(rows, "display_name")


def privileged_roles(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    rows: list[Row] = []
    for role in graph.pages("/directoryRoles"):
        for member in graph.pages(f"/directoryRoles/{role['id']}/members"):
            rows.append(
                {
                    "role": role.get("displayName"),
                    "display_name": member.get("displayName"),
                    "user_principal_name": member.get("userPrincipalName"),
                    "member_type": str(member.get("@odata.type", "")).rpartition(".")[2],
                }
            )
    return _by_name(rows, "role", "display_name")


def expiring_credentials(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    until = now + timedelta(days=days or 0)
    select = "id,appId,displayName,passwordCredentials,keyCredentials"
    rows: list[Row] = []
    for app in graph.pages("/applications", **{"$select": select}):
        for kind, field in (("secret", "passwordCredentials"), ("certificate", "keyCredentials")):
            for credential in app.get(field) or []:
                ends = parse_time(credential.get("endDateTime"))
                if ends is None or ends > until:
                    continue
                rows.append(
                    {
                        "application": app.get("displayName"),
                        "app_id": app.get("appId"),
                        "kind": kind,
                        "credential": credential.get("displayName") or credential.get("keyId"),
                        "expires": credential.get("endDateTime"),
                        "days_left": (ends - now) // timedelta(days=1),
                    }
                )
    return _by_name(rows, "expires", "application")


BUILDERS: dict[str, Builder] = {
    "last-sign-in": last_sign_in,
    "inactive-users": inactive_users,
    "users-without-mfa": users_without_mfa,
    "guests": guests,
    "stale-devices": stale_devices,
    "privileged-roles": privileged_roles,
    "expiring-credentials": expiring_credentials,
}


def _usage_builders() -> dict[str, Builder]:
    from dirguard.services.reports.usage_reports import license_optimization, service_adoption

    return {"license-optimization": license_optimization, "service-adoption": service_adoption}


BUILDERS.update(_usage_builders())
