"""Art Institute of Chicago: /api/v1/artworks paged by page/limit; public-domain works with an image_id."""

from typing import Any

from backend.store.records import ArtworkRecord
from etl.http import HttpClient, MalformedResponse, json_with
from etl.sources.base import Page, Partition, Source, page_ranges
from etl.sources.fields import BadRecord, id_field, int_field, plain_text, text_field

PAGE_SIZE = 100
PAGES_PER_PARTITION = 5
FIELDS = (
    "id,title,artist_title,artist_display,date_display,date_start,date_end,artwork_type_title,"
    "medium_display,short_description,description,is_public_domain,image_id,main_reference_number,updated_at"
)
EMBED_WIDTH, THUMBNAIL_WIDTH, FULL_WIDTH = 400, 200, 843  # widths the AIC IIIF server caches


class AicSource(Source):
    """The AIC public API; incremental runs use its search endpoint with an updated_at range."""

    name = "aic"
    institution = "Art Institute of Chicago"
    default_base_url = "https://api.artic.edu/api/v1"
    rate = 1.0  # the AIC asks anonymous clients for at most 60 requests/min
    concurrency = 2

    async def partitions(self, client: HttpClient) -> list[Partition]:
        """Fixed ranges of 5 pages of 100, over the page count the API reports now."""
        total = await client.get(self._url(), self._params(page=1, limit=1, fields="id"), json_with(_total))
        last_page = max(1, -(-total // PAGE_SIZE))
        return [
            Partition(key, {"page": start, "last": end})
            for key, start, end in page_ranges(f"{self.since_prefix()}pages-", 1, last_page, PAGES_PER_PARTITION)
        ]

    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """One listing page; the partition ends after its last page or at the first empty one."""
        page_number = cursor["page"]
        params = self._params(page=page_number, limit=PAGE_SIZE, fields=FIELDS)
        page = await client.get(self._url(), params, json_with(parse_listing))
        finished = page.empty or page_number >= cursor["last"]
        page.next_cursor = None if finished else {"page": page_number + 1, "last": cursor["last"]}
        return page

    def _url(self) -> str:
        return f"{self.base_url}/artworks/search" if self.since else f"{self.base_url}/artworks"

    def _params(self, **params: Any) -> dict[str, Any]:
        if self.since:
            params["query[range][updated_at][gte]"] = f"{self.since:%Y-%m-%dT%H:%M:%SZ}"
        return params


def _total(doc: Any) -> int:
    """pagination.total, checked: a listing without it is a malformed page."""
    pagination = doc.get("pagination") if isinstance(doc, dict) else None
    if not isinstance(pagination, dict) or not isinstance(pagination.get("total"), int):
        raise MalformedResponse("no pagination.total")
    return pagination["total"]


def parse_listing(doc: Any) -> Page:
    """Normalise a listing (or search) page: open-access records, failures for bad ones, the rest skipped."""
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise MalformedResponse("no data list")
    config = doc.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("iiif_url"), str):
        raise MalformedResponse("no config.iiif_url")
    page = Page(records=[], next_cursor=None)
    for item in doc["data"]:
        try:
            if not is_open_access(item):
                page.skipped += 1
                continue
            page.records.append(parse_artwork(item, config))
        except BadRecord as exc:
            page.failures.append((_item_ref(item), f"bad record: {exc}"))
    return page


def is_open_access(item: Any) -> bool:
    """Public domain and with an image: the works we may show and embed."""
    if not isinstance(item, dict):
        raise BadRecord("record is not an object")
    return item.get("is_public_domain") is True and bool(item.get("image_id"))


def parse_artwork(item: dict[str, Any], config: dict[str, Any]) -> ArtworkRecord:
    """One AIC artwork; image URLs are built from the response's config.iiif_url, never a fixed host."""
    source_id = id_field(item, "id")
    image_id = text_field(item, "image_id", required=True)
    iiif = config["iiif_url"].rstrip("/")
    website = (config.get("website_url") or "https://www.artic.edu").replace("http://", "https://").rstrip("/")
    artist_display = text_field(item, "artist_display")
    return ArtworkRecord(
        source=AicSource.name,
        source_id=source_id,
        title=text_field(item, "title", required=True),
        maker=text_field(item, "artist_title") or (artist_display.splitlines()[0] if artist_display else None),
        date_display=text_field(item, "date_display"),
        year_start=int_field(item, "date_start"),
        year_end=int_field(item, "date_end"),
        object_type=text_field(item, "artwork_type_title"),
        description=plain_text(text_field(item, "short_description") or text_field(item, "description")),
        license="CC0" if item.get("is_public_domain") is True else None,
        institution=AicSource.institution,
        object_number=text_field(item, "main_reference_number"),
        image_url=f"{iiif}/{image_id}/full/{EMBED_WIDTH},/0/default.jpg",
        thumbnail_url=f"{iiif}/{image_id}/full/{THUMBNAIL_WIDTH},/0/default.jpg",
        full_image_url=f"{iiif}/{image_id}/full/{FULL_WIDTH},/0/default.jpg",
        page_url=f"{website}/artworks/{source_id}",
        raw=item,
    )


def _item_ref(item: Any) -> str:
    return f"{AicSource.name}:{item.get('id') if isinstance(item, dict) else '?'}"
