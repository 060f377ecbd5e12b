"""Every user mistake the CLI can meet ends in one line that says what to do, never a traceback."""

from pathlib import Path

import psycopg
import pytest

from backend.clip_model import save_random_clip
from backend.errors import ArtsearchError
from backend.migrate import check_model_dimension
from tests.helpers import assert_one_line_error, run_artsearch, tiny_clip_config


def test_unreachable_database_url(cli_env: dict[str, str]) -> None:
    env = dict(cli_env, DATABASE_URL="postgresql://artsearch:secret@127.0.0.1:9/nowhere", COLUMNS="400")
    result = run_artsearch(["db", "migrate"], env)
    assert_one_line_error(result, "cannot connect", "DATABASE_URL")
    assert "secret" not in result.stderr


def test_migrate_on_empty_home_creates_schema(tmp_path: Path, cli_env: dict[str, str]) -> None:
    env = dict(cli_env, ARTSEARCH_HOME=str(tmp_path / "h"))
    env.pop("DATABASE_URL")
    try:
        assert run_artsearch(["db", "migrate"], env).returncode == 0
        url = run_artsearch(["db", "url"], env).stdout.strip()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('embeddings_hnsw_idx')").fetchone()[0]
    finally:
        assert run_artsearch(["db", "stop"], env).returncode == 0


def test_wrong_model_dimension(db_url: str) -> None:
    with psycopg.connect(db_url) as conn, pytest.raises(ArtsearchError, match="768-d .* 512-d"):
        check_model_dimension(conn, 768, "some/clip-vit-large")


def test_model_of_another_dimension_is_refused_in_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    config = tiny_clip_config()
    config.projection_dim = 64
    model_dir = save_random_clip(tmp_path / "clip-64", config)
    result = run_artsearch(["embed"], dict(cli_env, ARTSEARCH_MODEL=str(model_dir), COLUMNS="400"))
    assert_one_line_error(result, "64-d", "512-d")


def test_unloadable_model_in_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    result = run_artsearch(["embed"], dict(cli_env, ARTSEARCH_MODEL=str(tmp_path / "nothing-here"), COLUMNS="400"))
    assert_one_line_error(result, "cannot load CLIP model", "ARTSEARCH_MODEL")


def test_the_migrated_schema_has_pgvector_0_8(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        installed, available = conn.execute(
            "SELECT installed_version, default_version FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    assert installed == available and tuple(int(n) for n in installed.split(".")) >= (0, 8, 0)


def test_an_older_pgvector_in_the_database_is_refused_in_one_line(db_url: str, cli_env: dict[str, str]) -> None:
    """A database whose extension is still 0.6 (made before the upgrade, not migrated since) is not served."""
    with psycopg.connect(db_url, autocommit=True) as conn:  # the catalogue as a pgvector 0.6 database has it
        conn.execute("UPDATE pg_extension SET extversion = '0.6.0' WHERE extname = 'vector'")
    result = run_artsearch(["serve", "--port", "9"], dict(cli_env, COLUMNS="400"))
    assert_one_line_error(result, "pgvector 0.6.0", "needs >= 0.8", "artsearch db migrate")
