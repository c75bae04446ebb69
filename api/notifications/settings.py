"""Notification delivery settings (env prefix NOTIFICATIONS_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", env_file=".env",
                                      extra="ignore")

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    mail_from: str = "EHB-5 <no-reply@ehb5.local>"
    sms_provider: str = "local"  # local: rows in notification_sms_sink
    max_attempts: int = 6
    # Wait before retry n (n >= 1): min(backoff_base * 2 ** (n - 1), backoff_max) seconds.
    backoff_base_seconds: int = 30
    backoff_max_seconds: int = 3600
    due_batch_size: int = 200
    # In-app push (WebSockets): open sockets per user and API process, connects allowed per
    # client address and per user (`limits` rate strings, in the gateway's rate-limit storage),
    # and how often open sockets are checked against their login (a socket whose session
    # ended or whose user was disabled is closed within about this many seconds).
    push_max_sockets_per_user: int = 5
    push_connect_rate_per_client: str = "60/minute"
    push_connect_rate_per_user: str = "30/minute"
    push_recheck_seconds: float = 2.0


@lru_cache
def get_notification_settings() -> NotificationSettings:
    return NotificationSettings()
