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

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from dirguard.store.models import ObjectLink

Link = tuple[int, str, str]
"""``(holder object id, attribute, target DN)``."""


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
    """Add the links not recorded yet (flushes nothing through the ORM; the caller commits)."""
    rows = list({(object_id, attribute, link_key(dn)): None for object_id, attribute, dn in links})
    if not rows:
        return
    table = ObjectLink.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        # the driver's executemany with plain tuples: the three columns need no conversion,
        # and SQLAlchemy's per-row parameter handling was most of the time of a snapshot's
        # 50,000 member links (Entra's all-users group)
        session.connection().exec_driver_sql(_SQLITE_INSERT, rows)
        return
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    session.execute(
        insert.on_conflict_do_nothing(),
        [{"object_id": o, "attribute": a, "target_key": k} for o, a, k in rows],
    )


_SQLITE_INSERT = (
    "INSERT INTO object_links (object_id, attribute, target_key) VALUES (?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)


def holders_of(dn: str) -> Select[int]:
    """The ids of the objects any of whose recorded versions linked to ``dn``."""
    return select(ObjectLink.object_id).where(ObjectLink.target_key == link_key(dn)).distinct()
