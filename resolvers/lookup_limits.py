"""The public lookups' rate limit, as GraphQL sees it: a top-level `RATE_LIMITED` error with
`extensions.retryAfterSeconds`."""

from __future__ import annotations

from datetime import timedelta

from schema.context import Context
from schema.errors import ClientError
from schema.sql import RequestEnv
from services.accounts.journal import Journal, RequestMeta
from services.lookup_limits import LOOKUP_REFUSED, RateLimit, lookup_keys, within


def lookup_rate(ctx: Context) -> RateLimit:
    s = ctx.settings
    return RateLimit(s.lookup_rate_limit, timedelta(seconds=s.lookup_rate_window_seconds))


async def check_lookup_rate(ctx: Context) -> None:
    rate = lookup_rate(ctx)
    if not await within(ctx.journal, lookup_keys(ctx.actor, ctx.meta.address), rate, ctx.lookups):
        raise ClientError(LOOKUP_REFUSED, "RATE_LIMITED", retry_after=rate.retry_after(ctx.now))


async def lookup_admitted(env: RequestEnv) -> bool:
    """The same count for the compiled read path (it has no `Context`): False when over the limit
    (the executor then answers the refusal, counting the attempt once more, as a retry would)."""
    s = env.runtime.settings
    rate = RateLimit(s.lookup_rate_limit, timedelta(seconds=s.lookup_rate_window_seconds))
    journal = Journal(env.runtime.session_factory, RequestMeta(address=env.address, user_agent=None), env.now)
    return await within(journal, lookup_keys(env.actor, env.address), rate, env.runtime.lookups)
