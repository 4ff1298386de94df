"""An apply file of two partners and a venue, the environment it needs, and readers that
snapshot what it wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from maitred.apply.service import apply_file, summarize
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.partners.models import Partner
from maitred.runtime import Runtime
from maitred.schema import Base
from maitred.security import SecretBox
from maitred.venues.models import Venue, VenueLink

ENV = {
    "ACME_RMS_KEY": "acme-rms-inbound-key-7c1f2a9e",
    "ACME_RMS_TOKEN": "acme-rms-outbound-token-5b8d3e1a",
    "ACME_POS_KEY": "acme-pos-inbound-key-2e6a9c4f",
    "ACME_POS_TOKEN": "acme-pos-outbound-token-9f3b7d2c",
}
SECRETS = tuple(ENV.values())

DOCUMENT = """\
# Two partners and the venue they share.
[[partners]]
id = "acme-rms"
kind = "rms"
name = "Acme reservations"
api_key = "${ACME_RMS_KEY}"
base_url = "http://127.0.0.1:9101"
token = "${ACME_RMS_TOKEN}"
webhook_url = "http://127.0.0.1:9101/webhooks/pos-order"

[[partners]]
id = "acme-pos"
kind = "pos"
api_key = "${ACME_POS_KEY}"
base_url = "http://127.0.0.1:9201"
token = "${ACME_POS_TOKEN}"

[[venues]]
id = "trattoria"
timezone = "Europe/Madrid"
rms = { partner = "acme-rms", venue_id = "your-venue-id" }
pos = { partner = "acme-pos", venue_id = "pos-venue-1" }
"""

# The same records as admin API calls: (path, body), with the environment expanded.
PUTS: list[tuple[str, dict[str, Any]]] = [
    (
        "/admin/partners/acme-rms",
        {
            "kind": "rms",
            "name": "Acme reservations",
            "api_key": ENV["ACME_RMS_KEY"],
            "base_url": "http://127.0.0.1:9101",
            "token": ENV["ACME_RMS_TOKEN"],
            "webhook_url": "http://127.0.0.1:9101/webhooks/pos-order",
        },
    ),
    (
        "/admin/partners/acme-pos",
        {
            "kind": "pos",
            "api_key": ENV["ACME_POS_KEY"],
            "base_url": "http://127.0.0.1:9201",
            "token": ENV["ACME_POS_TOKEN"],
        },
    ),
    (
        "/admin/venues/trattoria",
        {
            "timezone": "Europe/Madrid",
            "rms": {"partner": "acme-rms", "venue_id": "your-venue-id"},
            "pos": {"partner": "acme-pos", "venue_id": "pos-venue-1"},
        },
    ),
]


def write(tmp_path: Path, text: str = DOCUMENT, name: str = "maitred.toml") -> Path:
    """`text` as a file under `tmp_path`."""
    path = tmp_path / name
    path.write_text(text)
    return path


TABLES = [Base.metadata.tables[name] for name in ("partners", "venues", "venue_links")]


def raw_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every column of every partner, venue and link row, in a stable order."""
    engine = make_throwaway_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(select(table).order_by(*table.primary_key))
                ]
                for table in TABLES
            }
    finally:
        engine.dispose()


def normalized(url: str, box: SecretBox) -> dict[str, Any]:
    """What must agree however the records were written: no timestamps, no ciphertexts (they
    differ on every encryption), decrypted tokens instead."""
    engine: Engine = make_throwaway_engine(url)
    try:
        with Session(engine) as session:
            partners = [
                (
                    p.id,
                    p.kind,
                    p.name,
                    p.base_url,
                    p.webhook_url,
                    p.api_key_hash,
                    box.decrypt(p.token_encrypted),
                    p.signing_secret_encrypted is not None,
                )
                for p in session.scalars(select(Partner).order_by(Partner.id))
            ]
            venues = [
                (v.id, v.name, v.timezone)
                for v in session.scalars(select(Venue).order_by(Venue.id))
            ]
            links = sorted(
                (link.venue_id, link.partner_id, link.role, link.external_id)
                for link in session.scalars(select(VenueLink))
            )
    finally:
        engine.dispose()
    return {"partners": partners, "venues": venues, "links": links}


def applied(settings: Settings, path: Path, *, dry_run: bool = False) -> str:
    """Apply `path` with a runtime of its own (as the CLI does); the one-line summary."""
    runtime = Runtime.build(settings)
    try:
        return summarize(path, apply_file(runtime, path, dry_run=dry_run), dry_run=dry_run)
    finally:
        runtime.writer.stop()
        runtime.db.dispose()
