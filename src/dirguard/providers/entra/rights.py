"""Which Graph application permissions Entra plan steps need, and whether the token holds them.

Each step writes under one collection; Microsoft's API pages name the least privileged
application permission for the write and the higher ones that also allow it (e.g. "Update
user": ``User.ReadWrite.All``, higher ``Directory.ReadWrite.All``; "Create namedLocation":
``Policy.ReadWrite.ConditionalAccess``; "Update authorizationPolicy":
``Policy.ReadWrite.Authorization``; "Create unifiedRoleAssignment":
``RoleManagement.ReadWrite.Directory``; "Restore deleted item": the type's own write
permission). An app-only token lists the application permissions it was granted in its
``roles`` claim; a step needs any one permission of its entry.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dirguard.core.plan import Step

NEEDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("users", ("User.ReadWrite.All", "Directory.ReadWrite.All")),
    ("groups", ("Group.ReadWrite.All", "GroupMember.ReadWrite.All", "Directory.ReadWrite.All")),
    ("applications", ("Application.ReadWrite.All",)),
    ("servicePrincipals", ("Application.ReadWrite.All",)),
    ("identity/conditionalAccess", ("Policy.ReadWrite.ConditionalAccess",)),
    ("policies/authorizationPolicy", ("Policy.ReadWrite.Authorization",)),
    ("roleManagement/directory", ("RoleManagement.ReadWrite.Directory",)),
    (
        "directory/administrativeUnits",
        ("AdministrativeUnit.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
    ("contacts", ("OrgContact.ReadWrite.All", "Directory.ReadWrite.All")),
)
"""By the collection a step writes under (longest prefix first does not matter: they do not
nest): the permissions any one of which allows it."""


def needs_of(step: Step) -> tuple[str, ...]:
    collection = str(step.payload.get("collection", ""))
    for prefix, permissions in NEEDS:
        if collection == prefix or collection.startswith(prefix + "/"):
            return permissions
    return ("Directory.ReadWrite.All",)


def token_roles(token: str) -> frozenset[str]:
    """The ``roles`` claim of a JWT access token (read, not verified: it is dirguard's own
    token, and Graph checks it on every call)."""
    try:
        body = token.split(".")[1]
        claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError) as error:
        raise ValueError("the access token is not a JWT") from error
    return frozenset(str(role) for role in claims.get("roles") or ())


@dataclass(frozen=True, kw_only=True)
class EntraRights:
    """What the steps need (each entry: any one of its permissions) and what is missing."""

    wanted: tuple[tuple[str, ...], ...]
    held: frozenset[str]
    tenant: str

    @property
    def missing(self) -> tuple[tuple[str, ...], ...]:
        return tuple(need for need in self.wanted if not self.held.intersection(need))

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def missing_groups(self) -> tuple[str, ...]:
        """What a just-in-time elevation would grant: the least privileged permission of each
        missing entry."""
        return tuple(need[0] for need in self.missing)

    def needed(self) -> tuple[str, ...]:
        return tuple(" or ".join(need) for need in self.wanted)

    def message(self) -> str:
        if self.ok:
            return f"the application holds what the plan needs in {self.tenant}"
        lacking = "; ".join(" or ".join(need) for need in self.missing)
        return (
            f"dirguard's application in {self.tenant} lacks the Graph application "
            f"permission(s) the plan needs: {lacking}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "needed": list(self.needed()),
            "missing": list(self.missing_groups),
            "held": sorted(self.held),
        }


def rights_for(steps: Sequence[Step], token: str, tenant: str) -> EntraRights:
    wanted: list[tuple[str, ...]] = []
    for step in steps:
        need = needs_of(step)
        if need not in wanted:
            wanted.append(need)
    return EntraRights(wanted=tuple(wanted), held=token_roles(token), tenant=tenant)
