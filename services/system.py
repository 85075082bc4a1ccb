"""The service acting on its own (scheduled jobs, the command line)."""

from __future__ import annotations

from services.accounts.journal import RequestMeta

SYSTEM_META = RequestMeta(address=None, user_agent="system")
