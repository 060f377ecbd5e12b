"""The HTTP API against a real Postgres and the tiny CLIP: contract, map coordinates, errors."""

import io
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backend.api.app import create_app
from backend.api.facets import CachedFacets
from backend.api.security import SECURITY_HEADERS
from backend.database import connect
from backend.images import FILE_THUMBNAIL_SIDE
from backend.projection import fit_projection
from backend.settings import Settings
from backend.store.local_folders import register_local_folder
from etl.crawler import CrawlOptions, crawl
from etl.sources.folder import FolderSource
from tests.helpers import (
    FIXTURE_IMAGES,
    database_name,
    folder_with_an_escape,
    free_port,
    fresh_database,
    jpeg,
    png,
    serving,
    wait_until,
)
from tests.image_server import one_colour_png
from tests.search_seed import Collection, insert_artwork, seeded_template

RESULT_FIELDS = {
    "id", "source", "source_id", "title", "maker", "date", "institution", "object_number", "image_url",
    "thumbnail_url", "page_url", "x", "y", "score", "stacked",
}  # fmt: skip


@pytest.fixture(scope="module")
def seeded(pg_server_url: str, tiny_clip_dir: Path) -> Iterator[tuple[str, Collection]]:
    with seeded_template(pg_server_url, tiny_clip_dir) as template:
        yield template


@pytest.fixture
def collection(seeded: tuple[str, Collection]) -> Collection:
    return seeded[1]


@pytest.fixture
def settings(
    pg_server_url: str, seeded: tuple[str, Collection], tiny_clip_dir: Path, tmp_path: Path
) -> Iterator[Settings]:
    """Settings on a fresh copy of the seeded collection (shadows conftest's empty database)."""
    with fresh_database(pg_server_url, "s", seeded[0]) as url:
        yield Settings(
            database_url=url, home=tmp_path / "home", model=str(tiny_clip_dir), device="cpu", search_rate_limit="0"
        )


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings.model_copy(update={"max_upload_bytes": 200_000, "cors_origins": ["http://localhost:5173"]})
    with TestClient(create_app(settings, frontend_dir=tmp_path / "no-dist")) as client:
        yield client


def search(client: TestClient, **params: object) -> dict:
    response = client.get("/api/search", params={"q": "a gloomy winter landscape", **params})
    assert response.status_code == 200, response.text
    return response.json()


def upload(client: TestClient, data: bytes, **fields: str) -> object:
    return client.post("/api/search/image", files={"file": ("query.jpg", data, "image/jpeg")}, data=fields)


def test_health_reports_counts_model_and_random_weights(client: TestClient, collection: Collection) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["artworks"] == len(collection.ids) + 1  # the unembedded one counts, the deleted one does not
    assert body["embedded"] == len(collection.ids)
    assert body["weights"] == "random" and body["random_weights"] is True
    assert body["projection_version"] == 1


def test_text_search_returns_k_results_on_the_map(client: TestClient, collection: Collection) -> None:
    body = search(client, k=7)
    assert body["query"] == "a gloomy winter landscape"
    assert len(body["results"]) == 7
    for hit in body["results"]:
        assert set(hit) == RESULT_FIELDS
        assert 0.0 <= hit["x"] <= 1.0 and 0.0 <= hit["y"] <= 1.0
        assert -1.0 <= hit["score"] <= 1.0
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert 0.0 <= body["query_point"]["x"] <= 1.0 and 0.0 <= body["query_point"]["y"] <= 1.0


def test_every_artwork_keeps_its_coordinates_until_the_map_is_refitted(
    client: TestClient, settings: Settings, collection: Collection
) -> None:
    def positions() -> dict[int, tuple[float, float]]:
        seen: dict[int, set[tuple[float, float]]] = {}
        answers = [search(client, k=40), search(client, q="bright flowers", k=25)]
        answers += [client.get(f"/api/artworks/{i}/similar", params={"k": 10}).json() for i in collection.live_ids[:8]]
        for answer in answers:
            for hit in answer["results"]:
                seen.setdefault(hit["id"], set()).add((hit["x"], hit["y"]))
        for artwork_id in collection.live_ids[:5]:
            detail = client.get(f"/api/artworks/{artwork_id}").json()
            seen.setdefault(artwork_id, set()).add((detail["x"], detail["y"]))
        assert all(len(points) == 1 for points in seen.values()), "one artwork, two places on one map"
        return {artwork_id: points.pop() for artwork_id, points in seen.items()}

    before = positions()
    assert len(before) == len(collection.ids)
    with connect(settings.database_url) as conn:
        # the refit map differs: fitted without a third of the collection
        conn.execute("UPDATE artworks SET deleted = true WHERE id = ANY(%s)", (collection.live_ids[::3],))
        conn.commit()
        fit_projection(conn)
        conn.execute("UPDATE artworks SET deleted = false WHERE id = ANY(%s)", (collection.live_ids[::3],))
    assert client.get("/api/health").json()["projection_version"] == 2
    after = positions()
    assert before != after


def test_a_hit_without_a_position_is_placed_on_the_current_map(
    client: TestClient, settings: Settings, collection: Collection
) -> None:
    before = {hit["id"]: (hit["x"], hit["y"]) for hit in search(client, k=40)["results"]}
    with connect(settings.database_url, autocommit=True) as conn:  # embedded after the last fit, say
        conn.execute("DELETE FROM map_positions WHERE artwork_id = ANY(%s)", (collection.live_ids[::2],))
    after = {hit["id"]: (hit["x"], hit["y"]) for hit in search(client, k=40)["results"]}
    assert sorted(after) == sorted(before)
    np.testing.assert_allclose([after[i] for i in sorted(after)], [before[i] for i in sorted(before)], atol=1e-6)


def test_similar_excludes_the_artwork_and_returns_exactly_k(client: TestClient, collection: Collection) -> None:
    for artwork_id in collection.live_ids[:10]:
        hits = client.get(f"/api/artworks/{artwork_id}/similar", params={"k": 12}).json()["results"]
        assert len(hits) == 12
        assert artwork_id not in {hit["id"] for hit in hits}
    everything = client.get(f"/api/artworks/{collection.live_ids[0]}/similar", params={"k": 200}).json()["results"]
    assert len(everything) == len(collection.ids) - 1


def test_tied_hits_rank_by_id_whatever_k(client: TestClient, collection: Collection, settings: Settings) -> None:
    """Copies with the very same vector (a re-encoded JPEG can embed identically) rank by id among the rows a search
    fetched: the same order whatever k, and a stack keeps its leader however many rows it fetched."""
    original = collection.live_ids[0]
    with connect(settings.database_url) as conn:
        (vector,) = conn.execute("SELECT embedding FROM embeddings WHERE artwork_id = %s", [original]).fetchone()
        copies = [insert_artwork(conn, vector.to_numpy(), source="aic", source_id=f"copy-{n}") for n in range(6)]
    for k in (6, 12, 30):  # which of the tied rows a smaller LIMIT keeps is the index walk's to say
        hits = client.get(f"/api/artworks/{original}/similar", params={"k": k}).json()["results"]
        assert [hit["id"] for hit in hits[:6]] == copies
    for k in (2, 4, 12):  # a stacked search fetches k * 3 rows and more
        stacked = client.get(f"/api/artworks/{original}/similar", params={"k": k, "stack": "true"}).json()["results"]
        assert (stacked[0]["id"], [hit["id"] for hit in stacked[0]["stacked"]]) == (copies[0], copies[1:])


def test_deleted_artworks_never_appear(client: TestClient, collection: Collection) -> None:
    twin = collection.ids[(FIXTURE_IMAGES[0].stem, "mirrored")]  # the deleted artwork has exactly this vector
    hits = client.get(f"/api/artworks/{twin}/similar", params={"k": 200}).json()["results"]
    hits += search(client, k=200)["results"]
    assert collection.deleted_id not in {hit["id"] for hit in hits}
    assert client.get(f"/api/artworks/{collection.deleted_id}").status_code == 404
    assert client.get(f"/api/artworks/{collection.deleted_id}/similar").status_code == 404


def test_a_resized_copy_finds_its_artwork_first(client: TestClient, collection: Collection) -> None:
    for path in FIXTURE_IMAGES:
        image = Image.open(path).convert("RGB")
        resized = image.resize((image.width * 3 // 5, image.height * 3 // 5))
        response = upload(client, jpeg(resized, quality=80), k="5")
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["results"]) == 5
        assert body["results"][0]["id"] == collection.ids[(path.stem, "original")]
        assert 0.0 <= body["query_point"]["x"] <= 1.0


def test_an_upload_takes_k_from_the_query_string_or_the_form(client: TestClient, collection: Collection) -> None:
    files = {"file": ("query.jpg", FIXTURE_IMAGES[0].read_bytes(), "image/jpeg")}
    from_query = client.post("/api/search/image", params={"k": 5}, files=files)
    assert from_query.status_code == 200, from_query.text
    assert len(from_query.json()["results"]) == 5
    both = client.post("/api/search/image", params={"k": 5}, files=files, data={"k": "7"})
    assert len(both.json()["results"]) == 7  # the form's field, when it is there
    assert client.post("/api/search/image", params={"k": 0}, files=files).status_code == 422


def test_filters_narrow_and_still_fill_k(client: TestClient, collection: Collection) -> None:
    hits = search(client, museum="met", k=10)["results"]
    assert len(hits) == 10 and {hit["source"] for hit in hits} == {"met"}
    typed = search(client, type="print", k=15)["results"]
    assert len(typed) == 15
    details = [client.get(f"/api/artworks/{hit['id']}").json() for hit in typed]
    assert {detail["object_type"] for detail in details} == {"Print"}
    dated = search(client, date_from=1650, date_to=1700, k=50)["results"]
    assert dated and all(1650 <= int(hit["date"]) <= 1700 for hit in dated)
    assert len(dated) == 11  # 1650, 1655, …, 1700
    best = search(client, k=1)["results"][0]["score"]
    assert all(hit["score"] >= best - 1e-6 for hit in search(client, min_score=best - 1e-6, k=20)["results"])
    assert search(client, museum="nowhere")["results"] == []


def test_similar_and_image_search_take_the_same_filters(client: TestClient, collection: Collection) -> None:
    def similar(**params: object) -> list[dict]:
        response = client.get(f"/api/artworks/{collection.folder_id}/similar", params=params)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    def image(**params: object) -> list[dict]:
        files = {"file": ("query.jpg", FIXTURE_IMAGES[1].read_bytes(), "image/jpeg")}
        response = client.post("/api/search/image", params=params, files=files, data={"k": "10"})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    for hits in (similar(museum="met", k=10), image(museum="met")):
        assert len(hits) == 10 and {hit["source"] for hit in hits} == {"met"}
    for hits in (similar(date_from=1650, date_to=1700, k=50), image(date_from=1650, date_to=1700)):
        assert hits and all(1650 <= int(hit["date"]) <= 1700 for hit in hits)
    assert len(similar(date_from=1650, date_to=1700, k=50)) == 11
    typed = similar(type="PRINT", k=50)
    assert len(typed) == 20
    assert {client.get(f"/api/artworks/{hit['id']}").json()["object_type"] for hit in typed} == {"Print"}
    best = similar(k=1)[0]["score"]
    assert [hit["score"] for hit in similar(min_score=best - 1e-6)] == [best]
    assert similar(museum="nowhere") == [] and image(museum="nowhere") == []


def test_facets_offer_exactly_what_the_filters_take(
    client: TestClient, settings: Settings, collection: Collection
) -> None:
    with connect(settings.database_url) as conn:
        conn.execute("UPDATE artworks SET institution = 'Art Institute of Chicago' WHERE source = 'aic'")
    facets = client.get("/api/facets").json()
    assert facets["total"] == len(collection.ids)  # neither the deleted work nor the unembedded one
    assert facets["museums"] == [
        {"value": "aic", "label": "Art Institute of Chicago", "count": 13},
        {"value": "met", "label": "met", "count": 13},
        {"value": "rijksmuseum", "label": "rijksmuseum", "count": 13},
        {"value": "folder", "label": "folder", "count": 1},
    ]
    assert facets["types"] == [{"value": "Painting", "count": 20}, {"value": "Print", "count": 20}]
    assert facets["years"] == {
        "start": 1600, "end": 1800, "bin": 5, "counts": [1] * 40, "dated": 40, "undated": 0,
    }  # fmt: skip
    for museum in facets["museums"]:
        assert len(search(client, museum=museum["value"], k=200)["results"]) == museum["count"]
    for facet in facets["types"]:
        assert len(search(client, type=facet["value"], k=200)["results"]) == facet["count"]

    with connect(settings.database_url) as conn:
        conn.execute("UPDATE artworks SET deleted = true WHERE source = 'met'")
    assert client.get("/api/facets").json() == facets, "counted once, then served from the cache"
    client.app.state.facets = CachedFacets(ttl_s=0.0)
    recounted = client.get("/api/facets").json()
    assert [museum["value"] for museum in recounted["museums"]] == ["aic", "rijksmuseum", "folder"]


def test_artwork_detail_has_all_metadata(client: TestClient, collection: Collection) -> None:
    artwork_id = collection.ids[(FIXTURE_IMAGES[1].stem, "inverted")]
    body = client.get(f"/api/artworks/{artwork_id}").json()
    assert body["id"] == artwork_id and body["title"] == f"{FIXTURE_IMAGES[1].stem} (inverted)"
    for field in ("maker", "date", "year_start", "object_type", "page_url", "raw", "x", "y", "embed_status"):
        assert field in body
    pending = client.get(f"/api/artworks/{collection.unembedded_id}").json()
    assert pending["x"] is None and pending["embed_status"] == "pending"


def test_every_view_credits_the_museum_and_its_number(
    client: TestClient, settings: Settings, collection: Collection
) -> None:
    credited, other = collection.live_ids[1], collection.live_ids[2]
    with connect(settings.database_url) as conn:
        conn.execute(
            "UPDATE artworks SET institution = 'Rijksmuseum', object_number = 'SK-C-5' WHERE id = %s", (credited,)
        )
    detail = client.get(f"/api/artworks/{credited}").json()
    assert (detail["institution"], detail["object_number"]) == ("Rijksmuseum", "SK-C-5")
    hits = client.get(f"/api/artworks/{other}/similar", params={"k": 200}).json()["results"]
    credits = {hit["id"]: (hit["institution"], hit["object_number"]) for hit in hits}
    assert credits[credited] == ("Rijksmuseum", "SK-C-5")
    assert client.get(f"/api/artworks/{other}").json()["institution"] is None


def test_a_folder_work_has_a_reduced_thumbnail_revalidated_by_its_etag(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "collection"
    folder.mkdir()
    painting = Image.open(FIXTURE_IMAGES[0]).convert("RGB")
    (folder / "large.jpg").write_bytes(jpeg(painting.resize((900, 1100)), quality=90))
    (folder / "broken.jpg").write_bytes(b"these bytes are no picture")
    (folder / "metadata.csv").write_text(
        "file,title,institution,object_number\n"
        "large.jpg,Large,Art Institute of Chicago,1922.4467\n"
        "broken.jpg,Broken,,\n"
    )
    source = FolderSource(folder)
    crawl(source, settings.database_url, CrawlOptions.for_source(source, settings), show_progress=False)
    with connect(settings.database_url) as conn:
        ids = dict(conn.execute("SELECT source_id, id FROM artworks WHERE source_id LIKE '%.jpg'").fetchall())
    detail = client.get(f"/api/artworks/{ids['large.jpg']}").json()
    assert (detail["institution"], detail["object_number"]) == ("Art Institute of Chicago", "1922.4467")
    url = detail["thumbnail_url"]
    assert url == f"/api/artworks/{ids['large.jpg']}/image?rendition=thumbnail"

    thumbnail = client.get(url)
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(thumbnail.content))
    assert picture.format == "JPEG" and picture.size == (245, FILE_THUMBNAIL_SIDE)  # 900 × 1100 fitted into 300²
    etag = thumbnail.headers["etag"]
    assert etag.startswith('"') and thumbnail.headers["cache-control"] == "public, max-age=86400"
    revalidated = client.get(url, headers={"If-None-Match": f'"stale", {etag}'})
    assert revalidated.status_code == 304 and revalidated.content == b"" and revalidated.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200

    (folder / "large.jpg").write_bytes(jpeg(painting.resize((600, 400))))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert Image.open(io.BytesIO(changed.content)).size == (300, 200)
    for rendition in ("image", "full"):  # the file itself, as before
        original = client.get(f"/api/artworks/{ids['large.jpg']}/image", params={"rendition": rendition})
        assert original.content == (folder / "large.jpg").read_bytes()

    broken = client.get(f"/api/artworks/{ids['broken.jpg']}/image", params={"rendition": "thumbnail"})
    assert broken.status_code == 415
    assert broken.json()["detail"] == f"the file of artwork {ids['broken.jpg']} is not a usable image: not an image"


def test_local_files_are_served_never_exposed(client: TestClient, collection: Collection) -> None:
    answers = [
        client.get(f"/api/artworks/{collection.folder_id}").text,
        client.get(f"/api/artworks/{collection.live_ids[1]}/similar", params={"k": 200}).text,
        client.get("/api/search", params={"q": "x", "k": 200}).text,
    ]
    assert all("file:" not in answer for answer in answers)
    detail = client.get(f"/api/artworks/{collection.folder_id}").json()
    assert detail["image_url"] == f"/api/artworks/{collection.folder_id}/image?rendition=image"
    image = client.get(detail["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content == FIXTURE_IMAGES[0].read_bytes()
    remote = client.get(f"/api/artworks/{collection.live_ids[1]}/image", follow_redirects=False)
    assert remote.status_code == 307 and remote.headers["location"].startswith("https://images.example/")
    missing = client.get(f"/api/artworks/{collection.folder_id}/image", params={"rendition": "thumbnail"})
    assert missing.status_code == 404


def test_tampered_rows_never_serve_a_file_or_a_script(
    client: TestClient, settings: Settings, collection: Collection, tmp_path: Path
) -> None:
    """Rows written straight into the table, as a tampered database would hold them."""
    inside, elsewhere = folder_with_an_escape(tmp_path, FIXTURE_IMAGES[1])
    hostile = {
        "met-passwd": ("met", "file:///etc/passwd"),
        "met-script": ("met", "javascript:alert(document.cookie)"),
        "folder-passwd": ("folder", "file:///etc/passwd"),
        "folder-outside": ("folder", (elsewhere / "secret.jpg").as_uri()),
        "folder-symlink": ("folder", (inside / "escape.jpg").as_uri()),
        "folder-dotdot": ("folder", f"{inside.as_uri()}/../elsewhere/secret.jpg"),
    }
    with connect(settings.database_url) as conn:
        register_local_folder(conn, inside.resolve())
        ids = {}
        for name, (source, url) in hostile.items():
            renditions = dict(image_url=url, thumbnail_url=url, full_image_url=url)
            ids[name] = insert_artwork(
                conn, None, source=source, source_id=name, title=name, page_url="javascript:alert(1)", **renditions
            )
    for name, artwork_id in ids.items():
        detail = client.get(f"/api/artworks/{artwork_id}")
        assert detail.status_code == 200 and "file:" not in detail.text and "javascript:" not in detail.text, name
        for rendition in ("image", "thumbnail", "full"):
            image = client.get(
                f"/api/artworks/{artwork_id}/image", params={"rendition": rendition}, follow_redirects=False
            )
            assert image.status_code == 404, (name, rendition, image.status_code)
            assert f"artwork {artwork_id}" in image.json()["detail"]
    assert client.get(f"/api/artworks/{collection.folder_id}/image").content == FIXTURE_IMAGES[0].read_bytes()


def test_a_crawled_folder_serves_its_own_images_and_nothing_it_points_out_to(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    folder, elsewhere = folder_with_an_escape(tmp_path, FIXTURE_IMAGES[1])
    (folder / "kept.jpg").write_bytes(FIXTURE_IMAGES[2].read_bytes())
    rows = [
        "kept.jpg,Kept",
        "../elsewhere/secret.jpg,Dotted",
        f"{elsewhere / 'secret.jpg'},Absolute",
        "escape.jpg,Link",
    ]
    (folder / "metadata.csv").write_text("file,title\n" + "\n".join(rows) + "\n")
    source = FolderSource(folder)
    summary = crawl(source, settings.database_url, CrawlOptions.for_source(source, settings), show_progress=False)
    assert (summary.records, summary.failures) == (1, 3)
    with connect(settings.database_url) as conn:
        stored = conn.execute("SELECT id, title FROM artworks WHERE source_id IN ('kept.jpg', 'escape.jpg')").fetchall()
    ((kept_id, title),) = stored
    assert title == "Kept"
    image = client.get(f"/api/artworks/{kept_id}/image")
    assert image.status_code == 200 and image.content == FIXTURE_IMAGES[2].read_bytes()


BAD_PARAMETERS = [
    "/api/search?k=5",
    "/api/search?q=",
    "/api/search?q=%20%20",
    "/api/search?q=" + "a" * 501,
    "/api/search?q=cat&k=0",
    "/api/search?q=cat&k=201",
    "/api/search?q=cat&k=ten",
    "/api/search?q=cat&date_from=1900&date_to=1800",
    "/api/search?q=cat&date_from=99999999999",
    "/api/search?q=cat&min_score=2",
    "/api/search?q=cat&min_score=nan",
    "/api/search?q=cat&museum=%00",
    "/api/artworks/abc",
    "/api/artworks/0",
    "/api/artworks/99999999999999999999",
    "/api/artworks/1/similar?k=1000",
    "/api/artworks/1/similar?date_from=1900&date_to=1800",
    "/api/artworks/1/similar?date_to=-99999",
    "/api/artworks/1/similar?min_score=nan",
    "/api/artworks/1/similar?type=%00",
    "/api/artworks/1/image?rendition=huge",
]


def test_bad_parameters_are_422_with_a_message(client: TestClient) -> None:
    for path in BAD_PARAMETERS:
        response = client.get(path)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"], path


def test_longest_query_is_accepted(client: TestClient) -> None:
    assert client.get("/api/search", params={"q": "a" * 500}).status_code == 200


def test_unknown_ids_are_404(client: TestClient, collection: Collection) -> None:
    for path in ("/api/artworks/987654", "/api/artworks/987654/similar", "/api/artworks/987654/image"):
        response = client.get(path)
        assert response.status_code == 404 and "987654" in response.json()["detail"]
    assert client.get(f"/api/artworks/{collection.unembedded_id}/similar").status_code == 404


def test_upload_errors(client: TestClient) -> None:
    too_big = upload(client, b"\xff" * 300_000)
    assert too_big.status_code == 413 and "limit" in too_big.json()["detail"]
    not_image = upload(client, b"%PDF-1.4 definitely not a picture")
    assert not_image.status_code == 415 and "not an image" in not_image.json()["detail"]
    truncated = upload(client, FIXTURE_IMAGES[0].read_bytes()[:2000])
    assert truncated.status_code == 415
    bomb = upload(client, one_colour_png(20_000, 20_000))  # a few KB that would decode to 400 megapixels
    assert bomb.status_code == 415 and "pixel limit" in bomb.json()["detail"]
    assert upload(client, png(Image.new("RGB", (4, 4)))).status_code == 415
    assert client.post("/api/search/image", json={"file": "x"}).status_code == 415
    assert client.post("/api/search/image", data={"k": "5"}, files={"other": ("a", b"b")}).status_code == 422
    assert upload(client, FIXTURE_IMAGES[0].read_bytes(), k="0").status_code == 422
    assert upload(client, FIXTURE_IMAGES[0].read_bytes(), k="many").status_code == 422
    for bad in ({"date_from": 1900, "date_to": 1800}, {"min_score": 2}, {"museum": "\x00"}, {"date_from": "1900s"}):
        files = {"file": ("query.jpg", FIXTURE_IMAGES[0].read_bytes(), "image/jpeg")}
        response = client.post("/api/search/image", params=bad, files=files)
        assert response.status_code == 422 and response.json()["detail"], bad
    broken = client.post(
        "/api/search/image", content=b"garbage", headers={"content-type": "multipart/form-data; boundary=xyz"}
    )
    assert broken.status_code == 422


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_every_client_receives_the_413_for_an_upload_over_the_limit(
    settings: Settings, tmp_path: Path, chunked: bool
) -> None:
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
    body = head + b"\xff" * (12 * 1024 * 1024) + b"\r\n--b--\r\n"  # 12 MB, over the default 10 MB
    data = (body[start : start + 65536] for start in range(0, len(body), 65536)) if chunked else body
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    with serving(create_app(settings, frontend_dir=tmp_path / "no-dist")) as base:
        request = urllib.request.Request(f"{base}/api/search/image", data=data, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=60)  # a reset would raise URLError or ConnectionResetError
    assert answer.value.code == 413 and "limit of 10 MB" in json.loads(answer.value.read())["detail"]


def test_upload_over_the_limit_is_cut_off_while_streaming(client: TestClient) -> None:
    def body() -> Iterator[bytes]:  # chunked: no content-length to refuse up front
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(100):
            yield b"\xff" * 10_000

    response = client.post(
        "/api/search/image", content=body(), headers={"content-type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 413


def test_database_unreachable_is_503(
    client: TestClient, settings: Settings, pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.pool, "timeout", 0.5)
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {database_name(settings.database_url)} WITH (FORCE)")
    for path in ("/api/health", "/api/search?q=cat", "/api/artworks/1", "/api/artworks/1/similar", "/api/facets"):
        response = client.get(path)
        assert response.status_code == 503, (path, response.text)
        assert "database" in response.json()["detail"]


@pytest.mark.slow  # the database refuses connections long enough for psycopg_pool's default backoff to show
def test_the_api_answers_again_soon_after_the_database_comes_back(
    client: TestClient, settings: Settings, pg_server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.pool, "timeout", 0.5)
    name = database_name(settings.database_url)
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")  # as a server that is down refuses
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        down_until = time.monotonic() + 20  # psycopg_pool's default doubling delays then answered 10–11 s late
        while time.monotonic() < down_until:
            assert client.get("/api/health").status_code == 503
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    back = time.monotonic()
    wait_until(lambda: client.get("/api/health").status_code == 200, timeout_s=30)
    assert time.monotonic() - back < 8  # and without a restart: within a request's wait for a connection (5 s)


def test_metrics_count_requests_and_searches(client: TestClient) -> None:
    search(client)
    client.get("/api/artworks/1/similar")
    text = client.get("/metrics").text
    assert 'artsearch_http_requests_total{method="GET",route="/api/search",status="200"} 1.0' in text
    assert 'artsearch_searches_total{kind="text"} 1.0' in text
    assert "artsearch_http_request_duration_seconds_bucket" in text


def test_metrics_can_have_a_port_of_their_own_or_be_off(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    own_port = settings.model_copy(update={"metrics_port": port})
    with TestClient(create_app(own_port, frontend_dir=tmp_path / "none")) as client:
        search(client)
        assert client.get("/metrics").status_code == 404
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as scraped:
            assert 'artsearch_searches_total{kind="text"} 1.0' in scraped.read().decode()
    with pytest.raises(urllib.error.URLError):  # closed with the app
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
    off = settings.model_copy(update={"metrics": False})
    with TestClient(create_app(off, frontend_dir=tmp_path / "none")) as client:
        search(client)
        assert client.get("/metrics").status_code == 404 and "/metrics" not in client.get("/openapi.json").text


def test_cors_is_closed_unless_configured(settings: Settings, tmp_path: Path) -> None:
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(settings, frontend_dir=tmp_path / "none")) as client:
        assert "access-control-allow-origin" not in client.options("/api/search", headers=preflight).headers
        answer = client.get("/api/health", headers={"Origin": "https://elsewhere.example"})
        assert answer.status_code == 200 and "access-control-allow-origin" not in answer.headers


def test_settings_that_would_break_a_header_are_refused() -> None:
    for hosts in (["https://ok.example; script-src *"], ["https://a.example 'unsafe-eval'"], ["javascript:"]):
        with pytest.raises(ValueError, match="is not an image host"):
            Settings(image_hosts=hosts)
    assert Settings(image_hosts=["https://*.museum.example", "http://127.0.0.1:8080"]).image_hosts


def test_root_says_how_to_build_the_frontend_and_cors_is_set(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "make setup" in page.text
    preflight = client.options(
        "/api/search", headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_built_frontend_is_served_at_root(settings: Settings, collection: Collection, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html><title>map</title>")
    with TestClient(create_app(settings, frontend_dir=dist)) as client:
        assert "<title>map</title>" in client.get("/").text
        assert client.get("/api/health").status_code == 200


def test_every_answer_carries_the_security_headers_and_head_is_answered(
    client: TestClient, collection: Collection
) -> None:
    work = collection.ids[(FIXTURE_IMAGES[0].stem, "original")]
    paths = ["/", "/api/health", "/api/search?q=a+storm", f"/api/artworks/{work}", f"/api/artworks/{work}/image"]
    for path in paths:
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (200, 307), (path, response.status_code)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
        policy = response.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "img-src 'self' data: blob: https://www.artic.edu https://iiif.micr.io" in policy, path
    assert client.get("/api/artworks/999999999").headers["x-content-type-options"] == "nosniff"  # errors too
    docs = client.get("/docs")  # Swagger UI comes from its CDN and starts with an inline script
    assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    for path in ("/api/health", f"/api/artworks/{work}"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert int(head.headers["content-length"]) == len(got.content)


def test_searches_past_the_limit_get_429_with_retry_after(
    settings: Settings, collection: Collection, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"search_rate_limit": "3/minute"}), frontend_dir=tmp_path / "none")
    image = {"file": ("query.jpg", FIXTURE_IMAGES[0].read_bytes(), "image/jpeg")}
    with TestClient(app) as client:
        searches = [
            lambda: client.get("/api/search", params={"q": "a stormy sea"}),
            lambda: client.get(f"/api/artworks/{collection.live_ids[0]}/similar"),
            lambda: client.post("/api/search/image", files=image),
        ]
        assert [search().status_code for search in searches] == [200, 200, 200]
        for search in searches:  # one budget for the three kinds of search
            over = search()
            assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 60
            assert (
                over.json()["detail"]
                == f"too many searches from this address; try again in {over.headers['retry-after']} s"
            )
        assert client.get(f"/api/artworks/{collection.live_ids[0]}").status_code == 200  # browsing is not limited
        assert client.get("/api/health").status_code == 200
        other = TestClient(app, client=("203.0.113.9", 40000))  # another address has its own budget
        assert other.get("/api/search", params={"q": "a stormy sea"}).status_code == 200
