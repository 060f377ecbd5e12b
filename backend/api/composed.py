"""A composed query's body (weighted texts, stored artworks and an image) → its unit vector (backend.compose)."""

import asyncio
from typing import Annotated

import numpy as np
import psycopg
from fastapi import Body, HTTPException
from pydantic import Base64Bytes, BaseModel, ConfigDict, Field, model_validator

from backend.api.embedder import QueryEmbedder
from backend.api.params import DEFAULT_K, MAX_ID, MAX_K, MAX_QUERY_CHARS, NO_NUL
from backend.compose import PartsCancel, compose
from backend.images import ImageError
from backend.store.search import live_embeddings

MAX_PARTS = 8
MAX_WEIGHT = 10.0


class QueryPart(BaseModel):
    """One part of a composed query: a text, a stored artwork or an image, with its weight."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1, max_length=MAX_QUERY_CHARS, pattern=NO_NUL)
    artwork_id: int | None = Field(None, ge=1, le=MAX_ID, description="an embedded artwork's id")
    image: Base64Bytes | None = Field(None, description="a JPEG, PNG or WebP, base64-encoded")
    weight: float = Field(1.0, ge=-MAX_WEIGHT, le=MAX_WEIGHT, description="how much it counts; negative: away from it")

    @model_validator(mode="after")
    def _one_kind(self) -> "QueryPart":
        if sum(value is not None for value in (self.text, self.artwork_id, self.image)) != 1:
            raise ValueError("each part is exactly one of text, artwork_id or image")
        if self.text is not None and not self.text.strip():
            raise ValueError("a text part must contain more than whitespace")
        return self


class ComposedBody(BaseModel):
    """What POST /api/search/compose takes: the parts, and how many hits."""

    model_config = ConfigDict(extra="forbid")

    parts: list[QueryPart] = Field(min_length=1, max_length=MAX_PARTS)
    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description="how many hits")

    @model_validator(mode="after")
    def _something_to_search_towards(self) -> "ComposedBody":
        if not any(part.weight > 0 for part in self.parts):
            raise ValueError("at least one part needs a positive weight: something to search towards")
        return self


ComposedBodyParam = Annotated[
    ComposedBody, Body(examples=[{"parts": [{"text": "a harbour"}, {"text": "people", "weight": -0.5}]}])
]


async def text_vectors(body: ComposedBody, embedder: QueryEmbedder) -> dict[int, np.ndarray]:
    """The text parts' vectors by part index, awaited together on the event loop: one batch on the model thread."""
    texts = {i: part.text for i, part in enumerate(body.parts) if part.text is not None}
    vectors = await asyncio.gather(*(embedder.text(text) for text in texts.values()))
    return dict(zip(texts, vectors, strict=True))


def image_vectors(body: ComposedBody, embedder: QueryEmbedder) -> dict[int, np.ndarray]:
    """The image parts' vectors by part index; 415 for one that cannot be decoded."""
    try:
        return {i: embedder.image(part.image) for i, part in enumerate(body.parts) if part.image is not None}
    except ImageError as exc:
        raise HTTPException(415, f"not a usable image: {exc.reason}") from exc


def artwork_vectors(conn: psycopg.Connection, body: ComposedBody) -> dict[int, np.ndarray]:
    """The artwork parts' stored vectors by part index, read in one statement; 404 for an artwork without one."""
    wanted = {i: part.artwork_id for i, part in enumerate(body.parts) if part.artwork_id is not None}
    stored = live_embeddings(conn, list(set(wanted.values()))) if wanted else {}
    missing = sorted(set(wanted.values()) - set(stored))
    if missing:
        raise HTTPException(404, f"no embedded artwork with id {missing[0]}")
    return {i: stored[artwork_id] for i, artwork_id in wanted.items()}


def combined(body: ComposedBody, vectors: dict[int, np.ndarray]) -> np.ndarray:
    """The parts' weighted, normalised sum; 422 when they cancel out."""
    try:
        return compose([vectors[i] for i in range(len(body.parts))], [part.weight for part in body.parts])
    except PartsCancel as exc:
        raise HTTPException(422, str(exc)) from exc
