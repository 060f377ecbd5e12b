"""Load: closed-loop clients for a minute against a real `artsearch serve` on a synthetic collection of 100,000
works, asking what the web app asks (benchmarks.harness: searches, uploads, works, "more like this", the map's
tiles and atlases, facets, health); checks that nothing failed and that the server's memory and database
connections held steady.

The collection is benchmarks/map.py's (manifold vectors, metadata that follows them, thumbnails from real paintings),
with its HNSW index built and the map fitted. The server runs ViT-B/32 at random weights: text and upload searches
cost what the real towers cost. The clients run on one asyncio loop, closed loop: each sends its next request as
soon as its last one is answered, so the offered load is what the server can take. Works have no image here, so
the mix leaves out /api/artworks/{id}/image (a 404).

Reports: errors (answers other than 200, or none: expected 0) and statuses over the whole run; per endpoint, after
the warm-up, requests and p50/p99; requests/s after the warm-up; the server's resident memory sampled every second
(growth from the end of the warm-up to the end of the run: under 10%); the database connections the server holds
(pg_stat_activity under the server's application name: never more than its pool). Exits 1 when a check fails.

    .venv/bin/python benchmarks/load.py [--works 100000] [--clients 64] [--seconds 60] [--warm-up 10]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.api.app import POOL_SIZE  # noqa: E402
from backend.database import connect, index_build_memory  # noqa: E402
from backend.projection import fit_projection  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.store.hnsw import ensure_index  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    UI_MIX,
    Answer,
    artsearch_env,
    by_endpoint,
    memory_mb,
    run_clients,
    start_server,
    status_counts,
    web_app_mix,
)
from benchmarks.map import start_and_load, tear_down  # noqa: E402
from tests.helpers import free_port  # noqa: E402

APP_NAME = "artsearch-serve"  # the server's connections carry it (PGAPPNAME), so they can be counted apart
MIX = {endpoint: weight for endpoint, weight in UI_MIX.items() if endpoint != "image"}
CLUSTERS = 1000
SAMPLE_EVERY_S = 2.0
MAX_RSS_GROWTH = 0.10
# Client backends only: a parallel scan's workers carry their leader's application name for as long as it runs.
HELD = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND backend_type = 'client backend'"


@dataclass(frozen=True)
class Sample:
    """The server at one moment: seconds into the run, its resident memory, the database connections it holds."""

    at_s: float
    rss_mb: float
    connections: int


def build(pgdata: Path, works: int, rng: np.random.Generator) -> tuple[str, dict[str, object]]:
    """benchmarks/map.py's collection in a new embedded Postgres, its HNSW index and its map; how long each took."""
    url, timings = start_and_load(pgdata, works, CLUSTERS, "manifold", rng)
    with connect(url) as conn:
        started = time.perf_counter()
        ensure_index(conn, index_build_memory(Settings(), works), os.cpu_count())
        timings["index_build_s"] = round(time.perf_counter() - started, 1)
        timings["fit"] = vars(fit_projection(conn, "pca"))
    return url, timings


async def sample(pid: int, url: str, started: float, until: float) -> list[Sample]:
    """Every SAMPLE_EVERY_S until `until`: the server's resident memory and the connections it holds."""
    samples = []
    with connect(url, autocommit=True) as conn:
        while time.monotonic() < until:
            held = await asyncio.to_thread(lambda: conn.execute(HELD, (APP_NAME,)).fetchone()[0])
            samples.append(Sample(round(time.monotonic() - started, 1), memory_mb(pid), held))
            await asyncio.sleep(SAMPLE_EVERY_S)
    return samples


async def drive(
    base_url: str, pid: int, url: str, clients: int, started: float, until: float
) -> tuple[list[Answer], list[Sample]]:
    """The clients until `until`, and the server sampled meanwhile."""
    return await asyncio.gather(
        run_clients(base_url, web_app_mix(MIX), clients, until), sample(pid, url, started, until)
    )


def results(
    answers: list[Answer], samples: list[Sample], started: float, warm_up_s: float, seconds: float
) -> dict[str, object]:
    """Errors and statuses over the run; per endpoint and requests/s after the warm-up; memory and connections."""
    steady = [answer for answer in answers if answer.sent >= started + warm_up_s]
    rss_then = next(s.rss_mb for s in samples if s.at_s >= warm_up_s)
    rss_end = samples[-1].rss_mb
    connections = [s.connections for s in samples]
    return {
        "requests": len(answers),
        "errors": sum(answer.status != 200 for answer in answers),
        "statuses": status_counts(answers),
        "requests_per_s": round(len(steady) / (seconds - warm_up_s), 1),
        "by_endpoint": by_endpoint(steady),
        "rss_mb": {
            "after_warm_up": rss_then,
            "end": rss_end,
            "max": max(s.rss_mb for s in samples),
            "growth": round(rss_end / rss_then - 1, 4),
        },
        "connections": {
            "pool_size": POOL_SIZE,
            "min": min(connections),
            "max": max(connections),
            "end": connections[-1],
        },
        "samples": [vars(s) for s in samples],
    }


def failed_checks(report: dict) -> list[str]:
    """The names of the checks the report fails."""
    checks = {
        "no_errors": report["errors"] == 0,
        "memory_steady": report["rss_mb"]["growth"] < MAX_RSS_GROWTH,
        "connections_within_pool": report["connections"]["max"] <= POOL_SIZE,
    }
    return [name for name, passed in checks.items() if not passed]


def main() -> None:
    """Build, serve, load, check; one JSON object out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=10.0, help="seconds before memory and latency count")
    args = parser.parse_args()
    if args.seconds <= args.warm_up:
        parser.error("--seconds must be longer than --warm-up")

    from transformers import CLIPConfig

    from backend.clip_model import save_random_clip

    rng = np.random.default_rng(4)
    work = Path(tempfile.mkdtemp(prefix="asload-"))
    pgdata, server = work / "pgdata", None
    report: dict[str, object] = {
        "benchmark": "load", "works": args.works, "clients": args.clients, "seconds": args.seconds,
        "warm_up_s": args.warm_up, "loop": "closed", "cores": os.cpu_count(),
    }  # fmt: skip
    try:
        url, report["build"] = build(pgdata, args.works, rng)
        model = save_random_clip(work / "vit-b32-random", CLIPConfig())
        port = free_port()
        server = start_server(artsearch_env(work / "home", model, url, PGAPPNAME=APP_NAME), port)
        started = time.monotonic()
        base_url = f"http://127.0.0.1:{port}"
        answers, samples = asyncio.run(drive(base_url, server.pid, url, args.clients, started, started + args.seconds))
        report |= results(answers, samples, started, args.warm_up, args.seconds)
    finally:
        tear_down(server, pgdata, work)
    failed = failed_checks(report)
    print(json.dumps({"ok": not failed, "failed": failed, **report}, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
