"""What the search filters can offer: museums, object types and the spread of dates."""

from fastapi import APIRouter

from backend.api.deps import FacetsDep, PoolDep
from backend.api.schemas import ErrorBody, Facets

router = APIRouter(tags=["search"])


@router.get("/api/facets", response_model=Facets, responses={503: {"model": ErrorBody}})
def facets(pool: PoolDep, cached: FacetsDep) -> Facets:
    """The museums, commonest object types and histogram of years of the searchable works (up to a minute old)."""
    return cached.get(pool)
