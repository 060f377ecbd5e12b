"""The crawler against local replicas: faults, kills, resumption, incremental runs, idempotent upserts."""

import asyncio
import os
import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from backend.store.artworks import save_page
from backend.store.records import ArtworkRecord
from etl.crawler import CrawlOptions, crawl
from etl.http import BlockedResponse, HttpClient, HttpStatusError, MalformedResponse, RetryPolicy, classify
from etl.sources import make_source
from tests.helpers import ARTSEARCH, FIXTURE_IMAGES, count, run_artsearch, wait_until
from tests.replicas import start_replica

FAST = CrawlOptions(
    processes=2, rate=None, concurrency=4, timeout_s=1.0, user_agent="artsearch-tests", policy=RetryPolicy(8, 0.05, 1.0)
)


def aic_pages(counts: dict[str, int]) -> dict[int, int]:
    """Listing pages of 100 requested, by page number (the planning request asks for limit=1)."""
    pages: dict[int, int] = {}
    for key, n in counts.items():
        query = parse_qs(urlsplit(key).query)
        if query.get("limit") == ["100"]:
            page = int(query["page"][0])
            pages[page] = pages.get(page, 0) + n
    return pages


# -- the HTTP client ---------------------------------------------------------------------------------------


async def fetch_with(replica, attempts: int, path: str = "/artworks?page=1&limit=5") -> tuple[object, float]:
    policy = RetryPolicy(max_attempts=attempts, backoff_s=0.01, max_backoff_s=2.0)
    client = HttpClient(rate=None, concurrency=2, timeout_s=0.5, user_agent="test", policy=policy)
    started = time.monotonic()
    async with client:
        try:
            result = await client.get_json(replica.base_url + path)
        except Exception as exc:
            result = exc
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    ("fault", "error"),
    [("truncated", (MalformedResponse, Exception)), ("block200", BlockedResponse), ("block403", BlockedResponse),
     ("503", HttpStatusError), ("timeout", TimeoutError)],
)  # fmt: skip
def test_transient_faults_are_retried_then_raised(fault: str, error: type) -> None:
    replica = start_replica("aic", records=10, fault_rate=1.0, faults=[fault], hang_s=1.0)
    try:
        result, _ = asyncio.run(fetch_with(replica, attempts=3))
        assert isinstance(result, error) and classify(result) == "transient"
        assert replica.request_counts["/api/v1/artworks?limit=5&page=1"] == 3
    finally:
        replica.stop()


def test_retry_after_is_honoured_and_permanent_errors_are_not_retried() -> None:
    replica = start_replica("aic", records=10, fault_rate=1.0, faults=["429"], retry_after=1)
    try:
        result, elapsed = asyncio.run(fetch_with(replica, attempts=2))
        assert isinstance(result, HttpStatusError) and result.status == 429 and elapsed >= 1.0
        replica.set_faults(0.0)
        result, _ = asyncio.run(fetch_with(replica, attempts=3, path="/artworks/999999"))
        assert isinstance(result, HttpStatusError) and classify(result) == "permanent"
        assert replica.request_counts["/api/v1/artworks/999999"] == 1
        result, _ = asyncio.run(fetch_with(replica, attempts=3))
        assert len(result["data"]) == 5
    finally:
        replica.stop()


# -- whole crawls ------------------------------------------------------------------------------------------


@pytest.mark.slow  # 5000 records; the faults themselves are also met by the 450-record crawl of each source
def test_5000_records_through_10_percent_faults(db_url: str) -> None:
    replica = start_replica("aic", records=5000, fault_rate=0.1, seed=7, hang_s=1.5)
    try:
        summary = crawl(make_source("aic", base_url=replica.base_url), db_url, FAST, show_progress=False)
    finally:
        replica.stop()
    assert sum(replica.faults_injected.values()) > 0
    assert count(db_url, "SELECT count(*) FROM artworks WHERE source = 'aic'") == 5000
    assert count(db_url, "SELECT count(DISTINCT source_id) FROM artworks") == 5000
    assert count(db_url, "SELECT count(*) FROM crawl_checkpoints WHERE NOT done") == 0
    assert summary.records == 5000 and summary.inserted == 5000 and summary.partitions_left == 0
    assert summary.retries > 0


@pytest.mark.slow  # 5000 records, killed halfway and crawled again
def test_killed_crawl_resumes_without_refetching_finished_work(db_url: str, cli_env: dict[str, str]) -> None:
    replica = start_replica("aic", records=5000, fault_rate=0.1, seed=3, hang_s=1.5)
    env = dict(
        cli_env,
        ARTSEARCH_CRAWL_RATE="25",
        ARTSEARCH_CRAWL_CONCURRENCY="1",  # one partition in flight per process: finished ones early on
        ARTSEARCH_CRAWL_TIMEOUT_S="1",
        ARTSEARCH_CRAWL_BACKOFF_S="0.05",
        ARTSEARCH_CRAWL_MAX_BACKOFF_S="1",
        ARTSEARCH_CRAWL_MAX_ATTEMPTS="8",
    )
    command = [ARTSEARCH, "crawl", "aic", "--base-url", replica.base_url, "--processes", "2"]
    try:
        first = subprocess.Popen(
            command, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

        def half_stored() -> bool:
            assert first.poll() is None, first.communicate()
            return count(db_url, "SELECT count(*) FROM artworks") >= 2500

        wait_until(half_stored, timeout_s=120, interval_s=0.05)
        os.killpg(first.pid, signal.SIGKILL)  # the CLI and its worker processes, as a kill -9 of the job does
        first.wait()
        stored = count(db_url, "SELECT count(*) FROM artworks")
        assert 2500 <= stored < 5000
        with psycopg.connect(db_url) as conn:
            checkpoints = conn.execute("SELECT partition, cursor, done FROM crawl_checkpoints").fetchall()
        assert any(done for _, _, done in checkpoints)
        finished_pages = set()
        for key, cursor, done in checkpoints:
            start, end = (int(n) for n in key.removeprefix("pages-").split("-"))
            finished_pages.update(range(start, end + 1) if done else range(start, cursor["page"]))
        replica.reset_counts()
        second = run_artsearch(command[1:], env, timeout=180)
        assert second.returncode == 0, second.stderr
        assert "crawled aic: " in second.stdout
    finally:
        replica.stop()
    refetched = finished_pages & set(aic_pages(replica.request_counts))
    assert not refetched, f"pages of finished work fetched again: {sorted(refetched)}"
    assert count(db_url, "SELECT count(*) FROM artworks") == 5000
    assert count(db_url, "SELECT count(DISTINCT source_id) FROM artworks") == 5000
    assert count(db_url, "SELECT count(*) FROM crawl_checkpoints WHERE NOT done") == 0


def test_incremental_met_run_fetches_only_changed_objects(db_url: str) -> None:
    replica = start_replica("met", records=400, fault_rate=0.05, seed=5, hang_s=1.5)
    options = replace(FAST, processes=1, concurrency=8)
    try:
        crawl(make_source("met", base_url=replica.base_url), db_url, options, show_progress=False)
        assert count(db_url, "SELECT count(*) FROM artworks WHERE source = 'met'") == 400
        changed = ["107", "114", "2193"]
        replica.touch(changed, datetime(2025, 6, 1, tzinfo=UTC))
        replica.reset_counts()
        since = make_source("met", base_url=replica.base_url, since=datetime(2025, 1, 1))
        summary = crawl(since, db_url, options, show_progress=False)
    finally:
        replica.stop()
    object_paths = {key.rsplit("/", 1)[1] for key in replica.request_counts if "/objects/" in key}
    assert object_paths == set(changed)
    assert "/public/collection/v1/objects?metadataDate=2025-01-01" in replica.request_counts
    assert summary.updated == 3 and summary.inserted == 0
    assert count(db_url, "SELECT count(*) FROM artworks WHERE title LIKE '%%(revised)'") == 3
    assert count(db_url, "SELECT count(*) FROM artworks") == 400


def test_incremental_oai_run_sees_changes_and_deletions(db_url: str) -> None:
    replica = start_replica("rijksmuseum", records=300, deleted_every=50)
    try:
        crawl(make_source("rijksmuseum", base_url=replica.base_url), db_url, FAST, show_progress=False)
        # every 50th record is a deleted header with no earlier row: nothing to mark, nothing inserted
        assert count(db_url, "SELECT count(*) FROM artworks") == 294
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE artworks SET embed_status = 'embedded'")
        replica.touch(["200000001"], datetime(2025, 3, 1, tzinfo=UTC))
        replica.touch(["200000002"], datetime(2025, 3, 1, tzinfo=UTC), new_image=True)
        replica.delete(["200000003"], datetime(2025, 3, 2, tzinfo=UTC))
        replica.reset_counts()
        since = make_source("rijksmuseum", base_url=replica.base_url, since=datetime(2025, 1, 1))
        summary = crawl(since, db_url, FAST, show_progress=False)
    finally:
        replica.stop()
    froms = {parse_qs(urlsplit(k).query).get("from", [""])[0] for k in replica.request_counts if "ListRecords" in k}
    assert froms and all(f >= "2025-01-01" for f in froms)
    assert (summary.updated, summary.deleted, summary.inserted) == (2, 1, 0)
    assert count(db_url, "SELECT count(*) FROM artworks WHERE deleted") == 1
    assert count(db_url, "SELECT count(*) FROM artworks WHERE title LIKE '%%(revised)'") == 2
    # a new photograph goes back to the embedding queue; an edited title alone does not
    pending = "SELECT source_id FROM artworks WHERE embed_status = 'pending'"
    with psycopg.connect(db_url) as conn:
        assert conn.execute(pending).fetchall() == [("https://id.rijksmuseum.nl/200000002",)]


@pytest.mark.parametrize("kind", ["cleveland", "rijksmuseum", "met"])
def test_each_source_crawls_its_replica_with_faults(db_url: str, kind: str) -> None:
    replica = start_replica(kind, records=450, fault_rate=0.1, seed=11, hang_s=1.5)
    try:
        summary = crawl(make_source(kind, base_url=replica.base_url), db_url, FAST, show_progress=False)
    finally:
        replica.stop()
    assert count(db_url, "SELECT count(DISTINCT source_id) FROM artworks WHERE source = %s", kind) == 450
    assert summary.partitions_left == 0
    with psycopg.connect(db_url) as conn:
        image_url = conn.execute("SELECT image_url FROM artworks LIMIT 1").fetchone()[0]
    assert image_url.startswith(replica.image_base_url)


def test_records_naming_local_or_script_urls_are_bad_records(db_url: str) -> None:
    replica = start_replica("met", records=30)
    hostile = {  # Met ids are 100 + 7i
        "107": dict(primaryImage="file:///etc/passwd", primaryImageSmall="file:///etc/passwd"),
        "114": dict(primaryImage="ftp://images.example/DP114.jpg", primaryImageSmall="ftp://images.example/114.jpg"),
        "121": dict(primaryImageSmall="javascript:alert(document.cookie)"),
        "128": dict(objectURL="javascript:alert(document.cookie)"),
        "135": dict(primaryImage="https:///etc/passwd"),
    }
    for key, fields in hostile.items():
        replica.tamper(key, **fields)
    try:
        summary = crawl(make_source("met", base_url=replica.base_url), db_url, FAST, show_progress=False)
    finally:
        replica.stop()
    with psycopg.connect(db_url) as conn:
        stored = {row[0] for row in conn.execute("SELECT source_id FROM artworks")}
        failures = dict(conn.execute("SELECT url, reason FROM crawl_failures").fetchall())
    assert stored == {str(100 + 7 * i) for i in range(1, 31)} - set(hostile)
    assert summary.failures == len(hostile) and summary.records == 30 - len(hostile)
    assert failures == {
        "met:107": "bad record: image_url has scheme 'file'; only http or https is accepted",
        "met:114": "bad record: image_url has scheme 'ftp'; only http or https is accepted",
        "met:121": "bad record: image_url has scheme 'javascript'; only http or https is accepted",
        "met:128": "bad record: page_url has scheme 'javascript'; only http or https is accepted",
        "met:135": "bad record: full_image_url has no host",
    }


def test_a_source_on_https_refuses_http_urls() -> None:
    source = make_source("met")
    record = ArtworkRecord("met", "1", title="t", image_url="http://images.metmuseum.org/a.jpg")
    assert source.url_schemes == {"https"}
    assert source.url_refusal(record) == "image_url has scheme 'http'; only https is accepted"
    assert make_source("met", base_url="http://127.0.0.1:9/v1").url_refusal(record) is None


def test_limit_caps_records_and_a_full_pass_starts_over(db_url: str) -> None:
    replica = start_replica("aic", records=1200)
    try:
        source = make_source("aic", base_url=replica.base_url)
        limited = replace(FAST, limit=250)
        assert crawl(source, db_url, limited, show_progress=False).records == 250
        assert count(db_url, "SELECT count(*) FROM artworks") == 250
        assert crawl(source, db_url, FAST, show_progress=False).partitions_left == 0
        assert count(db_url, "SELECT count(*) FROM artworks") == 1200
        again = crawl(source, db_url, FAST, show_progress=False)  # finished pass: read everything again
    finally:
        replica.stop()
    assert (again.records, again.unchanged, again.inserted) == (1200, 1200, 0)


def test_folder_crawl_through_the_cli(db_url: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    rows = [f"{p.name},{p.stem} title" for p in FIXTURE_IMAGES] + ["lost.jpg,Lost"]
    (tmp_path / "metadata.csv").write_text("file,title\n" + "\n".join(rows) + "\n")
    for p in FIXTURE_IMAGES:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    result = run_artsearch(["crawl", "folder", "--path", str(tmp_path), "--processes", "1"], cli_env)
    assert result.returncode == 0, result.stderr
    assert count(db_url, "SELECT count(*) FROM artworks WHERE image_url LIKE 'file:///%%'") == 8
    assert count(db_url, "SELECT count(*) FROM crawl_failures WHERE reason = 'bad record: file not found'") == 1
    bad = run_artsearch(["crawl", "folder"], cli_env, timeout=60)
    assert bad.returncode == 1 and "--path" in bad.stderr


# -- the upsert --------------------------------------------------------------------------------------------


def artwork(source_id: str, **changes: object) -> ArtworkRecord:
    values = dict(source="aic", source_id=source_id, title="Night", image_url=f"http://img/{source_id}.jpg")
    return ArtworkRecord(**{**values, **changes})


def test_upsert_is_idempotent_and_keeps_embeddings_unless_the_image_changes(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        save_page(conn, "aic", "p", [artwork("1"), artwork("2")], [], {"page": 2}, False)
        conn.execute("UPDATE artworks SET embed_status = 'embedded', embed_attempts = 1, embed_error = 'x'")
        conn.execute(
            "INSERT INTO embeddings (artwork_id, model, embedding) "
            "SELECT id, 'm', array_fill(0.1, ARRAY[512])::vector FROM artworks"
        )
        conn.execute("INSERT INTO projections (method, model, n_fitted) VALUES ('pca', 'm', 2)")
        conn.execute("INSERT INTO map_positions SELECT id, (SELECT max(id) FROM projections), 0.5, 0.5 FROM artworks")
        conn.commit()
        again = save_page(conn, "aic", "p", [artwork("1"), artwork("2")], [], {"page": 3}, False)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
        changed = save_page(
            conn, "aic", "p", [artwork("1", title="Day"), artwork("2", image_url="http://img/new.jpg")], [], None, False
        )
        assert (changed.inserted, changed.updated) == (0, 2)
        columns = "source_id, title, embed_status, embed_attempts, embed_error"
        rows = {row[0]: row[1:] for row in conn.execute(f"SELECT {columns} FROM artworks")}
        assert rows["1"] == ("Day", "embedded", 1, "x")
        assert rows["2"] == ("Night", "pending", 0, None)
        kept = conn.execute("SELECT a.source_id FROM embeddings e JOIN artworks a ON a.id = e.artwork_id").fetchall()
        assert kept == [("1",)]
        placed = conn.execute("SELECT a.source_id FROM map_positions m JOIN artworks a ON a.id = m.artwork_id")
        assert placed.fetchall() == [("1",)]  # the new image's position goes with its vector
        assert conn.execute("SELECT cursor, records FROM crawl_checkpoints").fetchone() == ({"page": 3}, 4)
        gone = save_page(conn, "aic", "p", [ArtworkRecord("aic", "1", deleted=True)], [], None, False)
        assert gone.deleted == 1
        assert conn.execute("SELECT title, deleted FROM artworks WHERE source_id = '1'").fetchone() == ("Day", True)


def test_a_page_is_all_or_nothing(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        save_page(conn, "aic", "p", [artwork("1")], [], {"page": 2}, False)
        with pytest.raises(psycopg.Error):
            save_page(conn, "aic", "p", [artwork("2"), artwork("3", year_start="x")], [("u", "bad")], {"page": 3}, True)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM artworks").fetchone()[0] == 1
        assert conn.execute("SELECT cursor, done FROM crawl_checkpoints").fetchone() == ({"page": 2}, False)
        assert conn.execute("SELECT count(*) FROM crawl_failures").fetchone()[0] == 0
