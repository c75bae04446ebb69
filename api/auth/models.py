"""Auth tables: users, refresh-token families, single-use email tokens, MFA recovery codes,
login throttles and the security event log other services and the warehouse read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.core.fieldcrypt import EncryptedString
from api.db import Base, TimestampMixin


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Stored lower-cased; uniqueness is case-insensitive by construction.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=lambda: ["customer"])
    is_active: Mapped[bool] = mapped_column(default=True)
    email_verified_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # TOTP: the secret (AES-GCM at rest, rotated by `ehb keys rotate`) while set up, enabled once confirmed; last accepted time step makes
    # every code single-use.
    mfa_secret: Mapped[str | None] = mapped_column(EncryptedString("users.mfa_secret"))
    mfa_enabled_at: Mapped[datetime | None]
    mfa_last_timestep: Mapped[int | None]
    # Referral attribution etc. hangs off users in other domains; keep this table lean.


class RefreshToken(TimestampMixin, Base):
    """One row per issued refresh token. Tokens of one login share a family; presenting a
    rotated (already used) token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    client_ip: Mapped[str | None] = mapped_column(String(64))


class EmailToken(TimestampMixin, Base):
    """Single-use, expiring tokens mailed to the user (email verification, password reset)."""

    __tablename__ = "email_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(TimestampMixin, Base):
    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    used_at: Mapped[datetime | None]


class LoginThrottle(TimestampMixin, Base):
    """Consecutive login failures per account, per client, and per (account, client); drives
    backoff and lockout (api.auth.throttle)."""

    __tablename__ = "login_throttles"

    # "account:<email>" | "client:<ip>" | "pair:<email>|<ip or device:<id>>"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]


class KnownDevice(TimestampMixin, Base):
    """A browser or app a user signed in from, by the SHA-256 of its device cookie: a sign-in
    from it passes the account-wide lock that failures from other clients cause."""

    __tablename__ = "known_devices"
    __table_args__ = (UniqueConstraint("user_id", "device_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    device_hash: Mapped[str] = mapped_column(String(64))
    last_login_at: Mapped[datetime]


class SecurityEvent(Base):
    """Append-only log of security-relevant facts (login failures, lockouts, token reuse, ...)."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_type_time", "event_type", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
