"""The ``samba`` server as a child process: started in the foreground, owned by its pid, waited
for until a probe succeeds, stopped by that pid (SIGTERM, then SIGKILL after a grace period)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from dirguard.throwaway.samba_dc_ports import DC_PID_FILE, pid_alive

_LOG_TAIL_LINES = 30


class SambaDCError(RuntimeError):
    """The throwaway DC could not be provisioned, started or reached."""


class SambaNotInstalledError(SambaDCError):
    """``samba`` or ``samba-tool`` is missing (Debian package ``samba-ad-dc``)."""


@contextlib.contextmanager
def running_samba(
    *,
    samba: str,
    smb_conf: Path,
    workdir: Path,
    env: Mapping[str, str],
    probe: Callable[[], None],
    probe_name: str,
    logs: Sequence[Path],
    timeout: float,
    grace: float,
    redact: str,
) -> Iterator[int]:
    """Run samba (``-M single``, light on small machines) and yield its pid once ``probe()``
    returns; a probe raising ``SambaDCError`` aborts, any other exception means "not yet".

    ``logs`` are quoted (last lines, ``redact`` masked) when samba exits early or times out.
    """
    command = [samba, "--foreground", "--no-process-group", "-M", "single", "-s", str(smb_conf)]
    setpriv = shutil.which("setpriv")
    if setpriv:  # the DC dies with this process even if this one is killed outright
        command = [setpriv, "--pdeathsig", "TERM", *command]
    stdout_log = workdir / "log" / "samba-stdout.log"
    stdout_log.parent.mkdir(parents=True, exist_ok=True)
    with stdout_log.open("wb") as out:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=dict(env)
        )
    write_pid_file(workdir, process.pid)
    try:
        _wait_until_ready(process, probe, probe_name, timeout, [*logs, stdout_log], redact)
        yield process.pid
    finally:
        _stop(process, grace)


def write_pid_file(workdir: Path, samba_pid: int) -> None:
    """Record "<samba pid> <owner pid>" (samba pid 0 before it starts), so that a later run can
    recognise this DC and its directory if the owning process dies without cleaning up."""
    path = workdir / DC_PID_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{samba_pid} {os.getpid()}\n", encoding="utf-8")


def remove_stale_workdirs(parent: Path, prefix: str) -> None:
    """Delete ``parent/prefix*`` work directories whose owner and samba have both exited
    (left by a run that was killed); a directory without a readable pid file is left alone."""
    for candidate in parent.glob(prefix + "*"):
        try:
            pids = [int(part) for part in (candidate / DC_PID_FILE).read_text().split()]
        except (OSError, ValueError):
            continue
        if len(pids) == 2 and not any(pid > 0 and pid_alive(pid) for pid in pids):
            shutil.rmtree(candidate, ignore_errors=True)


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    probe: Callable[[], None],
    probe_name: str,
    timeout: float,
    logs: Sequence[Path],
    redact: str,
) -> None:
    deadline = time.monotonic() + timeout
    last_error = "no attempt yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SambaDCError(
                f"samba (pid {process.pid}) exited with status {process.returncode} before "
                f"{probe_name} succeeded; last log lines:\n{log_tail(logs, redact)}"
            )
        try:
            probe()
        except SambaDCError:
            raise
        except Exception as error:  # e.g. python-ldap's SERVER_DOWN while samba starts
            last_error = f"{type(error).__name__}: {error}".replace(redact, "<redacted>")
            time.sleep(0.1)
        else:
            return
    raise SambaDCError(
        f"samba (pid {process.pid}) did not succeed at {probe_name} within {timeout:.0f} s "
        f"(last error: {last_error}); last log lines:\n{log_tail(logs, redact)}"
    )


def _stop(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)


def log_tail(paths: Sequence[Path], redact: str) -> str:
    """The last non-blank lines of ``paths`` with ``redact`` masked."""
    parts = []
    for path in paths:
        with contextlib.suppress(OSError):
            parts.append(f"--- {path}\n" + path.read_text(encoding="utf-8", errors="replace"))
    return tail("\n".join(parts)).replace(redact, "<redacted>")


def tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-_LOG_TAIL_LINES:]) or "(empty)"
