"""The `artsearch` command line: the composition root, thin typer commands over the backend and the ETL.

Every option defaults to unset and falls back to the settings (ARTSEARCH_*), which own every default.
"""

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from backend.errors import ArtsearchError
from backend.settings import Settings, get_settings
from etl.sources import SOURCE_NAMES

app = typer.Typer(
    help="Semantic search over museum collections.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database: embedded Postgres, migrations and backups.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)

# Options shared by several commands, defined once so their meaning and help read the same everywhere.
SourceArg = Annotated[str, typer.Argument(help=f"one of {SOURCE_NAMES}")]
SourcesArg = Annotated[list[str], typer.Argument(help=f"one or more of {SOURCE_NAMES}")]
DumpFileArg = Annotated[Path, typer.Argument(help="the dump file (pg_dump's custom format)")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="store at most N records")]
SinceOpt = Annotated[str | None, typer.Option(help="only what changed since DATE (YYYY-MM-DD[THH:MM:SS])")]
ProcessesOpt = Annotated[int | None, typer.Option(min=1, help="crawl worker processes [ARTSEARCH_CRAWL_PROCESSES]")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="another host for the source (a mirror or replica)")]
PathOpt = Annotated[Path | None, typer.Option(help="the folder source's directory (with metadata.csv)")]
BatchSizeOpt = Annotated[int | None, typer.Option(min=1, help="images per model batch [ARTSEARCH_EMBED_BATCH_SIZE]")]
WorkersOpt = Annotated[
    int | None, typer.Option(min=1, help="embed worker processes sharing the work [ARTSEARCH_EMBED_WORKERS]")
]
DeviceOpt = Annotated[str | None, typer.Option(help="auto, cpu or cuda [ARTSEARCH_DEVICE]")]
HostOpt = Annotated[str | None, typer.Option(help="interface to listen on [ARTSEARCH_HOST]")]
PortOpt = Annotated[int | None, typer.Option(min=1, max=65535, help="TCP port [ARTSEARCH_PORT]")]


def _settings(**chosen: Any) -> Settings:
    """The settings with what was given on the command line instead (unset options keep the settings' values)."""
    return get_settings().model_copy(update={key: value for key, value in chosen.items() if value is not None})


def _parse_since(since: str | None) -> datetime | None:
    """--since as a datetime, or a clear error."""
    try:
        return datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise ArtsearchError(f"--since {since!r} is not a date (YYYY-MM-DD)") from exc


def _url(settings: Settings) -> str:
    from backend.database import database_url

    return database_url(settings)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded Postgres under ARTSEARCH_HOME (no-op with DATABASE_URL set)."""
    from backend.database import redact

    url = _url(get_settings())
    console.print(f"database ready: {redact(url, url)}")


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


@db_app.command("dump")
def db_dump(file: DumpFileArg) -> None:
    """Back the database up into FILE with the server's own pg_dump."""
    from backend.backup import dump_database

    dump_database(_url(get_settings()), file)
    console.print(f"database dumped to {file}")


@db_app.command("restore")
def db_restore(file: DumpFileArg) -> None:
    """Replace everything the database holds with a dump from `artsearch db dump`, in one transaction."""
    from backend.backup import restore_database

    restore_database(_url(get_settings()), file)
    console.print(f"database restored from {file}")


@app.command("crawl")
def crawl_command(
    source: SourceArg,
    limit: LimitOpt = None,
    since: SinceOpt = None,
    processes: ProcessesOpt = None,
    base_url: BaseUrlOpt = None,
    path: PathOpt = None,
) -> None:
    """Harvest a museum source into the artworks table; an interrupted crawl resumes where it stopped."""
    from etl.crawler import CrawlOptions, crawl
    from etl.sources import make_source

    adapter = make_source(source, base_url=base_url, since=_parse_since(since), path=path)
    settings = _settings(crawl_processes=processes)
    summary = crawl(adapter, _url(settings), CrawlOptions.for_source(adapter, settings, limit=limit))
    print(summary.line())
    if summary.crashes:
        raise ArtsearchError(f"crawl workers failed: {'; '.join(summary.crashes)}")


@app.command("status")
def status_command(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Per source: artworks, embedded, pending, failed (with reasons); and the current map projection."""
    import json

    from rich.table import Table

    from backend.database import connect
    from backend.store.status import collection_status

    with connect(_url(get_settings())) as conn:
        status = collection_status(conn)
    if as_json:
        print(json.dumps(status, indent=2))
        return
    table = Table(title="artsearch status")
    for column in ("source", "artworks", "embedded", "pending", "failed", "failures"):
        table.add_column(column, justify="left" if column in ("source", "failures") else "right")
    for name, counts in status["sources"].items():
        reasons = "\n".join(f"{count} × {reason}" for reason, count in counts["failures"].items())
        table.add_row(name, *(str(counts[k]) for k in ("artworks", "embedded", "pending", "failed")), reasons)
    out = Console()
    out.print(table)
    if projection := status["projection"]:
        out.print(
            f"projection #{projection['id']}: {projection['method']}, {projection['n_fitted']} artworks fitted, "
            f"{projection['created_at']}"
        )
    else:
        out.print("projection: none yet (run `artsearch project`)")
    server = status["server"]
    out.print(
        f"server: shared_buffers {server['shared_buffers']}, maintenance_work_mem {server['maintenance_work_mem']}, "
        f"HNSW index {server['hnsw_index_bytes'] / 2**20:.0f} MB"
    )


@app.command("embed")
def embed_command(
    batch_size: BatchSizeOpt = None,
    limit: Annotated[int | None, typer.Option(min=1, help="embed at most N artworks")] = None,
    device: DeviceOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Embed pending artworks with CLIP; safe to run in many processes at once, and to kill and rerun."""
    from etl.pipeline.runner import embed_pending

    settings = _settings(embed_batch_size=batch_size, embed_workers=workers, device=device)
    summary = embed_pending(settings, limit=limit, show_progress=True)
    print(summary.line())
    if summary.interrupted:
        sys.exit(130)


@app.command("project")
def project_command(
    method: Annotated[str, typer.Option(help="pca (default; places new artworks exactly) or umap")] = "pca",
) -> None:
    """Fit the global 2-D map on the embedded collection and store every artwork's (x, y)."""
    from backend.projection import fit_projection

    summary = fit_projection(get_settings(), method)
    console.print(
        f"projection #{summary.projection_id} ({summary.method}): fitted on {summary.n_fitted} artworks, "
        f"{summary.n_placed} placed in {summary.seconds:.1f}s"
    )


@app.command("thumbnails")
def thumbnails_command(
    limit: Annotated[int | None, typer.Option(min=1, help="look at most at N artworks")] = None,
) -> None:
    """Make the map thumbnails of works embedded before the pipeline made them (their images downloaded again)."""
    from etl.thumbnails import backfill_thumbnails

    print(backfill_thumbnails(get_settings(), limit).line())


@app.command("serve")
def serve_command(host: HostOpt = None, port: PortOpt = None) -> None:
    """Serve the search API and the web app (UI at /, API docs at /docs)."""
    _serve(_settings(host=host, port=port))


def _serve(settings: Settings) -> None:
    import uvicorn

    from backend.api.app import create_app
    from backend.database import connect
    from backend.store.schema import require_pgvector

    with connect(_url(settings)) as conn:  # one clear line here, not a lifespan traceback
        require_pgvector(conn, installed=True)
    console.print(f"serving on http://{settings.host}:{settings.port} (UI at /, API docs at /docs)")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command("run")
def run_command(
    source: SourceArg,
    limit: LimitOpt = None,
    since: SinceOpt = None,
    processes: ProcessesOpt = None,
    base_url: BaseUrlOpt = None,
    path: PathOpt = None,
    batch_size: BatchSizeOpt = None,
    workers: WorkersOpt = None,
    device: DeviceOpt = None,
) -> None:
    """Crawl, embed and project in one go; kept in the runs table and never alongside another run."""
    settings = _settings(crawl_processes=processes, embed_batch_size=batch_size, embed_workers=workers, device=device)
    _run_now(settings, [source], "manual", since=_parse_since(since), base_url=base_url, path=path, limit=limit)


def _run_now(
    settings: Settings,
    sources: list[str],
    trigger: str,
    *,
    since: datetime | None = None,
    base_url: str | None = None,
    path: Path | None = None,
    limit: int | None = None,
    show_progress: bool = True,
) -> None:
    """One guarded run of crawl → embed → project over `sources`; a failure or a clash is one clear line."""
    from backend.database import connect
    from backend.store.schema import require_schema
    from etl.run import run_source
    from etl.scheduler import last_success, run_exclusively
    from etl.sources import make_source

    url = _url(settings)
    with connect(url) as conn:
        require_schema(conn)  # a database never migrated is one line, not a missing-table error from the runs table

    def job() -> dict:
        summaries = {}
        for name in sources:
            # A scheduled run is incremental: it asks each source for what changed since its last good run.
            changed_since = since or (last_success(url, name) if trigger == "schedule" else None)
            adapter = make_source(name, base_url=base_url, since=changed_since, path=path)
            summaries[name] = run_source(settings, adapter, limit=limit, show_progress=show_progress)
        return summaries

    outcome = run_exclusively(url, sources, trigger, job)
    if outcome.status == "skipped":
        raise ArtsearchError("another run is in progress on this database (see `artsearch status`)")
    if outcome.status == "failed":
        raise ArtsearchError(f"run #{outcome.run_id} failed: {outcome.summary['error']}")
    for summary in outcome.summary.values():
        console.print(summary["projection"])
    console.print(f"run #{outcome.run_id} done")


@app.command("schedule")
def schedule_command(
    sources: SourcesArg,
    cron: Annotated[str, typer.Option(help="when to run, as a cron expression in UTC, e.g. '0 3 * * *'")],
    processes: ProcessesOpt = None,
    base_url: BaseUrlOpt = None,
    path: PathOpt = None,
    batch_size: BatchSizeOpt = None,
    workers: WorkersOpt = None,
) -> None:
    """Run incremental crawl → embed → project on a schedule; a run is skipped while another one holds the lock."""
    from etl.scheduler import run_schedule, validate_cron

    validate_cron(cron)
    settings = _settings(crawl_processes=processes, embed_batch_size=batch_size, embed_workers=workers)
    _url(settings)  # fail now, not at the first run, when the database is unreachable

    def fire() -> None:
        try:
            _run_now(settings, sources, "schedule", base_url=base_url, path=path, show_progress=False)
        except ArtsearchError as exc:  # one failed or skipped run must not stop the schedule
            console.print(f"[yellow]{exc}[/]", highlight=False)

    console.print(f"scheduled {', '.join(sources)} at '{cron}' (UTC); Ctrl+C stops")
    run_schedule(cron, fire)


@app.command("demo")
def demo_command(host: HostOpt = None, port: PortOpt = None) -> None:
    """The whole product offline on the bundled sample collection: what `make demo` runs."""
    from rich.panel import Panel

    from backend.clip_model import load_clip
    from backend.migrate import upgrade
    from etl.run import SAMPLE_COLLECTION
    from etl.sources.folder import FolderSource

    settings = _settings(host=host, port=port, allow_random_weights=True, crawl_processes=1)
    upgrade(_url(settings))
    model = load_clip(settings.model, device=settings.device, vision=False, allow_random=True, home=settings.home)
    if model.random_weights:
        console.print(
            Panel(
                f"Could not load {settings.model} (offline?), so the demo runs on RANDOM weights of the real "
                "CLIP ViT-B/32 architecture: search results are NOT meaningful.\nFor real results set "
                "ARTSEARCH_MODEL to a directory holding pretrained CLIP weights (save_pretrained layout).",
                title="RANDOM WEIGHTS",
                style="bold yellow",
            )
        )
        settings = settings.model_copy(update={"model": model.name})
    del model
    _run_now(settings, [FolderSource.name], "demo", path=SAMPLE_COLLECTION)
    _serve(settings)


def main() -> None:
    """Console entry point: user-facing errors as one line, not a traceback."""
    try:
        app()
    except ArtsearchError as exc:
        from backend.database import redact

        message = redact(str(exc), get_settings().database_url)  # whatever quoted it, DATABASE_URL's password stays
        console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except ValidationError as exc:  # a setting from the environment that does not parse
        for error in exc.errors():
            name = "ARTSEARCH_" + "_".join(str(part) for part in error["loc"]).upper()
            console.print(f"[bold red]error:[/] {name}: {error['msg']}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
