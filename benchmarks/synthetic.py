"""Synthetic collections for the benchmarks: unit vectors shaped like CLIP image embeddings, and queries near them.

Two generators, because the shape of the data decides how hard an HNSW graph finds it:
- `diffuse`: a mixture of Gaussian clusters with full-rank noise in all 512 dimensions. Every point's neighbours
  are nearly equidistant (the curse of dimensionality), so it is harder than real embeddings; it is what the
  figures before the 560,000 rehearsal used.
- `manifold`: the same mixture drawn in a low-dimensional latent space, mapped into 512 dimensions with decaying
  singular values, plus a small isotropic residue and a shared offset. Real CLIP image vectors look like this:
  their intrinsic dimension is in the tens, not 512, and they sit in a narrow cone (unrelated images score
  0.4-0.6 against each other, near duplicates above 0.9). `describe` reports both figures for what is generated.
"""

import numpy as np

DIM = 512
LATENT_DIM = 32
KINDS = ("manifold", "diffuse")


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32."""
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def diffuse_unit_vectors(n: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    """A mixture of Gaussian clusters of varied size and spread, with noise in every one of the 512 dimensions."""
    centres = rng.normal(size=(clusters, DIM)).astype(np.float32)
    labels = rng.choice(clusters, size=n, p=rng.dirichlet(np.full(clusters, 0.5)))
    spread = rng.uniform(0.4, 0.9, size=clusters).astype(np.float32)
    return unit_rows(centres[labels] + rng.normal(size=(n, DIM)).astype(np.float32) * spread[labels, None])


def manifold_unit_vectors(n: int, clusters: int, rng: np.random.Generator, latent_dim: int = LATENT_DIM) -> np.ndarray:
    """The mixture drawn in latent_dim dimensions, then mapped into 512 (singular values falling off as 1/√i), with
    a 512-dimensional residue a tenth the size and a common offset that puts every vector in one cone."""
    centres = rng.normal(size=(clusters, latent_dim)).astype(np.float32)
    labels = rng.choice(clusters, size=n, p=rng.dirichlet(np.full(clusters, 0.5)))
    spread = rng.uniform(0.4, 0.9, size=clusters).astype(np.float32)
    basis, _ = np.linalg.qr(rng.normal(size=(DIM, latent_dim)))
    mapping = (basis * (1 / np.sqrt(np.arange(1, latent_dim + 1)))).T.astype(np.float32)
    offset = rng.normal(size=DIM).astype(np.float32)
    offset *= 0.9 / np.linalg.norm(offset)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 65_536):  # in slices: 560,000 × 512 float32 intermediates would be 1 GB each
        rows = slice(start, min(start + 65_536, n))
        latent = centres[labels[rows]] + rng.normal(size=(rows.stop - start, latent_dim)) * spread[labels[rows], None]
        signal = unit_rows(latent.astype(np.float32) @ mapping)
        vectors[rows] = unit_rows(signal + rng.normal(scale=0.1 / np.sqrt(DIM), size=signal.shape) + offset)
    return vectors


def collection(kind: str, n: int, clusters: int, rng: np.random.Generator, latent_dim: int = LATENT_DIM) -> np.ndarray:
    """n unit vectors of the named kind (KINDS); latent_dim shapes the manifold kind only."""
    if kind == "manifold":
        return manifold_unit_vectors(n, clusters, rng, latent_dim)
    return diffuse_unit_vectors(n, clusters, rng)


def nearby_queries(vectors: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Queries near the data but not in it, as new images of the same kinds would be: a stored vector moved by
    noise as long as the collection's typical nearest-neighbour distance."""
    picked = vectors[rng.choice(len(vectors), count)]
    nudge = rng.normal(size=picked.shape).astype(np.float32)
    return unit_rows(picked + nudge / np.sqrt(DIM) * _neighbour_distance(vectors, rng))


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The k best rows (0-based) for each query by inner product, in slices so 560,000 rows fit in memory."""
    best = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ vectors.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        best[start : start + 50] = np.take_along_axis(top, order, axis=1)
    return best


def describe(vectors: np.ndarray, rng: np.random.Generator) -> dict[str, float]:
    """What the generated collection looks like next to real CLIP vectors: cosine of random pairs, cosine to the
    nearest neighbour, and the TwoNN estimate of intrinsic dimension (Facco et al. 2017) on a sample."""
    top = _neighbour_cosines(vectors, 2_000, rng)
    pairs = rng.integers(0, len(vectors), size=(5_000, 2))
    random_cosine = np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]])
    first, second = (np.sqrt(np.maximum(2 - 2 * top[:, i], 1e-12)) for i in (0, 1))
    ratios = second / first
    return {
        "random_pair_cosine_mean": round(float(random_cosine.mean()), 3),
        "nearest_neighbour_cosine_median": round(float(np.median(top[:, 0])), 3),
        "twonn_intrinsic_dimension": round(float(len(ratios) / np.sum(np.log(ratios[ratios > 1]))), 1),
    }


def _neighbour_distance(vectors: np.ndarray, rng: np.random.Generator) -> float:
    """The median distance from a stored vector to its nearest neighbour, on a sample."""
    return float(np.median(np.sqrt(np.maximum(2 - 2 * _neighbour_cosines(vectors, 500, rng)[:, 0], 0))))


def _neighbour_cosines(vectors: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Cosine to the 1st and 2nd nearest neighbour of sampled vectors, within the first 200,000 (which fit memory)."""
    pool = vectors[:200_000]
    sample = pool[rng.choice(len(pool), min(samples, len(pool)), replace=False)]
    return np.sort(sample @ pool.T, axis=1)[:, -3:-1][:, ::-1]  # the best is the vector itself
