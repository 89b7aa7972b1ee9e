"""The rollback plan preview says, for an Entra plan, the Microsoft Graph application
permissions its steps need and, in read-only mode with just-in-time elevation, what the
elevation application will grant dirguard's application; against the sandbox over HTTPS, with
the plan stored as the Entra planner writes it (reusing the elevation test's tenant set-up)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from dirguard.services.console.roles import Principal, Role
from dirguard.services.runtime import open_runtime
from dirguard.web.app import create_app
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.test_entra_elevation import (
    _a_user,
    _config,
    _job_title,
    _loaded,
    _store_plan,
    environment,
    graph_sandbox,
)

__all__ = ["environment", "graph_sandbox"]


def _preview(path: Path, sandbox: RunningSandbox) -> str:
    config, tenant = _loaded(path)
    user_id, upn = _a_user(sandbox)
    with open_runtime(config, "olga") as runtime:
        plan_id = _store_plan(runtime, tenant, user_id, upn, "Back", _job_title(sandbox, user_id))
        app = create_app(runtime)
        viewer = Principal(name="vera", role=Role.VIEWER, method="password")
        made = app.state.web.tokens.create(
            viewer, name="t", role=Role.VIEWER, lifetime=timedelta(hours=1)
        )
        with TestClient(app, headers={"Authorization": f"Bearer {made.token}"}) as client:
            page = client.get(f"/rollback/{plan_id}")
    assert page.status_code == 200, page.text
    return html.unescape(re.sub(r"</?(strong|em)>", "", page.text))


def test_an_entra_plan_says_the_permissions_and_the_elevation_it_needs(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    text = _preview(_config(tmp_path, graph_sandbox), graph_sandbox)
    assert "Applying would elevate" in text
    needs = text[text.index('id="plan-needs"') :]
    assert "User.ReadWrite.All or Directory.ReadWrite.All" in needs[: needs.index("</ul>")]
    grants = text[text.index('id="plan-grants"') :]
    assert (
        "User.ReadWrite.All: Microsoft Graph application permission, an app role assignment"
        " to dirguard's application (removed when the rollback ends)"
    ) in grants[: grants.index("</ul>")]


def test_without_elevation_it_says_what_is_needed_and_grants_nothing(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    text = _preview(_config(tmp_path, graph_sandbox, elevation=False), graph_sandbox)
    assert "Applying would refuse" in text and "read-only mode" in text
    assert "User.ReadWrite.All or Directory.ReadWrite.All" in text
    assert 'id="plan-grants"' not in text
