"""Near-duplicate stacks: hits whose vectors are within a threshold of a better hit fold into that hit's stack, so
k results are k different works and not ten photographs of one print."""

import numpy as np


def fold_near_duplicates(vectors: np.ndarray, threshold: float, stacks: int) -> list[list[int]]:
    """Rows of best-first unit vectors grouped into at most `stacks` stacks, each a list of row indices with its
    best first: a row joins the stack of the most similar earlier leader when their cosine is at least the
    threshold, else it leads a stack of its own (once `stacks` are open, it is left out)."""
    cosines = vectors @ vectors.T  # one product for every pair: a few hundred rows at most
    leaders: list[int] = []
    folded: list[list[int]] = []
    for row in range(len(vectors)):
        if leaders:
            similarity = cosines[row, leaders]
            nearest = int(np.argmax(similarity))
            if similarity[nearest] >= threshold:
                folded[nearest].append(row)
                continue
        if len(folded) < stacks:
            leaders.append(row)
            folded.append([row])
    return folded


def separating_threshold(same: np.ndarray, different: np.ndarray) -> tuple[float, int, int]:
    """The cosine that tells near-duplicate pairs (`same`) from pairs of distinct works (`different`) best, with its
    false merges (distinct pairs at or above it) and missed merges (near-duplicates below it): the middle of the gap
    between the two when they do not overlap, else the pair's own cosine with the fewest errors (ties: the fewer
    false merges, for a false merge hides a different work)."""
    if same.min() > different.max():
        return float((same.min() + different.max()) / 2), 0, 0
    same, different = np.sort(same), np.sort(different)
    candidates = np.unique(np.concatenate([same, different]))
    false = len(different) - np.searchsorted(different, candidates, side="left")
    missed = np.searchsorted(same, candidates, side="left")
    best = min(range(len(candidates)), key=lambda i: (false[i] + missed[i], false[i]))
    return float(candidates[best]), int(false[best]), int(missed[best])
