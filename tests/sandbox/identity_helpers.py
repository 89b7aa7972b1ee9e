"""Helpers for the identity tests: a self-signed certificate for an app, and registering an app
with its service principal and permissions through the sandbox's own Graph API."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from dirguard_sandbox.permissions_table import GRAPH_APP_ID


@dataclass(frozen=True, kw_only=True)
class AppCertificate:
    key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def der_base64(self) -> str:
        return base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()

    def sha1_thumbprint(self) -> str:
        return self.certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t is SHA-1

    def write_pem(self, path: Path) -> Path:
        """Key and certificate in one PEM file, as CertificateCredential reads it."""
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + self.certificate.public_bytes(serialization.Encoding.PEM)
        )
        return path


def make_certificate(common_name: str = "dirguard test app") -> AppCertificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return AppCertificate(key=key, certificate=certificate)


if TYPE_CHECKING:
    from tests.fixtures.graph_sandbox import RunningSandbox


def graph_sp_id(client: httpx.Client) -> str:
    answer = client.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')")
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["id"]
    return value


def register_app(
    client: httpx.Client,
    name: str,
    *,
    permissions: tuple[str, ...] = (),
    certificate: AppCertificate | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Create an application (with a certificate), its service principal, and grant it Graph
    application permissions; return (application, servicePrincipal)."""
    body: dict[str, object] = {"displayName": name}
    if certificate is not None:
        body["keyCredentials"] = [
            {"type": "AsymmetricX509Cert", "usage": "Verify", "key": certificate.der_base64}
        ]
    app = client.post("/applications", json=body)
    assert app.status_code == 201, app.text
    sp = client.post("/servicePrincipals", json={"appId": app.json()["appId"]})
    assert sp.status_code == 201, sp.text
    resource = graph_sp_id(client)
    published = {
        role["value"]: role["id"]
        for role in client.get(f"/servicePrincipals/{resource}").json().get("appRoles") or []
    }
    for value in permissions:
        granted = client.post(
            f"/servicePrincipals/{resource}/appRoleAssignedTo",
            json={
                "principalId": sp.json()["id"],
                "resourceId": resource,
                "appRoleId": published[value],
            },
        )
        assert granted.status_code == 201, granted.text
    return app.json(), sp.json()


def app_client(sandbox: RunningSandbox, graph: httpx.Client, *permissions: str) -> httpx.Client:
    """A Graph client signed in as a new application holding only ``permissions``."""
    app, _ = register_app(graph, f"reader {len(permissions)}", permissions=permissions)
    secret = graph.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
    info = sandbox.info
    token = httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["appId"],
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.tls(),
    ).json()["access_token"]
    return httpx.Client(
        base_url=info.graph_base,
        verify=sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
    )
