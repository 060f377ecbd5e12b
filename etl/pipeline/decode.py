"""Stage 3: image bytes → CLIP crop (Pillow releases the GIL, so a few threads decode in parallel)."""

from backend.clip_model import PreprocessSpec
from backend.images import ImageError, load_for_clip
from etl.pipeline.items import Decoded, Downloaded, Failure


class DecodeImage:
    """Decode, orient, convert to RGB and crop one image; a bad image becomes a permanent failure."""

    def __init__(self, spec: PreprocessSpec) -> None:
        self.spec = spec

    def __call__(self, item: Downloaded) -> Decoded | Failure:
        try:
            return Decoded(item.claim, load_for_clip(item.data, self.spec))
        except ImageError as exc:
            return Failure(item.claim, exc.reason, exc.detail)
