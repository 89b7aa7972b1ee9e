"""Finding AD objects by objectGUID in the naming context (partition) that holds them.

A rollback step names its object by objectGUID and by the DN it had when planned. The DN's
suffix says which naming context holds it (the domain, configuration or schema partition; the
most specific wins, since the schema lies under the configuration and that under the domain's
name), so that context is searched first; when the object is not there (moved between
partitions is impossible, but a step may have been planned from a DN dirguard did not know),
the other contexts are searched too. With the Show-Deleted control (1.2.840.113556.1.4.417) a
search also returns tombstones, which live in each partition's own Deleted Objects container.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import ldap

from dirguard.providers.ad.connection import AdConnection, NamingContexts
from dirguard.providers.ad.ldap_read import show_deleted_control
from dirguard.providers.ad.values import guid_bytes, guid_filter_value, guid_text

BATCH = 100


def _under(dn: str, base: str) -> bool:
    lowered, suffix = dn.lower(), base.lower()
    return lowered == suffix or lowered.endswith("," + suffix)


def search_bases(contexts: NamingContexts, dn: str | None = None) -> tuple[str, ...]:
    """Every naming context of the domain, the one holding ``dn`` first (the domain's own
    first when ``dn`` is unknown or in none of them)."""
    every = (contexts.default, contexts.configuration, contexts.schema)
    home = contexts.default
    if dn:
        for base in sorted(every, key=len, reverse=True):  # the most specific context first
            if _under(dn, base):
                home = base
                break
    return (home, *(b for b in every if b != home))


def in_schema(contexts: NamingContexts, dn: str) -> bool:
    """``dn`` lies in the schema partition (whose objects AD never deletes or brings back)."""
    return _under(dn, contexts.schema)


def find_by_guid(
    conn: AdConnection,
    guid: str,
    attributes: Sequence[str],
    *,
    dn: str | None = None,
    deleted: bool = True,
) -> tuple[str, dict[str, list[bytes]]] | None:
    """``(dn, attributes)`` of the object with ``guid`` (its tombstone too, with ``deleted``),
    searched in the context holding ``dn`` first; ``None`` when no context holds it."""
    query = f"(objectGUID={guid_filter_value(guid_bytes(guid))})"
    controls = [show_deleted_control()] if deleted else []
    for base in search_bases(conn.contexts, dn):
        found = conn.ldap.search_ext_s(
            base, ldap.SCOPE_SUBTREE, query, list(attributes) or ["1.1"], serverctrls=controls
        )
        for found_dn, values in found:
            if found_dn and isinstance(values, dict):
                return found_dn, {k: list(v) for k, v in values.items()}
    return None


def present_guids(conn: AdConnection, guids: Collection[str]) -> frozenset[str]:
    """The GUIDs of ``guids`` the directory still holds, live or as a tombstone, in any of the
    domain's naming contexts (the domain's own searched first; the others only for what is
    left)."""
    left = sorted(set(guids))
    found: set[str] = set()
    for base in search_bases(conn.contexts):
        for start in range(0, len(left), BATCH):
            terms = "".join(
                f"(objectGUID={guid_filter_value(guid_bytes(g))})"
                for g in left[start : start + BATCH]
            )
            for dn, values in conn.ldap.search_ext_s(
                base,
                ldap.SCOPE_SUBTREE,
                f"(|{terms})",
                ["objectGUID"],
                serverctrls=[show_deleted_control()],
            ):
                if dn and isinstance(values, dict) and values.get("objectGUID"):
                    found.add(guid_text(bytes(values["objectGUID"][0])))
        left = [g for g in left if g not in found]
        if not left:
            break
    return frozenset(found)
