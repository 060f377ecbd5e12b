"""The Met adapter on the recorded real responses and on broken variants."""

import json

import pytest

from etl.http import MalformedResponse
from etl.sources.fields import BadRecord
from etl.sources.met import _object_ids, is_open_access, parse_object
from tests.helpers import FIXTURES

SAMPLES = FIXTURES / "api_samples" / "met"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def test_public_domain_objects_parse() -> None:
    record = parse_object(sample("deckle__336228-melencolia-i"))
    assert (record.source_id, record.title, record.maker) == ("336228", "Melencolia I", "Albrecht Dürer")
    assert (record.date_display, record.year_start, record.year_end) == ("1514", 1514, 1514)
    assert record.image_url == "https://images.metmuseum.org/CRDImages/dp/web-large/DP820348.jpg"
    assert record.full_image_url == "https://images.metmuseum.org/CRDImages/dp/original/DP820348.jpg"
    assert record.page_url == "https://www.metmuseum.org/art/collection/search/336228"
    assert (record.object_type, record.license) == ("Print", "CC0")
    assert (record.institution, record.object_number) == ("The Metropolitan Museum of Art", "43.106.1")


def test_every_sample_is_classified_and_open_ones_parse() -> None:
    expected_open = {
        "deckle__336228-melencolia-i": True,
        "deckle__356497-the-rhinoceros": True,
        "deckle__63372-ten-bamboo-studio-no-artist": True,
        "openverse__sample_response": True,
        "deckle__352204-the-letter-not-public-domain": False,
        "deckle__341910-cartouches-undated": False,
    }
    assert {p.stem for p in SAMPLES.glob("*.json")} == set(expected_open)
    for name, is_open in expected_open.items():
        doc = sample(name)
        assert is_open_access(doc) is is_open
        if is_open:
            record = parse_object(doc)
            assert (record.source_id, record.object_number) == (str(doc["objectID"]), doc["accessionNumber"])


def test_no_artist_undated_and_sorted_keys() -> None:
    no_artist = parse_object(sample("deckle__63372-ten-bamboo-studio-no-artist"))
    assert no_artist.maker is None and no_artist.year_start == 1633
    undated = parse_object(dict(sample("deckle__341910-cartouches-undated"), primaryImageSmall="https://x/y.jpg"))
    assert (undated.date_display, undated.year_start, undated.year_end) == (None, None, None)
    quail = parse_object(sample("openverse__sample_response"))
    assert (quail.title, quail.maker, quail.year_start, quail.year_end) == (
        "Quail and Millet",
        "Kiyohara Yukinobu",
        1667,
        1682,
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"objectID": None}, "missing objectID"),
        ({"title": "", "objectName": ""}, "missing title"),
        ({"title": 12}, "title is not a string"),
        ({"objectBeginDate": "early"}, "objectBeginDate is not an integer"),
    ],
)
def test_broken_objects(change: dict, reason: str) -> None:
    with pytest.raises(BadRecord, match=reason):
        parse_object({**sample("deckle__336228-melencolia-i"), **change})


def test_object_id_lists() -> None:
    assert _object_ids({"total": 0, "objectIDs": None}) == []
    assert _object_ids({"total": 2, "objectIDs": [5, 3]}) == [5, 3]
    for doc in ({}, {"objectIDs": ["a"]}, {"objectIDs": "1,2"}, []):
        with pytest.raises(MalformedResponse):
            _object_ids(doc)
