"""The embedding pipeline in one process: vectors equal the reference path, hostile images end with a
reason, transient errors are retried then given up, and the claiming SQL shares work without overlap."""

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel

from backend.clip_model import save_random_clip
from backend.database import connect
from backend.errors import ArtsearchError
from backend.images import THUMBNAIL_SIDE
from backend.map_levels import tile_key
from backend.settings import Settings
from backend.store.embed_queue import (
    CLAIM_PENDING_ARTWORKS,
    claim_pending_artworks,
    release_claims,
    save_embeddings,
)
from backend.store.local_folders import register_local_folder
from etl.http import RetryPolicy
from etl.pipeline.runner import EmbedOptions, embed_pending, run_worker
from tests.helpers import (
    FIXTURE_IMAGES,
    artwork_states,
    folder_with_an_escape,
    index_present,
    insert_artworks,
    jpeg,
)
from tests.image_server import ImageServer, hostile_images

FOLDER_REFUSAL = "refused: no such file inside a crawled folder"
FAST_RETRIES = RetryPolicy(max_attempts=3, backoff_s=0.01, max_backoff_s=0.05)


def stored_vectors(url: str) -> dict[int, np.ndarray]:
    with connect(url) as conn:
        rows = conn.execute("SELECT artwork_id, embedding FROM embeddings").fetchall()
    return {row[0]: np.asarray(row[1].to_numpy(), dtype=np.float32) for row in rows}


def reference_vectors(model_dir: Path, images: list[bytes]) -> np.ndarray:
    """transformers' own path: CLIPImageProcessor on the full image + get_image_features, normalised."""
    model = CLIPModel.from_pretrained(model_dir).eval()
    processor = CLIPImageProcessorPil.from_pretrained(model_dir)
    pictures = [Image.open(io.BytesIO(data)).convert("RGB") for data in images]
    with torch.no_grad():
        pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
        features = model.get_image_features(pixel_values=pixels).pooler_output.numpy()
    return features / np.linalg.norm(features, axis=1, keepdims=True)


@pytest.mark.parametrize("precision", ["auto", "int8"])
def test_vectors_equal_the_reference_path(settings: Settings, image_server: ImageServer, precision: str) -> None:
    settings = settings.model_copy(update={"precision": precision})
    big = jpeg(Image.open(FIXTURE_IMAGES[3]).convert("RGB").resize((1200, 1600)), quality=92)
    images = [path.read_bytes() for path in FIXTURE_IMAGES] + [big]  # the big one is decoded with draft
    ids = insert_artworks(settings.database_url, [image_server.add(f"{i}.jpg", d) for i, d in enumerate(images)])

    summary = embed_pending(settings.model_copy(update={"embed_batch_size": 4}))

    assert (summary.embedded, summary.failed, summary.claimed) == (len(ids), 0, len(ids))
    vectors = stored_vectors(settings.database_url)
    reference = reference_vectors(Path(settings.model), images)
    cosines = [float(vectors[artwork_id] @ reference[i]) for i, artwork_id in enumerate(ids)]
    assert min(cosines) >= 0.99, cosines
    assert all(state == ("embedded", None, 1) for state in artwork_states(settings.database_url).values())
    assert summary.stages["embed"].items == len(ids) and summary.stages["decode"].busy_s > 0


def test_coordinates_come_from_the_current_projection(settings: Settings, image_server: ImageServer) -> None:
    insert_artworks(settings.database_url, [image_server.add("a.jpg", FIXTURE_IMAGES[0].read_bytes())])
    embed_pending(settings)
    with connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM map_positions").fetchone()[0] == 0  # no map yet

    rng = np.random.default_rng(0)
    params = {"mean": [0.0] * 512, "components": rng.normal(size=(2, 512)).tolist(), "low": [-3, -3], "high": [3, 3]}
    with connect(settings.database_url, autocommit=True) as conn:
        projection_id = conn.execute(
            "INSERT INTO projections (method, model, n_fitted, params) VALUES ('pca', 'm', 1, %s) RETURNING id",
            (psycopg.types.json.Jsonb(params),),
        ).fetchone()[0]
    new_id = insert_artworks(settings.database_url, [image_server.add("b.jpg", FIXTURE_IMAGES[1].read_bytes())])[0]
    embed_pending(settings)
    with connect(settings.database_url) as conn:
        placed = "SELECT projection_id, x, y, zoom, tile_key FROM map_positions WHERE artwork_id = %s"
        row = conn.execute(placed, (new_id,)).fetchone()
        small = "SELECT image, width, height FROM thumbnails WHERE artwork_id = %s"
        thumbnail = conn.execute(small, (new_id,)).fetchone()
    assert row[0] == projection_id and 0 <= row[1] <= 1 and 0 <= row[2] <= 1
    assert row[3] == 0 and row[4] == tile_key(np.array([row[1:3]]))[0]  # in its tile, listed where it has room
    with Image.open(io.BytesIO(thumbnail[0])) as small:  # made from the decoded image, no second download
        assert small.format == "JPEG" and small.size == thumbnail[1:] and max(small.size) == THUMBNAIL_SIDE


def test_hostile_images_end_embedded_or_failed_with_a_reason(
    settings: Settings, image_server: ImageServer, tmp_path: Path
) -> None:
    for name, (data, content_type) in hostile_images().items():
        image_server.add(name, data, content_type)
    folder, elsewhere = folder_with_an_escape(tmp_path, FIXTURE_IMAGES[5])
    (folder / "local.jpg").write_bytes(FIXTURE_IMAGES[4].read_bytes())
    with connect(settings.database_url) as conn:
        register_local_folder(conn, folder.resolve())
    expected = [
        ("test", image_server.url("missing.jpg"), "failed", "HTTP 404"),
        ("test", image_server.url("truncated.jpg"), "failed", "truncated or corrupt image"),
        ("test", image_server.url("alpha.png"), "embedded", None),
        ("test", image_server.url("cmyk.jpg"), "embedded", None),
        ("test", image_server.url("pixel.png"), "failed", "too small"),
        ("test", image_server.url("bomb.png"), "failed", "over the pixel limit"),
        ("test", image_server.url("page.jpg"), "failed", "not an image (an HTML page)"),
        ("test", None, "failed", "no image URL"),
        # Only a folder work's file, inside a crawled folder, is ever read from disk.
        ("test", "file:///etc/passwd", "failed", "refused image URL"),
        ("test", "ftp://images.example/a.jpg", "failed", "refused image URL"),
        ("test", (folder / "local.jpg").as_uri(), "failed", "refused image URL"),
        ("folder", (folder / "local.jpg").as_uri(), "embedded", None),
        ("folder", (folder / "gone.jpg").as_uri(), "failed", FOLDER_REFUSAL),
        ("folder", (elsewhere / "secret.jpg").as_uri(), "failed", FOLDER_REFUSAL),
        ("folder", (folder / "escape.jpg").as_uri(), "failed", FOLDER_REFUSAL),
        ("folder", f"{folder.as_uri()}/../elsewhere/secret.jpg", "failed", FOLDER_REFUSAL),
        ("folder", "file:///etc/passwd", "failed", FOLDER_REFUSAL),
    ]
    ids = insert_artworks(
        settings.database_url, [url for _, url, _, _ in expected], sources=[source for source, *_ in expected]
    )

    summary = embed_pending(settings.model_copy(update={"embed_batch_size": 3}))

    states = artwork_states(settings.database_url)
    for artwork_id, (_, url, status, reason) in zip(ids, expected, strict=True):
        got_status, got_error, attempts = states[artwork_id]
        assert got_status == status and attempts == 1, (url, got_status, got_error)
        assert got_error == reason, (url, got_error, reason)  # the class; the particulars are the detail
    assert (summary.embedded, summary.failed) == (3, 14)
    with connect(settings.database_url) as conn:
        details = dict(conn.execute("SELECT image_url, embed_error_detail FROM artworks WHERE source = 'test'"))
    assert details[image_server.url("pixel.png")] == "1x1"
    assert details["file:///etc/passwd"] == "file:///etc/passwd has scheme 'file'; only http or https is accepted"
    assert "bytes not processed" in details[image_server.url("truncated.jpg")]
    assert summary.failures["HTTP 404"] == 1
    assert image_server.hits["missing.jpg"] == 1  # a 404 is not retried


def test_a_first_load_goes_in_bulk_and_an_incremental_run_does_not(
    settings: Settings, image_server: ImageServer
) -> None:
    settings = settings.model_copy(update={"embed_bulk_min_pending": 5, "embed_batch_size": 4})
    urls = [image_server.add(f"{i}.jpg", FIXTURE_IMAGES[i % 8].read_bytes()) for i in range(16)]
    insert_artworks(settings.database_url, urls[:8])
    first = embed_pending(settings)
    assert (first.bulk, first.index_built, first.embedded) == (True, True, 8)
    assert index_present(settings.database_url) and "HNSW index built" in first.line()
    insert_artworks(settings.database_url, urls[8:14])  # 6 pending: over the minimum, but fewer than the 8 indexed
    again = embed_pending(settings)
    assert (again.bulk, again.index_built, again.embedded) == (False, False, 6)
    insert_artworks(settings.database_url, urls[14:])  # 2 pending: under the minimum
    assert not embed_pending(settings).bulk and index_present(settings.database_url)
    with connect(settings.database_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT artwork_id) FROM embeddings").fetchone() == (16, 16)


def test_transient_errors_are_retried_then_given_up(settings: Settings, image_server: ImageServer) -> None:
    image_server.add("flaky.jpg", FIXTURE_IMAGES[0].read_bytes())
    image_server.failures_first["flaky.jpg"] = [503, 429]
    image_server.failures_first["down.jpg"] = [503] * 100
    flaky, down = insert_artworks(settings.database_url, [image_server.url("flaky.jpg"), image_server.url("down.jpg")])
    options = EmbedOptions.from_settings(settings)
    options = replace(options, download=replace(options.download, retries=FAST_RETRIES))

    run_worker(settings, options)
    states = artwork_states(settings.database_url)
    assert states[flaky] == ("embedded", None, 1) and image_server.hits["flaky.jpg"] == 3
    assert states[down] == ("pending", "HTTP 503", 1)  # postponed: not claimable before its backoff
    assert run_worker(settings, options).claimed == 0

    for attempt in (2, 3):
        with connect(settings.database_url, autocommit=True) as conn:
            conn.execute("UPDATE artworks SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (down,))
        summary = run_worker(settings, options)
        assert summary.claimed == 1 and artwork_states(settings.database_url)[down][2] == attempt
    assert artwork_states(settings.database_url)[down] == ("failed", "gave up after 3 attempts: HTTP 503", 3)
    assert summary.failed == 1


def test_claims_of_a_crashed_worker_are_given_up_after_max_attempts(settings: Settings) -> None:
    (artwork_id,) = insert_artworks(settings.database_url, ["http://127.0.0.1:9/never.jpg"])
    with connect(settings.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE artworks SET embed_status = 'claimed', embed_attempts = 3, "
            "lease_expires_at = now() - interval '1 second' WHERE id = %s",
            (artwork_id,),
        )
    assert run_worker(settings, EmbedOptions.from_settings(settings)).claimed == 0
    status, error, attempts = artwork_states(settings.database_url)[artwork_id]
    assert (status, attempts) == ("failed", 3) and error.startswith("gave up after 3 attempts: the worker stopped")


def test_deleted_artworks_are_never_claimed_and_limit_is_kept(settings: Settings, image_server: ImageServer) -> None:
    url = image_server.add("a.jpg", FIXTURE_IMAGES[0].read_bytes())
    (deleted,) = insert_artworks(settings.database_url, [url], deleted=True)
    insert_artworks(settings.database_url, [url] * 5)

    assert embed_pending(settings.model_copy(update={"embed_batch_size": 2}), limit=3).embedded == 3
    assert embed_pending(settings.model_copy(update={"embed_batch_size": 2})).embedded == 2
    assert artwork_states(settings.database_url)[deleted] == ("pending", None, 0)


def test_model_that_does_not_fit_the_column_is_refused(settings: Settings, tmp_path: Path) -> None:
    layers = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, projection_dim=64)
    config = CLIPConfig(text_config=layers, vision_config=dict(layers, patch_size=32), projection_dim=64)
    small = save_random_clip(tmp_path / "clip-64", config)
    with pytest.raises(ArtsearchError, match="makes 64-d vectors but the embeddings column holds 512-d"):
        embed_pending(settings.model_copy(update={"model": str(small)}))


def test_claims_skip_locked_rows_and_expired_leases_are_fenced(db_url: str) -> None:
    ids = insert_artworks(db_url, ["http://example.invalid/x.jpg"] * 6)
    with connect(db_url, autocommit=True) as first, connect(db_url, autocommit=True) as second:
        with first.transaction():  # a claim in progress holds its row locks until it commits
            params = {"limit": 3, "lease_seconds": 600, "max_attempts": 3}
            locked = {row[0] for row in first.execute(CLAIM_PENDING_ARTWORKS, params)}
            other = {claim.id for claim in claim_pending_artworks(second, 3, 600, 3)}
        assert locked.isdisjoint(other) and locked | other == set(ids)
        assert claim_pending_artworks(second, 10, 600, 3) == []  # all leased

        with first.transaction():
            first.execute("UPDATE artworks SET lease_expires_at = now() - interval '1 second' WHERE id = %s", (ids[0],))
        (again,) = claim_pending_artworks(second, 10, 600, 3)
        assert (again.id, again.attempt) == (ids[0], 2)

        vector = np.eye(512, dtype=np.float32)[:1]
        stale = replace(again, attempt=1)
        assert save_embeddings(first, [stale], vector, "m", None, None) == set()  # its lease went to another
        assert save_embeddings(second, [again], vector, "m", None, None) == {ids[0]}

        claims = claim_pending_artworks(second, 10, 0, 3)  # nothing left to claim: all leased
        assert claims == []
        with first.transaction():
            first.execute("UPDATE artworks SET lease_expires_at = now() - interval '1 second'")
        claims = claim_pending_artworks(second, 10, 600, 3)
        assert len(claims) == 5 and release_claims(second, claims) == 5
    assert {state[0] for i, state in artwork_states(db_url).items() if i != ids[0]} == {"pending"}
    assert artwork_states(db_url)[ids[0]] == ("embedded", None, 2)
