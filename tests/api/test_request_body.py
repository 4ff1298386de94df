"""A route takes the body the edge read (`web.bodies.request_body`) instead of reading it again,
and still reads it itself when no edge ran before it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message

from maitred.monitoring.middleware import EDGE_BODY
from maitred.web.bodies import request_body


async def _nothing_more() -> Message:
    raise AssertionError("the body was read again")


async def test_the_body_the_edge_read_is_taken_as_it_is() -> None:
    scope = {"type": "http", "method": "POST", "headers": [], EDGE_BODY: b'{"a":1}'}
    assert await request_body(Request(scope, _nothing_more)) == b'{"a":1}'


async def test_without_an_edge_the_body_is_read_from_the_request() -> None:
    messages = [
        {"type": "http.request", "body": b'{"a"', "more_body": True},
        {"type": "http.request", "body": b":1}", "more_body": False},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    scope = {"type": "http", "method": "POST", "headers": []}
    assert await request_body(Request(scope, receive)) == b'{"a":1}'
