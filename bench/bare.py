"""The baseline: a FastAPI route that only reads the body and answers 200, served by the same
uvicorn settings as `maitred serve` (`uvicorn bench.bare:app --factory …`)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

ANSWER = b'{"status":"accepted"}'


def app() -> FastAPI:
    """The bare app."""
    bare = FastAPI()

    @bare.post("/rms")
    async def rms(request: Request) -> Response:
        await request.body()
        return Response(ANSWER, media_type="application/json")

    @bare.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return bare
