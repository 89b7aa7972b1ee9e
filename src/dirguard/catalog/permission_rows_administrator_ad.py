"""Permission rows of the Administrator service's AD side: what the account that performs the
AD web actions holds. The seeds describe no AD account for the Administrator (seed 000 lists
only the Microsoft 365 applications), so every row here is ``added_by_project``.

Decision: the web actions run as a dedicated **dirguard Administrator AD account**, never as the
operator and never as the Guardian account (whose full mode holds Domain Admins). It is a member
of the built-in **Account Operators** group, which Windows and Samba both grant exactly the user
and group lifecycle the actions need — create, change, reset the password of, move and delete
users and groups anywhere but in the Domain Controllers OU. On Windows AdminSDHolder keeps it
off protected accounts and groups (Domain Admins and the other privileged groups, and their
members); Samba runs no SDProp and lets an Account Operator add members to Domain Admins (tried
on Samba 4.17), so the web actions themselves refuse every protected object (privileged RIDs,
``adminCount``) whatever the delegation says. A site that prefers OU-level delegation
(``dsacls`` or the Delegation of Control wizard: Create/Delete User objects, Reset Password,
Read/Write all properties, Write member) can grant that instead; ``connect validate`` then
reports the group as missing and the site documents its choice.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Permission, Principal, Service

ACCOUNT_OPERATORS_REASON = (
    "the seeds name no AD account for the Administrator; the web actions create, change, move"
    " and delete users and groups, which Account Operators grants outside the protected"
    " (AdminSDHolder) accounts and the Domain Controllers OU"
)

ADMINISTRATOR_AD_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        key=f"{Principal.ADMINISTRATOR_AD_ACCOUNT.value}:{Kind.AD_GROUP.value}:Account Operators",
        name="Account Operators",
        service=Service.ADMINISTRATOR,
        principal=Principal.ADMINISTRATOR_AD_ACCOUNT,
        kind=Kind.AD_GROUP,
        description="Member of the Account Operators group in the managed domain.",
        usage="Perform the AD web actions: new user, edit, reset password, enable, disable,"
        " unlock, move, delete, group membership, remote mailbox.",
        modes=frozenset({Mode.READ_ONLY, Mode.FULL}),
        lifecycle=Lifecycle.REQUIRED,
        added_by_project=ACCOUNT_OPERATORS_REASON,
    ),
)
