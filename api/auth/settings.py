"""Auth settings (env prefix AUTH_): token lifetimes, brute-force thresholds, MFA."""

from __future__ import annotations

import hashlib
from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import get_settings


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", env_file=".env", extra="ignore")

    verify_email_ttl_hours: int = 48
    password_reset_ttl_minutes: int = 60
    # Brute force: after N consecutive failures the key is locked for base seconds, doubling
    # with every further failure up to max. Keys: one account from one client (its address, or
    # its device once known) locks first; the whole account locks later, and only for clients
    # it does not know (a known device or a correct second factor passes, so no one can lock
    # the owner out); a client (IP) may front many people, so it gets a higher threshold.
    pair_max_failures: int = 5
    account_max_failures: int = 10
    client_max_failures: int = 20
    # Wrong second-factor codes (after a right password) from all clients together: once
    # locked, a code no longer passes the account lock, so knowing the password does not buy
    # five code guesses per address.
    mfa_max_failures: int = 5
    # A device a user signed in from is known (its cookie passes account-wide locks) until
    # this long after its last sign-in.
    known_device_ttl_days: int = 180
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 3600
    # A counter whose last failure is older than this starts again from zero.
    failure_window_seconds: int = 3600
    # Two refreshes racing with one token (two browser tabs, a retried request) are not
    # theft: the token's direct successor is still unused, it was rotated moments ago and the
    # caller is the same client. Within this many seconds such a replay gets a sibling token
    # instead of revoking the login (Auth0's "reuse interval"). 0 turns the leeway off.
    refresh_reuse_leeway_seconds: int = 10
    totp_issuer: str = "EHB-5"
    recovery_code_count: int = 10
    # Key for HMAC-SHA256 of recovery codes; unset derives one from JWT_SECRET.
    pepper: SecretStr | None = None

    def pepper_bytes(self) -> bytes:
        if self.pepper is not None:
            return self.pepper.get_secret_value().encode()
        secret = get_settings().jwt_secret.get_secret_value().encode()
        return hashlib.sha256(b"ehb-recovery-code-pepper:" + secret).digest()


@lru_cache
def get_auth_settings() -> AuthSettings:
    return AuthSettings()
