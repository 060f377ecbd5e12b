"""A query made of weighted parts (texts, stored artworks, an uploaded image) as one vector in CLIP's space.

The rule is the weighted sum of the parts' unit vectors, normalised. Scores are cosines to that vector, and
cos(x, v) = Σ wᵢ cos(x, uᵢ) / |Σ wᵢ uᵢ| for every candidate x: the denominator is the same for all of them, so the
ranking is exactly the weighted sum of each part's similarity, the ranking a user means by "a harbour, plus this
painting, minus people", and one walk of the index still finds it. Averaging similarities after separate searches
would miss works that are only fairly near every part; arithmetic on unnormalised vectors would let the longer
vector of one modality outweigh the other's whatever the weights say.
"""

from collections.abc import Sequence

import numpy as np

# Below this the parts cancel: what is left is numerical noise, and its direction would be arbitrary.
MIN_NORM = 1e-6


class PartsCancel(ValueError):
    """The weighted parts sum to (nearly) nothing: there is no direction left to search in."""


def compose(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The unit vector Σ wᵢ uᵢ / |Σ wᵢ uᵢ| of unit vectors uᵢ and their weights, in float32."""
    if len(vectors) != len(weights) or not vectors:
        raise ValueError("one weight per part, and at least one part")
    summed = np.asarray(weights, dtype=np.float64) @ np.stack(vectors).astype(np.float64)
    norm = float(np.linalg.norm(summed))
    if norm < MIN_NORM:
        raise PartsCancel("the parts cancel each other out: change a weight or add a part")
    return (summed / norm).astype(np.float32)
