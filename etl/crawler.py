"""The crawler: a source's partitions spread over spawned worker processes, each crawling its partitions
with async HTTP and committing every page together with its partition's checkpoint."""

import asyncio
import json
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import psycopg

from backend.database import connect
from backend.errors import ArtsearchError
from backend.settings import Settings
from backend.store.artworks import load_checkpoints, record_failure, save_page, start_fresh_pass
from backend.store.local_folders import register_local_folder
from backend.store.schema import require_schema
from etl.http import HttpClient, RetryPolicy, classify, describe, detail_of, explain
from etl.sources.base import Partition, Source
from etl.workers import SPAWN, Report, run_workers
from etl.workers import Progress as WorkerProgress

MAX_PARTITIONS_IN_FLIGHT = 4  # per worker process; each holds one database connection


@dataclass(frozen=True)
class CrawlOptions:
    """How hard to crawl: per-host rate and concurrency (for all processes together), retries, limits."""

    processes: int
    rate: float | None  # requests/s per host over all processes; None: unlimited
    concurrency: int  # requests in flight per host and process
    timeout_s: float
    user_agent: str
    policy: RetryPolicy
    limit: int | None = None

    @classmethod
    def for_source(cls, source: Source, settings: Settings, *, limit: int | None = None) -> "CrawlOptions":
        """The source's polite defaults unless the settings (ARTSEARCH_CRAWL_*) override them."""
        rate = source.rate if settings.crawl_rate is None else settings.crawl_rate
        return cls(
            processes=settings.crawl_processes,
            rate=rate or None,
            concurrency=settings.crawl_concurrency or source.concurrency,
            timeout_s=settings.crawl_timeout_s,
            user_agent=settings.user_agent,
            policy=RetryPolicy(settings.crawl_max_attempts, settings.crawl_backoff_s, settings.crawl_max_backoff_s),
            limit=limit,
        )

    def client(self) -> HttpClient:
        """The HTTP client of one process: its share of the per-host rate."""
        rate = self.rate / self.processes if self.rate else None
        return HttpClient(
            rate=rate,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            user_agent=self.user_agent,
            policy=self.policy,
        )


@dataclass
class CrawlSummary:
    """What a crawl did, added up over its workers."""

    source: str
    records: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    failures: int = 0
    retries: int = 0
    pages: int = 0
    partitions: int = 0
    partitions_left: int = 0
    seconds: float = 0.0
    crashes: list[str] = field(default_factory=list)

    def add(self, event: dict[str, Any]) -> None:
        """Fold one worker event into the totals."""
        for name in (
            "records",
            "inserted",
            "updated",
            "unchanged",
            "deleted",
            "skipped",
            "failures",
            "retries",
            "pages",
        ):
            setattr(self, name, getattr(self, name) + event.get(name, 0))

    def line(self) -> str:
        """The one-line summary printed at the end of a crawl."""
        rate = self.records / self.seconds if self.seconds else 0.0
        left = (
            f"; {self.partitions_left} of {self.partitions} partitions left: run again to resume"
            if self.partitions_left
            else ""
        )
        return (
            f"crawled {self.source}: {self.records} records ({self.inserted} new, {self.updated} changed, "
            f"{self.unchanged} unchanged, {self.deleted} deleted), {self.skipped} skipped, {self.failures} failures, "
            f"{self.retries} retries, {self.pages} pages in {self.seconds:.1f}s ({rate:.0f} records/s){left}"
        )


def crawl(source: Source, db_url: str, options: CrawlOptions, *, show_progress: bool = True) -> CrawlSummary:
    """Crawl a source into the artworks table, resuming an interrupted pass or starting a fresh one."""
    started = time.monotonic()
    partitions = asyncio.run(_plan(source, options))
    with connect(db_url) as conn:
        require_schema(conn)
        if source.local_root is not None:
            register_local_folder(conn, source.local_root)
        todo = _resume_points(conn, source.name, partitions)
    summary = CrawlSummary(source.name, partitions=len(partitions))
    if todo:
        _run_workers(source, db_url, options, todo, summary, show_progress)
    with connect(db_url) as conn:
        checkpoints = load_checkpoints(conn, source.name)
    summary.partitions_left = sum(1 for p in partitions if not (p.key in checkpoints and checkpoints[p.key].done))
    summary.seconds = time.monotonic() - started
    return summary


async def _plan(source: Source, options: CrawlOptions) -> list[Partition]:
    async with options.client() as client:
        try:
            return await source.partitions(client)
        except Exception as exc:
            raise ArtsearchError(f"cannot list {source.name} at {source.base_url}: {explain(exc)}") from exc


def _resume_points(conn: psycopg.Connection, source: str, partitions: list[Partition]) -> list[tuple[Partition, dict]]:
    """Unfinished partitions with the cursor to resume from; a fully finished pass starts over."""
    checkpoints = load_checkpoints(conn, source)
    keys = [p.key for p in partitions]
    if keys and all(key in checkpoints and checkpoints[key].done for key in keys):
        start_fresh_pass(conn, source, keys)
        checkpoints = {}
    return [
        (p, checkpoints[p.key].cursor if p.key in checkpoints else p.cursor)
        for p in partitions
        if not (p.key in checkpoints and checkpoints[p.key].done)
    ]


@dataclass(frozen=True)
class CrawlJob:
    """What every worker process of one crawl shares: the work list and the cross-process counters."""

    source: Source
    db_url: str
    options: CrawlOptions
    todo: list[tuple[Partition, dict]]
    next_partition: Synchronized  # index of the next unclaimed partition in todo
    stored: Synchronized  # records stored so far, for --limit over all processes


def _run_workers(
    source: Source,
    db_url: str,
    options: CrawlOptions,
    todo: list[tuple[Partition, dict]],
    summary: CrawlSummary,
    show_progress: bool,
) -> None:
    """Spawn the workers, show their progress, wait for them."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    job = CrawlJob(source, db_url, options, todo, SPAWN.Value("i", 0), SPAWN.Value("q", 0))
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[speed]:.0f} records/s · pages {task.fields[pages]} · "
            "retries {task.fields[retries]} · errors {task.fields[errors]}"
        ),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=Console(stderr=True), disable=not show_progress) as progress:
        task = progress.add_task(f"crawl {source.name}", total=options.limit, speed=0.0, pages=0, retries=0, errors=0)

        def on_page(event: WorkerProgress) -> None:
            summary.add(event.payload)
            progress.update(
                task,
                completed=summary.records,
                speed=summary.records / max(time.monotonic() - started, 1e-6),
                pages=summary.pages,
                retries=summary.retries,
                errors=summary.failures,
            )

        workers = max(1, min(options.processes, len(todo)))
        outcome = run_workers(worker_main, [(job,)] * workers, name=f"crawl-{source.name}", on_progress=on_page)
    if outcome.interrupted:
        raise KeyboardInterrupt  # the partitions keep their checkpoints: the next crawl resumes them
    summary.crashes.extend(f"crawl-{source.name}-{i}: {message}" for i, message in sorted(outcome.crashes.items()))


def worker_main(job: CrawlJob, report: Report) -> None:
    """A worker process: claim partitions one by one until none is left; report every page."""
    asyncio.run(_worker(job, report))


class _Reporter:
    """Sends page counts to the main process, with the retries counted since the last report."""

    def __init__(self, client: HttpClient, report: Report) -> None:
        self.client = client
        self.report = report
        self.reported_retries = 0

    def send(self, **counts: int) -> None:
        retries = self.client.retries - self.reported_retries
        self.reported_retries += retries
        self.report({**counts, "retries": retries})


async def _worker(job: CrawlJob, report: Report) -> None:
    async with job.options.client() as client:
        reporter = _Reporter(client, report)
        lanes = min(job.options.concurrency, MAX_PARTITIONS_IN_FLIGHT)
        await asyncio.gather(*(_lane(job, client, reporter) for _ in range(lanes)))
        reporter.send()


async def _lane(job: CrawlJob, client: HttpClient, reporter: _Reporter) -> None:
    """One partition at a time, on its own database connection."""
    conn = await asyncio.to_thread(connect, job.db_url)
    try:
        while (index := _claim(job.next_partition, len(job.todo))) is not None:
            partition, cursor = job.todo[index]
            await _crawl_partition(job, partition, cursor, client, conn, reporter)
    finally:
        conn.close()


def _claim(next_partition: Synchronized, count: int) -> int | None:
    """The next unclaimed partition's index, shared by all workers (whoever is free takes the next one)."""
    with next_partition.get_lock():
        index = next_partition.value
        if index >= count:
            return None
        next_partition.value += 1
        return index


def _reserve(stored: Synchronized, wanted: int, limit: int | None) -> int:
    """How many of wanted records may still be stored under --limit (all processes together)."""
    with stored.get_lock():
        allowed = wanted if limit is None else max(0, min(wanted, limit - stored.value))
        stored.value += allowed
        return allowed


def _limit_reached(stored: Synchronized, limit: int | None) -> bool:
    return limit is not None and stored.value >= limit


async def _crawl_partition(
    job: CrawlJob,
    partition: Partition,
    cursor: dict[str, Any],
    client: HttpClient,
    conn: psycopg.Connection,
    reporter: _Reporter,
) -> None:
    """Page by page from cursor; each page's records and the next cursor are committed together."""
    source, options, stored = job.source, job.options, job.stored
    parent = mp.parent_process()
    while not _limit_reached(stored, options.limit) and (parent is None or parent.is_alive()):
        try:
            page = source.screened(await source.fetch_page(client, partition, cursor))
        except Exception as exc:
            # The partition stays unfinished at this cursor: the next run tries this page again.
            reason = describe(exc)
            if classify(exc) == "transient":
                reason = f"page failed after {options.policy.max_attempts} attempts: {reason}"
            await asyncio.to_thread(
                record_failure, conn, source.name, partition.key, json.dumps(cursor), reason, detail_of(exc)
            )
            reporter.send(failures=1)
            return
        allowed = _reserve(stored, len(page.records), options.limit)
        complete = allowed == len(page.records)
        # A page stored only in part (--limit) keeps the checkpoint where it was, so nothing is skipped later.
        next_cursor = (page.next_cursor or cursor) if complete else None
        result = await asyncio.to_thread(
            save_page,
            conn,
            source.name,
            partition.key,
            page.records[:allowed],
            page.failures,
            next_cursor,
            complete and page.next_cursor is None,
        )
        reporter.send(
            records=allowed,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            deleted=result.deleted,
            skipped=page.skipped,
            failures=len(page.failures),
            pages=1,
        )
        if page.next_cursor is None or not complete:
            return
        cursor = page.next_cursor
