"""The public lookups' rate limit, as GraphQL sees it: a top-level `RATE_LIMITED` error with
`extensions.retryAfterSeconds`."""

from __future__ import annotations

from datetime import timedelta

from schema.context import Context
from schema.errors import ClientError
from services.lookup_limits import LOOKUP_REFUSED, RateLimit, lookup_keys, within


def lookup_rate(ctx: Context) -> RateLimit:
    s = ctx.settings
    return RateLimit(s.lookup_rate_limit, timedelta(seconds=s.lookup_rate_window_seconds))


async def check_lookup_rate(ctx: Context) -> None:
    rate = lookup_rate(ctx)
    if not await within(ctx.journal, lookup_keys(ctx.actor, ctx.meta.address), rate, ctx.lookups):
        raise ClientError(LOOKUP_REFUSED, "RATE_LIMITED", retry_after=rate.retry_after(ctx.now))
