"""The API's query embedder: texts that arrive together share a forward pass on the model thread, each request
gets its own vector, and a request that goes away does not disturb the others."""

import asyncio
import contextlib
import threading
from pathlib import Path

import numpy as np
import pytest

from backend.api.embedder import QueryEmbedder
from backend.clip_model import ClipModel, load_clip

TEXTS = [f"a painting of {thing}" for thing in ("a ship", "a dog", "snow", "a queen", "fruit", "a storm", "ruins")]


class CountingModel:
    """The real model, recording which thread ran each text forward pass and how many texts it took."""

    def __init__(self, model: ClipModel) -> None:
        self.model = model
        self.batches: list[int] = []
        self.threads: set[str] = set()

    def __getattr__(self, name: str) -> object:
        return getattr(self.model, name)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        self.batches.append(len(texts))
        self.threads.add(threading.current_thread().name)
        return self.model.embed_texts(texts)


@pytest.fixture
def counting(tiny_clip_dir: Path) -> CountingModel:
    return CountingModel(load_clip(str(tiny_clip_dir), device="cpu"))


def test_concurrent_texts_share_forward_passes_on_the_model_thread(counting: CountingModel) -> None:
    embedder = QueryEmbedder(lambda: counting, text_cache_size=100)

    async def ask_all() -> list[np.ndarray]:
        return await asyncio.gather(*(embedder.text(text) for text in TEXTS))

    try:
        vectors = asyncio.run(ask_all())
    finally:
        embedder.close()
    alone = counting.model.embed_texts(TEXTS)
    for vector, expected in zip(vectors, alone, strict=True):
        assert float(vector @ expected) >= 0.999  # each request got its own text's vector
    assert sum(counting.batches) == len(TEXTS) and len(counting.batches) < len(TEXTS)
    assert counting.threads == {name for name in counting.threads if name.startswith("model")}


def test_a_cached_text_skips_the_model(counting: CountingModel) -> None:
    embedder = QueryEmbedder(lambda: counting, text_cache_size=100)
    try:
        first = asyncio.run(embedder.text(TEXTS[0]))
        again = asyncio.run(embedder.text(TEXTS[0]))
    finally:
        embedder.close()
    assert counting.batches == [1]
    np.testing.assert_array_equal(first, again)


def test_a_request_that_goes_away_leaves_the_others_answered(counting: CountingModel) -> None:
    embedder = QueryEmbedder(lambda: counting, text_cache_size=100)
    blocker = threading.Event()
    embedder._model_thread.submit(blocker.wait)  # hold the model thread so both texts wait in line

    async def one_cancelled() -> np.ndarray:
        gone = asyncio.ensure_future(embedder.text(TEXTS[1]))
        kept = asyncio.ensure_future(embedder.text(TEXTS[2]))
        await asyncio.sleep(0.05)
        gone.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await gone  # its cancellation has reached the queued text before the model thread may drain it
        blocker.set()
        return await kept

    try:
        vector = asyncio.run(one_cancelled())
    finally:
        embedder.close()
    assert float(vector @ counting.model.embed_texts([TEXTS[2]])[0]) >= 0.999
    assert counting.batches == [1]  # the cancelled text was dropped, not embedded
