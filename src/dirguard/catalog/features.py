"""Feature rows: the product capabilities, and the permissions each one needs.

Every usage the seeds describe is a feature; a feature lists the keys of all permissions it may
need. What it needs *in one mode* is the listed permissions held in that mode
(``Permission.modes``): ``guardian.entra.monitor`` names both Global Reader (read-only) and
Global Administrator (full), and so needs exactly one of them in each mode.

The rows are declared in ``features_administrator`` and ``features_guardian`` (built with
``feature_builders``); this module assembles them in that order.
"""

from __future__ import annotations

from dirguard.catalog.feature_builders import BOTH, FULL, adm, app, dlg, gmsa, operator
from dirguard.catalog.features_administrator import ADMINISTRATOR_FEATURES
from dirguard.catalog.features_guardian import GUARDIAN_FEATURES
from dirguard.catalog.permission_model import Feature

__all__ = [
    "ADMINISTRATOR_FEATURES",
    "BOTH",
    "FEATURES",
    "FULL",
    "GUARDIAN_FEATURES",
    "adm",
    "app",
    "dlg",
    "gmsa",
    "operator",
]

FEATURES: tuple[Feature, ...] = ADMINISTRATOR_FEATURES + GUARDIAN_FEATURES
