"""Terms of use agreements (``identityGovernance/termsOfUse/agreements``) and what each operation
requires, appended to ``permissions_table.ENDPOINTS``.

Microsoft's pages ("List agreements", https://learn.microsoft.com/graph/api/termsofusecontainer-list-agreements;
"Get agreement", https://learn.microsoft.com/graph/api/agreement-get; "Create agreement",
https://learn.microsoft.com/graph/api/termsofusecontainer-post-agreements; "Delete agreement",
https://learn.microsoft.com/graph/api/agreement-delete) accept Agreement.Read.All (reads) and
Agreement.ReadWrite.All for a signed-in user only: "Application: Not supported". The endpoints
are therefore ``delegated_only``: an app-only token is refused whatever it holds.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

AGREEMENT_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="Agreement.Read.All",
        id="2f3e6f8c-093b-4c57-a58b-ba5ce494a169",
        display_name="Read all terms of use agreements",
    ),
    AppPermission(
        value="Agreement.ReadWrite.All",
        id="c9090d00-6101-42f0-a729-c41074260d47",
        display_name="Read and write all terms of use agreements",
        implies=("Agreement.Read.All",),
    ),
)

_AGREEMENTS = "/identityGovernance/termsOfUse/agreements"
_READ = ("Agreement.Read.All", "Agreement.ReadWrite.All")
_WRITE = ("Agreement.ReadWrite.All",)

AGREEMENT_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template=_AGREEMENTS, permissions=_READ, delegated_only=True),
    Endpoint(method="POST", template=_AGREEMENTS, permissions=_WRITE, delegated_only=True),
    Endpoint(
        method="GET",
        template=f"{_AGREEMENTS}/{{agreement-id}}",
        permissions=_READ,
        delegated_only=True,
    ),
    Endpoint(
        method="DELETE",
        template=f"{_AGREEMENTS}/{{agreement-id}}",
        permissions=_WRITE,
        delegated_only=True,
    ),
)
