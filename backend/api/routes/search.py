"""Text-to-image, image-to-image and composed search."""

from fastapi import APIRouter, Depends

from backend.api.composed import artwork_vectors, combined, image_vectors
from backend.api.deps import ComposedQuery, EmbedderDep, ImageQuery, MetricsDep, SearchingDep, TextQuery
from backend.api.links import search_answers
from backend.api.params import DEFAULT_K, K
from backend.api.rate_limit import limit_searches
from backend.api.results import query_point
from backend.api.schemas import ComposedSearchResponse, ImageSearchResponse, SearchResponse
from backend.api.uploads import UPLOAD_REQUEST_BODY

router = APIRouter(prefix="/api/search", tags=["search"])


@router.get(
    "",
    response_model=SearchResponse,
    dependencies=[Depends(limit_searches)],
    responses=search_answers(422, 429, 503),
)
def search_text(
    text_query: TextQuery, searching: SearchingDep, metrics: MetricsDep, k: K = DEFAULT_K
) -> SearchResponse:
    """Artworks that match a text, best first, and where the text lands on the map."""
    q, vector = text_query
    with searching.pool.connection() as conn:
        results, cut, projection = searching.near(conn, vector, k)
    metrics.searches.labels("text").inc()
    return SearchResponse(query=q, results=results, query_point=query_point(projection, vector), cut=cut)


@router.post(
    "/image",
    response_model=ImageSearchResponse,
    openapi_extra=UPLOAD_REQUEST_BODY,
    dependencies=[Depends(limit_searches)],  # before the upload is read
    responses=search_answers(413, 415, 422, 429, 503),
)
def search_image(image_query: ImageQuery, searching: SearchingDep, metrics: MetricsDep) -> ImageSearchResponse:
    """Artworks that look like an uploaded image (multipart `file`, optional `k`; filters in the query), best first."""
    vector, k = image_query
    with searching.pool.connection() as conn:
        results, cut, projection = searching.near(conn, vector, k)
    metrics.searches.labels("image").inc()
    return ImageSearchResponse(results=results, query_point=query_point(projection, vector), cut=cut)


@router.post(
    "/compose",
    response_model=ComposedSearchResponse,
    dependencies=[Depends(limit_searches)],
    responses=search_answers(404, 413, 415, 422, 429, 503),
)
def search_composed(
    composed: ComposedQuery, embedder: EmbedderDep, searching: SearchingDep, metrics: MetricsDep
) -> ComposedSearchResponse:
    """Artworks nearest to a weighted sum of texts, stored artworks and images (a negative weight pushes away from
    its part), best first; the artworks named are left out of the hits."""
    body, vectors = composed
    vectors = vectors | image_vectors(body, embedder)  # decoded before a connection is taken
    named = frozenset(part.artwork_id for part in body.parts if part.artwork_id is not None)
    with searching.pool.connection() as conn:
        vector = combined(body, vectors | artwork_vectors(conn, body))
        results, cut, projection = searching.near(conn, vector, body.k, leave_out=named)
    metrics.searches.labels("composed").inc()
    return ComposedSearchResponse(results=results, query_point=query_point(projection, vector), cut=cut)
