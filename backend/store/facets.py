"""What the search filters can offer: the museums, the commonest object types and a histogram of dates, counted
over the works a search can return (live and embedded), each facet in one scan of artworks.

Each statement is a hash aggregate over its scan that hands back only distinct values (sources and institutions,
spellings, years), regrouped from there in SQL or here: no sort and no Python loop ever runs over every work.
"""

from typing import Any

import numpy as np
import psycopg

from backend.models import EmbedStatus

SEARCHABLE = f"NOT deleted AND embed_status = '{EmbedStatus.EMBEDDED}'"  # embedded ⇔ it has a vector row
MAX_TYPES = 40
MAX_YEAR_BINS = 80
BIN_YEARS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
# The histogram spans these percentiles of the years, so a handful of mistyped dates (year 19 for 1919) cannot
# stretch it; the works beyond are counted in the first or last bin.
YEAR_PERCENTILES = (0.005, 0.995)

# Per source, the institution most of its works name (ties: the first by name); empty names count as none.
MUSEUMS_SQL = f"""
WITH pairs AS (
    SELECT source, nullif(institution, '') AS institution, count(*) AS works
    FROM artworks
    WHERE {SEARCHABLE}
    GROUP BY 1, 2
)
SELECT source,
       coalesce((array_agg(institution ORDER BY works DESC, institution)
                 FILTER (WHERE institution IS NOT NULL))[1], source) AS label,
       sum(works)::bigint AS count
FROM pairs
GROUP BY source
ORDER BY count DESC, source
"""

# Grouped as the `type` filter matches (lower(object_type) = lower(…)), named by the commonest spelling.
TYPES_SQL = f"""
WITH spellings AS (
    SELECT object_type, count(*) AS works
    FROM artworks
    WHERE {SEARCHABLE} AND object_type <> ''
    GROUP BY object_type
)
SELECT (array_agg(object_type ORDER BY works DESC, object_type))[1] AS value, sum(works)::bigint AS count
FROM spellings
GROUP BY lower(object_type)
ORDER BY count DESC, value
LIMIT %(limit)s
"""

# The year a date filter tests (backend.store.search.PREDICATES), NULL for the undated: a few thousand rows at most.
YEARS_SQL = f"""
SELECT coalesce(year_start, year_end) AS year, count(*)
FROM artworks
WHERE {SEARCHABLE}
GROUP BY 1
"""

# One snapshot for the three statements, so the facets' counts agree with each other.
SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"


def collection_facets(conn: psycopg.Connection, max_types: int = MAX_TYPES) -> dict[str, Any]:
    """{"museums": [{value, label, count}], "types": [{value, count}], "years": year_histogram(…), "total"}."""
    with conn.transaction():
        conn.execute(SNAPSHOT)
        museums = [
            {"value": source, "label": label, "count": n} for source, label, n in conn.execute(MUSEUMS_SQL).fetchall()
        ]
        types = [{"value": value, "count": n} for value, n in conn.execute(TYPES_SQL, {"limit": max_types})]
        years = conn.execute(YEARS_SQL).fetchall()
    undated = sum(n for year, n in years if year is None)
    dated = {year: n for year, n in years if year is not None}
    return {
        "museums": museums,
        "types": types,
        "years": year_histogram(dated, undated),
        "total": sum(museum["count"] for museum in museums),
    }


def year_histogram(works_by_year: dict[int, int], undated: int = 0) -> dict[str, Any] | None:
    """{start, end, bin, counts, dated, undated}: bin i of counts holds the years start + i·bin up to (not
    including) start + (i + 1)·bin, end is start + bin·len(counts). It spans the central 99% of the years
    (YEAR_PERCENTILES) in the roundest bins that give at most MAX_YEAR_BINS; None without a dated work."""
    if not works_by_year:
        return None
    years = np.array(sorted(works_by_year), dtype=np.int64)
    counts = np.array([works_by_year[year] for year in years], dtype=np.int64)
    cumulative = np.cumsum(counts)
    dated = int(cumulative[-1])
    # the lowest year whose cumulative share reaches each percentile (percentile_disc's definition)
    low, high = (int(years[np.searchsorted(cumulative, share * dated)]) for share in YEAR_PERCENTILES)
    # the first round width whose aligned bins cover low..high in MAX_YEAR_BINS; the widest cuts a longer span short
    width = next((w for w in BIN_YEARS if high // w - low // w < MAX_YEAR_BINS), BIN_YEARS[-1])
    start = low // width * width
    bins = min(high // width - low // width + 1, MAX_YEAR_BINS)
    index = np.clip((years - start) // width, 0, bins - 1)
    per_bin = np.bincount(index, weights=counts, minlength=bins).astype(np.int64)
    return {
        "start": start, "end": start + bins * width, "bin": width, "counts": per_bin.tolist(), "dated": dated,
        "undated": undated,
    }  # fmt: skip
