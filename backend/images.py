"""Image bytes → CLIP input, one home for the pipeline's decode stage and the API's uploads.

Decoding is defensive (pixel limit, truncation, not-an-image) and fast (JPEG `draft` decodes near the target
size, the resize computes only the centre crop); the geometry and normalisation equal transformers'
CLIPImageProcessor within float tolerance.
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.clip_model import PreprocessSpec

# What the museums and folders hold; Pillow parses no other format (its EPS plugin would hand the bytes to
# Ghostscript, others are rarely exercised parsers), and the download stage drops bytes that open as none of these.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
MAX_PIXELS = 64_000_000  # far above any rendition we ask for; a decompression bomb is far above this
MIN_SIDE = 16  # a 1x1 tracking pixel or a broken placeholder carries no picture worth embedding
# The map's atlases draw a work at up to this many pixels on its longer side before the full image takes over;
# 64 px keeps a 128-work atlas near 100 KB (docs/performance.md).
THUMBNAIL_SIDE = 64
THUMBNAIL_QUALITY = 80
# A folder work's thumbnail rendition, made from its file on request: as large as the museums' own thumbnails
# (Rijksmuseum 300 px wide, AIC 200) and above the 192 px the map draws a thumbnail at, at a few tens of KB.
FILE_THUMBNAIL_SIDE = 300


class ImageError(ValueError):
    """An image that can never be embedded: `reason` is its class (what status counts), `detail` the particulars."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{reason} ({detail})" if detail else reason)
        self.reason = reason
        self.detail = detail


def decode_image(data: bytes, target_side: int = 224, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Decode bytes into an upright RGB image whose shorter side is still >= target_side."""
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageError("over the pixel limit") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(not_an_image(data)) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError("over the pixel limit", f"{width}x{height}")
    if min(width, height) < MIN_SIDE:
        raise ImageError("too small", f"{width}x{height}")
    if image.format == "JPEG":
        # DCT scaling: decode at 1/2, 1/4 or 1/8 size while both sides stay >= target.
        image.draft("RGB", (target_side, target_side))
    try:
        image.load()
    except Exception as exc:  # any decoder error on untrusted bytes means the file is damaged
        raise ImageError("truncated or corrupt image", str(exc)) from exc
    ImageOps.exif_transpose(image, in_place=True)
    return _to_rgb(image)


def looks_like_image(data: bytes) -> bool:
    """Whether bytes begin as one of IMAGE_FORMATS does: checked before anything parses them."""
    return data.startswith(SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def not_an_image(data: bytes) -> str:
    """The reason for bytes that are no image; an HTML page is the common case worth naming."""
    head = data[:256].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "not an image (an HTML page)"
    return "not an image"


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB for CLIP: transparency composited on white (as a page shows it), CMYK and palettes converted."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def clip_crop(image: Image.Image, spec: PreprocessSpec) -> np.ndarray:
    """CLIP's geometry: bicubic resize of the shorter side, then a centre crop; uint8 (crop, crop, 3)."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(spec.resize * long / short)
    resized_w, resized_h = (spec.resize, new_long) if width <= height else (new_long, spec.resize)
    left = (resized_w - spec.crop) // 2
    top = (resized_h - spec.crop) // 2
    # Resize only the source window that becomes the crop: the same filter and scale, a fraction of the work.
    scale_x, scale_y = width / resized_w, height / resized_h
    box = (left * scale_x, top * scale_y, (left + spec.crop) * scale_x, (top + spec.crop) * scale_y)
    cropped = image.resize((spec.crop, spec.crop), Image.Resampling.BICUBIC, box=box)
    return np.asarray(cropped, dtype=np.uint8)


def normalise_batch(crops: list[np.ndarray] | np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """uint8 crops (N, H, W, 3) → CLIP pixel values float32 (N, 3, H, W): rescale and normalise."""
    batch = np.asarray(crops, dtype=np.float32).transpose(0, 3, 1, 2)
    scale = (1 / (255 * np.asarray(spec.std, dtype=np.float32))).reshape(1, 3, 1, 1)
    shift = (np.asarray(spec.mean, dtype=np.float32) / np.asarray(spec.std, dtype=np.float32)).reshape(1, 3, 1, 1)
    return np.ascontiguousarray(batch * scale - shift)


@dataclass(frozen=True)
class Thumbnail:
    """A work's small JPEG for the map's atlases, with its pixel size (the longer side is THUMBNAIL_SIDE)."""

    jpeg: bytes
    width: int
    height: int


def make_thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> Thumbnail:
    """The whole picture (not a crop: the map shows each work as it is) fitted into side × side."""
    small = image.copy()
    small.thumbnail((side, side), Image.Resampling.BICUBIC, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return Thumbnail(out.getvalue(), *small.size)


def load_for_clip(data: bytes, spec: PreprocessSpec) -> np.ndarray:
    """Bytes → the uint8 CLIP crop, or ImageError with the reason."""
    return clip_crop(decode_image(data, target_side=spec.resize), spec)


def file_thumbnail(data: bytes, side: int = FILE_THUMBNAIL_SIDE) -> bytes:
    """A local image file as a JPEG fitted into side × side (decoded near that size), or ImageError with the reason."""
    return make_thumbnail(decode_image(data, target_side=side), side).jpeg
