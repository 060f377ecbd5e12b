"""How the benchmarks time a search and score it: one home for percentiles and recall against exact search."""

import time
from collections.abc import Callable, Iterable

import numpy as np


def ms(seconds: list[float], percentile: float) -> float:
    """A percentile of durations in seconds, in milliseconds."""
    return round(float(np.percentile(seconds, percentile)) * 1000, 2)


def latency(times: list[float], prefix: str = "") -> dict[str, float]:
    """p50 and p99 of durations in seconds."""
    return {f"{prefix}p50_ms": ms(times, 50), f"{prefix}p99_ms": ms(times, 99)}


def timed_searches(
    search: Callable[[np.ndarray], Iterable[int]],
    queries: np.ndarray,
    truth: np.ndarray | None = None,
    prefix: str = "",
) -> dict[str, float]:
    """Run search (query → the ids it found) once per query: p50/p99 (keys after prefix), the fewest hits, and
    recall@k against truth (one row of expected ids per query) when given."""
    times, hits, recalls = [], [], []
    for n, query in enumerate(queries):
        started = time.perf_counter()
        found = set(search(query))
        times.append(time.perf_counter() - started)
        hits.append(len(found))
        if truth is not None:
            recalls.append(len(found & set(truth[n].tolist())) / truth.shape[1])
    out = {**latency(times, prefix), "min_hits": min(hits)}
    if truth is not None:
        out["recall_at_10"] = round(float(np.mean(recalls)), 4)
    return out
