"""The `artsearch` command line: thin typer commands over the ETL and backend modules."""

import sys
from typing import Annotated

import typer
from rich.console import Console

from backend.errors import ArtsearchError
from backend.settings import Settings, get_settings

app = typer.Typer(
    help="Semantic search over museum collections.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: embedded Postgres and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)

SOURCES = ("rijksmuseum", "aic", "met", "cleveland", "folder")


def _url(settings: Settings) -> str:
    from backend.database import database_url

    return database_url(settings)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded Postgres under ARTSEARCH_HOME (no-op with DATABASE_URL set)."""
    settings = get_settings()
    url = _url(settings)
    console.print(f"database ready: {url}")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres."""
    from backend.database import stop_embedded

    settings = get_settings()
    if settings.database_url:
        raise ArtsearchError("DATABASE_URL is set: that server is not ours to stop")
    stopped = stop_embedded(settings.pgdata)
    console.print("embedded Postgres stopped" if stopped else "embedded Postgres was not running")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded Postgres if needed)."""
    print(_url(get_settings()))


@db_app.command("migrate")
def db_migrate(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Upgrade the schema to the latest migration."""
    from backend.migrate import upgrade

    upgrade(_url(get_settings()), revision)
    console.print(f"schema at {revision}")


def main() -> None:
    """Console entry point: user-facing errors as one line, not a traceback."""
    try:
        app()
    except ArtsearchError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
