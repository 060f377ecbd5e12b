"""Query parameters shared by the search routes, validated once: bad values are a 422 with a message."""

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import HTTPException, Query

from backend.store.search import Filters

DEFAULT_K = 20
MAX_K = 200
MAX_QUERY_CHARS = 500
MAX_ID = 2**63 - 1  # artworks.id is a bigint
YEAR_BOUND = 10_000
NO_NUL = r"^[^\x00]*$"  # Postgres text cannot hold NUL

K = Annotated[int, Query(ge=1, le=MAX_K, description="how many hits")]


async def search_filters(
    museum: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL, description="source, e.g. aic or rijksmuseum")
    ] = None,
    type: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="object type, case-insensitive")
    ] = None,
    date_from: Annotated[int | None, Query(ge=-YEAR_BOUND, le=YEAR_BOUND, description="earliest year")] = None,
    date_to: Annotated[int | None, Query(ge=-YEAR_BOUND, le=YEAR_BOUND, description="latest year")] = None,
    min_score: Annotated[float | None, Query(ge=-1.0, le=1.0, description="lowest cosine similarity")] = None,
) -> Filters:
    """The optional filters of a search (a coroutine: pure validation, no thread-pool hop)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise HTTPException(422, "date_from must not be later than date_to")
    return Filters(museum=museum, type=type, date_from=date_from, date_to=date_to, min_score=min_score)


@dataclass(frozen=True)
class Shape:
    """How a search's hits are shaped: near-duplicates folded into stacks, the list ended at a clear drop."""

    stack: bool = False
    cutoff: bool = False


async def result_shape(
    stack: Annotated[
        bool, Query(description="fold near-duplicates of a better hit under it; k then counts stacks")
    ] = False,
    cutoff: Annotated[
        Literal["auto"] | None, Query(description="auto: end the hits where the scores drop clearly")
    ] = None,
) -> Shape:
    """The optional shaping of a search's hits (a coroutine: pure validation)."""
    return Shape(stack=stack, cutoff=cutoff == "auto")
