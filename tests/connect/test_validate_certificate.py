"""``dirguard connect validate`` with a certificate credential (a PEM file holding the
certificate and its private key); a certificate ending within 30 days is warned."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from dirguard.cli.app import app
from tests.connect.conftest import write_config
from tests.fixtures.graph_sandbox import RunningSandbox


def _certificate(days: int) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dirguard connect test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days, hours=1))
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def test_certificate_credential_validates_and_its_expiry_is_warned(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    certificate, key = _certificate(days=20)
    der = certificate.public_bytes(serialization.Encoding.DER)
    client_id = graph_sandbox.info.read_only_client_id
    with graph_sandbox.client() as graph:
        record = graph.get(f"/applications(appId='{client_id}')").json()
        graph.patch(
            f"/applications/{record['id']}",
            json={
                "keyCredentials": [
                    {
                        "type": "AsymmetricX509Cert",
                        "usage": "Verify",
                        "key": base64.b64encode(der).decode(),
                        "displayName": "connect test certificate",
                    }
                ]
            },
        ).raise_for_status()
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + certificate.public_bytes(serialization.Encoding.PEM)
    )
    pem.chmod(0o600)
    config = write_config(
        tmp_path,
        graph_sandbox,
        read_only=True,
        mode="read-only",
        services='"guardian"',
        credential=f'certificate = "file:{pem}"',
    )
    result = CliRunner().invoke(app, ["--config", str(config), "connect", "validate", "--json"])
    assert result.stdout, result.stderr
    tenant = json.loads(result.stdout)["tenants"][0]
    assert tenant["token"] == "ok"
    assert result.exit_code == (2 if tenant["missing"] else 0)
    assert [(e["kind"], e["name"], e["days_left"]) for e in tenant["expiring_credentials"]] == [
        ("certificate", "connect test certificate", 20)
    ]
