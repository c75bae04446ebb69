"""Field encryption: AES-GCM values tagged with key ids, column binding, key rotation."""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import text


def _key(seed: int) -> str:
    return base64.urlsafe_b64encode(bytes([seed]) * 32).decode()


def _dev() -> str:
    # Rows other tests wrote are sealed with the development key: keep it in the ring.
    from api.core.fieldcrypt import _DEV_KEY, DEV_KEY_ID

    return f"{DEV_KEY_ID}:{base64.urlsafe_b64encode(_DEV_KEY).decode()}"


def test_roundtrip_tamper_and_wrong_column():
    from api.core.fieldcrypt import FieldCryptError, build_keyring

    ring = build_keyring(f"a:{_key(1)}", None, "test")
    sealed = ring.encrypt("DE89370400440532013000", "payment_methods.bank_account_number")
    assert sealed.startswith("ehbenc:v1:a:") and "0532013000" not in sealed
    assert ring.decrypt(sealed, "payment_methods.bank_account_number") == "DE89370400440532013000"
    with pytest.raises(FieldCryptError):
        ring.decrypt(sealed, "users.mfa_secret")  # ciphertext moved to another column
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(FieldCryptError):
        ring.decrypt(tampered, "payment_methods.bank_account_number")
    assert ring.encrypt("x", "t.c") != ring.encrypt("x", "t.c")  # fresh nonce each time
    with pytest.raises(FieldCryptError):
        build_keyring(None, None, "production")
    with pytest.raises(FieldCryptError):
        build_keyring("a:c2hvcnQ=", None, "test")
    with pytest.raises(FieldCryptError):
        build_keyring(f"a:{_key(1)}", "b", "test")


def test_rotate_reencrypts_every_registered_column(client, funded, auth_headers, db, monkeypatch):
    from api.core import fieldcrypt
    from api.db import Base, get_engine
    from api.payments.models import PaymentMethod
    from api.registry import import_all_models

    user, _ = funded(0)
    h = auth_headers(user)
    monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{_dev()},old:{_key(7)}")
    fieldcrypt.keyring.cache_clear()
    try:
        r = client.post("/api/v1/payments/methods/bank-accounts", headers=h,
                        json={"account_number": "GB29NWBK60161331926819", "routing": "NWBKGB2L"})
        method_id = r.json()["id"]
        r = client.post("/api/v1/payments/methods/cards", headers=h,
                        json={"number": "4242424242424242", "exp_month": 1, "exp_year": 2099})
        card_id = r.json()["id"]

        def stored(mid, col):
            return db.execute(text(f"SELECT {col} FROM payment_methods WHERE id = :i"),
                              {"i": mid}).scalar()

        assert fieldcrypt.key_id_of(stored(method_id, "bank_account_number")) == "old"
        # New key active, old still readable: no downtime.
        monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{_dev()},old:{_key(7)},new:{_key(8)}")
        fieldcrypt.keyring.cache_clear()
        import_all_models()
        counts = fieldcrypt.rotate(get_engine(), Base.metadata, batch_size=2)
        assert counts["payment_methods.bank_account_number"] >= 1
        assert counts["payment_methods.card_fingerprint"] >= 1
        assert {fieldcrypt.key_id_of(stored(method_id, "bank_account_number")),
                fieldcrypt.key_id_of(stored(card_id, "card_fingerprint"))} == {"new"}
        # Only the new key remains: values still read back.
        monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"new:{_key(8)}")
        fieldcrypt.keyring.cache_clear()
        db.expire_all()
        assert db.get(PaymentMethod, method_id).bank_account_number == "GB29NWBK60161331926819"
        assert fieldcrypt.rotate(get_engine(), Base.metadata)["payment_methods.bank_account_number"] == 0
    finally:
        # Rotate everything back to the development key the rest of the suite reads with.
        monkeypatch.setenv("FIELD_ENCRYPTION_KEYS", f"{_dev()},old:{_key(7)},new:{_key(8)}")
        monkeypatch.setenv("FIELD_ENCRYPTION_ACTIVE_KEY", "dev-insecure")
        fieldcrypt.keyring.cache_clear()
        fieldcrypt.rotate(get_engine(), Base.metadata)
        os.environ.pop("FIELD_ENCRYPTION_KEYS", None)
        os.environ.pop("FIELD_ENCRYPTION_ACTIVE_KEY", None)
        fieldcrypt.keyring.cache_clear()
