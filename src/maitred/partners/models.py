"""Partner table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from maitred.db.base import Base, Timestamp

DEFAULT_CONTRACT = "mozrest"  # what a partner declared without a contract speaks

PARTNER_KINDS = ("rms", "pos", "channel")


class Partner(Base):
    """A system on one of maitred's edges."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The API the partner speaks (`maitred.partners.contracts`); every call to it and every
    # route it calls are that contract's.
    contract: Mapped[str] = mapped_column(String(32), server_default=DEFAULT_CONTRACT)
    name: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the key this partner presents to maitred (Bearer); never the key itself.
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    base_url: Mapped[str | None] = mapped_column(Text)
    # Encrypted with the SecretBox: the token maitred presents when calling the partner.
    token_encrypted: Mapped[str | None] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    signing_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
