"""`artsearch demo` brings the whole product up on the bundled sample, and a second start reuses what is there."""

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.helpers import ARTSEARCH, free_port


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def _start_demo(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """Start the demo and wait until it serves; fail with its log if it exits."""
    process = subprocess.Popen(
        [ARTSEARCH, "demo", "--port", str(port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"demo exited with {process.returncode}:\n{log.read_text()}")
        try:
            _get(f"http://127.0.0.1:{port}/api/health")
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    pytest.fail(f"demo did not serve within 300 s:\n{log.read_text()}")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)


def test_demo_serves_the_sample_and_reuses_it(cli_env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    port = free_port()
    demo = _start_demo(cli_env, port, tmp_path / "first.log")
    try:
        health = _get(f"http://127.0.0.1:{port}/api/health")
        assert health["artworks"] == health["embedded"] == 150
        assert health["weights"] == "random" and health["projection_version"]
        results = _get(f"http://127.0.0.1:{port}/api/search?q=portrait&k=10")["results"]
        assert len(results) == 10
        assert all(0 <= hit["x"] <= 1 and 0 <= hit["y"] <= 1 for hit in results)
        assert all(hit["thumbnail_url"].startswith("/api/artworks/") for hit in results)
        every_work = _get(f"http://127.0.0.1:{port}/api/search?q=portrait&k=200")["results"]
        assert len(every_work) == 150
        for hit in every_work:  # the bundled folder's files, and nothing else, are served
            for url in (hit["image_url"], hit["thumbnail_url"]):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{url}", timeout=30) as image:
                    assert image.headers["content-type"] == "image/jpeg" and image.read(3) == b"\xff\xd8\xff"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as page:
            assert b'data-testid="banner"' in page.read()  # the built gallery, not the "run make setup" note
    finally:
        _stop(demo)
    with psycopg.connect(db_url) as conn:
        first = conn.execute("SELECT max(created_at), count(*) FROM embeddings").fetchone()

    demo = _start_demo(cli_env, port, tmp_path / "second.log")
    _stop(demo)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT max(created_at), count(*) FROM embeddings").fetchone() == first
        assert conn.execute("SELECT count(*) FROM projections").fetchone()[0] == 1
        statuses = conn.execute("SELECT status FROM runs ORDER BY id").fetchall()
    assert statuses == [("succeeded",), ("succeeded",)]
    assert "kept projection #" in (tmp_path / "second.log").read_text()
