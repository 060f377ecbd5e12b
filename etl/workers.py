"""Worker processes, for the crawler and the embedding distributor alike: spawned fresh, their reports gathered
as they arrive, a worker that dies without a word noticed, and Ctrl-C or SIGTERM passed on to every one."""

import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from backend.errors import ArtsearchError

SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch, event loop or connection
POLL_S = 0.5  # how often a quiet parent looks for dead workers
Report = Callable[[Any], None]


@dataclass(frozen=True)
class Progress:
    """Something a worker reported while it runs."""

    worker: int
    payload: Any


@dataclass(frozen=True)
class Finished:
    """A worker's return value."""

    worker: int
    result: Any


@dataclass(frozen=True)
class Crashed:
    """A worker that raised, or died without reporting (killed, or crashed hard)."""

    worker: int
    message: str


@dataclass
class Outcome:
    """How every worker ended: results and crashes by worker index; interrupted when a stop signal came."""

    results: dict[int, Any] = field(default_factory=dict)
    crashes: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False


def run_workers(
    target: Callable[..., Any],
    args: Sequence[tuple[Any, ...]],
    *,
    name: str,
    on_progress: Callable[[Progress], None],
) -> Outcome:
    """Run `target(*args[i], report)` in one spawned process per entry of args until every one has ended;
    `report(payload)` in a worker reaches `on_progress` here. Module-level targets only (they are pickled)."""
    events = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_worker_main, args=(target, worker_args, index, events), name=f"{name}-{index}")
        for index, worker_args in enumerate(args)
    ]
    for process in processes:
        process.start()
    outcome = Outcome()
    silent: set[int] = set()
    with _ForwardSignals(processes) as forwarding:
        while len(outcome.results) + len(outcome.crashes) < len(processes):
            try:
                event = events.get(timeout=POLL_S)
            except queue.Empty:
                _notice_dead(processes, outcome, silent)
                continue
            if isinstance(event, Progress):
                on_progress(event)
            elif isinstance(event, Finished):
                outcome.results[event.worker] = event.result
            else:
                outcome.crashes[event.worker] = event.message
        outcome.interrupted = forwarding.forwarded
    for process in processes:
        process.join()
    return outcome


def _notice_dead(processes: list[BaseProcess], outcome: Outcome, silent: set[int]) -> None:
    """A worker gone and silent for a whole interval (its last words had time to arrive) is recorded as crashed."""
    for index, process in enumerate(processes):
        if process.exitcode is None or index in outcome.results or index in outcome.crashes:
            continue
        if index in silent:
            outcome.crashes[index] = f"exited with code {process.exitcode} before reporting"
        silent.add(index)


def _worker_main(target: Callable[..., Any], args: tuple[Any, ...], index: int, events: Any) -> None:
    """In the worker: Ctrl-C reaches it through the parent (as SIGTERM), so it ignores SIGINT itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = target(*args, lambda payload: events.put(Progress(index, payload)))
    except ArtsearchError as exc:
        events.put(Crashed(index, str(exc)))
    except Exception as exc:
        events.put(Crashed(index, f"{type(exc).__name__}: {exc}"))
    else:
        events.put(Finished(index, result))


class _ForwardSignals:
    """SIGINT/SIGTERM to the parent become SIGTERM to every worker: the first asks them to stop, a second aborts."""

    def __init__(self, processes: list[BaseProcess]) -> None:
        self.processes = processes
        self.previous: dict[int, Any] = {}
        self.forwarded = False

    def _forward(self, *_: Any) -> None:
        self.forwarded = True
        for process in self.processes:
            if process.is_alive():
                process.terminate()

    def __enter__(self) -> "_ForwardSignals":
        if threading.current_thread() is not threading.main_thread():
            return self  # only the main thread may handle signals; a caller on another thread stops workers itself
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._forward)
        return self

    def __exit__(self, *_: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
