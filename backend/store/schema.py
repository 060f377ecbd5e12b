"""What the connected database's schema holds: whether it was migrated, and the vector column's dimension."""

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
