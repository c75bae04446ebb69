"""Logins through the auth service (api.auth.login.login), when that service is installed:
returning users log in with decaying probability; a few bad actors try passwords from a
handful of addresses (failed logins, lockouts)."""

from __future__ import annotations

import importlib.util
from datetime import date

from api.core.errors import AppError

BAD_ACTOR_IPS = ("203.0.113.7", "198.51.100.23", "192.0.2.99")


class AuthActivity:
    name = "auth"

    def available(self) -> bool:
        return importlib.util.find_spec("api.auth.login") is not None

    def day(self, ctx, index: int, day: date) -> None:
        from api.auth.login import ClientInfo, login

        rng = ctx.rng
        weekday = (1.0, 1.05, 1.1, 1.05, 1.0, 0.75, 0.65)[day.weekday()]
        for user in ctx.users:
            if not user["verified"]:
                continue
            age = index - user["signup_day"]
            p = min(0.9, 0.2 * user["engagement"] * weekday / (1 + age / 10))
            if age == 0:
                p = 0.8  # first login right after signing up
            if rng.random() >= p:
                continue
            ip = f"10.{user['id'] % 250}.{(user['id'] // 250) % 250}.{rng.randint(1, 250)}"
            typo = rng.random() < 0.04  # honest users mistype sometimes
            self._attempt(ctx, login, ClientInfo(ip=ip, user_agent="sim-browser"), day,
                          ctx.daytime(), user["email"], user["password"] + ("x" if typo else ""))
        if ctx.users and rng.random() < 0.25:  # a guessing burst: one victim or many accounts
            ip = rng.choice(BAD_ACTOR_IPS)
            victim = rng.choice(ctx.users)["email"] if rng.random() < 0.5 else None
            start = ctx.daytime()
            for k in range(rng.randint(8, 30)):
                target = victim or rng.choice(ctx.users)["email"]
                self._attempt(ctx, login, ClientInfo(ip=ip, user_agent="curl/8"), day,
                              min(86_399.0, start + 3 * k), target,
                              f"guess-{rng.getrandbits(24):06x}")

    def _attempt(self, ctx, login, client, day, seconds, email, password) -> None:
        now = ctx.at(day, seconds)
        with ctx.session() as session:
            try:
                login(session, email, password, client=client, now=now)
                ctx.count("logins")
            except AppError:
                session.rollback()
                ctx.count("login_failures")


ACTIVITY = AuthActivity()
