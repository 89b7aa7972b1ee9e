"""What a failed Kerberos (SASL GSSAPI) bind means and what to do, from the GSSAPI/SASL text.

libldap passes the reason up as text ("... Minor code may provide more information (Clock skew
too great)"); these functions turn it into a message an operator can act on. One class of
failure belongs to the server *name* rather than to the ticket or the host: the KDC knows no
``ldap/<name>`` service principal. Another configured name of a DC may have one, so that
failure alone lets :func:`dirguard.providers.ad.connection.connect` try the next server.
"""

from __future__ import annotations

from collections.abc import Sequence

_UNKNOWN_SPN = "server not found in kerberos database"


def is_unknown_spn(text: str) -> bool:
    """The KDC has no service principal for the name the bind asked a ticket for."""
    return _UNKNOWN_SPN in text.lower()


def unknown_spn_problem(server: str, text: str) -> str:
    """One server's part of the message for a name the KDC has no SPN for."""
    return f"the KDC knows no service principal ldap/{server} ({text})"


def unknown_spn_advice(servers: Sequence[str]) -> str:
    """What to do when the KDC knows no ``ldap/<name>`` for ``servers``."""
    register = ", ".join(f"setspn -S ldap/{server} <DC name>" for server in servers)
    return (
        "list each DC in servers by a name it has an SPN for (its DNS name, e.g. "
        f"dc01.corp.example.com), or register the SPN on the DC's account ({register})"
    )


def kerberos_hint(text: str, *, principal: str) -> str:
    """What a failed GSSAPI bind means and what to do; ``text`` is libldap's reason and
    ``principal`` the account to name in ``kinit`` (an unknown SPN is :func:`is_unknown_spn`'s)."""
    lowered = text.lower()
    kinit = f"kinit {principal}"
    if "no kerberos credentials" in lowered or "credentials cache" in lowered:
        return (
            f"no Kerberos ticket: run {kinit} as the user dirguard runs as "
            f"(or point KRB5CCNAME at a credential cache holding a ticket) ({text})"
        )
    if "ticket expired" in lowered:
        return (
            f"the Kerberos ticket has expired (or is about to: a KDC may refuse a ticket with "
            f"only a minute or two left): run {kinit} again as the user dirguard runs as, and "
            f"renew it before it ends (a keytab with kinit -k, or k5start) ({text})"
        )
    if "clock skew" in lowered:
        return (
            "this host's clock differs from the domain controller's by more than the allowed "
            f"skew (5 minutes by default): synchronise time (NTP) with the domain ({text})"
        )
    if "cannot find kdc" in lowered or "cannot contact any kdc" in lowered:
        return f"no KDC found for the realm: check krb5.conf (KRB5_CONFIG) ({text})"
    if "no worthy mechs" in lowered:
        return (
            "the Cyrus SASL GSSAPI module is not installed (Debian: apt-get install "
            f"libsasl2-modules-gssapi-mit) ({text})"
        )
    if "sign or seal are required" in lowered:
        return (
            "the DC refuses a Kerberos bind over TLS without a SASL security layer, and one is "
            "not allowed inside TLS (Samba before 4.20 with 'ldap server require strong auth = "
            "yes'): set 'ldap server require strong auth = allow_sasl_over_tls' in the DC's "
            f"smb.conf, or use auth = 'simple' ({text})"
        )
    return text
