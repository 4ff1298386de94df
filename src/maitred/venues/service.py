"""Venue rules that need data: declaring venues with their per-partner ids, reading, deleting."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maitred import clock
from maitred.errors import BadRequest, NotFound, field_details
from maitred.partners import service as partners_service
from maitred.partners.schemas import Change, changed_fields
from maitred.venues import changes, queries, repository
from maitred.venues.models import Venue, VenueLink
from maitred.venues.schemas import ROLES, LinkSpec, VenueRead, VenueSpec


def upsert_venue(session: Session, spec: VenueSpec) -> Change:
    """Make venue `spec.id` and its links match `spec`; "unchanged" (no write) when they do.
    The change lists each field and role it set or changed."""
    wanted = spec.links()
    for role, link in wanted.items():
        _check_link(session, spec.id, role, link)
    venue = queries.get(session, spec.id)
    created = venue is None
    before = {} if venue is None else _state(venue, queries.links_of(session, [spec.id]))
    if venue is None:
        at = clock.now()
        venue = Venue(id=spec.id, created_at=at, updated_at=at)
        session.add(venue)
    venue.name, venue.timezone = spec.name, spec.timezone
    venue.seating_statuses = list(spec.seating_statuses)
    venue.reject_unknown_skus = spec.reject_unknown_skus
    venue.currency = spec.currency
    session.flush()
    relinked = _sync_links(session, spec.id, wanted)
    if created or relinked:
        changes.links_changed(session, [spec.id])
    fields = changed_fields(before, _state(venue, queries.links_of(session, [spec.id])))
    if created:
        return Change(kind="venue", id=spec.id, action="created", fields=fields)
    if not fields:
        return Change(kind="venue", id=spec.id, action="unchanged")
    venue.updated_at = clock.now()
    session.flush()
    return Change(kind="venue", id=spec.id, action="updated", fields=fields)


def _state(venue: Venue, links: list[VenueLink]) -> dict[str, object]:
    """The venue's declared fields and each role's link (`partner` and `venue_id`)."""
    by_role = {link.role: link for link in links}
    state: dict[str, object] = {
        "name": venue.name,
        "timezone": venue.timezone,
        "seating_statuses": list(venue.seating_statuses),
        "reject_unknown_skus": venue.reject_unknown_skus,
        "currency": venue.currency,
    }
    for role in ROLES:
        link = by_role.get(role)
        state[role] = (
            None if link is None else {"partner": link.partner_id, "venue_id": link.external_id}
        )
    return state


def _check_link(session: Session, venue_id: str, role: str, link: LinkSpec) -> None:
    """BadRequest naming the field unless `link.partner` exists, is of kind `role`, and does not
    already use `link.venue_id` for another venue."""
    kind = partners_service.kind_of(session, link.partner)
    if kind is None:
        message = f"unknown partner {link.partner!r}"
        raise BadRequest(message, details=field_details(f"{role}.partner", message))
    if kind != role:
        message = f"partner {link.partner!r} is a {kind} partner, not {role}"
        raise BadRequest(message, details=field_details(f"{role}.partner", message))
    owner = repository.resolve_external(session, partner_id=link.partner, external_id=link.venue_id)
    if owner not in (None, venue_id):
        message = f"partner {link.partner!r} already uses this id for venue {owner!r}"
        raise BadRequest(message, details=field_details(f"{role}.venue_id", message))


def _sync_links(session: Session, venue_id: str, wanted: dict[str, LinkSpec]) -> bool:
    """Replace the links that differ from `wanted`; True when any did."""
    stale: list[int] = []
    kept: set[str] = set()
    for link in queries.links_of(session, [venue_id]):
        want = wanted.get(link.role)
        same = want is not None and (want.partner, want.venue_id) == (
            link.partner_id,
            link.external_id,
        )
        if same:
            kept.add(link.role)
        else:
            stale.append(link.id)
    if stale:
        # Delete before inserting: a moved link would otherwise clash on the unique constraints.
        queries.delete_links(session, stale)
    fresh = [
        VenueLink(venue_id=venue_id, partner_id=w.partner, role=role, external_id=w.venue_id)
        for role, w in wanted.items()
        if role not in kept
    ]
    session.add_all(fresh)
    session.flush()
    return bool(stale or fresh)


def get_venue(session: Session, venue_id: str) -> VenueRead:
    """One venue with its links; NotFound when absent."""
    venue = queries.get(session, venue_id)
    if venue is None:
        raise NotFound(f"No venue {venue_id!r}")
    return _to_read(venue, queries.links_of(session, [venue_id]))


def list_venues(session: Session) -> list[VenueRead]:
    """Every venue with its links."""
    venues = queries.list_all(session)
    links = queries.links_of(session, [venue.id for venue in venues])
    return [_to_read(v, [link for link in links if link.venue_id == v.id]) for v in venues]


def delete_venue(session: Session, venue_id: str) -> Change:
    """Delete a venue with its links; NotFound when absent."""
    if not queries.delete_one(session, venue_id):
        raise NotFound(f"No venue {venue_id!r}")
    return Change(kind="venue", id=venue_id, action="deleted")


def _to_read(venue: Venue, links: list[VenueLink]) -> VenueRead:
    roles = {
        link.role: LinkSpec(partner=link.partner_id, venue_id=link.external_id) for link in links
    }
    return VenueRead(
        id=venue.id,
        name=venue.name,
        timezone=venue.timezone,
        seating_statuses=venue.seating_statuses,
        reject_unknown_skus=venue.reject_unknown_skus,
        currency=venue.currency,
        created_at=venue.created_at,
        updated_at=venue.updated_at,
        **roles,
    )
