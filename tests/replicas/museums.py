"""The four museum APIs as the replicas answer them: same JSON/XML shapes, pagination and errors as the real
ones, with records generated from the recorded samples in tests/fixtures/api_samples/."""

import base64
import bisect
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from tests.helpers import FIXTURES

SAMPLES = FIXTURES / "api_samples"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FIRST_CHANGE = datetime(2021, 1, 1, tzinfo=UTC)
LAST_CHANGE = datetime(2024, 12, 31, tzinfo=UTC)


def _load(path: str) -> Any:
    return json.loads((SAMPLES / path).read_text())


class Museum(ABC):
    """N generated open-access records with modification dates spread over 2021–2024."""

    kind = ""
    api_path = ""
    image_route = ""  # where the museum's images are, as an aiohttp route; its {key} picks the file served

    def __init__(self, records: int, deleted_every: int = 0) -> None:
        self.count = records
        self.deleted_every = deleted_every
        span = (LAST_CHANGE - FIRST_CHANGE) / max(records, 1)
        self.modified = {str(self.object_id(i)): FIRST_CHANGE + span * i for i in range(1, records + 1)}
        self.revised: set[str] = set()
        self.rephotographed: set[str] = set()  # revised with a new image, which the embed stage must see
        self.deleted: set[str] = set()
        self.changes = 0  # how many touch/delete calls: what a view sorted by datestamp was sorted at
        self.tampered: dict[str, dict[str, Any]] = {}  # fields a hostile upstream puts in a JSON record

    @property
    def image_path(self) -> str:
        """Where the image URLs start: the image route up to its first placeholder."""
        return self.image_route.split("{", 1)[0].rstrip("/")

    def object_id(self, i: int) -> int:
        """The museum's id of the i-th record (1-based)."""
        return i

    def ids(self, changed_since: datetime | None = None) -> list[str]:
        """All record ids in the API's order, or those changed since a moment."""
        return [key for key, when in self.modified.items() if changed_since is None or when >= changed_since]

    def title(self, key: str, base: str) -> str:
        return f"{base} [{key}]" + (" (revised)" if key in self.revised else "")

    def touch(self, keys: list[str], when: datetime, new_image: bool = False) -> None:
        for key in keys:
            self.modified[key] = when
            self.revised.add(key)
            if new_image:
                self.rephotographed.add(key)
        self.changes += 1

    def delete(self, keys: list[str], when: datetime) -> None:
        for key in keys:
            self.modified[key] = when
            self.deleted.add(key)
        self.changes += 1

    def answer_by_id(
        self, request: web.Request, answer: Callable[[str], dict[str, Any]], not_found: dict[str, Any]
    ) -> web.Response:
        """The record the request's {id} names, as `answer(key)` renders it; the museum's own 404 for an unknown id."""
        key = request.match_info["id"]
        if key not in self.modified:
            return web.json_response(not_found, status=404)
        return web.json_response(answer(key))

    @abstractmethod
    def routes(self, server: Any) -> dict[str, Handler]:
        """The museum's API, path → handler, for the replica to serve (beside image_route)."""


def _int_param(request: web.Request, name: str, default: int) -> int:
    try:
        return int(request.query.get(name, default))
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text=json.dumps({"error": f"invalid {name}"}), content_type="application/json"
        ) from exc


class Aic(Museum):
    """api.artic.edu: /artworks and /artworks/search paged by page/limit, /artworks/{id}, IIIF images."""

    kind = "aic"
    api_path = "/api/v1"
    image_route = "/iiif/2/{key}/full/{size}/0/default.jpg"
    templates = [_load(f"aic/artworks/{n}.json") for n in (4, 9, 11, 16, 19, 20, 22, 23, 24, 25)]
    info = _load("aic/ec-app__artworks-aic.json")["info"]

    def record(self, key: str) -> dict[str, Any]:
        item = dict(self.templates[int(key) % len(self.templates)])  # shallow: nested values are never changed
        n = int(key)
        item.update(
            id=n,
            api_link=f"https://api.artic.edu/api/v1/artworks/{n}",
            title=self.title(key, item["title"]),
            image_id=f"{n:08x}-0000-4000-8000-{n:012x}",
            is_public_domain=True,
            updated_at=self.modified[key].isoformat(),
        )
        return item

    def routes(self, server: Any) -> dict[str, Handler]:
        def config() -> dict[str, str]:
            return {"iiif_url": server.image_base_url, "website_url": "http://www.artic.edu"}

        def listing(request: web.Request, keys: list[str]) -> web.Response:
            page, limit = _int_param(request, "page", 1), _int_param(request, "limit", 12)
            if limit > 100:
                detail = "You have requested too many resources per page. Please set a smaller limit."
                return web.json_response({"status": 403, "error": "Invalid limit", "detail": detail}, status=403)
            fields = [f for f in request.query.get("fields", "").split(",") if f]
            chunk = keys[(page - 1) * limit : page * limit]
            data = [{k: v for k, v in self.record(key).items() if not fields or k in fields} for key in chunk]
            pagination = {
                "total": len(keys),
                "limit": limit,
                "offset": (page - 1) * limit,
                "total_pages": -(-len(keys) // limit) if limit else 0,
                "current_page": page,
            }
            return web.json_response({"pagination": pagination, "data": data, "info": self.info, "config": config()})

        async def artworks(request: web.Request) -> web.Response:
            return listing(request, self.ids())

        async def search(request: web.Request) -> web.Response:
            since = request.query.get("query[range][updated_at][gte]")
            return listing(request, self.ids(datetime.fromisoformat(since) if since else None))

        async def artwork(request: web.Request) -> web.Response:
            def answer(key: str) -> dict[str, Any]:
                return {"data": self.record(key), "info": self.info, "config": config()}

            return self.answer_by_id(request, answer, {"status": 404, "error": "Not found"})

        return {"/api/v1/artworks": artworks, "/api/v1/artworks/search": search, "/api/v1/artworks/{id:\\d+}": artwork}


class Met(Museum):
    """collectionapi.metmuseum.org: /objects (metadataDate) and /objects/{id}; images on a CRDImages CDN."""

    kind = "met"
    api_path = "/public/collection/v1"
    image_route = "/CRDImages/{dept}/{size}/{key}"
    templates = [
        _load(f"met/{name}.json")
        for name in (
            "deckle__336228-melencolia-i",
            "deckle__356497-the-rhinoceros",
            "deckle__63372-ten-bamboo-studio-no-artist",
            "openverse__sample_response",
        )
    ]

    def object_id(self, i: int) -> int:
        return 100 + 7 * i  # sparse ids, like the real collection

    def record(self, key: str, root: str) -> dict[str, Any]:
        item = dict(self.templates[int(key) % len(self.templates)])
        item.update(
            objectID=int(key),
            title=self.title(key, item["title"]),
            isPublicDomain=True,
            primaryImage=f"{root}/CRDImages/ep/original/DP{key}.jpg",
            primaryImageSmall=f"{root}/CRDImages/ep/web-large/DP{key}.jpg",
            additionalImages=[],
            metadataDate=self.modified[key].strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z",
            objectURL=f"https://www.metmuseum.org/art/collection/search/{key}",
        )
        item.update(self.tampered.get(key, {}))
        return item

    def routes(self, server: Any) -> dict[str, Handler]:
        async def objects(request: web.Request) -> web.Response:
            since = request.query.get("metadataDate")
            keys = self.ids(datetime.fromisoformat(since).replace(tzinfo=UTC) if since else None)
            return web.json_response({"total": len(keys), "objectIDs": [int(k) for k in keys] or None})

        async def single(request: web.Request) -> web.Response:
            return self.answer_by_id(
                request, lambda key: self.record(key, server.root_url), {"message": "ObjectID not found"}
            )

        return {"/public/collection/v1/objects": objects, "/public/collection/v1/objects/{id}": single}


class Cleveland(Museum):
    """openaccess-api.clevelandart.org: /api/artworks/ paged by skip/limit; images on the open-access CDN."""

    kind = "cleveland"
    api_path = "/api"
    image_route = "/cdn/{accession}/{key}"
    template = _load("cleveland/openverse__complete_data.json")

    def record(self, key: str, root: str) -> dict[str, Any]:
        item = dict(self.template, images={k: dict(v) for k, v in self.template["images"].items()})
        accession = f"{1900 + int(key) % 100}.{key}"
        cdn = f"{root}/cdn/{accession}/{accession}"
        item.update(
            id=int(key),
            accession_number=accession,
            title=self.title(key, item["title"]),
            url=f"https://clevelandart.org/art/{accession}",
            updated_at=self.modified[key].strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        for rendition, suffix in (("web", "web.jpg"), ("print", "print.jpg"), ("full", "full.tif")):
            item["images"][rendition].update(url=f"{cdn}_{suffix}", filename=f"{accession}_{suffix}")
        return item

    def routes(self, server: Any) -> dict[str, Handler]:
        async def artworks(request: web.Request) -> web.Response:
            skip, limit = _int_param(request, "skip", 0), _int_param(request, "limit", 1000)
            if limit > 1000:
                return web.json_response({"detail": "limit must be 1000 or less"}, status=400)
            keys = self.ids()
            data = [self.record(key, server.root_url) for key in keys[skip : skip + limit]]
            return web.json_response({"info": {"total": len(keys), "parameters": dict(request.query)}, "data": data})

        return {"/api/artworks/": artworks}


OAI_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
    'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n<responseDate>{now}</responseDate>\n'
    '<request verb="{verb}">https://data.rijksmuseum.nl/oai</request>\n'
)
EDM_NS = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ore="http://www.openarchives.org/ore/terms/" '
    'xmlns:edm="http://www.europeana.eu/schemas/edm/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:skos="http://www.w3.org/2004/02/skos/core#"'
)
OAI_PAGE = 50
MAKERS = ["Rembrandt van Rijn", "Johannes Vermeer", "Frans Hals", "Jan Steen", "Judith Leyster"]


class Rijksmuseum(Museum):
    """data.rijksmuseum.nl/oai: Identify and ListRecords (edm, from/until, resumptionToken), micr.io IIIF."""

    kind = "rijksmuseum"
    api_path = "/oai"
    image_route = "/micrio/{key}/full/{size}/0/default.jpg"

    def object_id(self, i: int) -> int:
        return 200000000 + i

    def record_xml(self, key: str, root: str) -> str:
        n = int(key) - 200000000
        stamp = f"{self.modified[key]:%Y-%m-%dT%H:%M:%SZ}"
        uri = f"https://id.rijksmuseum.nl/{key}"
        if key in self.deleted or (self.deleted_every and n % self.deleted_every == 0):
            header = f'<header status="deleted"><identifier>{uri}</identifier><datestamp>{stamp}</datestamp></header>'
            return f"<record>{header}</record>"
        maker = MAKERS[n % len(MAKERS)]
        version = "v2" if key in self.rephotographed else ""
        image = f"{root}/micrio/M{n:06d}{version}/full/max/0/default.jpg"
        creator = (
            f'<dc:creator rdf:resource="https://id.rijksmuseum.nl/agent{n % 5}"/>'
            if n % 2
            else f"<dc:creator>{escape(maker)}</dc:creator>"
        )
        shown_by = (
            f'<edm:isShownBy rdf:resource="{image}"/>'
            if n % 2
            else f'<edm:isShownBy><edm:WebResource rdf:about="{image}"/></edm:isShownBy>'
        )
        rights = (
            "http://creativecommons.org/publicdomain/zero/1.0/"
            if n % 3
            else "http://creativecommons.org/publicdomain/mark/1.0/"
        )
        title_nl = escape(self.title(key, "Portret van een jonge man"))
        title_en = escape(self.title(key, "Portrait of a Young Man"))
        return (
            f"<record><header><identifier>{uri}</identifier><datestamp>{stamp}</datestamp></header><metadata>"
            f'<rdf:RDF {EDM_NS}><ore:Aggregation rdf:about="{uri}#aggregation">'
            f'<edm:aggregatedCHO><edm:ProvidedCHO rdf:about="{uri}"><dc:identifier>SK-A-{n}</dc:identifier>'
            f'<dc:title xml:lang="nl">{title_nl}</dc:title><dc:title xml:lang="en">{title_en}</dc:title>'
            f"{creator}<dcterms:created>{1600 + n % 250}</dcterms:created>"
            f'<dc:type rdf:resource="https://id.rijksmuseum.nl/22010"/></edm:ProvidedCHO></edm:aggregatedCHO>'
            f'{shown_by}<edm:rights rdf:resource="{rights}"/></ore:Aggregation>'
            f'<edm:Agent rdf:about="https://id.rijksmuseum.nl/agent{n % 5}"><skos:prefLabel xml:lang="en">'
            f"{escape(MAKERS[n % 5])}</skos:prefLabel></edm:Agent>"
            '<skos:Concept rdf:about="https://id.rijksmuseum.nl/22010"><skos:prefLabel xml:lang="en">painting'
            "</skos:prefLabel></skos:Concept></rdf:RDF></metadata></record>"
        )

    def routes(self, server: Any) -> dict[str, Handler]:
        def answer(verb: str, body: str) -> web.Response:
            now = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
            text = OAI_HEAD.format(now=now, verb=verb) + body + "</OAI-PMH>"
            return web.Response(text=text, content_type="text/xml")

        def error(verb: str, code: str, message: str) -> web.Response:
            return answer(verb, f'<error code="{code}">{escape(message)}</error>')

        ordered: dict[str, Any] = {}  # keys by datestamp, sorted again only after a change: a page costs log n

        def window(start: str, end: str) -> tuple[list[str], int, int]:
            """The keys in datestamp order and the [first, last) range of them changed between start and end."""
            if ordered.get("changes") != self.changes:
                keys = sorted(self.modified, key=self.modified.get)
                ordered.update(changes=self.changes, keys=keys, stamps=[self.modified[k] for k in keys])
            first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
            stamps = ordered["stamps"]
            return ordered["keys"], bisect.bisect_left(stamps, first), bisect.bisect_right(stamps, last)

        def list_records(start: str, end: str, offset: int) -> web.Response:
            keys, first, last = window(start, end)
            total = last - first
            if not total:
                return error("ListRecords", "noRecordsMatch", "No records match")
            chunk = keys[first + offset : min(first + offset + OAI_PAGE, last)]
            records = "".join(self.record_xml(k, server.root_url) for k in chunk)
            more = offset + OAI_PAGE < total
            token = base64.urlsafe_b64encode(f"{start}|{end}|{offset + OAI_PAGE}".encode()).decode() if more else ""
            resumption = f'<resumptionToken completeListSize="{total}" cursor="{offset}">{token}</resumptionToken>'
            return answer("ListRecords", f"<ListRecords>{records}{resumption}</ListRecords>")

        async def oai(request: web.Request) -> web.Response:
            verb = request.query.get("verb", "")
            if verb == "Identify":
                earliest = f"{min(self.modified.values(), default=FIRST_CHANGE):%Y-%m-%dT%H:%M:%SZ}"
                return answer(
                    verb,
                    "<Identify><repositoryName>Rijksmuseum</repositoryName>"
                    "<baseURL>https://data.rijksmuseum.nl/oai</baseURL><protocolVersion>2.0</protocolVersion>"
                    f"<earliestDatestamp>{earliest}</earliestDatestamp><deletedRecord>persistent</deletedRecord>"
                    "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>",
                )
            if verb != "ListRecords":
                return error(verb, "badVerb", "Illegal OAI verb")
            token = request.query.get("resumptionToken")
            if token:
                try:
                    start, end, offset = base64.urlsafe_b64decode(token.encode()).decode().split("|")
                    return list_records(start, end, int(offset))
                except ValueError:
                    return error(verb, "badResumptionToken", "The value of the resumptionToken argument is invalid")
            if request.query.get("metadataPrefix") != "edm":
                return error(verb, "cannotDisseminateFormat", "Unsupported metadataPrefix")
            start = request.query.get("from", "0001-01-01T00:00:00Z").replace("Z", "+00:00")
            end = request.query.get("until", "9999-12-31T23:59:59Z").replace("Z", "+00:00")
            return list_records(start, end, 0)

        return {"/oai": oai}


MUSEUMS: dict[str, type[Museum]] = {museum.kind: museum for museum in (Aic, Met, Cleveland, Rijksmuseum)}
