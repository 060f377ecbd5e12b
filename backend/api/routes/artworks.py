"""One artwork: its metadata, its nearest neighbours, and its local image file."""

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from backend.api.deps import CurrentMapDep, MetricsDep, PoolDep, SettingsDep
from backend.api.params import DEFAULT_K, MAX_ID, K
from backend.api.results import RENDITIONS, placed_results, public_urls
from backend.api.schemas import Artwork, ErrorBody, SimilarResponse
from backend.store.catalogue import artwork_by_id
from backend.store.local_folders import local_folder_roots
from backend.store.search import artworks_like
from backend.url_policy import FOLDER_SOURCE, is_web_url, local_image_path

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
    """The artwork's image: a folder work's file served from disk when it lies inside a crawled folder, a museum's
    web URL redirected to; nothing else is ever served or redirected to."""
    with pool.connection() as conn:
        row = artwork_by_id(conn, artwork_id)
        roots = local_folder_roots(conn) if row and row["source"] == FOLDER_SOURCE else []
    column = next(name for name, value in RENDITIONS.items() if value == rendition)
    url = row.get(column) if row else None
    if not url:
        raise HTTPException(404, f"artwork {artwork_id} has no {rendition} image")
    if row["source"] != FOLDER_SOURCE:
        if not is_web_url(url):
            raise HTTPException(404, f"artwork {artwork_id} has no web address for its {rendition} image")
        return RedirectResponse(url)
    path = local_image_path(url, roots)
    if path is None:
        raise HTTPException(404, f"the {rendition} image of artwork {artwork_id} is not a file in a crawled folder")
    return FileResponse(path)
