"""A local directory of images described by metadata.csv: your own collection.

Columns: `file` (the image, relative to the folder) and `title`; optional `artist`, `date`, `url` (the work's web
page), `institution` (the museum that holds the work) and `object_number` (that museum's inventory number), which
the panel credits. Other columns are kept in the record's raw data.
"""

import csv
from datetime import datetime
from pathlib import Path, PurePath
from typing import Any

from backend.errors import ArtsearchError
from backend.store.records import ArtworkRecord
from backend.url_policy import FOLDER_SOURCE, url_refusal
from etl.http import HttpClient
from etl.sources.base import Page, Partition, Source
from etl.sources.fields import years_from_text

PAGE_SIZE = 200
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


class FolderSource(Source):
    """Reads metadata.csv row by row; images are referenced as file:// URLs, source_id is the relative path."""

    name = FOLDER_SOURCE
    default_base_url = ""
    rate = 0.0
    concurrency = 1

    def __init__(self, path: Path, since: datetime | None = None) -> None:
        super().__init__(None, since)
        self.root = Path(path).resolve()
        self.metadata = self.root / "metadata.csv"
        if not self.metadata.is_file():
            raise ArtsearchError(f"{self.metadata} not found: the folder source needs a metadata.csv")
        self._rows: list[dict[str, str]] | None = None

    async def partitions(self, client: HttpClient) -> list[Partition]:
        """One partition: the csv is read in pages of 200 rows."""
        return [Partition(f"{self.since_prefix()}{self.metadata}", {"row": 0})]

    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """Rows cursor['row'] .. +200 of metadata.csv."""
        if self._rows is None:
            self._rows = read_rows(self.metadata)
        rows = self._rows
        start = cursor["row"]
        page = Page(records=[], next_cursor=None)
        for number, row in enumerate(rows[start : start + PAGE_SIZE], start=start + 2):
            reason = self._check(row)
            if reason:
                page.failures.append((f"{self.metadata}:{number}", f"bad record: {reason}"))
            elif self.since and datetime.fromtimestamp(self._image(row).stat().st_mtime) < self.since:
                page.skipped += 1
            else:
                page.records.append(self.parse_row(row))
        end = start + PAGE_SIZE
        page.next_cursor = {"row": end} if end < len(rows) else None
        return page

    def parse_row(self, row: dict[str, str]) -> ArtworkRecord:
        """One csv row; the image is the file itself, at every size (the API serves a reduced thumbnail of it)."""
        image = self._image(row)
        date = _cell(row, "date")
        year_start, year_end = years_from_text(date)
        url = image.as_uri()
        return ArtworkRecord(
            source=self.name,
            source_id=image.relative_to(self.root).as_posix(),
            title=row["title"].strip(),
            maker=_cell(row, "artist"),
            date_display=date,
            year_start=year_start,
            year_end=year_end,
            image_url=url,
            thumbnail_url=url,
            full_image_url=url,
            page_url=_cell(row, "url"),
            institution=_cell(row, "institution"),
            object_number=_cell(row, "object_number"),
            raw=dict(row),
        )

    @classmethod
    def from_options(cls, *, base_url: str | None, since: datetime | None, path: Path | None) -> "FolderSource":
        """The folder named by --path."""
        if path is None:
            raise ArtsearchError("the folder source needs --path DIR (a directory with metadata.csv)")
        return cls(path, since=since)

    @property
    def local_root(self) -> Path:
        """The folder itself: the crawler registers it, so its images (and no other files) may be read."""
        return self.root

    def url_refusal(self, record: ArtworkRecord) -> str | None:
        """A page link must be a web URL; the image URLs are made here, from files `_check` found inside the folder
        (and the embedder and the image route check them again against the registered folders)."""
        reason = url_refusal(record.page_url)
        return f"page_url {reason}" if reason else None

    def _image(self, row: dict[str, str]) -> Path:
        return (self.root / row["file"].strip()).resolve()

    def _check(self, row: dict[str, str]) -> str | None:
        """Why a row cannot be used, or None."""
        file = (row.get("file") or "").strip()
        if not file:
            return "missing file"
        if not (row.get("title") or "").strip():
            return "missing title"
        if PurePath(file).is_absolute():
            return "absolute file path; give it relative to the folder"
        if ".." in PurePath(file).parts:
            return "file path with '..'; give it inside the folder"
        image = self._image(row)
        if not image.is_relative_to(self.root):
            return "file outside the folder (a symlink leads out)"
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            return "not an image file"
        if not image.is_file():
            return "file not found"
        return None


def _cell(row: dict[str, str], column: str) -> str | None:
    """An optional column's value, stripped; None when the column is absent or the cell empty."""
    return (row.get(column) or "").strip() or None


def read_rows(metadata: Path) -> list[dict[str, str]]:
    """All rows of metadata.csv; it must have at least the file and title columns."""
    with metadata.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "title"} - set(reader.fieldnames or [])
        if missing:
            raise ArtsearchError(f"{metadata} lacks the column(s) {', '.join(sorted(missing))}")
        return list(reader)
