"""The console's HTTPS certificate: the configured one, or one dirguard makes for itself.

A generated certificate is self-signed (ECDSA P-256, one year), for ``localhost``, the loopback
addresses and the host ``dirguard serve`` listens on; it is kept beside the store (key mode
0600) and reused while it is valid for that host. Browsers warn about it: compare the SHA-256
fingerprint the log shows with the one the browser shows, or configure a real certificate
(``[web] tls_cert`` and ``tls_key``).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = timedelta(days=365)
RENEW_BEFORE = timedelta(days=7)


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    cert: Path
    key: Path
    generated: bool
    fingerprint: str
    """SHA-256 of the certificate, colon-separated hex (as browsers show it)."""
    names: tuple[str, ...]


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _names(host: str) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    if host not in ("", "0.0.0.0", "::") and host not in names:  # noqa: S104 (compared, not bound)
        names.append(host)
    return names


def _general(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)


def _usable(cert_file: Path, names: list[str], now: datetime) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    if cert.not_valid_after_utc - RENEW_BEFORE <= now:
        return None
    if set(alt) != {_general(n) for n in names}:
        return None
    return cert


def configured(cert_file: Path, key_file: Path) -> TlsFiles:
    """The configured certificate; a clear error when it is not a PEM certificate."""
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except (OSError, ValueError) as error:
        raise ValueError(
            f"[web] tls_cert {cert_file}: not a readable PEM certificate ({error})"
        ) from None
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(str(name.value) for name in alt)
    except x509.ExtensionNotFound:
        names = ()
    return TlsFiles(
        cert=cert_file, key=key_file, generated=False, fingerprint=fingerprint(cert), names=names
    )


def self_signed(directory: Path, host: str, now: datetime | None = None) -> TlsFiles:
    """The generated certificate for ``host`` in ``directory`` (made or renewed when needed)."""
    now = now or datetime.now(UTC)
    names = _names(host)
    cert_file, key_file = directory / "console-cert.pem", directory / "console-key.pem"
    existing = _usable(cert_file, names, now) if key_file.is_file() else None
    if existing is not None:
        return TlsFiles(
            cert=cert_file,
            key=key_file,
            generated=True,
            fingerprint=fingerprint(existing),
            names=tuple(names),
        )
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"dirguard console ({names[-1]})")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_general(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TlsFiles(
        cert=cert_file,
        key=key_file,
        generated=True,
        fingerprint=fingerprint(cert),
        names=tuple(names),
    )
