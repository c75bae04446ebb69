"""Sign-ups through api.auth.service.create_user, with a welcome message through the
notification outbox (api.notifications.service.enqueue) and, for a share of customers, the
affiliate attribution (api.affiliates.service.attribute_signup, as registration with a
referral code does), in one unit of work per user."""

from __future__ import annotations

from datetime import date

from api.auth.service import create_user
from api.core.errors import Conflict
from api.notifications.service import enqueue
from api.simulator.activities.affiliates import referral_code

FIRST = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jia", "kofi",
         "lena", "mo", "nia", "omar", "pia", "quinn", "ravi", "sara", "tomas", "uma", "vic",
         "wen", "xena", "yusuf", "zoe")
LAST = ("abebe", "berg", "costa", "diaz", "evans", "fischer", "garcia", "haddad", "ito",
        "jensen", "kim", "lopez", "mensah", "novak", "okafor", "patel", "rossi", "silva",
        "tanaka", "ueda", "vargas", "weber", "xu", "yilmaz", "zhang")
DOMAINS = ("example.com", "mail.example.org", "inbox.example.net", "corp.example.com")
# role mix: mostly customers, a few sellers (some heavy), affiliates, franchisees, staff
ROLES = ((["customer"], 0.80), (["customer", "seller"], 0.10), (["customer", "affiliate"], 0.06),
         (["franchisee"], 0.015), (["support"], 0.015), (["analyst"], 0.01))


class UsersActivity:
    name = "users"

    def available(self) -> bool:
        return True

    def day(self, ctx, index: int, day: date) -> None:
        n = ctx.plan[index]
        rng = ctx.rng
        for _ in range(n):
            i = len(ctx.users)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first}.{last}.{ctx.seed}.{i}@{rng.choice(DOMAINS)}"
            password = f"sim-{ctx.seed}-{i}-{rng.getrandbits(32):08x}"
            roles = rng.choices([r for r, _ in ROLES], weights=[w for _, w in ROLES])[0]
            if i % 60 == 1:  # enough support agents for the ticket flow at any size
                roles = ["support"]
            elif i % 60 == 2:  # and a franchisee and an affiliate even in small runs
                roles = ["franchisee"]
            elif i % 30 == 3:
                roles = ["customer", "affiliate"]
            code = referral_code(ctx) if list(roles) == ["customer"] else None
            verified = rng.random() < 0.86
            ctx.at(day, ctx.daytime())
            with ctx.session() as session:
                try:
                    user = create_user(session, email, password, roles=list(roles),
                                       display_name=f"{first.title()} {last.title()}",
                                       verified=verified)
                    if code:  # came through an affiliate's link: attributed in this commit
                        from api.affiliates.service import attribute_signup

                        attribute_signup(session, user.id, code, now=ctx.clock.now)
                except Conflict:
                    raise SystemExit(f"{email} already exists: this database already holds "
                                     f"simulated data for seed {ctx.seed}; use another seed")
                enqueue(session, channel="email", category="auth.welcome", recipient=email,
                        subject="Welcome to EHB-5", body="Welcome!", user_id=user.id)
                session.commit()
                ctx.users.append({"id": user.id, "email": email, "password": password,
                                  "roles": frozenset(roles),
                                  "signup_day": index, "verified": verified,
                                  # engagement: how often this user comes back (heavy tail)
                                  "engagement": rng.paretovariate(2.5) - 0.9})
            ctx.count("users")
            if code:
                ctx.count("referred_signups")
            ctx.count("notifications")


ACTIVITY = UsersActivity()
