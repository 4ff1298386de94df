"""One attempt: sign, send the exact stored bytes, and turn whatever happened into a result."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import aiohttp
from standardwebhooks import Webhook

from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import rules, signing
from maitred.deliveries.claims import DROPPED, EXPIRED_TOTAL, ClaimedDelivery
from maitred.deliveries.models import EXPIRED, PENDING
from maitred.deliveries.results import AttemptResult
from maitred.monitoring.service import TraceRecord
from maitred.security import SecretBox, redact_body, redact_headers, scrub


@dataclass(frozen=True)
class Credentials:
    """What we present to one partner, decrypted."""

    token: str | None
    signing_secret: str | None

    def secrets(self) -> list[str]:
        """Values that must never be stored."""
        return [s for s in (self.token, self.signing_secret) if s]


class CredentialCache:
    """Decrypts each stored ciphertext once per process (Fernet costs more than the lookup)."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._plain: dict[str, str | None] = {}

    def _decrypt(self, ciphertext: str | None) -> str | None:
        if ciphertext is None:
            return None
        if ciphertext not in self._plain:
            self._plain[ciphertext] = self._box.decrypt(ciphertext)
        return self._plain[ciphertext]

    def get(self, delivery: ClaimedDelivery) -> Credentials:
        """The credentials for `delivery`'s partner."""
        return Credentials(
            token=self._decrypt(delivery.token_encrypted),
            signing_secret=self._decrypt(delivery.secret_encrypted),
        )


def build_headers(delivery: ClaimedDelivery, credentials: Credentials) -> dict[str, str]:
    """Bearer token, content type and Standard Webhooks headers for one attempt."""
    # Wall time, not the process clock: the receiver checks this against its own real clock
    # (Standard Webhooks allows ±5 min), and a test-speed clock would make it "too new".
    sent_at = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,  # stable across retries, redeliveries, replays
        "webhook-timestamp": str(int(sent_at.timestamp())),
    }
    if credentials.signing_secret:
        headers["webhook-signature"] = Webhook(credentials.signing_secret).sign(
            delivery.message_id, sent_at, delivery.body
        )
        body = delivery.body.encode()
        headers |= signing.extra_headers(delivery.kind, body, credentials.signing_secret)
    if credentials.token:
        headers["Authorization"] = f"Bearer {credentials.token}"
    return headers


@dataclass
class _Outcome:
    status: int | None = None
    body: bytes | None = None
    retry_after: str | None = None
    error_class: str | None = None
    error: str | None = None
    timed_out: bool = False


async def _post(
    http: aiohttp.ClientSession, delivery: ClaimedDelivery, headers: dict[str, str], limit: int
) -> _Outcome:
    try:
        async with http.request(
            delivery.method,
            delivery.url,
            data=delivery.body.encode(),
            headers=headers,
            allow_redirects=False,
        ) as response:
            # Read one byte over the limit so truncation is visible, never the whole body.
            body = await response.content.read(limit + 1)
            return _Outcome(
                status=response.status, body=body, retry_after=response.headers.get("Retry-After")
            )
    except TimeoutError as exc:
        return _Outcome(error_class="TimeoutError", error=str(exc) or "timed out", timed_out=True)
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return _Outcome(error_class=type(exc).__name__, error=str(exc) or type(exc).__name__)


def _clean(body: bytes | None, limit: int, secrets: list[str]) -> str | None:
    if body is None:
        return None
    text = body[:limit].decode("utf-8", errors="replace").replace("\x00", "")
    return scrub(text, secrets)


async def attempt(
    http: aiohttp.ClientSession,
    delivery: ClaimedDelivery,
    *,
    credentials: Credentials,
    settings: Settings,
    worker_id: str,
) -> AttemptResult:
    """Send `delivery` once and decide what comes next; a delivery past its deadline is
    dropped unsent, and never retried at or after it (docs/decisions/0016)."""
    if delivery.expires_at is not None and now() >= delivery.expires_at:
        return _dropped(delivery, settings, worker_id)
    headers = build_headers(delivery, credentials)
    started_at = now()
    started = time.perf_counter()
    outcome = await _post(http, delivery, headers, settings.response_body_limit)
    duration_ms = (time.perf_counter() - started) * 1000
    finished_at = now()
    verdict = rules.classify(outcome.status, timed_out=outcome.timed_out)
    decision = rules.decide(
        verdict,
        attempt=delivery.scheduled_attempt,
        policy=rules.RetryPolicy.from_settings(settings),
        retry_after=rules.parse_retry_after(outcome.retry_after, finished_at),
        rand=random.random(),
    )
    decision = _within_deadline(decision, delivery.expires_at, finished_at)
    secrets = credentials.secrets()
    error = outcome.error or (None if outcome.status is None else _status_error(outcome.status))
    error = scrub(error, secrets) if error else None
    return AttemptResult(
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        attempt_token=delivery.attempt_token,
        number=delivery.attempt,
        worker_id=worker_id,
        started_at=started_at,
        finished_at=finished_at,
        duration_ms=duration_ms,
        status_code=outcome.status,
        error_class=outcome.error_class or rules.error_class(verdict),
        error=error,
        response_body=_clean(outcome.body, settings.response_body_limit, secrets),
        decision=decision,
        trace=_trace(delivery, headers, outcome, settings, secrets, error, started_at, duration_ms),
        kind=delivery.kind,
    )


def _within_deadline(
    decision: rules.Decision, expires_at: datetime | None, finished_at: datetime
) -> rules.Decision:
    """A retry that would come at or after the delivery's deadline expires it instead."""
    if expires_at is None or decision.state != PENDING:
        return decision
    if finished_at + timedelta(seconds=decision.delay or 0.0) < expires_at:
        return decision
    return replace(decision, state=EXPIRED, delay=None)


def _dropped(delivery: ClaimedDelivery, settings: Settings, worker_id: str) -> AttemptResult:
    """The result of not sending a delivery whose deadline passed while it waited for a slot."""
    at = now()
    EXPIRED_TOTAL.inc()
    return AttemptResult(
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        attempt_token=delivery.attempt_token,
        number=delivery.attempt,
        worker_id=worker_id,
        started_at=at,
        finished_at=at,
        duration_ms=0.0,
        status_code=None,
        error_class="Expired",
        error=DROPPED,
        response_body=None,
        decision=rules.Decision(state=EXPIRED),
        trace=_trace(delivery, {}, _Outcome(), settings, [], DROPPED, at, 0.0),
        kind=delivery.kind,
    )


def _trace(
    delivery: ClaimedDelivery,
    headers: dict[str, str],
    outcome: _Outcome,
    settings: Settings,
    secrets: list[str],
    error: str | None,
    started_at: datetime,
    duration_ms: float,
) -> TraceRecord:
    """The outbound trace of one attempt: credentials redacted, bodies redacted and truncated."""
    response = redact_body(outcome.body, settings.trace_body_limit)
    return TraceRecord(
        at=started_at,
        direction="outbound",
        method=delivery.method,
        url=delivery.url,
        status_code=outcome.status,
        duration_ms=duration_ms,
        partner_id=delivery.partner_id,
        venue_id=delivery.venue_id,
        request_headers=redact_headers(headers),
        request_body=redact_body(delivery.body, settings.trace_body_limit),
        response_body=scrub(response, secrets) if response is not None else None,
        error=error,
        correlation_id=delivery.correlation_id,
        delivery_id=delivery.id,
    )


def _status_error(status: int) -> str | None:
    return None if 200 <= status < 300 else f"HTTP {status}"
