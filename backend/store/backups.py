"""What a restore asks of the database before it starts and leaves behind when it is done."""

import psycopg

OTHER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""
UPDATE_STATISTICS = "ANALYZE"


def other_sessions(conn: psycopg.Connection) -> int:
    """Connections to this database besides ours: an API or a worker that would keep what a restore replaces (the
    vector type's old OID among it)."""
    return conn.execute(OTHER_SESSIONS).fetchone()[0]


def update_statistics(conn: psycopg.Connection) -> None:
    """Planner statistics for every table: a dump holds none, and a search planned without them may scan instead
    of walking the HNSW index."""
    conn.execute(UPDATE_STATISTICS)
