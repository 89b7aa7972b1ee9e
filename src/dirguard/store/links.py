"""Which objects ever held a link to which object: the index that finds a deleted object's holders.

When an object is deleted the directory drops the links others held to it (a group's ``member``,
a user's ``manager``). Putting them back needs the objects that held them, and those are the
objects whose recorded versions name the deleted object's DN in a linked attribute. Instead of
reading the text of every stored version for that, each version's linked values are recorded
here as it is stored: one row per (holder, attribute, target), whichever version first held it.
A target is keyed by the SHA-256 of its lowercased DN (fixed size, so any DN can be indexed).

The rows only say where to look: a holder found here is then read at the version before the
deletion, which decides whether it held the link at that moment.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, select
from sqlalchemy.orm import Session

from dirguard.store.bulk_insert import insert_many
from dirguard.store.models import ObjectLink

Link = tuple[int, str, str]
"""``(holder object id, attribute, target DN)``."""


@functools.lru_cache(maxsize=65536)  # a page's groups name the same members again and again
def link_key(dn: str) -> str:
    """The index key of a link target: SHA-256 hex of the DN, lowercased."""
    return hashlib.sha256(dn.lower().encode("utf-8")).hexdigest()


def linked_values(
    object_id: int, content: Mapping[str, Sequence[Any]], attributes: Iterable[str]
) -> Iterator[Link]:
    """The links ``content`` holds in ``attributes`` (text values only)."""
    for attribute in attributes:
        for value in content.get(attribute) or ():
            if isinstance(value, str) and value:
                yield object_id, attribute, value


def record_links(session: Session, links: Iterable[Link]) -> None:
    """Add the links not recorded yet (one driver ``executemany``, ``ON CONFLICT DO NOTHING``;
    flushes nothing through the ORM; the caller commits)."""
    rows = {(object_id, attribute, link_key(dn)): None for object_id, attribute, dn in links}.keys()
    if not rows:
        return
    insert_many(
        session,
        cast(Table, ObjectLink.__table__),
        ("object_id", "attribute", "target_key"),
        list(rows),
        ignore_conflicts=True,
    )


def holders_of(dn: str) -> Select[int]:
    """The ids of the objects any of whose recorded versions linked to ``dn``."""
    return select(ObjectLink.object_id).where(ObjectLink.target_key == link_key(dn)).distinct()
