"""Shared fixtures: one real embedded Postgres per test session, a fresh migrated database per test,
and a tiny random-weight CLIP of the real classes saved to disk and loaded through the product path."""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from transformers import CLIPConfig

from backend.clip_model import save_random_clip
from backend.database import start_embedded, stop_embedded
from backend.migrate import upgrade
from backend.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE_DB = "artsearch_template"


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def tiny_clip_config() -> CLIPConfig:
    """The real CLIP architecture at toy size; projection_dim matches the 512-d column."""
    layers = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)
    return CLIPConfig(
        text_config=dict(layers, max_position_embeddings=77),
        vision_config=dict(layers, image_size=224, patch_size=32),
        projection_dim=512,
    )


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A real PostgreSQL 16 + pgvector (pgserver) for the whole session, in a short temp path."""
    pgdata = Path(tempfile.mkdtemp(prefix="aspg-")) / "pgdata"
    url = start_embedded(pgdata, Settings().embedded_shared_buffers)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    upgrade(with_database(url, TEMPLATE_DB))
    yield url
    stop_embedded(pgdata)
    shutil.rmtree(pgdata.parent, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str, prefix: str, template: str | None = TEMPLATE_DB) -> Iterator[str]:
    """A new database on the test server (a copy of the migrated template unless told otherwise), dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    yield with_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated database for one test (a copy of the migrated template: fast)."""
    with fresh_database(pg_server_url, "t") as url:
        yield url


@pytest.fixture
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database with no schema at all."""
    with fresh_database(pg_server_url, "e", template=None) as url:
        yield url


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random CLIP saved with save_pretrained, with the real CLIP tokenizer."""
    return save_random_clip(tmp_path_factory.mktemp("models") / "tiny-clip", tiny_clip_config())


@pytest.fixture
def settings(db_url: str, tiny_clip_dir: Path, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, home and the tiny model."""
    return Settings(database_url=db_url, home=tmp_path / "home", model=str(tiny_clip_dir), device="cpu")


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for running the `artsearch` CLI in a subprocess against the test's database."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url or "",
        ARTSEARCH_HOME=str(settings.home),
        ARTSEARCH_MODEL=settings.model,
        ARTSEARCH_DEVICE="cpu",
    )
    return env
