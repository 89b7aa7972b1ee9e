"""The README's read-only deployment, walked as a new administrator would (the session's real
Samba AD DC; every dirguard step is the real CLI in its own process).

``dirguard connect ad --mode read-only`` creates the read-only service account (its password
goes to dirguard's secret store); an elevation account holds only Write Members on Domain
Admins, as the README says to set it up; ``snapshot ad``; then ``dirguard monitor`` runs in the
background for the whole test. A second administrator (the rogue, not dirguard's accounts and
not the DC's Administrator) grants Domain Users full control of an OU over LDAP. The monitor
records the ACE change with the rogue as actor; the rollback is planned and applied while the
monitor runs, through just-in-time elevation; the DC shows the OU's DACL as before and the
read-only account out of Domain Admins again; the monitor records dirguard's own restore as
dirguard's, goes on capturing the next change, and stops cleanly at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.ldap_read import sd_flags_control
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.test_ad_monitor import DIRGUARD, _stop, _wait_for
from tests.rollback.accounts import domain_admins, group_members
from tests.rollback.helpers import read, scratch_ou
from tests.rollback.test_acl_rollback import _dsacl_aces

MEMBER_ATTRIBUTE_GUID = "bf9679c0-0de6-11d0-a285-00aa003049e2"
DACL_ONLY = 0x4


def _samba_tool_as(dc: SambaDC, user: str, password: str, *args: str) -> str:
    result = subprocess.run(
        [
            "samba-tool",
            *args,
            "-H",
            dc.ldap_uri,
            "-s",
            str(dc.smb_conf),
            "-U",
            user,
            "--password",
            password,
        ],
        env={**os.environ, **dc.client_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"samba-tool {' '.join(args)}: {result.stderr[-800:]}"
    return result.stdout


@pytest.fixture
def domain_admins_dacl(ldap_admin: Any, samba_dc: SambaDC) -> Iterator[None]:
    """Domain Admins' DACL is put back after the test (the elevation account's ACE removed)."""
    dn = domain_admins(samba_dc)
    controls = [sd_flags_control(DACL_ONLY)]
    [(_, attrs)] = ldap_admin.search_ext_s(
        dn, ldap.SCOPE_BASE, attrlist=["nTSecurityDescriptor"], serverctrls=controls
    )
    try:
        yield
    finally:
        ldap_admin.modify_ext_s(
            dn, [(ldap.MOD_REPLACE, "nTSecurityDescriptor", attrs["nTSecurityDescriptor"])],
            serverctrls=controls,
        )  # fmt: skip


class Cli:
    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env

    def __call__(self, *args: str, code: int = 0) -> Any:
        done = subprocess.run(
            [DIRGUARD, "--config", str(self.config), *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == code, f"dirguard {' '.join(args)}: {done.stderr[-2000:]}"
        assert "database is locked" not in done.stderr
        return json.loads(done.stdout)


@pytest.mark.samba
def test_the_read_only_deployment_undoes_a_rogue_ace_through_elevation_beside_the_monitor(
    samba_dc: SambaDC,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    domain_admins_dacl: None,
    tmp_path: Path,
) -> None:
    token = uuid.uuid4().hex[:6]
    realm, base = samba_dc.realm.lower(), samba_dc.base_dn
    service, elevator, rogue = f"dg-ro-{token}", f"dg-elev-{token}", f"rogue{token}"
    elevator_password, rogue_password = f"El3v!{uuid.uuid4().hex}", f"R0gue!{uuid.uuid4().hex}"
    accounts = [f"CN={name},CN=Users,{base}" for name in (service, elevator, rogue)]
    audit = ", ".join(
        f'"{p}"'
        for p in (
            samba_dc.audit_logs.directory_changes,
            samba_dc.audit_logs.group_changes,
            samba_dc.audit_logs.password_changes,
        )
    )
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'checkpoint_file = "{tmp_path / "checkpoints.jsonl"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n'
        f'[[ad.domains]]\nname = "{realm}"\nservers = ["{samba_dc.host}"]\n'
        f'ca_file = "{samba_dc.ca_cert_path}"\nmode = "read-only"\n'
        f'bind_upn = "{service}@{realm}"\npassword = "secret:ad.{realm}.{service}"\n'
        f'elevation_bind_upn = "{elevator}@{realm}"\nelevation_password = "env:WALK_ELEVATION"\n'
        f"samba_audit_files = [{audit}]\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "WALK_OPERATOR": samba_dc.admin_password,
        "WALK_ELEVATION": elevator_password,
    }
    cli = Cli(config, env)
    monitor: subprocess.Popen[bytes] | None = None
    try:
        # The elevation account: Write Members on Domain Admins and nothing else.
        samba_tool("user", "create", elevator, elevator_password)
        raw_sid = read(ldap_admin, accounts[1], "objectSid")["objectSid"][0]
        ace = f"(OA;;WP;{MEMBER_ATTRIBUTE_GUID};;{sid_from_bytes(raw_sid)[0]})"
        samba_tool("dsacl", "set", f"--objectdn={domain_admins(samba_dc)}", f"--sddl={ace}")
        created = cli(
            "connect", "ad", "--mode", "read-only", "--account", service,
            "--operator-upn", samba_dc.admin_upn, "--operator-password", "env:WALK_OPERATOR",
        )  # fmt: skip
        assert created, "connect ad reports what it set up"
        cli("connect", "validate", "--skip-entra")
        cli("snapshot", "ad")
        log = tmp_path / "monitor.log"
        with log.open("wb") as err, (tmp_path / "monitor.out").open("wb") as out:
            monitor = subprocess.Popen(
                [DIRGUARD, "--config", str(config), "monitor"], env=env, stdout=out, stderr=err
            )
        running = monitor

        def recorded(dn: str, attribute: str | None = None) -> list[dict[str, Any]]:
            """The object's recorded changes (of ``attribute``); none while dirguard has not
            seen the object yet."""
            args = ["changes", "--object", dn, *(["--attribute", attribute] if attribute else [])]
            done = subprocess.run(
                [DIRGUARD, "--config", str(config), *args, "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 1 and "no object" in done.stderr:
                return []
            assert done.returncode == 0, done.stderr
            found: list[dict[str, Any]] = json.loads(done.stdout)["changes"]
            return found

        with scratch_ou(ldap_admin, f"OU=Finance{token},{base}") as ou_dn:
            samba_tool("user", "create", rogue, rogue_password)
            samba_tool("group", "addmembers", "Domain Admins", rogue)
            before = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))
            _wait_for(lambda: recorded(ou_dn) != [], "the OU's creation", running)

            # The rogue, bound as itself, grants Domain Users full control of the OU.
            _samba_tool_as(
                samba_dc, rogue, rogue_password,
                "dsacl", "set", f"--objectdn={ou_dn}", "--sddl=(A;CI;GA;;;DU)",
            )  # fmt: skip

            def rogue_change() -> bool:
                return any(
                    rogue in (c["actor"] or "") for c in recorded(ou_dn, "nTSecurityDescriptor")
                )

            _wait_for(rogue_change, "the rogue's ACE change with its actor", running)
            [change] = recorded(ou_dn, "nTSecurityDescriptor")
            assert change["actor"] == f"{realm.split('.')[0].upper()}\\{rogue}"

            plan = cli("rollback", "plan", "--event", str(change["sequence"]))
            applied = cli("rollback", "apply", str(plan["id"]))
            assert [s["status"] for s in applied["steps"]] == ["succeeded"], applied
            assert applied["elevations"], "read-only mode wrote only through an elevation"
            assert monitor.poll() is None, "the monitor ran throughout the apply"

            after = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))
            assert sorted(after) == sorted(before), "the DC shows the DACL as before"
            assert not any(";;;DU)" in a for a in after)
            members = group_members(ldap_admin, domain_admins(samba_dc))
            assert accounts[0].lower() not in members, "the elevation was removed"

            def restore_recorded() -> bool:
                changes = recorded(ou_dn, "nTSecurityDescriptor")
                return len(changes) == 2 and (changes[-1]["actor"] or "").startswith("dirguard")

            _wait_for(restore_recorded, "dirguard's restore recorded as its own", running)
            ldap_admin.modify_s(ou_dn, [(ldap.MOD_REPLACE, "description", [b"after"])])
            _wait_for(
                lambda: recorded(ou_dn, "description") != [], "a change after the rollback", running
            )
        assert _stop(monitor) == 0, "the monitor stops cleanly on SIGTERM"
        monitor = None
        text = log.read_text(encoding="utf-8")
        assert "Traceback" not in text and "database is locked" not in text, text[-3000:]
        alerts = cli("alerts", "list", "--status", "all")["alerts"]
        assert not any(service in json.dumps(a) for a in alerts), (
            "dirguard's own elevation raises no alert"
        )
    finally:
        if monitor is not None:
            monitor.kill()
            monitor.wait()
        for dn in accounts:
            with contextlib.suppress(ldap.NO_SUCH_OBJECT):
                ldap_admin.delete_s(dn)
