"""Artwork upserts, crawl checkpoints and crawl failures: one transaction per crawled page."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from backend.models import EmbedStatus
from backend.store.records import ArtworkRecord
from backend.store.tiles import bump_current_revision

COLUMNS = (
    "title", "maker", "date_display", "year_start", "year_end", "object_type", "description", "license",
    "institution", "object_number", "image_url", "thumbnail_url", "full_image_url", "page_url", "raw", "deleted",
)  # fmt: skip

# A changed image invalidates the embedding: back to 'pending' with a clean slate (its vector and map position
# are deleted separately, in the same transaction). Rows whose values are all unchanged are not touched at all.
_IMAGE_CHANGED = "artworks.image_url IS DISTINCT FROM EXCLUDED.image_url"
UPSERT_SQL = f"""
INSERT INTO artworks (source, source_id, {", ".join(COLUMNS)})
VALUES (%s, %s, {", ".join(["%s"] * len(COLUMNS))})
ON CONFLICT (source, source_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)},
    updated_at = now(),
    embed_status = CASE WHEN {_IMAGE_CHANGED} THEN '{EmbedStatus.PENDING}' ELSE artworks.embed_status END,
    embed_attempts = CASE WHEN {_IMAGE_CHANGED} THEN 0 ELSE artworks.embed_attempts END,
    embed_error = CASE WHEN {_IMAGE_CHANGED} THEN NULL ELSE artworks.embed_error END,
    embed_error_detail = CASE WHEN {_IMAGE_CHANGED} THEN NULL ELSE artworks.embed_error_detail END,
    lease_expires_at = CASE WHEN {_IMAGE_CHANGED} THEN NULL ELSE artworks.lease_expires_at END
WHERE ({", ".join(f"artworks.{c}" for c in COLUMNS)})
    IS DISTINCT FROM ({", ".join(f"EXCLUDED.{c}" for c in COLUMNS)})
RETURNING (xmax = 0) AS inserted
"""

DELETE_STALE_EMBEDDINGS_SQL = """
WITH stale AS (
    DELETE FROM embeddings e
    USING artworks a, unnest(%(source_ids)s::text[], %(image_urls)s::text[]) AS n(source_id, image_url)
    WHERE a.source = %(source)s AND a.source_id = n.source_id
      AND a.image_url IS DISTINCT FROM n.image_url AND e.artwork_id = a.id
    RETURNING e.artwork_id
)
DELETE FROM map_positions m USING stale WHERE m.artwork_id = stale.artwork_id
"""

MARK_DELETED_SQL = """
UPDATE artworks SET deleted = true, updated_at = now()
WHERE source = %(source)s AND source_id = ANY(%(source_ids)s) AND NOT deleted
"""

INSERT_CRAWL_FAILURE = "INSERT INTO crawl_failures (source, partition, url, reason, detail) VALUES (%s, %s, %s, %s, %s)"

SAVE_CHECKPOINT_SQL = """
INSERT INTO crawl_checkpoints (source, partition, cursor, done, records)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (source, partition) DO UPDATE SET
    cursor = EXCLUDED.cursor, done = EXCLUDED.done,
    records = crawl_checkpoints.records + EXCLUDED.records, updated_at = now()
"""


@dataclass(frozen=True)
class Checkpoint:
    """Where a partition stopped."""

    cursor: dict[str, Any]
    done: bool
    records: int


@dataclass(frozen=True)
class SaveResult:
    """What one page did to the table."""

    inserted: int
    updated: int
    unchanged: int
    deleted: int


def save_page(
    conn: psycopg.Connection,
    source: str,
    partition: str,
    records: Sequence[ArtworkRecord],
    failures: Iterable[tuple[str, str]],
    cursor: dict[str, Any] | None,
    done: bool,
) -> SaveResult:
    """Upsert a page's records, record its failures and move its partition's checkpoint, all or nothing.

    cursor None leaves the checkpoint where it is (a page stored only in part, e.g. under --limit).
    """
    live = [r for r in records if not r.deleted]
    withdrawn = [r.source_id for r in records if r.deleted]
    with conn.transaction(), conn.cursor() as cur:
        inserted = updated = unplaced = 0
        if live:
            cur.execute(
                DELETE_STALE_EMBEDDINGS_SQL,
                {
                    "source": source,
                    "source_ids": [r.source_id for r in live],
                    "image_urls": [r.image_url for r in live],
                },
            )
            unplaced = cur.rowcount
            cur.executemany(UPSERT_SQL, [_row(r) for r in live], returning=True)
            while True:
                row = cur.fetchone()
                if row is not None:
                    inserted += row[0]
                    updated += not row[0]
                if not cur.nextset():
                    break
        deleted = 0
        if withdrawn:
            cur.execute(MARK_DELETED_SQL, {"source": source, "source_ids": withdrawn})
            deleted = cur.rowcount
        failure_rows = [(source, partition, url, reason) for url, reason in failures]
        if failure_rows:
            cur.executemany(INSERT_CRAWL_FAILURE, [(*row, None) for row in failure_rows])
        if cursor is not None:
            cur.execute(SAVE_CHECKPOINT_SQL, (source, partition, Jsonb(cursor), done, len(records)))
    if unplaced or deleted:  # works left the map: its tiles changed (after the commit, so no lock is held meanwhile)
        with conn.transaction():
            bump_current_revision(conn)
    return SaveResult(inserted, updated, len(live) - inserted - updated, deleted)


def _row(record: ArtworkRecord) -> tuple[Any, ...]:
    values = asdict(record)
    values["raw"] = Jsonb(values["raw"])
    return (record.source, record.source_id, *(values[c] for c in COLUMNS))


def record_failure(
    conn: psycopg.Connection, source: str, partition: str | None, url: str | None, reason: str, detail: str | None
) -> None:
    """Keep a permanent failure (a page that could not be had) with its reason (a class) and detail."""
    with conn.transaction():
        conn.execute(INSERT_CRAWL_FAILURE, (source, partition, url, reason, detail))


def load_checkpoints(conn: psycopg.Connection, source: str) -> dict[str, Checkpoint]:
    """Every partition checkpoint of a source, by partition key."""
    rows = conn.execute(
        "SELECT partition, cursor, done, records FROM crawl_checkpoints WHERE source = %s", (source,)
    ).fetchall()
    conn.commit()
    return {key: Checkpoint(cursor, done, records) for key, cursor, done, records in rows}


def start_fresh_pass(conn: psycopg.Connection, source: str, partitions: Sequence[str]) -> None:
    """Forget a finished pass's checkpoints and failures, so the next crawl reads the source again."""
    with conn.transaction():
        conn.execute(
            "DELETE FROM crawl_checkpoints WHERE source = %s AND partition = ANY(%s)", (source, list(partitions))
        )
        conn.execute("DELETE FROM crawl_failures WHERE source = %s AND partition = ANY(%s)", (source, list(partitions)))
