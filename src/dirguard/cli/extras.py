"""What to install when a command needs an optional dependency that is not there.

``pip install dirguard`` alone is a working CLI for an Entra-only site; the Active Directory
commands need python-ldap (the ``ad`` extra), which pip builds against OpenLDAP's and Cyrus
SASL's headers; a PostgreSQL store needs psycopg (``postgres``); Windows event logs over WinRM
need pypsrp (``windows``). The message names the command, the extra and the Debian packages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    name: str
    package: str
    """The PyPI distribution the extra brings."""
    debian: str = ""
    """Debian packages pip needs to build it (nothing when wheels exist)."""


EXTRAS: dict[str, Extra] = {
    "ldap": Extra("ad", "python-ldap", "libldap2-dev libsasl2-dev"),
    "_ldap": Extra("ad", "python-ldap", "libldap2-dev libsasl2-dev"),
    "ldapurl": Extra("ad", "python-ldap", "libldap2-dev libsasl2-dev"),
    "psycopg": Extra("postgres", "psycopg"),
    "pypsrp": Extra("windows", "pypsrp"),
}
"""Top-level module name -> the extra that installs it."""


def missing_extra_message(error: ModuleNotFoundError, command: str) -> str | None:
    """The message for ``command`` (as typed: ``dirguard snapshot ad``) when ``error`` is an
    optional dependency missing; None for any other missing module (a bug, left to raise)."""
    top = (error.name or "").partition(".")[0]
    extra = EXTRAS.get(top)
    if extra is None:
        return None
    message = (
        f"error: `{command}` needs {extra.package}, which the '{extra.name}' extra "
        f"installs: pip install 'dirguard[{extra.name}]'"
    )
    if extra.debian:
        message += (
            f" (on Debian, first `apt-get install {extra.debian}`: pip builds {extra.package} "
            "against them)"
        )
    return message + "."
