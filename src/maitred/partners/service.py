"""Partner rules that need data: authenticating callers and reading partner credentials."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from maitred.partners.models import Partner
from maitred.security import hash_key, keys_match

MAX_KEY_LENGTH = 512


@dataclass(frozen=True)
class Caller:
    """The authenticated partner behind an inbound request."""

    partner_id: str
    kind: str


class PartnerDirectory:
    """Answers "which partner holds this key?" from memory, refreshed every few seconds so
    authentication costs no database round trip on the hot path."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._lock = threading.Lock()
        self._by_hash: dict[str, tuple[str, Caller]] = {}
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        """Forget the cache (after this process changed a partner)."""
        with self._lock:
            self._loaded_at = float("-inf")

    def _refresh(self) -> None:
        with self._sessions() as session:
            rows = session.execute(
                select(Partner.id, Partner.kind, Partner.api_key_hash).where(
                    Partner.api_key_hash.is_not(None)
                )
            ).all()
        self._by_hash = {
            str(h): (str(h), Caller(partner_id=pid, kind=kind)) for pid, kind, h in rows
        }
        self._loaded_at = time.monotonic()

    def authenticate(self, key: str | None) -> Caller | None:
        """The partner whose stored key hash matches `key`, compared in constant time."""
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        presented = hash_key(key)
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                self._refresh()
            found = self._by_hash.get(presented)
        if found is None:
            return None
        stored, caller = found
        return caller if keys_match(presented, stored) else None
