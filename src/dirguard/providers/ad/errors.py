"""The AD provider's errors, importable without python-ldap (the ``ad`` extra).

The connection errors (:class:`AdConnectionError` and its kinds) and what an LDAP error says
for messages and logs — the server's description and diagnostic text, never the request's
values, so never a password. A service that watches or rolls back several kinds of source
catches these without importing the LDAP stack: on an install without python-ldap there is no
AD source, so no LDAP error can arise, and :data:`RETRYABLE` holds no LDAP class.
"""

from __future__ import annotations

import sys


class AdConnectionError(Exception):
    """Connecting or binding failed; the message names the server and the reason."""


class AdUnreachable(AdConnectionError):
    """No configured server answered."""


class AdTlsError(AdConnectionError):
    """The TLS handshake failed (usually the server certificate could not be validated)."""


class AdAuthError(AdConnectionError):
    """The server refused the credentials."""


class AdUnknownSpn(AdAuthError):
    """Kerberos: the KDC knows no ``ldap/<name>`` for the server name as configured (another
    configured name of a DC may have one, so :func:`connect` tries the next server)."""


def ldap_error_types() -> tuple[type[BaseException], ...]:
    """python-ldap's base error class when python-ldap is installed; none otherwise."""
    try:
        import ldap
    except ModuleNotFoundError:
        return ()
    return (ldap.LDAPError,)


RETRYABLE: tuple[type[BaseException], ...] = (AdConnectionError, *ldap_error_types(), OSError)
"""What a DC restart or a network problem raises while reading; worth retrying later."""


def ldap_error_text(error: BaseException) -> str:
    """``desc: info`` of a python-ldap error (its class name when it carries neither); ``str`` of
    anything else (its class name when empty)."""
    ldap = sys.modules.get("ldap")  # not imported: no LDAP error can exist
    if ldap is not None and isinstance(error, ldap.LDAPError):
        details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        parts = [str(details.get("desc", "")).strip(), str(details.get("info", "")).strip()]
        return ": ".join(p for p in parts if p) or type(error).__name__
    return str(error) or type(error).__name__
