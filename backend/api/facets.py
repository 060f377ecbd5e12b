"""The collection's facets as the API serves them: counted once, then kept for a minute in each process."""

import threading

from cachetools import TTLCache
from psycopg_pool import ConnectionPool

from backend.api.schemas import Facets
from backend.store.facets import collection_facets

# A minute, not the map version: the version moves on a refit and when works are placed, but not when works are
# deleted, re-typed or re-dated by a crawl, nor before the first fit. A filter list a minute old is harmless, and a
# count a minute per process is cheap where a count per visitor (three scans of artworks) is not: benchmarks/map.py
# times both, docs/performance.md has the figures.
FACETS_TTL_S = 60.0
KEY = "facets"  # the one entry


class CachedFacets:
    """The facets of the collection, recounted when older than ttl_s; shared by the request threads."""

    def __init__(self, ttl_s: float = FACETS_TTL_S) -> None:
        self._cache: TTLCache[str, Facets] = TTLCache(maxsize=1, ttl=ttl_s)
        self._lock = threading.Lock()

    def get(self, pool: ConnectionPool) -> Facets:
        """The cached facets, or new ones counted outside the lock: a request never waits on another's count (nor,
        with the database down, on another's wait for a connection); the few that find them stale at once each
        count them once."""
        with self._lock:
            facets = self._cache.get(KEY)
        if facets is None:
            with pool.connection() as conn:
                facets = Facets(**collection_facets(conn))
            with self._lock:
                self._cache[KEY] = facets
        return facets
