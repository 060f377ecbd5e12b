"""Map tiles as the API serves them: a version's tile JSON and thumbnail atlases, built on first request and kept
in a cache bounded in bytes. A version's tiles never change (placing works moves the version), so nothing expires:
entries only fall out, least recently used first, and a strong ETag is the body's hash.
"""

import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from cachetools import LRUCache
from PIL import Image

from backend.api.caching import content_etag
from backend.api.schemas import MapInfo, MapRegion, Tile, TileWork
from backend.images import THUMBNAIL_SIDE
from backend.map_levels import MAX_ZOOM, TILE_CAPACITY
from backend.store import tiles as store
from backend.store.tiles import MapVersion

DENSITY_GRID = 16  # cells a side: a 256-px tile shows density in 16-px squares
ATLAS_COLUMNS = 16
ATLAS_CELL = THUMBNAIL_SIDE + 2  # a pixel of gutter all round: a neighbour never bleeds in when the GPU filters
ATLAS_BACKGROUND = (128, 128, 128)
ATLAS_QUALITY = 80


@dataclass(frozen=True)
class Body:
    """A response body ready to send, with its strong ETag."""

    content: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, content: bytes, media_type: str) -> "Body":
        """The body with its hash as its ETag."""
        return cls(content, media_type, content_etag(content))


class BodyCache:
    """Bodies by URL path, at most max_bytes of them; shared by the request threads."""

    def __init__(self, max_bytes: int) -> None:
        self._cache: LRUCache[str, Body] = LRUCache(maxsize=max_bytes, getsizeof=lambda body: len(body.content))
        self._lock = threading.Lock()

    def get_or_build(self, key: str, build: Callable[[], Body]) -> Body:
        """The cached body, or a new one built outside the lock (two threads may build the same body once each)."""
        with self._lock:
            body = self._cache.get(key)
        if body is None:
            body = build()
            if len(body.content) <= self._cache.maxsize:
                with self._lock:
                    self._cache[key] = body
        return body


class TileNotFound(LookupError):
    """A tile URL that names no tile: an old version, or a zoom or position off the map. The message says which."""


def require_version(conn: psycopg.Connection, version: str) -> MapVersion:
    """The current version when the URL names it; TileNotFound (with what to do) otherwise."""
    current = store.current_map_version(conn)
    if current is None:
        raise TileNotFound("there is no map yet: run `artsearch project`")
    if version != str(current):
        raise TileNotFound(f"map version {version} is not current (it is {current}): GET /api/map for the tile URLs")
    return current


def check_tile(z: int, x: int, y: int) -> None:
    """A zoom the map has and a tile on it."""
    if not 0 <= z <= MAX_ZOOM:
        raise TileNotFound(f"zoom {z} is off the map: zooms run from 0 to {MAX_ZOOM}")
    side = 1 << z
    if not (0 <= x < side and 0 <= y < side):
        raise TileNotFound(f"tile {z}/{x}/{y} is off the map: at zoom {z}, x and y run from 0 to {side - 1}")


def map_info(conn: psycopg.Connection, version: MapVersion) -> MapInfo:
    """What a client needs before its first tile: the version, zooms, sizes, counts and region labels."""
    method, regions = store.map_description(conn, version.projection_id)
    placed, listed, deepest = store.map_counts(conn, version.projection_id)
    return MapInfo(
        version=str(version),
        projection_version=version.projection_id,
        method=method,
        min_zoom=0,
        max_zoom=deepest or 0,
        tile_capacity=TILE_CAPACITY,
        density_grid=DENSITY_GRID,
        thumbnail_size=THUMBNAIL_SIDE,
        atlas_cell=ATLAS_CELL,
        placed=placed,
        listed=listed,
        tiles=f"/api/map/{version}/tiles/{{z}}/{{x}}/{{y}}",
        regions=[MapRegion(**region) for region in regions],
    )


def map_body(conn: psycopg.Connection, cache: BodyCache, version: MapVersion) -> Body:
    """The /api/map answer for this version, counted once (its counts scan every position) and then cached."""
    build = lambda: Body.of(map_info(conn, version).model_dump_json().encode(), "application/json")  # noqa: E731
    return cache.get_or_build(f"{version}/map", build)


def tile_body(conn: psycopg.Connection, cache: BodyCache, version: MapVersion, z: int, x: int, y: int) -> Body:
    """The tile's JSON, from the cache or built now; TileNotFound for a tile off the map."""
    check_tile(z, x, y)
    build = lambda: Body.of(build_tile(conn, version, z, x, y).model_dump_json().encode(), "application/json")  # noqa: E731
    return cache.get_or_build(f"{version}/{z}/{x}/{y}", build)


def atlas_body(conn: psycopg.Connection, cache: BodyCache, version: MapVersion, z: int, x: int, y: int) -> Body:
    """The tile's atlas, from the cache or built from the cells of its JSON; TileNotFound when it has none."""

    def build() -> Body:
        jpeg = build_atlas(conn, Tile.model_validate_json(tile_body(conn, cache, version, z, x, y).content))
        if jpeg is None:
            raise TileNotFound(f"tile {z}/{x}/{y} of map {version} has no thumbnails")
        return Body.of(jpeg, "image/jpeg")

    return cache.get_or_build(f"{version}/{z}/{x}/{y}.jpg", build)


def build_tile(conn: psycopg.Connection, version: MapVersion, z: int, x: int, y: int) -> Tile:
    """The tile's listed works with their atlas cells, and its density grid."""
    works = store.tile_works(conn, version.projection_id, z, x, y)
    grid = 1 << min(DENSITY_GRID.bit_length() - 1, MAX_ZOOM - z)
    density = store.tile_density(conn, version.projection_id, z, x, y, grid)
    cells = atlas_cells(works)
    side = 1 / (1 << z)
    return Tile(
        version=str(version),
        z=z,
        x=x,
        y=y,
        bounds=[x * side, y * side, (x + 1) * side, (y + 1) * side],
        works=[TileWork(id=w.id, x=w.x, y=w.y, zoom=w.zoom, title=w.title, atlas=cells.get(w.id)) for w in works],
        total=int(density.sum()),
        density=density.tolist(),
        atlas_url=f"/api/map/{version}/tiles/{z}/{x}/{y}.jpg" if cells else None,
        atlas_size=list(atlas_size(len(cells))) if cells else None,
    )


def atlas_cells(works: list[store.TileWork]) -> dict[int, list[int]]:
    """Each thumbnail's [left, top, width, height] in the atlas: cells in list order, the picture centred in its."""
    cells = {}
    for n, work in enumerate(w for w in works if w.thumbnail_size):
        width, height = work.thumbnail_size
        row, column = divmod(n, ATLAS_COLUMNS)
        left = column * ATLAS_CELL + (ATLAS_CELL - width) // 2
        top = row * ATLAS_CELL + (ATLAS_CELL - height) // 2
        cells[work.id] = [left, top, width, height]
    return cells


def atlas_size(cells: int) -> tuple[int, int]:
    """The atlas's pixel size for this many thumbnails: full rows of ATLAS_COLUMNS cells."""
    columns = min(cells, ATLAS_COLUMNS)
    return columns * ATLAS_CELL, math.ceil(cells / ATLAS_COLUMNS) * ATLAS_CELL


def build_atlas(conn: psycopg.Connection, tile: Tile) -> bytes | None:
    """One JPEG with the thumbnails of the tile's works at the cells its JSON names; None when it has none."""
    cells = {work.id: work.atlas for work in tile.works if work.atlas}
    if not cells:
        return None
    atlas = Image.new("RGB", tuple(tile.atlas_size), ATLAS_BACKGROUND)
    for artwork_id, jpeg in store.thumbnails_of(conn, cells).items():
        left, top, width, height = cells[artwork_id]
        with Image.open(io.BytesIO(jpeg)) as thumbnail:
            atlas.paste(thumbnail.convert("RGB").resize((width, height)), (left, top))
    out = io.BytesIO()
    atlas.save(out, "JPEG", quality=ATLAS_QUALITY, optimize=True)
    return out.getvalue()
