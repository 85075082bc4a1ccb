"""Accounts: registration, sign-in, tokens, locks, staff, apps and audit (Trà Vinh art. 6–7)."""
