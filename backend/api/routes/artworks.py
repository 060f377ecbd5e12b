"""One artwork: its metadata, its nearest neighbours, and its local image file."""

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse, Response

from backend.api.caching import client_has, file_etag
from backend.api.deps import MetricsDep, PoolDep, SearchingDep
from backend.api.links import search_answers
from backend.api.params import DEFAULT_K, MAX_ID, K
from backend.api.rate_limit import limit_searches
from backend.api.results import RENDITIONS, public_urls
from backend.api.schemas import Artwork, ErrorBody, SimilarResponse
from backend.images import FILE_THUMBNAIL_SIDE, ImageError, file_thumbnail
from backend.store.catalogue import artwork_by_id
from backend.store.local_folders import local_folder_roots
from backend.store.search import artworks_like
from backend.url_policy import FOLDER_SOURCE, is_web_url, local_image_path

router = APIRouter(prefix="/api/artworks", tags=["artworks"])

ArtworkId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="the artwork's id")]
NOT_FOUND = {404: {"model": ErrorBody}, 503: {"model": ErrorBody}}
THUMBNAIL_CACHE = "public, max-age=86400"  # a day: the ETag lets a browser revalidate cheaply after that


@router.get("/{artwork_id}", response_model=Artwork, responses=NOT_FOUND)
def get_artwork(artwork_id: ArtworkId, pool: PoolDep) -> Artwork:
    """The artwork with all its metadata and its place on the map."""
    with pool.connection() as conn:
        row = artwork_by_id(conn, artwork_id)
    if row is None:
        raise HTTPException(404, f"no artwork with id {artwork_id}")
    return Artwork(**public_urls(row))


@router.get(
    "/{artwork_id}/similar",
    response_model=SimilarResponse,
    dependencies=[Depends(limit_searches)],
    responses=search_answers(404, 422, 429, 503),
)
def similar_artworks(
    artwork_id: ArtworkId, searching: SearchingDep, metrics: MetricsDep, k: K = DEFAULT_K
) -> SimilarResponse:
    """The k artworks nearest to this one ("more like this") that pass the filters, the artwork itself excluded."""

    def search(limit: int) -> list[dict]:
        rows = artworks_like(conn, artwork_id, limit, searching.settings.hnsw_ef_search, searching.filters)
        if rows is None:
            raise HTTPException(404, f"no embedded artwork with id {artwork_id}")
        return rows

    with searching.pool.connection() as conn:
        results, cut, _ = searching.shaped(conn, search, k)
    metrics.searches.labels("similar").inc()
    return SimilarResponse(results=results, cut=cut)


@router.get(
    "/{artwork_id}/image",
    response_class=Response,
    responses={
        200: {"content": {"image/*": {}}},
        304: {"description": "the thumbnail the client holds (If-None-Match) is current"},
        307: {"description": "the museum's image URL"},
        415: {"model": ErrorBody, "description": "a folder work's file is not an image a thumbnail can be made of"},
        **NOT_FOUND,
    },
)
def artwork_image(
    artwork_id: ArtworkId,
    pool: PoolDep,
    rendition: Annotated[Literal["image", "thumbnail", "full"], Query()] = "image",
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The artwork's image: a folder work's file served from disk when it lies inside a crawled folder (its
    thumbnail reduced from it), a museum's web URL redirected to; nothing else is ever served or redirected to."""
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
    if rendition == "thumbnail":
        return _file_thumbnail(artwork_id, path, if_none_match)
    return FileResponse(path)


def _file_thumbnail(artwork_id: int, path: Path, if_none_match: str | None) -> Response:
    """A folder work's file reduced to a thumbnail JPEG on request, or 304 when the client's copy is current."""
    etag = file_etag(path, FILE_THUMBNAIL_SIDE)
    headers = {"ETag": etag, "Cache-Control": THUMBNAIL_CACHE}
    if client_has(etag, if_none_match):
        return Response(status_code=304, headers=headers)
    try:
        jpeg = file_thumbnail(path.read_bytes())
    except ImageError as exc:
        raise HTTPException(415, f"the file of artwork {artwork_id} is not a usable image: {exc.reason}") from exc
    return Response(jpeg, media_type="image/jpeg", headers=headers)
