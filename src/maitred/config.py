"""Settings, read once from the environment (`MAITRED_*`) and passed down explicitly."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from maitred.errors import SetupError
from maitred.netguard import parse_networks

# About three days: 5 s, 30 s, 2 min, 5 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 16 h, 24 h (~68 h).
DEFAULT_RETRY_SCHEDULE = [5, 30, 120, 300, 1800, 3600, 7200, 14400, 28800, 43200, 57600, 86400]
MIN_ORDER_RETENTION_DAYS = 45  # spec: closed orders retrievable for 45 days
# The admin token is a Bearer secret like a partner's key: the same minimum (partners.schemas).
MIN_TOKEN_LENGTH = 16
PREFIX = "MAITRED_"
# Settings whose value is never repeated in an error message.
_SECRET_SETTINGS = frozenset({"admin_token", "secret_key"})


class Settings(BaseSettings):
    """Everything an operator can configure. Each field is `MAITRED_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="MAITRED_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///maitred.db",
        description="SQLAlchemy URL; a SQLite file by default, postgresql+psycopg://… for scale.",
    )
    data_dir: Path = Field(default=Path("."), description="Where the secret key file lives.")
    secret_key: str | None = Field(
        default=None,
        description="Fernet key encrypting outbound tokens and signing secrets at rest; "
        "generated into data_dir/maitred.key when unset.",
    )
    admin_token: str | None = Field(
        default=None,
        min_length=MIN_TOKEN_LENGTH,
        description="Bearer token for /admin (at least 16 characters: a right token is never "
        "rate limited, so it must be too long to guess); the admin API is closed when unset.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=1_048_576, description="Inbound bodies above this: 413.")
    max_header_bytes: int = Field(
        default=16_384,
        ge=1024,
        description="Request line plus headers above this: 431, before any of it is kept.",
    )
    request_read_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a client has to send a whole request (head and body), from the "
        "connection's start or the next request's first byte: then a head still unfinished "
        "gets 408 and its connection is closed, and a body still arriving is cut off unprocessed.",
    )
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxies (addresses or CIDRs, comma-separated; `*` for any) whose "
        "X-Forwarded-For / X-Forwarded-Proto set the client address. Empty: the peer's own.",
    )
    unauthenticated_trace_rate: float = Field(
        default=10.0,
        ge=0,
        description="Traces/s per process of requests without a valid key (burst 10 s worth); "
        "the rest are counted in /metrics only.",
    )
    unauthenticated_trace_keep: int = Field(
        default=10_000, ge=0, description="Newest traces of requests without a valid key kept."
    )
    rate_limit: float = Field(
        default=10_000.0, ge=0, description="Requests/s per partner, per process (0: off)."
    )
    rate_limit_burst: int = Field(default=20_000, ge=1, description="A partner's burst allowance.")
    auth_failure_limit: float = Field(
        default=10.0,
        ge=0,
        description="Failed authentications/s per client address before it gets 429 (0: off).",
    )
    auth_failure_burst: int = Field(default=100, ge=1, description="Failures allowed at once.")
    log_format: str = Field(default="console", description="console or json")
    log_level: str = "info"
    opentelemetry: bool = Field(
        default=False,
        description="Let FastAPI emit OpenTelemetry spans, metrics and logs for each HTTP request "
        "(to the providers the environment configures). Off: maitred's own traces and /metrics "
        "cover the same ground, and the check alone cost ~8% of an ingest's CPU.",
    )

    # Delivery engine
    retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [float(x) for x in DEFAULT_RETRY_SCHEDULE]
    )
    retry_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplies every retry delay (schedule, Retry-After, 429/timeout floor). "
        "Tests compress three days into seconds with it.",
    )
    retry_jitter: float = Field(default=0.2, ge=0, lt=1)
    slow_retry_floor: float = Field(default=60.0, description="Minimum delay after 429/timeout.")
    delivery_timeout: float = Field(default=10.0, description="Seconds per outbound attempt.")
    lease_seconds: float = Field(default=30.0, description="How long a claim lasts unrenewed.")
    poll_interval: float = Field(default=0.5, description="Idle worker poll period, seconds.")
    claim_batch: int = 64
    worker_concurrency: int = Field(default=64, description="In-flight sends per worker.")
    endpoint_concurrency: int = Field(
        default=32, description="In-flight sends per endpoint per worker (docs/decisions/0006)."
    )
    breaker_threshold: int = Field(default=5, description="Consecutive failures that open it.")
    breaker_cooldown: float = Field(default=30.0, description="Seconds the breaker stays open.")
    response_body_limit: int = Field(default=2048, description="Bytes of a response we keep.")
    trace_body_limit: int = Field(default=4096, description="Bytes of a traced body we keep.")
    partner_cache_seconds: float = Field(default=5.0, description="Auth cache lifetime.")
    allow_loopback: bool = Field(
        default=False, description="Let partner URLs point at 127.0.0.0/8 and ::1 (tests, demo)."
    )
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Private networks partner URLs may reach (comma-separated CIDRs, e.g. "
        "10.20.0.0/16); everything private, link-local or reserved is refused otherwise.",
    )
    clock_speed: float = Field(
        default=1.0, gt=0, description="Runs the process clock faster (tests only)."
    )
    worker_id: str | None = Field(default=None, description="Stable worker name; random if unset.")

    # Table registry
    tables_refresh_interval: float = Field(
        default=3600.0,
        ge=0,
        description="Seconds between automatic fetches of each venue's tables from its RMS and "
        "POS (0: only when the venue's links change, and on a first pos-tables request).",
    )

    # POS reconciliation and order retention
    reconcile_interval: float = Field(
        default=300.0, gt=0, description="Seconds between the worker's POS reconcile sweeps."
    )
    reconcile_window_hours: float = Field(
        default=24.0, gt=0, description="How far back closed POS orders are pulled."
    )
    order_retention_days: float = Field(
        default=60.0,
        description="Closed and voided POS orders older than this are purged (at least 45).",
    )

    # Channel orders (docs/decisions/0016)
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        pattern=r"^https?://\S+$",
        description="maitred's own URL as its partners reach it: the base of the callbackUrl "
        "and the order URLs its webhooks carry.",
    )
    channel_wait_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="How long a channel's price or commit waits for the POS's callback before "
        "the order goes to ERROR with a TIMEOUT partner error.",
    )
    channel_poll_seconds: float | None = Field(
        default=None,
        gt=0,
        description="How often a waiting price or commit re-reads its order when no wake-up "
        "came (default 1.0 on PostgreSQL, which notifies across processes, 0.1 on SQLite).",
    )
    channel_fire_ttl: float = Field(
        default=600.0,
        gt=0,
        description="Seconds a fire webhook may still be sent when the commit had no lead time.",
    )
    channel_heartbeat_seconds: float = Field(
        default=900.0,
        gt=0,
        description="How often each store's POS is asked whether the store takes orders "
        "(the store heartbeat; the contract asks for every 15 minutes).",
    )
    channel_heartbeat_misses: int = Field(
        default=2,
        ge=1,
        description="A store whose POS answered no heartbeat (and reported nothing) for this "
        "many heartbeat periods counts as offline: its orders are refused at pricing.",
    )

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _parse_schedule(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_networks", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # ValueError names the bad entry
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies_parse(cls, value: list[str]) -> list[str]:
        parse_networks(v for v in value if v != "*")  # ValueError names the bad entry
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: str | None) -> str | None:
        if not value:  # empty: unset, as it always was
            return None
        from maitred.security import check_fernet_key

        try:
            check_fernet_key(value)
        except ValueError as exc:
            raise ValueError(
                "must be a Fernet key: 32 bytes, url-safe base64 (44 characters)"
            ) from exc
        return value

    @field_validator("order_retention_days")
    @classmethod
    def _retention_covers_contract(cls, value: float) -> float:
        # spec: closed orders stay retrievable for 45 days (contracts §1.2).
        if value < MIN_ORDER_RETENTION_DAYS:
            raise ValueError(f"must be at least {MIN_ORDER_RETENTION_DAYS} days")
        return value

    @property
    def is_sqlite(self) -> bool:
        """True when the configured database is a SQLite file."""
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use; SetupError naming
    each invalid variable and its rule."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SetupError(describe_invalid(exc)) from exc


def describe_invalid(exc: ValidationError) -> str:
    """One `MAITRED_NAME=value: rule` line per invalid setting (secret values left out)."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "settings"
        variable = PREFIX + name.upper()
        value = error.get("input")
        shown = "" if name in _SECRET_SETTINGS or not isinstance(value, str) else f"={value}"
        rule = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{variable}{shown}: {rule}")
    return "invalid settings:\n" + "\n".join(f"  {line}" for line in lines)
