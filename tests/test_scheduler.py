"""Scheduled runs fire on their cron expression and never overlap on one database."""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

import etl.scheduler
from artsearch import cli
from backend.settings import Settings
from backend.store.runs import RUN_LOCK_KEY
from backend.store.status import collection_status
from etl.scheduler import run_exclusively, run_schedule
from tests.helpers import FIXTURE_IMAGES, FIXTURES, count, wait_until

HALF_PAST_NOON = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)


class FakeClock:
    """A clock that jumps ahead by whatever a wait asks for, so a cron minute passes at once; `before_waking`,
    if given, holds the wake-up back (in real time) until another scheduler has reached a state."""

    def __init__(self, start: datetime, before_waking: Callable[[], bool] | None = None) -> None:
        self.current = start
        self.before_waking = before_waking
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.current

    def wait(self, seconds: float) -> bool:
        if self.before_waking is not None:
            wait_until(self.before_waking)
        self.waits.append(seconds)
        self.current += timedelta(seconds=seconds)
        return False  # never asked to stop


def recent_runs(url: str) -> list[dict]:
    with psycopg.connect(url) as conn:
        return collection_status(conn)["runs"]


def test_run_is_recorded_with_its_summary(db_url: str) -> None:
    outcome = run_exclusively(db_url, ["folder"], "manual", lambda: {"embedded": 3})
    assert outcome.status == "succeeded"
    [run] = recent_runs(db_url)
    assert run["status"] == "succeeded" and run["summary"] == {"embedded": 3} and run["finished_at"]


def test_a_second_run_is_skipped_while_one_holds_the_lock(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (RUN_LOCK_KEY,))
        calls = []
        outcome = run_exclusively(db_url, ["aic"], "schedule", lambda: calls.append(1) or {})
    assert outcome.status == "skipped" and calls == []
    assert recent_runs(db_url)[0]["summary"] == {"reason": "another run was in progress"}


def test_a_killed_run_is_marked_failed_by_the_next(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO runs (trigger, sources, status) VALUES ('schedule', '{aic}', 'running')")
    run_exclusively(db_url, ["aic"], "schedule", lambda: {})
    statuses = [r["status"] for r in recent_runs(db_url)]
    assert statuses == ["succeeded", "failed"]


def test_a_failing_job_is_recorded_as_failed(db_url: str) -> None:
    def job() -> dict:
        raise RuntimeError("museum API down")

    outcome = run_exclusively(db_url, ["met"], "schedule", job)
    assert outcome.status == "failed" and outcome.summary == {"error": "museum API down"}


def test_schedule_stops_when_asked() -> None:
    stop = threading.Event()
    stop.set()
    assert run_schedule("* * * * *", lambda: None, stop=stop) == 0


def test_schedule_fires_on_each_cron_minute_and_a_long_run_skips_the_ones_it_missed() -> None:
    clock = FakeClock(HALF_PAST_NOON)
    fired_at = []

    def fire() -> None:
        fired_at.append(clock.now())
        if len(fired_at) == 2:
            clock.current += timedelta(seconds=90)  # this run outlasts the interval

    assert run_schedule("* * * * *", fire, max_fires=3, now=clock.now, wait=clock.wait) == 3
    assert fired_at == [HALF_PAST_NOON.replace(minute=m, second=0) for m in (1, 2, 4)]
    assert clock.waits == [30, 60, 30]


def test_two_schedulers_fire_every_minute_without_overlap(
    settings: Settings, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `artsearch schedule`s on one database, each on a fake clock: the minute fires, one run does the work."""

    def a_run_started() -> bool:
        return count(db_url, "SELECT count(*) FROM runs") > 0

    # Both wake at 12:01; the second once the first one's run has started, as it would a moment later.
    clocks = {"first": FakeClock(HALF_PAST_NOON), "second": FakeClock(HALF_PAST_NOON, before_waking=a_run_started)}

    def one_minute_on_a_fake_clock(expression: str, fire: Callable[[], object]) -> int:
        clock = clocks[threading.current_thread().name]
        return run_schedule(expression, fire, max_fires=1, now=clock.now, wait=clock.wait)

    def schedule(name: str) -> None:
        threading.current_thread().name = name
        cli.schedule_command(["folder"], cron="* * * * *", path=FIXTURES / "images")

    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr(etl.scheduler, "run_schedule", one_minute_on_a_fake_clock)
    with ThreadPoolExecutor(max_workers=len(clocks)) as pool:
        for scheduler in [pool.submit(schedule, name) for name in clocks]:
            scheduler.result(timeout=150)

    statuses = sorted(run["status"] for run in recent_runs(db_url))
    assert statuses[:2] == ["skipped", "succeeded"], statuses
    with psycopg.connect(db_url) as conn:
        embedded = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        started, finished = conn.execute(
            "SELECT started_at, finished_at FROM runs WHERE status = 'succeeded' ORDER BY id LIMIT 1"
        ).fetchone()
        skipped_at = conn.execute("SELECT started_at FROM runs WHERE status = 'skipped' LIMIT 1").fetchone()[0]
    assert embedded == len(FIXTURE_IMAGES)
    # the second scheduler fired at the same minute, while the first one held the lock
    assert abs(skipped_at - started).total_seconds() < 30 and started < finished
