"""Microsoft's own Graph SDK (``msgraph-sdk``) pointed at a running sandbox, as a program using it
would connect: azure-identity's ClientSecretCredential at the sandbox's authority (trusting its
CA), the SDK's request adapter with the sandbox's base URL and ``127.0.0.1`` as an allowed host.
Import it only after ``pytest.importorskip("msgraph")``."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from dirguard.providers.entra.graph_client import make_credential
from tests.fixtures.graph_sandbox import RunningSandbox

# The SDK's generated modules warn of the SDK's own deprecated classes when imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import GraphClientFactory

T = TypeVar("T")


class Sdk:
    """A GraphServiceClient on the sandbox, with one event loop for the module's calls."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        info = sandbox.info
        self.loop = asyncio.new_event_loop()
        self.credential = make_credential(
            tenant_id=info.tenant_id,
            client_id=info.full_client_id,
            authority=info.login_base,
            ca_file=info.ca_file,
            client_secret=info.full_client_secret,
        )
        auth = AzureIdentityAuthenticationProvider(
            self.credential,  # type: ignore[arg-type]
            scopes=["https://graph.microsoft.com/.default"],
            allowed_hosts=["127.0.0.1"],
        )
        tls = ssl.create_default_context(cafile=str(info.ca_file))
        # The SDK wraps the client's transport in its middleware; the wrapper does not close
        # the connections it wraps, so the transport is kept to close them.
        self.transport = httpx.AsyncHTTPTransport(verify=tls)
        self.http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=self.transport)
        )
        adapter = GraphRequestAdapter(auth, client=self.http)
        adapter.base_url = info.graph_base
        self.client = GraphServiceClient(request_adapter=adapter)

    def run(self, call: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(call)

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.transport.aclose())
        self.loop.close()
        self.credential.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def sdk(graph_sandbox: RunningSandbox) -> Iterator[Sdk]:
    """One SDK client on the session's sandbox for a test module (import it with ``Sdk``)."""
    made = Sdk(graph_sandbox)
    try:
        yield made
    finally:
        made.close()
