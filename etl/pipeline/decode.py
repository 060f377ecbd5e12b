"""Stage 3: image bytes → CLIP crop and map thumbnail (Pillow releases the GIL, so a few threads decode in parallel)."""

from backend.clip_model import PreprocessSpec
from backend.images import ImageError, clip_crop, decode_image, make_thumbnail
from etl.pipeline.items import Decoded, Downloaded, Failure


class DecodeImage:
    """Decode, orient, convert to RGB and crop one image, and shrink it to its thumbnail from the same decode (no
    second download or decode); a bad image becomes a permanent failure."""

    def __init__(self, spec: PreprocessSpec, thumbnails: bool = True) -> None:
        self.spec = spec
        self.thumbnails = thumbnails

    def __call__(self, item: Downloaded) -> Decoded | Failure:
        try:
            image = decode_image(item.data, target_side=self.spec.resize)
        except ImageError as exc:
            return Failure(item.claim, exc.reason, exc.detail)
        thumbnail = make_thumbnail(image) if self.thumbnails else None
        return Decoded(item.claim, clip_crop(image, self.spec), thumbnail)
