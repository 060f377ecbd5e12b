"""Composed queries, near-duplicate stacks and the relevance cut-off, each on its own: the rules the API applies."""

import numpy as np
import pytest

from backend.compose import PartsCancel, compose
from backend.cutoff import relevance_cutoff
from backend.stacks import fold_near_duplicates, separating_threshold


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_a_composed_query_is_the_weighted_normalised_sum_of_its_parts() -> None:
    rng = np.random.default_rng(7)
    parts = unit(rng.normal(size=(3, 512))).astype(np.float32)
    weights = [1.0, 0.5, -0.7]
    expected = sum(w * p.astype(np.float64) for w, p in zip(weights, parts, strict=True))
    expected /= np.sqrt(sum(x * x for x in expected))  # by hand, not through the module's arithmetic

    vector = compose(list(parts), weights)

    assert vector.dtype == np.float32 and np.allclose(vector, expected, atol=1e-6)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-6)
    candidates = unit(rng.normal(size=(500, 512)))
    weighted_similarity = candidates @ parts.T @ np.array(weights)  # what a user means by the weights
    assert (np.argsort(-(candidates @ vector)) == np.argsort(-weighted_similarity)).all()


def test_a_negative_part_pushes_its_neighbours_down() -> None:
    rng = np.random.default_rng(3)
    harbour, people = unit(rng.normal(size=(2, 64)))
    crowded_harbour = unit(harbour + people)  # a work near both
    empty_harbour = unit(harbour + 0.2 * rng.normal(size=64))
    plain, without_people = harbour, compose([harbour, people], [1.0, -0.5])
    assert crowded_harbour @ plain > empty_harbour @ plain  # the crowded one ranks first for "a harbour"
    assert crowded_harbour @ without_people < empty_harbour @ without_people  # and after it, minus people


def test_parts_that_cancel_are_refused() -> None:
    part = unit(np.ones(8))
    with pytest.raises(PartsCancel, match="cancel"):
        compose([part, part], [1.0, -1.0])
    with pytest.raises(ValueError):
        compose([part], [1.0, 2.0])


@pytest.mark.parametrize(
    ("scores", "kept"),
    [
        ([0.34, 0.33, 0.33, 0.32, 0.21, 0.20, 0.20, 0.19], 4),  # a clear drop after the fourth
        ([0.80, 0.52, 0.51, 0.51, 0.50, 0.50], 1),  # one match, then the rest
        ([0.30 - 0.005 * i for i in range(20)], 20),  # flat: no gap stands out
        ([0.30, 0.29, 0.27, 0.24, 0.20, 0.15, 0.09, 0.02], 8),  # falling ever faster, but steadily
        ([0.300, 0.299, 0.298, 0.294, 0.293], 5),  # a gap four times the others, but under MIN_GAP
        ([0.5, 0.1], 2),  # too few to tell a drop from the pace
    ],
)
def test_the_cutoff_ends_at_a_clear_drop_only(scores: list[float], kept: int) -> None:
    assert relevance_cutoff(scores) == kept


def test_near_duplicates_fold_into_their_best_hit_and_distinct_works_never_do() -> None:
    rng = np.random.default_rng(11)
    works = unit(rng.normal(size=(6, 128)))
    copies = unit(works[[0, 0, 2, 5]] + 0.05 * rng.normal(size=(4, 128)))  # near-duplicates of works 0, 2 and 5
    rows = np.concatenate([works[:3], copies[:2], works[3:], copies[2:]])  # best first, as a search hands them back
    threshold, false_merges, missed = separating_threshold(
        np.array([copies[i] @ works[w] for i, w in enumerate([0, 0, 2, 5])]),
        np.array([works[a] @ works[b] for a in range(6) for b in range(a + 1, 6)]),
    )
    assert (false_merges, missed) == (0, 0)

    stacks = fold_near_duplicates(rows, threshold, stacks=6)

    assert stacks == [[0, 3, 4], [1], [2, 8], [5], [6], [7, 9]]
    assert fold_near_duplicates(rows, threshold, stacks=2) == [[0, 3, 4], [1]]  # k counts stacks
    assert fold_near_duplicates(rows, 1.01, stacks=10) == [[i] for i in range(10)]  # above any cosine: no stacks


def test_the_threshold_says_what_it_gets_wrong_when_the_two_kinds_overlap() -> None:
    same = np.array([0.99, 0.97, 0.90, 0.80])
    different = np.array([0.50, 0.60, 0.85, 0.70])
    threshold, false_merges, missed = separating_threshold(same, different)
    assert threshold == 0.90 and (false_merges, missed) == (0, 1)
    assert separating_threshold(np.array([0.9, 0.95]), np.array([0.5, 0.7])) == (0.8, 0, 0)
