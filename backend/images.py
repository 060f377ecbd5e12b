"""Image bytes → CLIP input, one home for the pipeline's decode stage and the API's uploads.

Decoding is defensive (pixel limit, truncation, not-an-image) and fast (JPEG `draft` decodes near the target
size); the geometry and normalisation equal transformers' CLIPImageProcessor within float tolerance.
"""

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.clip_model import PreprocessSpec

MAX_PIXELS = 64_000_000  # far above any rendition we ask for; a decompression bomb is far above this
MIN_SIDE = 16  # a 1x1 tracking pixel or a broken placeholder carries no picture worth embedding


class ImageError(ValueError):
    """An image that can never be embedded; `reason` is what gets recorded."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_image(data: bytes, target_side: int = 224, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode bytes into an upright RGB image whose shorter side is still >= target_side."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(f"over the pixel limit ({width}x{height})")
            if min(width, height) < MIN_SIDE:
                raise ImageError(f"too small ({width}x{height})")
            if image.format == "JPEG":
                # DCT scaling: decode at 1/2, 1/4 or 1/8 size while both sides stay >= target.
                image.draft("RGB", (target_side, target_side))
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("over the pixel limit") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("not an image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"truncated or corrupt image ({exc})") from exc
    image = ImageOps.exif_transpose(image)
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for CLIP: transparency composited on white (as a page shows it), CMYK and palettes converted."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def clip_crop(image: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """CLIP's geometry: bicubic resize of the shorter side, then a centre crop; uint8 (crop, crop, 3)."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(spec.resize * long / short)
    size = (spec.resize, new_long) if width <= height else (new_long, spec.resize)
    resized = image.resize(size, Image.Resampling.BICUBIC)
    left = (size[0] - spec.crop) // 2
    top = (size[1] - spec.crop) // 2
    cropped = resized.crop((left, top, left + spec.crop, top + spec.crop))
    return np.asarray(cropped, dtype=np.uint8)


def normalise_batch(crops: list[np.ndarray] | np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 crops (N, H, W, 3) → CLIP pixel values float32 (N, 3, H, W): rescale and normalise."""
    batch = np.asarray(crops, dtype=np.float32) * np.float32(1 / 255)
    batch -= np.asarray(spec.mean, dtype=np.float32)
    batch /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def load_for_clip(data: bytes, spec: PreprocessSpec) -> np.ndarray:
    """Bytes → the uint8 CLIP crop, or ImageError with the reason."""
    return clip_crop(decode_image(data, target_side=spec.resize), spec)
