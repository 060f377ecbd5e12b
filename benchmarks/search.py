"""Search benchmark: recall@10 of the HNSW path against exact search on 100,000 clustered vectors, and p50/p99
latency of the text, similar and upload endpoints under concurrent clients against a real uvicorn server.

Runs on a temporary embedded Postgres; prints one JSON object.
`python benchmarks/search.py [--vectors N] [--skip-endpoints]`
"""

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
import psycopg
from psycopg import sql

from backend.database import connect, start_embedded, stop_embedded
from backend.migrate import upgrade
from backend.projection import fit_projection
from backend.settings import Settings
from backend.store.hnsw import DROP_HNSW_INDEX, ensure_index
from backend.store.search import Filters, knn_statement, nearest_artworks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.harness import WORDS, artsearch_env, start_server, upload_bodies  # noqa: E402
from benchmarks.synthetic import KINDS, collection, exact_top, nearby_queries  # noqa: E402
from benchmarks.timing import latency, timed_searches  # noqa: E402
from tests.helpers import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EF_SEARCH_VALUES = (20, 40, 64, 100, 128, 160, 200)
FILTER_PERCENTS = (1, 10, 50)  # how much of the collection a date filter matches
FIRST_YEAR = 1800
TEXTS_PER_ROUND = 200  # new texts for one client; the 16-client round asks twice as many


def load_collection(url: str, vectors: np.ndarray) -> dict[str, float]:
    """COPY artworks and vectors (binary), then build the HNSW index once, as a bulk load does."""
    timings = {}
    with connect(url) as conn:
        conn.execute(DROP_HNSW_INDEX)
        started = time.perf_counter()
        columns = "source, source_id, title, year_start, embed_status"
        with conn.cursor().copy(f"COPY artworks ({columns}) FROM STDIN") as copy:
            for n in range(len(vectors)):
                source = ("aic", "met", "rijksmuseum")[n % 3]
                copy.write_row((source, str(n), f"work {n}", FIRST_YEAR + year_of(n), "embedded"))
        copy_vectors(conn, vectors)
        conn.commit()
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        ensure_index(conn, "4GB", os.cpu_count())
        conn.execute("ANALYZE")
        conn.commit()
        timings["index_build_s"] = round(time.perf_counter() - started, 1)
    return timings


def copy_vectors(conn: psycopg.Connection, vectors: np.ndarray) -> None:
    """Binary COPY of the vectors of artworks 1 … N, in the caller's transaction."""
    with conn.cursor().copy("COPY embeddings (artwork_id, model, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "text", "vector"])
        for artwork_id, vector in enumerate(vectors, start=1):
            copy.write_row((artwork_id, "synthetic", vector))


def year_of(n: int) -> int:
    """The n-th work's year after FIRST_YEAR: a date filter of the first p years matches p% of the collection,
    spread over every cluster (a filter the index walk cannot satisfy by luck of the neighbourhood)."""
    return (n * 37) % 100


def measure_filters(url: str, vectors: np.ndarray, queries: np.ndarray, ef_search: int) -> dict[str, object]:
    """Filters matching 1%, 10% and 50% of the collection: hits returned (k = 10), recall@10 against exact search
    over the matching works, SQL p50, and which path the planner takes (the iterative index walk or exact)."""
    years = np.array([year_of(n) for n in range(len(vectors))])
    out: dict[str, object] = {}
    with connect(url) as conn:
        for percent in FILTER_PERCENTS:
            matching = np.flatnonzero(years < percent)
            scores = queries @ vectors[matching].T
            truth = matching[np.argsort(-scores, axis=1)[:, :10]] + 1  # artwork ids are 1-based rows
            filters = Filters(date_from=FIRST_YEAR, date_to=FIRST_YEAR + percent - 1)
            found = timed_searches(
                lambda q, f=filters: ids(nearest_artworks(conn, q, 10, ef_search, f)), queries, truth, "sql_"
            )
            statement = knn_statement("vector", frozenset({"date_from", "date_to"}), 10, exact=False)
            params = {"query": queries[0], "date_from": filters.date_from, "date_to": filters.date_to}
            plan = "\n".join(row[0] for row in conn.execute(sql.SQL("EXPLAIN ") + sql.SQL(statement), params))
            out[f"{percent}%"] = {**found, "path": "index walk" if "embeddings_hnsw_idx" in plan else "exact"}
    return out


def warm_caches(url: str) -> float:
    """Read once every table a search reads, as a server answering for a while has: COPY and the index build's table
    scan pass through small ring buffers, so without this the first searches read heap and TOAST pages from the OS
    cache. The HNSW index is written through shared buffers by its build and stays there."""
    started = time.perf_counter()
    with connect(url) as conn:
        conn.execute("SELECT sum(vector_dims(embedding)) FROM embeddings")  # detoasts every vector
        conn.execute("SELECT count(*), sum(length(title)) FROM artworks")
    return round(time.perf_counter() - started, 1)


def measure_recall(url: str, vectors: np.ndarray, queries: np.ndarray) -> dict[str, dict[str, float]]:
    """recall@10 of the API's kNN path against exact (numpy) search, and its latency, per ef_search."""
    exact = exact_top(vectors, queries, 10) + 1  # artwork ids are 1-based rows
    out = {}
    with connect(url) as conn:
        for ef in EF_SEARCH_VALUES:
            found = timed_searches(
                lambda q, ef=ef: ids(nearest_artworks(conn, q, 10, ef_search=ef)), queries, exact, "sql_"
            )
            out[str(ef)] = {"recall_at_10": found["recall_at_10"], "sql_p50_ms": found["sql_p50_ms"]}
        statement = sql.SQL("EXPLAIN (ANALYZE, COSTS OFF) ") + sql.SQL(knn_statement("vector", frozenset(), 10, False))
        plan = conn.execute(statement, {"query": queries[0]}).fetchall()
    out["plan"] = " | ".join(row[0].strip() for row in plan if "Order By" not in row[0])
    return out


def fit_and_refit(url: str) -> dict[str, object]:
    """The PCA map over the collection (every position inserted), a refit (every position rewritten), then the
    VACUUM of map_positions. Neither touches the embeddings rows, so the HNSW index is left as it was built."""
    out: dict[str, object] = {}
    for name in ("fit", "refit"):
        with connect(url) as conn:
            out[name] = vars(fit_projection(conn))
    started = time.perf_counter()
    with connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE map_positions")
    return {**out, "vacuum_s": round(time.perf_counter() - started, 1)}


def ids(rows: list[dict]) -> list[int]:
    """The artwork ids of search hits."""
    return [row["id"] for row in rows]


async def load_test(base: str, requests: list[dict], concurrency: int) -> dict[str, float]:
    """Closed loop: `concurrency` clients each send their next request as soon as the last one answered."""
    queue = iter(requests)
    latencies: list[float] = []
    errors = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for request in queue:
            data = None
            if "upload" in request:
                data = aiohttp.FormData()
                data.add_field("file", request["upload"], filename="q.jpg", content_type="image/jpeg")
                data.add_field("k", "20")
            started = time.perf_counter()
            async with session.request(request["method"], base + request["path"], data=data) as response:
                await response.read()
                errors += response.status != 200
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        **latency(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
    }


def endpoint_requests(n_vectors: int, rng: np.random.Generator, scale: int, texts: list[str]) -> dict[str, list[dict]]:
    """New texts (each asked once: no cache hits), repeated ones (cache hits), similar by random id, uploads."""
    return {
        "text": [{"method": "GET", "path": f"/api/search?k=20&q={text}"} for text in texts],
        "text_cached": [{"method": "GET", "path": f"/api/search?k=20&q={texts[n % 10]}"} for n in range(100 * scale)],
        "similar": [
            {"method": "GET", "path": f"/api/artworks/{rng.integers(1, n_vectors + 1)}/similar?k=20"}
            for _ in range(200 * scale)
        ],
        "upload": [
            {"method": "POST", "path": "/api/search/image", "upload": body} for body in upload_bodies(30 * scale, rng)
        ],
    }


def measure_endpoints(url: str, home: Path, n_vectors: int, concurrency: int) -> dict[str, object]:
    from transformers import CLIPConfig

    from backend.clip_model import save_random_clip

    model_dir = save_random_clip(home / "clip-vit-base-patch32-random", CLIPConfig())
    port = free_port()
    server = start_server(artsearch_env(home, model_dir, url), port)
    base = f"http://127.0.0.1:{port}"
    rng = np.random.default_rng(2)
    phrases = [" ".join(words) for words in itertools.permutations(WORDS, 3)]
    texts = iter([phrases[i] for i in rng.permutation(len(phrases))])  # no text is asked twice by accident
    warm_up = endpoint_requests(n_vectors, rng, 1, list(itertools.islice(texts, 10)))
    try:
        results: dict[str, object] = {}
        for clients, scale in ((1, 1), (concurrency, 2)):
            plan = endpoint_requests(n_vectors, rng, scale, list(itertools.islice(texts, TEXTS_PER_ROUND * scale)))
            for name in ("similar", "text", "text_cached", "upload"):
                asyncio.run(load_test(base, warm_up[name][:5], 1))  # warm-up: caches, pool, JIT paths
                results[f"{name}_clients_{clients}"] = asyncio.run(load_test(base, plan[name], clients))
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--clusters", type=int, default=300)
    parser.add_argument("--kind", choices=KINDS, default="manifold", help="synthetic vectors (benchmarks/synthetic.py)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-endpoints", action="store_true", help="only recall, and the map fit and refit")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="asbench-"))
    url = start_embedded(home / "pgdata", Settings().embedded_shared_buffers)
    try:
        upgrade(url)
        rng = np.random.default_rng(1)
        vectors = collection(args.kind, args.vectors, args.clusters, rng)
        report: dict[str, object] = {
            "vectors": args.vectors,
            "clusters": args.clusters,
            "kind": args.kind,
            "cpu_cores": os.cpu_count(),
        }
        report["load"] = load_collection(url, vectors)
        report["load"]["warm_caches_s"] = warm_caches(url)
        queries = nearby_queries(vectors, args.queries, rng)
        report["recall_by_ef_search"] = measure_recall(url, vectors, queries)
        report["filtered"] = measure_filters(url, vectors, queries, Settings().hnsw_ef_search)
        report["projection"] = fit_and_refit(url)
        report["recall_after_projection"] = measure_recall(url, vectors, queries)
        if not args.skip_endpoints:
            report["endpoints"] = measure_endpoints(url, home, args.vectors, args.concurrency)
    finally:
        stop_embedded(home / "pgdata")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
