"""One attempt: sign, send the exact stored bytes, and turn whatever happened into a result.

What every attempt to one partner shares is prepared once per process (`Prepared`): the fixed
headers, the Standard Webhooks HMAC keyed with the decoded secret (copied per message instead of
re-keyed), the secrets to scrub from what is stored, and the redacted trace headers as a JSON
template. An attempt then costs one HMAC over its bytes and a few small strings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import aiohttp

from maitred.clock import now
from maitred.config import Settings
from maitred.deliveries import rules, signing
from maitred.deliveries.claims import DROPPED, EXPIRED_TOTAL, ClaimedDelivery
from maitred.deliveries.models import EXPIRED, PENDING
from maitred.deliveries.results import AttemptResult
from maitred.monitoring.service import TraceRecord
from maitred.security import SecretBox, redact_body, redact_headers, scrub

_SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
# Stand-ins for the per-message header values in the trace template (plain ASCII, so JSON
# encoding leaves them as they are; never a message id or a timestamp).
_ID_MARK, _TS_MARK = "<<webhook-id>>", "<<webhook-timestamp>>"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What we present to one partner, decrypted."""

    token: str | None
    signing_secret: str | None

    def secrets(self) -> list[str]:
        """Values that must never be stored."""
        return [s for s in (self.token, self.signing_secret) if s]


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (`whsec_` + base64), decoded as the
    standardwebhooks library decodes it."""
    if secret.startswith(_SECRET_PREFIX):
        secret = secret[len(_SECRET_PREFIX) :]
    return base64.b64decode(secret + "==")


class Prepared:
    """Headers, signing state and scrubbing rules for every attempt to one partner."""

    __slots__ = ("_authorization", "_mac", "_secret", "_trace_headers", "secrets")

    def __init__(self, credentials: Credentials) -> None:
        self.secrets = credentials.secrets()
        self._authorization = f"Bearer {credentials.token}" if credentials.token else None
        secret = self._secret = credentials.signing_secret
        self._mac = hmac.new(signing_key(secret), digestmod=hashlib.sha256) if secret else None
        # The redacted headers of one attempt as JSON, built once with stand-ins for the values
        # that change per message (the redaction rules are applied here, to the real names).
        template = redact_headers(self._headers(_ID_MARK, _TS_MARK, b""))
        self._trace_headers = json.dumps(template)

    def _headers(self, message_id: str, timestamp: str, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,  # stable across retries, redeliveries, replays
            "webhook-timestamp": timestamp,
        }
        if self._mac is not None:
            mac = self._mac.copy()
            mac.update(f"{message_id}.{timestamp}.".encode())
            mac.update(body)
            headers["webhook-signature"] = "v1," + base64.b64encode(mac.digest()).decode()
        if self._authorization is not None:
            headers["Authorization"] = self._authorization
        return headers

    def headers(self, message_id: str, body: bytes, kind: str = "") -> dict[str, str]:
        """Bearer token, content type and Standard Webhooks headers for one attempt, and the
        headers a contract signs its kinds of delivery with (`deliveries.signing`)."""
        # Wall time, not the process clock: the receiver checks this against its own real clock
        # (Standard Webhooks allows ±5 min), and a test-speed clock would make it "too new".
        headers = self._headers(message_id, str(int(time.time())), body)
        if self._secret is not None and kind:
            headers |= signing.extra_headers(kind, body, self._secret)
        return headers

    def trace_headers(self, headers: dict[str, str]) -> str:
        """The redacted headers of an attempt as JSON (from the template: no dict round trip)."""
        text = self._trace_headers.replace(_ID_MARK, json.dumps(headers["webhook-id"])[1:-1])
        return text.replace(_TS_MARK, headers["webhook-timestamp"])


class CredentialCache:
    """Decrypts each stored ciphertext pair once per process (Fernet costs more than the lookup)
    and keeps what is prepared from it."""

    def __init__(self, box: SecretBox) -> None:
        self._box = box
        self._prepared: dict[tuple[str | None, str | None], Prepared] = {}

    def _decrypt(self, ciphertext: str | None) -> str | None:
        return None if ciphertext is None else self._box.decrypt(ciphertext)

    def get(self, delivery: ClaimedDelivery) -> Credentials:
        """The credentials for `delivery`'s partner."""
        return Credentials(
            token=self._decrypt(delivery.token_encrypted),
            signing_secret=self._decrypt(delivery.secret_encrypted),
        )

    def prepared(self, delivery: ClaimedDelivery) -> Prepared:
        """What every attempt with `delivery`'s credentials shares."""
        key = (delivery.token_encrypted, delivery.secret_encrypted)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = Prepared(self.get(delivery))
        return prepared


def build_headers(delivery: ClaimedDelivery, credentials: Credentials) -> dict[str, str]:
    """Bearer token, content type and Standard Webhooks headers for one attempt."""
    return Prepared(credentials).headers(delivery.message_id, delivery.body.encode(), delivery.kind)


@dataclass(slots=True)
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
            data=delivery.payload,
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


@dataclass(frozen=True, slots=True)
class Limits:
    """What an attempt needs from the settings, read once per dispatcher."""

    policy: rules.RetryPolicy
    response_body_limit: int
    trace_body_limit: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The limits `settings` give."""
        return cls(
            policy=rules.RetryPolicy.from_settings(settings),
            response_body_limit=settings.response_body_limit,
            trace_body_limit=settings.trace_body_limit,
        )


async def attempt(
    http: aiohttp.ClientSession,
    delivery: ClaimedDelivery,
    *,
    prepared: Prepared,
    limits: Limits,
    worker_id: str,
) -> AttemptResult:
    """Send `delivery` once and decide what comes next; a delivery past its deadline is
    dropped unsent, and never retried at or after it (docs/decisions/0016)."""
    if delivery.expires_at is not None and now() >= delivery.expires_at:
        return _dropped(delivery, prepared, limits, worker_id)
    headers = prepared.headers(delivery.message_id, delivery.payload, delivery.kind)
    started_at = now()
    started = time.perf_counter()
    outcome = await _post(http, delivery, headers, limits.response_body_limit)
    duration_ms = (time.perf_counter() - started) * 1000
    finished_at = now()
    verdict = rules.classify(outcome.status, timed_out=outcome.timed_out)
    retry_after = outcome.retry_after
    decision = rules.decide(
        verdict,
        attempt=delivery.scheduled_attempt,
        policy=limits.policy,
        retry_after=None
        if retry_after is None
        else rules.parse_retry_after(retry_after, finished_at),
        rand=random.random(),
    )
    decision = _within_deadline(decision, delivery.expires_at, finished_at)
    secrets = prepared.secrets
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
        response_body=_clean(outcome.body, limits.response_body_limit, secrets),
        decision=decision,
        trace=_trace(delivery, outcome, limits, secrets, error, started_at, duration_ms),
        kind=delivery.kind,
        trace_headers=prepared.trace_headers(headers),
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


def _dropped(
    delivery: ClaimedDelivery, prepared: Prepared, limits: Limits, worker_id: str
) -> AttemptResult:
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
        trace=_trace(delivery, _Outcome(), limits, prepared.secrets, DROPPED, at, 0.0),
        kind=delivery.kind,
        trace_headers="{}",
    )


def _trace(
    delivery: ClaimedDelivery,
    outcome: _Outcome,
    limits: Limits,
    secrets: list[str],
    error: str | None,
    started_at: datetime,
    duration_ms: float,
) -> TraceRecord:
    """The outbound trace of one attempt: credentials redacted, bodies redacted and truncated
    (its headers travel as JSON beside it, `AttemptResult.trace_headers`)."""
    response = redact_body(outcome.body, limits.trace_body_limit)
    return TraceRecord(
        at=started_at,
        direction="outbound",
        method=delivery.method,
        url=delivery.url,
        status_code=outcome.status,
        duration_ms=duration_ms,
        partner_id=delivery.partner_id,
        venue_id=delivery.venue_id,
        request_body=redact_body(delivery.body, limits.trace_body_limit),
        response_body=scrub(response, secrets) if response is not None else None,
        error=error,
        correlation_id=delivery.correlation_id,
        delivery_id=delivery.id,
    )


def _status_error(status: int) -> str | None:
    return None if 200 <= status < 300 else f"HTTP {status}"
