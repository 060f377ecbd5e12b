"""One run = crawl → embed → project, for `artsearch run`, the scheduler and the demo."""

from pathlib import Path
from typing import Any

from backend.database import connect, database_url
from backend.settings import Settings
from backend.store.projections import current_projection, embedding_count
from etl.sources import Source

SAMPLE_COLLECTION = Path(__file__).resolve().parent / "sample_collection"
REFIT_GROWTH = 1.5  # refit the map once the collection is this much larger than the last fit saw


def run_source(
    settings: Settings, source: Source, *, limit: int | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Crawl one source, embed whatever is pending, and keep the map current; a summary for the runs table."""
    from etl.crawler import CrawlOptions, crawl
    from etl.pipeline.runner import embed_pending

    url = database_url(settings)
    crawled = crawl(source, url, CrawlOptions.for_source(source, settings, limit=limit), show_progress=show_progress)
    embedded = embed_pending(settings, show_progress=show_progress)
    projection = refresh_projection(settings)
    return {
        "source": source.name,
        "crawl": crawled.line(),
        "embed": embedded.line(),
        "projection": projection,
        "crawl_failures": crawled.failures,
        "embed_failures": embedded.failed,
    }


def refresh_projection(settings: Settings) -> str:
    """Fit the map when there is none or the collection has outgrown it; otherwise new works already sit on it."""
    from backend.projection import FIT_SAMPLE, MIN_FIT, fit_projection

    with connect(database_url(settings)) as conn:
        embedded = embedding_count(conn)
        current = current_projection(conn)
    if embedded < MIN_FIT:
        return f"{embedded} embeddings: too few for a map"
    if current is not None and min(embedded, FIT_SAMPLE) <= current.n_fitted * REFIT_GROWTH:
        return f"kept projection #{current.id}"
    summary = fit_projection(settings, "pca")
    return f"fitted projection #{summary.projection_id} on {summary.n_fitted} artworks"
