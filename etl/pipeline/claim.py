"""Stage 1: claim pending artworks in batches under a lease, so any number of workers share the work."""

import psycopg

from backend.store.embed_queue import ClaimedArtwork, claim_pending_artworks


class ClaimArtworks:
    """Claim the next batch of pending artworks; an empty batch means the work (or this run's limit) is done."""

    def __init__(
        self,
        conn: psycopg.Connection,
        batch_size: int,
        lease_seconds: float,
        max_attempts: int,
        limit: int | None = None,
    ) -> None:
        self.conn = conn
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.remaining = limit

    def __call__(self) -> list[ClaimedArtwork]:
        size = self.batch_size if self.remaining is None else min(self.batch_size, self.remaining)
        if size <= 0:
            return []
        claims = claim_pending_artworks(self.conn, size, self.lease_seconds, self.max_attempts)
        if self.remaining is not None:
            self.remaining -= len(claims)
        return claims
