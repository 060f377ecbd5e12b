"""Stage 5: vectors and their map coordinates into Postgres, and failures recorded with their reasons."""

from typing import Literal

import psycopg

from backend.projection import MapProjection
from backend.store.embed_queue import ClaimedArtwork, mark_failed, postpone, save_embeddings
from backend.store.tiles import FullTiles
from etl.pipeline.items import EmbeddedBatch, Failure

Outcome = Literal["embedded", "failed", "retry", "lost"]


class WriteResults:
    """Write one embedded batch (one transaction) or one failure; `lost` = the lease went to another worker."""

    def __init__(
        self,
        conn: psycopg.Connection,
        model_name: str,
        projection: MapProjection | None,
        max_attempts: int,
        retry_delay_s: float = 60.0,
    ) -> None:
        self.conn = conn
        self.model_name = model_name
        self.projection = projection
        self.max_attempts = max_attempts
        self.retry_delay_s = retry_delay_s
        self.full_tiles = FullTiles()

    def __call__(self, item: EmbeddedBatch | Failure) -> list[tuple[ClaimedArtwork, Outcome]]:
        if isinstance(item, Failure):
            return [(item.claim, self._record_failure(item))]
        coordinates = self.projection.transform(item.vectors) if self.projection else None
        projection_id = self.projection.id if self.projection else None
        written = save_embeddings(
            self.conn,
            item.claims,
            item.vectors,
            self.model_name,
            projection_id,
            coordinates,
            item.thumbnails,
            self.full_tiles,
        )
        return [(claim, "embedded" if claim.id in written else "lost") for claim in item.claims]

    def _record_failure(self, failure: Failure) -> Outcome:
        claim = failure.claim
        if not failure.transient:
            return "failed" if mark_failed(self.conn, claim, failure.reason, failure.detail) else "lost"
        if claim.attempt >= self.max_attempts:
            reason = f"gave up after {claim.attempt} attempts: {failure.reason}"
            return "failed" if mark_failed(self.conn, claim, reason, failure.detail) else "lost"
        # Spread the next tries out: a host that is down now may be back in minutes.
        delay = failure.retry_after_s or self.retry_delay_s * 2 ** (claim.attempt - 1)
        return "retry" if postpone(self.conn, claim, failure.reason, failure.detail, delay) else "lost"
