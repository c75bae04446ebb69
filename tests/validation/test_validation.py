"""The shared validation layer: each type's normalization and refusals, and that a refusal
renders in the gateway's one error format."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError

from api.core.errors import Unprocessable, install_error_handlers
from api.validation import (Currency, Email, MinorUnits, Money, Phone, Quantity, clean_text,
                            strip_markup, validate)


class Form(BaseModel):
    title: clean_text(max_length=20)
    email: Email | None = None
    phone: Phone | None = None
    amount: MinorUnits = 0
    currency: Currency = "USD"
    qty: Quantity = 1


@pytest.mark.parametrize("raw, clean", [
    ("<b>Hello</b> world", "Hello world"),
    ("  spaced  ", "spaced"),
    ("<script>alert(1)</script>Hi", "Hi"),
    ("&lt;img src=x onerror=alert(1)&gt;ok", "ok"),
    ("a <!-- hidden --> b", "a  b"),
    ("5 < 6 & 7 > 3", "5 < 6 & 7 > 3"),
    ("tab\x00null\x07bell", "tabnullbell"),
])
def test_strip_markup(raw, clean):
    assert strip_markup(raw) == clean


def test_text_length_counts_what_remains_after_stripping():
    assert Form(title="<i>" * 30 + "short").title == "short"
    with pytest.raises(ValidationError) as e:
        Form(title="<b></b>   ")
    assert e.value.errors()[0]["type"] == "text_too_short"
    with pytest.raises(ValidationError) as e:
        Form(title="x" * 21)
    assert e.value.errors()[0]["type"] == "text_too_long"


def test_email_normalized_and_refused():
    assert Form(title="t", email="  Alice@Example.COM ").email == "alice@example.com"
    for bad in ("not-an-email", "a@b", "a@@example.com", "x" * 400 + "@example.com"):
        with pytest.raises(ValidationError):
            Form(title="t", email=bad)


def test_phone_normalized_to_e164():
    assert Form(title="t", phone="+1 (415) 555-2671").phone == "+14155552671"
    assert Form(title="t", phone="+44 20 7946 0958").phone == "+442079460958"
    # Without a country prefix the configured default region (PK) applies.
    assert Form(title="t", phone="0300 1234567").phone == "+923001234567"
    for bad in ("12", "hello", "+1 555 0000"):
        with pytest.raises(ValidationError) as e:
            Form(title="t", phone=bad)
        assert e.value.errors()[0]["type"] == "phone_invalid"


def test_money_and_quantity_are_strict_integers():
    assert Money(amount_minor=1999, currency="usd") == Money(amount_minor=1999, currency="USD")
    for bad in ({"amount_minor": 19.99, "currency": "USD"},
                {"amount_minor": "1999", "currency": "USD"},
                {"amount_minor": True, "currency": "USD"},
                {"amount_minor": -1, "currency": "USD"},
                {"amount_minor": 10**16, "currency": "USD"},
                {"amount_minor": 1, "currency": "XYZ"},
                {"amount_minor": 1, "currency": "US"},
                {"amount_minor": 1, "currency": "USD", "extra": 1}):
        with pytest.raises(ValidationError):
            Money(**bad)
    with pytest.raises(ValidationError):
        Form(title="t", qty=0)
    with pytest.raises(ValidationError):
        Form(title="t", qty=1.5)


def test_validate_helper_raises_unprocessable_with_field_details():
    with pytest.raises(Unprocessable) as e:
        validate(Form, {"title": "ok", "email": "nope", "phone": "secret-123"})
    err = e.value
    assert err.status_code == 422 and err.code == "validation_error"
    locs = [d["loc"] for d in err.details]
    assert ["email"] in locs and ["phone"] in locs
    assert err.message.startswith("email:")
    assert "secret-123" not in repr(err.details)  # input values are never echoed
    assert validate(Form, {"title": "<p>ok</p>"}).title == "ok"


def test_refusal_renders_in_the_gateway_error_format():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/form")
    def post(form: Form) -> dict:
        return form.model_dump()

    with TestClient(app) as c:
        r = c.post("/form", json={"title": "<b>Hi</b>", "email": "A@EXAMPLE.com",
                                  "phone": "+14155552671", "amount": 5, "currency": "eur"})
        assert r.status_code == 200
        assert r.json()["title"] == "Hi" and r.json()["email"] == "a@example.com"
        assert r.json()["currency"] == "EUR"
        r = c.post("/form", json={"title": "t", "phone": "0"})
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "validation_error"
    assert body["details"][0]["loc"] == ["body", "phone"]
    assert body["details"][0]["type"] == "phone_invalid"
    assert body["message"].startswith("phone:")
