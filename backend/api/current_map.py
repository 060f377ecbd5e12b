"""The map version the API places queries and stale hits with: loaded at start-up, swapped after a refit."""

import threading

import psycopg

from backend.projection import MapProjection, load_current
from backend.store.projections import latest_projection_id


class CurrentMap:
    """Holds the newest projection; one cheap id check per request notices a refit by `artsearch project`."""

    def __init__(self, projection: MapProjection | None) -> None:
        self._projection = projection
        self._lock = threading.Lock()

    @property
    def version(self) -> int | None:
        """The loaded version's id (None before the first fit)."""
        return self._projection.id if self._projection else None

    def get(self, conn: psycopg.Connection) -> MapProjection | None:
        """The current projection, reloaded when a newer version has been stored."""
        if latest_projection_id(conn) != self.version:
            with self._lock:
                self._projection = load_current(conn)
        return self._projection
