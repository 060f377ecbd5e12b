"""What the tests share, in one place: the fixture files, the `artsearch` CLI, a served app, test databases, image
bytes, artworks as the crawler leaves them, one-value SQL reads and waiting for another process."""

import io
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
import uvicorn
from PIL import Image

from backend.models import EMBEDDING_DIM, HNSW_INDEX

if TYPE_CHECKING:
    from fastapi import FastAPI
    from transformers import CLIPConfig

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_IMAGES = sorted((FIXTURES / "images").glob("*.jpg"))
TEMPLATE_DB = "artsearch_template"
ARTSEARCH = str(Path(sys.executable).with_name("artsearch"))  # the CLI installed beside this interpreter


# -- the CLI and the network -------------------------------------------------------------------------------


def run_artsearch(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """One `artsearch` command to its end, its output captured as text."""
    return subprocess.run([ARTSEARCH, *args], env=env, capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    """The command failed with one line on stderr that starts with `error:` and says each of needles."""
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0]


def cli_environment(database_url: str, home: Path, model: str) -> dict[str, str]:
    """This process's environment, pointing the `artsearch` CLI at a test database, home and model (on CPU),
    letting it download from the replicas and image servers on 127.0.0.1, with searches not rate-limited."""
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        ARTSEARCH_HOME=str(home),
        ARTSEARCH_MODEL=model,
        ARTSEARCH_DEVICE="cpu",
        ARTSEARCH_DOWNLOAD_ALLOW_PRIVATE="true",
        ARTSEARCH_SEARCH_RATE_LIMIT="0",
    )


@contextmanager
def serving(app: "FastAPI") -> Iterator[str]:
    """The app behind a real uvicorn server on 127.0.0.1 in a thread, as `artsearch serve` runs it; its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout_s=60)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout_s: float = 90, interval_s: float = 0.1) -> None:
    """Poll until `condition()` holds (another process reaching a state); fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(interval_s)


# -- databases ---------------------------------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    """The database part of a postgresql:// URL."""
    return urlsplit(url).path.lstrip("/")


@contextmanager
def fresh_database(server_url: str, prefix: str, template: str | None = TEMPLATE_DB) -> Iterator[str]:
    """A new database on the test server (a copy of the migrated template unless told otherwise), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def count(db_url: str, sql: str, *params: object) -> int:
    """The one value a query returns (a count, mostly), on a connection of its own."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def insert_artworks(
    url: str, image_urls: list[str | None], deleted: bool = False, sources: list[str] | None = None
) -> list[int]:
    """Artworks as the crawler leaves them: pending, with the URL of the rendition to embed."""
    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
        ids = []
        for image_url, source in zip(image_urls, sources or ["test"] * len(image_urls), strict=True):
            cur.execute(
                "INSERT INTO artworks (source, source_id, title, image_url, deleted) "
                "VALUES (%s, gen_random_uuid()::text, 'untitled', %s, %s) RETURNING id",
                (source, image_url, deleted),
            )
            ids.append(cur.fetchone()[0])
    return ids


def artwork_states(url: str) -> dict[int, tuple[str, str | None, int]]:
    """id → (embed_status, embed_error, embed_attempts)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, embed_status, embed_error, embed_attempts FROM artworks").fetchall()
    return {row[0]: row[1:] for row in rows}


EXPIRE_LEASES = "UPDATE artworks SET lease_expires_at = now() - interval '1 second' WHERE embed_status = 'claimed'"


def expire_leases(url: str) -> None:
    """Every lease runs out now, as if its time had passed: what a killed worker's claims come to."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EXPIRE_LEASES)


# -- models, vectors and images ----------------------------------------------------------------------------


def tiny_clip_config() -> "CLIPConfig":
    """The real CLIP architecture at toy size; projection_dim matches the 512-d column."""
    from transformers import CLIPConfig  # here, not at import: the replicas (and benchmarks) need no torch

    layers = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    return CLIPConfig(
        text_config=dict(layers, max_position_embeddings=77),
        vision_config=dict(layers, image_size=224, patch_size=32),
        projection_dim=EMBEDDING_DIM,
    )


def clustered_unit_vectors(n: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blobs around random centres on the sphere, like image embeddings of similar works."""
    centres = rng.normal(size=(clusters, EMBEDDING_DIM))
    vectors = centres[rng.integers(clusters, size=n)] + rng.normal(scale=0.6, size=(n, EMBEDDING_DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def jpeg(image: Image.Image, **options: object) -> bytes:
    """An image as JPEG bytes (Pillow's options: quality, exif, …)."""
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    """An image as PNG bytes."""
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def folder_with_an_escape(tmp_path: Path, secret: Path) -> tuple[Path, Path]:
    """(folder, elsewhere): an empty "collection" folder whose escape.jpg links out to elsewhere/secret.jpg."""
    folder, elsewhere = tmp_path / "collection", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret.jpg").write_bytes(secret.read_bytes())
    (folder / "escape.jpg").symlink_to(elsewhere / "secret.jpg")
    return folder, elsewhere


def index_present(url: str) -> bool:
    """Whether the HNSW index exists (a bulk load writes without it until its end)."""
    return bool(count(url, f"SELECT (to_regclass('{HNSW_INDEX}') IS NOT NULL)::int"))


def near_duplicates(path: Path) -> dict[str, bytes]:
    """A painting as served, and what a CDN or a re-upload makes of it: resized, re-encoded, cropped a little."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    margin = (width // 20, height // 20, width * 19 // 20, height * 19 // 20)
    return {
        "original": path.read_bytes(),
        "half size": jpeg(image.resize((width // 2, height // 2), Image.LANCZOS), quality=85),
        "re-encoded at quality 40": jpeg(image, quality=40),
        "cropped by 5% a side": jpeg(image.crop(margin), quality=90),
        "small and re-encoded": jpeg(image.resize((width * 2 // 5, height * 2 // 5), Image.BILINEAR), quality=60),
    }
