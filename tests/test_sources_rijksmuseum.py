"""The Rijksmuseum OAI-PMH adapter on the 2013 captures, the constructed EDM page and broken variants."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from etl.http import MalformedResponse, parse_xml
from etl.sources.rijksmuseum import OaiError, _earliest_datestamp, parse_list_records
from tests.helpers import FIXTURES

SAMPLES = FIXTURES / "api_samples" / "rijksmuseum"


def root(name: str) -> ET.Element:
    return ET.parse(SAMPLES / name).getroot()


def test_edm_page() -> None:
    page = parse_list_records(root("edm_listrecords_constructed.xml"))
    scribes, milkmaid, deleted = page.records
    assert scribes.source_id == "https://id.rijksmuseum.nl/200117708"
    assert (scribes.title, scribes.maker, scribes.object_type) == ("Three Scribes", "Rembrandt van Rijn", "drawing")
    assert (scribes.date_display, scribes.year_start, scribes.year_end) == ("c. 1628 - c. 1629", 1628, 1629)
    assert scribes.license == "CC0" and scribes.raw["object_number"] == "RP-T-1930-54(V)"
    assert (scribes.institution, scribes.object_number) == ("Rijksmuseum", "RP-T-1930-54(V)")
    assert scribes.image_url == "https://iiif.micr.io/TZCqF/full/448,/0/default.jpg"
    assert scribes.full_image_url == "https://iiif.micr.io/TZCqF/full/1200,/0/default.jpg"
    assert scribes.thumbnail_url == "https://iiif.micr.io/TZCqF/full/300,/0/default.jpg"
    assert (milkmaid.title, milkmaid.maker, milkmaid.object_type) == ("The Milkmaid", "Johannes Vermeer", "painting")
    assert milkmaid.license == "Public Domain Mark"
    assert milkmaid.image_url == "https://iiif.micr.io/PJEZO/full/448,/0/default.jpg"
    assert milkmaid.page_url == "https://www.rijksmuseum.nl/en/collection/SK-A-2344"
    assert milkmaid.object_number == "SK-A-2344"
    assert deleted.deleted and deleted.source_id == "https://id.rijksmuseum.nl/200400001"
    assert page.skipped == 1  # the in-copyright photograph
    assert page.next_cursor == {"token": "edm~2024-11-05~1"}
    assert len(parse_list_records(root("edm_listrecords_constructed.xml"), open_only=False).records) == 4


def test_legacy_2013_captures() -> None:
    with_token = parse_list_records(root("legacy_oai_2013__Q42__listrecords.xml"))
    assert with_token.next_cursor == {"token": "abc"}
    # oai_dc, not EDM: the envelope parses, the record is a bad record with its identifier.
    assert with_token.failures == [("oai:rijksmuseum.nl:SK-A-4881", "bad record: missing rdf:RDF metadata")]
    assert parse_list_records(root("legacy_oai_2013__Q42__listrecords-def.xml")).next_cursor is None
    assert _earliest_datestamp(root("legacy_oai_2013__Q42__identify.xml")) == datetime(2011, 1, 1, tzinfo=UTC)


def oai(body: str) -> ET.Element:
    return ET.fromstring(f'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">{body}</OAI-PMH>')


def test_errors_and_broken_records() -> None:
    assert parse_list_records(oai('<error code="noRecordsMatch">none</error>')).empty
    with pytest.raises(OaiError, match="badResumptionToken"):
        parse_list_records(oai('<error code="badResumptionToken">bad</error>'))
    with pytest.raises(MalformedResponse):
        parse_list_records(oai("<Identify/>"))
    page = parse_list_records(
        oai(
            "<ListRecords><record><header><identifier></identifier></header></record>"
            "<record><header><identifier>x</identifier></header><metadata><rdf:RDF "
            'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata></record>'
            "<resumptionToken/></ListRecords>"
        )
    )
    assert [reason for _, reason in page.failures] == [
        "bad record: missing header identifier",
        "bad record: missing edm:ProvidedCHO or ore:Aggregation",
    ]
    assert page.next_cursor is None


def test_malformed_xml_and_html() -> None:
    with pytest.raises(MalformedResponse):
        parse_xml(b"<OAI-PMH><ListRecords>", "text/xml", "u")
    with pytest.raises(Exception, match="blocked"):
        parse_xml(b"<html></html>", "text/html", "u")
