"""The whole collection as a zoomable map: its description, level-of-detail tiles and their thumbnail atlases.

Tile URLs name the map version, so a tile's answer never changes: it is sent with a strong ETag and cached by
browsers and CDNs for a year; an old version answers 404 and the client asks /api/map for the current one.
"""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from psycopg_pool import ConnectionPool

from backend.api.caching import conditional
from backend.api.deps import PoolDep, TileCacheDep
from backend.api.links import MAP_LINKS, answer_with
from backend.api.schemas import ErrorBody, MapInfo, Tile
from backend.api.tiles import Body, BodyCache, TileNotFound, atlas_body, map_body, require_version, tile_body
from backend.store.tiles import current_map_version

router = APIRouter(prefix="/api/map", tags=["map"])

IMMUTABLE = "public, max-age=31536000, immutable"
NOT_FOUND = {404: {"model": ErrorBody}, 503: {"model": ErrorBody}}


@router.get("", response_model=MapInfo, responses=answer_with(MAP_LINKS) | NOT_FOUND)
def current_map(pool: PoolDep, cache: TileCacheDep) -> Response:
    """The current map version, its zoom range, tile sizes, counts and region labels (not cacheable: it moves)."""
    with pool.connection() as conn:
        version = current_map_version(conn)
        if version is None:
            return _not_found("there is no map yet: run `artsearch project`")
        body = map_body(conn, cache, version)
    return Response(body.content, media_type=body.media_type)


@router.get(
    "/{version}/tiles/{z}/{x}/{y}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 304: {"description": "not modified"}, **NOT_FOUND},
)
def tile_atlas(version: str, z: int, x: int, y: int, request: Request, pool: PoolDep, cache: TileCacheDep) -> Response:
    """One JPEG with the thumbnails of the tile's works, at the cells its JSON gives (built once, then cached)."""
    return _immutable(atlas_body, version, z, x, y, request, pool, cache)


@router.get(
    "/{version}/tiles/{z}/{x}/{y}",
    response_model=Tile,
    responses={304: {"description": "not modified"}, **NOT_FOUND},
)
def tile(version: str, z: int, x: int, y: int, request: Request, pool: PoolDep, cache: TileCacheDep) -> Response:
    """The works tile z/x/y lists (at most tile_capacity, spread over it) and the density of all its works."""
    return _immutable(tile_body, version, z, x, y, request, pool, cache)


def _immutable(
    body_of: Callable[..., Body], version: str, z: int, x: int, y: int, request: Request, pool: ConnectionPool,
    cache: BodyCache,
) -> Response:  # fmt: skip
    """A tile's body on the version the URL names, sent to be kept for a year; a 404 that says why otherwise."""
    try:
        with pool.connection() as conn:
            body = body_of(conn, cache, require_version(conn, version), z, x, y)
    except TileNotFound as exc:
        return _not_found(str(exc))
    return conditional(body.content, body.media_type, body.etag, IMMUTABLE, request)


def _not_found(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=404)
