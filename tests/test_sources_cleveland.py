"""The Cleveland adapter on the recorded real responses and on broken variants."""

import json
from datetime import datetime

import pytest

from etl.http import MalformedResponse
from etl.sources.cleveland import _total, parse_listing
from tests.helpers import FIXTURES

SAMPLES = FIXTURES / "api_samples" / "cleveland"
RECORD = json.loads((SAMPLES / "openverse__complete_data.json").read_text())


def test_complete_record() -> None:
    page = parse_listing({"data": [RECORD], "info": {"total": 1}})
    (record,) = page.records
    assert (record.source_id, record.title) == (
        "93014",
        "View of Schroon Mountain, Essex County, New York, After a Storm",
    )
    assert (record.maker, record.date_display, record.year_start, record.year_end) == (
        "Thomas Cole",
        "1838",
        1838,
        1838,
    )
    assert (record.object_type, record.license) == ("Painting", "CC0")
    assert record.image_url == "https://openaccess-cdn.clevelandart.org/1335.1917/1335.1917_web.jpg"
    assert record.full_image_url == "https://openaccess-cdn.clevelandart.org/1335.1917/1335.1917_print.jpg"
    assert record.page_url == "https://clevelandart.org/art/1335.1917"
    assert (record.institution, record.object_number) == ("Cleveland Museum of Art", "1335.1917")


def test_images_block_and_page_past_the_end() -> None:
    images = json.loads((SAMPLES / "openverse__image_type_web.json").read_text())
    (record,) = parse_listing({"data": [dict(RECORD, images=images)]}).records
    assert record.image_url == images["web"]["url"]
    past_end = json.loads((SAMPLES / "openverse__response_no_data.json").read_text())
    assert parse_listing(past_end).empty and _total(past_end) == 32483


def test_broken_records_and_filters() -> None:
    data = [
        dict(RECORD, title=None),
        dict(RECORD, images="none"),
        dict(RECORD, creators="Cole"),
        dict(RECORD, share_license_status="Copyrighted"),
        dict(RECORD, images={"web": None}),
        7,
    ]
    page = parse_listing({"data": data})
    assert page.records == [] and page.skipped == 2
    assert [r for _, r in page.failures] == [
        "bad record: missing title",
        "bad record: images is not an object",
        "bad record: creators is not a list of objects",
        "bad record: record is not an object",
    ]


def test_updated_since_keeps_only_newer_records() -> None:
    page = parse_listing({"data": [RECORD]}, updated_since=datetime(2020, 1, 1))
    assert page.records == [] and page.skipped == 1
    assert len(parse_listing({"data": [RECORD]}, updated_since=datetime(2019, 1, 1)).records) == 1


@pytest.mark.parametrize("doc", [{}, {"data": {}}, [], {"info": {"total": "3"}}])
def test_malformed_pages(doc: object) -> None:
    with pytest.raises(MalformedResponse):
        parse_listing(doc)
    with pytest.raises(MalformedResponse):
        _total(doc)
