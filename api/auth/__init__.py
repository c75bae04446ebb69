"""EHB-AUTHENTICATION: accounts, login sessions, MFA, brute-force protection.

Modules: service (accounts: register, verify, password change/reset, MFA off), login (login,
refresh, logout), sessions (refresh-token families: rotation, reuse detection, revocation),
email_tokens (single-use mailed tokens, hashed), mfa (TOTP with single-use steps, recovery
codes), throttle (per-account and per-client lockout), events (security_events), tokens (JWT
access tokens), passwords (argon2id, policy), dependencies (`require(permission)`).

A login is a refresh-token family; access tokens carry it as `sid`, and `require()` refuses a
token whose family was revoked (logout, revoke-others, password reset, user disabled, token
reuse), in the same single query that loads the user. Tokens without `sid` (only minted by
tests) are not tied to a session."""
