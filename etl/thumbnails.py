"""Backfill: thumbnails for works embedded before the pipeline made them. The pipeline makes a work's thumbnail
from the image it embeds; for these the image is downloaded once more (through the same download stage, with its
retries and URL checks), shrunk and stored. A work whose image fails keeps no thumbnail and is tried on the next run.
"""

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg

from backend.database import connect, database_url
from backend.images import THUMBNAIL_SIDE, ImageError, decode_image, make_thumbnail
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork
from backend.store.tiles import bump_current_revision, missing_thumbnails, write_thumbnails
from etl.pipeline.claim import with_local_paths
from etl.pipeline.download import DownloadImage, DownloadOptions
from etl.pipeline.items import Downloaded, Failure

BATCH = 256


@dataclass
class BackfillSummary:
    """What a backfill did: thumbnails made, and why the others could not be."""

    made: int = 0
    failed: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def line(self) -> str:
        """One line for the CLI."""
        failures = ", ".join(f"{count} {reason}" for reason, count in self.failed.most_common())
        return f"{self.made} thumbnails made in {self.seconds:.1f}s" + (f"; not made: {failures}" if failures else "")


def backfill_thumbnails(settings: Settings, limit: int | None = None) -> BackfillSummary:
    """Make the missing thumbnails of embedded works, BATCH at a time, each batch its own transaction."""
    started = time.perf_counter()
    summary = BackfillSummary()
    after, remaining = 0, limit
    with connect(database_url(settings), autocommit=True) as conn, ThreadPoolExecutor(2) as decoders:
        while remaining is None or remaining > 0:
            rows = missing_thumbnails(conn, after, BATCH if remaining is None else min(BATCH, remaining))
            if not rows:
                break
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)
            claims = with_local_paths(conn, [ClaimedArtwork(*row) for row in rows])
            made = []
            for outcome in decoders.map(_thumbnail_row, asyncio.run(_download(claims, settings))):
                if isinstance(outcome, str):
                    summary.failed[outcome] += 1
                else:
                    made.append(outcome)
            _store(conn, made)
            summary.made += len(made)
    summary.seconds = time.perf_counter() - started
    return summary


async def _download(claims: list[ClaimedArtwork], settings: Settings) -> list[Downloaded | Failure]:
    """Every claim's image, settings.download_concurrency at a time."""
    async with DownloadOptions.from_settings(settings).client() as client:
        download = DownloadImage(client)
        return await asyncio.gather(*(download(claim) for claim in claims))


def _thumbnail_row(item: Downloaded | Failure) -> tuple[int, bytes, int, int] | str:
    """The thumbnail row of a downloaded image, or why there is none."""
    if isinstance(item, Failure):
        return item.reason
    try:
        thumbnail = make_thumbnail(decode_image(item.data, target_side=THUMBNAIL_SIDE))
    except ImageError as exc:
        return exc.reason
    return item.claim.id, thumbnail.jpeg, thumbnail.width, thumbnail.height


def _store(conn: psycopg.Connection, rows: list[tuple[int, bytes, int, int]]) -> None:
    """One batch in one transaction; then the map's revision moves (its atlases change), outside that one."""
    if not rows:
        return
    with conn.transaction():
        write_thumbnails(conn, rows)
    with conn.transaction():
        bump_current_revision(conn)
