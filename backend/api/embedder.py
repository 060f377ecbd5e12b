"""Query vectors for the API: texts through an LRU cache and micro-batches, uploads through the pipeline's
preprocessing. One model call at a time: concurrent torch calls would only fight over the same cores, while
one forward pass over the texts that queued up meanwhile costs little more than over one of them."""

import queue
import threading
from collections import OrderedDict
from concurrent.futures import Future

import numpy as np

from backend.clip_model import ClipModel
from backend.images import load_for_clip, normalise_batch

MAX_TEXT_BATCH = 32


class QueryEmbedder:
    """Embeds search queries; texts that arrive together share one forward pass."""

    def __init__(self, model: ClipModel, text_cache_size: int) -> None:
        self.model = model
        self._model_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._cache_size = text_cache_size
        self._texts: queue.SimpleQueue[tuple[str, Future] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._embed_text_batches, name="text-embedder", daemon=True)
        self._worker.start()

    def text(self, query: str) -> np.ndarray:
        """A text's unit vector (dim,), from the cache when asked before."""
        with self._cache_lock:
            if query in self._cache:
                self._cache.move_to_end(query)
                return self._cache[query]
        future: Future = Future()
        self._texts.put((query, future))
        vector = future.result()
        with self._cache_lock:
            self._cache[query] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

    def image(self, data: bytes) -> np.ndarray:
        """An uploaded image's unit vector (dim,); ImageError when it cannot be decoded."""
        spec = self.model.preprocess_spec
        pixels = normalise_batch([load_for_clip(data, spec)], spec)  # decoding runs outside the lock
        with self._model_lock:
            return self.model.embed_pixels(pixels)[0]

    def close(self) -> None:
        """Stop the text worker."""
        self._texts.put(None)
        self._worker.join(timeout=10)

    def _embed_text_batches(self) -> None:
        """The worker: take every text waiting (up to a batch), embed them together, hand out the vectors."""
        while (first := self._texts.get()) is not None:
            batch = [first]
            while len(batch) < MAX_TEXT_BATCH:
                try:
                    item = self._texts.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._texts.put(None)  # seen again by the outer loop once this batch is answered
                    break
                batch.append(item)
            try:
                with self._model_lock:
                    vectors = self.model.embed_texts([text for text, _ in batch])
            except Exception as exc:  # every waiting request gets the error, not a hang
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for (_, future), vector in zip(batch, vectors, strict=True):
                    future.set_result(vector)
