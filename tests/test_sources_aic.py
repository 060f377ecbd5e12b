"""The AIC adapter on the recorded real responses and on broken variants."""

import copy
import json

import pytest

from etl.http import MalformedResponse
from etl.sources.aic import is_open_access, parse_artwork, parse_listing
from tests.helpers import FIXTURES

SAMPLES = FIXTURES / "api_samples" / "aic"
CONFIG = json.loads((SAMPLES / "api-data__config.json").read_text())


def test_every_dump_record_parses_with_iiif_urls_from_config() -> None:
    for path in sorted((SAMPLES / "artworks").glob("*.json")):
        item = json.loads(path.read_text())
        assert is_open_access(item)
        record = parse_artwork(item, CONFIG)
        assert record.source_id == str(item["id"])
        assert record.title == item["title"]
        assert record.image_url == f"https://www.artic.edu/iiif/2/{item['image_id']}/full/400,/0/default.jpg"
        assert record.thumbnail_url.endswith("/full/200,/0/default.jpg")
        assert record.full_image_url.endswith("/full/843,/0/default.jpg")
        assert record.page_url == f"https://www.artic.edu/artworks/{item['id']}"
        assert record.license == "CC0"
        assert (record.institution, record.object_number) == ("Art Institute of Chicago", item["main_reference_number"])
        assert record.raw == item


def test_record_fields() -> None:
    record = parse_artwork(json.loads((SAMPLES / "artworks" / "4.json").read_text()), CONFIG)
    assert (record.title, record.maker, record.date_display) == ("Priest and Boy", "Lawrence Carmichael Earle", "n.d.")
    assert (record.year_start, record.year_end, record.object_type) == (1865, 1880, "Drawing and Watercolor")
    assert record.object_number == "1880.1"


def test_listing_page_and_detail_response() -> None:
    listing = json.loads((SAMPLES / "ec-app__artworks-aic.json").read_text())
    # The recorder's fields= left out is_public_domain: nothing may be taken for public domain.
    page = parse_listing(listing)
    assert (len(page.records), page.skipped, page.failures) == (0, 20, [])
    for item in listing["data"]:
        item["is_public_domain"] = True
    page = parse_listing(listing)
    assert [r.source_id for r in page.records] == [str(item["id"]) for item in listing["data"]]
    assert page.records[0].maker == "Pablo Picasso"
    assert page.records[0].image_url.startswith(listing["config"]["iiif_url"])
    assert page.records[0].object_number is None  # not among the recorder's fields=
    detail = json.loads((SAMPLES / "ec-app__artwork-aic.json").read_text())
    record = parse_artwork(detail["data"], detail["config"])
    assert (record.source_id, record.title, record.year_start) == ("209980", "Blood Sign", 1974)
    assert (record.institution, record.object_number) == ("Art Institute of Chicago", "2012.690")
    assert record.description and "<p>" not in record.description


def test_bad_records_are_failures_with_reasons() -> None:
    listing = json.loads((SAMPLES / "ec-app__artworks-aic.json").read_text())
    good = dict(listing["data"][0], is_public_domain=True)
    broken = [
        {k: v for k, v in good.items() if k != "title"},
        dict(good, title=["a", "list"]),
        dict(good, id=None),
        dict(good, date_start="circa"),
        "not an object",
    ]
    page = parse_listing(dict(listing, data=[good, *broken, dict(good, image_id=None)]))
    assert len(page.records) == 1 and page.skipped == 1
    assert [reason for _, reason in page.failures] == [
        "bad record: missing title",
        "bad record: title is not a string",
        "bad record: missing id",
        "bad record: date_start is not an integer",
        "bad record: record is not an object",
    ]


@pytest.mark.parametrize("doc", [{}, {"data": None, "config": CONFIG}, {"data": []}, [], "x"])
def test_malformed_pages_raise(doc: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_listing(copy.deepcopy(doc))


def test_empty_page_is_empty() -> None:
    assert parse_listing({"data": [], "config": CONFIG}).empty
