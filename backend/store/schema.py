"""What the connected database holds: whether it was migrated, the vector column's dimension, and whether its
pgvector is new enough (0.8: iterative index scans, which filtered search is built on)."""

import psycopg

from backend.errors import ArtsearchError

SCHEMA_PRESENT = "SELECT to_regclass('crawl_checkpoints') IS NOT NULL"
VECTOR_DIMENSION = """
SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass('embeddings') AND attname = 'embedding'
"""


def require_schema(conn: psycopg.Connection) -> None:
    """A database that was never migrated is one clear line, not a missing-table error mid-run."""
    if not conn.execute(SCHEMA_PRESENT).fetchone()[0]:
        raise ArtsearchError("the database has no schema yet: run `artsearch db migrate` first")


def vector_dimension(conn: psycopg.Connection) -> int | None:
    """The dimension of embeddings.embedding in this database; None before the first migration."""
    row = conn.execute(VECTOR_DIMENSION).fetchone()
    return row[0] if row else None


MIN_PGVECTOR = (0, 8, 0)
PGVECTOR_VERSIONS = "SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'vector'"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def require_pgvector(conn: psycopg.Connection, *, installed: bool) -> None:
    """One line that names the version found when pgvector is older than 0.8: on the server (before a migration)
    or in this database (when serving, after one)."""
    row = conn.execute(PGVECTOR_VERSIONS).fetchone()
    if row is None:
        raise ArtsearchError("this Postgres server has no pgvector: install pgvector >= 0.8 on it")
    available, in_database = row
    if _version(available) < MIN_PGVECTOR:
        raise ArtsearchError(
            f"this Postgres server offers pgvector {available}; artsearch needs >= 0.8: upgrade pgvector on the "
            "server, or unset DATABASE_URL to use the embedded Postgres"
        )
    if installed and (in_database is None or _version(in_database) < MIN_PGVECTOR):
        raise ArtsearchError(
            f"pgvector {in_database or 'is not'} installed in this database, artsearch needs >= 0.8: "
            "run `artsearch db migrate` (it updates the extension)"
        )
