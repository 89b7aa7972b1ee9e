"""Shared pieces of the Entra guardian tests: the sandbox tenant as dirguard's Graph client,
a rogue signed-in user (the sandbox's Global Administrator, through the device-code flow) and a
rogue application, and a store holding Entra objects as a capture would record them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.permission_model import Mode
from dirguard.config.schema import (
    Config,
    EntraSection,
    EntraTenantConfig,
    SecretsConfig,
    StoreConfig,
)
from dirguard.core.change_op import ChangeOp
from dirguard.providers.base import store_source
from dirguard.providers.entra.graph_client import GraphClient
from dirguard.providers.entra.graph_content import normalize
from dirguard.providers.entra.provider import open_graph
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import graph_sp_id, register_app

TENANT = "sandbox"
SOURCE = store_source("entra", TENANT)
DELEGATED = (
    "https://graph.microsoft.com/User.ReadWrite.All https://graph.microsoft.com/Group.ReadWrite.All"
    " https://graph.microsoft.com/Directory.ReadWrite.All"
    " https://graph.microsoft.com/Application.ReadWrite.All"
    " https://graph.microsoft.com/Policy.ReadWrite.ConditionalAccess"
    " https://graph.microsoft.com/RoleManagement.ReadWrite.Directory"
    " https://graph.microsoft.com/Policy.ReadWrite.Authorization"
)


SECRET_ENV = "DG_SANDBOX_SECRET"
SECRET_REF = f"env:{SECRET_ENV}"


def tenant_config(sandbox: RunningSandbox, *, mode: Mode = Mode.READ_ONLY) -> EntraTenantConfig:
    info = sandbox.info
    return EntraTenantConfig(
        mode=mode,
        name=TENANT,
        tenant_id=info.tenant_id,
        client_id=info.full_client_id,
        client_secret=SECRET_REF,
        authority=info.login_base,
        graph_url=info.login_base,
        ca_file=info.ca_file,
    )


def config(sandbox: RunningSandbox, tmp_path: Path) -> Config:
    """dirguard's configuration with the sandbox tenant in full mode (its secret in
    ``DG_SANDBOX_SECRET``) and a store in ``tmp_path``."""
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'store.db'}"),
        secrets=SecretsConfig(key_file=tmp_path / "secret.key", store_file=tmp_path / "s.json"),
        entra=EntraSection(tenants=[tenant_config(sandbox, mode=Mode.FULL)]),
    )


def dirguard_graph(sandbox: RunningSandbox) -> GraphClient:
    """dirguard's own Graph client on the sandbox, as its full-mode application."""
    return open_graph(tenant_config(sandbox), sandbox.info.full_client_secret)


def store(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    return session_factory(engine)


def rogue_user(
    sandbox: RunningSandbox,
    username: str | None = None,
    password: str | None = None,
    *,
    tool: str = "rogue admin's tool",
    scopes: str = DELEGATED,
) -> httpx.Client:
    """A user signed in through the device-code flow with an admin-consented public client
    (``tool``, consented for ``scopes``): a Graph client writing as that user (by default the
    sandbox's Global Administrator)."""
    info = sandbox.info
    verify = sandbox.tls()
    with sandbox.client() as client:
        app, sp = register_app(client, tool)
        consented = " ".join(s.rsplit("/", 1)[1] for s in scopes.split())
        grant = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp["id"],
                "consentType": "AllPrincipals",
                "resourceId": graph_sp_id(client),
                "scope": consented,
            },
        )
        assert grant.status_code == 201, grant.text
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"
    flow = httpx.post(
        f"{base}/devicecode", data={"client_id": app["appId"], "scope": scopes}, verify=verify
    ).json()
    approved = httpx.post(
        flow["verification_uri"],
        data={
            "user_code": flow["user_code"],
            "username": username or info.admin_user_principal_name,
            "password": password or info.admin_password,
        },
        verify=verify,
    )
    assert "You have signed in" in approved.text
    token = httpx.post(
        f"{base}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": app["appId"],
            "device_code": flow["device_code"],
            "scope": scopes,
        },
        verify=verify,
    )
    assert token.status_code == 200, token.text
    return httpx.Client(
        base_url=info.graph_base,
        verify=verify,
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )


def rogue_app(sandbox: RunningSandbox, name: str, permissions: tuple[str, ...]) -> httpx.Client:
    """A separate application with its own secret and Graph application permissions: a Graph
    client writing as it."""
    info = sandbox.info
    with sandbox.client() as client:
        app, _sp = register_app(client, name, permissions=permissions)
        added = client.post(
            f"/applications/{app['id']}/addPassword", json={"passwordCredential": {}}
        )
        assert added.status_code == 200, added.text
    token = httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["appId"],
            "client_secret": added.json()["secretText"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.tls(),
    )
    assert token.status_code == 200, token.text
    return httpx.Client(
        base_url=info.graph_base,
        verify=sandbox.tls(),
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )


def as_content(type_key: str, record: dict[str, Any]) -> dict[str, list[Any]]:
    """A Graph object as a capture stores it (``graph_content.normalize``: each property's
    values as a list, nulls, empty arrays, annotations and volatile fields left out)."""
    return normalize(RESOURCE_TYPES[type_key], record)


def record_object(
    session: Session,
    type_key: str,
    record: dict[str, Any],
    *,
    label: str | None = None,
    deleted: bool = False,
) -> DirectoryObject:
    """Store one Entra object with its state as a version (as a snapshot would)."""
    content = as_content(type_key, record)
    obj = DirectoryObject(
        source=SOURCE,
        resource_type=type_key,
        external_id=str(record["id"]),
        natural_key=label or record.get("displayName"),
        path=label or record.get("displayName") or str(record["id"]),
        deleted=deleted,
    )
    session.add(obj)
    session.flush()
    add_version(session, obj, content)
    return obj


def newest(session: Session, obj: DirectoryObject) -> ObjectVersion | None:
    return session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == obj.id)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).first()


def add_version(session: Session, obj: DirectoryObject, content: dict[str, list[Any]]) -> None:
    found = newest(session, obj)
    latest = found.version if found is not None else 0
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    session.add(
        ObjectVersion(object_id=obj.id, version=latest + 1, content=content, content_hash=digest)
    )
    session.flush()


def record_change(
    session: Session,
    obj: DirectoryObject,
    op: ChangeOp,
    attribute: str | None = None,
    old: Any = None,
    new: Any = None,
) -> int:
    """Append one change event to the object's chain (and, as a capture would, the state it
    leaves as a new version; a delete marks the object deleted); the event's id."""
    [event] = append_events(
        session,
        [
            NewChangeEvent(
                object_id=obj.id, op=op, attribute=attribute, old_value=old, new_value=new
            )
        ],
    )
    if op is ChangeOp.DELETE:
        session.get_one(DirectoryObject, obj.id).deleted = True
        session.flush()
        return event.id
    latest = newest(session, obj)
    assert latest is not None
    content = {k: list(v) for k, v in latest.content.items()}
    if op is ChangeOp.MODIFY and attribute is not None:
        content[attribute] = new if isinstance(new, list) else [] if new is None else [new]
    elif op is ChangeOp.ADD_VALUE and attribute is not None:
        content.setdefault(attribute, []).append(new)
    elif op is ChangeOp.REMOVE_VALUE and attribute is not None:
        content[attribute] = [v for v in content.get(attribute, []) if v != old]
    add_version(session, obj, content)
    return event.id


def write_config(sandbox: RunningSandbox, tmp_path: Path) -> Path:
    """The configuration file ``dirguard --config`` reads: the sandbox tenant in full mode (its
    secret in ``DG_SANDBOX_SECRET``) and a store in ``tmp_path``."""
    info = sandbox.info
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n'
        "[[entra.tenants]]\n"
        f'name = "{TENANT}"\ntenant_id = "{info.tenant_id}"\nclient_id = "{info.full_client_id}"\n'
        f'client_secret = "{SECRET_REF}"\nauthority = "{info.login_base}"\n'
        f'graph_url = "{info.login_base}"\nca_file = "{info.ca_file}"\nmode = "full"\n',
        encoding="utf-8",
    )
    return path
