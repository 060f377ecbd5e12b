"""Query vectors for the API: texts through an LRU cache and micro-batches, uploads through the pipeline's
preprocessing. Every torch call runs on the model thread (see backend.model_thread), one at a time: concurrent
calls would only fight over the same cores, while one forward pass over the texts that queued up meanwhile costs
little more than over one of them."""

import asyncio
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np

from backend.clip_model import ClipModel
from backend.images import load_for_clip, normalise_batch
from backend.model_thread import ModelThread

MAX_TEXT_BATCH = 32


class QueryEmbedder:
    """Embeds search queries; texts that arrive together share one forward pass."""

    def __init__(self, load_model: Callable[[], ClipModel], text_cache_size: int) -> None:
        self._model_thread = ModelThread()
        self.model = self._model_thread.run(load_model)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = text_cache_size
        self._texts: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        # At most one drain of the texts waits on the model thread: with one queued per text, an upload (queued in
        # turn) waited behind every drain before it, and under steady text traffic each of those found new texts to
        # embed: the soak (benchmarks/soak.py) saw uploads starve while texts were answered.
        self._drain_lock = threading.Lock()
        self._drain_queued = False

    async def text(self, query: str) -> np.ndarray:
        """A text's unit vector (dim,), from the cache when asked before; awaited on the event loop, no thread held."""
        if query in self._cache:  # the cache is only touched on the event loop: no lock
            self._cache.move_to_end(query)
            return self._cache[query]
        future: Future = Future()
        self._texts.put((query, future))
        self._queue_drain()
        vector = await asyncio.wrap_future(future)
        self._cache[query] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector

    def image(self, data: bytes) -> np.ndarray:
        """An uploaded image's unit vector (dim,); ImageError when it cannot be decoded."""
        spec = self.model.preprocess_spec
        pixels = normalise_batch([load_for_clip(data, spec)], spec)  # decoding runs in the request's thread
        return self._model_thread.run(self.model.embed_pixels, pixels)[0]

    def close(self) -> None:
        """Finish what is queued and stop the model thread."""
        self._model_thread.close()

    def _queue_drain(self) -> None:
        """Have the model thread embed the waiting texts, unless a drain is queued already (it will take them)."""
        with self._drain_lock:
            if self._drain_queued:
                return
            self._drain_queued = True
        self._model_thread.submit(self._embed_waiting_texts)

    def _embed_waiting_texts(self) -> None:
        """On the model thread: embed every text waiting (up to a batch) together and hand out the vectors."""
        with self._drain_lock:
            self._drain_queued = False  # a text queued from here on queues the next drain
        batch: list[tuple[str, Future]] = []
        while len(batch) < MAX_TEXT_BATCH:
            try:
                text, future = self._texts.get_nowait()
            except queue.Empty:
                break
            if future.set_running_or_notify_cancel():  # False: its request went away meanwhile
                batch.append((text, future))
        if not self._texts.empty():  # more than a batch waited: the rest go next
            self._queue_drain()
        if not batch:  # every text waiting went away
            return
        try:
            vectors = self.model.embed_texts([text for text, _ in batch])
        except Exception as exc:  # every waiting request gets the error, not a hang
            for _, future in batch:
                future.set_exception(exc)
        else:
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)
