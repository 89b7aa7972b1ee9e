"""``dirguard permissions`` and ``dirguard permissions check`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Lifecycle, Mode, Service
from dirguard.cli.app import app
from dirguard.cli.exit_codes import ExitCode

runner = CliRunner()

READ_ONLY_NAMES = (
    "Global Reader",
    "Reader",
    "Event Log Readers",
    "Remote Management Users",
    "Replicate Directory Changes",
)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def names_in_json(*args: str) -> set[str]:
    code, out, _ = run("permissions", *args, "--json")
    assert code == 0
    return {p["name"] for p in json.loads(out)["permissions"]}


def test_guardian_read_only_names_monitoring_grants_and_no_admin_groups() -> None:
    code, out, _ = run("permissions", "--service", "guardian", "--mode", "read-only")
    assert code == 0
    for name in READ_ONLY_NAMES:
        assert name in out, name
    assert "Global Administrator" not in out
    assert "Domain Admins" not in out
    names = names_in_json("--service", "guardian", "--mode", "read-only")
    assert set(READ_ONLY_NAMES) <= names
    assert not names & {"Global Administrator", "Domain Admins", "Reanimate Tombstones"}


def test_guardian_full_names_the_admin_grants() -> None:
    code, out, _ = run("permissions", "--service", "guardian", "--mode", "full")
    assert code == 0
    for name in ("Global Administrator", "Domain Admins", "Enterprise Admins", "Schema Admins"):
        assert name in out, name
    for name in ("Reanimate Tombstones", "User Access Administrator", "Event Log Readers"):
        assert name in out, name
    assert "Global Reader" not in names_in_json("--service", "guardian", "--mode", "full")


def test_administrator_names_both_applications_and_its_ad_account() -> None:
    code, out, _ = run("permissions", "--service", "administrator")
    assert code == 0
    assert "dirguard Administrator app (setup application)" in out
    assert "dirguard Administrator API Access app" in out
    assert "dirguard Administrator AD account" in out
    document = json.loads(run("permissions", "--service", "administrator", "--json")[1])
    principals = {p["principal"] for p in document["permissions"]}
    assert principals == {
        "administrator-setup-app",
        "administrator-api-app",
        "administrator-ad-account",
    }
    (account_operators,) = [
        p for p in document["permissions"] if p["principal"] == "administrator-ad-account"
    ]
    assert account_operators["name"] == "Account Operators"
    assert account_operators["added_by_project"]
    assert all(p["service"] == "administrator" for p in document["permissions"])


def test_json_lists_usage_and_features_for_each_row() -> None:
    document = json.loads(run("permissions", "--json")[1])
    rows = document["permissions"]
    assert len(rows) == len(MANIFEST.permissions)
    ews = next(r for r in rows if r["name"] == "EWS.AccessAsUser.All")
    assert ews["lifecycle"] == "legacy"
    assert ews["features"] == ["administrator.priority-booking"]
    assert "Priority Booking" in ews["usage"]


def test_feature_filter_and_unknown_feature() -> None:
    names = names_in_json("--feature", "guardian.ad.collect-changes")
    assert names == {
        "Replicate Directory Changes",
        "Replicate Directory Changes All",
        "List Contents and Read Property on Deleted Objects",  # read-only mode's only
    }
    full = names_in_json("--feature", "guardian.ad.collect-changes", "--mode", "full")
    assert full == {"Replicate Directory Changes", "Replicate Directory Changes All"}
    code, _, err = run("permissions", "--feature", "guardian.nope")
    assert code == 2
    assert "guardian.nope" in err
    assert "guardian.ad.collect-changes" in err  # the valid features are listed


def _required(service: Service, mode: Mode) -> list[str]:
    """Qualified names of what the check requires (setup-only rows are not required)."""
    return [
        f"{p.principal.value}:{p.kind.value}:{p.name}"
        for p in MANIFEST.select(service=service, mode=mode)
        if p.lifecycle is not Lifecycle.SETUP_ONLY
    ]


def test_check_complete_granted_set_exits_0(tmp_path: Path) -> None:
    granted = tmp_path / "granted.txt"
    granted.write_text("# everything\n\n" + "\n".join(_required(Service.GUARDIAN, Mode.FULL)))
    code, out, _ = run(
        "permissions", "check", "--granted", str(granted), "--service", "guardian", "--mode", "full"
    )
    assert code == ExitCode.OK, out
    assert "granted" in out


def test_check_missing_grant_exits_2_and_names_it_with_its_features(tmp_path: Path) -> None:
    lines = [
        q
        for q in _required(Service.GUARDIAN, Mode.READ_ONLY)
        if q != "guardian-ad-account:ad-extended-right:Replicate Directory Changes"
    ]
    granted = tmp_path / "granted.json"
    granted.write_text(json.dumps(lines))
    args = ("permissions", "check", "-g", str(granted), "-s", "guardian", "-m", "read-only")
    code, out, _ = run(*args)
    assert code == ExitCode.CRITICAL
    assert "Replicate Directory Changes" in out
    assert "guardian.ad.collect-changes" in out
    # The filters may also come before the sub-command.
    code, out, _ = run(
        "permissions", "-s", "guardian", "-m", "read-only", "check", "-g", str(granted), "--json"
    )
    assert code == ExitCode.CRITICAL
    report = json.loads(out)
    assert (report["service"], report["mode"]) == ("guardian", "read-only")
    code, out, _ = run(*args, "--json")
    assert code == ExitCode.CRITICAL
    report = json.loads(out)
    assert report["complete"] is False
    assert [(m["name"], m["features"]) for m in report["missing"]] == [
        ("Replicate Directory Changes", ["guardian.ad.collect-changes"])
    ]


def test_check_bare_name_satisfies_every_row_of_that_name(tmp_path: Path) -> None:
    """One unqualified 'Directory.ReadWrite.All' covers Guardian's app and delegated rows."""
    rows = MANIFEST.select(service=Service.GUARDIAN, mode=Mode.FULL)
    names = sorted({p.name for p in rows if p.lifecycle is not Lifecycle.SETUP_ONLY})
    granted = tmp_path / "granted.json"
    granted.write_text(json.dumps({"guardian-app": [], "guardian-ad-account": names}))
    code, out, _ = run("permissions", "check", "-g", str(granted), "-s", "guardian", "--json")
    # Qualified under the AD account, the names satisfy only the AD account's rows.
    assert code == ExitCode.CRITICAL
    missing = {m["principal"] for m in json.loads(out)["missing"]}
    assert missing == {"guardian-app"}
    granted.write_text(json.dumps([{"name": n} for n in names]))
    code, out, _ = run("permissions", "check", "-g", str(granted), "-s", "guardian", "--json")
    assert code == ExitCode.OK, out
    assert json.loads(out)["unknown"] == []


def test_check_reports_extra_and_unknown_grants(tmp_path: Path) -> None:
    granted = tmp_path / "granted.txt"
    granted.write_text(
        "\n".join([*_required(Service.GUARDIAN, Mode.READ_ONLY), "Domain Admins", "Foo.Bar"])
    )
    code, out, _ = run(
        "permissions", "check", "-g", str(granted), "-s", "guardian", "-m", "read-only", "--json"
    )
    assert code == ExitCode.OK
    report = json.loads(out)
    assert report["extra"] == ["Domain Admins"]
    assert report["unknown"] == ["Foo.Bar"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('["Mail.Send", 3]', "entry 2"),
        ("{not json", "invalid JSON at line 1"),
        ('{"nobody": ["Mail.Send"]}', "unknown principal"),
        ('[{"nmae": "Mail.Send"}]', "unexpected key(s) nmae"),
        ("Mail.Send\nbogus-kind:Mail.Send\n", "line 2: unknown kind 'bogus-kind'"),
        ("# only a comment\n\n", "empty"),
    ],
)
def test_check_bad_file_is_a_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    granted = tmp_path / "granted"
    granted.write_text(content)
    code, out, err = run("permissions", "check", "--granted", str(granted))
    assert code == ExitCode.FAILURE
    assert expected in err
    assert str(granted) in err
    assert out == ""


def test_check_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.json"
    code, _, err = run("permissions", "check", "--granted", str(missing))
    assert code == ExitCode.FAILURE
    assert "absent.json" in err
    assert "No such file" in err
