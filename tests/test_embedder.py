"""The API's query embedder: texts that arrive together share a forward pass on the model thread, each request
gets its own vector, and a request that goes away does not disturb the others."""

import asyncio
import contextlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.api.embedder import QueryEmbedder
from backend.clip_model import ClipModel, load_clip
from tests.helpers import FIXTURE_IMAGES, jpeg

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


class SlowModel:
    """A model whose text passes take a while, as on a busy CPU; it notes how many ran before the image pass."""

    def __init__(self, counting: CountingModel) -> None:
        self.counting = counting
        self.batches_before_image = -1

    def __getattr__(self, name: str) -> object:
        return getattr(self.counting, name)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.02)
        return self.counting.embed_texts(texts)

    def embed_pixels(self, pixels: np.ndarray) -> np.ndarray:
        self.batches_before_image = len(self.counting.batches)
        return self.counting.embed_pixels(pixels)


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


def test_an_upload_waits_for_one_text_batch_at_most_however_many_texts_keep_coming(counting: CountingModel) -> None:
    slow = SlowModel(counting)
    embedder = QueryEmbedder(lambda: slow, text_cache_size=0)
    upload = jpeg(Image.open(FIXTURE_IMAGES[0]).convert("RGB"))

    async def texts_and_an_upload() -> int:
        steady = [asyncio.ensure_future(embedder.text(f"{TEXTS[0]} {n}")) for n in range(3)]
        for n in range(3, 40):  # a text every few milliseconds, as a busy server receives them
            steady.append(asyncio.ensure_future(embedder.text(f"{TEXTS[0]} {n}")))
            await asyncio.sleep(0.004)
            if n == 6:
                image = asyncio.ensure_future(asyncio.to_thread(embedder.image, upload))
                batches_before = len(counting.batches)
        await image
        batches_until_image = slow.batches_before_image - batches_before
        await asyncio.gather(*steady)
        return batches_until_image

    try:
        waited = asyncio.run(texts_and_an_upload())
    finally:
        embedder.close()
    assert waited <= 2, f"the upload waited behind {waited} text batches"
