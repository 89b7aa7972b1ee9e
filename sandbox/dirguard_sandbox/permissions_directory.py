"""What the sandbox's other directory operations require: authentication methods, licenses,
administrative units, contacts, invitations, sign-in logs, mail, the delta functions of
applications, service principals and directory roles, and the beta-only operations.
``permissions_table`` imports this module and appends its rows and permissions, in their
original order."""

from __future__ import annotations

from dirguard_sandbox.permissions_applications import _ROLE_READ
from dirguard_sandbox.permissions_table import (
    _APP_READ,
    _ORG_READ,
    _USER_READ,
    AppPermission,
    Endpoint,
)

# ---------------------------------------------------------------------------------------------
# Authentication methods, licenses, administrative units, contacts, invitations, sign-in logs,
# mail, and the delta functions of applications, service principals and directory roles
# (routes_auth_methods.py, routes_licenses.py, routes_admin_units.py,
# routes_contacts_invitations.py, routes_mail_signins.py). Least privileged first, as each
# operation's page in Microsoft's API reference lists them; ``LicenseAssignment.Read.All`` is
# not modelled, so license reads accept the broader permissions the same pages list.
# ---------------------------------------------------------------------------------------------
_DIRECTORY_PERMISSIONS = (
    AppPermission(
        value="UserAuthenticationMethod.Read.All",
        id="38d9df27-64da-44fd-b7c5-a6fbac20248f",
        display_name="Read all users' authentication methods",
    ),
    AppPermission(
        value="UserAuthenticationMethod.ReadWrite.All",
        id="50483e42-d915-4231-9639-7fdb7fd190e5",
        display_name="Read and write all users' authentication methods",
        implies=("UserAuthenticationMethod.Read.All",),
    ),
    AppPermission(
        value="LicenseAssignment.ReadWrite.All",
        id="5facf0c1-8979-4e95-abcf-ff3d079771c0",
        display_name="Manage all license assignments",
    ),
    AppPermission(
        value="AdministrativeUnit.Read.All",
        id="134fd756-38ce-4afd-ba33-e9623dbe66c2",
        display_name="Read all administrative units",
    ),
    AppPermission(
        value="AdministrativeUnit.ReadWrite.All",
        id="5eb59dd3-1da2-4329-8733-9dabdc435916",
        display_name="Read and write all administrative units",
        implies=("AdministrativeUnit.Read.All",),
    ),
    AppPermission(
        value="OrgContact.Read.All",
        id="e1a88a34-94c4-4418-be12-c87b00e26bea",
        display_name="Read organizational contacts",
    ),
    AppPermission(
        value="User.Invite.All",
        id="09850681-111b-4a89-9bed-3f2cae46d706",
        display_name="Invite guest users to the organization",
    ),
    AppPermission(
        value="Mail.Send",
        id="b633e1c5-b582-4048-a93e-9f11b44c7e96",
        display_name="Send mail as any user",
    ),
)
DIRECTORY_PERMISSIONS: tuple[AppPermission, ...] = _DIRECTORY_PERMISSIONS

_METHOD_READ = ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
_METHOD_WRITE = ("UserAuthenticationMethod.ReadWrite.All",)
_LICENSE_WRITE = (
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_GROUP_LICENSE_WRITE = (
    "LicenseAssignment.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
)
""""group: assignLicense" (https://learn.microsoft.com/graph/api/group-assignlicense)."""
_UNIT_READ = (
    "AdministrativeUnit.Read.All",
    "Directory.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_UNIT_WRITE = ("AdministrativeUnit.ReadWrite.All",)
_UNIT = "/directory/administrativeUnits/{administrativeUnit-id}"
_AUTH = "/users/{user-id}/authentication"


def _method_rows(collection: str, item: str, *, create: bool) -> tuple[Endpoint, ...]:
    """List, get and delete of one kind of authentication method (and create where v1.0 has it)."""
    rows: tuple[Endpoint, ...] = (
        Endpoint(method="GET", template=f"{_AUTH}/{collection}", permissions=_METHOD_READ),
        Endpoint(
            method="GET", template=f"{_AUTH}/{collection}/{{{item}-id}}", permissions=_METHOD_READ
        ),
        Endpoint(
            method="DELETE",
            template=f"{_AUTH}/{collection}/{{{item}-id}}",
            permissions=_METHOD_WRITE,
        ),
    )
    if create:
        rows += (
            Endpoint(method="POST", template=f"{_AUTH}/{collection}", permissions=_METHOD_WRITE),
        )
    return rows


DIRECTORY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template=f"{_AUTH}/methods", permissions=_METHOD_READ),
    Endpoint(
        method="GET",
        template=f"{_AUTH}/methods/{{authenticationMethod-id}}",
        permissions=_METHOD_READ,
    ),
    *_method_rows("phoneMethods", "phoneAuthenticationMethod", create=True),
    *_method_rows("emailMethods", "emailAuthenticationMethod", create=True),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/phoneMethods/{{phoneAuthenticationMethod-id}}",
        permissions=_METHOD_WRITE,
    ),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/emailMethods/{{emailAuthenticationMethod-id}}",
        permissions=_METHOD_WRITE,
    ),
    Endpoint(method="GET", template=f"{_AUTH}/passwordMethods", permissions=_METHOD_READ),
    Endpoint(
        method="GET",
        template=f"{_AUTH}/passwordMethods/{{passwordAuthenticationMethod-id}}",
        permissions=_METHOD_READ,
    ),
    *_method_rows(
        "microsoftAuthenticatorMethods",
        "microsoftAuthenticatorAuthenticationMethod",
        create=False,
    ),
    *_method_rows("fido2Methods", "fido2AuthenticationMethod", create=False),
    *_method_rows("softwareOathMethods", "softwareOathAuthenticationMethod", create=False),
    *_method_rows(
        "temporaryAccessPassMethods", "temporaryAccessPassAuthenticationMethod", create=True
    ),
    Endpoint(method="GET", template="/subscribedSkus", permissions=_ORG_READ),
    Endpoint(method="GET", template="/subscribedSkus/{subscribedSku-id}", permissions=_ORG_READ),
    Endpoint(method="GET", template="/users/{user-id}/licenseDetails", permissions=_USER_READ),
    Endpoint(
        method="GET",
        template="/users/{user-id}/licenseDetails/{licenseDetails-id}",
        permissions=_USER_READ,
    ),
    Endpoint(method="POST", template="/users/{user-id}/assignLicense", permissions=_LICENSE_WRITE),
    Endpoint(
        method="POST", template="/groups/{group-id}/assignLicense", permissions=_GROUP_LICENSE_WRITE
    ),
    Endpoint(method="GET", template="/directory/administrativeUnits", permissions=_UNIT_READ),
    Endpoint(method="POST", template="/directory/administrativeUnits", permissions=_UNIT_WRITE),
    Endpoint(
        method="GET", template="/directory/administrativeUnits/delta()", permissions=_UNIT_READ
    ),
    Endpoint(method="GET", template=_UNIT, permissions=_UNIT_READ),
    Endpoint(method="PATCH", template=_UNIT, permissions=_UNIT_WRITE),
    Endpoint(method="DELETE", template=_UNIT, permissions=_UNIT_WRITE),
    Endpoint(method="GET", template=f"{_UNIT}/members", permissions=_UNIT_READ),
    Endpoint(
        method="POST",
        template=f"{_UNIT}/members/$ref",
        permissions=(*_UNIT_WRITE, "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="DELETE",
        template=f"{_UNIT}/members/{{directoryObject-id}}/$ref",
        permissions=(*_UNIT_WRITE, "Directory.ReadWrite.All"),
    ),
    Endpoint(method="GET", template="/applications/delta()", permissions=_APP_READ),
    Endpoint(method="GET", template="/servicePrincipals/delta()", permissions=_APP_READ),
    Endpoint(method="GET", template="/directoryRoles/delta()", permissions=_ROLE_READ),
    Endpoint(
        method="GET",
        template="/contacts",
        permissions=("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="GET",
        template="/contacts/{orgContact-id}",
        permissions=("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="POST",
        template="/invitations",
        permissions=("User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(method="GET", template="/auditLogs/signIns", permissions=("AuditLog.Read.All",)),
    Endpoint(
        method="GET",
        template="/auditLogs/signIns/{signIn-id}",
        permissions=("AuditLog.Read.All",),
    ),
    Endpoint(
        method="POST",
        template="/users/{user-id}/sendMail",
        permissions=("Mail.Send", "Mail.Send.Shared"),
    ),
)

BETA_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="GET",
        template=f"{_AUTH}/requirements",
        permissions=("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"),
    ),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/requirements",
        permissions=("Policy.ReadWrite.AuthenticationMethod",),
    ),
)
"""Operations Graph has only under ``/beta`` (every ``ENDPOINTS`` operation is served there too)."""
