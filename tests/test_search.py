"""The kNN store on a few thousand clustered vectors: the plan uses HNSW, filters still fill k, recall."""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import psycopg
import pytest
from psycopg import sql

from backend.database import connect
from backend.store.search import (
    SEARCH_SETTINGS,
    Filters,
    artworks_like,
    knn_statement,
    nearest_artworks,
)
from tests.helpers import clustered_unit_vectors, fresh_database

N = 2000
RARE_MUSEUM_SIZE = 7  # artworks of the one museum a selective filter asks for
ONE_PERCENT = N // 100  # artworks of the museum 1% of the collection belongs to


@dataclass
class Synthetic:
    """A connection to the synthetic collection, with its vectors and ids in insertion order."""

    conn: psycopg.Connection
    vectors: np.ndarray
    ids: list[int]


@pytest.fixture(scope="module")
def synthetic(pg_server_url: str) -> Iterator[Synthetic]:
    """The tests only read: one database for the module."""
    vectors = clustered_unit_vectors(N, 40, np.random.default_rng(7))
    with fresh_database(pg_server_url, "s") as url, connect(url) as conn:
        with conn.cursor().copy("COPY artworks (source, source_id, title, object_type, year_start) FROM STDIN") as copy:
            for n in range(N):
                source = "rare" if n < RARE_MUSEUM_SIZE else "small" if n % 100 == 50 else ("aic", "met")[n % 2]
                copy.write_row((source, str(n), f"work {n}", ("Painting", "Print")[n % 2], 1500 + n % 400))
        ids = [row[0] for row in conn.execute("SELECT id FROM artworks ORDER BY source_id::int")]
        with conn.cursor().copy(
            "COPY embeddings (artwork_id, model, embedding) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "text", "vector"])
            for artwork_id, vector in zip(ids, vectors, strict=True):
                copy.write_row((artwork_id, "synthetic", vector))
        conn.execute("ANALYZE")
        conn.commit()
        yield Synthetic(conn, vectors, ids)


@pytest.fixture
def conn(synthetic: Synthetic) -> psycopg.Connection:
    return synthetic.conn


@pytest.fixture
def vectors(synthetic: Synthetic) -> np.ndarray:
    return synthetic.vectors


def plan(
    conn: psycopg.Connection, query: np.ndarray, kind: str = "vector", exact: bool = False, **params: object
) -> str:
    statement = knn_statement(kind, frozenset(params), 10, exact)
    rows = conn.execute(sql.SQL("EXPLAIN ") + sql.SQL(statement), {"query": query, **params}).fetchall()
    return "\n".join(row[0] for row in rows)


def test_the_knn_query_walks_the_hnsw_index(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    query = vectors[3]
    assert "Index Scan using embeddings_hnsw_idx" in plan(conn, query)
    assert "Index Scan using embeddings_hnsw_idx" in plan(conn, query, museum="aic")
    assert "embeddings_hnsw_idx" not in plan(conn, query, exact=True)
    # "more like this" reads the artwork's vector inside the statement and still walks the index
    assert "Index Scan using embeddings_hnsw_idx" in plan(conn, query, "artwork", exclude_id=5)
    assert "embeddings_hnsw_idx" not in plan(conn, query, "artwork", exact=True, exclude_id=5)


def test_the_plan_postgres_keeps_for_repeated_searches_walks_the_index(
    conn: psycopg.Connection, vectors: np.ndarray
) -> None:
    conn.commit()
    for n in range(12):  # psycopg prepares on the 6th run; Postgres weighs a generic plan after 5 more
        nearest_artworks(conn, vectors[n], 10, ef_search=100)
    name, generic_plans = conn.execute(
        "SELECT name, generic_plans FROM pg_prepared_statements WHERE statement LIKE '%WITH nearest%'"
    ).fetchone()
    assert generic_plans >= 1  # planned once, not per search
    with conn.transaction():
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        explain = sql.SQL("EXPLAIN EXECUTE {}({})")  # an unfiltered search's one parameter: the query vector
        rows = conn.execute(explain.format(sql.Identifier(name), sql.Literal(vectors[0]))).fetchall()
    assert "Index Scan using embeddings_hnsw_idx" in "\n".join(row[0] for row in rows)


def test_hnsw_agrees_with_exact_search(conn: psycopg.Connection) -> None:
    queries = clustered_unit_vectors(30, 40, np.random.default_rng(8))
    overlap = []
    for query in queries:
        found = {row["id"] for row in nearest_artworks(conn, query, 10, ef_search=100)}
        exact = exact_ids(conn, query, 10)
        overlap.append(len(found & exact) / 10)
    assert np.mean(overlap) >= 0.95


def exact_ids(conn: psycopg.Connection, query: np.ndarray, k: int) -> set[int]:
    rows = conn.execute(
        "SELECT artwork_id FROM embeddings ORDER BY (embedding <#> %s) + 0 LIMIT %s", (query, k)
    ).fetchall()
    return {row[0] for row in rows}


def test_ef_search_is_set_for_the_query_only(synthetic: Synthetic) -> None:
    conn = synthetic.conn
    conn.commit()  # as a pooled connection is handed out: no transaction open, so SET LOCAL ends with the search's
    before = conn.execute("SHOW hnsw.ef_search").fetchone()[0]
    conn.commit()
    nearest_artworks(conn, synthetic.vectors[3], 5, ef_search=123)
    assert conn.execute("SHOW hnsw.ef_search").fetchone()[0] == before != "123"


def test_scores_are_cosine_and_best_first(synthetic: Synthetic) -> None:
    conn, vectors = synthetic.conn, synthetic.vectors
    rows = nearest_artworks(conn, vectors[10], 5, ef_search=100)
    assert rows[0]["score"] == pytest.approx(1.0, abs=1e-5)
    for row in rows:
        assert row["score"] == pytest.approx(float(vectors[synthetic.ids.index(row["id"])] @ vectors[10]), abs=1e-5)
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)


def test_a_selective_filter_still_returns_every_match(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    query = vectors[1500]  # far from the rare museum's few artworks
    rows = nearest_artworks(conn, query, 5, ef_search=40, filters=Filters(museum="rare"))
    assert len(rows) == 5 and {row["source"] for row in rows} == {"rare"}
    everything = nearest_artworks(conn, query, 50, ef_search=40, filters=Filters(museum="rare"))
    assert len(everything) == RARE_MUSEUM_SIZE


def test_a_one_percent_filter_fills_k_from_the_index_walk_alone(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    """The index walk by itself: on 20 matches of 2,000 the planner would rightly score them exactly, so the walk is
    made the only plan; with iterative scans it goes on past ef_search until k pass, without them it ends short."""
    statement = knn_statement("vector", frozenset({"museum"}), 15, exact=False)
    params = {"query": vectors[3], "museum": "small"}

    def walk(iterative: str) -> list[tuple]:
        with conn.transaction():
            conn.execute(sql.SQL(SEARCH_SETTINGS).format(40))
            conn.execute("SET LOCAL enable_sort = off")  # scoring the matches exactly needs a sort
            conn.execute(sql.SQL("SET LOCAL hnsw.iterative_scan = {}").format(sql.Identifier(iterative)))
            explained = "\n".join(row[0] for row in conn.execute(sql.SQL("EXPLAIN ") + sql.SQL(statement), params))
            assert "Index Scan using embeddings_hnsw_idx" in explained
            return conn.execute(statement, params).fetchall()

    rows = walk("relaxed_order")
    assert len(rows) == 15 < ONE_PERCENT and {row[1] for row in rows} == {"small"}
    scores = [row[-1] for row in rows]
    assert scores == sorted(scores, reverse=True)
    assert len(walk("off")) < 15  # 40 candidates hold about one match in a hundred


def test_common_filters_fill_k_from_the_index(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    query = vectors[42]
    rows = nearest_artworks(conn, query, 50, ef_search=40, filters=Filters(museum="met", type="print"))
    assert len(rows) == 50 and {row["source"] for row in rows} == {"met"}
    dated = nearest_artworks(conn, query, 30, ef_search=40, filters=Filters(date_from=1600, date_to=1650))
    assert len(dated) == 30
    assert all(row["score"] >= 0.2 for row in nearest_artworks(conn, query, 30, 40, Filters(min_score=0.2)))


def test_exclude_id_leaves_out_the_query_artwork(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    own_id = conn.execute("SELECT id FROM artworks WHERE source_id = '42'").fetchone()[0]
    rows = nearest_artworks(conn, vectors[42], 10, ef_search=40, exclude_id=own_id)
    assert len(rows) == 10 and own_id not in {row["id"] for row in rows}


def test_artworks_like_matches_the_search_by_its_vector(synthetic: Synthetic) -> None:
    conn, own_id = synthetic.conn, synthetic.ids[42]
    like = artworks_like(conn, own_id, 10, ef_search=100)
    by_vector = nearest_artworks(conn, synthetic.vectors[42], 10, ef_search=100, exclude_id=own_id)
    assert like is not None and len(like) == 10 and own_id not in {row["id"] for row in like}
    assert [row["id"] for row in like] == [row["id"] for row in by_vector]


def test_artworks_like_takes_the_filters(synthetic: Synthetic) -> None:
    conn, own_id = synthetic.conn, synthetic.ids[0]  # one of the rare museum's works
    rare = artworks_like(conn, own_id, 10, ef_search=40, filters=Filters(museum="rare"))
    assert sorted(row["id"] for row in rare) == synthetic.ids[1:RARE_MUSEUM_SIZE]
    like = artworks_like(conn, own_id, 10, ef_search=40, filters=Filters(museum="met", date_to=1550))
    assert like is not None and len(like) == 10 and {row["source"] for row in like} == {"met"}
    assert artworks_like(conn, own_id, 10, ef_search=40, filters=Filters(museum="nowhere")) == []


def test_artworks_like_is_none_for_an_artwork_without_a_vector(conn: psycopg.Connection) -> None:
    assert artworks_like(conn, 10**12, 10, ef_search=40) is None
    with conn.transaction(force_rollback=True):  # a deleted artwork has no neighbours either
        conn.execute("UPDATE artworks SET deleted = true WHERE source_id = '7'")
        deleted_id = conn.execute("SELECT id FROM artworks WHERE source_id = '7'").fetchone()[0]
        assert artworks_like(conn, deleted_id, 10, ef_search=40) is None
