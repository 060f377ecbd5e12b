"""The API's response shapes: one module, so the OpenAPI schema and the frontend's types agree."""

from typing import Annotated, Any

from pydantic import BaseModel, Field

from backend.store.facets import BIN_YEARS, MAX_TYPES, MAX_YEAR_BINS, YEAR_PERCENTILES

_LOW, _HIGH = (f"{share * 100:g}th" for share in YEAR_PERCENTILES)
Cut = Annotated[int, Field(ge=0, description="hits cutoff=auto left out after a clear drop in the scores")]


class Point(BaseModel):
    """A position on the global map, both coordinates in [0, 1]."""

    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)


class ArtworkSummary(BaseModel):
    """What every view of an artwork carries: who made what, when, and where to see it."""

    id: int
    source: str
    source_id: str
    title: str
    maker: str | None
    date: str | None
    institution: str | None = Field(description="the museum that holds the work")
    object_number: str | None = Field(description="that museum's own inventory or accession number")
    image_url: str | None
    thumbnail_url: str | None
    page_url: str | None


class Hit(ArtworkSummary):
    """One hit: enough to draw it on the map and link to its museum page."""

    x: float | None = Field(ge=0.0, le=1.0)
    y: float | None = Field(ge=0.0, le=1.0)
    score: float


class Result(Hit):
    """A hit, and with stack=true the near-duplicates of it folded under it."""

    stacked: list[Hit] = Field(
        default_factory=list, description="near-duplicates of this hit (with stack=true), best first; k counts stacks"
    )


class SearchResponse(BaseModel):
    """Text search: the query echoed, the hits best first, and where the query lands on the map."""

    query: str
    results: list[Result]
    query_point: Point | None
    cut: Cut = 0


class ImageSearchResponse(BaseModel):
    """Image search: the hits best first and where the uploaded image lands on the map."""

    results: list[Result]
    query_point: Point | None
    cut: Cut = 0


class ComposedSearchResponse(ImageSearchResponse):
    """A composed query's hits best first and where its combined vector lands on the map."""


class SimilarResponse(BaseModel):
    """Artworks nearest to one artwork, the artwork itself excluded."""

    results: list[Result]
    cut: Cut = 0


class Artwork(ArtworkSummary):
    """An artwork with all its metadata and its place on the map."""

    year_start: int | None
    year_end: int | None
    object_type: str | None
    description: str | None
    license: str | None
    full_image_url: str | None
    raw: dict[str, Any]
    embed_status: str
    model: str | None
    x: float | None
    y: float | None


class Health(BaseModel):
    """Liveness plus what a user should know: collection size, model, real or random weights, map version."""

    status: str
    artworks: int
    embedded: int
    model: str
    weights: str
    random_weights: bool
    projection_version: int | None


class ErrorBody(BaseModel):
    """Every error answer: a message fit to show the user."""

    detail: Any


class MapRegion(BaseModel):
    """A label for a region of the map at coarse zooms: what its works have in common more than the rest."""

    label: str
    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)
    count: int = Field(description="how many works the region holds")
    min_zoom: int
    max_zoom: int


class MapInfo(BaseModel):
    """The current map: the version its tile URLs name, its zoom range and tile sizes, counts and region labels."""

    version: str = Field(description="projection and revision, as tile URLs name it: /api/map/{version}/tiles/…")
    projection_version: int
    method: str
    min_zoom: int
    max_zoom: int = Field(description="the deepest zoom any work is first listed at; deeper tiles list the same")
    tile_capacity: int = Field(description="the most works one tile lists")
    density_grid: int = Field(description="a tile's density grid is this many cells a side (fewer near zoom 20)")
    thumbnail_size: int = Field(description="the longer side of a thumbnail, in pixels")
    atlas_cell: int = Field(description="a thumbnail's cell in an atlas is this many pixels a side")
    placed: int = Field(description="works on this map")
    listed: int = Field(description="works listed at some zoom (the rest since the fit, until listed)")
    tiles: str = Field(description="the tile URL template")
    regions: list[MapRegion]


class TileWork(BaseModel):
    """A work a tile lists: where it is, what it is called, and its thumbnail's rectangle in the tile's atlas."""

    id: int
    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)
    zoom: int = Field(description="the coarsest zoom the work is listed at")
    title: str
    atlas: list[int] | None = Field(description="[left, top, width, height] in the atlas, or null without thumbnail")


class Tile(BaseModel):
    """One level-of-detail tile: at most tile_capacity works, and how many works of any zoom fall in each cell."""

    version: str
    z: int
    x: int
    y: int
    bounds: list[float] = Field(description="[x0, y0, x1, y1] of the tile in map coordinates")
    works: list[TileWork]
    total: int = Field(description="every work inside the tile, listed or not")
    density: list[list[int]] = Field(description="works per cell, density[row along y][column along x]")
    atlas_url: str | None = Field(description="the thumbnails of the listed works, one JPEG; null without any")
    atlas_size: list[int] | None = Field(description="[width, height] of the atlas in pixels")


class MuseumFacet(BaseModel):
    """A museum the `museum` filter can name, and how many searchable works it holds."""

    value: str = Field(description="the source, exactly what `museum=` takes")
    label: str = Field(description="the institution most of its works name; the source when none does")
    count: int


class TypeFacet(BaseModel):
    """An object type the `type` filter can name, and how many searchable works have it."""

    value: str = Field(description="its commonest spelling; `type=` matches any spelling case-insensitively")
    count: int = Field(description="works of this type in any spelling")


class YearHistogram(BaseModel):
    """How the dated works spread over time, for a date-range slider."""

    start: int = Field(description="the first year of the first bin")
    end: int = Field(description="the year after the last bin: start + bin × len(counts)")
    bin: int = Field(
        description=f"years per bin: the first of {', '.join(map(str, BIN_YEARS))} giving at most {MAX_YEAR_BINS} bins"
    )
    counts: list[int] = Field(
        description=f"works per bin, bin i holding start + i·bin up to start + (i + 1)·bin - 1; the bins span the "
        f"{_LOW} to {_HIGH} percentile of the years and the works beyond are counted in the first or last bin"
    )
    dated: int = Field(description="works with a year (start or end), the ones date_from and date_to can match")
    undated: int = Field(description="works without a year, which a date_from or date_to filter leaves out")


class Facets(BaseModel):
    """What the search filters can offer over the works a search can return (live and embedded), largest first."""

    museums: list[MuseumFacet]
    types: list[TypeFacet] = Field(description=f"the {MAX_TYPES} commonest object types, grouped as `type=` matches")
    years: YearHistogram | None = Field(description="null when no work has a year")
    total: int = Field(description="the works counted")
