"""EHB-AUTHENTICATION: registration, login, tokens, MFA, password reset, roles."""
