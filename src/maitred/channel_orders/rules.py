"""The channel-order lifecycle as an explicit state machine (seed 004; decisions 13 and 16).

    CREATED ─price cb─▶ PRICED ─commit cb─▶ COMMITTED ─fire cb or lead time─▶ PREPARING
            ─event─▶ PREPARED ─event─▶ DONE
    CANCELED and ERROR: exits from any state that is not final.

Pure: no I/O, no clock. `judge(lifecycle, report)` takes an order's `Lifecycle` and one `Report`
(a channel's request, a POS's callback or event, or one of the hub's timers) and returns a
`Ruling`: APPLY (with the new lifecycle), IGNORE (not advancing: change nothing, answer the
current state, trace it) or REFUSE (with the reason; the caller answers 409).

The status only moves forward: a report applies when it reaches further than the order stands,
and a final status (DONE, CANCELED, ERROR) never changes. A POS report may skip statuses it
implies (a fire callback while the commit callback is still on its way), so reports that
overtake each other in transit end in the same status (tests/channel_orders state the property).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from maitred.channel_orders.types import PartnerError, PartnerErrorCode


class ChannelOrderStatus(StrEnum):
    """Where an order stands in its lifecycle."""

    CREATED = "created"
    PRICED = "priced"
    COMMITTED = "committed"
    PREPARING = "preparing"
    PREPARED = "prepared"
    DONE = "done"
    CANCELED = "canceled"
    ERROR = "error"


S = ChannelOrderStatus
FORWARD = (S.CREATED, S.PRICED, S.COMMITTED, S.PREPARING, S.PREPARED, S.DONE)
RANK = {status: rank for rank, status in enumerate(FORWARD)}
EXITS = frozenset({S.CANCELED, S.ERROR})
FINAL = frozenset({S.DONE, *EXITS})
# spec (contracts §2.6): the lead time (fireOrderInSeconds) is 0-100000 seconds or null.
MAX_LEAD_TIME = 100_000


class Leg(StrEnum):
    """A request maitred sends the POS by webhook, answered on its own callback."""

    PRICE = "price"
    COMMIT = "commit"
    FIRE = "fire"


# What each leg's callback may report, success first.
OUTCOMES = {
    Leg.PRICE: (S.PRICED, S.ERROR),
    Leg.COMMIT: (S.COMMITTED, S.ERROR),
    Leg.FIRE: (S.PREPARING, S.ERROR),
}
# What the POS may report on its order-event endpoint (a resent COMMITTED or PREPARING included).
EVENT_STATUSES = frozenset({S.COMMITTED, S.PREPARING, S.PREPARED, S.DONE, S.CANCELED, S.ERROR})


class Source(StrEnum):
    """Where a report comes from."""

    PRICE_REQUEST = "price_request"  # the channel creates or re-prices the order
    COMMIT_REQUEST = "commit_request"
    FIRE_REQUEST = "fire_request"
    CANCEL_REQUEST = "cancel_request"
    CALLBACK = "callback"  # the POS answers a price, commit or fire webhook
    ORDER_EVENT = "order_event"  # the POS reports progress
    TIMEOUT = "timeout"  # the bounded wait for a price or commit callback ran out
    LEAD_TIME = "lead_time"  # the lead time the commit gave ran out


@dataclass(frozen=True)
class Report:
    """One thing that happened to an order. Build it with the class methods."""

    source: Source
    status: ChannelOrderStatus | None = None  # what a callback or event reports
    leg: Leg | None = None  # the callback's leg, or the wait that ran out
    lead_time: int | None = None  # a commit request's lead time in seconds (None: hold)
    errors: tuple[PartnerError, ...] = ()

    @classmethod
    def price_request(cls) -> Report:
        """The channel creates the order or prices it again."""
        return cls(Source.PRICE_REQUEST)

    @classmethod
    def commit_request(cls, lead_time: int | None) -> Report:
        """The channel commits with a lead time in seconds (None: hold until fired)."""
        return cls(Source.COMMIT_REQUEST, lead_time=lead_time)

    @classmethod
    def fire_request(cls) -> Report:
        """The channel fires the order to the kitchen now."""
        return cls(Source.FIRE_REQUEST)

    @classmethod
    def cancel_request(cls) -> Report:
        """The channel (the guest) cancels the order."""
        return cls(Source.CANCEL_REQUEST)

    @classmethod
    def callback(
        cls, leg: Leg, status: ChannelOrderStatus, errors: tuple[PartnerError, ...] = ()
    ) -> Report:
        """The POS answers the `leg` webhook."""
        return cls(Source.CALLBACK, status=status, leg=leg, errors=errors)

    @classmethod
    def event(cls, status: ChannelOrderStatus, errors: tuple[PartnerError, ...] = ()) -> Report:
        """The POS reports the order's progress."""
        return cls(Source.ORDER_EVENT, status=status, errors=errors)

    @classmethod
    def timeout(cls, leg: Leg) -> Report:
        """The bounded wait for the `leg` callback ran out."""
        return cls(Source.TIMEOUT, leg=leg)

    @classmethod
    def lead_time_over(cls) -> Report:
        """The commit's lead time ran out: the POS has fired the order by itself."""
        return cls(Source.LEAD_TIME)


@dataclass(frozen=True)
class Lifecycle:
    """An order's state as the rules see it. `Lifecycle()` is an order not yet priced."""

    status: ChannelOrderStatus = S.CREATED
    awaiting: frozenset[Leg] = frozenset()  # webhooks sent whose callback has not come
    commit_asked: bool = False  # the POS holds the order: progress reports may follow
    lead_time: int | None = None  # the lead time the commit carried, in seconds
    errors: tuple[PartnerError, ...] = ()  # why the order is in ERROR

    @property
    def final(self) -> bool:
        """DONE, CANCELED or ERROR: nothing changes it any more."""
        return self.status in FINAL


class Verdict(StrEnum):
    """What a report does to an order."""

    APPLY = "apply"  # takes effect: store `Ruling.lifecycle`, send `Ruling.send`
    IGNORE = "ignore"  # not advancing: change nothing, answer the current state, trace it
    REFUSE = "refuse"  # not allowed in this state: answer 409 with the reason


@dataclass(frozen=True)
class Ruling:
    """The verdict on one report, the lifecycle after it, and the webhook it calls for."""

    verdict: Verdict
    lifecycle: Lifecycle
    reason: str
    send: Leg | None = None  # the webhook to send the POS
    previous: ChannelOrderStatus = S.CREATED  # the status before the report

    @property
    def changed(self) -> bool:
        """Whether the status moved."""
        return self.lifecycle.status != self.previous


def judge(state: Lifecycle, report: Report) -> Ruling:
    """The ruling on `report` for an order in `state`."""
    source = report.source
    if source is Source.PRICE_REQUEST:
        return _price_request(state)
    if source is Source.COMMIT_REQUEST:
        return _commit_request(state, report.lead_time)
    if source is Source.FIRE_REQUEST:
        return _fire_request(state)
    if source is Source.CANCEL_REQUEST:
        if state.final:
            return _ignore(state, f"the order is already {state.status.name}")
        return _reach(state, S.CANCELED, (), "canceled by the channel")
    if source is Source.TIMEOUT:
        return _timeout(state, report.leg)
    if source is Source.LEAD_TIME:
        return _lead_time_over(state)
    if report.status is None:
        return _refuse(state, "a callback or event must report a status")
    if source is Source.CALLBACK:
        return _callback(state, report.leg, report.status, report.errors)
    return _event(state, report.status, report.errors)


def _price_request(state: Lifecycle) -> Ruling:
    if state.status not in (S.CREATED, S.PRICED):
        return _refuse(state, f"an order {state.status.name} can no longer be priced")
    if Leg.COMMIT in state.awaiting:
        return _refuse(state, "the order is being committed")
    # A re-price replaces a pending one: the next price callback answers the latest request.
    awaiting = state.awaiting | {Leg.PRICE}
    return _apply(state, replace(state, awaiting=awaiting), "price asked", Leg.PRICE)


def _commit_request(state: Lifecycle, lead_time: int | None) -> Ruling:
    if lead_time is not None and not 0 <= lead_time <= MAX_LEAD_TIME:
        return _refuse(state, f"a lead time is 0-{MAX_LEAD_TIME} seconds or none")
    if state.status in EXITS:
        return _refuse(state, f"the order is {state.status.name}")
    if Leg.COMMIT in state.awaiting or RANK[state.status] >= RANK[S.COMMITTED]:
        return _ignore(state, "the order is already committed or being committed")
    if state.status is S.CREATED:
        return _refuse(state, "the order has no price yet")
    if Leg.PRICE in state.awaiting:
        return _refuse(state, "the order is being priced again")
    after = replace(state, awaiting=frozenset({Leg.COMMIT}), commit_asked=True, lead_time=lead_time)
    return _apply(state, after, "commit asked", Leg.COMMIT)


def _fire_request(state: Lifecycle) -> Ruling:
    if state.status in EXITS:
        return _refuse(state, f"the order is {state.status.name}")
    if RANK[state.status] >= RANK[S.PREPARING]:
        # decision 16: a fire after PREPARING changes nothing and answers the current state.
        return _ignore(state, f"the order is already {state.status.name}")
    if state.status is not S.COMMITTED:
        return _refuse(state, "the order is not committed yet")
    if Leg.FIRE in state.awaiting:
        return _ignore(state, "the order has been fired already")
    # decision 16: fire wins over the lead time; the timer stays and is ignored once PREPARING.
    after = replace(state, awaiting=state.awaiting | {Leg.FIRE})
    return _apply(state, after, "fire asked", Leg.FIRE)


def _callback(
    state: Lifecycle, leg: Leg | None, status: ChannelOrderStatus, errors: tuple[PartnerError, ...]
) -> Ruling:
    if leg is None:
        return _refuse(state, "a callback names its leg")
    if status not in OUTCOMES[leg]:
        allowed = " or ".join(s.name for s in OUTCOMES[leg])
        return _refuse(state, f"a {leg} callback reports {allowed}, not {status.name}")
    what = f"{leg} callback"
    if state.final:
        return _ignore(state, f"{what}: the order is already {state.status.name}")
    if leg is Leg.PRICE:
        if Leg.PRICE not in state.awaiting:
            return _ignore(state, f"{what}: no price request is waiting (duplicate or late)")
        return _reach(state, status, errors, what)
    if not state.commit_asked:
        return _refuse(state, f"a {what} for an order never committed")
    return _report(state, status, errors, what, leg)


def _event(
    state: Lifecycle, status: ChannelOrderStatus, errors: tuple[PartnerError, ...]
) -> Ruling:
    if status not in EVENT_STATUSES:
        return _refuse(state, f"an order event cannot report {status.name}")
    if state.final:
        return _ignore(state, f"order event: the order is already {state.status.name}")
    if status not in EXITS and not state.commit_asked:
        return _refuse(state, f"{status.name} reported for an order never committed")
    return _report(state, status, errors, "order event")


def _timeout(state: Lifecycle, leg: Leg | None) -> Ruling:
    if leg not in (Leg.PRICE, Leg.COMMIT):
        return _refuse(state, "only a price or commit request has a bounded wait")
    if state.final or leg not in state.awaiting:
        return _ignore(state, f"the {leg} callback came first")
    reason = PartnerError(PartnerErrorCode.TIMEOUT, f"the POS did not answer the {leg} in time")
    return _reach(state, S.ERROR, (reason,), f"{leg} wait ran out")


def _lead_time_over(state: Lifecycle) -> Ruling:
    if not state.commit_asked or state.lead_time is None:
        return _refuse(state, "the order was not committed with a lead time")
    # decision 16: the POS fired the order itself; no fire webhook is sent for a timer.
    return _report(state, S.PREPARING, (), "lead time ran out")


def _report(
    state: Lifecycle,
    status: ChannelOrderStatus,
    errors: tuple[PartnerError, ...],
    what: str,
    leg: Leg | None = None,
) -> Ruling:
    """A POS report (or the lead time): applies only when it reaches further than `state`."""
    if state.final:
        return _ignore(state, f"{what}: the order is already {state.status.name}")
    if status in EXITS:
        if leg is not None and RANK[state.status] >= RANK[OUTCOMES[leg][0]]:
            # a leg's failure reported once the order is past that leg changes nothing
            return _ignore(state, f"{what}: the order is already {state.status.name}")
    elif RANK[status] <= RANK[state.status]:
        return _ignore(state, f"{what}: {status.name} does not advance {state.status.name}")
    return _reach(state, status, errors, what)


def _reach(
    state: Lifecycle, status: ChannelOrderStatus, errors: tuple[PartnerError, ...], what: str
) -> Ruling:
    """Move to `status`, dropping the waits it answers."""
    if status in EXITS:
        if status is S.ERROR and not errors:
            errors = (PartnerError(PartnerErrorCode.UNKNOWN, "an error without a reason"),)
        ended = replace(state, status=status, awaiting=frozenset(), errors=errors)
        return _apply(state, ended, what)
    answered = {leg for leg, outcome in OUTCOMES.items() if RANK[outcome[0]] <= RANK[status]}
    return _apply(state, replace(state, status=status, awaiting=state.awaiting - answered), what)


def _apply(before: Lifecycle, after: Lifecycle, reason: str, send: Leg | None = None) -> Ruling:
    return Ruling(Verdict.APPLY, after, reason, send, previous=before.status)


def _ignore(state: Lifecycle, reason: str) -> Ruling:
    return Ruling(Verdict.IGNORE, state, reason, previous=state.status)


def _refuse(state: Lifecycle, reason: str) -> Ruling:
    return Ruling(Verdict.REFUSE, state, reason, previous=state.status)


def fire_due(committed_at: datetime, lead_time: int | None) -> datetime | None:
    """When the order moves to PREPARING by itself: `lead_time` seconds after it was committed
    (decision 16); None when the commit holds it until fired."""
    if lead_time is None:
        return None
    if isinstance(lead_time, bool) or not 0 <= lead_time <= MAX_LEAD_TIME:
        raise ValueError(f"a lead time is 0-{MAX_LEAD_TIME} seconds, not {lead_time!r}")
    return committed_at + timedelta(seconds=lead_time)


def ready_in(preparation: int, lead_time: int | None) -> int | None:
    """Seconds until the order is ready: preparation plus lead time; None while held
    (contracts §2.6: readyInSeconds)."""
    return None if lead_time is None else preparation + lead_time
