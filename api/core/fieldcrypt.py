"""Field encryption: AES-256-GCM per value, each tagged with the id of the key that sealed it.

Stored form: ``ehbenc:v1:<key id>:<base64url(nonce 12 B | ciphertext+tag)>``. The column's
name is bound in as associated data, so a ciphertext copied into another column does not
decrypt. Keys come from the environment or `.env` (FieldEncryptionSettings), never from the
repository:

    FIELD_ENCRYPTION_KEYS="k2026a:<base64 32 bytes>,k2026b:<base64 32 bytes>"
    FIELD_ENCRYPTION_ACTIVE_KEY=k2026b      # new writes; default: the last key listed

Reads accept every key in the ring, so rotation is: add the new key and make it active
(deploy), run `ehb keys rotate` (re-encrypts in batches while the service runs), then drop
the old key. Without FIELD_ENCRYPTION_KEYS, development and test use one key derived from a
public string (id ``dev-insecure``): NOT for production, where start-up refuses it, in the
ring or not.

Use: ``mapped_column(EncryptedString("users.mfa_secret"))``. Values without the prefix are
legacy plaintext: read as-is, and sealed by the next write or by `ehb keys rotate`.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from api.settings import current_env, refuse_in_production

PREFIX = "ehbenc:v1:"
DEV_KEY_ID = "dev-insecure"
_DEV_KEY = hashlib.sha256(b"EHB-5 development field-encryption key - NOT FOR PRODUCTION").digest()


class FieldCryptError(Exception):
    pass


@dataclass(frozen=True)
class KeyRing:
    keys: dict[str, bytes]
    active: str

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}{self.active}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, context: str) -> str:
        if not is_encrypted(stored):
            return stored  # legacy plaintext, sealed on next write or rotation
        key_id, _, blob = stored[len(PREFIX):].partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise FieldCryptError(f"value sealed with unknown key id '{key_id}'")
        raw = base64.urlsafe_b64decode(blob)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except Exception as exc:  # InvalidTag: altered value or wrong column
            raise FieldCryptError(f"value does not authenticate under key '{key_id}'") from exc


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def key_id_of(stored: str) -> str | None:
    return stored[len(PREFIX):].partition(":")[0] if is_encrypted(stored) else None


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key_id, sep, b64 = part.partition(":")
        if not sep or not key_id or ":" in key_id:
            raise FieldCryptError("FIELD_ENCRYPTION_KEYS entries look like <key id>:<base64 key>")
        key = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_")
        if len(key) != 32:
            raise FieldCryptError(f"key '{key_id}' must be 32 bytes (AES-256), got {len(key)}")
        keys[key_id] = key
    return keys


def development_key_problem(spec: str | None) -> str | None:
    """Why this key ring is not fit for production (unset, or holding the public development
    key under any id); None when it is."""
    if not spec:
        return "FIELD_ENCRYPTION_KEYS must be set"
    try:
        keys = parse_keys(spec)
    except FieldCryptError as exc:
        return str(exc)
    if DEV_KEY_ID in keys or _DEV_KEY in keys.values():
        return "FIELD_ENCRYPTION_KEYS must not hold the public development key"
    return None


def build_keyring(spec: str | None, active: str | None, env: str) -> KeyRing:
    if env == "production":
        problem = development_key_problem(spec)
        if problem:
            raise FieldCryptError(f"{problem} when EHB_ENV=production")
    if not spec:
        return KeyRing({DEV_KEY_ID: _DEV_KEY}, DEV_KEY_ID)
    keys = parse_keys(spec)
    active = active or list(keys)[-1]
    if active not in keys:
        raise FieldCryptError(f"FIELD_ENCRYPTION_ACTIVE_KEY '{active}' is not in the key ring")
    return KeyRing(keys, active)


class FieldEncryptionSettings(BaseSettings):
    """FIELD_ENCRYPTION_KEYS and FIELD_ENCRYPTION_ACTIVE_KEY, from the environment or `.env`
    like every setting (they were read from os.environ alone: keys kept in .env were ignored
    and the development key used instead)."""

    model_config = SettingsConfigDict(env_prefix="FIELD_ENCRYPTION_", env_file=".env",
                                      extra="ignore")

    keys: SecretStr | None = None
    active_key: str | None = None

    @model_validator(mode="after")
    def _refuse_development_key(self) -> "FieldEncryptionSettings":
        refuse_in_production(development_key_problem(self.spec))
        return self

    @property
    def spec(self) -> str | None:
        return self.keys.get_secret_value() if self.keys is not None else None


@lru_cache
def keyring() -> KeyRing:
    settings = FieldEncryptionSettings()
    return build_keyring(settings.spec, settings.active_key, current_env())


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


class EncryptedString(TypeDecorator):
    """A text column holding AES-GCM ciphertext; Python sees the plaintext."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str):
        super().__init__()
        self.context = context  # "<table>.<column>", bound in as associated data

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return keyring().encrypt(value, self.context)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return keyring().decrypt(value, self.context)


def encrypted_columns(metadata) -> list[tuple[str, str, str, EncryptedString]]:
    """(table, primary key column, column, type) of every EncryptedString column."""
    found = []
    for table in metadata.sorted_tables:
        pk = [c.name for c in table.primary_key.columns]
        for column in table.columns:
            if isinstance(column.type, EncryptedString) and len(pk) == 1:
                found.append((table.name, pk[0], column.name, column.type))
    return found


def rotate(engine, metadata, batch_size: int = 500) -> dict[str, int]:
    """Re-encrypt every registered column under the active key, batch by batch, each batch its
    own short transaction; a row changed meanwhile is left for the next run (compare-and-set)."""
    from sqlalchemy import text

    ring = keyring()
    counts: dict[str, int] = {}
    active_prefix = f"{PREFIX}{ring.active}:"
    for table, pk, column, coltype in encrypted_columns(metadata):
        done, last = 0, None
        while True:
            after = f'AND "{pk}" > :last ' if last is not None else ""
            with engine.begin() as conn:
                rows = conn.execute(text(
                    f'SELECT "{pk}", "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL '
                    f'AND "{column}" NOT LIKE :active {after}ORDER BY "{pk}" LIMIT :n'),
                    {"active": active_prefix.replace("_", r"\_") + "%", "last": last,
                     "n": batch_size}).all()
                for row_id, stored in rows:
                    plain = ring.decrypt(stored, coltype.context)
                    done += conn.execute(text(
                        f'UPDATE "{table}" SET "{column}" = :new WHERE "{pk}" = :id '
                        f'AND "{column}" = :old'),
                        {"new": ring.encrypt(plain, coltype.context), "id": row_id,
                         "old": stored}).rowcount
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
        counts[f"{table}.{column}"] = done
    return counts
