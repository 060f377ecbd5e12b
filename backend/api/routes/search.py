"""Text-to-image, image-to-image and composed search."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends

from backend.api.composed import artwork_vectors, combined, image_vectors
from backend.api.deps import (
    ComposedQuery,
    CurrentMapDep,
    EmbedderDep,
    ImageQuery,
    MetricsDep,
    PoolDep,
    SettingsDep,
    TextQuery,
)
from backend.api.links import search_answers
from backend.api.params import DEFAULT_K, K, Shape, result_shape, search_filters
from backend.api.rate_limit import limit_searches
from backend.api.results import query_point
from backend.api.schemas import ComposedSearchResponse, ImageSearchResponse, SearchResponse
from backend.api.shaping import shaped_results
from backend.api.uploads import UPLOAD_REQUEST_BODY
from backend.store.search import Filters, nearest_artworks

router = APIRouter(prefix="/api/search", tags=["search"])
FiltersDep = Annotated[Filters, Depends(search_filters)]
ShapeDep = Annotated[Shape, Depends(result_shape)]


@router.get(
    "",
    response_model=SearchResponse,
    dependencies=[Depends(limit_searches)],
    responses=search_answers(422, 429, 503),
)
def search_text(
    text_query: TextQuery,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    filters: FiltersDep,
    shape: ShapeDep,
    k: K = DEFAULT_K,
) -> SearchResponse:
    """Artworks that match a text, best first, and where the text lands on the map."""
    q, vector = text_query
    with pool.connection() as conn:
        search = partial(nearest_artworks, conn, vector, ef_search=settings.hnsw_ef_search, filters=filters)
        results, cut, projection = shaped_results(conn, search, k, shape, settings.stack_threshold, current_map)
    metrics.searches.labels("text").inc()
    return SearchResponse(query=q, results=results, query_point=query_point(projection, vector), cut=cut)


@router.post(
    "/image",
    response_model=ImageSearchResponse,
    openapi_extra=UPLOAD_REQUEST_BODY,
    dependencies=[Depends(limit_searches)],  # before the upload is read
    responses=search_answers(413, 415, 422, 429, 503),
)
def search_image(
    image_query: ImageQuery,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    filters: FiltersDep,
    shape: ShapeDep,
) -> ImageSearchResponse:
    """Artworks that look like an uploaded image (multipart `file`, optional `k`; filters in the query), best first."""
    vector, k = image_query
    with pool.connection() as conn:
        search = partial(nearest_artworks, conn, vector, ef_search=settings.hnsw_ef_search, filters=filters)
        results, cut, projection = shaped_results(conn, search, k, shape, settings.stack_threshold, current_map)
    metrics.searches.labels("image").inc()
    return ImageSearchResponse(results=results, query_point=query_point(projection, vector), cut=cut)


@router.post(
    "/compose",
    response_model=ComposedSearchResponse,
    dependencies=[Depends(limit_searches)],
    responses=search_answers(404, 413, 415, 422, 429, 503),
)
def search_composed(
    composed: ComposedQuery,
    embedder: EmbedderDep,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    filters: FiltersDep,
    shape: ShapeDep,
) -> ComposedSearchResponse:
    """Artworks nearest to a weighted sum of texts, stored artworks and images (a negative weight pushes away from
    its part), best first; the artworks named are left out of the hits."""
    body, vectors = composed
    vectors = vectors | image_vectors(body, embedder)  # decoded before a connection is taken
    named = {part.artwork_id for part in body.parts if part.artwork_id is not None}
    with pool.connection() as conn:
        vector = combined(body, vectors | artwork_vectors(conn, body))

        def search(limit: int) -> list[dict]:
            rows = nearest_artworks(conn, vector, limit + len(named), settings.hnsw_ef_search, filters)
            return [row for row in rows if row["id"] not in named][:limit]

        results, cut, projection = shaped_results(conn, search, body.k, shape, settings.stack_threshold, current_map)
    metrics.searches.labels("composed").inc()
    return ComposedSearchResponse(results=results, query_point=query_point(projection, vector), cut=cut)
