"""What writing a set of plan steps to an Entra tenant needs, and what dirguard's application
lacks of it (Entra's :class:`~dirguard.providers.base.Rights`).

What a step needs comes from the catalog, as for AD: the Guardian application's Microsoft Graph
application permissions and Entra directory roles that the write features of the step's
resource type need in full mode (``permissions_for_type``; a step on an object the store does
not know needs what ``guardian.entra.rollback`` needs). What the application holds is read from
its access token, as Graph itself decides: the ``roles`` claim (application permissions) and the
``wids`` claim (template ids of its directory roles, resolved to names through
``roleManagement/directory/roleDefinitions``). A token reflects the grants of the moment it was
issued, so after a just-in-time elevation the writer must be opened anew, with a fresh token.

Each missing grant is named as the elevation grants it (:data:`ROLE_SUFFIX` marks a directory
role; anything else is a Graph application permission), the names
:class:`dirguard.providers.entra.grants.EntraGrants` takes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Permission, Principal, Service
from dirguard.catalog.type_permissions import permissions_for_type
from dirguard.core.plan import Step
from dirguard.providers.base import SourceError
from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.registry import RESOURCE_TYPES

ROLE_SUFFIX = " (directory role)"
"""How a directory role is named among the grants (``Global Administrator (directory role)``)."""
DEFAULT_FEATURE = "guardian.entra.rollback"
"""What a step on an object of no known resource type needs."""
GRANTED_KINDS = frozenset({Kind.GRAPH_APPLICATION, Kind.DIRECTORY_ROLE})


def grant_name(permission: Permission) -> str:
    """The grant's name: a Graph application permission's value, or a role with its suffix."""
    if permission.kind is Kind.DIRECTORY_ROLE:
        return permission.name + ROLE_SUFFIX
    return permission.name


def split_grant(name: str) -> tuple[Kind, str]:
    """(kind, Microsoft's name) of a grant named by :func:`grant_name`."""
    if name.endswith(ROLE_SUFFIX):
        return Kind.DIRECTORY_ROLE, name.removesuffix(ROLE_SUFFIX)
    return Kind.GRAPH_APPLICATION, name


def _granted_rows(rows: Iterable[Permission]) -> list[Permission]:
    return [
        p
        for p in rows
        if p.principal is Principal.GUARDIAN_APP
        and p.service is Service.GUARDIAN
        and p.kind in GRANTED_KINDS
    ]


def step_needs(step: Step) -> tuple[str, ...]:
    """The grants writing ``step`` needs, by :func:`grant_name`."""
    key = step.target.resource_type
    if key is not None and key in RESOURCE_TYPES:
        rows = permissions_for_type(RESOURCE_TYPES[key], Mode.FULL, write=True)
    else:
        rows = MANIFEST.by_feature(DEFAULT_FEATURE, Mode.FULL)
    return tuple(grant_name(p) for p in _granted_rows(rows))


def token_claims(token: str) -> dict[str, Any]:
    """The claims of an access token (its payload, read without checking the signature: the
    token came from the tenant's own token endpoint, and Graph checks it)."""
    try:
        payload = token.split(".")[1]
        data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(data)
    except (IndexError, ValueError, binascii.Error) as error:
        raise SourceError(f"the access token cannot be read ({type(error).__name__})") from None
    if not isinstance(claims, dict):
        raise SourceError("the access token holds no claims")
    return claims


def held_grants(graph: GraphClient) -> frozenset[str]:
    """What the application's current token grants, by :func:`grant_name`."""
    claims = token_claims(graph.token())
    roles = {str(r) for r in claims.get("roles") or []}
    wids = {str(w) for w in claims.get("wids") or []}
    names: set[str] = set()
    if wids:
        try:
            for definition in graph.pages("/roleManagement/directory/roleDefinitions"):
                ids = {str(definition.get("id")), str(definition.get("templateId"))}
                if ids & wids:
                    names.add(str(definition.get("displayName")) + ROLE_SUFFIX)
        except GraphError as error:
            raise SourceError(
                f"the directory roles of the application cannot be read: {error}",
                refused=error.status in (401, 403),
            ) from None
    return frozenset(roles | names)


@dataclass(frozen=True, kw_only=True)
class EntraRights:
    """What the steps need from dirguard's application, and what its token lacks."""

    account: str
    """The application (its client id)."""
    needs: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def missing_groups(self) -> tuple[str, ...]:
        """What a just-in-time elevation grants (application permissions and roles)."""
        return self.missing

    def needed(self) -> tuple[str, ...]:
        return self.needs

    def message(self) -> str:
        if self.ok:
            return f"application {self.account} holds every permission and role the plan needs"
        return (
            f"application {self.account} lacks {', '.join(self.missing)}; nothing was written."
            " Grant them (dirguard connect entra --mode full), or configure elevation_client_id"
            " with its credential for just-in-time elevation"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "account": self.account,
            "needs": list(self.needs),
            "missing": list(self.missing),
            "ok": self.ok,
        }


def entra_rights(graph: GraphClient, account: str, steps: Sequence[Step]) -> EntraRights:
    """What the application ``account`` (its client id) signed in as ``graph`` lacks to write
    ``steps`` (reads only: its token and, with directory roles in it, the role definitions)."""
    needs = tuple(dict.fromkeys(n for step in steps for n in step_needs(step)))
    held = held_grants(graph) if needs else frozenset()
    return EntraRights(
        account=account, needs=needs, missing=tuple(n for n in needs if n not in held)
    )
