"""Shared fixtures: one real embedded Postgres per test session, a fresh migrated database per test,
and a tiny random-weight CLIP of the real classes saved to disk and loaded through the product path."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from backend.clip_model import save_random_clip
from backend.database import start_embedded, stop_embedded
from backend.migrate import upgrade
from backend.settings import Settings
from tests.helpers import TEMPLATE_DB, cli_environment, fresh_database, tiny_clip_config, with_database
from tests.image_server import ImageServer


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
    """Settings for one test: its own database, home and the tiny model; images download from 127.0.0.1, and
    searches are not rate-limited (the limit has its own test)."""
    return Settings(
        database_url=db_url,
        home=tmp_path / "home",
        model=str(tiny_clip_dir),
        device="cpu",
        download_allow_private=True,
        search_rate_limit="0",
    )


@pytest.fixture
def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for running the `artsearch` CLI in a subprocess against the test's database."""
    return cli_environment(settings.database_url or "", settings.home, settings.model)


@pytest.fixture
def image_server() -> Iterator[ImageServer]:
    """A local image CDN for one test."""
    with ImageServer() as server:
        yield server
