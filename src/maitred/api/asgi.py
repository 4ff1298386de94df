"""Factories uvicorn imports (`maitred serve` points it here)."""

from __future__ import annotations

from fastapi import FastAPI

from maitred.api.app import create_app


def app() -> FastAPI:
    """The API alone (`maitred serve --no-worker`)."""
    return create_app()


def worker_app() -> FastAPI:
    """The API plus an in-process delivery worker."""
    return create_app(run_worker=True)
