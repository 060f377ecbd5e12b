"""The embedding work queue kept in the artworks table: claim under a lease with SKIP LOCKED, then finish,
fail, postpone or release each claim.

A claim increments embed_attempts; that number is the claim's fencing token: a worker whose lease ran out
and whose rows were claimed again by another worker can no longer write them, so nothing is embedded twice.
For a pending row, lease_expires_at means "not before": a transient failure's backoff.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

from backend.images import Thumbnail
from backend.map_levels import tile_key
from backend.models import QUEUED, EmbedStatus
from backend.store.tiles import FullTiles, choose_zooms, write_thumbnails

CLAIM_PENDING_ARTWORKS = f"""
WITH claimable AS (
    SELECT id
    FROM artworks
    WHERE embed_status IN {QUEUED}
      AND NOT deleted
      AND (lease_expires_at IS NULL OR lease_expires_at < now())
      AND embed_attempts < %(max_attempts)s
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE artworks AS a
SET embed_status = '{EmbedStatus.CLAIMED}',
    lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
    embed_attempts = a.embed_attempts + 1,
    updated_at = now()
FROM claimable
WHERE a.id = claimable.id
RETURNING a.id, a.source, a.image_url, a.embed_attempts
"""

FAIL_EXHAUSTED_ARTWORKS = f"""
UPDATE artworks
SET embed_status = '{EmbedStatus.FAILED}',
    embed_error = 'gave up after ' || embed_attempts || ' attempts: '
        || coalesce(embed_error, 'the worker stopped before finishing (killed or crashed)'),
    lease_expires_at = NULL,
    updated_at = now()
WHERE embed_status IN {QUEUED}
  AND NOT deleted
  AND (lease_expires_at IS NULL OR lease_expires_at < now())
  AND embed_attempts >= %(max_attempts)s
"""

MARK_EMBEDDED = f"""
UPDATE artworks AS a
SET embed_status = '{EmbedStatus.EMBEDDED}', lease_expires_at = NULL, embed_error = NULL, embed_error_detail = NULL,
    updated_at = now()
FROM unnest(%(ids)s::bigint[], %(attempts)s::integer[]) AS c(id, attempt)
WHERE a.id = c.id AND a.embed_status = '{EmbedStatus.CLAIMED}' AND a.embed_attempts = c.attempt
RETURNING a.id
"""

INSERT_EMBEDDING = """
INSERT INTO embeddings (artwork_id, model, embedding)
VALUES (%s, %s, %s)
ON CONFLICT (artwork_id) DO UPDATE
SET model = EXCLUDED.model, embedding = EXCLUDED.embedding, created_at = now()
"""

UPSERT_MAP_POSITION = """
INSERT INTO map_positions (artwork_id, projection_id, x, y, zoom, tile_key)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (artwork_id) DO UPDATE
SET projection_id = EXCLUDED.projection_id, x = EXCLUDED.x, y = EXCLUDED.y, zoom = EXCLUDED.zoom,
    tile_key = EXCLUDED.tile_key
"""

# A new vector without a map yet: no position computed from an earlier vector may outlive it.
DELETE_MAP_POSITIONS = "DELETE FROM map_positions WHERE artwork_id = ANY(%s)"

MARK_FAILED = f"""
UPDATE artworks
SET embed_status = '{EmbedStatus.FAILED}', embed_error = %(reason)s, embed_error_detail = %(detail)s,
    lease_expires_at = NULL, updated_at = now()
WHERE id = %(id)s AND embed_status = '{EmbedStatus.CLAIMED}' AND embed_attempts = %(attempt)s
"""

POSTPONE = f"""
UPDATE artworks
SET embed_status = '{EmbedStatus.PENDING}', embed_error = %(reason)s, embed_error_detail = %(detail)s,
    lease_expires_at = now() + make_interval(secs => %(delay_s)s), updated_at = now()
WHERE id = %(id)s AND embed_status = '{EmbedStatus.CLAIMED}' AND embed_attempts = %(attempt)s
"""

# A claim handed back untried does not count as an attempt.
RELEASE = f"""
UPDATE artworks AS a
SET embed_status = '{EmbedStatus.PENDING}', lease_expires_at = NULL, embed_attempts = a.embed_attempts - 1,
    updated_at = now()
FROM unnest(%(ids)s::bigint[], %(attempts)s::integer[]) AS c(id, attempt)
WHERE a.id = c.id AND a.embed_status = '{EmbedStatus.CLAIMED}' AND a.embed_attempts = c.attempt
"""


@dataclass(frozen=True)
class ClaimedArtwork:
    """An artwork this worker holds under a lease; `attempt` is the claim's fencing token; `local_path` is a
    folder work's image file once checked to lie inside a crawled folder."""

    id: int
    source: str
    image_url: str | None
    attempt: int
    local_path: Path | None = None


def claim_pending_artworks(
    conn: psycopg.Connection, limit: int, lease_seconds: float, max_attempts: int
) -> list[ClaimedArtwork]:
    """Claim up to `limit` claimable artworks (pending, or claimed with an expired lease), lowest id first."""
    with conn.transaction():
        rows = conn.execute(
            CLAIM_PENDING_ARTWORKS,
            {"limit": limit, "lease_seconds": lease_seconds, "max_attempts": max_attempts},
        ).fetchall()
    return [ClaimedArtwork(*row) for row in rows]


def fail_exhausted_artworks(conn: psycopg.Connection, max_attempts: int) -> int:
    """Record as failed the artworks whose every attempt ended without a result, so none waits forever."""
    with conn.transaction():
        return conn.execute(FAIL_EXHAUSTED_ARTWORKS, {"max_attempts": max_attempts}).rowcount


def save_embeddings(
    conn: psycopg.Connection,
    claims: Sequence[ClaimedArtwork],
    vectors: np.ndarray,
    model: str,
    projection_id: int | None,
    coordinates: np.ndarray | None,
    thumbnails: Sequence[Thumbnail | None] | None = None,
    full_tiles: FullTiles | None = None,
) -> set[int]:
    """Store vectors, thumbnails and map positions (on version projection_id, listed at the first zoom with room,
    when a map exists) and mark the artworks embedded, in one transaction; returns the ids written.

    Claims this worker no longer holds (its lease ran out and another worker took them) are skipped.
    """
    with conn.transaction():
        rows = conn.execute(
            MARK_EMBEDDED, {"ids": [c.id for c in claims], "attempts": [c.attempt for c in claims]}
        ).fetchall()
        written = {row[0] for row in rows}
        keep = [i for i, claim in enumerate(claims) if claim.id in written]
        ids = np.array([claims[i].id for i in keep], dtype=np.int64)
        with conn.cursor() as cur:
            cur.executemany(INSERT_EMBEDDING, [(claims[i].id, model, vectors[i]) for i in keep])
            if thumbnails is not None:
                small = [(claims[i].id, t.jpeg, t.width, t.height) for i in keep if (t := thumbnails[i]) is not None]
                write_thumbnails(conn, small)
            if projection_id is not None and coordinates is not None and keep:
                xy = coordinates[keep]
                zooms, keys = choose_zooms(conn, projection_id, xy, full_tiles).tolist(), tile_key(xy).tolist()
                positions = [
                    (int(artwork_id), projection_id, x, y, zoom, key)
                    for artwork_id, (x, y), zoom, key in zip(ids, xy.tolist(), zooms, keys, strict=True)
                ]
                cur.executemany(UPSERT_MAP_POSITION, positions)
            elif keep:
                cur.execute(DELETE_MAP_POSITIONS, (ids.tolist(),))
    return written


def mark_failed(conn: psycopg.Connection, claim: ClaimedArtwork, reason: str, detail: str | None = None) -> bool:
    """A permanent failure: recorded with its reason (a class) and detail, and never claimed again."""
    with conn.transaction():
        params = {"id": claim.id, "attempt": claim.attempt, "reason": reason, "detail": detail}
        return conn.execute(MARK_FAILED, params).rowcount == 1


def postpone(conn: psycopg.Connection, claim: ClaimedArtwork, reason: str, detail: str | None, delay_s: float) -> bool:
    """A transient failure: back to pending, claimable again after delay_s."""
    with conn.transaction():
        params = {"id": claim.id, "attempt": claim.attempt, "reason": reason, "detail": detail, "delay_s": delay_s}
        return conn.execute(POSTPONE, params).rowcount == 1


def release_claims(conn: psycopg.Connection, claims: Sequence[ClaimedArtwork]) -> int:
    """Hand untried claims back to the pool at once (a clean shutdown), without counting an attempt."""
    if not claims:
        return 0
    with conn.transaction():
        params = {"ids": [c.id for c in claims], "attempts": [c.attempt for c in claims]}
        return conn.execute(RELEASE, params).rowcount
