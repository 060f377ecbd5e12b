"""The one normalised artwork record every source adapter produces and the store writes."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ArtworkRecord:
    """One work as the artworks table stores it; deleted=True marks a withdrawn record."""

    source: str
    source_id: str
    title: str = ""
    maker: str | None = None
    date_display: str | None = None
    year_start: int | None = None
    year_end: int | None = None
    object_type: str | None = None
    description: str | None = None
    license: str | None = None
    institution: str | None = None  # the museum that holds the work, credited wherever it is shown
    object_number: str | None = None  # the museum's own inventory or accession number
    image_url: str | None = None
    thumbnail_url: str | None = None
    full_image_url: str | None = None
    page_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, hash=False)
    deleted: bool = False
