"""The console's areas, in navigation order: each row names an area's REST router (mounted
under ``/api/v1``), its pages router (mounted at ``/``) and its navigation entries.

Adding an area is adding its modules (``web/api/<area>.py``, ``web/pages/<area>.py``, its
templates under ``web/templates/<area>/``) and ONE row here; ``docs/web.md`` says more.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from dirguard.services.console.roles import Role
from dirguard.web.api import accounts as accounts_api
from dirguard.web.api import admin_actions as admin_actions_api
from dirguard.web.api import admin_delegation as admin_delegation_api
from dirguard.web.api import alerts as alerts_api
from dirguard.web.api import approvals as approvals_api
from dirguard.web.api import changes as changes_api
from dirguard.web.api import notifications as notifications_api
from dirguard.web.api import objects as objects_api
from dirguard.web.api import reports as reports_api
from dirguard.web.api import rollback as rollback_api
from dirguard.web.api import rules as rules_api
from dirguard.web.api import system as system_api
from dirguard.web.api import tokens as tokens_api
from dirguard.web.navigation import NavItem
from dirguard.web.pages import account as account_pages
from dirguard.web.pages import admin_accounts as admin_accounts_pages
from dirguard.web.pages import admin_actions as admin_actions_pages
from dirguard.web.pages import admin_delegation as admin_delegation_pages
from dirguard.web.pages import alerts as alerts_pages
from dirguard.web.pages import approvals as approvals_pages
from dirguard.web.pages import changes as changes_pages
from dirguard.web.pages import home as home_pages
from dirguard.web.pages import notifications as notifications_pages
from dirguard.web.pages import objects as objects_pages
from dirguard.web.pages import reports as reports_pages
from dirguard.web.pages import rollback as rollback_pages
from dirguard.web.pages import rules as rules_pages
from dirguard.web.pages import signin as signin_pages
from dirguard.web.pages import signin_entra as signin_entra_pages
from dirguard.web.pages import tokens as tokens_pages


@dataclass(frozen=True, kw_only=True)
class Area:
    name: str
    api: APIRouter | None = None
    """REST routes, mounted under ``/api/v1`` (tagged with the area's name in the schema)."""
    pages: APIRouter | None = None
    """HTML pages, mounted at ``/``."""
    nav: tuple[NavItem, ...] = ()


AREAS: tuple[Area, ...] = (
    Area(name="home", pages=home_pages.router, nav=(NavItem(label="Home", path="/"),)),
    Area(
        name="rollback",
        api=rollback_api.router,
        pages=rollback_pages.router,
        nav=(
            NavItem(label="Overview", path="/overview"),
            NavItem(label="Rollback", path="/rollback"),
            NavItem(label="Deleted", path="/deleted"),
            NavItem(label="Audit", path="/audit"),
            NavItem(label="Permissions", path="/permissions"),
        ),
    ),
    Area(
        name="changes",
        api=changes_api.router,
        pages=changes_pages.router,
        nav=(NavItem(label="Changes", path="/changes"),),
    ),
    Area(
        name="alerts",
        api=alerts_api.router,
        pages=alerts_pages.router,
        nav=(NavItem(label="Alerts", path="/alerts"),),
    ),
    Area(
        name="objects",
        api=objects_api.router,
        pages=objects_pages.router,
        nav=(NavItem(label="Compare", path="/compare"),),
    ),
    Area(
        name="reports",
        api=reports_api.router,
        pages=reports_pages.router,
        nav=(NavItem(label="Reports", path="/reports"),),
    ),
    Area(
        name="administration",
        api=admin_actions_api.router,
        pages=admin_actions_pages.router,
        nav=(NavItem(label="Administration", path="/admin"),),
    ),
    Area(
        name="approvals",
        api=approvals_api.router,
        pages=approvals_pages.router,
        nav=(NavItem(label="Approvals", path="/approvals"),),
    ),
    Area(
        name="rules",
        api=rules_api.router,
        pages=rules_pages.router,
        nav=(NavItem(label="Rules", path="/rules"),),
    ),
    Area(
        name="notifications",
        api=notifications_api.router,
        pages=notifications_pages.router,
        nav=(NavItem(label="Notifications", path="/notifications", role=Role.ADMINISTRATOR),),
    ),
    Area(
        name="delegation",
        api=admin_delegation_api.router,
        pages=admin_delegation_pages.router,
        nav=(NavItem(label="Delegation", path="/admin/delegation", role=Role.ADMINISTRATOR),),
    ),
    Area(name="system", api=system_api.router),
    Area(name="sign-in", pages=signin_pages.router),
    Area(name="entra-sign-in", pages=signin_entra_pages.router),
    Area(name="account", pages=account_pages.router),
    Area(
        name="tokens",
        api=tokens_api.router,
        pages=tokens_pages.router,
        nav=(NavItem(label="API tokens", path="/tokens"),),
    ),
    Area(
        name="accounts",
        api=accounts_api.router,
        pages=admin_accounts_pages.router,
        nav=(NavItem(label="Accounts", path="/admin/accounts", role=Role.ADMINISTRATOR),),
    ),
)

__all__ = ["AREAS", "Area", "NavItem", "Role"]
