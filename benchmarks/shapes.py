"""What composed queries and near-duplicate stacks cost against a plain search, at 100,000 works.

The synthetic collection of benchmarks/search.py (manifold vectors, HNSW index) in a temporary embedded Postgres.
Each query runs three ways, one after another, so the three meet the same caches: a plain k-nearest search; a
composed query (the query, plus a stored artwork at half weight, minus another at half weight: the artworks'
vectors read, the sum normalised, the index walked, the named artworks left out), and the same walk alone on such a
sum (`composed_walk_only`: what the direction costs, the reads aside); and a stacked search (the rows
fetched three times over with their vectors, folded by backend.stacks). The text and image towers are not part of
it: a composed query's texts cost what a text search's does, once per text. Prints one JSON object.

    .venv/bin/python benchmarks/shapes.py [--vectors 100000] [--queries 200] [--k 20]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from backend.api.shaping import stacked_rows  # noqa: E402
from backend.compose import compose  # noqa: E402
from backend.database import connect, start_embedded, stop_embedded  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.store.search import live_embeddings, nearest_artworks  # noqa: E402
from benchmarks.search import load_collection, warm_caches  # noqa: E402
from benchmarks.synthetic import collection, nearby_queries  # noqa: E402
from benchmarks.timing import latency  # noqa: E402


def main() -> None:
    """Load, warm, then time the three kinds of search over the same queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    settings = Settings()
    home = Path(tempfile.mkdtemp(prefix="asshapes-"))
    url = start_embedded(home / "pgdata", settings.embedded_shared_buffers)
    report: dict[str, object] = {"benchmark": "shapes", "vectors": args.vectors, "k": args.k, "cores": os.cpu_count()}
    try:
        upgrade(url)
        rng = np.random.default_rng(5)
        vectors = collection("manifold", args.vectors, 300, rng)
        report["load"] = load_collection(url, vectors)
        warm_caches(url)
        queries = nearby_queries(vectors, args.queries, rng)
        ef, k = settings.hnsw_ef_search, args.k
        with connect(url) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM artworks ORDER BY id")]  # in the vectors' order
            position = {artwork_id: n for n, artwork_id in enumerate(ids)}
            plain = partial(nearest_artworks, conn, k=k, ef_search=ef)

            def composed(query: np.ndarray) -> list[dict]:
                more, less = (int(i) for i in rng.choice(ids, 2, replace=False))
                stored = live_embeddings(conn, [more, less])
                rows = nearest_artworks(conn, compose([query, stored[more], stored[less]], [1.0, 0.5, -0.5]), k + 2, ef)
                return [row for row in rows if row["id"] not in (more, less)][:k]

            def composed_walk(query: np.ndarray) -> list[dict]:
                more, less = (int(i) for i in rng.choice(ids, 2, replace=False))
                parts = [query, vectors[position[more]], vectors[position[less]]]
                return nearest_artworks(conn, compose(parts, [1.0, 0.5, -0.5]), k, ef)

            def stacked(query: np.ndarray) -> list[list[dict]]:
                search = partial(nearest_artworks, conn, query, ef_search=ef)
                return stacked_rows(conn, search, k, settings.stack_threshold)

            kinds = {"plain": plain, "composed": composed, "composed_walk_only": composed_walk, "stacked": stacked}
            times: dict[str, list[float]] = {name: [] for name in kinds}
            fewest = dict.fromkeys(kinds, args.k)
            for query in queries:  # interleaved: each kind meets the same state of the caches
                for name, search in kinds.items():
                    started = time.perf_counter()
                    hits = search(query)
                    times[name].append(time.perf_counter() - started)
                    fewest[name] = min(fewest[name], len(hits))
        for name in kinds:
            report[name] = {**latency(times[name]), "fewest_hits": fewest[name]}
        for name in ("composed", "stacked"):
            report[f"{name}_to_plain_p50"] = round(report[name]["p50_ms"] / report["plain"]["p50_ms"], 2)
    finally:
        stop_embedded(home / "pgdata")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
