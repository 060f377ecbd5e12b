"""The map's level-of-detail tiles through the real API on a real Postgres: every work reachable, no tile over its
capacity, nested zooms, atlases that hold the works' thumbnails, caching headers, versions; and works placed after
the fit, by one writer or two at once."""

import io
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backend.api.app import create_app
from backend.database import connect
from backend.images import THUMBNAIL_SIDE
from backend.map_levels import TILE_CAPACITY, tile_index
from backend.projection import fit_projection, load_current
from backend.settings import Settings
from backend.store.embed_queue import ClaimedArtwork, save_embeddings
from backend.store.tiles import FullTiles
from tests.helpers import (
    FIXTURE_IMAGES,
    cli_environment,
    clustered_unit_vectors,
    database_name,
    fresh_database,
    jpeg,
    run_artsearch,
)
from tests.image_server import ImageServer
from tests.search_seed import insert_artwork

WORKS = 600


def colour_of(artwork_id: int) -> tuple[int, int, int]:
    """A colour per work, far enough from its neighbours' to tell them apart after JPEG."""
    rng = np.random.default_rng(artwork_id)
    return tuple(int(v) for v in rng.integers(0, 4, size=3) * 80 + 15)


def thumbnail_of(artwork_id: int) -> tuple[bytes, int, int]:
    """A flat-colour thumbnail, landscape or portrait."""
    width, height = (64, 40 + artwork_id % 25) if artwork_id % 2 else (40 + artwork_id % 25, 64)
    return jpeg(Image.new("RGB", (width, height), colour_of(artwork_id)), quality=95), width, height


def add_works(conn: psycopg.Connection, vectors: np.ndarray, batch: str, thumbnails: bool = True) -> list[int]:
    ids = []
    for n, vector in enumerate(vectors):
        maker = f"Maker {int(np.argmax(vector[:3]))}"  # follows the vector, so regions of the map differ
        artwork_id = insert_artwork(
            conn, vector, source="aic", source_id=f"{batch}{n}", title=f"work {batch}{n}", maker=maker
        )
        if thumbnails:
            conn.execute("INSERT INTO thumbnails VALUES (%s, %s, %s, %s)", (artwork_id, *thumbnail_of(artwork_id)))
        ids.append(artwork_id)
    conn.commit()
    return ids


@pytest.fixture(scope="module")
def mapped_template(pg_server_url: str) -> Iterator[str]:
    """A database of 600 clustered works with thumbnails, fitted once (a template for each test's copy)."""
    with fresh_database(pg_server_url, "tiles") as url:
        with connect(url) as conn:
            add_works(conn, clustered_unit_vectors(WORKS, 5, np.random.default_rng(11)), "a")
            fit_projection(conn, "pca")
        yield database_name(url)


@pytest.fixture
def settings(pg_server_url: str, mapped_template: str, tiny_clip_dir: Path, tmp_path: Path) -> Iterator[Settings]:
    with fresh_database(pg_server_url, "t", mapped_template) as url:
        yield Settings(database_url=url, home=tmp_path / "home", model=str(tiny_clip_dir), device="cpu")


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(settings, frontend_dir=tmp_path / "no-dist")) as client:
        yield client


def get_tile(client: TestClient, version: str, z: int, x: int, y: int) -> dict:
    response = client.get(f"/api/map/{version}/tiles/{z}/{x}/{y}")
    assert response.status_code == 200, response.text
    return response.json()


def walk(client: TestClient, version: str, deepest: int) -> dict[tuple[int, int, int], dict]:
    """Every tile with a work in it, from the root down to the deepest zoom."""
    tiles, todo = {}, [(0, 0, 0)]
    while todo:
        z, x, y = todo.pop()
        tile = get_tile(client, version, z, x, y)
        tiles[(z, x, y)] = tile
        if tile["total"] and z < deepest:
            todo += [(z + 1, 2 * x + dx, 2 * y + dy) for dx in (0, 1) for dy in (0, 1)]
    return tiles


def test_the_tiles_list_every_work_within_capacity_nested_and_inside_their_bounds(client: TestClient) -> None:
    info = client.get("/api/map").json()
    assert (info["placed"], info["listed"], info["tile_capacity"]) == (WORKS, WORKS, TILE_CAPACITY)
    assert info["version"] == "1-0" and info["max_zoom"] >= 2
    tiles = walk(client, info["version"], info["max_zoom"])
    assert tiles[(0, 0, 0)]["total"] == WORKS and len(tiles[(0, 0, 0)]["works"]) == TILE_CAPACITY
    for (z, x, y), tile in tiles.items():
        assert len(tile["works"]) <= TILE_CAPACITY
        x0, y0, x1, y1 = tile["bounds"]
        assert all(x0 <= w["x"] <= x1 and y0 <= w["y"] <= y1 and w["zoom"] <= z for w in tile["works"])
        assert tile["total"] == sum(map(sum, tile["density"])) >= len(tile["works"])
        if z < info["max_zoom"]:
            children = [tiles.get((z + 1, 2 * x + dx, 2 * y + dy)) for dx in (0, 1) for dy in (0, 1)]
            below = {w["id"] for child in children if child for w in child["works"]}
            assert {w["id"] for w in tile["works"]} <= below  # listed at z, listed at z + 1
            assert sum(child["total"] for child in children if child) == tile["total"]
    deepest = [t for (z, _, _), t in tiles.items() if z == info["max_zoom"]]
    listed = [w["id"] for tile in deepest for w in tile["works"]]
    assert len(listed) == len(set(listed)) == WORKS  # the deepest zoom lists every work, each once


def test_the_map_names_its_regions_from_the_metadata(client: TestClient) -> None:
    regions = client.get("/api/map").json()["regions"]
    assert regions and {(r["min_zoom"], r["max_zoom"]) for r in regions} <= {(0, 1), (2, 3)}
    for region in regions:
        assert region["label"].startswith("Maker ") and 0 <= region["x"] <= 1 and 0 <= region["y"] <= 1
        assert 10 <= region["count"] <= WORKS


def test_the_density_grid_counts_the_works_in_each_cell(client: TestClient, settings: Settings) -> None:
    with connect(settings.database_url) as conn:
        xy = np.array(conn.execute("SELECT x, y FROM map_positions").fetchall(), dtype=np.float32)
    tile = get_tile(client, "1-0", 1, 0, 0)
    inside = xy[tile_index(xy, 1) == 0]
    expected = np.zeros((16, 16), dtype=int)
    np.add.at(expected, (tile_index(inside, 5) % 32 % 16, tile_index(inside, 5) // 32 % 16), 1)
    assert tile["density"] == expected.tolist()  # rows along y, columns along x


def test_an_atlas_holds_each_listed_work_s_thumbnail_in_its_cell(client: TestClient) -> None:
    tile = get_tile(client, "1-0", 0, 0, 0)
    response = client.get(tile["atlas_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    atlas = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), dtype=np.int16)
    assert [atlas.shape[1], atlas.shape[0]] == tile["atlas_size"] and len(response.content) <= 200_000
    for work in tile["works"]:
        left, top, width, height = work["atlas"]
        assert (width, height) == thumbnail_of(work["id"])[1:]
        cell = atlas[top + 4 : top + height - 4, left + 4 : left + width - 4]  # JPEG blurs colour across edges
        assert np.abs(np.median(cell, axis=(0, 1)) - colour_of(work["id"])).max() <= 8, work


def test_tiles_and_atlases_are_immutable_with_strong_etags_304_and_head(client: TestClient) -> None:
    for path in ("/api/map/1-0/tiles/1/0/1", "/api/map/1-0/tiles/1/0/1.jpg"):
        first = client.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert etag.startswith('"') and first.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert client.get(path).headers["etag"] == etag  # from the cache, the same body
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag
        assert int(head.headers["content-length"]) == len(first.content)
    assert client.head("/api/map").status_code == 200


def test_a_refit_moves_the_version_and_old_or_bad_tile_urls_answer_404(client: TestClient, settings: Settings) -> None:
    assert client.get("/api/map/1-0/tiles/0/0/0").status_code == 200
    with connect(settings.database_url) as conn:
        fit_projection(conn, "pca")
    assert client.get("/api/map").json()["version"] == "2-0"
    for path, message in [
        ("/api/map/1-0/tiles/0/0/0", "map version 1-0 is not current (it is 2-0)"),
        ("/api/map/1-0/tiles/0/0/0.jpg", "map version 1-0 is not current (it is 2-0)"),
        ("/api/map/2-0/tiles/21/0/0", "zoom 21 is off the map"),
        ("/api/map/2-0/tiles/2/4/0", "tile 2/4/0 is off the map: at zoom 2, x and y run from 0 to 3"),
        ("/api/map/2-0/tiles/1/-1/0", "tile 1/-1/0 is off the map"),
    ]:
        response = client.get(path)
        assert response.status_code == 404 and message in response.json()["detail"], (path, response.text)
    assert client.get("/api/map/2-0/tiles/0/0/0").status_code == 200


def test_no_map_yet_is_a_404_that_says_what_to_do(db_url: str, tiny_clip_dir: Path, tmp_path: Path) -> None:
    settings = Settings(database_url=db_url, home=tmp_path / "home", model=str(tiny_clip_dir), device="cpu")
    with TestClient(create_app(settings, frontend_dir=tmp_path / "no-dist")) as client:
        response = client.get("/api/map")
    assert response.status_code == 404 and "run `artsearch project`" in response.json()["detail"]


def place(db_url: str, ids: list[int], vectors: np.ndarray, batch: int = 32) -> None:
    """What the write stage does with newly embedded works, batch by batch, on one connection."""
    full = FullTiles()
    with connect(db_url, autocommit=True) as conn:
        projection = load_current(conn)
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            claims = [ClaimedArtwork(artwork_id, "aic", None, 1) for artwork_id in chunk]
            conn.execute(
                "UPDATE artworks SET embed_status = 'claimed', embed_attempts = 1 WHERE id = ANY(%s)", (chunk,)
            )
            part = vectors[start : start + batch]
            save_embeddings(conn, claims, part, "tiny", projection.id, projection.transform(part), None, full)


def listed_tiles_hold_at_most_capacity(conn: psycopg.Connection) -> int:
    rows = conn.execute("SELECT x, y, zoom FROM map_positions").fetchall()
    xy, zooms = np.array([r[:2] for r in rows], dtype=np.float32), np.array([r[2] for r in rows])
    assert (zooms >= 0).all()
    for zoom in range(int(zooms.max()) + 1):
        assert np.unique(tile_index(xy[zooms <= zoom], zoom), return_counts=True)[1].max() <= TILE_CAPACITY
    return len(rows)


def test_works_embedded_after_the_fit_are_listed_as_they_are_placed(client: TestClient, settings: Settings) -> None:
    rng = np.random.default_rng(12)
    with connect(settings.database_url) as conn:
        newcomers = clustered_unit_vectors(300, 2, rng)  # crowding two regions
        ids = add_works(conn, newcomers, "b", thumbnails=False)
    place(settings.database_url, ids, newcomers)
    with connect(settings.database_url) as conn:
        assert listed_tiles_hold_at_most_capacity(conn) == WORKS + 300
    info = client.get("/api/map").json()
    assert info["version"] == f"1-{(300 + 31) // 32}" and info["listed"] == WORKS + 300
    deepest = [t for (z, _, _), t in walk(client, info["version"], info["max_zoom"]).items() if z == info["max_zoom"]]
    assert sorted(w["id"] for t in deepest for w in t["works"]) == sorted([w for w in range(1, WORKS + 1)] + ids)
    assert client.get("/api/map/1-0/tiles/0/0/0").status_code == 404  # the placements moved the version


def test_two_writers_placing_at_once_never_overfill_a_tile(settings: Settings) -> None:
    rng = np.random.default_rng(13)
    with connect(settings.database_url) as conn:
        vectors = clustered_unit_vectors(400, 1, rng)  # all in one crowded region
        ids = add_works(conn, vectors, "c", thumbnails=False)
    writers = [
        threading.Thread(target=place, args=(settings.database_url, ids[i::2], vectors[i::2], 8)) for i in (0, 1)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    with connect(settings.database_url) as conn:
        assert listed_tiles_hold_at_most_capacity(conn) == WORKS + 400


def test_the_backfill_makes_missing_thumbnails_once_and_retries_what_failed(
    settings: Settings, image_server: ImageServer, tmp_path: Path
) -> None:
    painting = FIXTURE_IMAGES[0].read_bytes()
    urls = [image_server.add("a.jpg", painting), image_server.url("gone.jpg"), image_server.add("bad.jpg", b"<html>")]
    rng = np.random.default_rng(14)
    with connect(settings.database_url) as conn:
        ids = [
            insert_artwork(conn, vector, source="aic", source_id=f"d{n}", image_url=url)
            for n, (vector, url) in enumerate(zip(clustered_unit_vectors(3, 1, rng), urls, strict=True))
        ]
        conn.commit()
    env = cli_environment(settings.database_url, tmp_path / "home", settings.model)
    env["ARTSEARCH_DOWNLOAD_MAX_ATTEMPTS"] = "1"
    done = run_artsearch(["thumbnails"], env)
    assert done.returncode == 0, done.stderr
    assert "1 thumbnails made" in done.stdout and "HTTP 404" in done.stdout and "not an image" in done.stdout
    with connect(settings.database_url) as conn:
        image, width, height = conn.execute(
            "SELECT image, width, height FROM thumbnails WHERE artwork_id = %s", (ids[0],)
        ).fetchone()
        assert conn.execute("SELECT count(*) FROM thumbnails WHERE artwork_id = ANY(%s)", (ids[1:],)).fetchone()[0] == 0
        assert conn.execute("SELECT revision FROM projections").fetchone()[0] == 1  # the atlases changed
    with Image.open(io.BytesIO(painting)) as original, Image.open(io.BytesIO(image)) as small:
        assert small.size == (width, height) and max(small.size) == THUMBNAIL_SIDE
        assert abs(small.width / small.height - original.width / original.height) < 0.05  # the whole picture
    again = run_artsearch(["thumbnails"], env)  # the made one is not made again; the failed ones are tried again
    assert "0 thumbnails made" in again.stdout and "HTTP 404" in again.stdout
