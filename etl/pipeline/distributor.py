"""Decides where the work runs: in this process for one worker, else in spawned worker processes that share
the queue in the database (as workers on other machines would) and report their progress back here."""

import os
import signal
from collections.abc import Callable
from dataclasses import replace
from functools import reduce
from typing import Any

from backend.errors import ArtsearchError
from backend.settings import Settings
from etl.pipeline.stats import EmbedSummary
from etl.workers import Progress, Report, run_workers

Worker = Callable[..., EmbedSummary]
ProgressCallback = Callable[[EmbedSummary], None]


def distribute(
    worker: Worker, settings: Settings, options: Any, workers: int, on_progress: ProgressCallback
) -> EmbedSummary:
    """Run `worker(settings, options, on_progress)` once here, or once per process for workers > 1."""
    if workers < 1:
        raise ArtsearchError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        return worker(settings, options, on_progress)
    threads = options.torch_threads or max(1, len(os.sched_getaffinity(0)) // workers)
    shares = [
        replace(options, limit=share_of(options.limit, workers, i), torch_threads=threads) for i in range(workers)
    ]
    latest: dict[int, EmbedSummary] = {}

    def progress(event: Progress) -> None:
        latest[event.worker] = event.payload
        on_progress(reduce(EmbedSummary.merge, latest.values()))

    outcome = run_workers(
        _embed_in_worker, [(worker, settings, share) for share in shares], name="embed-worker", on_progress=progress
    )
    if outcome.crashes:
        raise ArtsearchError(
            "; ".join(f"embed worker {i}: {message}" for i, message in sorted(outcome.crashes.items()))
        )
    return reduce(EmbedSummary.merge, outcome.results.values())


def share_of(total: int | None, workers: int, index: int) -> int | None:
    """Worker `index`'s part of a limit split as evenly as possible."""
    if total is None:
        return None
    return total // workers + (1 if index < total % workers else 0)


def _embed_in_worker(worker: Worker, settings: Settings, options: Any, report: Report) -> EmbedSummary:
    """One worker process's run; SIGTERM (forwarded by the parent) stops it cleanly."""
    return worker(settings, options, report, (signal.SIGTERM,))
