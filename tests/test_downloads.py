"""The download stage's defences against what a museum's API names: private addresses (after DNS and on every
redirect), bodies over the size cap, and bytes that are no image; a real client against a real local server."""

import asyncio

import pytest

from backend.database import connect
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork
from etl import public_addresses
from etl.pipeline.download import DownloadImage, DownloadOptions
from etl.pipeline.items import Downloaded, Failure
from etl.pipeline.runner import embed_pending
from tests.helpers import FIXTURE_IMAGES, artwork_states, insert_artworks
from tests.image_server import ImageServer

REFUSED = "refused: not a public address"
ALLOW_HINT = "set ARTSEARCH_DOWNLOAD_ALLOW_PRIVATE=true to allow it"


def download(settings: Settings, url: str) -> Downloaded | Failure:
    """One image through the download stage as the settings configure it."""

    async def fetch() -> Downloaded | Failure:
        async with DownloadOptions.from_settings(settings).client() as client:
            return await DownloadImage(client)(ClaimedArtwork(1, "test", url, 1))

    return asyncio.run(fetch())


@pytest.fixture
def guarded(settings: Settings) -> Settings:
    """The settings as shipped: private addresses refused."""
    return settings.model_copy(update={"download_allow_private": False})


def test_crawled_urls_on_private_addresses_are_refused_and_recorded(
    guarded: Settings, image_server: ImageServer
) -> None:
    url = image_server.add("a.jpg", FIXTURE_IMAGES[0].read_bytes())
    port = image_server.base_url.rsplit(":", 1)[1]
    expected = {
        url: "127.0.0.1 is a loopback address",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/": "169.254.169.254 is a link-local",
        f"http://localhost:{port}/images/a.jpg": "localhost (",  # the name is checked after DNS
        f"http://[::ffff:127.0.0.1]:{port}/images/a.jpg": "::ffff:7f00:1 is a loopback address",
        "http://10.20.30.40/a.jpg": "10.20.30.40 is a private address",
        "http://[fe80::1]/a.jpg": "fe80::1 is a link-local address",
    }
    ids = insert_artworks(guarded.database_url, list(expected))

    summary = embed_pending(guarded)

    states = artwork_states(guarded.database_url)
    assert (summary.embedded, summary.failed, image_server.hits["a.jpg"]) == (0, len(expected), 0)
    with connect(guarded.database_url) as conn:
        details = dict(conn.execute("SELECT image_url, embed_error_detail FROM artworks"))
    for artwork_id, (image_url, shown) in zip(ids, expected.items(), strict=True):
        status, error, attempts = states[artwork_id]
        assert (status, error, attempts) == ("failed", REFUSED, 1), image_url  # permanent: never retried
        assert shown in details[image_url] and details[image_url].endswith(ALLOW_HINT)
    assert isinstance(download(guarded.model_copy(update={"download_allow_private": True}), url), Downloaded)


def test_a_redirect_to_a_private_address_is_refused(
    guarded: Settings, image_server: ImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local server stands in for a public CDN: 127.0.0.1 alone counts as public here, the rest of loopback not.
    refusal = public_addresses.address_refusal
    monkeypatch.setattr(public_addresses, "address_refusal", lambda ip: None if ip == "127.0.0.1" else refusal(ip))
    painting = image_server.add("a.jpg", FIXTURE_IMAGES[0].read_bytes())
    image_server.redirects["moved.jpg"] = painting
    image_server.redirects["inside.jpg"] = painting.replace("127.0.0.1", "127.0.0.2")
    image_server.redirects["metadata.jpg"] = "http://169.254.169.254/latest/meta-data/"

    assert isinstance(download(guarded, image_server.url("moved.jpg")), Downloaded)
    for name, shown in (("inside.jpg", "127.0.0.2 is a loopback"), ("metadata.jpg", "169.254.169.254 is a link")):
        failed = download(guarded, image_server.url(name))
        assert isinstance(failed, Failure) and failed.reason == REFUSED and not failed.transient
        assert shown in failed.detail
    assert image_server.hits["a.jpg"] == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["declared length", "chunked"])
def test_a_body_over_the_cap_is_refused_unread(settings: Settings, image_server: ImageServer, chunked: bool) -> None:
    painting = FIXTURE_IMAGES[0].read_bytes()
    url = image_server.add("large.jpg", painting)
    if chunked:
        image_server.chunked.add("large.jpg")
    capped = settings.model_copy(update={"download_max_bytes": len(painting) - 1})

    failed = download(capped, url)

    assert isinstance(failed, Failure) and (failed.reason, failed.transient) == ("over the size limit", False)
    assert image_server.hits["large.jpg"] == 1
    assert isinstance(download(settings.model_copy(update={"download_max_bytes": len(painting)}), url), Downloaded)


def test_bytes_that_are_no_image_never_reach_the_decoder(settings: Settings, image_server: ImageServer) -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n"  # Pillow would hand this to Ghostscript
    cases = {
        "json.jpg": (b'{"error": "rate limited"}', "application/json", "not an image"),
        "eps.jpg": (eps, "image/jpeg", "not an image"),
        "page.jpg": (b"<html><body>Sorry</body></html>", "image/jpeg", "not an image (an HTML page)"),
    }
    for name, (data, content_type, reason) in cases.items():
        failed = download(settings, image_server.add(name, data, content_type))
        assert isinstance(failed, Failure) and (failed.reason, failed.transient) == (reason, False)
    for image in FIXTURE_IMAGES[:2]:
        assert isinstance(download(settings, image_server.add(image.name, image.read_bytes())), Downloaded)
