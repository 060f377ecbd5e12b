"""The one home of database access: the embedded Postgres, connection URLs, connections and pools."""

import logging
import os
import subprocess
import warnings
from pathlib import Path

import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from backend.errors import ArtsearchError
from backend.settings import Settings

logging.getLogger("pgserver").setLevel(logging.WARNING)


def start_embedded(pgdata: Path) -> str:
    """Start (or join) the embedded PostgreSQL 16 + pgvector under pgdata; it outlives this process."""
    with warnings.catch_warnings():  # pgserver's lock dir falls back to /tmp without XDG_RUNTIME_DIR: fine
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        # cleanup_mode=None: the server keeps running for the other processes (workers, API) that share it.
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError) as exc:
        raise ArtsearchError(
            f"could not start the embedded Postgres in {pgdata} ({exc}); see {pgdata / 'log'}"
        ) from exc
    return server.get_uri()


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded Postgres if it runs; True when one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    from pgserver._commands import pg_ctl

    # pgserver runs the server as the 'pgserver' system user when we are root.
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except subprocess.CalledProcessError:
        return False
    return True


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded server's URL (starting it if needed)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.pgdata)


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy/SQLModel/alembic, on the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ArtsearchError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection with pgvector's types registered; a clear error when unreachable."""
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtsearchError(
            f"cannot connect to the database at {_redact(url)}: {reason}. "
            "Check DATABASE_URL (or unset it to use the embedded Postgres under ARTSEARCH_HOME)."
        ) from exc
    _register_vector_if_present(conn)
    return conn


def create_pool(url: str, *, min_size: int = 1, max_size: int = 8) -> ConnectionPool:
    """A connection pool whose connections know the vector type."""
    connect(url).close()  # fail early, with the clear message, when the database is unreachable
    pool = ConnectionPool(url, min_size=min_size, max_size=max_size, configure=_register_vector_if_present, open=False)
    pool.open(wait=True, timeout=30)
    return pool


def _register_vector_if_present(conn: psycopg.Connection) -> None:
    """register_vector needs the extension; before the first migration it is not there yet."""
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:
        conn.rollback()
    else:
        if not conn.autocommit:
            conn.commit()


def _redact(url: str) -> str:
    """Hide a password in a URL shown to the user."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url
