"""Factories uvicorn imports (`maitred serve` points it here)."""

from __future__ import annotations

from fastapi import FastAPI

from maitred.api.app import create_app
from maitred.config import get_settings
from maitred.logs import configure


def _configured() -> None:
    # uvicorn's worker processes (`--workers N`) start from here, not from the CLI.
    settings = get_settings()
    configure(settings.log_level, settings.log_format)


def app() -> FastAPI:
    """The API alone (`maitred serve --no-worker`)."""
    _configured()
    return create_app()


def worker_app() -> FastAPI:
    """The API plus an in-process delivery worker."""
    _configured()
    return create_app(run_worker=True)
