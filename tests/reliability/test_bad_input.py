"""Schemathesis against the OpenAPI document of every partner-facing (RMS, POS) and admin
operation, on a hub served on 127.0.0.1 and authenticated with valid keys so the cases reach
the handlers: valid and invalid cases, a third of them valid on the seeded venue's real ids.

Checks: no server error, the status code and the body are the documented ones, invalid input
is refused, valid input is accepted (a 2xx, or a documented 4xx such as an unknown venue), and
every 4xx is in the contract's error shape. On the seeded venue every valid case of a partner
write must be accepted outright, so the published schemas are shown to say what the
validators take. Seeded (derandomized) so a failure reproduces; `MAITRED_FUZZ_EXAMPLES`
raises the examples per operation for the soak.
"""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks
from sqlalchemy.orm import Session

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from tests.conftest import ADMIN_TOKEN
from tests.factories import (
    POS_KEY,
    RMS_KEY,
    SEED_VENUE,
    bearer,
    fixture,
    make_partner,
    seed_world,
)
from tests.reliability.conftest import Record
from tests.reliability.live import serve

EXAMPLES = int(os.environ.get("MAITRED_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# Valid data accepted: checked on the partner routes, whose schemas say what their validators
# take. The admin API's schemas do not yet (time zones, URLs and partner ids are checked
# beyond what they publish).
PARTNER_CHECKS = [*CHECKS, checks.positive_data_acceptance]
# A case whose path or headers pass the request-head limit is refused before it is read (431),
# like one past the body limit (413): rejections documented on every operation. Valid data may
# still name a venue or an order that does not exist (404) or meet a conflict (409).
CONFIG = {
    "checks": {
        "negative_data_rejection": {
            "expected-statuses": [
                *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422"),
                *("428", "429", "431", "5xx"),
            ]
        },
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "404", "409", "413", "429", "431"]
        },
    }
}
# The partner writes: on the seeded venue (and order), every valid case must answer 2xx.
PARTNER_WRITES = {
    "POST /rms",
    "POST /v1/pos/{venueId}/order",
    "PUT /v1/pos/{venueId}/order/{orderId}",
    "PUT /v1/pos/{venueId}/order/{orderId}/close",
    "PUT /v1/pos/{venueId}/order/{orderId}/void",
}
# Ids that exist in the seeded world, so generated paths also reach past the 404.
KNOWN = {"venue_id": "v1", "partner_id": "rms-a", "rms_table_id": "T1"}
# The largest integer every float spells exactly: schemathesis writes integers up to it as
# `4.0` too, which JSON Schema counts as an integer and the wire models do not (decision 0023).
WHOLE_FLOATS = 2**53


# The RBI contract's partners (seed 004): a channel and a POS, keyed like the others, so the
# cases on `/v1/channel/…` and on the POS's `/v1/orders/…`, `/v1/stores/…` reach the handlers.
CHANNEL_KEY = "channel-1-key-0d9e8f7a6b5c"
RBI_POS_KEY = "rbi-pos-1-key-1a2b3c4d5e6f"


def _key(path: str) -> str:
    if path.startswith("/admin"):
        return ADMIN_TOKEN
    if path.startswith("/v1/channel"):
        return CHANNEL_KEY
    if path.startswith(("/v1/orders", "/v1/stores")):
        return RBI_POS_KEY
    return POS_KEY if path.startswith("/v1/pos") else RMS_KEY


def seed_rbi_partners(session: Session, box: SecretBox) -> None:
    """A channel and a POS speaking the RBI contract, beside the seeded world."""
    for partner_id, kind, key in (
        ("channel-1", "channel", CHANNEL_KEY),
        ("rbi-pos-1", "pos", RBI_POS_KEY),
    ):
        make_partner(session, box, id=partner_id, kind=kind, api_key=key).contract = "rbi"


def _known(operation: Any, order_id: str) -> dict[str, str]:
    venue = "pos-venue-1" if "/v1/pos" in operation.path else SEED_VENUE
    ids = KNOWN | {"venueId": venue, "orderId": order_id}
    return {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}


def without_security(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document without its security requirements: the fuzzer always presents the
    right key (credentials are swept by test_auth), so a negative case that "drops" the
    Authorization header would be sent with it and wrongly reported as accepted."""
    document = copy.deepcopy(document)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation.pop("security", None)
    return document


def error_shape(response: Any) -> str | None:
    """What is wrong with a 4xx body, if anything (the contract's `{"error": {...}}`; on the RBI
    routes that contract's `{status, code, message, errors[]}`, decision 27)."""
    try:
        body = response.json()
        url = getattr(response, "url", None) or getattr(response.request, "url", "")
        rbi_route = urlsplit(str(url)).path.startswith(
            ("/v1/channel/", "/v1/orders/", "/v1/stores/")
        )
        if rbi_route and "error" not in body:
            rbi = {"status", "code", "message", "errors"} <= set(body)
            if rbi and body["status"] == response.status_code:
                return None
        error = body["error"]
        shaped = set(body) == {"error"} and set(error) == {"code", "message", "details"}
        if shaped and error["code"] == response.status_code and isinstance(error["details"], dict):
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return f"{response.status_code} not in the error shape: {response.text[:300]}"


def integers_as_written(value: Any) -> Any:
    """`value` with whole floats written as integers (`4.0` as `4`): the same JSON Schema
    value, spelled as a partner's JSON encoder spells an integer. `value` itself when it has
    none (schemathesis checks a case's data again once it is assigned)."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= WHOLE_FLOATS:
        return int(value)
    if isinstance(value, dict):
        items = {key: integers_as_written(item) for key, item in value.items()}
        same = all(items[key] is item for key, item in value.items())
        return value if same else items
    if isinstance(value, list):
        listed = [integers_as_written(item) for item in value]
        return value if all(a is b for a, b in zip(listed, value, strict=True)) else listed
    return value


def on_the_seeded_venue(case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """A valid `POST /rms` case naming the seeded venue in its body (any id the schema allows
    is valid, so the case stays valid)."""
    if case.operation.path == "/rms" and isinstance(case.body, dict):
        case.body["venueId"] = SEED_VENUE
    return case


@dataclass
class Tally:
    """What the fuzzer sent, what the seeded venue's valid cases got, and what went wrong."""

    cases: int = 0
    server_errors: int = 0
    known: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def fuzz_operation(operation: Any, base_url: str, order_id: str, tally: Tally) -> None:
    """Run the seeded fuzzer on one operation, counting into `tally`."""
    known = operation.as_strategy(
        GenerationMode.POSITIVE, path_parameters=_known(operation, order_id)
    ).map(on_the_seeded_venue)
    strategy = st.one_of(
        st.tuples(st.just("valid"), operation.as_strategy(GenerationMode.POSITIVE)),
        st.tuples(st.just("invalid"), operation.as_strategy(GenerationMode.NEGATIVE)),
        st.tuples(st.just("known"), known),
    )
    headers = bearer(_key(operation.path))
    operation_checks = CHECKS if operation.path.startswith("/admin") else PARTNER_CHECKS
    statuses = tally.known.setdefault(operation.label, Counter())

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(drawn=strategy)
    def fuzz(drawn: tuple[str, schemathesis.Case[Any]]) -> None:
        kind, case = drawn
        if kind != "invalid" and (written := integers_as_written(case.body)) is not case.body:
            case.body = written
        tally.cases += 1
        response = case.call(base_url=base_url, headers=headers)
        tally.server_errors += response.status_code >= 500
        if kind == "known":
            statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=operation_checks)
        except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group
            tally.failures.append(f"{operation.label}: {str(exc)[:600]}")
        if 400 <= response.status_code < 500:
            problem = error_shape(response)
            if problem:
                tally.failures.append(f"{operation.label}: {problem}")

    fuzz()


def open_an_order(base_url: str) -> str:
    """maitred's id of an order the seeded POS opened (the contract's example), for the
    cases that update, close or void one."""
    answer = requests.post(
        f"{base_url}/v1/pos/pos-venue-1/order",
        json=fixture("pos_order_open.json"),
        headers=bearer(POS_KEY),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


@pytest.mark.slow
def test_every_operation_survives_the_fuzzer(settings: Settings, figure: Record) -> None:
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
        seed_rbi_partners(session, SecretBox(settings.secret_key or ""))
    engine.dispose()
    document = without_security(create_app(settings).openapi())
    schema = schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(CONFIG))
    operations = [
        schema[path][method.upper()]  # raises if schemathesis cannot read an operation
        for path, methods in document["paths"].items()
        for method in methods
    ]
    tally = Tally()
    with serve(settings) as hub:
        order_id = open_an_order(hub.base_url)
        for operation in operations:
            fuzz_operation(operation, hub.base_url, order_id, tally)
    writes = {label: tally.known[label] for label in PARTNER_WRITES}
    accepted = {
        label: sum(n for s, n in got.items() if 200 <= s < 300) for label, got in writes.items()
    }
    figure(
        operations=len(operations),
        fuzz_cases=tally.cases,
        server_errors=tally.server_errors,
        valid_on_seeded_venue_accepted=sum(accepted.values()),
    )
    assert tally.server_errors == 0
    assert tally.failures == [], "\n".join(dict.fromkeys(tally.failures))
    # Every valid case on the seeded venue was accepted, and there were enough of them.
    assert all(set(got) <= set(range(200, 300)) for got in writes.values()), writes
    assert all(count >= EXAMPLES // 5 for count in accepted.values()), accepted


def test_nul_in_any_path_or_query_is_a_400_not_a_database_error(
    settings: Settings, figure: Record
) -> None:
    """PostgreSQL refuses NUL even in a comparison: `%00` in an id or a filter is refused at the
    edge, for every operation, instead of failing in the database."""
    schema = create_app(settings).openapi()
    answers: dict[str, int] = {}
    with serve(settings) as hub, requests.Session() as http:
        for template, operations in schema["paths"].items():
            for method in operations:
                key = {"Authorization": f"Bearer {_key(template)}"}
                path = re.sub(r"\{[^}]+\}", "a%00b", template)
                for url in {path + "?x=1", template.replace("{", "").replace("}", "") + "?q=%00"}:
                    response = http.request(method, hub.base_url + url, headers=key, json={})
                    answers[f"{method.upper()} {url}"] = response.status_code
                    if "%00" in url.split("?")[0]:
                        assert response.status_code == 400, (url, response.text)
                        assert "path" in response.json()["error"]["details"]
                    assert error_shape(response) is None or response.status_code < 400, url
    figure(requests=len(answers), server_errors=sum(s >= 500 for s in answers.values()))
    assert all(status < 500 for status in answers.values()), answers
