"""The small interface every museum adapter implements: plan partitions, fetch one page of a partition."""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from backend.store.records import ArtworkRecord
from backend.url_policy import URL_FIELDS, WEB_SCHEMES, url_refusal
from etl.http import HttpClient


@dataclass(frozen=True)
class Partition:
    """An independent slice of a source's work; key names its checkpoint, cursor is where it starts."""

    key: str
    cursor: dict[str, Any]
    # Planning data the worker needs but the checkpoint does not keep (e.g. the Met's ids of one shard).
    work: tuple[Any, ...] = ()


@dataclass
class Page:
    """One fetched page: its records, its bad records, and the cursor after it (None: partition finished)."""

    records: list[ArtworkRecord]
    next_cursor: dict[str, Any] | None
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url or id, reason)
    skipped: int = 0  # records left out on purpose: not open access, or no image

    @property
    def empty(self) -> bool:
        """No item at all on the page: past the end of a listing."""
        return not (self.records or self.failures or self.skipped)


class Source(ABC):
    """A museum API adapter; instances hold plain values only, so they travel to spawned workers."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    rate: ClassVar[float]  # polite requests/s per host when the operator sets none
    concurrency: ClassVar[int]

    def __init__(self, base_url: str | None = None, since: datetime | None = None) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.since = since

    @classmethod
    def from_options(cls, *, base_url: str | None, since: datetime | None, path: Path | None) -> "Source":
        """The adapter as the command line describes it (a museum API ignores --path)."""
        return cls(base_url, since=since)

    @abstractmethod
    async def partitions(self, client: HttpClient) -> list[Partition]:
        """Split the work into partitions whose keys stay the same from one run to the next."""

    @abstractmethod
    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """Fetch and normalise the page at cursor; raises when the page itself cannot be had."""

    @property
    def url_schemes(self) -> frozenset[str]:
        """The museums serve https; http is trusted only from a host the operator chose (--base-url http://…)."""
        return WEB_SCHEMES if urlsplit(self.base_url).scheme == "http" else frozenset({"https"})

    def url_refusal(self, record: ArtworkRecord) -> str | None:
        """Why a record names a URL this source may not give (file://, ftp:, javascript:, …), or None."""
        for name in URL_FIELDS:
            reason = url_refusal(getattr(record, name), self.url_schemes)
            if reason:
                return f"{name} {reason}"
        return None

    def screened(self, page: Page) -> Page:
        """The page with every record that names a refused URL moved to its failures: nothing of it is stored."""
        records, failures = [], list(page.failures)
        for record in page.records:
            reason = self.url_refusal(record)
            if reason:
                failures.append((f"{self.name}:{record.source_id}", f"bad record: {reason}"))
            else:
                records.append(record)
        return Page(records, page.next_cursor, failures, page.skipped)

    @property
    def local_root(self) -> Path | None:
        """The folder this source reads images from, for a source of local files."""
        return None

    def since_prefix(self) -> str:
        """Incremental runs get partition keys of their own, so they never mix with a full crawl's."""
        return f"since-{self.since:%Y-%m-%dT%H:%M:%S}/" if self.since else ""


def page_ranges(prefix: str, first: int, last: int, per_partition: int) -> list[tuple[str, int, int]]:
    """Fixed-size ranges (key, start, end) covering first..last; fixed sizes keep keys stable as totals grow
    (a partition whose range runs past the end simply stops at the first empty page)."""
    return [
        (f"{prefix}{start:07d}-{start + per_partition - 1:07d}", start, start + per_partition - 1)
        for start in range(first, last + 1, per_partition)
    ]
