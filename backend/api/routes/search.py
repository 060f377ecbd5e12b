"""Text-to-image and image-to-image search."""

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.api.deps import CurrentMapDep, ImageQuery, MetricsDep, PoolDep, SettingsDep, TextQuery
from backend.api.links import RESULT_LINKS, answer_with
from backend.api.params import DEFAULT_K, K, search_filters
from backend.api.rate_limit import limit_searches
from backend.api.results import placed_results, query_point
from backend.api.schemas import ErrorBody, ImageSearchResponse, SearchResponse
from backend.api.uploads import UPLOAD_REQUEST_BODY
from backend.store.search import Filters, nearest_artworks

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get(
    "",
    response_model=SearchResponse,
    dependencies=[Depends(limit_searches)],
    responses=answer_with(RESULT_LINKS) | {code: {"model": ErrorBody} for code in (422, 429, 503)},
)
def search_text(
    text_query: TextQuery,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    filters: Annotated[Filters, Depends(search_filters)],
    k: K = DEFAULT_K,
) -> SearchResponse:
    """Artworks that match a text, best first, and where the text lands on the map."""
    q, vector = text_query
    with pool.connection() as conn:
        rows = nearest_artworks(conn, vector, k, settings.hnsw_ef_search, filters)
        results, projection = placed_results(conn, rows, current_map)
    metrics.searches.labels("text").inc()
    return SearchResponse(query=q, results=results, query_point=query_point(projection, vector))


@router.post(
    "/image",
    response_model=ImageSearchResponse,
    openapi_extra=UPLOAD_REQUEST_BODY,
    dependencies=[Depends(limit_searches)],  # before the upload is read
    responses=answer_with(RESULT_LINKS) | {code: {"model": ErrorBody} for code in (413, 415, 422, 429, 503)},
)
def search_image(
    image_query: ImageQuery,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    filters: Annotated[Filters, Depends(search_filters)],
) -> ImageSearchResponse:
    """Artworks that look like an uploaded image (multipart `file`, optional `k`; filters in the query), best first."""
    vector, k = image_query
    with pool.connection() as conn:
        rows = nearest_artworks(conn, vector, k, settings.hnsw_ef_search, filters)
        results, projection = placed_results(conn, rows, current_map)
    metrics.searches.labels("image").inc()
    return ImageSearchResponse(results=results, query_point=query_point(projection, vector))
