"""Role assignments of the API-access app's service principal: Entra directory roles (Graph
``roleManagement/directory/roleAssignments``) and Azure RBAC roles (Resource Manager), per mode
from the manifest. Missing ones are added; other roles the manifest names are removed only with
``remove_extra``; roles the manifest does not know are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode
from dirguard.providers.entra.azure_rbac import ArmRbac
from dirguard.providers.entra.graph_client import GraphClient
from dirguard.providers.entra.setup.plan import SetupTarget
from dirguard.providers.entra.setup.report import SetupError, SetupReport


def assign_directory_roles(
    graph: GraphClient, target: SetupTarget, report: SetupReport, sp_id: str, *, remove_extra: bool
) -> None:
    """Assign the mode's directory roles at tenant scope; remove other manifest roles only with
    ``remove_extra``."""
    manifest_roles = {p.name for p in MANIFEST.permissions if p.kind is Kind.DIRECTORY_ROLE}
    if not target.directory_roles and not remove_extra:
        return
    definitions = {
        d["displayName"]: d["id"] for d in graph.pages("/roleManagement/directory/roleDefinitions")
    }
    names = {v: k for k, v in definitions.items()}
    held = {
        a["roleDefinitionId"]: a["id"]
        for a in graph.pages("/roleManagement/directory/roleAssignments")
        if a.get("principalId") == sp_id and a.get("directoryScopeId", "/") == "/"
    }
    for role in target.directory_roles:
        role_id = definitions.get(role)
        if role_id is None:
            raise SetupError(f"the tenant has no directory role named {role!r}")
        if role_id in held:
            report.did("directory role", "kept", role)
            continue
        graph.request(
            "POST",
            "/roleManagement/directory/roleAssignments",
            json={"principalId": sp_id, "roleDefinitionId": role_id, "directoryScopeId": "/"},
        )
        report.did("directory role", "added", role)
    for role_id, assignment_id in held.items():
        role = names.get(role_id, role_id)
        if role in target.directory_roles or role not in manifest_roles:
            continue
        if remove_extra:
            graph.request("DELETE", f"/roleManagement/directory/roleAssignments/{assignment_id}")
            report.did("directory role", "removed", role)
        else:
            report.did("directory role", "kept", f"{role} (not needed in this mode)")


def assign_rbac_roles(
    rbac: ArmRbac,
    subscriptions: Sequence[str],
    target: SetupTarget,
    report: SetupReport,
    sp_id: str,
    *,
    remove_extra: bool,
) -> None:
    """Check the mode's Azure roles at each subscription; in full mode assign the missing ones
    (read-only mode reports them missing: assigning roles is a write the seed leaves to full
    mode)."""
    manifest_roles = {p.name for p in MANIFEST.permissions if p.kind is Kind.AZURE_RBAC_ROLE}
    remove = sorted(manifest_roles - set(target.rbac_roles)) if remove_extra else []
    for subscription_id in subscriptions:
        for change in rbac.ensure(
            subscription_id,
            sp_id,
            target.rbac_roles,
            assign=target.mode is Mode.FULL,
            remove=remove,
        ):
            report.did(
                "azure role", change.change, f"{change.role} on subscription {subscription_id}"
            )
