"""Schemathesis against the OpenAPI document of every partner-facing (RMS, POS) and admin
operation, on a hub served on 127.0.0.1 and authenticated with valid keys so the cases reach
the handlers: valid and invalid cases, half of them on the seeded venue's real ids.

Checks: no server error, the status code and the body are the documented ones, invalid input
is refused, and every 4xx is in the contract's error shape. Seeded (derandomized) so a failure
reproduces; `MAITRED_FUZZ_EXAMPLES` raises the examples per operation for the soak.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)
from schemathesis.core.result import Ok
from schemathesis.specs.openapi import checks
from sqlalchemy.orm import Session

from maitred.api.app import create_app
from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from tests.conftest import ADMIN_TOKEN
from tests.factories import POS_KEY, RMS_KEY, SEED_VENUE, seed_world
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
# Ids that exist in the seeded world, so generated paths also reach past the 404.
KNOWN = {"venue_id": "v1", "partner_id": "rms-a", "rms_table_id": "T1"}


def _key(path: str) -> str:
    if path.startswith("/admin"):
        return ADMIN_TOKEN
    return POS_KEY if path.startswith("/v1/pos") else RMS_KEY


def _known(operation: Any) -> dict[str, str]:
    ids = KNOWN | {"venueId": "pos-venue-1" if "/v1/pos" in operation.path else SEED_VENUE}
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
    """What is wrong with a 4xx body, if anything (the contract's `{"error": {...}}`)."""
    try:
        body = response.json()
        error = body["error"]
        shaped = set(body) == {"error"} and set(error) == {"code", "message", "details"}
        if shaped and error["code"] == response.status_code and isinstance(error["details"], dict):
            return None
    except (ValueError, KeyError, TypeError):
        pass
    return f"{response.status_code} not in the error shape: {response.text[:300]}"


@dataclass
class Tally:
    """What the fuzzer sent and what went wrong."""

    cases: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)


def fuzz_operation(operation: Any, base_url: str, tally: Tally) -> None:
    """Run the seeded fuzzer on one operation, counting into `tally`."""
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
        operation.as_strategy(GenerationMode.POSITIVE, path_parameters=_known(operation)),
    )
    headers = {"Authorization": f"Bearer {_key(operation.path)}"}

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: schemathesis.Case[Any]) -> None:
        tally.cases += 1
        response = case.call(base_url=base_url, headers=headers)
        tally.server_errors += response.status_code >= 500
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # one failure, or a group
            tally.failures.append(f"{operation.label}: {str(exc)[:600]}")
        if 400 <= response.status_code < 500:
            problem = error_shape(response)
            if problem:
                tally.failures.append(f"{operation.label}: {problem}")

    fuzz()


@pytest.mark.slow
def test_every_operation_survives_the_fuzzer(settings: Settings, figure: Record) -> None:
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    engine.dispose()
    schema = schemathesis.openapi.from_dict(without_security(create_app(settings).openapi()))
    # A case whose path or headers pass the request-head limit is refused before it is read
    # (431): a rejection like any other, documented on every operation.
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413", "431"]
    )
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results)
    tally = Tally()
    with serve(settings) as hub:
        for operation in operations:
            fuzz_operation(operation, hub.base_url, tally)
    figure(operations=len(operations), fuzz_cases=tally.cases, server_errors=tally.server_errors)
    assert tally.server_errors == 0
    assert tally.failures == [], "\n".join(dict.fromkeys(tally.failures))


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
