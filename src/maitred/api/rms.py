"""RMS-facing Mozrest endpoints: `POST /rms` and `GET /venues/{venueId}/pos-tables`."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["RMS"])
