"""An Entra sign-in's groups travel with the console session, so a delegation assigned to an
Entra group applies to its members signed in through Entra ID."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.delegation import (
    Assignment,
    ObjectQuery,
    Role,
    Scope,
    ScopeKind,
    Target,
    Trustee,
    decide,
)
from dirguard.services.console.roles import Principal
from dirguard.services.console.roles import Role as ConsoleRole
from dirguard.services.console.sessions import ConsoleSessions, SessionPolicy
from dirguard.web.api.admin_actions import console_user

GROUP = "6b1f4c1e-0000-4000-8000-0000000000aa"


def test_the_groups_of_the_id_token_come_back_with_the_session(
    store_sessions: sessionmaker[Session],
) -> None:
    sessions = ConsoleSessions(store_sessions, lambda: datetime.now(UTC), SessionPolicy())
    signed_in = sessions.sign_in(
        None,
        Principal(
            name="ines@contoso.com",
            role=ConsoleRole.VIEWER,
            method="entra",
            groups=(GROUP.upper(),),
        ),
    )
    assert signed_in.cookie is not None
    found = sessions.find(signed_in.cookie)
    assert found is not None and found.principal is not None
    assert found.principal.groups == (GROUP.upper(),)
    user = console_user(found.principal)
    grant = Assignment(
        role=Role(name="Desk", actions=frozenset({"entra.user.revoke-sessions"})),
        scope=Scope(name="All", kind=ScopeKind.VIRTUAL, query=ObjectQuery()),
        trustee=Trustee(kind="entra-group", ident=GROUP),
    )
    someone = Target(source="entra:t", directory="entra", object_kind="user", path="u1")
    assert decide([grant], user, "entra.user.revoke-sessions", someone).allowed
