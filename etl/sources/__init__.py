"""The source registry: every museum adapter by the name the command line gives it. Adapters build on base.py,
which knows none of them; this module alone lists them."""

from datetime import datetime
from pathlib import Path

from backend.errors import ArtsearchError
from etl.sources.aic import AicSource
from etl.sources.base import Page, Partition, Source
from etl.sources.cleveland import ClevelandSource
from etl.sources.folder import FolderSource
from etl.sources.met import MetSource
from etl.sources.rijksmuseum import RijksmuseumSource

SOURCES: dict[str, type[Source]] = {
    adapter.name: adapter for adapter in (RijksmuseumSource, AicSource, MetSource, ClevelandSource, FolderSource)
}
SOURCE_NAMES = ", ".join(SOURCES)


def make_source(
    name: str, *, base_url: str | None = None, since: datetime | None = None, path: Path | None = None
) -> Source:
    """The adapter for a source name given on the command line."""
    if name not in SOURCES:
        raise ArtsearchError(f"unknown source {name!r}; choose one of {SOURCE_NAMES}")
    return SOURCES[name].from_options(base_url=base_url, since=since, path=path)


__all__ = ["SOURCES", "SOURCE_NAMES", "Page", "Partition", "Source", "make_source"]
