"""Region labels for the map's coarse zooms: what the works of each part of the map have in common, from metadata.

The works are clustered by k-means in map space (x, y), where users see them, at two levels: up to 8 clusters
labelled at zooms 0–1 and up to 32 at zooms 2–3, fewer in a small collection so that no cluster has fewer than
MIN_REGION_WORKS works. In each cluster every value of each facet (maker, object type, period) is scored by its lift:
its share among the cluster's works that have the facet, over its share among all works that have it; missing values
are left out of the shares. A value counts only with support (at least MIN_SHARE of those works of the cluster, at
least MIN_VALUE_WORKS works and MIN_COVERAGE of all the cluster's works) and a lift of at least MIN_LIFT, so neither
a one-off maker, nor a value on the few works of a cluster that have the facet at all, nor one common everywhere
names a region. The period is a decade ("1650s") where one that stands out holds at least DECADE_SHARE of the
cluster's dated works, and a century ("17th century") otherwise. The label joins the best one or two facets,
maker or type before period ("Rembrandt van Rijn · 1650s"), at the cluster's centre with its size; a cluster where
nothing stands out gets no label.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

MIN_REGION_WORKS = 10
MIN_SHARE = 0.25
MIN_VALUE_WORKS = 3
MIN_COVERAGE = 0.05
MIN_LIFT = 1.5
DECADE_SHARE = 0.5  # the share of a cluster's dated works one decade needs to name the period instead of a century
FIT_SAMPLE = 50_000  # k-means is fitted on this many works (a fixed sample) and then assigns every work
SEPARATOR = " · "

_QUALIFIERS = re.compile(
    r"^(?:(?:attributed to|workshop of|studio of|circle of|school of|followers? of|manner of|style of|imitator of"
    r"|copy after|after|possibly|probably)\s+)+",
    re.IGNORECASE,
)
_WORKSHOP_SUFFIX = re.compile(r",?\s+and (?:his )?(?:workshop|studio|assistants)$", re.IGNORECASE)
_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_NO_NAME = re.compile(r"^(?:unknown|anonymous|unidentified)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Region:
    """A labelled cluster of the map: its label at its centre, how many works it holds, the zooms it shows at."""

    label: str
    x: float
    y: float
    count: int
    min_zoom: int
    max_zoom: int

    def as_dict(self) -> dict[str, Any]:
        """The region as plain JSON values, as the projection stores it and GET /api/map serves it."""
        return asdict(self)


@dataclass(frozen=True)
class Level:
    """One level of regions: at most this many clusters, labelled from min_zoom to max_zoom."""

    regions: int
    min_zoom: int
    max_zoom: int


LEVELS = (Level(regions=8, min_zoom=0, max_zoom=1), Level(regions=32, min_zoom=2, max_zoom=3))


@dataclass(frozen=True)
class _Facet:
    """One facet of every work as an integer code, whether the work has it, and the name each code stands for."""

    codes: np.ndarray
    known: np.ndarray
    name: Callable[[int], str]


@dataclass(frozen=True)
class _Metadata:
    """The facets of every work, encoded once and shared by both levels (decades for CE years only)."""

    maker: _Facet
    object_type: _Facet
    decade: _Facet
    century: _Facet


def clean_maker(display: str) -> str:
    """The maker's name alone, so that one maker groups together: its first line, without a qualifier such as
    "Attributed to", "(nationality, dates)" or "and workshop"; "" for an unknown or anonymous maker."""
    lines = display.strip().splitlines()
    name = _QUALIFIERS.sub("", _PARENTHESES.sub("", lines[0] if lines else ""))
    name = _WORKSHOP_SUFFIX.sub("", name).strip(" ,;")
    return "" if _NO_NAME.match(name) else name


def decade_name(year: int) -> str:
    """The decade a (CE) year falls in, as a label says it: 1654 → "1650s"."""
    return f"{year // 10 * 10}s"


def century_name(year: int) -> str:
    """The century a year falls in, counted the common way (1600–1699 is the 17th): 1654 → "17th century"."""
    century = year // 100
    return f"{_ordinal(century + 1)} century" if century >= 0 else f"{_ordinal(-century)} century BCE"


def _ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th", 21 → "21st"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def region_labels(
    xy: np.ndarray,
    object_types: Sequence[str | None],
    makers: Sequence[str | None],
    years: Sequence[int | None] | np.ndarray,
) -> list[Region]:
    """The labelled regions of both levels, coarse first, for works at xy (n × 2 in [0, 1]) with these facets."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if not len(xy) == len(object_types) == len(makers) == len(years):
        raise ValueError("xy, object_types, makers and years must have one entry per work")
    if not len(xy):
        return []
    metadata = _metadata(object_types, makers, years)
    return [region for level in LEVELS for region in _level_regions(xy, metadata, level)]


def map_clusters(xy: np.ndarray, n_clusters: int) -> np.ndarray:
    """Each work's cluster (0 … k−1, k ≤ n_clusters) by k-means in map space; the works of a cluster smaller than
    MIN_REGION_WORKS join the nearest larger one. Needs n_clusters · MIN_REGION_WORKS ≤ len(xy)."""
    sample = xy
    if len(xy) > FIT_SAMPLE:
        sample = xy[np.sort(np.random.default_rng(0).choice(len(xy), FIT_SAMPLE, replace=False))]
    kmeans = KMeans(n_clusters=n_clusters, n_init=1, random_state=0).fit(sample)
    clusters = kmeans.predict(xy)
    sizes = np.bincount(clusters, minlength=n_clusters)
    kept = np.flatnonzero(sizes >= MIN_REGION_WORKS)  # never empty: the average size is at least MIN_REGION_WORKS
    small = sizes[clusters] < MIN_REGION_WORKS
    distances = ((xy[small, None, :] - kmeans.cluster_centers_[None, kept, :]) ** 2).sum(axis=2)
    clusters[small] = kept[distances.argmin(axis=1)]
    return np.searchsorted(kept, clusters)


def _metadata(
    object_types: Sequence[str | None], makers: Sequence[str | None], years: Sequence[int | None] | np.ndarray
) -> _Metadata:
    """Every facet as codes: names factorised once per distinct value, years as decades (CE only) and centuries."""
    year_values = np.asarray(years, dtype=float)
    dated = np.isfinite(year_values)
    floored = np.floor(np.where(dated, year_values, 0)).astype(np.int64)
    return _Metadata(
        maker=_name_facet(makers, clean_maker),
        object_type=_name_facet(object_types, str.strip),
        decade=_Facet(floored // 10, dated & (floored >= 0), lambda code: decade_name(code * 10)),
        century=_Facet(floored // 100, dated, lambda code: century_name(code * 100)),
    )


def _name_facet(values: Sequence[str | None], clean: Callable[[str], str]) -> _Facet:
    """A text facet as codes of its cleaned names, each distinct value cleaned once; None and "" are missing."""
    distinct = {value: index for index, value in enumerate(dict.fromkeys(values))}  # hashed, as sorting is slow
    names = ["" if value is None else clean(value) for value in distinct]
    name_codes = {name: code for code, name in enumerate(sorted(set(names)))}
    code_of_distinct = np.array([name_codes[name] for name in names], dtype=np.int64)
    codes = code_of_distinct[np.fromiter(map(distinct.__getitem__, values), dtype=np.int64, count=len(values))]
    return _Facet(codes, codes != name_codes.get("", -1), list(name_codes).__getitem__)


def _level_regions(xy: np.ndarray, metadata: _Metadata, level: Level) -> list[Region]:
    """The labelled clusters of one level."""
    n_clusters = min(level.regions, len(xy) // MIN_REGION_WORKS)
    if not n_clusters:
        return []
    clusters = map_clusters(xy, n_clusters)
    sizes = np.bincount(clusters)
    centres = np.stack([np.bincount(clusters, weights=xy[:, axis]) for axis in (0, 1)], axis=1) / sizes[:, None]
    candidates = zip(
        _candidates(clusters, sizes, metadata.maker),
        _candidates(clusters, sizes, metadata.object_type),
        _period_candidates(clusters, sizes, metadata),
        strict=True,
    )
    regions = []
    for cluster, facets in enumerate(candidates):
        label = _label(list(facets))
        if label:
            x, y = centres[cluster]
            regions.append(Region(label, float(x), float(y), int(sizes[cluster]), level.min_zoom, level.max_zoom))
    return regions


def _candidates(
    clusters: np.ndarray, sizes: np.ndarray, facet: _Facet, min_share: float = MIN_SHARE
) -> list[tuple[float, str]]:
    """Per cluster, the lift and name of the facet's value that stands out most; (0, "") where none does."""
    codes, lifts = _best_values(clusters, sizes, facet, min_share)
    return [(float(lift), facet.name(int(code)) if lift else "") for code, lift in zip(codes, lifts, strict=True)]


def _period_candidates(clusters: np.ndarray, sizes: np.ndarray, metadata: _Metadata) -> list[tuple[float, str]]:
    """Per cluster, its decade where one stands out and holds DECADE_SHARE of its dated works, else its century."""
    decades = _candidates(clusters, sizes, metadata.decade, DECADE_SHARE)
    centuries = _candidates(clusters, sizes, metadata.century)
    return [decade if decade[0] else century for decade, century in zip(decades, centuries, strict=True)]


def _best_values(
    clusters: np.ndarray, sizes: np.ndarray, facet: _Facet, min_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster, the code of the value with the highest lift among those with support and lift enough (ties: the
    one with more works), and that lift; 0 where no value stands out."""
    cluster_of, code_of = clusters[facet.known], facet.codes[facet.known]
    codes, value_index, value_totals = np.unique(code_of, return_inverse=True, return_counts=True)
    pairs, pair_counts = np.unique(cluster_of * len(codes) + value_index.reshape(-1), return_counts=True)
    pair_cluster, pair_value = np.divmod(pairs, max(len(codes), 1))
    share = pair_counts / np.bincount(cluster_of, minlength=len(sizes))[pair_cluster]
    lift = share / (value_totals[pair_value] / len(code_of))
    enough_works = pair_counts >= np.maximum(MIN_VALUE_WORKS, MIN_COVERAGE * sizes[pair_cluster])
    ok = np.flatnonzero((share >= min_share) & enough_works & (lift >= MIN_LIFT))
    ok = ok[np.lexsort((-pair_counts[ok], -lift[ok], pair_cluster[ok]))]
    winners, first = np.unique(pair_cluster[ok], return_index=True)
    best_codes, best_lifts = np.zeros(len(sizes), dtype=np.int64), np.zeros(len(sizes))
    best_codes[winners] = codes[pair_value[ok[first]]]
    best_lifts[winners] = lift[ok[first]]
    return best_codes, best_lifts


def _label(candidates: list[tuple[float, str]]) -> str:
    """The names of the one or two facets with the highest lift, in the order given (maker, type, period)."""
    found = [(index, lift, name) for index, (lift, name) in enumerate(candidates) if lift > 0]
    best = sorted(found, key=lambda item: -item[1])[:2]
    return SEPARATOR.join(name for _, _, name in sorted(best))
