"""Admin API for bookings: retry one (follow it again as stored)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from maitred.reservations import again
from maitred.reservations.schemas import RetryQueued
from maitred.web.deps import RuntimeDep, require_admin

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require_admin)])


@router.post(
    "/venues/{venue_id}/bookings/{booking_id}/retry", response_model=RetryQueued, status_code=202
)
async def retry_booking(venue_id: str, booking_id: str, runtime: RuntimeDep) -> RetryQueued:
    """Follow a booking again as stored (a held one, or one whose follow-up failed); the worker
    applies it right after this answer. 404 when the venue has no such booking."""

    def job(session: Session) -> RetryQueued:
        retried = again.retry_booking(session, venue_id=venue_id, booking_id=booking_id)
        return RetryQueued(
            venue_id=retried.venue_id, booking_id=retried.booking_id, status=retried.status
        )

    return await runtime.writer.run(job)
