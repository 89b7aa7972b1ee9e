"""The README's first command end to end: ``dirguard demo --yes`` starts its own sandbox tenant
and throwaway DC, plays the rogue admin's incident in both, undoes it and says so (exit 0). It
runs in a network namespace of its own so that its DC's fixed ports (389, 636, 88…) do not meet
the test session's DC; the outcome is the verification report (each directory read afresh and
compared with the moment before), not the wording. The same checks against the DC and the
tenant directly are in ``test_demo.py`` and ``test_demo_entra.py``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.fixtures.requirements import unavailable

pytestmark = pytest.mark.samba

DEMO = 'ip link set lo up && exec "$0" -m dirguard demo --yes --json'


def test_demo_yes_captures_the_incident_and_undoes_it(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("samba") is None:
        unavailable("samba", "the demo's own DC needs root, unshare and samba-ad-dc")
    # Samba's messaging sockets live under its work directory in TMPDIR: a short path keeps
    # them within the 108 bytes a Unix socket's name may have.
    short = Path(tempfile.mkdtemp(prefix="dgdemo", dir="/tmp"))
    short.chmod(0o755)
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TMPDIR": str(short),
    }
    env.pop("DIRGUARD_CONFIG", None)
    done = subprocess.run(
        ["unshare", "-n", "sh", "-c", DEMO, sys.executable],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        input="",
    )
    if done.returncode != 0 and "unshare" in done.stderr:
        unavailable("samba", f"no network namespace for the demo's DC: {done.stderr[-300:]}")
    shutil.rmtree(short, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["skipped"] == []
    tenant = report["tenant"]
    assert tenant["applied"] and tenant["status"] == "applied"
    assert tenant["restored"] and all(tenant["checks"].values()), tenant["checks"]
    assert {c["actor"] for c in tenant["captured"] if c["actor"]} == {tenant["rogue"]}
    assert tenant["organisation"]["users"] >= 200
    domain = report["domain"]
    assert domain["applied"] and domain["status"] == "applied"
    assert domain["restored"], domain["left"]
    actors = {c["actor"] for c in domain["captured"]}
    assert len(actors) == 1 and "rogue.admin" in actors.pop()
    assert domain["organisation"]["users"] >= 100


def test_the_report_prints_a_skipped_half_word_for_word(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reason holding square brackets (the extra to install) is not taken for Rich markup."""
    from dirguard.cli.demo_cmd import _print_report
    from dirguard.services.demo import DemoReport

    reason = "python-ldap not installed (pip install 'dirguard[ad]'); run: sudo bash scripts/demo"
    _print_report(DemoReport(store="sqlite://", skipped=[reason]))
    assert reason in " ".join(capsys.readouterr().out.split())
