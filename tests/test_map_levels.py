"""The map's level of detail: every work gets a zoom, no tile lists more than its capacity, a crowded tile shows
its whole extent, and the choice is stable."""

import math

import numpy as np

from backend.map_levels import (
    MAX_ZOOM,
    TILE_CAPACITY,
    assign_zooms,
    stable_priority,
    tile_index,
    tile_key,
    tile_key_range,
)


def clustered_points(n: int, rng: np.random.Generator) -> np.ndarray:
    """Points in [0, 1]² as a projected collection looks: dense clusters of varied size over a thin background."""
    centres = rng.uniform(0.1, 0.9, size=(40, 2))
    labels = rng.integers(0, 40, size=n)
    points = centres[labels] + rng.normal(scale=rng.uniform(0.002, 0.05, size=40)[labels, None], size=(n, 2))
    return np.clip(points, 0, 1)


def test_every_work_has_a_zoom_and_no_tile_lists_more_than_its_capacity() -> None:
    xy = clustered_points(30_000, np.random.default_rng(1))
    zooms = assign_zooms(xy, stable_priority(np.arange(len(xy))))
    assert zooms.min() >= 0 and zooms.max() <= MAX_ZOOM
    for zoom in range(int(zooms.max()) + 1):
        listed = zooms <= zoom  # a work listed at its zoom is listed at every deeper one
        _, per_tile = np.unique(tile_index(xy[listed], zoom), return_counts=True)
        assert per_tile.max() <= TILE_CAPACITY, zoom
    deepest = tile_index(xy, int(zooms.max()))
    assert np.unique(deepest, return_counts=True)[1].max() <= TILE_CAPACITY  # the deepest zoom lists everything


def test_a_crowded_tile_shows_its_whole_extent_not_the_first_works() -> None:
    rng = np.random.default_rng(2)
    xy = rng.uniform(size=(20_000, 2))
    xy = xy[np.argsort(xy[:, 0])]  # ids in x order: "the first N by id" would all lie at the left edge
    zooms = assign_zooms(xy, stable_priority(np.arange(len(xy))))
    top = xy[zooms == 0]
    assert len(top) == TILE_CAPACITY
    quadrants = np.bincount(tile_index(top, 1), minlength=4)
    assert quadrants.min() >= TILE_CAPACITY // 4 - 6  # about a quarter each
    side = math.isqrt(TILE_CAPACITY)
    cells = np.unique(np.floor(top * side).astype(int) @ [side, 1])
    assert len(cells) == side * side  # each cell of the tile's grid has a work on the first screen


def test_coincident_works_all_get_the_deepest_zoom_and_the_choice_is_stable() -> None:
    xy = np.vstack([np.full((500, 2), 0.25), np.random.default_rng(3).uniform(size=(500, 2))])
    ids = np.arange(1000, 2000)
    first = assign_zooms(xy, stable_priority(ids))
    assert (first >= 0).all() and (first[:500] == MAX_ZOOM).sum() == 500 - TILE_CAPACITY
    shuffled = np.random.default_rng(4).permutation(1000)
    again = assign_zooms(xy[shuffled], stable_priority(ids[shuffled]))
    assert (again == first[shuffled]).all()  # the same works win, whatever order they come in


def test_the_works_of_any_tile_are_one_range_of_tile_keys() -> None:
    rng = np.random.default_rng(5)
    xy = np.vstack([rng.uniform(size=(5_000, 2)), [[0, 0], [1, 1], [0.5, 0.5]]])
    keys = tile_key(xy)
    for zoom in (0, 1, 4, 9, MAX_ZOOM):
        side = 1 << zoom
        tiles = tile_index(xy, zoom)
        for point in rng.integers(0, len(xy), 20):
            low, high = tile_key_range(zoom, *divmod(int(tiles[point]), side))
            assert ((keys >= low) & (keys <= high) == (tiles == tiles[point])).all()
