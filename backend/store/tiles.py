"""Map tile data access: which works a level-of-detail tile lists, how many works fall in each cell of its density
grid, the thumbnails of its atlas, and the zoom a work placed after the fit is listed from.

A tile's works at zoom z are those of its tile-key range whose first zoom is 0 … z: z + 1 short range scans of
map_positions_tiles. Its density counts every work in the key range, listed or not (map_positions_density).
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import psycopg

from backend.map_levels import MAX_ZOOM, TILE_CAPACITY, compact_bits, range_of_key, tile_key, tile_key_range

# The version a tile URL names: the projection and how often works were placed on it since its fit.
CURRENT_MAP_VERSION = "SELECT id, revision FROM projections ORDER BY id DESC LIMIT 1"

# Taking the projection's row lock orders every placement on a version: two workers never both fill the last
# places of one tile. It is held only from here to the write stage's commit.
BUMP_REVISION = "UPDATE projections SET revision = revision + 1 WHERE id = %s"
BUMP_CURRENT_REVISION = """
UPDATE projections SET revision = revision + 1 WHERE id = (SELECT id FROM projections ORDER BY id DESC LIMIT 1)
"""

TILE_WORKS = """
SELECT m.artwork_id, m.x, m.y, m.zoom, a.title, t.width, t.height
FROM map_positions m
JOIN artworks a ON a.id = m.artwork_id
LEFT JOIN thumbnails t ON t.artwork_id = m.artwork_id
WHERE m.projection_id = %(projection_id)s AND m.zoom = ANY(%(levels)s::smallint[])
  AND m.tile_key BETWEEN %(low)s AND %(high)s AND NOT a.deleted
ORDER BY m.zoom, m.artwork_id
"""

# One row per occupied cell of the grid: a cell is a key prefix, so the cell's local Morton code is (key - low) >> s.
TILE_DENSITY = """
SELECT (tile_key - %(low)s) >> %(shift)s AS cell, count(*)
FROM map_positions
WHERE projection_id = %(projection_id)s AND tile_key BETWEEN %(low)s AND %(high)s
GROUP BY 1
"""

THUMBNAILS = "SELECT artwork_id, image FROM thumbnails WHERE artwork_id = ANY(%s)"

# For each (zoom, key range): the works listed there, counted level by level (zoom = l is one short index range;
# with an ANY over the levels the planner read every work of the range instead: docs/performance.md, "Map tiles").
LISTED_IN_TILES = """
SELECT (SELECT sum(listed.n) FROM generate_series(0, r.zoom) AS level(zoom),
        LATERAL (SELECT count(*) AS n FROM map_positions m
                 WHERE m.projection_id = %(projection_id)s AND m.zoom = level.zoom
                   AND m.tile_key BETWEEN r.low AND r.high) AS listed)
FROM unnest(%(zoom)s::smallint[], %(low)s::bigint[], %(high)s::bigint[]) WITH ORDINALITY AS r(zoom, low, high, n)
ORDER BY r.n
"""

MAP_DESCRIPTION = "SELECT method, regions FROM projections WHERE id = %s"

MAP_COUNTS = """
SELECT count(*), count(zoom), max(zoom) FROM map_positions WHERE projection_id = %s
"""

# Embedded works without a thumbnail (embedded before the pipeline made them), in id order from a key on.
MISSING_THUMBNAILS = """
SELECT a.id, a.source, a.image_url, 0
FROM artworks a
JOIN embeddings e ON e.artwork_id = a.id
LEFT JOIN thumbnails t ON t.artwork_id = a.id
WHERE t.artwork_id IS NULL AND NOT a.deleted AND a.id > %s
ORDER BY a.id
LIMIT %s
"""

UPSERT_THUMBNAIL = """
INSERT INTO thumbnails (artwork_id, image, width, height) VALUES (%s, %s, %s, %s)
ON CONFLICT (artwork_id) DO UPDATE SET image = EXCLUDED.image, width = EXCLUDED.width, height = EXCLUDED.height
"""


@dataclass(frozen=True)
class MapVersion:
    """What a tile URL names: a projection and its revision, written "7-3"."""

    projection_id: int
    revision: int

    def __str__(self) -> str:
        return f"{self.projection_id}-{self.revision}"


@dataclass(frozen=True)
class TileWork:
    """A work a tile lists, with the size of its thumbnail (None without one)."""

    id: int
    x: float
    y: float
    zoom: int
    title: str
    thumbnail_size: tuple[int, int] | None


def current_map_version(conn: psycopg.Connection) -> MapVersion | None:
    """The version tile URLs must name now, or None before the first fit."""
    row = conn.execute(CURRENT_MAP_VERSION).fetchone()
    return MapVersion(*row) if row else None


def tile_works(conn: psycopg.Connection, projection_id: int, zoom: int, x: int, y: int) -> list[TileWork]:
    """The works tile (x, y) lists at this zoom, coarsest first (at most TILE_CAPACITY after a fit)."""
    low, high = tile_key_range(zoom, x, y)
    params = {"projection_id": projection_id, "levels": list(range(zoom + 1)), "low": low, "high": high}
    rows = conn.execute(TILE_WORKS, params).fetchall()
    return [
        TileWork(artwork_id, wx, wy, level, title, (width, height) if width else None)
        for artwork_id, wx, wy, level, title, width, height in rows
    ]


def tile_density(conn: psycopg.Connection, projection_id: int, zoom: int, x: int, y: int, grid: int) -> np.ndarray:
    """How many works fall in each cell of a grid × grid split of the tile (grid a power of two), as [y, x]."""
    low, high = tile_key_range(zoom, x, y)
    shift = 2 * (MAX_ZOOM - zoom - grid.bit_length() + 1)
    rows = conn.execute(
        TILE_DENSITY, {"projection_id": projection_id, "low": low, "high": high, "shift": shift}
    ).fetchall()
    counts = np.zeros((grid, grid), dtype=np.int64)
    if rows:
        cells = np.array([row[0] for row in rows], dtype=np.uint64)
        counts[compact_bits(cells), compact_bits(cells >> np.uint64(1))] = [row[1] for row in rows]
    return counts


def thumbnails_of(conn: psycopg.Connection, ids: Iterable[int]) -> dict[int, bytes]:
    """The stored JPEG thumbnails of these works (those that have one)."""
    return dict(conn.execute(THUMBNAILS, (list(ids),)).fetchall())


def missing_thumbnails(conn: psycopg.Connection, after_id: int, limit: int) -> list[tuple[int, str, str | None, int]]:
    """The next embedded works (id > after_id) that have no thumbnail: (id, source, image_url, 0) rows."""
    return conn.execute(MISSING_THUMBNAILS, (after_id, limit)).fetchall()


def write_thumbnails(conn: psycopg.Connection, rows: list[tuple[int, bytes, int, int]]) -> None:
    """Upsert (artwork_id, jpeg, width, height) rows, in the caller's transaction."""
    with conn.cursor() as cursor:
        cursor.executemany(UPSERT_THUMBNAIL, rows)


def map_description(conn: psycopg.Connection, projection_id: int) -> tuple[str, list[dict]]:
    """The version's method and its region labels (not its parameters, a few MB for UMAP)."""
    return conn.execute(MAP_DESCRIPTION, (projection_id,)).fetchone()


def map_counts(conn: psycopg.Connection, projection_id: int) -> tuple[int, int, int | None]:
    """Works placed on this version, how many of them are listed at some zoom, and the deepest zoom used."""
    return conn.execute(MAP_COUNTS, (projection_id,)).fetchone()


def bump_revision(conn: psycopg.Connection, projection_id: int) -> None:
    """Move the version's revision (its tiles change) and hold its row lock until the caller's commit."""
    conn.execute(BUMP_REVISION, (projection_id,))


def bump_current_revision(conn: psycopg.Connection) -> None:
    """Move the current version's revision: works left it (withdrawn, or re-photographed and not yet re-placed)."""
    conn.execute(BUMP_CURRENT_REVISION)


class FullTiles:
    """The tiles found full on one version: a tile never loses listed works, so a placer remembers them and goes
    straight past them instead of counting them again for every batch."""

    def __init__(self) -> None:
        self.projection_id: int | None = None
        self.tiles: set[tuple[int, int]] = set()

    def of(self, projection_id: int) -> set[tuple[int, int]]:
        """The set for this version (emptied when the version changes)."""
        if projection_id != self.projection_id:
            self.projection_id, self.tiles = projection_id, set()
        return self.tiles


LEVELS_PER_ASK = 2  # a new work usually finds room in the first level not known to be full, or the next


def choose_zooms(
    conn: psycopg.Connection, projection_id: int, xy: np.ndarray, full: FullTiles | None = None
) -> np.ndarray:
    """The first zoom whose tile still has room, for each of these works about to be placed on this version; in the
    caller's transaction, which this serialises with every other placement on the version until it commits."""
    bump_revision(conn, projection_id)
    known_full = (full or FullTiles()).of(projection_id)
    tiles = _tiles_by_level(xy)
    keys = tile_key(xy).tolist()
    zooms = np.full(len(xy), MAX_ZOOM, dtype=np.int16)
    next_level = [0] * len(xy)
    mates: dict[tuple[int, int], int] = {}  # works of this call listed so far, per (zoom, tile)
    todo = list(range(len(xy)))
    while todo:
        asks = {i: _open_levels(tiles[i], next_level[i], known_full) for i in todo}
        listed = _listed(conn, projection_id, {(z, tiles[i][z]): keys[i] for i, levels in asks.items() for z in levels})
        still = []
        for i in todo:
            zoom = _first_with_room(tiles[i], asks[i], listed, mates, known_full)
            if zoom is None:
                next_level[i] = asks[i][-1] + 1 if asks[i] else MAX_ZOOM
                still.append(i)
            else:
                zooms[i] = zoom
                for deeper in range(zoom, MAX_ZOOM):  # listed at this zoom, so at every deeper one too
                    mates[(deeper, tiles[i][deeper])] = mates.get((deeper, tiles[i][deeper]), 0) + 1
        todo = [i for i in still if next_level[i] < MAX_ZOOM]
    return zooms


def _tiles_by_level(xy: np.ndarray) -> list[list[int]]:
    """Each work's tile (x · 2^z + y) at every zoom 0 … MAX_ZOOM - 1, computed at once."""
    sides = 1 << np.arange(MAX_ZOOM, dtype=np.int64)
    cells = np.clip((xy[:, None, :] * sides[None, :, None]).astype(np.int64), 0, sides[None, :, None] - 1)
    return (cells[:, :, 0] * sides + cells[:, :, 1]).tolist()


def _open_levels(tiles: list[int], first: int, known_full: set[tuple[int, int]]) -> list[int]:
    """The next LEVELS_PER_ASK levels from `first` whose tile is not known to be full: the ones worth counting."""
    open_ = [zoom for zoom in range(first, MAX_ZOOM) if (zoom, tiles[zoom]) not in known_full]
    return open_[:LEVELS_PER_ASK]


def _first_with_room(
    tiles: list[int],
    levels: list[int],
    listed: dict[tuple[int, int], int],
    mates: dict[tuple[int, int], int],
    known_full: set[tuple[int, int]],
) -> int | None:
    """The first of these levels whose tile has room for one more, remembering the tiles found full."""
    for zoom in levels:
        key = (zoom, tiles[zoom])
        if key in known_full:
            continue
        count = listed[key] + mates.get(key, 0)
        if count + 1 >= TILE_CAPACITY:
            known_full.add(key)
        if count < TILE_CAPACITY:
            return zoom
    return None


def _listed(
    conn: psycopg.Connection, projection_id: int, tiles: dict[tuple[int, int], int]
) -> dict[tuple[int, int], int]:
    """How many works the store lists in each of these (zoom, tile) tiles (each given with a key inside it)."""
    if not tiles:
        return {}
    order = sorted(tiles)
    ranges = [range_of_key(tiles[tile], tile[0]) for tile in order]
    params = {
        "projection_id": projection_id,
        "zoom": [zoom for zoom, _ in order],
        "low": [low for low, _ in ranges],
        "high": [high for _, high in ranges],
    }
    counts = [row[0] for row in conn.execute(LISTED_IN_TILES, params).fetchall()]
    return dict(zip(order, counts, strict=True))
