"""Dependencies the routes declare: everything comes from app.state, filled once by the lifespan."""

from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Query, Request
from psycopg_pool import ConnectionPool

from backend.api.composed import ComposedBody, ComposedBodyParam, text_vectors
from backend.api.current_map import CurrentMap
from backend.api.embedder import QueryEmbedder
from backend.api.facets import CachedFacets
from backend.api.metrics import Metrics
from backend.api.params import MAX_QUERY_CHARS, Shape, result_shape, search_filters
from backend.api.shaping import Searching
from backend.api.tiles import BodyCache
from backend.api.uploads import ImageUpload, read_image_upload
from backend.images import ImageError
from backend.settings import Settings
from backend.store.search import Filters


# The getters of app.state are coroutines: FastAPI runs a plain function in its thread pool, a hop each that a
# request would pay for an attribute read.
async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_embedder(request: Request) -> QueryEmbedder:
    """The query embedder the lifespan built around the model."""
    return request.app.state.embedder


async def get_metrics(request: Request) -> Metrics:
    """This app's Prometheus metrics."""
    return request.app.state.metrics


async def get_current_map(request: Request) -> CurrentMap:
    """The map version holder the lifespan loaded."""
    return request.app.state.current_map


async def get_tile_cache(request: Request) -> BodyCache:
    """The built map tiles and atlases of this process."""
    return request.app.state.tile_cache


async def get_facets(request: Request) -> CachedFacets:
    """This process's cache of the collection's facets."""
    return request.app.state.facets


async def get_pool(request: Request) -> ConnectionPool:
    """The database pool. A route takes its connection in its own body (`with pool.connection() as conn`), in the
    one thread hop FastAPI makes for a sync route; a yield dependency would add two hops (0.75 ms, measured)."""
    return request.app.state.pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
EmbedderDep = Annotated[QueryEmbedder, Depends(get_embedder)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CurrentMapDep = Annotated[CurrentMap, Depends(get_current_map)]
PoolDep = Annotated[ConnectionPool, Depends(get_pool)]
TileCacheDep = Annotated[BodyCache, Depends(get_tile_cache)]
FacetsDep = Annotated[CachedFacets, Depends(get_facets)]


async def text_query_vector(
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="what to look for")],
    embedder: EmbedderDep,
) -> tuple[str, np.ndarray]:
    """The query text and its vector, awaited before the route's body takes a connection: none idles meanwhile."""
    if not q.strip():
        raise HTTPException(422, "q must contain more than whitespace")
    return q, await embedder.text(q)


def image_query_vector(
    upload: Annotated[ImageUpload, Depends(read_image_upload)], embedder: EmbedderDep
) -> tuple[np.ndarray, int]:
    """The uploaded image's vector and the k asked for; 415 with the reason when it is not a usable image."""
    try:
        return embedder.image(upload.data), upload.k
    except ImageError as exc:
        raise HTTPException(415, f"not a usable image: {exc.reason}") from exc


async def composed_query(body: ComposedBodyParam, embedder: EmbedderDep) -> tuple[ComposedBody, dict[int, np.ndarray]]:
    """A composed query's body and its text parts' vectors, awaited before the route's body takes a connection."""
    return body, await text_vectors(body, embedder)


TextQuery = Annotated[tuple[str, np.ndarray], Depends(text_query_vector)]
ImageQuery = Annotated[tuple[np.ndarray, int], Depends(image_query_vector)]
ComposedQuery = Annotated[tuple[ComposedBody, dict[int, np.ndarray]], Depends(composed_query)]


async def searching(
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    filters: Annotated[Filters, Depends(search_filters)],
    shape: Annotated[Shape, Depends(result_shape)],
) -> Searching:
    """What a search route needs besides its query, its filters and shape read from the request."""
    return Searching(pool, current_map, settings, filters, shape)


SearchingDep = Annotated[Searching, Depends(searching)]
