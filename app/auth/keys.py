"""API keys: generated here, shown once, stored only as SHA-256 (keys are 256 random bits, so a
fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidRequest, NotFound
from app.db.tables import ApiKey, new_id
from app.db.types import utcnow

SCOPES = ("read", "infer", "train", "admin")
KEY_PREFIX = "rbm_"
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, scopes: Iterable[str], name: str | None = None,
               tenant: str | None = None) -> tuple[ApiKey, str]:
    """Store a new key; returns the row and the plaintext key (the only time it exists). Keys
    with the same ``tenant`` share their datasets, jobs and models; by default a key is a tenant
    of its own (its id)."""
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in SCOPES]
    if not wanted or unknown:
        raise InvalidRequest(f"scopes must be a non-empty subset of {', '.join(SCOPES)}; got {wanted}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    if tenant is not None and not _TENANT.fullmatch(tenant):
        raise InvalidRequest(f"tenant must be 1-64 letters, digits, '.', '_' or '-'; got {tenant!r}")
    key_id = new_id()
    row = ApiKey(id=key_id, name=name, prefix=key[:12], key_hash=hash_key(key), scopes=wanted,
                 tenant=tenant or key_id)
    session.add(row)
    session.commit()
    return row, key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, key_id: str) -> ApiKey:
    """Revoke by id (idempotent). The row stays, so auth stays on after the last key is revoked."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound("key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return row


def find_active(session: Session, key: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)))


def any_key_exists(session: Session) -> bool:
    """Revoked keys count: revoking the last key must not silently open the server."""
    return session.scalar(select(ApiKey.id).limit(1)) is not None
