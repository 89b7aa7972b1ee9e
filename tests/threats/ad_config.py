"""The dirguard configuration the real-DC threat tests run with, and small helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dirguard.throwaway.samba_dc import SambaDC

SITE_RULE = """
[[rule]]
id = "SITE-DESCRIPTION-BURST"
title = "Many descriptions rewritten by one actor"
severity = "medium"
directory = "ad"
rationale = "A burst of edits by one account is unusual here."
remediation = "Ask the actor."
[rule.match]
resource_types = ["ad.user"]
attributes = ["description"]
[rule.threshold]
count = 3
window = "10m"
"""


def threats_config(tmp_path: Path, dc: SambaDC, threats: str) -> Path:
    """A config for ``dc`` in full mode with Samba's audit files, the site rule above in
    ``rules_dir``, no actor grace (each pass matches what it has), and ``threats`` appended to
    the ``[threats]`` table."""
    logs = dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "site.toml").write_text(SITE_RULE, encoding="utf-8")
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'checkpoint_file = "{tmp_path / "checkpoints.jsonl"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:TEST_DIRGUARD_AD_PASSWORD"\n'
        'mode = "full"\n'
        f"samba_audit_files = [{files}]\n"
        f'[threats]\nrules_dir = "{rules_dir}"\nactor_grace = 0\nexposure_interval = 0\n' + threats,
        encoding="utf-8",
    )
    return path


def alerts_of(run: Callable[..., Any], rule: str | None = None) -> list[dict[str, Any]]:
    args = ["alerts", "list", "--status", "all"] + (["--rule", rule] if rule else [])
    alerts: list[dict[str, Any]] = run(*args)["alerts"]
    return alerts
