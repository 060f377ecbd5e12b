"""The index choice: HNSW variants (vector type, m, ef_construction) over one synthetic collection, side by side —
build time, index size, and recall@10 against exact search with its latency at each ef_search.

Runs on a temporary embedded Postgres; prints one JSON object. Each variant is built over the same rows as the
product builds its index (parallel maintenance workers, maintenance_work_mem sized by backend.database), then
walked without the filters or joins of the search path: this measures the graph, benchmarks/search.py the product.

    .venv/bin/python benchmarks/index.py [--vectors 560000] [--kind manifold] [--variants halfvec:16:128 …]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.database import (  # noqa: E402
    HNSW_BYTES_PER_VECTOR,
    connect,
    embedded_memory,
    machine_memory_bytes,
    start_embedded,
    stop_embedded,
)
from benchmarks.synthetic import DIM, KINDS, LATENT_DIM, collection, describe, exact_top, nearby_queries  # noqa: E402
from benchmarks.timing import timed_searches  # noqa: E402

EF_SEARCH_VALUES = (40, 100, 200, 400, 800)
DEFAULT_VARIANTS = ("vector:16:128", "halfvec:16:128", "halfvec:16:64", "halfvec:24:128")
# What each vector type indexes, and how a query must be written to be served by that index.
EXPRESSIONS = {
    "vector": ("embedding vector_ip_ops", "embedding <#> %(q)s::vector"),
    "halfvec": (f"(embedding::halfvec({DIM})) halfvec_ip_ops", f"embedding::halfvec({DIM}) <#> %(q)s::halfvec({DIM})"),
}


def load(url: str, vectors: np.ndarray) -> float:
    """The vectors into a bare table by binary COPY; seconds taken."""
    with connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    started = time.perf_counter()
    with connect(url) as conn:
        conn.execute(f"CREATE TABLE sweep (id bigint PRIMARY KEY, embedding vector({DIM}) NOT NULL)")
        with conn.cursor().copy("COPY sweep (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector"])
            for row, vector in enumerate(vectors):
                copy.write_row((row, vector))
        conn.execute("ANALYZE sweep")
    return round(time.perf_counter() - started, 1)


def measure_variant(url: str, variant: str, queries: np.ndarray, truth: np.ndarray) -> dict[str, object]:
    """Build one variant, walk it at every ef_search, drop it."""
    kind, m, ef_construction = variant.split(":")
    indexed, order = EXPRESSIONS[kind]
    with connect(url, autocommit=True) as conn:
        conn.execute(f"SET max_parallel_maintenance_workers = {os.cpu_count()}")
        started = time.perf_counter()
        graph = f"m = {m}, ef_construction = {ef_construction}"
        conn.execute(f"CREATE INDEX sweep_idx ON sweep USING hnsw ({indexed}) WITH ({graph})")
        build_s = time.perf_counter() - started
        size = conn.execute("SELECT pg_relation_size('sweep_idx')").fetchone()[0]
        walks = {}
        statement = f"SELECT id FROM sweep ORDER BY {order} LIMIT 10"
        for ef in EF_SEARCH_VALUES:
            conn.execute(f"SET hnsw.ef_search = {ef}")
            for query in queries[:20]:  # warm-up: the upper layers and the first pages into the backend's cache
                conn.execute(statement, {"q": query}).fetchall()
            found = timed_searches(lambda q: [row[0] for row in conn.execute(statement, {"q": q})], queries, truth)
            walks[str(ef)] = {
                "recall_at_10": found["recall_at_10"],
                "sql_p50_ms": found["p50_ms"],
                "sql_p99_ms": found["p99_ms"],
            }
        conn.execute("DROP INDEX sweep_idx")
    return {"build_s": round(build_s, 1), "index_mb": round(size / 2**20, 1), "by_ef_search": walks}


def main() -> None:
    """Generate, load, then build and walk each variant in turn; print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=560_000)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--kind", choices=KINDS, default="manifold")
    parser.add_argument("--latent-dim", type=int, default=LATENT_DIM, help="the manifold kind's intrinsic dimension")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS), help="type:m:ef_construction")
    args = parser.parse_args()

    rng = np.random.default_rng(1)
    vectors = collection(args.kind, args.vectors, args.clusters, rng, args.latent_dim)
    queries = nearby_queries(vectors, args.queries, rng)
    truth = exact_top(vectors, queries, 10)
    report: dict[str, object] = {
        "benchmark": "index",
        "vectors": args.vectors,
        "clusters": args.clusters,
        "kind": args.kind,
        "latent_dim": args.latent_dim if args.kind == "manifold" else None,
        "data": describe(vectors, rng),
        "cpu_cores": os.cpu_count(),
    }
    home = Path(tempfile.mkdtemp(prefix="asindex-"))
    memory = embedded_memory(machine_memory_bytes(), args.vectors * HNSW_BYTES_PER_VECTOR)
    url = start_embedded(home / "pgdata", *memory)
    try:
        report["memory"] = {"shared_buffers": memory[0], "maintenance_work_mem": memory[1]}
        report["copy_s"] = load(url, vectors)
        report["variants"] = {}
        for variant in args.variants:
            report["variants"][variant] = measure_variant(url, variant, queries, truth)
            print(json.dumps({variant: report["variants"][variant]}), file=sys.stderr, flush=True)
    finally:
        stop_embedded(home / "pgdata")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
