"""``dirguard db verify`` and ``dirguard db checkpoint``: is the recorded history what was
recorded?

Verifying walks every chain (each event's digest over its content and the previous digest) and
names the first event that does not fit; then it checks the newest signed checkpoint of each
chain (:mod:`dirguard.store.checkpoints`) against the store: a shorter chain means events were
cut from its end, another digest at the pinned sequence means the history was rewritten and
re-chained. Writing a checkpoint signs each chain's head with the key in the secret store and
appends it to the checkpoint file (and, when configured, to syslog).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import Config
from dirguard.config.secret_store import SecretStore, SecretStoreError
from dirguard.services.errors import Problem, ServiceError
from dirguard.store import checkpoints as cp
from dirguard.store.events import verify_chain

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ChainReport:
    source: str
    events: int
    """The chain's last sequence number (0: the store holds no event of it)."""
    first_broken: int | None = None
    """The first event that does not fit the chain, if any."""
    broken: int = 0
    """How many events do not fit."""
    checkpoint: cp.Checkpoint | None = None
    """The newest valid checkpoint of this chain that was checked."""
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "events": self.events,
            "ok": not self.problems,
            "first_broken": self.first_broken,
            "broken": self.broken,
            "checkpoint": (
                None
                if self.checkpoint is None
                else {"sequence": self.checkpoint.sequence, "at": self.checkpoint.at}
            ),
            "problems": self.problems,
        }


@dataclass(kw_only=True)
class VerifyReport:
    chains: list[ChainReport]
    checkpoint_file: Path
    checkpoints_read: int = 0
    problems: list[str] = field(default_factory=list)
    """Problems of the checkpoint file itself (unreadable lines, bad signatures)."""

    @property
    def ok(self) -> bool:
        return not self.problems and all(not c.problems for c in self.chains)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checkpoint_file": str(self.checkpoint_file),
            "checkpoints_read": self.checkpoints_read,
            "problems": self.problems,
            "chains": [c.as_dict() for c in self.chains],
        }


def _secrets(config: Config) -> SecretStore:
    return SecretStore(config.secrets.key_file, config.secrets.store_file)


def signing_key(config: Config, *, create: bool) -> Ed25519PrivateKey | None:
    """The checkpoint signing key from the secret store; made on first use when ``create``."""
    store = _secrets(config)
    try:
        if cp.SIGNING_KEY_NAME not in store.names():
            if not create:
                return None
            store.set(cp.SIGNING_KEY_NAME, cp.new_signing_key_pem())
        return cp.load_signing_key(store.get(cp.SIGNING_KEY_NAME))
    except (SecretStoreError, cp.CheckpointError) as error:
        raise ServiceError(f"checkpoint signing key: {error}", Problem.CONFIG) from None


def _append(path: Path, lines: list[str]) -> None:
    """Append whole lines to the file (created 0600), flushed to disk before returning."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, "".join(f"{line}\n" for line in lines).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise ServiceError(
            f"cannot append to the checkpoint file {path}: {error.strerror}", Problem.CONFIG
        ) from None


def _to_syslog(lines: list[str]) -> None:
    handler = logging.handlers.SysLogHandler(address="/dev/log")
    try:
        for line in lines:
            handler.emit(logging.LogRecord("dirguard", logging.INFO, "", 0, line, None, None))
    finally:
        handler.close()


def write_checkpoints(
    config: Config, sessions: sessionmaker[Session], now: datetime
) -> list[cp.Checkpoint]:
    """Sign the head of every chain and write the checkpoints out; none when the store is
    empty."""
    with sessions() as session:
        heads = cp.chain_heads(session)
    if not heads:
        return []
    key = signing_key(config, create=True)
    assert key is not None
    made = [cp.sign(head, key, now) for head in heads]
    lines = [c.line() for c in made]
    _append(config.store.checkpoint_file, lines)
    if config.store.checkpoint_syslog:
        try:
            _to_syslog(lines)
        except OSError as error:
            raise ServiceError(
                f"checkpoints written to {config.store.checkpoint_file}, but not to syslog"
                f" (/dev/log: {error.strerror})",
                Problem.UNAVAILABLE,
            ) from None
    log.info("wrote %d chain checkpoint(s) to %s", len(made), config.store.checkpoint_file)
    return made


def _read_checkpoints(config: Config, report: VerifyReport) -> dict[str, cp.Checkpoint]:
    """The newest valid checkpoint per source; every bad line is a problem of the report."""
    path = config.store.checkpoint_file
    if not path.exists():
        return {}
    key = signing_key(config, create=False)
    public = key.public_key() if key is not None else None
    newest: dict[str, cp.Checkpoint] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        report.problems.append(f"{path} cannot be read: {error}")
        return {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {number}"
        try:
            checkpoint = cp.parse_line(line, where)
        except cp.CheckpointError as error:
            report.problems.append(str(error))
            continue
        report.checkpoints_read += 1
        if public is None:
            report.problems.append(
                f"{where}: no signing key in the secret store ({cp.SIGNING_KEY_NAME}), so the"
                " checkpoint cannot be checked"
            )
            continue
        if checkpoint.key_id != cp.key_id(public) or not cp.signature_valid(checkpoint, public):
            report.problems.append(
                f"{where}: the signature does not verify with dirguard's key: the checkpoint"
                " was not written by this dirguard, or was altered"
            )
            continue
        known = newest.get(checkpoint.source)
        if known is None or checkpoint.sequence >= known.sequence:
            newest[checkpoint.source] = checkpoint
    return newest


def _check_against(session: Session, chain: ChainReport, checkpoint: cp.Checkpoint) -> None:
    chain.checkpoint = checkpoint
    pinned = f"the checkpoint of {checkpoint.at} pinned event {checkpoint.sequence}"
    if chain.events < checkpoint.sequence:
        ends = f"ends at event {chain.events}" if chain.events else "has no events"
        chain.problems.append(f"the chain {ends}, but {pinned}: events were removed from its end")
        return
    stored = cp.digest_at(session, chain.source, checkpoint.sequence)
    if stored != checkpoint.digest:
        chain.problems.append(
            f"event {checkpoint.sequence} does not carry the digest {pinned} with: the history"
            " up to it was rewritten"
        )


def verify_store(config: Config, sessions: sessionmaker[Session]) -> VerifyReport:
    """Walk every chain and check it against the newest checkpoint of each."""
    report = VerifyReport(chains=[], checkpoint_file=config.store.checkpoint_file)
    pinned = _read_checkpoints(config, report)
    with sessions() as session:
        heads = {h.source: h for h in cp.chain_heads(session)}
        for source in sorted(heads.keys() | pinned.keys()):
            head = heads.get(source)
            chain = ChainReport(source=source, events=head.sequence if head else 0)
            broken = verify_chain(session, source) if head else []
            if broken:
                chain.first_broken, chain.broken = broken[0], len(broken)
                chain.problems.append(
                    f"event {broken[0]} does not fit the chain (changed, removed or reordered);"
                    f" {len(broken)} event(s) in all"
                )
            if source in pinned:
                _check_against(session, chain, pinned[source])
            report.chains.append(chain)
    return report
