"""The reports area: a viewer reads each report as a page, as JSON and as CSV/XLSX downloads
over the sandbox tenant; nobody signed in is refused."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from dirguard.config.schema import EntraSection
from dirguard.services.runtime import Runtime
from tests.entra.helpers import SECRET_ENV, tenant_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.reports import expectations as expect
from tests.reports.tenant import report_tenant
from tests.web.conftest import ManualClock

__all__ = ["report_tenant"]


@pytest.fixture
def web_runtime(
    web_runtime: Runtime,
    report_tenant: RunningSandbox,
    web_clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    """The console's runtime with the sandbox tenant configured, its clock on the tenant's."""
    from datetime import UTC, datetime

    monkeypatch.setenv(SECRET_ENV, report_tenant.info.full_client_secret)
    web_clock.now = datetime.now(UTC).replace(microsecond=0)
    entra = EntraSection(tenants=[tenant_config(report_tenant)])
    yield dataclasses.replace(
        web_runtime, config=web_runtime.config.model_copy(update={"entra": entra})
    )


def test_nobody_signed_in_is_refused(web_client) -> None:  # type: ignore[no-untyped-def]
    nobody = web_client()
    assert nobody.get("/api/v1/reports").status_code == 401
    assert nobody.get("/api/v1/reports/guests?format=csv").status_code == 401
    page = nobody.get("/reports/guests", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin")


def test_viewer_lists_the_reports(web_client) -> None:  # type: ignore[no-untyped-def]
    viewer = web_client(role="viewer")
    listed = viewer.get("/api/v1/reports").json()
    assert "inactive-users" in {r["key"] for r in listed}
    assert all(r["feature"] == "administrator.reports" and r["permissions"] for r in listed)
    page = viewer.get("/reports")
    assert page.status_code == 200 and 'href="/reports/stale-devices"' in page.text


def test_viewer_reads_a_report_as_json_csv_and_xlsx(  # type: ignore[no-untyped-def]
    web_client, web_clock: ManualClock, report_tenant: RunningSandbox
) -> None:
    viewer = web_client(role="viewer", token=True)
    answer = viewer.get("/api/v1/reports/inactive-users?days=3")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    wanted = expect.inactive_upns(report_tenant, web_clock.now, 3)
    assert {row["user_principal_name"] for row in body["rows"]} == wanted
    assert body["days"] == 3

    as_csv = viewer.get("/api/v1/reports/inactive-users?days=3&format=csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {line["User principal name"] for line in lines} == wanted

    as_xlsx = viewer.get("/api/v1/reports/inactive-users?days=3&format=xlsx")
    assert as_xlsx.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert {row[1] for row in rows[1:]} == wanted


def test_the_page_shows_the_table_form_and_links(web_client) -> None:  # type: ignore[no-untyped-def]
    viewer = web_client(role="viewer")
    page = viewer.get("/reports/stale-devices?days=100")
    assert page.status_code == 200, page.text
    assert 'name="days"' in page.text and 'value="100"' in page.text
    assert "/api/v1/reports/stale-devices?days=100&amp;format=xlsx" in page.text
    assert page.text.count("<tr>") == 1 + 2  # the header and the two stale devices


def test_bad_input_is_named(web_client) -> None:  # type: ignore[no-untyped-def]
    viewer = web_client(role="viewer")
    assert viewer.get("/api/v1/reports/nope").status_code == 404
    refused = viewer.get("/api/v1/reports/guests?days=3")
    assert refused.status_code == 422 and "takes no days" in refused.json()["detail"]
    assert viewer.get("/api/v1/reports/stale-devices?days=-4").status_code == 422
    assert viewer.get("/api/v1/reports/guests?format=pdf").status_code == 422
    page = viewer.get("/reports/stale-devices?days=soon")
    assert "days must be a whole number" in page.text


def test_service_adoption_is_drawn_as_an_svg_chart(web_client) -> None:  # type: ignore[no-untyped-def]
    viewer = web_client(role="viewer")
    page = viewer.get("/reports/service-adoption?days=30")
    assert page.status_code == 200, page.text
    svg = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    # one group per service, two bars each (licensed, active), labelled for screen readers
    for service in ("Exchange", "OneDrive", "SharePoint", "Teams"):
        assert f"<title>{service}: Licensed " in svg and f"<title>{service}: Active " in svg
    assert "<script" not in svg and "http://www.w3.org/2000/svg" in svg
    assert 'class="series-0"' in svg and 'class="series-1"' in svg


def test_a_users_page_shows_their_onedrive(  # type: ignore[no-untyped-def]
    web_client, web_runtime: Runtime, report_tenant: RunningSandbox
) -> None:
    """The user page's OneDrive address is Graph's users/{id}/drive webUrl, read live; a user
    without a OneDrive (no SharePoint plan) is said to have none."""
    from dirguard.store.models import DirectoryObject
    from tests.entra.helpers import SOURCE

    state = report_tenant.state
    e3 = next(
        s["skuId"] for s in state.subscribed_skus.values() if s["skuPartNumber"] == "ENTERPRISEPACK"
    )
    users = list(state.users.values())
    with_drive = next(
        u for u in users if any(a["skuId"] == e3 for a in u.get("assignedLicenses") or [])
    )
    without = next(u for u in users if not u.get("assignedLicenses"))
    ids = {}
    with web_runtime.sessions.begin() as session:
        for user in (with_drive, without):
            row = DirectoryObject(
                source=SOURCE,
                resource_type="entra.user",
                external_id=user["id"],
                natural_key=user["userPrincipalName"],
            )
            session.add(row)
            session.flush()
            ids[user["id"]] = row.id
    with report_tenant.client() as graph:
        drive = graph.get(f"/users/{with_drive['id']}/drive").json()
    assert (
        drive["webUrl"].startswith("https://") and "-my.sharepoint.com/personal/" in drive["webUrl"]
    )
    viewer = web_client(role="viewer")
    page = viewer.get(f"/objects/{ids[with_drive['id']]}")
    assert page.status_code == 200, page.text
    assert f'<a href="{drive["webUrl"]}"' in page.text
    page = viewer.get(f"/objects/{ids[without['id']]}")
    assert 'id="onedrive">no OneDrive' in page.text
