"""What every kind of source offers dirguard's source-neutral use cases.

A :class:`Provider` is one kind of source (Active Directory over LDAP, Entra ID over Graph). It
contributes its rows to the resource-type registry and opens connections; a connection reads
everything, reads changes from a cursor, reads the audit trail from a position, plans steps,
applies one step (given the ids produced by earlier steps) and checks the rights a set of steps
needs. Everything that is the same for every source — page + cursor in one transaction, events
and their hash chain, runs, plan storage, the step loop with audit, verify and elevation,
selection by event / actor / window / object — lives in ``services/`` and calls these.

The protocol grows as the use cases move onto it; each method says which use case calls it.
"""

from __future__ import annotations

from typing import Protocol

from dirguard.catalog.resource_type import ResourceType


class Provider(Protocol):
    """One kind of source."""

    @property
    def kind(self) -> str:
        """Short name, the prefix of its type keys and store keys (``ad``, ``entra``)."""
        ...

    def resource_types(self) -> tuple[ResourceType, ...]:
        """This provider's rows of the resource-type registry, in declaration order."""
        ...


def store_source(kind: str, name: str) -> str:
    """The store key of a connection: namespaced by provider (``ad:corp.example.com``,
    ``entra:contoso``), so an AD domain and a tenant with the same name never share objects or a
    hash chain."""
    return f"{kind}:{name}"
