"""A per-client limit on the search endpoints, where each request costs a model call and an index scan: one client
cannot take the server's cores from the others; 429 with Retry-After says when to come back."""

import math
import time

from fastapi import HTTPException, Request
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from backend.settings import rate_limits


class SearchRateLimit:
    """Moving windows per client address, kept in this process's memory (each API replica counts its own)."""

    def __init__(self, spec: str) -> None:
        self.items = rate_limits(spec)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def wait_s(self, client: str) -> int | None:
        """Counts one search by `client`; the whole seconds until it may search again when it is over a limit."""
        for item in self.items:
            if not await self.limiter.hit(item, client):
                stats = await self.limiter.get_window_stats(item, client)
                return max(1, math.ceil(stats.reset_time - time.time()))
        return None


async def limit_searches(request: Request) -> None:
    """The dependency the search routes declare: 429 when this client is over its limit."""
    client = request.client.host if request.client else "unknown"
    wait = await request.app.state.search_rate_limit.wait_s(client)
    if wait is not None:
        raise HTTPException(
            429, f"too many searches from this address; try again in {wait} s", headers={"Retry-After": str(wait)}
        )
