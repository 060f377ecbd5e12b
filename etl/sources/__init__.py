"""Museum source adapters, each behind the small Source interface of base.py."""

from etl.sources.base import Page, Partition, Source, make_source

__all__ = ["Page", "Partition", "Source", "make_source"]
