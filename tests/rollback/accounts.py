"""A read-only monitoring account for the elevation and read-only-mode tests: a plain user (no
admin group) holding the DirSync rights the catalog's ``ad.collect-changes`` names (Replicate
Directory Changes and Replicate Directory Changes All on the domain object) and inherited read
rights (list, read properties, read control) on the domain and configuration partitions, all
granted with ``samba-tool dsacl set``; and the Samba audit records a given SID wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import SambaDC, audit_records
from tests.rollback.helpers import read

REPLICATE_CHANGES = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2"
REPLICATE_CHANGES_ALL = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
DIRGUARD = str(Path(sys.executable).with_name("dirguard"))


@dataclass(frozen=True, kw_only=True)
class Account:
    name: str
    upn: str
    password: str
    dn: str
    sid: str


@pytest.fixture
def ro_account(
    samba_dc: SambaDC, ldap_admin: Any, unique: Callable[[str], str], samba_tool: Any
) -> Iterator[Account]:
    """A fresh non-admin user with DirSync and read rights only; deleted after the test."""
    name = unique("rosvc")
    password = f"Pa55word!{name}"
    samba_tool("user", "create", name, password)
    dn = f"CN={name},CN=Users,{samba_dc.base_dn}"
    sid = sid_from_bytes(read(ldap_admin, dn, "objectSid")["objectSid"][0])[0]
    aces = "".join(
        f"(OA;;CR;{right};;{sid})" for right in (REPLICATE_CHANGES, REPLICATE_CHANGES_ALL)
    )
    samba_tool("dsacl", "set", f"--objectdn={samba_dc.base_dn}", f"--sddl={aces}")
    for context in (samba_dc.base_dn, f"CN=Configuration,{samba_dc.base_dn}"):
        samba_tool("dsacl", "set", f"--objectdn={context}", f"--sddl=(A;CI;RPLCLORC;;;{sid})")
    try:
        yield Account(name=name, upn=f"{name}@{samba_dc.realm}", password=password, dn=dn, sid=sid)
    finally:
        ldap_admin.delete_s(dn)


def writes_by(dc: SambaDC, sid: str) -> list[dict[str, Any]]:
    """The directory and group change records Samba logged for the account ``sid``."""
    found = []
    for path in (dc.audit_logs.directory_changes, dc.audit_logs.group_changes):
        for record in audit_records(path):
            body = record.get(str(record.get("type")))
            if isinstance(body, dict) and body.get("userSid") == sid:
                found.append(record)
    return found


def group_members(conn: Any, group_dn: str) -> set[str]:
    found = conn.search_s(group_dn, ldap.SCOPE_BASE, "(objectClass=*)", ["member"])
    return {v.decode().lower() for v in found[0][1].get("member", [])}


def domain_admins(dc: SambaDC) -> str:
    return f"CN=Domain Admins,CN=Users,{dc.base_dn}"


def cli(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``dirguard --config CONFIG ARGS`` in a child process (as an operator runs it)."""
    return subprocess.run(
        [DIRGUARD, "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def cli_json(config: Path, env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = cli(config, env, *args, "--json")
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout)


def cli_runner(config: Path, env: dict[str, str]) -> Callable[..., Any]:
    """``run(ARGS, code=0, as_json=True)``: ``dirguard --config CONFIG ARGS [--json]`` in this
    process; asserts the exit code and that no secret of ``env`` is printed; the parsed JSON
    (with ``as_json``) or the result."""
    runner = CliRunner()

    def run(*args: str, code: int = 0, as_json: bool = True) -> Any:
        result = runner.invoke(
            app, ["--config", str(config), *args, *(["--json"] if as_json else [])], env=env
        )
        assert result.exit_code == code, result.output
        for secret in env.values():
            assert secret not in result.output
        return json.loads(result.stdout) if as_json else result

    return run
