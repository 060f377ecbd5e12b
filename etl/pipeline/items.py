"""What flows between the stages: one artwork at a time until the embed stage batches them."""

from dataclasses import dataclass

import numpy as np

from backend.images import Thumbnail
from backend.store.embed_queue import ClaimedArtwork


@dataclass(frozen=True)
class Downloaded:
    """The image bytes of a claimed artwork."""

    claim: ClaimedArtwork
    data: bytes


@dataclass(frozen=True)
class Decoded:
    """A claimed artwork's CLIP crop, uint8 (crop, crop, 3), and its map thumbnail (None when they are off)."""

    claim: ClaimedArtwork
    crop: np.ndarray
    thumbnail: Thumbnail | None = None


@dataclass(frozen=True)
class Failure:
    """Why an artwork could not be embedded; transient ones are tried again later, permanent ones never."""

    claim: ClaimedArtwork
    reason: str  # the class `artsearch status` counts
    detail: str | None = None  # kept with the artwork
    transient: bool = False
    retry_after_s: float | None = None


@dataclass(frozen=True)
class EmbeddedBatch:
    """Unit vectors (N, dim) for N claimed artworks, and their thumbnails, in the same order."""

    claims: list[ClaimedArtwork]
    vectors: np.ndarray
    thumbnails: list[Thumbnail | None] | None = None
