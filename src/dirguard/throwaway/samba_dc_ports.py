"""Whether the ports a throwaway DC binds are free on loopback, and who holds them if not.

Freedom is decided by trying to bind (the kernel's answer); the holder is then looked up in
``/proc/net/{tcp,udp}{,6}`` and ``/proc/*/fd`` so the error can name the process. A DC left
running by a dirguard process that has since died (recognised by the pid file in its own work
directory) is stopped; nothing else ever is.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Protocol = Literal["tcp", "udp"]


@dataclass(frozen=True, kw_only=True)
class Port:
    protocol: Protocol
    number: int

    def __str__(self) -> str:
        return f"{self.number}/{self.protocol}"


# Written by the throwaway DC into its work directory: "<samba pid> <owner pid>".
DC_PID_FILE = "run/dirguard-dc.pid"

# What Samba 4.17's ldap and kdc services bind (LDAP, LDAPS, global catalog, Kerberos, kpasswd).
DC_PORTS: tuple[Port, ...] = (
    *(Port(protocol="tcp", number=n) for n in (389, 636, 3268, 3269, 88, 464)),
    *(Port(protocol="udp", number=n) for n in (88, 464)),
)


@dataclass(frozen=True, kw_only=True)
class PortHolder:
    pid: int
    name: str
    executable: str


class DCBusyError(RuntimeError):
    """Another throwaway DC on this machine kept the machine lock for too long."""


class PortInUseError(RuntimeError):
    """A port the DC needs is taken; ``holders`` maps each taken port to its process if known."""

    def __init__(self, host: str, holders: dict[Port, PortHolder | None]) -> None:
        self.host = host
        self.holders = holders
        by_holder: dict[PortHolder | None, list[str]] = {}
        for port, holder in holders.items():
            by_holder.setdefault(holder, []).append(str(port))
        parts = []
        for holder, taken in by_holder.items():
            what = f"port {taken[0]} is" if len(taken) == 1 else f"ports {', '.join(taken)} are"
            who = (
                f"by pid {holder.pid} ({holder.name}, {holder.executable})"
                if holder
                else "by a process this user cannot see (try `ss -ltnup` as root)"
            )
            hint = (
                " — a Samba server; if it is Debian's service: systemctl stop samba-ad-dc"
                if holder and holder.name.startswith("samba")
                else ""
            )
            parts.append(f"{what} already in use on {host} {who}{hint}")
        super().__init__(
            "; ".join(parts) + ". Stop that process (or its service) and try again: the "
            "throwaway Samba DC needs these ports on loopback."
        )


def check_ports_free(ports: Iterable[Port], *, host: str = "127.0.0.1") -> None:
    """Raise ``PortInUseError`` naming every port in ``ports`` that cannot be bound on ``host``."""
    taken = {port: find_port_holder(port) for port in ports if not _can_bind(host, port)}
    if taken:
        raise PortInUseError(host, taken)


def free_ports_of_orphaned_dcs(ports: Iterable[Port], *, host: str, grace: float) -> None:
    """Fail on a taken port, after stopping a DC orphaned by a crashed earlier dirguard run."""
    try:
        check_ports_free(ports, host=host)
    except PortInUseError as error:
        orphans = {h.pid for h in error.holders.values() if h and _is_orphaned_dc(h.pid)}
        if not orphans:
            raise
        for pid in orphans:
            _stop_orphan(pid, grace)
        check_ports_free(ports, host=host)


def _is_orphaned_dc(pid: int) -> bool:
    """True only for a samba whose work directory's pid file names it and a dead owner."""
    proc = Path("/proc", str(pid))
    try:
        if proc.joinpath("exe").readlink().name != "samba":
            return False
        opened = [fd.readlink() for fd in proc.joinpath("fd").iterdir()]
    except OSError:
        return False
    for target in opened:
        if target.name == "sam.ldb" and target.parent.name == "private":
            with contextlib.suppress(OSError, ValueError):
                text = target.parent.parent.joinpath(DC_PID_FILE).read_text(encoding="utf-8")
                samba_pid, owner_pid = (int(part) for part in text.split())
                return samba_pid == pid and not pid_alive(owner_pid)
    return False


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_orphan(pid: int, grace: float) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)


def _can_bind(host: str, port: Port) -> bool:
    kind = socket.SOCK_STREAM if port.protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as probe:
        if port.protocol == "tcp":  # ignore TIME_WAIT leftovers, as Samba itself does
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port.number))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def find_port_holder(port: Port) -> PortHolder | None:
    """The process with a socket bound to ``port`` (listening, for TCP), if visible in /proc."""
    inodes = _socket_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if fd.readlink().as_posix() in targets:
                        return _describe(int(proc.name))
    return None


def _socket_inodes(port: Port) -> set[str]:
    wanted_state = "0A" if port.protocol == "tcp" else "07"  # LISTEN / unconnected
    inodes: set[str] = set()
    for table in (port.protocol, port.protocol + "6"):
        with contextlib.suppress(OSError):
            lines = Path("/proc/net", table).read_text(encoding="ascii").splitlines()[1:]
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == port.number and fields[3] == wanted_state:
                    inodes.add(fields[9])
    return inodes


def _describe(pid: int) -> PortHolder:
    """Name and executable only: a command line may carry another program's secrets."""
    proc = Path("/proc", str(pid))
    name = executable = "?"
    with contextlib.suppress(OSError):
        name = (proc / "comm").read_text(encoding="utf-8", errors="replace").strip()
    with contextlib.suppress(OSError):
        executable = (proc / "exe").readlink().as_posix()
    return PortHolder(pid=pid, name=name, executable=executable)


_lock_depth = 0
"""How many ``machine_lock`` holders this process has (flock is per open file, not reentrant)."""


@contextlib.contextmanager
def machine_lock(wait: float) -> Iterator[None]:
    """Hold the machine-wide lock of the DC's fixed ports for the DC's lifetime.

    Two users of throwaway DCs on one machine (two test sessions, a test session and
    ``dirguard demo``) wait for each other for up to ``wait`` seconds instead of failing.
    """
    global _lock_depth
    if _lock_depth:  # this process holds it already (e.g. a test starting a second DC)
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    path = Path(tempfile.gettempdir()) / "dirguard-samba-dc.lock"
    with path.open("a") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise DCBusyError(
                        f"another throwaway Samba DC on this machine has held {path} for "
                        f"over {wait:.0f} s; wait for it to finish"
                    ) from None
                time.sleep(0.5)
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0
            fcntl.flock(handle, fcntl.LOCK_UN)
