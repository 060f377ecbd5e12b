"""The map's region labels: a cluster is named by the maker, type or period over-represented in it, at its centre;
values common everywhere and missing values never name one; two levels for the coarse zooms; the same input gives
the same labels."""

import json

import numpy as np
import pytest

from backend.map_regions import (
    MIN_REGION_WORKS,
    Region,
    century_name,
    clean_maker,
    decade_name,
    map_clusters,
    region_labels,
)

BLOBS = np.array([[0.2, 0.2], [0.8, 0.2], [0.2, 0.8], [0.8, 0.8]])
COMMON_TYPES = ["Painting", "Drawing", "Photograph", "Textile"]
COMMON_MAKERS = [f"Maker {i} (French, 18{i:02d}–19{i:02d})" for i in range(40)]


def blob_points(per_blob: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """per_blob works around each of the four BLOBS, and the blob of each work."""
    blob = np.repeat(np.arange(len(BLOBS)), per_blob)
    return np.clip(BLOBS[blob] + rng.normal(scale=0.02, size=(len(blob), 2)), 0, 1), blob


def planted_collection(
    rng: np.random.Generator, per_blob: int = 500, background: int = 400
) -> tuple[np.ndarray, list[str], list[str], np.ndarray]:
    """Four blobs with one planted value each (a maker, a type, a decade, a century) over works of common types,
    makers and years spread everywhere, plus a thin background of such works between the blobs."""
    xy, blob = blob_points(per_blob, rng)
    xy, blob = np.vstack([xy, rng.uniform(size=(background, 2))]), np.r_[blob, np.full(background, -1)]
    n = len(xy)
    types = rng.choice(COMMON_TYPES, n).astype(object)
    makers = rng.choice(COMMON_MAKERS, n).astype(object)
    years = rng.integers(1500, 1950, n).astype(float)
    planted = rng.random(n) < 0.7
    rembrandt = ["Rembrandt van Rijn (Dutch, 1606–1669)", "Attributed to Rembrandt van Rijn", "Rembrandt van Rijn"]
    makers[planted & (blob == 0)] = rng.choice(rembrandt, (planted & (blob == 0)).sum())
    types[planted & (blob == 1)] = "Print"
    years[planted & (blob == 2)] = rng.integers(1650, 1660, (planted & (blob == 2)).sum())
    years[planted & (blob == 3)] = rng.integers(1600, 1700, (planted & (blob == 3)).sum())
    return xy, types.tolist(), makers.tolist(), years


def coarse(regions: list[Region]) -> list[Region]:
    return [region for region in regions if region.min_zoom == 0]


def near(regions: list[Region], centre: np.ndarray, radius: float = 0.1) -> list[Region]:
    return [region for region in regions if np.hypot(region.x - centre[0], region.y - centre[1]) < radius]


def test_each_blob_is_named_by_its_planted_value_at_its_centre() -> None:
    regions = region_labels(*planted_collection(np.random.default_rng(1)))
    for centre, planted in zip(BLOBS, ["Rembrandt van Rijn", "Print", "1650s", "17th century"], strict=True):
        for level in (coarse(regions), [region for region in regions if region.min_zoom == 2]):
            around = near(level, centre)
            assert around, (planted, level)
            assert all(planted in region.label.split(" · ") for region in around), (planted, around)
            nearest = min(around, key=lambda region: np.hypot(region.x - centre[0], region.y - centre[1]))
            assert np.hypot(nearest.x - centre[0], nearest.y - centre[1]) < 0.05


def test_a_cluster_is_named_by_decade_where_one_holds_half_its_dated_works_else_by_century() -> None:
    rng = np.random.default_rng(2)
    xy, blob = blob_points(600, rng)
    draw = rng.random(len(xy))
    years = rng.integers(1300, 1950, len(xy)).astype(float)  # blob 3, and the rest of the others
    years[(blob == 0) & (draw < 0.8)] = rng.integers(1650, 1660, len(xy))[(blob == 0) & (draw < 0.8)]
    years[(blob == 1) & (draw < 0.8)] = rng.integers(1600, 1700, len(xy))[(blob == 1) & (draw < 0.8)]
    years[(blob == 2) & (draw < 0.3)] = rng.integers(1720, 1730, len(xy))[(blob == 2) & (draw < 0.3)]
    years[(blob == 2) & (draw >= 0.3)] = rng.integers(1700, 1800, len(xy))[(blob == 2) & (draw >= 0.3)]
    years[rng.random(len(xy)) < 0.1] = np.nan  # undated works count in neither share
    regions = coarse(region_labels(xy, [None] * len(xy), [None] * len(xy), years))
    for centre, period in zip(BLOBS[:3], ["1650s", "17th century", "18th century"], strict=True):
        around = near(regions, centre)
        assert around and all(region.label == period for region in around), (period, around)


def test_periods_are_named_by_decade_and_by_century() -> None:
    assert decade_name(1654) == "1650s" and decade_name(1900) == "1900s"
    assert [century_name(year) for year in (1654, 1600, 1999, 2001, 1150, 1250, 1050, 150)] == [
        "17th century",
        "17th century",
        "20th century",
        "21st century",
        "12th century",
        "13th century",
        "11th century",
        "2nd century",
    ]
    assert century_name(-450) == "5th century BCE" and century_name(-1) == "1st century BCE"


def test_a_value_equally_common_everywhere_never_names_a_region() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    xy = rng.uniform(size=(n, 2))
    regions = region_labels(
        xy,
        rng.choice(["Painting", "Drawing"], n).tolist(),
        rng.choice(COMMON_MAKERS[:3], n).tolist(),
        rng.integers(1500, 1900, n),
    )
    assert regions == []


def test_missing_values_are_ignored_in_the_shares_and_never_name_a_region() -> None:
    rng = np.random.default_rng(4)
    xy, blob = blob_points(1000, rng)
    draw = rng.random(len(xy))
    makers = np.where(draw < 0.5, None, rng.choice(COMMON_MAKERS[:2], len(xy))).astype(object)
    makers[(blob == 0) & (draw < 0.2)] = "Claude Monet (French, 1840–1926)"  # 40% of the known makers, 20% of all
    makers[(blob == 1) & (draw < 0.9)] = ""  # missing as well: as over-represented there as a value can be
    makers[(blob == 2) & (draw < 0.9)] = "Unknown artist"
    types = rng.choice(["Painting", "Drawing"], len(xy)).astype(object)
    types[blob == 3] = None
    regions = region_labels(xy, types.tolist(), makers.tolist(), [None] * len(xy))
    around_monet = near(regions, BLOBS[0])
    assert around_monet and all(region.label == "Claude Monet" for region in around_monet)
    assert all(region.label.strip() and "None" not in region.label for region in regions)
    assert not any("Unknown" in region.label for region in regions)


def test_a_value_on_a_few_works_of_a_cluster_does_not_name_it_even_where_the_rest_is_missing() -> None:
    rng = np.random.default_rng(9)
    xy, blob = blob_points(1000, rng)
    makers = rng.choice(COMMON_MAKERS[:2], len(xy)).astype(object)
    makers[blob == 0] = None
    makers[np.flatnonzero(blob == 0)[np.argsort(xy[blob == 0, 0])[:4]]] = "Claude Monet"  # 4 side by side
    regions = region_labels(xy, [None] * len(xy), makers.tolist(), [None] * len(xy))
    assert not any("Monet" in region.label for region in regions)


@pytest.mark.parametrize(
    ("display", "name"),
    [
        ("Attributed to Anthony van Dyck (Flemish, 1599–1641)", "Anthony van Dyck"),
        ("Jean Charles Cazin (French, 1841–1901)", "Jean Charles Cazin"),
        ("Rembrandt van Rijn", "Rembrandt van Rijn"),
        ("Workshop of Peter Paul Rubens", "Peter Paul Rubens"),
        ("Follower of Claude Monet", "Claude Monet"),
        ("Circle of Rembrandt van Rijn (Dutch, 1606–1669)", "Rembrandt van Rijn"),
        ("Walter Shirlaw\nAmerican, 1838–1909", "Walter Shirlaw"),
        ("Peter Paul Rubens and Workshop", "Peter Paul Rubens"),
        ("Unknown artist", ""),
        ("  ", ""),
    ],
)
def test_makers_are_cleaned_of_qualifiers_and_life_dates(display: str, name: str) -> None:
    assert clean_maker(display) == name


def test_the_same_input_gives_the_same_regions() -> None:
    collection = planted_collection(np.random.default_rng(5))
    first = region_labels(*collection)
    assert first and region_labels(*collection) == first


@pytest.mark.parametrize("n", [0, 1, 3, 12])
def test_small_collections_get_at_most_one_region_a_level(n: int) -> None:
    rng = np.random.default_rng(6)
    regions = region_labels(rng.uniform(size=(n, 2)), ["Print"] * n, ["Rembrandt van Rijn"] * n, [1650] * n)
    assert len(coarse(regions)) <= 1 and len(regions) - len(coarse(regions)) <= 1
    assert all(region.count == n for region in regions)


def test_inputs_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one entry per work"):
        region_labels(np.zeros((3, 2)), ["Print"] * 3, ["Rembrandt van Rijn"] * 2, [1650] * 3)


def test_counts_add_up_to_the_collection_at_each_level_and_the_zooms_are_0_1_then_2_3() -> None:
    rng = np.random.default_rng(7)
    xy, blob = blob_points(600, rng)
    types = np.array(["Print", "Painting", "Drawing", "Textile"], dtype=object)[blob]  # every cluster stands out
    regions = region_labels(xy, types.tolist(), [None] * len(xy), np.full(len(xy), np.nan))
    levels = [(region.min_zoom, region.max_zoom) for region in regions]
    assert set(levels) == {(0, 1), (2, 3)} and levels == sorted(levels)  # coarse first
    for zooms in ((0, 1), (2, 3)):
        assert sum(region.count for region in regions if (region.min_zoom, region.max_zoom) == zooms) == len(xy)
    assert 6 <= len(coarse(regions)) <= 10 and 24 <= len(regions) - len(coarse(regions)) <= 40


def test_no_cluster_is_smaller_than_the_minimum() -> None:
    rng = np.random.default_rng(8)
    xy = np.vstack([blob_points(100, rng)[0], np.full((4, 2), 0.99)])  # four outliers k-means isolates
    clusters = map_clusters(xy, 8)
    sizes = np.bincount(clusters)
    assert sizes.sum() == len(xy) and sizes.min() >= MIN_REGION_WORKS and len(sizes) <= 8


def test_a_region_is_plain_json() -> None:
    region = Region(label="Prints · 1650s", x=0.25, y=0.5, count=120, min_zoom=0, max_zoom=1)
    assert json.loads(json.dumps(region.as_dict())) == {
        "label": "Prints · 1650s",
        "x": 0.25,
        "y": 0.5,
        "count": 120,
        "min_zoom": 0,
        "max_zoom": 1,
    }
