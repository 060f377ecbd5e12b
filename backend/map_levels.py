"""Level of detail for the map: the zoom at which each placed work first appears in a quadtree of tiles over
[0, 1]², so that a tile at zoom z (one of 2^z × 2^z) lists at most TILE_CAPACITY works, spread over the tile.

A work listed at zoom z is listed at every deeper zoom (its zoom is the first it appears at), and every work gets a
zoom ≤ MAX_ZOOM. Which works a crowded tile lists is decided by a grid of cells inside it: one work per cell first,
then a second per cell, and so on, so a tile shows its whole extent, not its densest corner; among equals a stable
per-work priority decides, so a refit keeps choosing the same works.
"""

import math

import numpy as np

TILE_CAPACITY = 128
MAX_ZOOM = 20  # 2^20 tiles a side: only works at the very same point still share a tile there


def tile_index(xy: np.ndarray, zoom: int) -> np.ndarray:
    """The tile (x, y) each point falls in at this zoom, as one int64 per point (x · 2^zoom + y)."""
    side = 1 << zoom
    cells = np.clip((xy * side).astype(np.int64), 0, side - 1)
    return cells[:, 0] * side + cells[:, 1]


def tile_key(xy: np.ndarray) -> np.ndarray:
    """Each point's Morton code at MAX_ZOOM (x and y bits interleaved): the works of any tile are one key range."""
    side = 1 << MAX_ZOOM
    cells = np.clip((xy * side).astype(np.int64), 0, side - 1).astype(np.uint64)
    return (_spread_bits(cells[:, 0]) << np.uint64(1) | _spread_bits(cells[:, 1])).astype(np.int64)


def tile_key_range(zoom: int, x: int, y: int) -> tuple[int, int]:
    """The first and last tile key (inclusive) of tile (x, y) at this zoom."""
    shift = 2 * (MAX_ZOOM - zoom)
    prefix = int(_spread_bits(np.array([x], dtype=np.uint64))[0]) << 1 | int(_spread_bits(np.array([y], np.uint64))[0])
    return prefix << shift, ((prefix + 1) << shift) - 1


def range_of_key(key: int, zoom: int) -> tuple[int, int]:
    """The first and last tile key (inclusive) of the tile at this zoom that holds this key."""
    shift = 2 * (MAX_ZOOM - zoom)
    low = key >> shift << shift
    return low, low + (1 << shift) - 1


def compact_bits(codes: np.ndarray) -> np.ndarray:
    """The even bits of each Morton code packed together (the inverse of spreading): of a code its y, of code >> 1
    its x."""
    v = codes.astype(np.uint64) & np.uint64(0x5555555555555555)
    for shift, mask in ((1, 0x3333333333333333), (2, 0x0F0F0F0F0F0F0F0F), (4, 0x00FF00FF00FF00FF),
                        (8, 0x0000FFFF0000FFFF), (16, 0x00000000FFFFFFFF)):  # fmt: skip
        v = (v | (v >> np.uint64(shift))) & np.uint64(mask)
    return v.astype(np.int64)


def _spread_bits(values: np.ndarray) -> np.ndarray:
    """The bits of each (≤ 32-bit) value moved to the even positions, zeros between them."""
    v = values.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):  # fmt: skip
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def stable_priority(ids: np.ndarray) -> np.ndarray:
    """A pseudo-random but fixed rank per artwork id (splitmix64), so the same works win a crowded tile on a refit."""
    z = ids.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def assign_zooms(xy: np.ndarray, priority: np.ndarray, capacity: int = TILE_CAPACITY) -> np.ndarray:
    """The first zoom of each point (n × 2 coordinates in [0, 1]); O(n log n) per zoom level visited."""
    zooms = np.full(len(xy), -1, dtype=np.int16)
    cells_a_side = math.isqrt(capacity)  # no more cells than works listed: each cell gets its first before any a second
    for zoom in range(MAX_ZOOM + 1):
        todo = np.flatnonzero(zooms < 0)
        if not len(todo):
            break
        tiles = tile_index(xy[todo], zoom)
        if zoom == MAX_ZOOM:  # only coincident points are left: list them all rather than lose any
            zooms[todo] = zoom
            break
        listed_tiles, listed = np.unique(tile_index(xy[zooms >= 0], zoom), return_counts=True)
        room = np.full(len(todo), capacity)
        found = np.searchsorted(listed_tiles, tiles)
        known = found < len(listed_tiles)
        known[known] = listed_tiles[found[known]] == tiles[known]
        room[known] -= listed[found[known]]
        zooms[todo[_within_room(xy[todo], tiles, zoom, priority[todo], room, cells_a_side)]] = zoom
    return zooms


def _within_room(
    xy: np.ndarray, tiles: np.ndarray, zoom: int, priority: np.ndarray, room: np.ndarray, cells_a_side: int
) -> np.ndarray:
    """Which of these unlisted points their tile lists at this zoom: round-robin over the tile's cells, up to room."""
    side = (1 << zoom) * cells_a_side
    cell = np.clip((xy * side).astype(np.int64), 0, side - 1)
    cells = cell[:, 0] * side + cell[:, 1]
    by_cell = np.lexsort((priority, cells))
    turn = np.empty(len(xy), dtype=np.int64)  # 0 for the first point of its cell, 1 for the second, …
    turn[by_cell] = _rank_in_runs(cells[by_cell])
    by_tile = np.lexsort((priority, turn, tiles))
    return by_tile[_rank_in_runs(tiles[by_tile]) < room[by_tile]]


def _rank_in_runs(keys: np.ndarray) -> np.ndarray:
    """Each element's position within its run of equal keys (the keys sorted): 0, 1, 2, … then 0 again."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return np.arange(len(keys)) - np.repeat(starts, np.diff(np.r_[starts, len(keys)]))
