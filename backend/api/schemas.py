"""The API's response shapes: one module, so the OpenAPI schema and the frontend's types agree."""

from typing import Any

from pydantic import BaseModel, Field


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
    image_url: str | None
    thumbnail_url: str | None
    page_url: str | None


class Result(ArtworkSummary):
    """One hit: enough to draw it on the map and link to its museum page."""

    x: float | None = Field(ge=0.0, le=1.0)
    y: float | None = Field(ge=0.0, le=1.0)
    score: float


class SearchResponse(BaseModel):
    """Text search: the query echoed, the hits best first, and where the query lands on the map."""

    query: str
    results: list[Result]
    query_point: Point | None


class ImageSearchResponse(BaseModel):
    """Image search: the hits best first and where the uploaded image lands on the map."""

    results: list[Result]
    query_point: Point | None


class SimilarResponse(BaseModel):
    """Artworks nearest to one artwork, the artwork itself excluded."""

    results: list[Result]


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
