"""``dirguard connect entra`` as a use case: a Global Administrator signs in (device code) and
the tenant's API-access application is created or updated to hold exactly what the manifest
needs for the chosen services and mode (:class:`dirguard.providers.entra.setup.app.EntraSetup`).
Failures are :class:`ServiceError` (sign-in, a refusal of the tenant: ``failure``; the tenant
cannot be reached: ``unavailable``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from dirguard.catalog.permission_model import Mode
from dirguard.config.schema import Config
from dirguard.config.secret_store import SecretStore
from dirguard.providers.entra.azure_rbac import ArmRbac, RbacError
from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.providers.entra.setup.app import EntraSetup, SetupError, SetupReport
from dirguard.providers.entra.setup.plan import setup_scopes, setup_target
from dirguard.providers.entra.setup.target import EntraTarget
from dirguard.providers.entra.sign_in import (
    admin_graph_client,
    device_code_credential,
    token_tenant,
)
from dirguard.services.errors import Problem, ServiceError

Prompt = Callable[[str, str, datetime], None]
"""Tells the administrator where to sign in: the URL, the code, when the code expires."""


def connect_entra(
    config: Config,
    target: EntraTarget,
    mode: Mode,
    *,
    remove_extra: bool,
    setup_client_id: str,
    prompt: Prompt,
) -> SetupReport:
    """Sign the administrator in and bring the API-access application to the manifest."""
    credential = device_code_credential(
        tenant_id=target.tenant_id,
        client_id=setup_client_id,
        authority=target.authority,
        ca_file=target.ca_file,
        prompt=prompt,
    )
    graph = admin_graph_client(
        credential,
        tenant_id=target.tenant_id,
        graph_url=target.graph_url,
        ca_file=target.ca_file,
        scopes=setup_scopes(),
    )
    rbac = (
        ArmRbac.connect(
            credential,
            arm_url=target.arm_url,
            ca_file=target.ca_file,
            tenant=target.tenant_id,
            delegated=True,
        )
        if target.subscriptions
        else None
    )
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    try:
        signed_in = token_tenant(graph.token())
        return EntraSetup(
            graph,
            tenant_id=signed_in or target.tenant_id,
            target=setup_target(target.services, mode),
            store=store,
            client_id=target.client_id,
            remove_extra=remove_extra,
            rbac=rbac,
            subscriptions=target.subscriptions,
        ).run()
    except ClientAuthenticationError as exc:
        raise ServiceError(f"{target.name}: sign-in failed: {exc.message}") from None
    except (GraphAuthError, SetupError, GraphError, RbacError) as exc:
        raise ServiceError(f"{target.name}: {exc}") from None
    except (httpx.TransportError, ServiceRequestError) as exc:
        raise ServiceError(
            f"{target.name}: cannot reach the tenant ({type(exc).__name__})", Problem.UNAVAILABLE
        ) from None
    finally:
        graph.close()
        if rbac is not None:
            rbac.close()
