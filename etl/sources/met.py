"""The Met: the id list from /objects (metadataDate for incremental runs), then /objects/{id} one by one."""

import asyncio
from typing import Any

from backend.store.records import ArtworkRecord
from etl.http import HttpClient, HttpStatusError, MalformedResponse, classify, describe, json_with
from etl.sources.base import Page, Partition, Source
from etl.sources.fields import BadRecord, id_field, int_field, text_field

SHARDS = 16  # id shards (objectID % 16): stable partitions however the id list changes
BATCH = 40  # objects fetched concurrently and committed together


class MetSource(Source):
    """The Met Collection API; its CDN answers bursts with block pages, which the client retries."""

    name = "met"
    institution = "The Metropolitan Museum of Art"
    default_base_url = "https://collectionapi.metmuseum.org/public/collection/v1"
    rate = 60.0  # the Met asks for at most 80 requests/s
    concurrency = 16

    async def partitions(self, client: HttpClient) -> list[Partition]:
        """One partition per id shard, each carrying its sorted ids."""
        params = {"metadataDate": f"{self.since:%Y-%m-%d}"} if self.since else None
        ids = await client.get(f"{self.base_url}/objects", params, json_with(_object_ids))
        shards: list[list[int]] = [[] for _ in range(SHARDS)]
        for object_id in sorted(set(ids)):
            shards[object_id % SHARDS].append(object_id)
        return [
            Partition(f"{self.since_prefix()}shard-{n:02d}-of-{SHARDS}", {"after": 0}, tuple(shard))
            for n, shard in enumerate(shards)
        ]

    async def fetch_page(self, client: HttpClient, partition: Partition, cursor: dict[str, Any]) -> Page:
        """The next batch of objects after cursor['after']; any object that stays unreachable fails the page."""
        batch = [object_id for object_id in partition.work if object_id > cursor["after"]][:BATCH]
        results = await asyncio.gather(
            *(self._fetch_object(client, object_id) for object_id in batch), return_exceptions=True
        )
        page = Page(records=[], next_cursor=None)
        for object_id, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                if classify(result) == "transient" or not isinstance(result, HttpStatusError):
                    raise result
                page.failures.append((f"{self.base_url}/objects/{object_id}", describe(result)))
            elif isinstance(result, str):
                page.failures.append((f"{self.base_url}/objects/{object_id}", result))
            elif result is None:
                page.skipped += 1
            else:
                page.records.append(result)
        remaining = batch and batch[-1] < partition.work[-1]
        page.next_cursor = {"after": batch[-1]} if remaining else None
        return page

    async def _fetch_object(self, client: HttpClient, object_id: int) -> ArtworkRecord | str | None:
        """The normalised object, None when not open access, or the reason it is a bad record."""
        doc = await client.get_json(f"{self.base_url}/objects/{object_id}")
        try:
            return parse_object(doc) if is_open_access(doc) else None
        except BadRecord as exc:
            return f"bad record: {exc}"


def _object_ids(doc: Any) -> list[int]:
    """The objectIDs list, checked (the API sends null for an empty result)."""
    if not isinstance(doc, dict) or "objectIDs" not in doc:
        raise MalformedResponse("no objectIDs")
    ids = doc["objectIDs"] or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise MalformedResponse("objectIDs is not a list of integers")
    return ids


def is_open_access(doc: Any) -> bool:
    """Public domain with a web image."""
    if not isinstance(doc, dict):
        raise BadRecord("record is not an object")
    return doc.get("isPublicDomain") is True and bool(doc.get("primaryImageSmall"))


def parse_object(doc: dict[str, Any]) -> ArtworkRecord:
    """One Met object: primaryImageSmall to embed and as thumbnail, primaryImage for display."""
    source_id = id_field(doc, "objectID")
    title = text_field(doc, "title") or text_field(doc, "objectName")
    if title is None:
        raise BadRecord("missing title")
    date_display = text_field(doc, "objectDate")
    undated = date_display is not None and date_display.lower() in {"n.d.", "undated", "no date"}
    small = text_field(doc, "primaryImageSmall", required=True)
    return ArtworkRecord(
        source=MetSource.name,
        source_id=source_id,
        title=title,
        maker=text_field(doc, "artistDisplayName"),
        date_display=None if undated else date_display,
        year_start=None if undated else int_field(doc, "objectBeginDate"),
        year_end=None if undated else int_field(doc, "objectEndDate"),
        object_type=text_field(doc, "objectName") or text_field(doc, "classification"),
        description=None,
        license="CC0" if doc.get("isPublicDomain") is True else None,
        institution=MetSource.institution,
        object_number=text_field(doc, "accessionNumber"),
        image_url=small,
        thumbnail_url=small,
        full_image_url=text_field(doc, "primaryImage") or small,
        page_url=text_field(doc, "objectURL"),
        raw=doc,
    )
