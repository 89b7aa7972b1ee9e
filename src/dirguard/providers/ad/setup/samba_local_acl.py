"""Descriptor changes a Samba DC makes only locally: run ``samba_sam_script`` with Samba's own
Python (the interpreter of ``samba-tool``), as root on the DC, against the ``sam.ldb`` its
``smb.conf`` names. Used by ``dirguard connect ad --samba-conf`` for the grants a DC refused
over LDAP (``CN=Deleted Objects``, when the operator may not take ownership there)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("samba_sam_script.py")


class SambaLocalError(RuntimeError):
    """Samba's tools or database could not be used here; the message says what and why."""


def interpreter_of(script: str) -> str:
    """The Python that runs ``script`` (its ``#!`` line, possibly via ``env``)."""
    with Path(script).open("rb") as handle:
        parts = handle.readline().decode("utf-8", "replace").removeprefix("#!").split()
    python = shutil.which(parts[-1]) if parts and "python" in parts[-1] else None
    if python is None:
        raise SambaLocalError(f"{script} does not start with a Python #! line; cannot run it")
    return python


def samba_python() -> str:
    """The Python interpreter that has Samba's bindings (the one ``samba-tool`` runs with)."""
    samba_tool = shutil.which("samba-tool")
    if samba_tool is None:
        raise SambaLocalError(
            "samba-tool not found: --samba-conf works on the Samba DC itself, where Samba's"
            " Python bindings are installed"
        )
    return interpreter_of(samba_tool)


@dataclass(frozen=True, kw_only=True)
class LocalGrant:
    status: str
    """``added`` or ``present``."""
    before: str
    after: str
    """The container's descriptor before and after, as SDDL."""


def grant_locally(
    smb_conf: Path, dn: str, sid: str, mask: int, *, timeout: float = 120.0
) -> LocalGrant:
    """Give ``sid`` an ACCESS_ALLOWED ACE for ``mask`` on ``dn`` in the DC's database (nothing
    when an explicit ACE already grants it)."""
    if not smb_conf.is_file():
        raise SambaLocalError(f"--samba-conf {smb_conf}: no such file (the DC's smb.conf)")
    command = [
        samba_python(),
        str(SCRIPT),
        "--conf",
        str(smb_conf),
        "--dn",
        dn,
        "--sid",
        sid,
        "--mask",
        hex(mask),
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise SambaLocalError(
            f"changing {dn} in the DC's database took over {timeout:.0f} s"
        ) from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise SambaLocalError(f"changing {dn} in the DC's database ({smb_conf}) failed: {reason}")
    try:
        answer = json.loads(result.stdout)
        return LocalGrant(
            status=str(answer["status"]), before=str(answer["before"]), after=str(answer["after"])
        )
    except (ValueError, KeyError, TypeError):
        raise SambaLocalError(
            f"changing {dn}: unexpected answer from {SCRIPT.name}: {result.stdout[:200]!r}"
        ) from None
