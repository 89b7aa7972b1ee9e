"""Object links: which objects ever held a link to which DN, so a deleted object's holders are
found by index instead of by reading the text of every stored version.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

The table is filled from the versions already stored: each linked value of each version, once
per (holder, attribute, target). Which attributes are links is spelled out here as the catalog
declared it when this migration was written (``linked_fields`` of each type), so the migration
keeps meaning the same thing when the catalog changes; from now on the store records the links
of each version it adds (:mod:`dirguard.store.links`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import StoredJson

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINKED = {
    "ad.user": ("manager",),
    "ad.group": ("member", "managedBy"),
    "ad.computer": ("managedBy",),
    "ad.organizational_unit": ("managedBy",),
    "ad.contact": ("manager",),
    "entra.user": ("manager",),
    "entra.group": ("members", "owners"),
    "entra.application": ("owners",),
    "entra.service_principal": ("owners", "appRoleAssignedTo"),
}
"""Resource type -> its linked attributes, as declared at revision 0006."""
BATCH = 500

_objects = sa.table(
    "objects", sa.column("id", sa.Integer()), sa.column("resource_type", sa.String())
)
_versions = sa.table(
    "object_versions",
    sa.column("id", sa.BigInteger()),
    sa.column("object_id", sa.Integer()),
    sa.column("content", StoredJson()),
)


def upgrade() -> None:
    op.create_table(
        "object_links",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("attribute", sa.String(length=512), nullable=False),
        sa.Column("target_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["objects.id"],
            name=op.f("fk_object_links_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_object_links")),
        sa.UniqueConstraint(
            "object_id",
            "attribute",
            "target_key",
            name=op.f("uq_object_links_object_id_attribute_target_key"),
        ),
    )
    op.create_index(op.f("ix_object_links_target_key"), "object_links", ["target_key"])
    _backfill(op.get_bind())


def _backfill(bind: sa.Connection) -> None:
    """One batch of objects at a time: each link of any of their versions, once."""
    links = sa.table(
        "object_links",
        sa.column("object_id", sa.Integer()),
        sa.column("attribute", sa.String()),
        sa.column("target_key", sa.String()),
    )
    last = 0
    while True:
        types = dict(
            bind.execute(
                sa.select(_objects.c.id, _objects.c.resource_type)
                .where(_objects.c.resource_type.in_(LINKED), _objects.c.id > last)
                .order_by(_objects.c.id)
                .limit(BATCH)
            ).all()
        )
        if not types:
            return
        last = max(types)
        found: set[tuple[int, str, str]] = set()
        contents = bind.execute(
            sa.select(_versions.c.object_id, _versions.c.content).where(
                _versions.c.object_id.in_(types)
            )
        )
        for object_id, content in contents:
            for attribute in LINKED[types[object_id]]:
                for value in content.get(attribute) or ():
                    if isinstance(value, str) and value:
                        found.add((object_id, attribute, _key(value)))
        if found:
            bind.execute(
                links.insert(),
                [{"object_id": o, "attribute": a, "target_key": k} for o, a, k in sorted(found)],
            )


def _key(dn: str) -> str:
    return hashlib.sha256(dn.lower().encode("utf-8")).hexdigest()


def downgrade() -> None:
    op.drop_index(op.f("ix_object_links_target_key"), table_name="object_links")
    op.drop_table("object_links")
