"""The whole collection as a zoomable map: its description, level-of-detail tiles and their thumbnail atlases.

Tile URLs name the map version, so a tile's answer never changes: it is sent with a strong ETag and cached by
browsers and CDNs for a year; an old version answers 404 and the client asks /api/map for the current one.
"""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backend.api.caching import conditional
from backend.api.deps import PoolDep, TileCacheDep
from backend.api.schemas import ErrorBody, MapInfo, Tile
from backend.api.tiles import TileNotFound, atlas_body, map_info, require_version, tile_body
from backend.store.tiles import current_map_version

router = APIRouter(prefix="/api/map", tags=["map"])

IMMUTABLE = "public, max-age=31536000, immutable"
NOT_FOUND = {404: {"model": ErrorBody}, 503: {"model": ErrorBody}}


@router.head("", include_in_schema=False, response_model=None)
@router.get("", response_model=MapInfo, responses=NOT_FOUND)
def current_map(pool: PoolDep) -> MapInfo | JSONResponse:
    """The current map version, its zoom range, tile sizes, counts and region labels (never cached: it moves)."""
    with pool.connection() as conn:
        version = current_map_version(conn)
        if version is None:
            return _not_found("there is no map yet: run `artsearch project`")
        return map_info(conn, version)


@router.head("/{version}/tiles/{z}/{x}/{y}.jpg", include_in_schema=False, response_model=None)
@router.get(
    "/{version}/tiles/{z}/{x}/{y}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 304: {"description": "not modified"}, **NOT_FOUND},
)
def tile_atlas(version: str, z: int, x: int, y: int, request: Request, pool: PoolDep, cache: TileCacheDep) -> Response:
    """One JPEG with the thumbnails of the tile's works, at the cells its JSON gives (built once, then cached)."""
    try:
        with pool.connection() as conn:
            body = atlas_body(conn, cache, require_version(conn, version), z, x, y)
    except TileNotFound as exc:
        return _not_found(str(exc))
    return conditional(body.content, body.media_type, body.etag, IMMUTABLE, request)


@router.head("/{version}/tiles/{z}/{x}/{y}", include_in_schema=False, response_model=None)
@router.get(
    "/{version}/tiles/{z}/{x}/{y}",
    response_model=Tile,
    responses={304: {"description": "not modified"}, **NOT_FOUND},
)
def tile(version: str, z: int, x: int, y: int, request: Request, pool: PoolDep, cache: TileCacheDep) -> Response:
    """The works tile z/x/y lists (at most tile_capacity, spread over it) and the density of all its works."""
    try:
        with pool.connection() as conn:
            body = tile_body(conn, cache, require_version(conn, version), z, x, y)
    except TileNotFound as exc:
        return _not_found(str(exc))
    return conditional(body.content, body.media_type, body.etag, IMMUTABLE, request)


def _not_found(message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=404)
