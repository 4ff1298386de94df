"""`maitred bookings …`: act on a booking as the RMS last sent it."""

from __future__ import annotations

from typing import Annotated

import typer

from maitred import terminal
from maitred.commands import with_runtime
from maitred.reservations import again

app = typer.Typer(help="Bookings as their RMS sent them.", no_args_is_help=True)


@app.callback()
def _bookings() -> None:
    """Bookings as their RMS sent them."""


@app.command("retry")
def retry(
    venue: Annotated[str, typer.Argument(help="maitred's venue id.")],
    booking: Annotated[str, typer.Argument(help="The RMS's booking id.")],
) -> None:
    """Follow a booking again as stored (a held one once its table is mapped, or one whose
    follow-up failed): the worker opens, links or updates its POS order."""
    retried = with_runtime(
        lambda rt: rt.writer.run_sync(
            lambda s: again.retry_booking(s, venue_id=venue, booking_id=booking)
        )
    )
    terminal.line(
        f"booking {retried.booking_id} ({retried.status}) at {retried.venue_id} queued: "
        "the worker follows it within MAITRED_POLL_INTERVAL"
    )
