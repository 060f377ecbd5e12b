"""Cleveland Museum of Art Open Access: /api/artworks/?cc0=1&has_image=1 paged by skip/limit."""

from datetime import datetime
from typing import Any

from backend.store.records import ArtworkRecord
from etl.http import HttpClient, MalformedResponse, json_with
from etl.sources.base import Page, Partition, Source, page_ranges
from etl.sources.fields import BadRecord, id_field, int_field, plain_text, text_field

PAGE_SIZE = 100
PAGES_PER_PARTITION = 10


class ClevelandSource(Source):
    """The CMA open-access API; it has no change filter, so --since keeps only records updated since."""

    name = "cleveland"
    institution = "Cleveland Museum of Art"
    default_base_url = "https://openaccess-api.clevelandart.org/api"
    rate = 10.0
    concurrency = 4

    async def partitions(self, client: HttpClient) -> list[Partition]:
        """Fixed ranges of 10 pages of 100 over the total the API reports now."""
        total = await client.get(self._url(), self._params(skip=0, limit=1), json_with(_total))
        last_page = max(1, -(-total // PAGE_SIZE))
        return [
            Partition(key, {"skip": (start - 1) * PAGE_SIZE, "stop": end * PAGE_SIZE})
            for key, start, end in page_ranges(f"{self.since_prefix()}pages-", 1, last_page, PAGES_PER_PARTITION)
        ]

    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """One page at cursor['skip']; the partition ends at its stop offset or the first empty page."""
        skip = cursor["skip"]
        parse = json_with(lambda doc: parse_listing(doc, updated_since=self.since))
        page = await client.get(self._url(), self._params(skip=skip, limit=PAGE_SIZE), parse)
        next_skip = skip + PAGE_SIZE
        finished = page.empty or next_skip >= cursor["stop"]
        page.next_cursor = None if finished else {"skip": next_skip, "stop": cursor["stop"]}
        return page

    def _url(self) -> str:
        return f"{self.base_url}/artworks/"

    def _params(self, **params: Any) -> dict[str, Any]:
        return {"cc0": 1, "has_image": 1, **params}


def _total(doc: Any) -> int:
    """info.total, checked: a listing without it is a malformed page."""
    info = doc.get("info") if isinstance(doc, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("total"), int):
        raise MalformedResponse("no info.total")
    return info["total"]


def parse_listing(doc: Any, updated_since: datetime | None = None) -> Page:
    """Normalise a listing page; with updated_since, records not updated since then are skipped."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise MalformedResponse("no data list")
    page = Page(records=[], next_cursor=None)
    for item in doc["data"]:
        try:
            if not is_open_access(item) or not _updated_since(item, updated_since):
                page.skipped += 1
                continue
            page.records.append(parse_artwork(item))
        except BadRecord as exc:
            ref = f"cleveland:{item.get('id')}" if isinstance(item, dict) else "cleveland:?"
            page.failures.append((ref, f"bad record: {exc}"))
    return page


def is_open_access(item: Any) -> bool:
    """CC0 with a web rendition."""
    if not isinstance(item, dict):
        raise BadRecord("record is not an object")
    return item.get("share_license_status") == "CC0" and _image_url(item, "web") is not None


def _updated_since(item: dict[str, Any], since: datetime | None) -> bool:
    if since is None:
        return True
    updated = text_field(item, "updated_at")
    try:
        return updated is None or datetime.fromisoformat(updated).replace(tzinfo=None) >= since.replace(tzinfo=None)
    except ValueError as exc:
        raise BadRecord("updated_at is not a date") from exc


def _image_url(item: dict[str, Any], rendition: str) -> str | None:
    images = item.get("images")
    if images is None:
        return None
    if not isinstance(images, dict):
        raise BadRecord("images is not an object")
    block = images.get(rendition)
    if block is None:
        return None
    if not isinstance(block, dict):
        raise BadRecord(f"images.{rendition} is not an object")
    return text_field(block, "url")


def _maker(item: dict[str, Any]) -> str | None:
    """The first creator's name: its description without the '(nationality, dates)' part."""
    creators = item.get("creators")
    if not creators:
        return None
    if not isinstance(creators, list) or not isinstance(creators[0], dict):
        raise BadRecord("creators is not a list of objects")
    description = text_field(creators[0], "description")
    return description.split(" (")[0].strip() if description else None


def parse_artwork(item: dict[str, Any]) -> ArtworkRecord:
    """One CMA artwork: images.web to embed and as thumbnail, images.print for display."""
    web = _image_url(item, "web")
    if web is None:
        raise BadRecord("missing images.web.url")
    description = text_field(item, "wall_description") or text_field(item, "digital_description")
    return ArtworkRecord(
        source=ClevelandSource.name,
        source_id=id_field(item, "id"),
        title=text_field(item, "title", required=True),
        maker=_maker(item),
        date_display=text_field(item, "creation_date"),
        year_start=int_field(item, "creation_date_earliest"),
        year_end=int_field(item, "creation_date_latest"),
        object_type=text_field(item, "type"),
        description=plain_text(description),
        license=text_field(item, "share_license_status"),
        institution=ClevelandSource.institution,
        object_number=text_field(item, "accession_number"),
        image_url=web,
        thumbnail_url=web,
        full_image_url=_image_url(item, "print") or web,
        page_url=text_field(item, "url"),
        raw=item,
    )
