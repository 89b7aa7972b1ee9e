"""What an LDAP error says, for messages and logs: the server's description and diagnostic text
(never the request's values, so never a password)."""

from __future__ import annotations

import ldap


def ldap_error_text(error: BaseException) -> str:
    """``desc: info`` of a python-ldap error (its class name when it carries neither); ``str`` of
    anything else (its class name when empty)."""
    if isinstance(error, ldap.LDAPError):
        details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
        parts = [str(details.get("desc", "")).strip(), str(details.get("info", "")).strip()]
        return ": ".join(p for p in parts if p) or type(error).__name__
    return str(error) or type(error).__name__
