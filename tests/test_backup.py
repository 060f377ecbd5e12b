"""`artsearch db dump` and `db restore`: a round trip gives back every table's rows, the migration state, the indexes
and the same search results; a mistake is one line that says what to do, and a failed restore changes nothing."""

import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.backup import client_tools
from backend.database import bundled_client_tools
from backend.errors import ArtsearchError
from backend.settings import Settings
from tests.helpers import (
    assert_one_line_error,
    cli_environment,
    count,
    free_port,
    fresh_database,
    run_artsearch,
)
from tests.search_seed import Collection, seeded_template

TEXT_QUERIES = ("a gloomy winter landscape", "bright flowers in a vase", "a portrait of a man")
# What a user may have done to the database since the dump: changed it (works gone, the index dropped for a bulk
# load, the schema taken back a migration, a stray work), or lost everything in it.
CHANGES = {
    "changed": [
        "DELETE FROM map_positions WHERE artwork_id % 3 = 0",
        "DELETE FROM embeddings WHERE artwork_id % 2 = 0",
        "DROP INDEX embeddings_hnsw_idx",
        "UPDATE alembic_version SET version_num = '0001'",
        "INSERT INTO artworks (source, source_id, title) VALUES ('aic', 'stray', 'not in the dump')",
    ],
    "emptied": ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"],
}


@pytest.fixture(scope="module")
def seeded(pg_server_url: str, tiny_clip_dir: Path) -> Iterator[tuple[str, Collection]]:
    with seeded_template(pg_server_url, tiny_clip_dir) as template:
        yield template


@pytest.fixture
def settings(
    pg_server_url: str, seeded: tuple[str, Collection], tiny_clip_dir: Path, tmp_path: Path
) -> Iterator[Settings]:
    """Settings on a fresh copy of the seeded collection (shadows conftest's empty database)."""
    with fresh_database(pg_server_url, "b", seeded[0]) as url:
        yield Settings(database_url=url, home=tmp_path / "home", model=str(tiny_clip_dir), device="cpu")


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return dict(cli_environment(settings.database_url, settings.home, settings.model), COLUMNS="400")


def snapshot(url: str) -> dict:
    """Rows per table, the migration revision and every index as defined."""
    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        return {
            "rows": {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables},
            "revision": conn.execute("SELECT version_num FROM alembic_version").fetchone()[0],
            "indexes": dict(conn.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")),
        }


def search_results(settings: Settings, artwork_ids: list[int], frontend_dir: Path) -> dict:
    """The API's answers to a few text and "more like this" searches (the real search code, model and map)."""
    with TestClient(create_app(settings, frontend_dir=frontend_dir)) as client:
        texts = {q: client.get("/api/search", params={"q": q, "k": 10}).json()["results"] for q in TEXT_QUERIES}
        similar = {i: client.get(f"/api/artworks/{i}/similar", params={"k": 10}).json()["results"] for i in artwork_ids}
    return {"text": texts, "similar": similar}


def change(url: str, statements: list[str]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize("how", CHANGES)
def test_a_round_trip_gives_back_the_tables_migrations_index_and_searches(
    how: str, settings: Settings, env: dict[str, str], seeded: tuple[str, Collection], tmp_path: Path
) -> None:
    url, similar_to = settings.database_url, seeded[1].live_ids[:4]
    before, searches_before = snapshot(url), search_results(settings, similar_to, tmp_path / "no-dist")
    assert before["rows"]["embeddings"] == len(seeded[1].ids) + 1 and "embeddings_hnsw_idx" in before["indexes"]
    dump = tmp_path / "backup.dump"

    dumped = run_artsearch(["db", "dump", str(dump)], env)
    assert dumped.returncode == 0, dumped.stderr
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # as private as the database it holds
    change(url, CHANGES[how])
    restored = run_artsearch(["db", "restore", str(dump)], env)

    assert restored.returncode == 0, restored.stderr
    assert snapshot(url) == before
    assert count(url, "SELECT count(*) FROM pg_index WHERE NOT indisvalid") == 0
    assert search_results(settings, similar_to, tmp_path / "no-dist") == searches_before


def test_a_restore_that_fails_leaves_the_database_as_it_was(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    dump = tmp_path / "backup.dump"
    assert run_artsearch(["db", "dump", str(dump)], env).returncode == 0
    change(settings.database_url, CHANGES["changed"])
    changed = snapshot(settings.database_url)
    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])

    result = run_artsearch(["db", "restore", str(truncated)], env)

    assert_one_line_error(result, "pg_restore", "the database is as it was")
    assert snapshot(settings.database_url) == changed


def test_a_restore_waits_for_the_api_and_workers_to_stop(
    settings: Settings, env: dict[str, str], tmp_path: Path
) -> None:
    dump = tmp_path / "backup.dump"
    assert run_artsearch(["db", "dump", str(dump)], env).returncode == 0
    with psycopg.connect(settings.database_url):  # what a running API's pool holds
        result = run_artsearch(["db", "restore", str(dump)], env)
    assert_one_line_error(result, "1 other connection", "stop them")


def test_what_is_not_a_dump_is_refused_in_one_line(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a dump\n")
    assert_one_line_error(run_artsearch(["db", "restore", str(tmp_path / "nothing.dump")], env), "there is no file")
    assert_one_line_error(run_artsearch(["db", "restore", str(tmp_path / "notes.txt")], env), "is not a dump")
    assert_one_line_error(run_artsearch(["db", "restore", str(tmp_path)], env), "there is no file")
    missing_dir = tmp_path / "no-such-dir" / "backup.dump"
    assert_one_line_error(run_artsearch(["db", "dump", str(missing_dir)], env), "directory that exists")


def test_an_unreachable_server_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    unreachable = dict(env, DATABASE_URL=f"postgresql://artsearch@127.0.0.1:{free_port()}/artsearch")
    dump = tmp_path / "backup.dump"
    assert_one_line_error(run_artsearch(["db", "dump", str(dump)], unreachable), "cannot connect", "DATABASE_URL")
    assert not dump.exists()
    assert run_artsearch(["db", "dump", str(dump)], env).returncode == 0
    assert_one_line_error(run_artsearch(["db", "restore", str(dump)], unreachable), "cannot connect", "DATABASE_URL")


def test_the_embedded_server_is_backed_up_with_its_own_tools(cli_env: dict[str, str], tmp_path: Path) -> None:
    # the memory Postgres starts with, so that sizing it restarts nothing
    memory = {"ARTSEARCH_EMBEDDED_SHARED_BUFFERS": "128MB", "ARTSEARCH_EMBEDDED_MAINTENANCE_WORK_MEM": "64MB"}
    env = dict(cli_env, ARTSEARCH_HOME=str(tmp_path / "home"), **memory)
    env.pop("DATABASE_URL")
    dump = tmp_path / "backup.dump"
    try:
        assert run_artsearch(["db", "migrate"], env).returncode == 0
        url = run_artsearch(["db", "url"], env).stdout.strip()
        change(url, ["INSERT INTO artworks (source, source_id, title) VALUES ('aic', '1', 'kept')"])
        assert run_artsearch(["db", "dump", str(dump)], env).returncode == 0
        change(url, ["DELETE FROM artworks"])
        restored = run_artsearch(["db", "restore", str(dump)], env)
        assert restored.returncode == 0, restored.stderr
        assert count(url, "SELECT count(*) FROM artworks WHERE title = 'kept'") == 1
    finally:
        assert run_artsearch(["db", "stop"], env).returncode == 0


def tools_major(folder: Path) -> int:
    """The major version of the pg_dump in a folder: `pg_dump (PostgreSQL) 16.14`."""
    version = subprocess.run([folder / "pg_dump", "--version"], capture_output=True, text=True, check=True).stdout
    return int(version.split(") ")[1].split(".")[0])


def test_the_tools_are_the_oldest_at_or_above_the_server() -> None:
    assert client_tools(16) in bundled_client_tools() and tools_major(client_tools(16)) == 16  # the embedded's own
    on_path = shutil.which("pg_dump")
    majors = {tools_major(folder) for folder in [*bundled_client_tools(), *([Path(on_path).parent] if on_path else [])]}
    for server_major in (14, 15, 17, 18):
        chosen = client_tools(server_major)
        assert tools_major(chosen) == min(major for major in majors if major >= server_major)
        assert (chosen / "pg_restore").exists()
    with pytest.raises(ArtsearchError, match="install the PostgreSQL 99 client tools"):
        client_tools(99)
