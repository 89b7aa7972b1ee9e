"""The API-access application's certificate: generated locally, private key kept encrypted.

The key pair never leaves this machine: the certificate (public part) is uploaded to the
application's ``keyCredentials``; the PEM holding certificate and private key goes into dirguard's
encrypted secret store, from where a ``certificate = "secret:NAME"`` reference reads it. Nothing
here prints, logs or raises with the key in the message.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from dirguard.config.secret_store import SecretStore, SecretStoreError
from dirguard.log_setup import register_secret

CERTIFICATE_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=30)
"""A stored certificate ending sooner than this is replaced (validate warns at the same age)."""


@dataclass(frozen=True, kw_only=True)
class AppCertificate:
    pem: str
    """Certificate and private key, PEM. Secret: only ever handed to the secret store."""
    der: bytes
    not_after: datetime

    @property
    def thumbprint(self) -> str:
        """Base64 SHA-1 of the DER certificate, as Graph's ``customKeyIdentifier`` shows it."""
        return base64.b64encode(hashlib.sha1(self.der, usedforsecurity=False).digest()).decode()

    def key_credential(self, key_id: str, display_name: str) -> dict[str, str]:
        return {
            "keyId": key_id,
            "type": "AsymmetricX509Cert",
            "usage": "Verify",
            "displayName": display_name,
            "key": base64.b64encode(self.der).decode(),
        }


def secret_name(tenant_id: str, app_id: str) -> str:
    """The secret store entry holding the app's certificate and key."""
    return f"entra-{tenant_id}-{app_id}-certificate"


def generate_certificate(subject: str, now: datetime | None = None) -> AppCertificate:
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CERTIFICATE_LIFETIME)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii") + key_pem
    register_secret(key_pem)
    return AppCertificate(
        pem=pem,
        der=certificate.public_bytes(serialization.Encoding.DER),
        not_after=certificate.not_valid_after_utc,
    )


def load_certificate(store: SecretStore, name: str) -> AppCertificate | None:
    """The stored certificate, or None when there is none (or it cannot be read as one)."""
    try:
        pem = store.get(name)
    except SecretStoreError:
        return None
    register_secret(pem)
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return None
    return AppCertificate(
        pem=pem,
        der=certificate.public_bytes(serialization.Encoding.DER),
        not_after=certificate.not_valid_after_utc,
    )


def new_key_id() -> str:
    return str(uuid.uuid4())
