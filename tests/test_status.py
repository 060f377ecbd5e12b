"""`artsearch status`: per-source counts, failure reasons (embedding and crawl) and the latest projection."""

import json

import psycopg

from backend.store.status import collection_status
from tests.helpers import run_artsearch


def seed(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            """
            INSERT INTO artworks (source, source_id, embed_status, embed_error, deleted) VALUES
              ('aic', '1', 'embedded', NULL, false), ('aic', '2', 'pending', NULL, false),
              ('aic', '3', 'claimed', NULL, false), ('aic', '4', 'failed', 'HTTP 404', false),
              ('aic', '5', 'failed', 'HTTP 404', false), ('aic', '6', 'failed', 'corrupt image', false),
              ('aic', '7', 'pending', NULL, true), ('met', '1', 'embedded', NULL, false)
            """
        )
        conn.execute(
            "INSERT INTO crawl_failures (source, partition, url, reason) VALUES "
            "('aic', 'p', 'u1', 'bad record: missing title'), ('cleveland', 'p', 'u2', 'HTTP 404')"
        )
        conn.execute("INSERT INTO projections (method, model, n_fitted) VALUES ('pca', 'm', 10), ('umap', 'm', 12)")


def test_status_counts_and_reasons(db_url: str) -> None:
    seed(db_url)
    with psycopg.connect(db_url) as conn:
        status = collection_status(conn)
    assert status["sources"]["aic"] == {
        "artworks": 6,
        "embedded": 1,
        "pending": 2,
        "failed": 3,
        "failures": {"HTTP 404": 2, "corrupt image": 1, "crawl: bad record: missing title": 1},
    }
    assert status["sources"]["met"]["failures"] == {}
    assert status["sources"]["cleveland"] == {
        "artworks": 0, "embedded": 0, "pending": 0, "failed": 0, "failures": {"crawl: HTTP 404": 1}
    }  # fmt: skip
    projection = status["projection"]
    assert (projection["method"], projection["n_fitted"]) == ("umap", 12)
    assert set(projection) == {"id", "method", "created_at", "n_fitted"}


def test_status_of_an_empty_database(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        status = collection_status(conn)
    assert {key: status[key] for key in ("sources", "projection", "runs")} == {
        "sources": {}, "projection": None, "runs": []
    }  # fmt: skip
    assert set(status["server"]) == {"shared_buffers", "maintenance_work_mem", "hnsw_index_bytes"}


def test_status_cli_json_and_table(db_url: str, cli_env: dict[str, str]) -> None:
    seed(db_url)
    as_json = run_artsearch(["status", "--json"], cli_env, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["sources"]["aic"]["failed"] == 3
    table = run_artsearch(["status"], cli_env, timeout=60)
    assert table.returncode == 0 and "aic" in table.stdout and "umap" in table.stdout
