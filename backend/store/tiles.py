"""Map tile data access: which works a level-of-detail tile lists, how many works fall in each cell of its density
grid, the thumbnails of its atlas, and the zoom a work placed after the fit is listed from.

A tile's works at zoom z are those of its tile-key range whose first zoom is 0 … z: z + 1 short range scans of
map_positions_tiles. Its density counts every work in the key range, listed or not (map_positions_density).
"""

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import psycopg

from backend.map_levels import MAX_ZOOM, TILE_CAPACITY, tile_index, tile_key_range

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

# For each (zoom, key range): the works listed there, one range scan per level 0 … zoom.
LISTED_IN_TILES = """
SELECT (SELECT count(*) FROM map_positions m
        WHERE m.projection_id = %(projection_id)s
          AND m.zoom = ANY(ARRAY(SELECT generate_series(0, r.zoom))::smallint[])
          AND m.tile_key BETWEEN r.low AND r.high)
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
        counts[_compact_bits(cells), _compact_bits(cells >> np.uint64(1))] = [row[1] for row in rows]
    return counts


def _compact_bits(codes: np.ndarray) -> np.ndarray:
    """The even bits of each Morton code packed together: its y cell (and of code >> 1, its x cell)."""
    v = codes.astype(np.uint64) & np.uint64(0x5555555555555555)
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):  # fmt: skip
        v = (v | (v >> np.uint64(shift))) & np.uint64(mask)
    return v.astype(np.int64)


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


LEVELS_PER_ASK = 4  # a new work usually finds room within a few levels of the first one not known full


def choose_zooms(
    conn: psycopg.Connection, projection_id: int, xy: np.ndarray, full: FullTiles | None = None
) -> np.ndarray:
    """The first zoom whose tile still has room, for each of these works about to be placed on this version; in the
    caller's transaction, which this serialises with every other placement on the version until it commits."""
    bump_revision(conn, projection_id)
    known_full = (full or FullTiles()).of(projection_id)
    zooms = np.full(len(xy), MAX_ZOOM, dtype=np.int16)
    first = np.zeros(len(xy), dtype=np.int64)  # the first level each work still has to try
    mates: dict[tuple[int, int], int] = {}  # works of this call listed so far, per (zoom, tile)
    todo = list(range(len(xy)))
    while todo:
        listed = _listed(conn, projection_id, _levels_to_ask(xy, todo, first, known_full))
        still = []
        for i in todo:
            zoom = _first_with_room(xy[i], int(first[i]), listed, mates, known_full)
            if zoom is None:
                first[i] += LEVELS_PER_ASK
                still.append(i)
            else:
                zooms[i] = zoom
                _count_in_deeper_tiles(mates, xy[i], zoom)
        todo = [i for i in still if first[i] < MAX_ZOOM]
    return zooms


def _levels_to_ask(
    xy: np.ndarray, todo: list[int], first: np.ndarray, known_full: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The (zoom, tile) pairs worth counting: the next few levels of each work, past the tiles known full."""
    ask = set()
    for i in todo:
        for zoom in range(int(first[i]), min(int(first[i]) + LEVELS_PER_ASK, MAX_ZOOM)):
            tile = _tile_at(xy[i], zoom)
            if (zoom, tile) not in known_full:
                ask.add((zoom, tile))
    return ask


def _first_with_room(
    point: np.ndarray,
    first: int,
    listed: dict[tuple[int, int], int],
    mates: dict[tuple[int, int], int],
    known_full: set[tuple[int, int]],
) -> int | None:
    """The first of the levels asked whose tile has room for one more, remembering the tiles found full."""
    for zoom in range(first, min(first + LEVELS_PER_ASK, MAX_ZOOM)):
        key = (zoom, _tile_at(point, zoom))
        if key in known_full:
            continue
        count = listed[key] + mates.get(key, 0)
        if count < TILE_CAPACITY:
            if count + 1 == TILE_CAPACITY:
                known_full.add(key)
            return zoom
        known_full.add(key)
    return None


def _tile_at(point: np.ndarray, zoom: int) -> int:
    return int(tile_index(point[None, :], zoom)[0])


def _listed(conn: psycopg.Connection, projection_id: int, tiles: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """How many works the store lists in each of these (zoom, tile) tiles, in one statement."""
    if not tiles:
        return {}
    keys = sorted(tiles)
    ranges = [tile_key_range(zoom, *divmod(tile, 1 << zoom)) for zoom, tile in keys]
    params = {
        "projection_id": projection_id,
        "zoom": [zoom for zoom, _ in keys],
        "low": [low for low, _ in ranges],
        "high": [high for _, high in ranges],
    }
    counts = [row[0] for row in conn.execute(LISTED_IN_TILES, params).fetchall()]
    return dict(zip(keys, counts, strict=True))


def _count_in_deeper_tiles(mates: dict[tuple[int, int], int], point: np.ndarray, zoom: int) -> None:
    """A work listed at this zoom is listed in its tile at every deeper zoom too."""
    sides = 1 << np.arange(zoom, MAX_ZOOM)
    cells = np.clip((point[None, :] * sides[:, None]).astype(np.int64), 0, sides[:, None] - 1)
    for deeper, tile in zip(range(zoom, MAX_ZOOM), (cells[:, 0] * sides + cells[:, 1]).tolist(), strict=True):
        mates[(deeper, tile)] = mates.get((deeper, tile), 0) + 1
