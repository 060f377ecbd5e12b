"""The schema comes from alembic alone: upgrade creates it, downgrade removes it, and it matches the models."""

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import backend.models  # noqa: F401
from backend.database import embedded_memory, machine_memory_bytes, sqlalchemy_url
from backend.migrate import downgrade, upgrade
from backend.store.hnsw import ensure_index

TABLES = {
    "artworks", "embeddings", "map_positions", "projections", "crawl_checkpoints", "crawl_failures", "runs",
    "local_folders", "thumbnails",
}  # fmt: skip


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows} - {"alembic_version"}


def test_upgrade_creates_schema_with_hnsw_index(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == TABLES
    with psycopg.connect(empty_db_url) as conn:
        indexdef = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_hnsw_idx'").fetchone()[0]
        dim = conn.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'embeddings'::regclass AND attname = 'embedding'"
        ).fetchone()[0]
    assert "USING hnsw (((embedding)::halfvec(512)) halfvec_ip_ops)" in indexdef
    assert "m='16'" in indexdef and "ef_construction='128'" in indexdef
    assert dim == "vector(512)"


def test_a_bulk_load_rebuilds_the_index_the_migration_made(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    definition = "SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_hnsw_idx'"
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        migrated = conn.execute(definition).fetchone()
        conn.execute("DROP INDEX embeddings_hnsw_idx")
        assert ensure_index(conn, None, 1)
        assert conn.execute(definition).fetchone() == migrated


def test_downgrade_to_base_and_upgrade_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        conn.execute("INSERT INTO artworks (source, source_id, title) VALUES ('aic', '1', 'x')")
    downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    upgrade(empty_db_url)
    assert _tables(empty_db_url) == TABLES
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM artworks").fetchone()[0] == 0


def test_folders_crawled_before_local_folders_existed_are_registered(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0002")
    with psycopg.connect(empty_db_url) as conn:
        conn.execute(
            "INSERT INTO crawl_checkpoints (source, partition) VALUES ('folder', '/data/art/metadata.csv'), "
            "('folder', 'since-2026-11-01T00:00:00//data/art/metadata.csv'), ('folder', '/data/more/metadata.csv'), "
            "('aic', 'pages-0000001-0000100')"
        )
    upgrade(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        roots = conn.execute("SELECT root FROM local_folders ORDER BY root").fetchall()
    assert roots == [("/data/art",), ("/data/more",)]


def test_works_crawled_before_credits_existed_get_their_museum_and_number(empty_db_url: str) -> None:
    upgrade(empty_db_url, "0008")
    rows = [
        ("rijksmuseum", {"object_number": "SK-C-5"}),
        ("aic", {"id": 866}),  # listings before 0009 did not ask for main_reference_number
        ("met", {"accessionNumber": " 43.106.1 "}),
        ("cleveland", {"accession_number": 1335}),  # not a string: no number rather than a guessed one
        ("folder", {"file": "866.jpg", "object_number": "1922.4467"}),
    ]
    with psycopg.connect(empty_db_url) as conn:
        for source, raw in rows:
            conn.execute("INSERT INTO artworks (source, source_id, raw) VALUES (%s, '1', %s)", (source, Jsonb(raw)))
    upgrade(empty_db_url)
    with psycopg.connect(empty_db_url) as conn:
        found = conn.execute("SELECT source, institution, object_number FROM artworks").fetchall()
    credits = {source: (institution, number) for source, institution, number in found}
    assert credits == {
        "rijksmuseum": ("Rijksmuseum", "SK-C-5"),
        "aic": ("Art Institute of Chicago", None),
        "met": ("The Metropolitan Museum of Art", "43.106.1"),
        "cleveland": ("Cleveland Museum of Art", None),
        "folder": (None, None),
    }


def test_models_match_migrations(db_url: str) -> None:
    engine = create_engine(sqlalchemy_url(db_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_the_embedded_server_is_sized_from_the_machine_and_the_index(pg_server_url: str) -> None:
    """start_embedded sized its memory (a restart on first start): the default 128 MB is under one 100k index."""
    with psycopg.connect(pg_server_url) as conn:
        index_bytes = conn.execute("SELECT coalesce(pg_relation_size(to_regclass('embeddings_hnsw_idx')), 0)")
        wanted = embedded_memory(machine_memory_bytes(), index_bytes.fetchone()[0])
        current = conn.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')) = pg_size_bytes(%s), "
            "pg_size_bytes(current_setting('maintenance_work_mem')) = pg_size_bytes(%s)",
            wanted,
        ).fetchone()
    assert current == (True, True)


def test_memory_follows_the_index_within_the_machine() -> None:
    gib = 1024**3
    assert embedded_memory(24 * gib, 0) == ("1024MB", "256MB")  # a new collection: the floors
    assert embedded_memory(24 * gib, int(1.45 * gib)) == ("2048MB", "2304MB")  # a 1.45 GB index: index + 25%
    assert embedded_memory(4 * gib, 3 * gib) == ("1024MB", "512MB")  # a small machine caps both
