"""Properties of the lifecycle under reports that arrive late, twice, or out of order.

What is proved, for the rules in `maitred.channel_orders.rules`:

1. Forward only. For any sequence of any reports (channel requests, POS callbacks and events,
   timeouts, lead times, valid or not), each report either leaves the lifecycle exactly as it was
   (IGNORE, REFUSE) or moves the status to a later forward status or to an exit; a final status
   (DONE, CANCELED, ERROR) never changes.
2. Duplicates change nothing. A report applied twice in a row (except a price request, which
   asks for a new price on purpose) is never applied the second time.
3. Order of arrival. Take an order in a state the hub reaches by its own requests (being priced,
   re-priced, committed with or without a lead time, committed, fired), and the set R of reports
   a POS could send from there: one outcome per leg (a failed leg ends its script), progress
   events only after a successful fire or lead time, the lead time only when the commit carried
   one, stale copies of callbacks answered earlier, plus any exits (the POS's CANCELED or ERROR,
   the channel's cancel). Then for every arrival order of R, with any duplicates:
       final status = the status of the first report to arrive that reports a final status
                      (DONE, CANCELED, ERROR), or, when none does, the furthest status reported.
   So whenever R reports at most one final status, every arrival order ends in the same status.
   Two different final statuses (say DONE and CANCELED) race: the first to arrive wins, and the
   other changes nothing afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from maitred.channel_orders.rules import (
    EVENT_STATUSES,
    EXITS,
    FINAL,
    FORWARD,
    OUTCOMES,
    RANK,
    ChannelOrderStatus,
    Leg,
    Lifecycle,
    Report,
    Source,
    Verdict,
    judge,
)

S = ChannelOrderStatus
PRICE, COMMIT, FIRE = Leg.PRICE, Leg.COMMIT, Leg.FIRE

LEAD_TIMES = [None, 0, 1, 900, 100_000, 100_001, -1]
# Mostly reports that make sense, so random sequences reach every state; some that do not.
plausible_report = st.one_of(
    st.just(Report.price_request()),
    st.builds(Report.commit_request, st.sampled_from(LEAD_TIMES)),
    st.just(Report.fire_request()),
    st.just(Report.cancel_request()),
    st.sampled_from([Report.callback(leg, s) for leg in Leg for s in OUTCOMES[leg]]),
    st.builds(Report.event, st.sampled_from(sorted(EVENT_STATUSES))),
    st.builds(Report.timeout, st.sampled_from(Leg)),
    st.just(Report.lead_time_over()),
)
raw_report = st.builds(
    Report,
    source=st.sampled_from(Source),
    status=st.none() | st.sampled_from(S),
    leg=st.none() | st.sampled_from(Leg),
    lead_time=st.sampled_from(LEAD_TIMES),
)
any_report = plausible_report | plausible_report | plausible_report | raw_report
pos_report = any_report.filter(lambda r: r.source is not Source.PRICE_REQUEST)


@st.composite
def histories(draw: st.DrawFn, max_noise: int = 15) -> list[Report]:
    """Part of a successful order's life (so every state is reached), interleaved with random
    reports that may fit or not."""
    lead_time = draw(st.sampled_from(LEAD_TIMES))
    fire = draw(st.sampled_from([Report.fire_request(), Report.lead_time_over()]))
    happy = [
        Report.price_request(),
        Report.callback(PRICE, S.PRICED),
        Report.commit_request(lead_time),
        Report.callback(COMMIT, S.COMMITTED),
        fire,
        Report.callback(FIRE, S.PREPARING),
        Report.event(S.PREPARED),
        Report.event(S.DONE),
    ]
    script = happy[: draw(st.integers(0, len(happy)))]
    noise = draw(st.lists(any_report, max_size=max_noise))
    merged: list[Report] = []
    while script and noise:
        merged.append((script if draw(st.booleans()) else noise).pop(0))
    return merged + script + noise


def fold(state: Lifecycle, reports: list[Report]) -> Lifecycle:
    for report in reports:
        state = judge(state, report).lifecycle
    return state


@settings(max_examples=1000)
@given(histories())
def test_the_status_only_moves_forward(reports: list[Report]) -> None:
    state = Lifecycle()
    for report in reports:
        ruling = judge(state, report)
        after = ruling.lifecycle
        if ruling.verdict is not Verdict.APPLY:
            assert after == state
        elif state.final:
            raise AssertionError(f"{report} applied to a final order")
        elif after.status != state.status:
            assert after.status in EXITS or RANK[after.status] > RANK[state.status]
        state = after


@settings(max_examples=1000)
@given(histories(max_noise=5), pos_report)
def test_a_report_twice_in_a_row_applies_at_most_once(
    history: list[Report], report: Report
) -> None:
    first = judge(fold(Lifecycle(), history), report).lifecycle
    second = judge(first, report)
    assert second.verdict is not Verdict.APPLY
    assert second.lifecycle == first


@dataclass(frozen=True)
class Scenario:
    """A state the hub reached by its own requests, and what may arrive from there."""

    start: Lifecycle
    reports: tuple[Report, ...]


def reported(report: Report) -> ChannelOrderStatus:
    """The status a report reaches when it applies."""
    if report.source is Source.CANCEL_REQUEST:
        return S.CANCELED
    if report.source is Source.LEAD_TIME:
        return S.PREPARING
    assert report.status is not None
    return report.status


def expected_final(start: Lifecycle, arrival: list[Report]) -> ChannelOrderStatus:
    """The characterisation of property 3."""
    for report in arrival:
        if reported(report) in FINAL:
            return reported(report)
    forward = [reported(r) for r in arrival] + [start.status]
    return max(forward, key=RANK.__getitem__)


@st.composite
def after_commit(draw: st.DrawFn, lead_time: int | None) -> list[Report]:
    """What a POS sends once it committed: a fire outcome, the lead time, progress."""
    fire = draw(st.sampled_from([None, S.PREPARING, S.ERROR]))
    reports = [] if fire is None else [Report.callback(FIRE, fire)]
    if fire is S.ERROR:
        return reports
    if lead_time is not None and draw(st.booleans()):
        reports.append(Report.lead_time_over())
    if fire is not None or reports:
        progress = draw(st.sampled_from([(), (S.PREPARED,), (S.PREPARED, S.DONE), (S.DONE,)]))
        reports += [Report.event(status) for status in progress]
    return reports


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    kind = draw(st.sampled_from(["pricing", "repricing", "committing", "committed", "firing"]))
    lead_time = draw(st.sampled_from([None, 0, 900]))
    stale_price = Report.callback(PRICE, S.PRICED)
    stale_commit = Report.callback(COMMIT, S.COMMITTED)
    if kind in ("pricing", "repricing"):
        status = S.CREATED if kind == "pricing" else S.PRICED
        start = Lifecycle(status, frozenset({PRICE}))
        reports = [Report.callback(PRICE, draw(st.sampled_from([S.PRICED, S.ERROR])))]
    elif kind == "committing":
        start = Lifecycle(S.PRICED, frozenset({COMMIT}), commit_asked=True, lead_time=lead_time)
        outcome = draw(st.sampled_from([S.COMMITTED, S.ERROR]))
        reports = [stale_price, Report.callback(COMMIT, outcome)]
        if outcome is S.COMMITTED:
            reports += draw(after_commit(lead_time))
    else:
        awaiting = frozenset({FIRE}) if kind == "firing" else frozenset()
        start = Lifecycle(S.COMMITTED, awaiting, commit_asked=True, lead_time=lead_time)
        reports = [stale_price, stale_commit, *draw(after_commit(lead_time))]
    exits = [Report.event(S.CANCELED), Report.event(S.ERROR), Report.cancel_request()]
    reports += draw(st.lists(st.sampled_from(exits), max_size=2))
    return Scenario(start, tuple(reports))


@st.composite
def arrivals(draw: st.DrawFn, scenario: Scenario) -> list[Report]:
    """The scenario's reports in some order, some of them more than once."""
    reports = list(scenario.reports)
    duplicates = draw(st.lists(st.sampled_from(reports), max_size=4)) if reports else []
    return list(draw(st.permutations(reports + duplicates)))


@settings(max_examples=1000)
@given(st.data())
def test_the_final_status_does_not_depend_on_the_order_of_arrival(data: st.DataObject) -> None:
    scenario = data.draw(scenarios())
    arrival = data.draw(arrivals(scenario))
    final = fold(scenario.start, arrival).status
    assert final == expected_final(scenario.start, arrival)
    finals = {reported(r) for r in scenario.reports} & FINAL
    if len(finals) <= 1:
        # any other arrival order of the same reports ends in the same status
        other = data.draw(arrivals(scenario))
        assert fold(scenario.start, other).status == final


def test_the_forward_statuses_are_ranked_in_lifecycle_order() -> None:
    assert [RANK[s] for s in FORWARD] == list(range(len(FORWARD)))
    assert set(FORWARD) | EXITS == set(S)
