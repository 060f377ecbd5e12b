"""The facets the filters offer, counted on a real Postgres: only searchable works, museum labels, types grouped as
the `type` filter matches them, and a histogram of years that sums to the dated works and clips outliers."""

import psycopg
import pytest

from backend.database import connect
from backend.store.facets import MAX_YEAR_BINS, collection_facets, year_histogram
from backend.store.search import PREDICATES

COLUMNS = ("source", "source_id", "institution", "object_type", "year_start", "year_end", "embed_status", "deleted")


def load(db_url: str, rows: list[tuple]) -> None:
    """Works as (source, institution, object_type, year_start, year_end, embed_status, deleted)."""
    with connect(db_url) as conn, conn.cursor().copy(f"COPY artworks ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for n, (source, *rest) in enumerate(rows):
            copy.write_row((source, str(n), *rest))


def facets(db_url: str, **options: int) -> dict:
    with connect(db_url) as conn:
        return collection_facets(conn, **options)


def work(
    source: str = "aic",
    institution: str | None = None,
    object_type: str | None = None,
    year_start: int | None = None,
    year_end: int | None = None,
    embed_status: str = "embedded",
    deleted: bool = False,
) -> tuple:
    return (source, institution, object_type, year_start, year_end, embed_status, deleted)


def test_only_live_embedded_works_count(db_url: str) -> None:
    load(
        db_url,
        [work(), work(), work(deleted=True), work(embed_status="pending"), work(embed_status="failed")]
        + [work(embed_status="claimed"), work("met", deleted=True)],
    )
    assert facets(db_url)["museums"] == [{"value": "aic", "label": "aic", "count": 2}]
    assert facets(db_url)["total"] == 2


def test_museums_are_labelled_by_the_institution_most_of_their_works_name(db_url: str) -> None:
    chicago = "Art Institute of Chicago"
    load(
        db_url,
        [work("aic", chicago)] * 3 + [work("aic", "Lent by a collector"), work("aic"), work("aic", "")] * 2
        + [work("met")] * 7 + [work("folder", "Someone's attic")],
    )  # fmt: skip
    assert facets(db_url)["museums"] == [
        {"value": "aic", "label": chicago, "count": 9},
        {"value": "met", "label": "met", "count": 7},
        {"value": "folder", "label": "Someone's attic", "count": 1},
    ]


def test_types_are_grouped_as_the_type_filter_matches_them(db_url: str) -> None:
    load(
        db_url,
        [work(object_type="painting")] * 2 + [work(object_type="Painting")] * 3 + [work(object_type="PAINTING")]
        + [work(object_type="Print")] * 4 + [work(object_type="Vase")] + [work(object_type="")] * 5
        + [work(object_type=None)] * 5,
    )  # fmt: skip
    types = facets(db_url)["types"]
    assert types == [{"value": "Painting", "count": 6}, {"value": "Print", "count": 4}, {"value": "Vase", "count": 1}]
    matching = f"SELECT count(*) FROM artworks a WHERE {PREDICATES['type']}"
    with connect(db_url) as conn:
        for facet in types:  # the count is what a search filtered by the value, in any case, can reach
            assert conn.execute(matching, {"type": facet["value"].swapcase()}).fetchone()[0] == facet["count"]
    assert facets(db_url, max_types=2)["types"] == types[:2]


def test_the_year_histogram_sums_to_the_dated_works_and_clips_outliers(db_url: str) -> None:
    central = [work(year_start=1600 + n % 300) for n in range(1200)]
    outliers = [work(year_start=5), work(year_start=19), work(year_end=2900), work(year_start=1652, year_end=1890)]
    load(db_url, central + outliers + [work()] * 3)
    years = facets(db_url)["years"]
    assert (years["start"], years["end"], years["bin"]) == (1600, 1900, 5)  # 60 bins: 1 year would give 300
    assert len(years["counts"]) == 60
    assert (years["dated"], years["undated"]) == (1204, 3)
    assert sum(years["counts"]) == years["dated"]
    assert years["counts"][0] == 20 + 2  # 1600–1604, and the two too early to draw
    assert years["counts"][-1] == 20 + 1  # 1895–1899, and 2900 (its only year is its end)
    assert years["counts"][10] == 20 + 1  # 1650–1654: the work of 1652–1890 counts at its start


def test_facets_of_an_empty_collection(db_url: str) -> None:
    assert facets(db_url) == {"museums": [], "types": [], "years": None, "total": 0}


def test_facets_agree_on_one_snapshot(db_url: str) -> None:
    load(db_url, [work("aic", object_type="Print", year_start=1700), work("met"), work(embed_status="pending")])
    with psycopg.connect(db_url, autocommit=True) as conn:
        counted = collection_facets(conn)
    assert counted["total"] == counted["years"]["dated"] + counted["years"]["undated"] == 2


@pytest.mark.parametrize(
    ("works_by_year", "expected"),
    [
        ({1642: 3}, (1642, 1643, 1, [3])),
        ({-500: 1, -421: 2}, (-500, -420, 1, [1] + [0] * 78 + [2])),  # 80 years: the most one-year bins
        ({-500: 1, -420: 2}, (-500, -415, 5, [1] + [0] * 15 + [2])),
        ({1000: 1, 2000: 1}, (1000, 2025, 25, [1] + [0] * 39 + [1])),
        ({-3000: 1, 2000: 1}, (-3000, 2100, 100, [1] + [0] * 49 + [1])),
        ({-50_000: 1, 2000: 1}, (-50_000, 3000, 1000, [1] + [0] * 51 + [1])),
    ],
)
def test_bin_widths_are_round_and_at_most_80_a_histogram(works_by_year: dict, expected: tuple) -> None:
    histogram = year_histogram(works_by_year)
    assert (histogram["start"], histogram["end"], histogram["bin"], histogram["counts"]) == expected


def test_a_span_past_the_widest_bins_is_cut_short_into_the_last_bin() -> None:
    histogram = year_histogram({-1_000_000: 1, 0: 1, 1_000_000: 1})
    assert histogram["bin"] == 1000 and len(histogram["counts"]) == MAX_YEAR_BINS
    assert histogram["start"] == -1_000_000 and histogram["counts"][-1] == 2
    assert year_histogram({}) is None
