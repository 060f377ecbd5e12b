"""One thread for every torch call of a process (the load included). torch's CPU kernels run on an OpenMP thread
team that belongs to the calling thread: two calling threads means two teams on the same cores, and libgomp then
stops letting idle workers spin, so every parallel region pays a wake-up. One calling thread keeps one warm team
(a text query measured ~1.7x faster on 2 cores)."""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class ModelThread:
    """Runs callables one after another on the process's single model thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> "Future[T]":
        """Queue a call; its Future completes when the model thread has run it."""
        return self._executor.submit(fn, *args, **kwargs)

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a call on the model thread and wait for its result (or its exception)."""
        return self._executor.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        """Finish what is queued, then end the thread."""
        self._executor.shutdown(wait=True)
