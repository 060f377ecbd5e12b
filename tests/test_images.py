"""backend.images: our fast decode + crop equals CLIPImageProcessor, and hostile bytes fail with a reason."""

import numpy as np
import pytest
from PIL import Image
from transformers import CLIPImageProcessorPil

from backend.clip_model import PreprocessSpec
from backend.images import ImageError, decode_image, load_for_clip, normalise_batch
from tests.helpers import FIXTURE_IMAGES, jpeg, png
from tests.image_server import hostile_images

PROCESSOR = CLIPImageProcessorPil()
SPEC = PreprocessSpec(224, 224, tuple(PROCESSOR.image_mean), tuple(PROCESSOR.image_std))


@pytest.fixture(scope="module")
def hostile() -> dict[str, bytes]:
    return {name: data for name, (data, _) in hostile_images().items()}


def test_pixels_equal_clip_image_processor() -> None:
    """Below 2x the target no draft scaling happens: the cropped resize gives CLIP's pixels."""
    images = [Image.open(path).convert("RGB") for path in FIXTURE_IMAGES]
    reference = PROCESSOR(images=images, return_tensors="np")["pixel_values"]
    ours = normalise_batch([load_for_clip(path.read_bytes(), SPEC) for path in FIXTURE_IMAGES], SPEC)
    assert ours.shape == reference.shape == (len(FIXTURE_IMAGES), 3, 224, 224)
    assert ours.dtype == np.float32
    for mine, theirs in zip(ours, reference, strict=True):
        cosine = (mine * theirs).sum() / np.linalg.norm(mine) / np.linalg.norm(theirs)
        assert cosine > 0.9999
        assert np.abs(mine - theirs).mean() < 0.005


def test_large_jpeg_is_decoded_near_the_target_size() -> None:
    big = Image.open(FIXTURE_IMAGES[0]).convert("RGB").resize((1800, 2400))
    image = decode_image(jpeg(big), target_side=224)
    assert min(image.size) >= 224 and image.size[0] <= 450  # DCT-scaled, not full size
    assert load_for_clip(jpeg(big), SPEC).shape == (224, 224, 3)


def test_exif_orientation_is_applied() -> None:
    wide = Image.new("RGB", (400, 300), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    image = decode_image(jpeg(wide, exif=exif.tobytes()))
    assert image.size == (300, 400)


def test_transparency_is_composited_on_white(hostile: dict[str, bytes]) -> None:
    image = decode_image(png(Image.new("RGBA", (64, 64), (0, 0, 0, 0))))
    assert image.mode == "RGB" and image.getpixel((10, 10)) == (255, 255, 255)
    assert decode_image(hostile["alpha.png"]).mode == "RGB"


def test_cmyk_is_converted_to_rgb(hostile: dict[str, bytes]) -> None:
    image = decode_image(hostile["cmyk.jpg"])
    assert image.mode == "RGB"
    original = np.asarray(Image.open(FIXTURE_IMAGES[2]).convert("RGB"), dtype=np.float32)
    assert np.abs(np.asarray(image, dtype=np.float32) - original).mean() < 12


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.jpg", "truncated or corrupt image"),
        ("pixel.png", "too small"),
        ("bomb.png", "over the pixel limit"),
        ("page.jpg", "not an image (an HTML page)"),
    ],
)
def test_hostile_bytes_fail_with_reason(hostile: dict[str, bytes], name: str, reason: str) -> None:
    with pytest.raises(ImageError) as error:
        load_for_clip(hostile[name], SPEC)
    assert error.value.reason == reason  # the class status counts; the particulars are the detail
    assert name != "pixel.png" or error.value.detail == "1x1"


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(ImageError, match="over the pixel limit"):
        decode_image(jpeg(Image.new("RGB", (300, 300))), max_pixels=200 * 200)


def test_garbage_is_not_an_image() -> None:
    with pytest.raises(ImageError, match="^not an image$"):
        decode_image(b"\x00\x01 definitely not a picture")
