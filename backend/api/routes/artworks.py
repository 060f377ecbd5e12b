"""One artwork: its metadata, its nearest neighbours, and its local image file."""

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlparse

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from backend.api.deps import CurrentMapDep, MetricsDep, PoolDep, SettingsDep
from backend.api.params import DEFAULT_K, MAX_ID, K
from backend.api.results import RENDITIONS, placed_results, public_urls
from backend.api.schemas import Artwork, ErrorBody, SimilarResponse
from backend.store.catalogue import artwork_by_id
from backend.store.search import artworks_like

router = APIRouter(prefix="/api/artworks", tags=["artworks"])

ArtworkId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="the artwork's id")]
NOT_FOUND = {404: {"model": ErrorBody}, 503: {"model": ErrorBody}}


@router.get("/{artwork_id}", response_model=Artwork, responses=NOT_FOUND)
def get_artwork(artwork_id: ArtworkId, pool: PoolDep) -> Artwork:
    """The artwork with all its metadata and its place on the map."""
    with pool.connection() as conn:
        row = artwork_by_id(conn, artwork_id)
    if row is None:
        raise HTTPException(404, f"no artwork with id {artwork_id}")
    return Artwork(**public_urls(row))


@router.get("/{artwork_id}/similar", response_model=SimilarResponse, responses=NOT_FOUND)
def similar_artworks(
    artwork_id: ArtworkId,
    pool: PoolDep,
    current_map: CurrentMapDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    k: K = DEFAULT_K,
) -> SimilarResponse:
    """The k artworks nearest to this one ("more like this"), the artwork itself excluded."""
    with pool.connection() as conn:
        rows = artworks_like(conn, artwork_id, k, settings.hnsw_ef_search)
        if rows is None:
            raise HTTPException(404, f"no embedded artwork with id {artwork_id}")
        results, _ = placed_results(conn, rows, current_map)
    metrics.searches.labels("similar").inc()
    return SimilarResponse(results=results)


@router.get(
    "/{artwork_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/*": {}}}, 307: {"description": "the museum's image URL"}, **NOT_FOUND},
)
def artwork_image(
    artwork_id: ArtworkId,
    pool: PoolDep,
    rendition: Annotated[Literal["image", "thumbnail", "full"], Query()] = "image",
) -> Response:
    """The artwork's image: a local file (folder sources) served from disk, a museum URL redirected to."""
    with pool.connection() as conn:
        row = artwork_by_id(conn, artwork_id)
    column = next(name for name, value in RENDITIONS.items() if value == rendition)
    url = row.get(column) if row else None
    if not url:
        raise HTTPException(404, f"artwork {artwork_id} has no {rendition} image")
    if not url.startswith("file://"):
        return RedirectResponse(url)
    path = Path(unquote(urlparse(url).path))
    if not path.is_file():
        raise HTTPException(404, f"the image file of artwork {artwork_id} is missing")
    return FileResponse(path)
