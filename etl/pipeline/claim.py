"""Stage 1: claim pending artworks in batches under a lease, so any number of workers share the work; a folder
work's image file is checked here, against the crawled folders, before any stage reads it."""

from dataclasses import replace

import psycopg

from backend.store.embed_queue import ClaimedArtwork, claim_pending_artworks
from backend.store.local_folders import local_folder_roots
from backend.url_policy import FOLDER_SOURCE, local_image_path


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
        return with_local_paths(self.conn, claims)


def with_local_paths(conn: psycopg.Connection, claims: list[ClaimedArtwork]) -> list[ClaimedArtwork]:
    """Folder works get their checked file; the folders are read per batch, so one crawled meanwhile counts."""
    if not any(claim.source == FOLDER_SOURCE for claim in claims):
        return claims
    roots = local_folder_roots(conn)
    return [
        replace(claim, local_path=local_image_path(claim.image_url, roots)) if claim.source == FOLDER_SOURCE else claim
        for claim in claims
    ]
