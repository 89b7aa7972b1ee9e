"""Signed checkpoints of the change-event chains, kept outside the store.

The digest chain (:mod:`dirguard.store.events`) shows an edited or removed event, but whoever
can write the database can also recompute every digest after an edit, or cut off the tail. A
checkpoint pins a chain's head — its source, last sequence number and that event's digest — and
is signed with an Ed25519 key kept in dirguard's encrypted secret store, then written where the
database's writer cannot rewrite it unnoticed (an append-only file, syslog). Checking a
checkpoint against the store finds a re-chained history (the event at the pinned sequence has
another digest) and a cut tail (the chain is shorter than the pinned sequence).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dirguard.store.models import ChangeEvent

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

SIGNING_KEY_NAME = "dirguard.chain-checkpoint-key"
"""Name of the signing key (PEM, PKCS #8) in dirguard's secret store."""

FORMAT = "dirguard-chain-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint record that cannot be read; the message says which and why."""


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    source: str
    sequence: int
    digest: str


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """One signed head of one chain."""

    source: str
    sequence: int
    digest: str
    at: str
    """When it was taken (ISO 8601, UTC)."""
    key_id: str
    """First 16 hex digits of the SHA-256 of the raw public key that signed it."""
    signature: str
    """Base64 Ed25519 signature of :func:`signed_bytes`."""

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    def line(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)


def signed_bytes(source: str, sequence: int, digest: str, at: str) -> bytes:
    """What a checkpoint's signature covers: canonical JSON of its content."""
    content = {"format": FORMAT, "source": source, "sequence": sequence, "digest": digest, "at": at}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")


def key_id(public_key: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_signing_key_pem() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")


def load_signing_key(pem: str) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError):
        raise CheckpointError(f"the secret {SIGNING_KEY_NAME!r} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"the secret {SIGNING_KEY_NAME!r} is not an Ed25519 key")
    return key


def sign(head: ChainHead, key: Ed25519PrivateKey, at: datetime) -> Checkpoint:
    when = at.isoformat(timespec="seconds")
    signature = key.sign(signed_bytes(head.source, head.sequence, head.digest, when))
    return Checkpoint(
        source=head.source,
        sequence=head.sequence,
        digest=head.digest,
        at=when,
        key_id=key_id(key.public_key()),
        signature=base64.b64encode(signature).decode("ascii"),
    )


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key.verify(
            signature,
            signed_bytes(checkpoint.source, checkpoint.sequence, checkpoint.digest, checkpoint.at),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def parse_line(line: str, where: str) -> Checkpoint:
    """One checkpoint from its JSON line; ``where`` (file and line number) names it in errors."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{where}: not JSON ({error.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{where}: not a {FORMAT} record")
    try:
        checkpoint = Checkpoint(
            source=str(data["source"]),
            sequence=int(data["sequence"]),
            digest=str(data["digest"]),
            at=str(data["at"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{where}: missing or bad field ({error})") from None
    if checkpoint.sequence < 1:
        raise CheckpointError(f"{where}: sequence must be 1 or more")
    return checkpoint


def chain_heads(session: Session) -> list[ChainHead]:
    """The last event of every chain in the store, by source."""
    last = (
        select(ChangeEvent.source, func.max(ChangeEvent.sequence).label("sequence"))
        .group_by(ChangeEvent.source)
        .subquery()
    )
    rows = session.execute(
        select(ChangeEvent.source, ChangeEvent.sequence, ChangeEvent.digest)
        .join(
            last,
            (ChangeEvent.source == last.c.source) & (ChangeEvent.sequence == last.c.sequence),
        )
        .order_by(ChangeEvent.source)
    )
    return [ChainHead(source=s, sequence=n, digest=d) for s, n, d in rows]


def digest_at(session: Session, source: str, sequence: int) -> str | None:
    """The stored digest of one event; ``None`` when there is no such event."""
    return session.scalar(
        select(ChangeEvent.digest).where(
            ChangeEvent.source == source, ChangeEvent.sequence == sequence
        )
    )
