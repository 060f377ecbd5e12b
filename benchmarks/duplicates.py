"""The near-duplicate threshold of `stack=true`, measured: real paintings and their near-duplicates (the same JPEG
resized, cropped and re-encoded) against distinct works, embedded by the model the product serves.

Pairs of a painting and one of its variants are near-duplicates; pairs of two different paintings are distinct.
The threshold is the cosine that best separates the two (backend.stacks.separating_threshold); the JSON gives it
with its false merges (distinct pairs at or above it) and missed merges (variants below it), and the spread of
both kinds of cosine. ViT-B/32 at random weights unless --model names a real one (the figure moves with the
weights: measure again with the model you serve, and set ARTSEARCH_STACK_THRESHOLD).

    .venv/bin/python benchmarks/duplicates.py [--model DIR] [--images N]
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from backend.clip_model import load_clip  # noqa: E402
from backend.images import load_for_clip, normalise_batch  # noqa: E402
from backend.stacks import separating_threshold  # noqa: E402
from benchmarks.pipeline import random_vit_b32  # noqa: E402
from tests.helpers import near_duplicates  # noqa: E402

PAINTINGS = Path(__file__).resolve().parent.parent / "etl" / "sample_collection" / "images"
BATCH = 32


def embed(model: object, blobs: list[bytes]) -> np.ndarray:
    """Unit vectors the way the pipeline makes them, BATCH at a time."""
    spec = model.preprocess_spec
    batches = [blobs[start : start + BATCH] for start in range(0, len(blobs), BATCH)]
    return np.concatenate(
        [model.embed_pixels(normalise_batch([load_for_clip(b, spec) for b in batch], spec)) for batch in batches]
    )


def spread(cosines: np.ndarray) -> dict[str, float]:
    """The least, percentiles and most of a set of cosines."""
    points = {"min": 0, "p1": 1, "p50": 50, "p99": 99, "max": 100}
    return {name: round(float(np.percentile(cosines, q)), 4) for name, q in points.items()}


def main() -> None:
    """Embed paintings and variants, pair them, find the threshold; one JSON object out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a save_pretrained CLIP directory (default: ViT-B/32, random weights)")
    parser.add_argument("--images", type=int, default=150, help="paintings from etl/sample_collection")
    args = parser.parse_args()
    model = load_clip(args.model or str(random_vit_b32()), device="cpu", precision="float32")
    paths = sorted(PAINTINGS.glob("*.jpg"))[: args.images]
    variants = [near_duplicates(path) for path in paths]
    kinds = list(variants[0])
    vectors = embed(model, [blob for work in variants for blob in work.values()]).reshape(len(paths), len(kinds), -1)
    same = np.einsum("wd,wvd->wv", vectors[:, 0], vectors[:, 1:])
    originals = vectors[:, 0]
    pairs = np.array(list(itertools.combinations(range(len(paths)), 2)))
    different = np.einsum("pd,pd->p", originals[pairs[:, 0]], originals[pairs[:, 1]])
    threshold, false_merges, missed_merges = separating_threshold(same.ravel(), different)
    print(json.dumps({
        "benchmark": "duplicates",
        "model": model.name,
        "random_weights": model.random_weights,
        "paintings": len(paths),
        "near_duplicate_pairs": int(same.size),
        "distinct_pairs": int(len(different)),
        "threshold": round(threshold, 4),
        "false_merges": false_merges,
        "missed_merges": missed_merges,
        "near_duplicates": {kind: spread(same[:, i]) for i, kind in enumerate(kinds[1:])},
        "distinct": spread(different),
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
