"""Composed queries, near-duplicate stacks and the relevance cut-off through the API, on real Postgres and the tiny
CLIP: a collection of paintings each with its near-duplicates (resized, re-encoded, cropped a little)."""

import base64
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.clip_model import load_clip
from backend.database import connect
from backend.projection import fit_projection
from backend.settings import Settings
from backend.stacks import separating_threshold
from tests.helpers import FIXTURE_IMAGES, near_duplicates
from tests.search_seed import embed_images, insert_artwork

# The tiny random-weight CLIP cannot tell a 5% crop from another painting (its cosines all sit near 1); how the
# served model does on every kind is benchmarks/duplicates.py's to measure.
KINDS = [kind for kind in near_duplicates(FIXTURE_IMAGES[0]) if not kind.startswith("cropped")]
QUERY = "a gloomy landscape in winter"


@pytest.fixture
def works(settings: Settings, tiny_clip_dir: Path) -> dict[str, list[int]]:
    """Each fixture painting and its near-duplicates, embedded as the pipeline would, on a fitted map: ids by work."""
    model = load_clip(str(tiny_clip_dir), device="cpu")
    ids: dict[str, list[int]] = {}
    with connect(settings.database_url) as conn:
        for path in FIXTURE_IMAGES:
            copies = near_duplicates(path)
            vectors = embed_images(model, [copies[kind] for kind in KINDS])
            ids[path.stem] = [
                insert_artwork(conn, vector, source="aic", source_id=f"{path.stem}/{kind}", title=f"{path.stem} {kind}")
                for kind, vector in zip(KINDS, vectors, strict=True)
            ]
        fit_projection(conn)
    return ids


@pytest.fixture
def vectors(works: dict[str, list[int]], settings: Settings) -> dict[str, np.ndarray]:
    """The stored vectors by source id ("stem/kind")."""
    with connect(settings.database_url) as conn:
        rows = conn.execute("SELECT a.source_id, e.embedding FROM artworks a JOIN embeddings e ON e.artwork_id = a.id")
        return {source_id: embedding.to_numpy() for source_id, embedding in rows}


@pytest.fixture
def threshold(works: dict[str, list[int]], vectors: dict[str, np.ndarray]) -> float:
    """The stacking threshold measured on this collection: near-duplicate pairs against distinct works' pairs."""
    same = [vectors[f"{stem}/original"] @ vectors[f"{stem}/{kind}"] for stem in works for kind in KINDS[1:]]
    different = [vectors[f"{a}/original"] @ vectors[f"{b}/original"] for a in works for b in works if a < b]
    measured, false_merges, missed_merges = separating_threshold(np.array(same), np.array(different))
    assert (false_merges, missed_merges) == (0, 0), "the tiny model tells these near-duplicates from distinct works"
    return measured


@pytest.fixture
def client(settings: Settings, threshold: float, tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"stack_threshold": threshold}), frontend_dir=tmp_path / "none")
    with TestClient(app) as client:
        yield client


def work_of(hit: dict) -> str:
    return hit["source_id"].split("/")[0]


def compose(client: TestClient, *parts: dict, k: int = 10, **params: object) -> dict:
    response = client.post("/api/search/compose", json={"parts": list(parts), "k": k}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_each_work_is_one_stack_of_its_near_duplicates(client: TestClient, works: dict[str, list[int]]) -> None:
    plain = client.get("/api/search", params={"q": QUERY, "k": 8}).json()
    stacked = client.get("/api/search", params={"q": QUERY, "k": 8, "stack": "true"}).json()

    assert len({work_of(hit) for hit in plain["results"]}) < 8  # unstacked, copies of one work crowd the list
    assert len(stacked["results"]) == len(works) == 8  # k counts stacks: eight different works
    for result in stacked["results"]:
        members = [result, *result["stacked"]]
        assert {work_of(hit) for hit in members} == {work_of(result)}  # a stack holds one work only
        assert sorted(hit["id"] for hit in members) == sorted(works[work_of(result)])  # and all of it
        assert [hit["score"] for hit in members] == sorted((hit["score"] for hit in members), reverse=True)
        assert all(hit["x"] is not None for hit in members) and all("stacked" not in hit for hit in result["stacked"])
    first = stacked["results"][0]
    assert first["score"] == plain["results"][0]["score"]  # the best hit leads its stack
    similar = client.get(f"/api/artworks/{works[work_of(first)][0]}/similar", params={"k": 3, "stack": "true"})
    assert all(work_of(result) != work_of(first) for result in similar.json()["results"][1:])


def test_the_cutoff_ends_at_the_drop_after_a_work_s_near_duplicates(
    client: TestClient, works: dict[str, list[int]], vectors: dict[str, np.ndarray]
) -> None:
    def nearest_other(stem: str) -> float:
        return max(vectors[f"{stem}/original"] @ vectors[f"{other}/original"] for other in works if other != stem)

    apart = min(works, key=nearest_other)  # the painting least like any other: a clear drop after its copies
    original = works[apart][0]
    cut = client.get(f"/api/artworks/{original}/similar", params={"k": 12, "cutoff": "auto"}).json()
    assert {work_of(hit) for hit in cut["results"]} == {apart}  # its copies, then the drop
    assert (len(cut["results"]), cut["cut"]) == (len(KINDS) - 1, 12 - (len(KINDS) - 1))
    stacked = client.get(f"/api/artworks/{original}/similar", params={"k": 7, "stack": "true"}).json()["results"]
    cut = client.get(f"/api/artworks/{original}/similar", params={"k": 7, "stack": "true", "cutoff": "auto"}).json()
    assert cut["results"] == stacked[: len(cut["results"])] and len(cut["results"]) + cut["cut"] == 7


def test_a_composed_query_ranks_by_its_weighted_parts(client: TestClient, works: dict[str, list[int]]) -> None:
    text = client.get("/api/search", params={"q": QUERY, "k": 10}).json()["results"]
    alone = compose(client, {"text": QUERY})["results"]  # one part: the plain search
    assert [hit["id"] for hit in alone] == [hit["id"] for hit in text]
    assert [hit["score"] for hit in alone] == pytest.approx([hit["score"] for hit in text], abs=1e-6)
    artwork = works[FIXTURE_IMAGES[1].stem][0]
    like = client.get(f"/api/artworks/{artwork}/similar", params={"k": 10}).json()
    assert [hit["id"] for hit in compose(client, {"artwork_id": artwork, "weight": 2.0})["results"]] == [
        hit["id"] for hit in like["results"]
    ]  # the artwork named is left out, and a lone part's weight does not matter
    upload = FIXTURE_IMAGES[2].read_bytes()
    image = client.post("/api/search/image", files={"file": ("a.jpg", upload, "image/jpeg")}, data={"k": "10"}).json()
    encoded = base64.b64encode(upload).decode()
    assert [hit["id"] for hit in compose(client, {"image": encoded})["results"]] == [
        hit["id"] for hit in image["results"]
    ]

    near = works[FIXTURE_IMAGES[3].stem][0]
    rank = lambda hits: [hit["id"] for hit in hits].index(near)  # noqa: E731
    everything = compose(client, {"text": QUERY}, k=40)["results"]
    pushed = compose(client, {"text": QUERY}, {"artwork_id": works[FIXTURE_IMAGES[3].stem][1], "weight": -1}, k=40)
    assert rank(pushed["results"]) > rank(everything)  # a negative part lowers the works near it


def test_composed_queries_say_what_is_wrong(client: TestClient, works: dict[str, list[int]]) -> None:
    def post(body: object) -> object:
        return client.post("/api/search/compose", json=body)

    assert post({"parts": [{"artwork_id": 987654}]}).status_code == 404
    assert "positive weight" in post({"parts": [{"text": "people", "weight": -1}]}).text
    assert "cancel" in post({"parts": [{"text": "sea"}, {"text": "sea", "weight": -1}]}).json()["detail"]
    assert post({"parts": [{"text": "sea", "artwork_id": 1}]}).status_code == 422
    assert post({"parts": []}).status_code == 422
    assert post({"parts": [{"text": "sea"}], "k": 0}).status_code == 422
    assert post({"parts": [{"image": base64.b64encode(b"not a picture").decode()}]}).status_code == 415
    assert post({"parts": [{"image": "%%% not base64"}]}).status_code == 422
    huge = {"parts": [{"image": "A" * (15 * 1024 * 1024)}]}  # over the 10 MB upload limit, base64-encoded
    response = post(huge)
    assert response.status_code == 413 and "limit" in response.json()["detail"]
