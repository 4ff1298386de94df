"""One rule for the JSON body of every partner route, whether FastAPI or the route itself reads
it: a Content-Type that says JSON, or none at all; a charset, if named, of UTF-8; and bytes that
are UTF-8 (RFC 8259 §8.1), a leading byte order mark allowed. 415 naming `Content-Type`, 400
naming `body`."""

from __future__ import annotations

import codecs
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from maitred.errors import BadRequest, UnsupportedMediaType, field_details
from maitred.monitoring.middleware import EDGE_BODY

NOT_JSON = "Must be application/json (or absent)."
NOT_UTF8_CHARSET = "The charset must be utf-8."
NOT_UTF8 = "The body must be JSON encoded as UTF-8."
_UTF8 = frozenset({"utf-8", "utf8"})


def check_media_type(content_type: str | None) -> None:
    """415 unless `content_type` declares JSON (`application/json`, `application/…+json`) with
    no charset or UTF-8; no Content-Type at all reads as JSON, the routes' only format."""
    if not content_type:
        return
    kind, _, parameters = content_type.partition(";")
    kind = kind.strip().lower()
    if kind != "application/json" and not (
        kind.startswith("application/") and kind.endswith("+json")
    ):
        raise UnsupportedMediaType(details=field_details("Content-Type", NOT_JSON))
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in _UTF8:
            raise UnsupportedMediaType(details=field_details("Content-Type", NOT_UTF8_CHARSET))


async def request_body(request: Request) -> bytes:
    """The request's body: the bytes the edge already read and checked against the body limit,
    else read now. Reading them again through Starlette's stream (an async generator over the
    replayed messages) cost the ingest route several µs a request (docs/decisions/0034)."""
    body = request.scope.get(EDGE_BODY)
    return body if isinstance(body, bytes) else await request.body()


def json_bytes(body: bytes, content_type: str | None) -> bytes:
    """`body` without its UTF-8 byte order mark once the rule holds; 415 or 400 otherwise.

    A NUL byte can only stand in JSON text as an escape, so one in the bytes means another
    encoding (UTF-16 or UTF-32 of ASCII text is mostly NULs), which `json.loads` would guess
    at rather than refuse."""
    check_media_type(content_type)
    body = body.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in body or not _utf8(body):
        raise BadRequest(details=field_details("body", NOT_UTF8))
    return body


def _utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class JsonBodyRoute(APIRoute):
    """A FastAPI route whose request body passes `json_bytes` before FastAPI reads it (the
    router must also read a body without Content-Type as JSON: `strict_content_type=False`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, behind the body rule."""
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            body = await request.body()  # kept on the request: FastAPI reads it from there
            if body:
                json_bytes(body, request.headers.get("content-type"))
            return await handler(request)

        return checked
