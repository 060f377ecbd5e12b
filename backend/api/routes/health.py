"""Liveness and what the operator and the UI need to know about the running service."""

from fastapi import APIRouter

from backend.api.deps import CurrentMapDep, EmbedderDep, PoolDep
from backend.api.schemas import ErrorBody, Health
from backend.store.catalogue import collection_counts

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=Health, responses={503: {"model": ErrorBody}})
def health(pool: PoolDep, embedder: EmbedderDep, current_map: CurrentMapDep) -> Health:
    """Counts, model, real or random weights (the UI shows a banner for random), current map version."""
    with pool.connection() as conn:
        artworks, embedded = collection_counts(conn)
        projection = current_map.refresh(conn)
    model = embedder.model
    return Health(
        status="ok",
        artworks=artworks,
        embedded=embedded,
        model=model.name,
        weights=model.weights,
        random_weights=model.random_weights,
        projection_version=projection.id if projection else None,
    )
