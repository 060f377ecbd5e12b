"""Crawl throughput: records/s from a local replica with 1, 2 and 4 worker processes, in one run.

Prints one JSON object. Each run crawls the same replica into a fresh, migrated database on the server that
DATABASE_URL names (or the embedded Postgres under ARTSEARCH_HOME). Rate limits are off: this measures the
crawler (HTTP, parsing, upserts, checkpoints), not a museum's politeness budget.

    .venv/bin/python benchmarks/crawl.py [--source aic] [--records 20000] [--fault-rate 0]
"""

import argparse
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.database import database_url  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.settings import get_settings  # noqa: E402
from etl.crawler import CrawlOptions, crawl  # noqa: E402
from etl.http import RetryPolicy  # noqa: E402
from etl.sources import make_source  # noqa: E402
from tests.replicas import start_replica  # noqa: E402

PROCESSES = (1, 2, 4)


def crawl_once(server_url: str, base_url: str, source: str, processes: int) -> dict[str, float]:
    """One crawl into a fresh database, dropped afterwards: its records/s, start-up of the workers included."""
    name = f"bench_crawl_{os.getpid()}_{processes}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    try:
        upgrade(url)
        return crawl_into(url, base_url, source, processes)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def crawl_into(url: str, base_url: str, source: str, processes: int) -> dict[str, float]:
    """One unthrottled crawl of the replica into a migrated database, through the real adapter and crawler."""
    options = CrawlOptions(
        processes=processes,
        rate=None,
        concurrency=8,
        timeout_s=10.0,
        user_agent=get_settings().user_agent,
        policy=RetryPolicy(8, 0.05, 1.0),
    )
    summary = crawl(make_source(source, base_url=base_url), url, options, show_progress=False)
    return {"records": summary.records, "seconds": round(summary.seconds, 2),
            "records_per_s": round(summary.records / summary.seconds, 1)}  # fmt: skip


def main() -> None:
    """Run the three crawls against one replica and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="aic", choices=["aic", "met", "cleveland", "rijksmuseum"])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    args = parser.parse_args()
    server_url = database_url(get_settings())
    replica = start_replica(args.source, records=args.records, fault_rate=args.fault_rate, seed=1)
    try:
        runs = {str(n): crawl_once(server_url, replica.base_url, args.source, n) for n in PROCESSES}
    finally:
        replica.stop()
    base = runs["1"]["records_per_s"]
    report = {
        "benchmark": "crawl",
        "source": args.source,
        "records": args.records,
        "fault_rate": args.fault_rate,
        "cpu_count": os.cpu_count(),
        "runs": runs,
        "speedup_2_vs_1": round(runs["2"]["records_per_s"] / base, 2),
        "speedup_4_vs_1": round(runs["4"]["records_per_s"] / base, 2),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
