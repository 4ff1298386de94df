"""Hostile bodies against every write endpoint of a hub served on 127.0.0.1: truncated JSON, an
empty body, 10 MB, 100,000 `[`, NaN and Infinity, huge numbers, a wrong type in every field,
non-UTF-8 bytes, the wrong content type, duplicate keys, NUL and lone surrogates.

Each one is refused in the contract's error shape, naming the field where there is one, with no
server error, and nothing is stored: every table but the traces reads the same afterwards.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy.orm import Session

from maitred.config import Settings
from maitred.db.engine import make_throwaway_engine
from maitred.security import SecretBox
from tests.conftest import ADMIN_TOKEN
from tests.factories import POS_KEY, RMS_KEY, fixture, seed_world
from tests.reliability.conftest import Record
from tests.reliability.live import changed_rows, dump, serve

POS_ORDER = "/v1/pos/pos-venue-1/order"


@dataclass(frozen=True)
class Target:
    """One write endpoint, the key that reaches its handler and a body it accepts."""

    method: str
    path: str
    key: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Hostile:
    """One hostile request: what it is, its bytes and headers, and the field it must name."""

    name: str
    data: bytes
    content_type: str = "application/json"
    field: str | None = None
    or_body: bool = False  # a parser may refuse it as invalid JSON, naming the body instead


def _targets(order_id: str) -> list[Target]:
    pos_body = fixture("pos_order_open.json")
    changed = copy.deepcopy(pos_body)
    changed["checks"][0]["totalAmount"] = 175.0  # a real change, were it accepted
    partner = {"kind": "rms", "name": "New RMS", "webhook_url": "http://127.0.0.1:9/hook"}
    venue = {"name": "New venue", "timezone": "Europe/Madrid", "rms": None}
    return [
        Target("POST", "/rms", RMS_KEY, fixture("rms_reservation_preorder.json")),
        Target("POST", POS_ORDER, POS_KEY, pos_body | {"id": "walk-in-2"}),
        Target("PUT", f"{POS_ORDER}/{order_id}", POS_KEY, changed),
        Target("PUT", f"{POS_ORDER}/{order_id}/close", POS_KEY, fixture("pos_order_close.json")),
        Target("PUT", f"{POS_ORDER}/{order_id}/void", POS_KEY, changed),
        Target("PUT", "/admin/partners/rms-new", ADMIN_TOKEN, partner),
        Target("PUT", "/admin/venues/v-new", ADMIN_TOKEN, venue),
        Target("POST", "/admin/apply", ADMIN_TOKEN, {"partners": [partner | {"id": "rms-new"}]}),
        Target("POST", "/admin/deliveries/replay", ADMIN_TOKEN, {"partnerId": "rms-a"}),
        Target("PUT", "/admin/venues/v1/table-mappings/T1", ADMIN_TOKEN, {"posTableId": "P1"}),
    ]


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(`checks[0].items[0].id`, value) for every scalar, list and object in a body."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            yield child, item
            yield from _leaves(item, child)
    elif isinstance(value, list) and value:
        yield from _leaves(value[0], f"{path}[0]")


def _set(body: Any, path: str, value: Any) -> Any:
    """A copy of `body` with the leaf at `path` replaced."""
    copied = copy.deepcopy(body)
    node = copied
    steps = path.replace("[0]", ".0").split(".")
    for step in steps[:-1]:
        node = node[int(step)] if step.isdigit() else node[step]
    last = steps[-1]
    node[int(last) if last.isdigit() else last] = value
    return copied


def _wrong_values(original: Any) -> list[Any]:
    """Values of a type no lenient reading could take for `original`'s."""
    if isinstance(original, bool):
        return ["maybe", [], {}]
    if isinstance(original, int | float):
        return ["many", [], {}, True] if isinstance(original, float) else ["2", 2.5, [], {}, True]
    if isinstance(original, str):
        return [7, True, [], {}]
    if isinstance(original, list):
        return ["x", 1, {}]
    if isinstance(original, dict):
        return ["x", 1, []]
    return []  # null: any type may be fine


# Routes whose body is optional: no body (or null) is a documented request, not a hostile one.
WITHOUT_A_BODY = {("/admin/deliveries/replay", "empty body"), ("/admin/deliveries/replay", "null")}


def _dumps(body: Any) -> bytes:
    return json.dumps(body).encode()


def corpus(target: Target) -> Iterator[Hostile]:
    """Every hostile body for one endpoint."""
    valid = _dumps(target.body)
    for cut in (1, len(valid) // 3, len(valid) // 2, len(valid) - 1):
        yield Hostile(f"truncated at {cut}", valid[:cut], field="body")
    yield Hostile("empty body", b"", field="body")
    yield Hostile("null", b"null", field="body")
    yield Hostile("an array", b"[]", field="body")
    yield Hostile("a string", b'"hello"', field="body")
    yield Hostile("10 MB", b'{"padding": "' + b"x" * 10_000_000 + b'"}')
    yield Hostile("100,000 [", b"[" * 100_000, field="body")
    yield Hostile("100,000 nested objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    yield Hostile("non-UTF-8 bytes", valid[:-1] + b', "x": "\xff\xfe\xc3\x28"}', field="body")
    yield Hostile("latin-1 body", _dumps(target.body).replace(b'"', b'"\xe9', 1), field="body")
    yield Hostile("text/plain", valid, content_type="text/plain", field="body")
    form = "application/x-www-form-urlencoded"
    yield Hostile("form", b"kind=rms&id=1", content_type=form, field="body")
    yield Hostile("multipart", valid, content_type="multipart/form-data; boundary=x", field="body")
    for path, original in _leaves(target.body):
        for value in _wrong_values(original):
            name = f"{path} = {json.dumps(value)}"
            yield Hostile(name, _dumps(_set(target.body, path, value)), field=path)
        if isinstance(original, int | float) and not isinstance(original, bool):
            for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9" * 400):
                data = _dumps(_set(target.body, path, "@@")).replace(b'"@@"', literal)
                yield Hostile(f"{path} = {literal[:12].decode()}", data, field=path)
        if isinstance(original, str):
            data = _dumps(_set(target.body, path, "a\u0000b"))  # the \u0000 escape
            yield Hostile(f"{path} with NUL", data, field=path)
            data = _dumps(_set(target.body, path, "a\ud800b"))  # the \ud800 escape
            yield Hostile(f"{path} with a lone surrogate", data, field=path, or_body=True)
            # The last of two keys would carry the wrong type.
            doubled = _dumps(target.body)[:-1] + b", " + _dumps({path.split(".")[-1]: []})[1:]
            if "." not in path and "[" not in path:
                yield Hostile(f"duplicate key {path}", doubled, field=path)


def _check_rejection(target: Target, hostile: Hostile, response: requests.Response) -> str | None:
    """What is wrong with the answer to a hostile body, if anything."""
    label = f"{target.method} {target.path} [{hostile.name}] -> {response.status_code}"
    if response.status_code >= 500:
        return f"{label}: server error {response.text[:200]}"
    if not 400 <= response.status_code < 500:
        return f"{label}: accepted"
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{label}: not the error shape: {response.text[:200]}"
    if set(error) != {"code", "message", "details"} or error["code"] != response.status_code:
        return f"{label}: not the error shape: {response.text[:200]}"
    details = error["details"]
    if response.status_code == 400 and hostile.field is not None:
        fields = {hostile.field, "body"} if hostile.or_body else {hostile.field}
        named = [key for key in details if any(field in key for field in fields)]
        if not named:
            return f"{label}: does not name {hostile.field}: {response.text[:300]}"
    return None


def _world(settings: Settings) -> None:
    engine = make_throwaway_engine(settings.database_url)
    with Session(engine) as session, session.begin():
        seed_world(session, SecretBox(settings.secret_key or ""))
    engine.dispose()


@pytest.mark.slow
def test_hostile_bodies_are_refused_in_the_error_shape_and_store_nothing(
    settings: Settings, figure: Record
) -> None:
    _world(settings)
    engine = make_throwaway_engine(settings.database_url)
    problems: list[str] = []
    bodies = server_errors = 0
    with serve(settings) as hub, requests.Session() as http:
        opened = http.post(
            hub.base_url + POS_ORDER, json=fixture("pos_order_open.json"), headers=_auth(POS_KEY)
        )
        assert opened.status_code == 200, opened.text
        before = dump(engine)
        for target in _targets(opened.json()["id"]):
            for hostile in corpus(target):
                if (target.path, hostile.name) in WITHOUT_A_BODY:
                    continue
                headers = _auth(target.key)
                if hostile.content_type:
                    headers["Content-Type"] = hostile.content_type
                try:
                    response = http.request(
                        target.method,
                        hub.base_url + target.path,
                        data=hostile.data,
                        headers=headers,
                    )
                except requests.ConnectionError as exc:
                    problems.append(f"{target.method} {target.path} [{hostile.name}]: {exc}")
                    continue
                bodies += 1
                server_errors += response.status_code >= 500
                problem = _check_rejection(target, hostile, response)
                if problem:
                    problems.append(problem)
        after = dump(engine)
    engine.dispose()
    changed = changed_rows(before, after)
    figure(hostile_bodies=bodies, server_errors=server_errors, stored_rows_changed=changed)
    assert problems == [], "\n".join(problems)
    assert changed == 0


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
