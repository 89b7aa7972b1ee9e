"""Rules run by a captured change, on the session's Samba DC: a user created in OU=New Hires is
captured (``capture``, as ``dirguard capture ad`` runs it) and, once the pass has committed,
the rule "created under OU=New Hires → add to the team group" has added her; its run is in the
history with the trigger's event and her DN. A user created elsewhere is left alone. A rule
that fails (its scope names an OU that does not exist) gets a failed run of its own and the
capture still succeeds; a second capture with nothing new runs nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import func, select

from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.services.capture.use_cases import (
    CaptureRequest,
    SnapshotRequest,
    capture,
    snapshot,
)
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.rules.run_report import run_details, run_history
from dirguard.services.runtime import Runtime
from dirguard.store.models import ChangeEvent
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.admin.conftest import admin_runtime

pytestmark = pytest.mark.samba


@pytest.fixture
def runtime(
    samba_dc: SambaDC, org: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    domain = domain_config(
        samba_dc,
        admin_bind_upn=org["admin_upn"],
        admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD",
    )
    with admin_runtime(tmp_path, domains=[domain]) as made:
        yield made


def _user(conn: Any, dn: str) -> None:
    name = dn.split(",")[0].removeprefix("CN=")
    conn.add_s(
        dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [name.encode()]),
            ("unicodePwd", [unicode_pwd(complex_password())]),
            ("userAccountControl", [b"512"]),
        ],
    )


def _members(conn: Any, group: str) -> set[str]:
    ((_, attrs),) = conn.search_s(group, ldap.SCOPE_BASE, "(objectClass=*)", ["member"])
    return {v.decode().casefold() for v in attrs.get("member", [])}


def test_a_user_created_in_new_hires_runs_the_rule(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    token = uuid.uuid4().hex[:5]
    hires = f"OU=New Hires,{org['top']}"
    ldap_admin.add_s(hires, [("objectClass", [b"organizationalUnit"])])
    domain = runtime.ad_domain().name
    snapshot(runtime, SnapshotRequest())
    save_rule(
        runtime,
        {
            "name": "new-hires-team",
            "trigger": {"event": "created", "under": hires},
            "scope": {"directory": "ad", "source": domain, "base": org["top"]},
            "actions": [{"do": "add-to-group", "group": org["group"]}],
        },
    )
    save_rule(
        runtime,
        {
            "name": "broken-scope",
            "trigger": {"event": "created"},
            "scope": {"directory": "ad", "source": domain, "base": f"OU=Gone{token},{org['top']}"},
            "actions": [{"do": "set", "fields": {"description": "never"}}],
        },
    )
    nina = f"CN=nina{token},{hires}"
    olaf = f"CN=olaf{token},{org['finance']}"
    _user(ldap_admin, nina)
    _user(ldap_admin, olaf)
    assert nina.casefold() not in _members(ldap_admin, org["group"])

    (done,) = capture(runtime, CaptureRequest()).captures
    assert done.capture.events > 0

    members = _members(ldap_admin, org["group"])
    assert nina.casefold() in members and olaf.casefold() not in members
    (run,) = run_history(runtime, "new-hires-team")
    assert run["started_by"] == f"trigger: created {nina}"
    assert run["status"] == "succeeded" and run["dry_run"] is False
    details = run_details(runtime, int(run["run_id"]))
    assert [(o.path.casefold(), o.status) for o in details.objects] == [
        (nina.casefold(), "changed")
    ]
    (added,) = details.objects[0].changes
    assert added.key == "ad.group.add-member" and added.audit_id is not None
    with runtime.sessions() as session:
        newest = session.scalar(select(func.max(ChangeEvent.observed_at)))
    assert newest is not None and details.started_at >= newest  # after the pass committed

    (broken,) = run_history(runtime, "broken-scope")
    assert broken["status"] == "failed" and "Gone" in str(broken["error"])
    assert broken["started_by"].startswith("trigger: created ")

    # Nothing new captured: no rule runs again.
    capture(runtime, CaptureRequest())
    assert len(run_history(runtime, "new-hires-team")) == 1
    assert len(run_history(runtime, "broken-scope")) == 1
