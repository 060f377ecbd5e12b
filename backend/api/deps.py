"""Dependencies the routes declare: everything comes from app.state, filled once by the lifespan."""

from collections.abc import Iterator
from typing import Annotated

import numpy as np
import psycopg
from fastapi import Depends, HTTPException, Query, Request

from backend.api.current_map import CurrentMap
from backend.api.embedder import QueryEmbedder
from backend.api.metrics import Metrics
from backend.api.params import MAX_QUERY_CHARS
from backend.api.uploads import ImageUpload, read_image_upload
from backend.images import ImageError
from backend.settings import Settings

POOL_TIMEOUT_S = 5.0  # how long a request waits for a database connection before answering 503


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


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for one request, committed (or rolled back) and returned afterwards."""
    with request.app.state.pool.connection(timeout=POOL_TIMEOUT_S) as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings)]
EmbedderDep = Annotated[QueryEmbedder, Depends(get_embedder)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
CurrentMapDep = Annotated[CurrentMap, Depends(get_current_map)]
Conn = Annotated[psycopg.Connection, Depends(get_conn)]


async def text_query_vector(
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS, description="what to look for")],
    embedder: EmbedderDep,
) -> tuple[str, np.ndarray]:
    """The query text and its vector. Declared before Conn in a route: no connection idles while the model runs."""
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


TextQuery = Annotated[tuple[str, np.ndarray], Depends(text_query_vector)]
ImageQuery = Annotated[tuple[np.ndarray, int], Depends(image_query_vector)]
