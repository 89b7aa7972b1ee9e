"""Helpers of the rollback tests: objects made over LDAP, the store's view of their events, a
configuration file for the CLI aimed at the session's DC."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ldap
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.values import guid_text
from dirguard.store.models import ChangeEvent, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC

Sessions = sessionmaker[Session]


def read(conn: Any, dn: str, *attributes: str) -> dict[str, list[bytes]]:
    [(_dn, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", list(attributes))
    return {k: list(v) for k, v in attrs.items()}


def guid_of(conn: Any, dn: str) -> str:
    return guid_text(read(conn, dn, "objectGUID")["objectGUID"][0])


def add_ou(conn: Any, dn: str) -> None:
    conn.add_s(dn, [("objectClass", [b"organizationalUnit"])])


def add_user(conn: Any, dn: str, sam: str, extra: dict[str, list[bytes]] | None = None) -> None:
    attributes = {"objectClass": [b"user"], "sAMAccountName": [sam.encode()], **(extra or {})}
    conn.add_s(dn, list(attributes.items()))


def add_group(conn: Any, dn: str, sam: str) -> None:
    conn.add_s(dn, [("objectClass", [b"group"]), ("sAMAccountName", [sam.encode()])])


@contextmanager
def scratch_ou(conn: Any, dn: str) -> Iterator[str]:
    """The new OU ``dn``; it and everything under it are removed afterwards."""
    add_ou(conn, dn)
    try:
        yield dn
    finally:
        remove_tree(conn, dn)


def remove_tree(conn: Any, dn: str) -> None:
    """Delete ``dn`` and everything under it, deepest first (a cleanup; ignores what is gone)."""
    try:
        found = conn.search_s(dn, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
    except ldap.NO_SUCH_OBJECT:
        return
    for child in sorted((d for d, _a in found if d), key=lambda d: -len(ldap.dn.str2dn(d))):
        conn.delete_s(child)


def events_of(sessions: Sessions, guid: str, op: str, attribute: str | None) -> list[ChangeEvent]:
    with sessions() as session:
        query = (
            select(ChangeEvent)
            .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
            .where(DirectoryObject.external_id == guid, ChangeEvent.op == op)
            .order_by(ChangeEvent.sequence)
        )
        if attribute is not None:
            query = query.where(ChangeEvent.attribute == attribute)
        return list(session.scalars(query))


ADMIN_SECRET_ENV = "TEST_DIRGUARD_AD_PASSWORD"


def write_config(
    tmp_path: Path,
    dc: SambaDC,
    *,
    mode: str = "full",
    bind_upn: str | None = None,
    secret_env: str | None = None,
    extra: str = "",
) -> Path:
    """A configuration for the session's DC: the admin in full mode unless told otherwise;
    ``extra`` lines go into the domain's table (e.g. the elevation keys)."""
    logs = dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{bind_upn or dc.admin_upn}"\n'
        f'password = "env:{secret_env or ADMIN_SECRET_ENV}"\n'
        f'mode = "{mode}"\nsamba_audit_files = [{files}]\n{extra}',
        encoding="utf-8",
    )
    return path
