"""Decides where the work runs: in this process for one worker, else in spawned worker processes that share
the queue in the database (as workers on other machines would) and report their progress back here."""

import multiprocessing
import os
import queue
import signal
from collections.abc import Callable
from dataclasses import replace
from functools import reduce
from typing import Any

from backend.errors import ArtsearchError
from backend.settings import Settings
from etl.pipeline.stats import EmbedSummary

Worker = Callable[..., EmbedSummary]
ProgressCallback = Callable[[EmbedSummary], None]
REPORT_INTERVAL_S = 0.5


def distribute(
    worker: Worker, settings: Settings, options: Any, workers: int, on_progress: ProgressCallback
) -> EmbedSummary:
    """Run `worker(settings, options, on_progress)` once here, or once per process for workers > 1."""
    if workers < 1:
        raise ArtsearchError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        return worker(settings, options, on_progress)
    return _run_processes(worker, settings, options, workers, on_progress)


def share_of(total: int | None, workers: int, index: int) -> int | None:
    """Worker `index`'s part of a limit split as evenly as possible."""
    if total is None:
        return None
    return total // workers + (1 if index < total % workers else 0)


def _run_processes(
    worker: Worker, settings: Settings, options: Any, workers: int, on_progress: ProgressCallback
) -> EmbedSummary:
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch or DB state
    reports = context.Queue()
    threads = options.torch_threads or max(1, len(os.sched_getaffinity(0)) // workers)
    processes = [
        context.Process(
            target=_worker_process,
            args=(
                worker,
                settings,
                replace(options, limit=share_of(options.limit, workers, i), torch_threads=threads),
                i,
                reports,
            ),
            name=f"embed-worker-{i}",
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    latest: dict[int, EmbedSummary] = {}
    finished: dict[int, EmbedSummary] = {}
    errors: dict[int, str] = {}
    silent: set[int] = set()
    with _forward_signals(processes):
        while len(finished) + len(errors) < workers:
            try:
                kind, index, payload = reports.get(timeout=REPORT_INTERVAL_S)
            except queue.Empty:
                # A worker gone quiet and dead for a whole interval was killed or crashed hard: its leases
                # return its rows to the pool later.
                for i, process in enumerate(processes):
                    if process.exitcode is not None and i not in finished and i not in errors:
                        if i in silent:
                            errors[i] = f"exited with code {process.exitcode} before reporting"
                        silent.add(i)
                continue
            if kind == "error":
                errors[index] = payload
                continue
            latest[index] = payload
            if kind == "done":
                finished[index] = payload
            on_progress(reduce(EmbedSummary.merge, latest.values()))
    for process in processes:
        process.join()
    if errors:
        raise ArtsearchError("; ".join(f"embed worker {i}: {message}" for i, message in sorted(errors.items())))
    return reduce(EmbedSummary.merge, finished.values())


def _worker_process(worker: Worker, settings: Settings, options: Any, index: int, reports: Any) -> None:
    """A worker process: Ctrl-C reaches it through the parent (as SIGTERM), so it ignores SIGINT itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        summary = worker(
            settings,
            options,
            lambda snapshot: reports.put(("progress", index, snapshot)),
            (signal.SIGTERM,),
        )
    except ArtsearchError as exc:
        reports.put(("error", index, str(exc)))
    except Exception as exc:
        reports.put(("error", index, f"{type(exc).__name__}: {exc}"))
    else:
        reports.put(("done", index, summary))


class _forward_signals:
    """SIGINT/SIGTERM to the parent become SIGTERM to every worker: the first stops them, a second aborts."""

    def __init__(self, processes: list[multiprocessing.Process]) -> None:
        self.processes = processes
        self.previous: dict[int, Any] = {}

    def _forward(self, *_: Any) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._forward)

    def __exit__(self, *_: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
