"""Just-in-time group memberships in AD: the elevation account adds the bind account to the group
a rollback needs and removes it afterwards (AD's :class:`dirguard.providers.base.Grants`).

Accounts and groups are named by user principal name and sAMAccountName and written by DN;
every LDAP error becomes :class:`~dirguard.providers.base.GrantRefused` with the server's text.
"""

from __future__ import annotations

import ldap

from dirguard.providers.ad.account_token import (
    AccountTokenError,
    add_member,
    find_account,
    find_group,
    remove_member,
)
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.base import GrantRefused


class AdGrants:
    """Group membership writes over a connection bound as the elevation account (closed on
    leaving the ``with`` block)."""

    def __init__(self, conn: AdConnection) -> None:
        self.conn = conn

    def __enter__(self) -> AdGrants:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()

    def locate(self, account: str, group: str) -> tuple[str, str]:
        try:
            return find_account(self.conn, account), find_group(self.conn, group)
        except (AccountTokenError, ldap.LDAPError) as error:
            raise GrantRefused(ldap_error_text(error)) from None

    def add(self, group_id: str, account_id: str) -> None:
        try:
            add_member(self.conn, group_id, account_id)
        except ldap.LDAPError as error:
            raise GrantRefused(ldap_error_text(error)) from None

    def remove(self, group_id: str, account_id: str) -> bool:
        try:
            return remove_member(self.conn, group_id, account_id)
        except ldap.LDAPError as error:
            raise GrantRefused(ldap_error_text(error)) from None
