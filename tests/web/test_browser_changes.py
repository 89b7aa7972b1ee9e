"""In Debian's Chromium (Playwright), against a real ``dirguard serve`` over HTTPS: a viewer signs
in, filters the Changes page with the keyboard alone, sees a change stored while the page is
open appear at the top by itself (server-sent events read by the vendored script, under the
console's CSP), follows its include link, opens the object and compares two of its moments.
Screenshots of each page go to ``tests/artifacts/web/`` for a reviewer (not asserted)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion
from tests.fixtures.requirements import unavailable
from tests.web.served_console import DIRGUARD, console_config, free_port, served_console
from tests.web.test_browser_sign_in import ARTIFACTS, CHROMIUM, FLAGS

PASSWORD = "correct horse battery staple"
T0 = datetime.now(UTC) - timedelta(hours=2)
BASE = "OU=Staff,DC=example,DC=test"


def _store(directory: Path) -> tuple[sessionmaker[Session], dict[str, int]]:
    engine = create_engine_for(f"sqlite:///{directory / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    ids: dict[str, int] = {}
    with sessions.begin() as session:
        for n, (kind, name) in enumerate((("ad.user", "ada"), ("ad.group", "staff"))):
            obj = DirectoryObject(
                source="ad:example.test",
                resource_type=kind,
                external_id=f"0b6c2b56-0000-4000-8000-00000000000{n}",
                natural_key=name,
                path=f"CN={name},{BASE}",
            )
            session.add(obj)
            session.flush()
            content = {"distinguishedName": [f"CN={name},{BASE}"], "description": ["start"]}
            if name == "staff":
                content["member"] = [f"CN=ada,{BASE}"]
            session.add(
                ObjectVersion(
                    object_id=obj.id, version=1, captured_at=T0, content=content,
                    content_hash="x",
                )
            )  # fmt: skip
            ids[name] = obj.id
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=ids["ada" if i % 2 else "staff"], op=ChangeOp.MODIFY,
                    attribute="description", old_value=[f"d{i}"], new_value=[f"d{i + 1}"],
                    actor="EXAMPLE\\pat" if i % 3 else "EXAMPLE\\rogue",
                    actor_address="10.0.0.5", observed_at=T0 + timedelta(minutes=i + 1),
                )
                for i in range(8)
            ],
        )  # fmt: skip
    return sessions, ids


def _account(directory: Path, port: int) -> None:
    config = console_config(directory, port)
    subprocess.run(
        [str(DIRGUARD), "--config", str(config), "account", "add", "vera", "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )


def test_changes_live_filter_object_and_compare_in_a_browser(tmp_path: Path) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    sessions, ids = _store(tmp_path)
    port = free_port()
    _account(tmp_path, port)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served_console(tmp_path, port) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(
                ignore_https_errors=True, viewport={"width": 1366, "height": 768}
            ).new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{served.url}/changes")
            page.fill("input[name=name]", "vera")
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{served.url}/changes")
            expect(page.locator("#change-rows tr")).to_have_count(8)

            # The filter form with the keyboard only: focus the actor field, type, Enter.
            page.focus("#f-actor")
            page.keyboard.type("rogue")
            page.keyboard.press("Enter")
            page.wait_for_url("**/changes?*actor=rogue*")
            expect(page.locator("#change-rows tr")).to_have_count(3)

            # A change stored while the page is open appears at the top by itself.
            with sessions.begin() as session:
                append_events(
                    session,
                    [
                        NewChangeEvent(
                            object_id=ids["ada"], op=ChangeOp.MODIFY, attribute="title",
                            new_value=["Live one"], actor="EXAMPLE\\rogue",
                            actor_address="10.6.6.6",
                        ),
                        NewChangeEvent(
                            object_id=ids["ada"], op=ChangeOp.MODIFY, attribute="title",
                            new_value=["Not rogue"], actor="EXAMPLE\\pat",
                        ),
                    ],
                )  # fmt: skip
            first = page.locator("#change-rows tr").first
            expect(first).to_contain_text("Live one", timeout=15_000)
            expect(first).to_have_class("fresh")
            expect(page.locator("#change-rows tr")).to_have_count(4)
            page.screenshot(path=str(ARTIFACTS / "changes-live.png"), full_page=True)

            # Include a row value: only the title changes of the rogue.
            first.get_by_label("only attribute title").click()
            page.wait_for_url("**attribute=title*")
            expect(page.locator("#change-rows tr")).to_have_count(1)
            # Its exclude link moves the value from one list to the other.
            expect(first.get_by_label("exclude attribute title")).to_have_attribute(
                "href", "/changes?actor=rogue&not_attribute=title"
            )

            first.get_by_role("link", name="ada").click()
            page.wait_for_url(f"**/objects/{ids['ada']}")
            expect(page.locator("h1")).to_have_text("ada")
            page.screenshot(path=str(ARTIFACTS / "object.png"), full_page=True)
            page.fill("#m-from", (T0 + timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S"))
            page.focus("#m-from")
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/objects/{ids['ada']}/compare?*")
            changed = page.locator("tr.changed th")
            expect(changed).to_have_text(["description", "title"])
            page.screenshot(path=str(ARTIFACTS / "object-compare.png"), full_page=True)
            page.goto(f"{served.url}/objects/{ids['staff']}")
            expect(page.locator("ul.links a")).to_have_text(["ada"])
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
