"""Bounded queues between stages: a full queue blocks its producer (back-pressure), an abort wakes everyone."""

import queue
import threading
from typing import Any

END = object()  # sent once by a stage after its last item
POLL_S = 0.1


class Aborted(Exception):
    """The run is being torn down: stop at once and let the runner release what is in flight."""


class Channel:
    """A bounded queue whose blocking put and get give up when the run aborts."""

    def __init__(self, name: str, maxsize: int, abort: threading.Event) -> None:
        self.name = name
        self.abort = abort
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)

    def put(self, item: Any) -> None:
        """Wait for room; raise Aborted if the run aborts meanwhile."""
        while True:
            if self.abort.is_set():
                raise Aborted
            try:
                self._queue.put(item, timeout=POLL_S)
                return
            except queue.Full:
                continue

    def get(self, timeout: float | None = None) -> Any:
        """Wait for an item (at most `timeout` seconds, then queue.Empty); raise Aborted if the run aborts."""
        waited = 0.0
        while True:
            if self.abort.is_set():
                raise Aborted
            try:
                return self._queue.get(timeout=POLL_S)
            except queue.Empty:
                waited += POLL_S
                if timeout is not None and waited >= timeout:
                    raise

    def depth(self) -> int:
        """Items waiting now."""
        return self._queue.qsize()
