"""Permission rows of the Guardian service (seed ``001_c634a233c6d74026.txt``).

Texts are the seed's, with only the product names rewritten (``rewrite_product_names``). Where
the seed's table has three columns (task | group or right | explanation) the task is the usage
and the explanation the description; where it has two (name | text, or task | group) the one
text is both usage and description.

The rows live in ``permission_rows_guardian_ad`` (the AD account and the setup operator) and
``permission_rows_guardian_app`` (the Guardian application's roles and permissions), each with
the decisions the seed leaves open about them; this module assembles them in that order.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Permission
from dirguard.catalog.permission_rows_guardian_ad import AD_PERMISSIONS, DOCUMENT
from dirguard.catalog.permission_rows_guardian_app import (
    APPLICATION_PERMISSIONS,
    DELEGATED_PERMISSIONS,
    ROLE_PERMISSIONS,
)

__all__ = [
    "AD_PERMISSIONS",
    "APPLICATION_PERMISSIONS",
    "DELEGATED_PERMISSIONS",
    "DOCUMENT",
    "GUARDIAN_PERMISSIONS",
    "ROLE_PERMISSIONS",
]

GUARDIAN_PERMISSIONS: tuple[Permission, ...] = (
    AD_PERMISSIONS + ROLE_PERMISSIONS + APPLICATION_PERMISSIONS + DELEGATED_PERMISSIONS
)
