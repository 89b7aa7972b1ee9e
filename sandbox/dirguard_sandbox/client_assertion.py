"""RFC 7523 client assertions: a JWT signed with the private key of a certificate the app holds
in its keyCredentials, as MSAL and azure-identity's CertificateCredential send it.

Checked as Entra does: the certificate is found by the header's ``x5t`` (SHA-1) or ``x5t#S256``
thumbprint; ``aud`` is the token endpoint; ``iss`` and ``sub`` are the client id; ``exp`` and
``nbf`` bound its life; a ``jti`` is accepted once.
"""

from __future__ import annotations

import base64
import time

import jwt
from cryptography import x509

from dirguard_sandbox.application_records import certificate_thumbprints
from dirguard_sandbox.directory_state import Application

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_SEEN_JTI: dict[str, float] = {}


class AssertionRejected(Exception):
    """Why a client assertion is refused: (AADSTS code, description)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _normal(thumbprint: object) -> str | None:
    if not isinstance(thumbprint, str) or not thumbprint:
        return None
    return thumbprint.replace("+", "-").replace("/", "_").rstrip("=")


def _certificate_for(app: Application, header: dict[str, object]) -> x509.Certificate:
    # MSAL sends base64url with its padding; other clients drop it.
    wanted_sha1 = _normal(header.get("x5t"))
    wanted_sha256 = _normal(header.get("x5t#S256"))
    if not wanted_sha1 and not wanted_sha256:
        raise AssertionRejected(
            700027, "The client assertion has no x5t or x5t#S256 header naming its certificate."
        )
    for encoded in app.certificates.values():
        der = base64.b64decode(encoded)
        sha1, sha256 = certificate_thumbprints(der)
        if wanted_sha1 == sha1 or wanted_sha256 == sha256:
            return x509.load_der_x509_certificate(der)
    raise AssertionRejected(
        700027,
        f"The certificate with identifier used to sign the client assertion is not registered "
        f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
        f"'{wanted_sha1 or wanted_sha256}']",
    )


def verify_client_assertion(app: Application, assertion: str, token_endpoint: str) -> None:
    """Accept ``assertion`` for ``app`` or raise AssertionRejected saying why."""
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.DecodeError as error:
        raise AssertionRejected(50027, "The client assertion is not a well-formed JWT.") from error
    certificate = _certificate_for(app, header)
    try:
        claims = jwt.decode(
            assertion,
            certificate.public_key(),  # type: ignore[arg-type]
            algorithms=["RS256", "PS256"],
            audience=token_endpoint,
            issuer=app.app_id,
            # nbf is checked when present: MSAL does not send one, and Entra accepts that.
            options={"require": ["exp", "aud", "iss", "sub", "jti"]},
            leeway=300,
        )
    except jwt.ExpiredSignatureError as error:
        raise AssertionRejected(
            700024, "Client assertion is not within its valid time range."
        ) from error
    except jwt.ImmatureSignatureError as error:
        raise AssertionRejected(
            700024, "Client assertion is not within its valid time range."
        ) from error
    except jwt.InvalidAudienceError as error:
        raise AssertionRejected(
            700212,
            f"The audience of the client assertion must be the token endpoint {token_endpoint}.",
        ) from error
    except jwt.InvalidIssuerError as error:
        raise AssertionRejected(700021, "Client assertion issuer must be the client id.") from error
    except jwt.MissingRequiredClaimError as error:
        raise AssertionRejected(
            50027, f"The client assertion lacks the required claim '{error.claim}'."
        ) from error
    except jwt.PyJWTError as error:
        raise AssertionRejected(700027, "Client assertion failed signature validation.") from error
    if claims.get("sub") != app.app_id:
        raise AssertionRejected(700023, "Client assertion subject must be the client id.")
    now = time.time()
    for jti, expires in list(_SEEN_JTI.items()):
        if expires < now:
            del _SEEN_JTI[jti]
    jti = f"{app.app_id}:{claims['jti']}"
    if jti in _SEEN_JTI:
        raise AssertionRejected(
            700025, "The client assertion has already been used (jti replayed)."
        )
    _SEEN_JTI[jti] = float(claims["exp"]) + 300
