"""Markup hidden under layers of HTML entity encoding: the filter decodes until the text stops
changing, so no depth stores a tag; nesting beyond MAX_DECODE_ROUNDS is refused (422) with
nothing written (40 layers here). Through the complaints API on the real PostgreSQL."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from api.complaints.models import Ticket, TicketMessage
from api.validation import strip_markup

ATTACK = '<img src=x onerror="alert(document.cookie)">Parcel late'
BASE = "/api/v1/complaints/tickets"


def encoded(text: str, rounds: int) -> str:
    for _ in range(rounds):
        text = html.escape(text)
    return text


@pytest.mark.parametrize("rounds", [1, 5, 6, 20])
def test_markup_encoded_many_times_is_stripped(rounds):
    assert strip_markup(encoded(ATTACK, rounds)) == "Parcel late"


@pytest.mark.parametrize("rounds", [5, 6, 20])
def test_api_stores_no_markup_whatever_the_encoding_depth(client, db, make_user, auth_headers,
                                                          rounds):
    user, _ = make_user(roles=["customer"])
    r = client.post(BASE, headers=auth_headers(user), json={
        "subject": encoded("<b>Late</b> parcel", rounds), "body": encoded(ATTACK, rounds),
        "category": "delivery"})
    assert r.status_code == 201, r.text
    ticket_id = r.json()["id"]
    stored = db.scalars(select(TicketMessage.body).where(TicketMessage.ticket_id == ticket_id)).all()
    subject = db.scalar(select(Ticket.subject).where(Ticket.id == ticket_id))
    assert stored == ["Parcel late"] and subject == "Late parcel"


def test_deeper_nesting_is_refused_and_nothing_is_stored(client, db, make_user, auth_headers):
    user, _ = make_user(roles=["customer"])
    count = lambda model: db.scalar(select(func.count()).select_from(model))  # noqa: E731
    before = (count(Ticket), count(TicketMessage))
    r = client.post(BASE, headers=auth_headers(user), json={
        "subject": "Late parcel", "body": encoded(ATTACK, 40),
        "category": "delivery"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["type"] == "text_markup_nested"
    assert error["details"][0]["loc"][-1] == "body"
    db.expire_all()
    assert (count(Ticket), count(TicketMessage)) == before


def test_raw_input_is_bounded_before_decoding():
    """Decoding parses the whole input once per round: what a field accepts before stripping is
    bounded too (4 x its length + 1000), so deep nesting cannot buy seconds of CPU."""
    from pydantic import BaseModel, ValidationError

    from api.validation import clean_text

    class Note(BaseModel):
        text: clean_text(max_length=100)

    assert Note(text="<i></i>" * 190 + "fits").text == "fits"  # 1334 characters of markup
    with pytest.raises(ValidationError) as refused:
        Note(text=encoded(ATTACK, 3) * 40)
    assert refused.value.errors()[0]["type"] == "input_too_long"
