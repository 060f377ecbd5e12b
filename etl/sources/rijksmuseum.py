"""Rijksmuseum: OAI-PMH ListRecords (metadataPrefix=edm) in yearly date windows, paged by resumptionToken."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from backend.store.records import ArtworkRecord
from etl.http import HttpClient, MalformedResponse, xml_with
from etl.sources.base import Page, Partition, Source
from etl.sources.fields import BadRecord, years_from_text

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "ore": "http://www.openarchives.org/ore/terms/",
    "edm": "http://www.europeana.eu/schemas/edm/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
}
RDF_RESOURCE = f"{{{NS['rdf']}}}resource"
RDF_ABOUT = f"{{{NS['rdf']}}}about"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
OPEN_RIGHTS = {
    "creativecommons.org/publicdomain/zero/1.0": "CC0",
    "creativecommons.org/publicdomain/mark/1.0": "Public Domain Mark",
}
EMBED_SIZE, DISPLAY_SIZE, THUMBNAIL_SIZE = "448,", "1200,", "300,"
IIIF_IMAGE = re.compile(r"^(?P<base>.+)/full/[^/]+/0/default\.jpg$")


class OaiError(Exception):
    """An OAI-PMH error answer other than noRecordsMatch (badArgument, badResumptionToken, …): permanent."""


class RijksmuseumSource(Source):
    """The keyless OAI-PMH endpoint of the Rijksmuseum; deleted records (persistent) are marked deleted."""

    name = "rijksmuseum"
    institution = "Rijksmuseum"
    default_base_url = "https://data.rijksmuseum.nl/oai"
    rate = 5.0
    concurrency = 4

    def __init__(self, base_url: str | None = None, since: datetime | None = None, open_only: bool = True) -> None:
        super().__init__(base_url, since)
        self.open_only = open_only

    async def partitions(self, client: HttpClient) -> list[Partition]:
        """Yearly datestamp windows from the repository's earliest datestamp (or --since) to now."""
        earliest = await client.get(self.base_url, {"verb": "Identify"}, xml_with(_earliest_datestamp))
        start = max(earliest, self.since.replace(tzinfo=UTC)) if self.since else earliest
        windows = []
        for year in range(start.year, datetime.now(UTC).year + 1):
            first = max(start, datetime(year, 1, 1, tzinfo=UTC))
            last = datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC)
            key = f"{self.since_prefix()}{first:%Y-%m-%d}..{last:%Y-%m-%d}"
            windows.append(Partition(key, {"from": _stamp(first), "until": _stamp(last)}))
        return windows

    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """The window's first ListRecords page, or the page its resumptionToken names."""
        if cursor.get("token"):
            params = {"verb": "ListRecords", "resumptionToken": cursor["token"]}
        else:
            params = {"verb": "ListRecords", "metadataPrefix": "edm", "from": cursor["from"], "until": cursor["until"]}
        page = await client.get(self.base_url, params, xml_with(lambda root: parse_list_records(root, self.open_only)))
        if page.next_cursor is not None:
            page.next_cursor = {**cursor, **page.next_cursor}
        return page


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _earliest_datestamp(root: ET.Element) -> datetime:
    """Identify's earliestDatestamp (day or second granularity)."""
    text = root.findtext("oai:Identify/oai:earliestDatestamp", namespaces=NS)
    if not text:
        raise MalformedResponse("no Identify/earliestDatestamp")
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise MalformedResponse("earliestDatestamp is not a date") from exc


def parse_list_records(root: ET.Element, open_only: bool = True) -> Page:
    """One ListRecords answer: records, deleted markers, failures for bad records, and the next token."""
    error = root.find("oai:error", NS)
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return Page(records=[], next_cursor=None)
        raise OaiError(f"OAI error {error.get('code')}")
    list_records = root.find("oai:ListRecords", NS)
    if list_records is None:
        raise MalformedResponse("no ListRecords element")
    page = Page(records=[], next_cursor=None)
    for record in list_records.findall("oai:record", NS):
        try:
            parsed = parse_record(record)
        except BadRecord as exc:
            identifier = record.findtext("oai:header/oai:identifier", default="?", namespaces=NS)
            page.failures.append((identifier.strip(), f"bad record: {exc}"))
            continue
        if open_only and not parsed.deleted and parsed.license is None:
            page.skipped += 1
        else:
            page.records.append(parsed)
    token = list_records.findtext("oai:resumptionToken", default="", namespaces=NS).strip()
    page.next_cursor = {"token": token} if token else None
    return page


def parse_record(record: ET.Element) -> ArtworkRecord:
    """One OAI record: a deleted header becomes a deleted marker, else the EDM metadata is normalised."""
    header = record.find("oai:header", NS)
    identifier = header.findtext("oai:identifier", namespaces=NS) if header is not None else None
    if not identifier or not identifier.strip():
        raise BadRecord("missing header identifier")
    source_id = identifier.strip()
    if header.get("status") == "deleted":
        return ArtworkRecord(source=RijksmuseumSource.name, source_id=source_id, deleted=True)
    rdf = record.find("oai:metadata/rdf:RDF", NS)
    if rdf is None:
        raise BadRecord("missing rdf:RDF metadata")
    cho = rdf.find(".//edm:ProvidedCHO", NS)
    aggregation = rdf.find(".//ore:Aggregation", NS)
    if cho is None or aggregation is None:
        raise BadRecord("missing edm:ProvidedCHO or ore:Aggregation")
    title = _by_language(cho.findall("dc:title", NS))
    if not title:
        raise BadRecord("missing dc:title")
    object_number = (cho.findtext("dc:identifier", namespaces=NS) or "").strip() or None
    date_display = (cho.findtext("dcterms:created", namespaces=NS) or "").strip() or None
    year_start, year_end = years_from_text(date_display)
    image = _resource(aggregation.find("edm:isShownBy", NS), "edm:WebResource")
    rights = _resource(aggregation.find("edm:rights", NS), None)
    license_name = OPEN_RIGHTS.get(re.sub(r"^https?://|/$", "", rights or ""))
    image_url, display_url, thumbnail_url = _renditions(image)
    page_url = _resource(aggregation.find("edm:isShownAt", NS), None)
    if not page_url and object_number:
        page_url = f"https://www.rijksmuseum.nl/en/collection/{object_number}"
    return ArtworkRecord(
        source=RijksmuseumSource.name,
        source_id=source_id,
        title=title,
        maker=_label(rdf, cho.find("dc:creator", NS), "edm:Agent"),
        date_display=date_display,
        year_start=year_start,
        year_end=year_end,
        object_type=_label(rdf, cho.find("dc:type", NS), "skos:Concept"),
        description=_by_language(cho.findall("dc:description", NS)),
        license=license_name if image_url else None,
        institution=RijksmuseumSource.institution,
        object_number=object_number,
        image_url=image_url,
        thumbnail_url=thumbnail_url,
        full_image_url=display_url,
        page_url=page_url,
        raw={"identifier": source_id, "object_number": object_number, "rights": rights, "image": image},
    )


def _by_language(elements: list[ET.Element]) -> str | None:
    """The English text if there is one, else Dutch, else the first."""
    texts = {el.get(XML_LANG, ""): (el.text or "").strip() for el in reversed(elements) if (el.text or "").strip()}
    return texts.get("en") or texts.get("nl") or next(iter(texts.values()), None)


def _resource(element: ET.Element | None, inline_tag: str | None) -> str | None:
    """A URI given as rdf:resource, or as rdf:about of an inline element (edm:WebResource)."""
    if element is None:
        return None
    if element.get(RDF_RESOURCE):
        return element.get(RDF_RESOURCE).strip()
    inline = element.find(inline_tag, NS) if inline_tag else None
    if inline is not None and inline.get(RDF_ABOUT):
        return inline.get(RDF_ABOUT).strip()
    return (element.text or "").strip() or None


def _label(rdf: ET.Element, element: ET.Element | None, entity_tag: str) -> str | None:
    """A creator or type: inline text, an inline entity, or a reference to an entity's skos:prefLabel."""
    if element is None:
        return None
    if (element.text or "").strip():
        return element.text.strip()
    entity = element.find(entity_tag, NS)
    if entity is None and element.get(RDF_RESOURCE):
        ref = element.get(RDF_RESOURCE)
        entity = next(
            (
                e
                for e in rdf.iter(f"{{{NS[entity_tag.split(':')[0]]}}}{entity_tag.split(':')[1]}")
                if e.get(RDF_ABOUT) == ref
            ),
            None,
        )
    return _by_language(entity.findall("skos:prefLabel", NS)) if entity is not None else None


def _renditions(image: str | None) -> tuple[str | None, str | None, str | None]:
    """IIIF sizes on iiif.micr.io: 448 px wide to embed, 1200 to display, 300 as thumbnail."""
    if not image:
        return None, None, None
    match = IIIF_IMAGE.match(image)
    if not match:
        return image, image, image
    base = match["base"]
    return tuple(f"{base}/full/{size}/0/default.jpg" for size in (EMBED_SIZE, DISPLAY_SIZE, THUMBNAIL_SIZE))
