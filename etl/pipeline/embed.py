"""Stage 4: batches of crops through the CLIP vision tower."""

import numpy as np

from backend.clip_model import ClipModel
from backend.images import normalise_batch
from backend.model_thread import ModelThread
from etl.pipeline.items import Decoded, EmbeddedBatch


class EmbedBatch:
    """Normalise a batch of crops and embed it into unit vectors."""

    def __init__(self, model: ClipModel, model_thread: ModelThread) -> None:
        self.model = model
        self.model_thread = model_thread  # the thread that loaded the model runs it too
        self.spec = model.preprocess_spec

    def __call__(self, batch: list[Decoded]) -> EmbeddedBatch:
        pixels = normalise_batch(np.stack([item.crop for item in batch]), self.spec)
        vectors = self.model_thread.run(self.model.embed_pixels, pixels)
        return EmbeddedBatch([item.claim for item in batch], vectors, [item.thumbnail for item in batch])
