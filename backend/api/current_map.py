"""The map version the API places queries and stale hits with: loaded at start-up, swapped after a refit."""

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from backend.projection import MapProjection, load_current
from backend.store.projections import current_projection_id

RECHECK_S = 1.0  # how stale the version may get when no hit has shown a newer one


class CurrentMap:
    """Holds the newest projection. A refit by `artsearch project` is noticed from the hits themselves (they carry
    the version their position was written under) or, failing that, by asking the store at most once a second."""

    def __init__(self, projection: MapProjection | None) -> None:
        self._projection = projection
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + RECHECK_S

    @property
    def version(self) -> int | None:
        """The loaded version's id (None before the first fit)."""
        return self._projection.id if self._projection else None

    def for_hits(self, conn: psycopg.Connection, hits: Sequence[Mapping[str, Any]]) -> MapProjection | None:
        """The map to place these hits on: reloaded when one was placed on a newer version, or when a check is due."""
        loaded = self.version or 0
        newer = any((hit["projection_id"] or 0) > loaded for hit in hits)
        if newer or time.monotonic() >= self._next_check:
            return self.refresh(conn)
        return self._projection

    def refresh(self, conn: psycopg.Connection) -> MapProjection | None:
        """Ask the store for the newest version now, and load it if it is not the one held."""
        with self._lock:
            if current_projection_id(conn) != self.version:
                self._projection = load_current(conn)
            self._next_check = time.monotonic() + RECHECK_S
        return self._projection
