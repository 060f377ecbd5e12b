"""The rehearsal of a whole museum: a Rijksmuseum OAI-PMH replica of N records crawled through the real adapter,
N synthetic vectors through the real write stage in bulk mode, the index build, search quality and latency (SQL
and HTTP), the map's fit, and a nightly incremental run (crawl --since → embed → place) over 1% changed records.

Runs on a temporary embedded Postgres under a fresh ARTSEARCH_HOME, as `artsearch` itself would; prints one JSON
object. The model for the endpoints and the nightly run is a random-weight ViT-B/32: the real architecture's cost,
no download.

    .venv/bin/python benchmarks/scale.py [--works 560000] [--crawl-1-works N] [--kind manifold]
"""

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.database import connect, database_url, index_build_memory, stop_embedded  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.projection import fit_projection  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.store.embed_queue import claim_pending_artworks  # noqa: E402
from backend.store.hnsw import begin_bulk_load, ensure_index  # noqa: E402
from backend.store.projections import current_projection_id  # noqa: E402
from backend.store.search import Filters, artworks_like, nearest_artworks  # noqa: E402
from benchmarks.crawl import crawl_into, crawl_once  # noqa: E402
from benchmarks.harness import WORDS, artsearch_env, memory_mb, start_server, upload_bodies  # noqa: E402
from benchmarks.search import ids, load_test, warm_caches  # noqa: E402
from benchmarks.synthetic import KINDS, collection, describe, exact_top, nearby_queries  # noqa: E402
from benchmarks.timing import timed_searches  # noqa: E402
from etl.pipeline.items import EmbeddedBatch  # noqa: E402
from etl.pipeline.write import WriteResults  # noqa: E402
from tests.helpers import free_port  # noqa: E402
from tests.replicas import start_replica  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# The replica dates record n at 1600 + n % 250: 3 and 25 of its 250 years are 1.2% and 10% of the collection.
FILTERS = {"1.2%": (1600, 1602), "10%": (1600, 1624)}
CLAIM_CHUNK = 20_000
WARM_UP = 3_000  # searches after a restart before the measured ones: what a server answers in its first minutes
MATCHING = "SELECT id FROM artworks WHERE coalesce(year_end, year_start) >= %s AND coalesce(year_start, year_end) <= %s"


def bulk_write(settings: Settings, url: str, vectors: np.ndarray) -> tuple[np.ndarray, dict[str, object]]:
    """Every crawled work claimed and its vector written by the pipeline's write stage, as a first load does (index
    dropped), then the index built; returns the artwork id of each vector's row and the timings."""
    ids = np.zeros(len(vectors), dtype=np.int64)
    with connect(url, autocommit=True) as conn:
        bulk = begin_bulk_load(conn, settings.embed_bulk_min_pending, settings.embed_bulk_ratio)
        write = WriteResults(conn, "synthetic", None, settings.max_embed_attempts)
        written, claim_s, write_s = 0, 0.0, 0.0
        while written < len(vectors):
            started = time.perf_counter()
            claims = claim_pending_artworks(conn, CLAIM_CHUNK, 3600, settings.max_embed_attempts)
            claim_s += time.perf_counter() - started
            if not claims:
                break
            claims = claims[: len(vectors) - written]
            started = time.perf_counter()
            for start in range(0, len(claims), settings.embed_batch_size):
                batch = claims[start : start + settings.embed_batch_size]
                rows = slice(written + start, written + start + len(batch))
                outcomes = write(EmbeddedBatch(batch, vectors[rows]))
                assert all(outcome == "embedded" for _, outcome in outcomes), "a claim was lost mid-benchmark"
                ids[rows] = [claim.id for claim in batch]
            write_s += time.perf_counter() - started
            written += len(claims)
        memory = index_build_memory(settings, written)
        started = time.perf_counter()
        built = ensure_index(conn, memory, os.cpu_count())
        build_s = time.perf_counter() - started
        conn.execute("ANALYZE")
    return ids, {
        "bulk_mode": bulk,
        "vectors": written,
        "batch_size": settings.embed_batch_size,
        "claim_s": round(claim_s, 1),
        "write_s": round(write_s, 1),
        "write_vectors_per_s": round(written / write_s),
        "index_built": built,
        "index_build_s": round(build_s, 1),
        "maintenance_work_mem": memory,
    }


def sizes(url: str) -> dict[str, float]:
    """What the collection takes on disk, in MB."""
    with connect(url) as conn:
        row = conn.execute(
            """SELECT pg_total_relation_size('artworks'), pg_table_size('embeddings'),
                      pg_indexes_size('embeddings'), pg_relation_size('embeddings_hnsw_idx'),
                      pg_database_size(current_database())"""
        ).fetchone()
    names = ("artworks_mb", "embeddings_table_mb", "embeddings_indexes_mb", "hnsw_index_mb", "database_mb")
    return {name: round(value / 2**20, 1) for name, value in zip(names, row, strict=True)}


def after_restart(url: str, settings: Settings, queries: np.ndarray) -> dict[str, object]:
    """Searches straight after a restart, then WARM_UP more: the restart empties shared buffers, and the index comes
    back into them page by page as searches walk it (pg_prewarm is not in the embedded build)."""
    with connect(url) as conn:
        first = timed_searches(lambda q: ids(nearest_artworks(conn, q, 10, settings.hnsw_ef_search)), queries[:200])
        started = time.perf_counter()
        for query in queries[200:]:
            nearest_artworks(conn, query, 10, settings.hnsw_ef_search)
    return {"first_200": latency_of(first), "warm_up_searches": len(queries) - 200,
            "warm_up_s": round(time.perf_counter() - started, 1)}  # fmt: skip


def latency_of(found: dict[str, float]) -> dict[str, float]:
    """Only the p50 and p99 of a timed_searches result."""
    return {key: found[key] for key in ("p50_ms", "p99_ms")}


def measure_sql(
    url: str, settings: Settings, vectors: np.ndarray, ids_of_rows: np.ndarray, queries: np.ndarray
) -> dict[str, object]:
    """recall@10 against exact search and the data layer's latency for each kind of search, one client, warm."""
    truth = ids_of_rows[exact_top(vectors, queries, 10)]
    ef = settings.hnsw_ef_search
    out: dict[str, object] = {"ef_search": ef}
    with connect(url) as conn:
        found = timed_searches(lambda q: ids(nearest_artworks(conn, q, 10, ef)), queries, truth)
        out["text_or_upload"] = {"recall_at_10": found["recall_at_10"], **latency_of(found)}
        artworks = np.random.default_rng(3).choice(ids_of_rows, len(queries))
        out["similar"] = latency_of(timed_searches(lambda a: ids(artworks_like(conn, int(a), 20, ef)), artworks))
        for name, (first, last) in FILTERS.items():
            matching = [row[0] for row in conn.execute(MATCHING, (first, last))]
            rows = np.flatnonzero(np.isin(ids_of_rows, matching))
            truth = ids_of_rows[rows[exact_top(vectors[rows], queries, 10)]]
            filters = Filters(date_from=first, date_to=last)
            found = timed_searches(lambda q, f=filters: ids(nearest_artworks(conn, q, 10, ef, f)), queries, truth)
            out[f"filtered_{name}"] = {"matching": len(matching), **found}
    return out


def measure_endpoints(base: str, works: int, rng: np.random.Generator) -> dict[str, object]:
    """p50/p99 of each endpoint with one client: new texts (never cached), similar, a filtered text, an upload."""
    phrases = [" ".join(words) for words in itertools.permutations(WORDS, 3)]
    texts = [phrases[i] for i in rng.permutation(len(phrases))[:400]]
    first, last = FILTERS["1.2%"]
    plans = {
        "text": [{"method": "GET", "path": f"/api/search?k=20&q={t}"} for t in texts[:200]],
        "similar": [
            {"method": "GET", "path": f"/api/artworks/{rng.integers(1, works + 1)}/similar?k=20"} for _ in range(200)
        ],
        "filtered_text_1.2%": [
            {"method": "GET", "path": f"/api/search?k=20&q={t}&date_from={first}&date_to={last}"} for t in texts[200:]
        ],
        "upload": [{"method": "POST", "path": "/api/search/image", "upload": b} for b in upload_bodies(40, rng)],
    }
    out = {}
    for name, plan in plans.items():
        asyncio.run(load_test(base, plan[:5], 1))  # warm-up: caches, pool
        out[name] = asyncio.run(load_test(base, plan[5:], 1))
    return out


def nightly(env: dict[str, str], replica, works: int, url: str) -> dict[str, object]:
    """1% of the records changed upstream with new images; `artsearch run --since` crawls, embeds and places them."""
    changed = [str(200_000_000 + n) for n in range(1, works + 1, 100)]
    since = datetime.now(UTC) - timedelta(minutes=1)
    replica.touch(changed, datetime.now(UTC), new_image=True)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "artsearch", "run", "rijksmuseum", "--base-url", replica.base_url,
         "--since", since.strftime("%Y-%m-%dT%H:%M:%S")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if run.returncode:
        raise RuntimeError(f"the nightly run failed: {run.stderr[-2000:]}")
    with connect(url) as conn:
        projection = current_projection_id(conn)
        row = conn.execute(
            """SELECT count(*), count(e.artwork_id), count(m.artwork_id) FILTER (WHERE m.projection_id = %s)
               FROM artworks a LEFT JOIN embeddings e ON e.artwork_id = a.id
               LEFT JOIN map_positions m ON m.artwork_id = a.id
               WHERE a.source_id = ANY(%s) AND a.image_url LIKE '%%v2/%%'""",
            (projection, [f"https://id.rijksmuseum.nl/{key}" for key in changed]),
        ).fetchone()
        summary = conn.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    return {
        "changed_records": len(changed),
        "seconds": round(seconds, 1),
        "recrawled_with_new_image": row[0],
        "embedded": row[1],
        "placed_on_current_map": row[2],
        "run_summary": {key: summary["rijksmuseum"][key] for key in ("crawl", "embed", "projection")},
    }


def main() -> None:
    """The rehearsal, stage by stage; one JSON object out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=560_000)
    parser.add_argument("--crawl-1-works", type=int, default=None, help="records for the 1-process crawl (all)")
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--kind", choices=KINDS, default="manifold")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()

    from transformers import CLIPConfig

    from backend.clip_model import save_random_clip

    home = Path(tempfile.mkdtemp(prefix="asscale-"))
    settings = Settings(home=home, model=str(save_random_clip(home / "vit-b32-random", CLIPConfig())))
    env = {
        **os.environ,
        "ARTSEARCH_HOME": str(home),
        "ARTSEARCH_MODEL": settings.model,
        "ARTSEARCH_CRAWL_RATE": "0",
        "ARTSEARCH_DOWNLOAD_ALLOW_PRIVATE": "true",  # the replica's images are on 127.0.0.1
    }
    env.pop("DATABASE_URL", None)
    rng = np.random.default_rng(1)
    report: dict[str, object] = {"benchmark": "scale", "works": args.works, "kind": args.kind, "cores": os.cpu_count()}
    url = database_url(settings)
    server = None
    try:
        upgrade(url)
        replica = start_replica("rijksmuseum", records=args.crawl_1_works or args.works)
        report["crawl_1_process"] = crawl_once(url, replica.base_url, "rijksmuseum", 1)
        replica.stop()
        replica = start_replica("rijksmuseum", records=args.works)
        report["crawl_2_processes"] = crawl_into(url, replica.base_url, "rijksmuseum", 2)

        started = time.perf_counter()
        vectors = collection(args.kind, args.works, args.clusters, rng)
        report["data"] = {"generate_s": round(time.perf_counter() - started, 1), **describe(vectors, rng)}
        ids, report["write"] = bulk_write(settings, url, vectors)
        report["sizes"] = sizes(url)
        for command in ("stop", "start"):  # as an operator's restart would: memory sized for the built index
            subprocess.run([sys.executable, "-m", "artsearch", "db", command], env=env, cwd=ROOT, check=True)
        report["warm_caches_s"] = warm_caches(url)
        report["after_restart"] = after_restart(url, settings, nearby_queries(vectors, 200 + WARM_UP, rng))
        report["sql"] = measure_sql(url, settings, vectors, ids, nearby_queries(vectors, args.queries, rng))
        report["projection_fit"] = vars(fit_projection(settings, "pca"))

        port = free_port()
        server = start_server(artsearch_env(home, Path(settings.model), url), port)
        report["endpoints"] = measure_endpoints(f"http://127.0.0.1:{port}", args.works, rng)
        report["nightly"] = nightly(env, replica, args.works, url)
        report["api_peak_rss_mb"] = memory_mb(server.pid, "VmHWM")
        status = subprocess.run(
            [sys.executable, "-m", "artsearch", "status", "--json"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        report["status_server"] = json.loads(status.stdout).get("server") if status.returncode == 0 else status.stderr
        replica.stop()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        stop_embedded(settings.pgdata)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
