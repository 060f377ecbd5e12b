"""Backups of the product's database with the server's own pg_dump and pg_restore, in pg_dump's custom format."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from backend.database import bundled_client_tools, connect
from backend.errors import ArtsearchError
from backend.store.backups import other_sessions, update_statistics

DUMP_SIGNATURE = b"PGDMP"  # how every file in pg_dump's custom format begins
# --clean --if-exists drops each object of the dump before making it anew, and --single-transaction makes the whole
# restore one transaction (stopping at the first error): one that fails leaves the database as it was, where a drop
# and re-create would have lost it. --no-owner --no-privileges: the restoring user owns it all, so a dump moves
# between servers and their roles.
RESTORE_OPTIONS = ("--clean", "--if-exists", "--single-transaction", "--no-owner", "--no-privileges")
CONNECT_TIMEOUT_S = "10"


def dump_database(url: str, path: Path) -> None:
    """Write the database to path, readable by its owner alone as pgdata is; a dump that fails leaves whatever was
    at path as it was."""
    if path.is_dir() or not path.parent.is_dir():
        raise ArtsearchError(f"cannot write a dump to {path}: give a file's path in a directory that exists")
    with connect(url) as conn:
        tools = _tools_for(conn)
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.touch(mode=0o600)  # before pg_dump writes a byte: it would make the file as readable as umask lets
        _run_tool(tools / "pg_dump", ["--format=custom", f"--file={partial}"], url, "nothing was written")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def restore_database(url: str, path: Path) -> None:
    """Replace what the database holds with the dump at path, in one transaction, while nothing else is connected."""
    require_dump(path)
    with connect(url) as conn:
        tools = _tools_for(conn)
        others = other_sessions(conn)
    if others:
        raise ArtsearchError(
            f"{others} other connection(s) to the database (the API, a worker?): stop them, then restore again"
        )
    _run_tool(tools / "pg_restore", [*RESTORE_OPTIONS, str(path)], url, "the database is as it was")
    with connect(url, autocommit=True) as conn:
        update_statistics(conn)


def require_dump(path: Path) -> None:
    """Refuse, before touching the database, a path that holds no dump in pg_dump's custom format."""
    if not path.is_file():
        raise ArtsearchError(f"there is no file {path}: give the path `artsearch db dump` wrote")
    with path.open("rb") as file:
        if file.read(len(DUMP_SIGNATURE)) != DUMP_SIGNATURE:
            raise ArtsearchError(f"{path} is not a dump: give a file `artsearch db dump` wrote (pg_dump -Fc)")


def _tools_for(conn: psycopg.Connection) -> Path:
    """The client tools for the server on the other end of conn."""
    return client_tools(conn.info.server_version // 10000)


def client_tools(server_major: int) -> Path:
    """The folder of the pg_dump and pg_restore for a server of this major version: the oldest at or above it (an
    older pg_dump refuses a newer server, a newer one may write what an older server cannot load), on a tie the
    bundled one (the embedded server's own), else the one on PATH."""
    by_major: dict[int, Path] = {}
    for folder in _tool_folders():
        by_major.setdefault(_major_version(folder / "pg_dump"), folder)
    suitable = [major for major in by_major if major >= server_major]
    if not suitable:
        raise ArtsearchError(
            f"the pg_dump here is for PostgreSQL {max(by_major)} at most but the server runs {server_major}: "
            f"install the PostgreSQL {server_major} client tools"
        )
    return by_major[min(suitable)]


def _tool_folders() -> list[Path]:
    """The bundled client tools, then the ones on PATH."""
    on_path = shutil.which("pg_dump")
    return [*bundled_client_tools(), *([Path(on_path).parent] if on_path else [])]


def _major_version(pg_dump: Path) -> int:
    """The major version of a pg_dump, from `pg_dump (PostgreSQL) 16.14`."""
    output = subprocess.run([pg_dump, "--version"], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\) (\d+)", output)[1])


def _run_tool(tool: Path, args: list[str], url: str, outcome_on_failure: str) -> None:
    """Run a client tool on the database; its password goes in the environment, never on a command line (which
    `ps` shows to everyone). A failure is its first error and what became of the database, on one line."""
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    command = [str(tool), *args, f"--dbname={make_conninfo(**params)}"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()] or [f"{tool.name} failed"]
        error = next((line for line in lines if "error:" in line), lines[0])
        raise ArtsearchError(f"{error} ({outcome_on_failure})")
