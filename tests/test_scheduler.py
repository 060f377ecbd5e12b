"""Scheduled runs fire on their cron expression and never overlap on one database."""

import threading

import psycopg

from backend.store.status import collection_status
from etl.scheduler import RUN_LOCK_KEY, run_exclusively, run_schedule


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


def test_two_schedulers_fire_every_minute_without_overlap(cli_env: dict[str, str], db_url: str) -> None:
    """Two `artsearch schedule` processes on one database: the minute fires, exactly one run does the work."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    from tests.conftest import FIXTURES

    artsearch = str(Path(sys.executable).parent / "artsearch")
    command = [artsearch, "schedule", "--cron", "* * * * *", "folder", "--path", str(FIXTURES / "images")]
    schedulers = [subprocess.Popen(command, env=cli_env, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            runs = recent_runs(db_url)
            if len(runs) >= 2 and all(run["status"] != "running" for run in runs):
                break
            time.sleep(1)
    finally:
        for scheduler in schedulers:
            scheduler.terminate()
            scheduler.wait(timeout=30)
    statuses = sorted(run["status"] for run in recent_runs(db_url))
    assert statuses[:2] == ["skipped", "succeeded"], statuses
    with psycopg.connect(db_url) as conn:
        embedded = conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
        started, finished = conn.execute(
            "SELECT started_at, finished_at FROM runs WHERE status = 'succeeded' ORDER BY id LIMIT 1"
        ).fetchone()
        skipped_at = conn.execute("SELECT started_at FROM runs WHERE status = 'skipped' LIMIT 1").fetchone()[0]
    assert embedded == len(list((FIXTURES / "images").glob("*.jpg")))
    # the second scheduler fired at the same minute, while the first one held the lock
    assert abs(skipped_at - started).total_seconds() < 30 and started < finished
