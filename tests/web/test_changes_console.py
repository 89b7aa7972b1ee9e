"""The changes API and pages on the real app over a real SQLite store: filters with cursor pages,
problem+json naming the bad field, the export streams, server-sent events of new changes, saved
searches through the API and the page form, the Changes page's include/exclude links, the Object
page (state, links by name, timeline, restore link) and two moments side by side."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dirguard.core.change_op import ChangeOp
from dirguard.services.runtime import Runtime
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion
from tests.web.conftest import WebClientFactory

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
BASE = "OU=Staff,DC=example,DC=test"


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _add(runtime: Runtime, drafts: list[NewChangeEvent]) -> None:
    with runtime.sessions.begin() as session:
        append_events(session, drafts)


@pytest.fixture
def stored(web_runtime: Runtime) -> dict[str, int]:
    """ada (a user) and staff (a group holding ada), 12 description changes by EXAMPLE\\pat and
    a member added by EXAMPLE\\rogue from 10.6.6.6."""
    ids = {}
    with web_runtime.sessions.begin() as session:
        for n, (kind, name, content) in enumerate(
            (
                ("ad.user", "ada", {"description": ["v0"]}),
                ("ad.group", "staff", {"member": [f"CN=ada,{BASE}"]}),
            )
        ):
            obj = DirectoryObject(
                source="ad:example.test",
                resource_type=kind,
                external_id=f"0b6c2b56-0000-4000-8000-00000000000{n}",
                natural_key=name,
                path=f"CN={name},{BASE}",
            )
            session.add(obj)
            session.flush()
            session.add(
                ObjectVersion(
                    object_id=obj.id,
                    version=1,
                    captured_at=T0,
                    content={"distinguishedName": [f"CN={name},{BASE}"], **content},
                    content_hash="x",
                )
            )
            ids[name] = obj.id
    _add(
        web_runtime,
        [
            NewChangeEvent(
                object_id=ids["ada"], op=ChangeOp.MODIFY, attribute="description",
                old_value=[f"v{i}"], new_value=[f"v{i + 1}"], actor="EXAMPLE\\pat",
                actor_address="10.1.1.1", observed_at=_at(i + 1),
            )
            for i in range(12)
        ]
        + [
            NewChangeEvent(
                object_id=ids["staff"], op=ChangeOp.ADD_VALUE, attribute="member",
                new_value="CN=mallory,DC=example,DC=test", actor="EXAMPLE\\rogue",
                actor_address="10.6.6.6", observed_at=_at(20),
            )
        ],
    )  # fmt: skip
    return ids


def test_changes_api_filters_and_pages(
    web_client: WebClientFactory, stored: dict[str, int]
) -> None:
    client = web_client("viewer", token=True)
    first = client.get("/api/v1/changes", params={"actor": "pat", "limit": 5}).json()
    assert [c["new"] for c in first["changes"]] == [["v12"], ["v11"], ["v10"], ["v9"], ["v8"]]
    assert first["filter"] == {"actor": ["pat"]}
    seen = [c["id"] for c in first["changes"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/v1/changes", params={"actor": "pat", "limit": 5, "cursor": cursor})
        seen += [c["id"] for c in page.json()["changes"]]
        cursor = page.json()["next_cursor"]
    assert len(seen) == 12 == len(set(seen))
    rogue = client.get("/api/v1/changes", params=[("not_actor", "EXAMPLE\\pat")]).json()
    (only,) = rogue["changes"]
    assert only["actor"] == "EXAMPLE\\rogue" and only["actor_address"] == "10.6.6.6"
    assert only["object"]["name"] == "staff" and only["object_id"] == stored["staff"]
    windowed = client.get(
        "/api/v1/changes", params={"since": _at(3).isoformat(), "until": _at(4).isoformat()}
    )
    assert [c["new"] for c in windowed.json()["changes"]] == [["v4"], ["v3"]]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "last tuesday"}, "since"),
        ({"op": "explode"}, "op"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"object": "nobody-at-all"}, "object"),
    ],
)
def test_a_bad_filter_is_problem_json_naming_the_field(
    web_client: WebClientFactory, stored: dict[str, int], params: dict[str, str], field: str
) -> None:
    answer = web_client("viewer", token=True).get("/api/v1/changes", params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == field and field in answer.json()["detail"]


def test_export_streams_the_whole_filter(
    web_client: WebClientFactory, stored: dict[str, int]
) -> None:
    client = web_client("viewer")
    answer = client.get("/api/v1/changes/export", params={"actor": "pat", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["new"] for r in rows] == [json.dumps([f"v{i}"]) for i in range(1, 13)]
    data = client.get("/api/v1/changes/export", params={"format": "json", "op": "add-value"})
    assert [c["actor"] for c in data.json()["changes"]] == ["EXAMPLE\\rogue"]
    bad = client.get("/api/v1/changes/export", params={"until": "never"})
    assert bad.status_code == 422 and bad.json()["field"] == "until"


def _events(text: str) -> list[dict[str, str]]:
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = fields.get(key, "") + value if key == "data" else value
        if "event" in fields:
            found.append(fields)
    return found


def test_stream_sends_new_matching_changes(
    web_client: WebClientFactory, web_runtime: Runtime, stored: dict[str, int]
) -> None:
    client = web_client("viewer", token=True)
    newest = client.get("/api/v1/changes", params={"limit": 1}).json()["changes"][0]["id"]
    _add(
        web_runtime,
        [
            NewChangeEvent(
                object_id=stored["ada"], op=ChangeOp.MODIFY, attribute="title",
                new_value=["Boss"], actor="EXAMPLE\\rogue", observed_at=_at(30),
            ),
            NewChangeEvent(
                object_id=stored["ada"], op=ChangeOp.MODIFY, attribute="title",
                new_value=["Intern"], actor="EXAMPLE\\pat", observed_at=_at(31),
            ),
        ],
    )  # fmt: skip
    answer = client.get(
        "/api/v1/changes/stream", params={"after": newest, "hold": 0, "actor": "rogue"}
    )
    assert answer.headers["content-type"].startswith("text/event-stream")
    (event,) = _events(answer.text)
    change = json.loads(event["data"])
    assert event["event"] == "change" and int(event["id"]) == change["id"] > newest
    assert change["new"] == ["Boss"] and change["actor"] == "EXAMPLE\\rogue"
    resumed = client.get(
        "/api/v1/changes/stream",
        params={"after": newest, "hold": 0},
        headers={"Last-Event-ID": event["id"]},
    )
    assert [json.loads(e["data"])["new"] for e in _events(resumed.text)] == [["Intern"]]
    page = web_client("viewer").get("/changes/live", params={"after": newest, "hold": 0})
    rows = _events(page.text)
    assert [e["event"] for e in rows] == ["row", "row"]
    assert "<tr" in rows[0]["data"] and "Boss" in rows[0]["data"]


def test_saved_searches_api_and_page(web_client: WebClientFactory, stored: dict[str, int]) -> None:
    ann = web_client("viewer", token=True, name="ann")
    made = ann.post("/api/v1/searches", json={"name": "rogue work", "filter": {"actor": ["rogue"]}})
    assert made.status_code == 201, made.text
    shared = ann.post(
        "/api/v1/searches",
        json={"name": "team", "shared": True, "filter": {"not_op": ["delete"]}},
    ).json()
    bad = ann.post("/api/v1/searches", json={"name": "x", "filter": {"op": ["explode"]}})
    assert bad.status_code == 422 and bad.json()["field"] == "op"
    ben = web_client("viewer", token=True, name="ben")
    assert [s["name"] for s in ben.get("/api/v1/searches").json()] == ["team"]
    assert ben.get(f"/api/v1/searches/{made.json()['id']}").status_code == 404
    assert ben.delete(f"/api/v1/searches/{shared['id']}").status_code == 403
    assert ann.delete(f"/api/v1/searches/{shared['id']}").status_code == 204
    browser = web_client("viewer", name="cat")
    saved = browser.post(
        "/changes/searches",
        data={"name": "pat's", "filter_query": "actor=pat", "csrf_token": _csrf(browser)},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/changes?actor=pat"
    page = browser.get("/changes")
    assert "pat&#39;s" in page.text and 'href="/changes?actor=pat"' in page.text


def _csrf(client: Any) -> str:
    return str(client.headers["X-CSRF-Token"])


def test_changes_page_rows_carry_their_values_for_include_and_exclude(
    web_client: WebClientFactory, stored: dict[str, int]
) -> None:
    client = web_client("viewer")
    page = client.get("/changes", params={"attribute": "member"})
    assert page.status_code == 200
    assert "CN=mallory,DC=example,DC=test" in page.text and "v12" not in page.text
    # Each value carries its field and value; the vendored script makes its +/- links from
    # the table's filter (the browser test follows them).
    assert 'data-pick-base="attribute=member"' in page.text
    assert (
        '<span class="value" data-f="actor" data-v="EXAMPLE\\rogue">EXAMPLE\\rogue</span>'
        in page.text
    )
    assert 'data-f="op" data-v="add-value"' in page.text
    assert f'href="/objects/{stored["staff"]}"' in page.text
    assert 'data-live="/changes/live?attribute=member&amp;after=' in page.text
    assert "<script>" not in page.text and "onclick" not in page.text
    bad = client.get("/changes", params={"since": "soon"})
    assert bad.status_code == 422 and "since:" in bad.text


def test_object_page_and_two_moments(web_client: WebClientFactory, stored: dict[str, int]) -> None:
    client = web_client("viewer")
    page = client.get(f"/objects/{stored['staff']}")
    assert page.status_code == 200
    assert f'<a href="/objects/{stored["ada"]}">ada</a>' in page.text  # a link by its name
    assert "CN=mallory,DC=example,DC=test" in page.text  # not in the store: shown as is
    at = _at(10).strftime("%Y-%m-%dT%H:%M:%S")
    earlier = client.get(f"/objects/{stored['ada']}", params={"at": at})
    assert "v10" in earlier.text and "Restore to this moment" in earlier.text
    assert f"/rollback/new?object={stored['ada']}&amp;to=" in earlier.text
    api = web_client("viewer", token=True)
    state = api.get(f"/api/v1/objects/{stored['ada']}/state", params={"at": at}).json()
    assert {a["name"]: a["values"] for a in state["attributes"]}["description"] == ["v10"]
    compared = api.get(
        f"/api/v1/objects/{stored['ada']}/compare",
        params={"from": _at(2).isoformat(), "to": _at(10).isoformat()},
    ).json()
    (row,) = [r for r in compared["rows"] if r["changed"]]
    assert (row["name"], row["before"], row["after"]) == ("description", ["v2"], ["v10"])
    side = client.get(f"/objects/{stored['ada']}/compare", params={"from": _at(2).isoformat()})
    assert side.status_code == 200 and "v2" in side.text and "v12" in side.text
    history = api.get(f"/api/v1/objects/{stored['ada']}/history", params={"limit": 5}).json()
    assert len(history["changes"]) == 5 and history["next_cursor"]
    assert api.get("/api/v1/objects/999999").status_code == 404
    bad = api.get(f"/api/v1/objects/{stored['ada']}/state", params={"at": "then"})
    assert bad.status_code == 422 and bad.json()["field"] == "at"


def test_values_from_the_directory_are_escaped(
    web_client: WebClientFactory, web_runtime: Runtime, stored: dict[str, int]
) -> None:
    _add(
        web_runtime,
        [
            NewChangeEvent(
                object_id=stored["ada"], op=ChangeOp.MODIFY, attribute="info",
                new_value=["<script>alert(1)</script>"], actor='EXAMPLE\\"><b>x',
                actor_address="<i>10.0.0.1", observed_at=_at(40),
            )
        ],
    )  # fmt: skip
    page = web_client("viewer").get("/changes", params={"attribute": "info"})
    assert "<script>alert" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert '"><b>x' not in page.text and "<i>10.0.0.1" not in page.text
    assert "&lt;i&gt;10.0.0.1" in page.text
