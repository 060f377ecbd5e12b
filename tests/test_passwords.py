"""A DATABASE_URL's password never shows: not in an error, not in what a command prints, not on a command line that
`ps` shows; the error still says what to do."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from backend.backup import dump_database
from backend.database import redact
from tests.helpers import TEMPLATE_DB, assert_one_line_error, free_port, run_artsearch

USER = "password_checked"
PASSWORD = "Sekr@t-Pw:4471"  # distinctive, with an @ and a : to be percent-encoded in a URL
WRONG_PASSWORD = "Wr0ng@Pw-9983"
COMMANDS = (["status"], ["db", "migrate"], ["db", "dump", "{dir}/backup.dump"], ["db", "restore", "{dir}/some.dump"])


def url_with(password: str, where: str) -> str:
    return f"postgresql://{USER}:{quote(password, safe='')}@{where}"


def assert_nowhere(password: str, result: subprocess.CompletedProcess) -> None:
    """Neither the password nor its percent-encoded form is in anything the command printed."""
    for form in (password, quote(password, safe="")):
        assert form not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def checking_socket(pg_server_url: str) -> Iterator[str]:
    """The test server's socket directory, where USER alone must give its password (everyone else stays trusted)."""
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        hba_file = Path(conn.execute("SHOW hba_file").fetchone()[0])
        conn.execute(f"CREATE ROLE {USER} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        conn.execute(f"CREATE DATABASE {USER} TEMPLATE {TEMPLATE_DB}")
        trusting = hba_file.read_text()
        hba_file.write_text(f"local all {USER} scram-sha-256\n{trusting}")
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield conninfo_to_dict(pg_server_url)["host"]
    finally:
        hba_file.write_text(trusting)
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"DROP DATABASE {USER} WITH (FORCE)")
            conn.execute(f"DROP ROLE {USER}")


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return dict(cli_env, COLUMNS="400")


def commands(tmp_path: Path) -> list[list[str]]:
    """Each command that reaches the database, with the paths it names in tmp_path (a dump to restore there)."""
    (tmp_path / "some.dump").write_bytes(b"PGDMP")
    return [[arg.format(dir=tmp_path) for arg in command] for command in COMMANDS]


def test_an_unreachable_server_is_named_without_its_password(env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env, DATABASE_URL=url_with(PASSWORD, f"127.0.0.1:{free_port()}/artsearch"))
    for command in commands(tmp_path):
        result = run_artsearch(command, env)
        assert_one_line_error(result, "cannot connect", f"{USER}:***@127.0.0.1", "Check DATABASE_URL")
        assert_nowhere(PASSWORD, result)
    started = run_artsearch(["db", "start"], env)  # prints the URL it would use
    assert started.returncode == 0 and f"{USER}:***@" in started.stderr
    assert_nowhere(PASSWORD, started)


def test_a_wrong_password_is_said_but_not_shown(checking_socket: str, env: dict[str, str], tmp_path: Path) -> None:
    env = dict(env, DATABASE_URL=url_with(WRONG_PASSWORD, f"/{USER}?host={checking_socket}"))
    for command in commands(tmp_path):
        result = run_artsearch(command, env)
        assert_one_line_error(result, "password authentication failed", "Check DATABASE_URL")
        assert_nowhere(WRONG_PASSWORD, result)


def test_the_right_password_reaches_the_server_and_pg_dump(
    checking_socket: str, env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(env, DATABASE_URL=url_with(PASSWORD, f"/{USER}?host={checking_socket}"))
    for command in (["status"], ["db", "dump", str(tmp_path / "backup.dump")]):
        result = run_artsearch(command, env)
        assert result.returncode == 0, result.stderr
        assert_nowhere(PASSWORD, result)


def test_pg_dump_reads_the_password_from_its_environment(
    checking_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    run = subprocess.run

    def recorded(command: list, **options: object) -> subprocess.CompletedProcess:
        calls.append((command, options.get("env") or {}))
        return run(command, **options)

    monkeypatch.setattr(subprocess, "run", recorded)
    dump_database(url_with(PASSWORD, f"/{USER}?host={checking_socket}"), tmp_path / "backup.dump")
    command, environment = next(call for call in calls if "--format=custom" in call[0])
    assert not any(form in " ".join(command) for form in (PASSWORD, quote(PASSWORD, safe="")))
    assert environment["PGPASSWORD"] == PASSWORD


@pytest.mark.parametrize("password", ["pa@ss-Xyzw-5521", "pa/ss-Xyzw-5521"])
def test_an_unencoded_at_or_slash_is_refused_without_a_piece_of_the_password(
    password: str, env: dict[str, str]
) -> None:
    """libpq would take what follows the @ or / for the host and quote it in its error."""
    env = dict(env, DATABASE_URL=f"postgresql://{USER}:{password}@127.0.0.1:{free_port()}/artsearch")
    result = run_artsearch(["db", "migrate"], env)
    assert_one_line_error(result, "percent-encoded")
    assert "ss-Xyzw-5521" not in result.stderr + result.stdout


@pytest.mark.parametrize("url", ["mysql://artsearch:Qx7-secret-881@db.example/artsearch", "artsearch:Qx7-secret-881"])
def test_what_is_not_a_connection_url_is_refused_without_quoting_it(url: str, env: dict[str, str]) -> None:
    """libpq's own error quotes the whole string (it was a traceback)."""
    result = run_artsearch(["db", "migrate"], dict(env, DATABASE_URL=url))
    assert_one_line_error(result, "not a connection URL", "postgresql://USER:PASSWORD@HOST:PORT/DATABASE")
    assert "Qx7-secret-881" not in result.stderr + result.stdout


def test_every_form_of_a_password_is_hidden() -> None:
    encoded = "postgresql://u:Sekr%40t-Pw%3A4471@db.example:5432/artsearch"
    message = f"at {encoded}, or 'Sekr@t-Pw:4471' as libpq reads it"
    assert redact(message, encoded) == "at postgresql://u:***@db.example:5432/artsearch, or '***' as libpq reads it"
    assert redact("password=s3cret-77 host=db", "host=db password=s3cret-77") == "password=*** host=db"
    assert redact("?password=s3cret-77", "postgresql://u@db/a?password=s3cret-77") == "?password=***"
    embedded = "postgresql://postgres:@/postgres?host=/tmp/aspg/pgdata"  # no password: nothing to hide
    assert redact(embedded, embedded) == embedded
    assert redact("nothing to hide", None) == "nothing to hide"
