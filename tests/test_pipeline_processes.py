"""The pipeline across processes: killed and rerun, stopped by SIGTERM, two runs at once, --workers:
every artwork ends embedded exactly once."""

import re
import signal
import subprocess

import pytest

from backend.database import connect
from backend.settings import Settings
from etl.pipeline.runner import embed_pending
from tests.helpers import (
    ARTSEARCH,
    FIXTURE_IMAGES,
    artwork_states,
    count,
    expire_leases,
    index_present,
    insert_artworks,
    run_artsearch,
    wait_until,
)
from tests.image_server import ImageServer


def add_paintings(server: ImageServer, url: str, count: int) -> list[int]:
    urls = [server.add(f"{i}.jpg", FIXTURE_IMAGES[i % len(FIXTURE_IMAGES)].read_bytes()) for i in range(count)]
    return insert_artworks(url, urls)


def embed_cli(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [ARTSEARCH, "embed", "--batch-size", "4"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def embedded_count(url: str) -> int:
    return count(url, "SELECT count(*) FROM embeddings")


def embedded_in(output: str) -> int:
    return int(re.search(r"embedded (\d+) images", output).group(1))


@pytest.mark.slow  # a real CLI run on a slow CDN, killed, then run again
@pytest.mark.parametrize("bulk", [False, True], ids=["into the live index", "bulk load"])
def test_killed_run_then_rerun_embeds_exactly_the_rest(
    settings: Settings, cli_env: dict[str, str], image_server: ImageServer, bulk: bool
) -> None:
    url = settings.database_url
    ids = add_paintings(image_server, url, 40)
    image_server.one_at_a_time, image_server.delay_s = True, 0.1  # a slow CDN: about 10 images/s
    cli_env = dict(cli_env, ARTSEARCH_EMBED_BULK_MIN_PENDING="10" if bulk else "100000")
    first = embed_cli(cli_env)
    wait_until(lambda: embedded_count(url) >= 8)
    first.kill()
    first.wait()
    with connect(url) as conn:
        before = dict(conn.execute("SELECT artwork_id, created_at FROM embeddings").fetchall())
    states = artwork_states(url)
    assert 8 <= len(before) < len(ids)
    assert any(status == "claimed" for status, _, _ in states.values())  # in flight when killed
    assert index_present(url) is not bulk  # a bulk load writes without the index until its end

    image_server.one_at_a_time, image_server.delay_s = False, 0.0
    expire_leases(url)  # the killed run's leases run out
    second = run_artsearch(["embed"], cli_env)

    assert second.returncode == 0, second.stderr
    assert embedded_in(second.stdout) == len(ids) - len(before)
    with connect(url) as conn:
        after = dict(conn.execute("SELECT artwork_id, created_at FROM embeddings").fetchall())
    assert set(after) == set(ids) and all(after[i] == before[i] for i in before)  # none embedded twice
    assert {status for status, _, _ in artwork_states(url).values()} == {"embedded"}
    assert index_present(url) and ("HNSW index built" in second.stdout) is bulk


@pytest.mark.slow  # a real CLI run on a slow CDN, stopped by a signal midway
def test_sigterm_finishes_in_flight_work_and_exits_cleanly(
    settings: Settings, cli_env: dict[str, str], image_server: ImageServer
) -> None:
    url = settings.database_url
    add_paintings(image_server, url, 150)
    image_server.one_at_a_time, image_server.delay_s = True, 0.05

    run = embed_cli(cli_env)
    wait_until(lambda: embedded_count(url) >= 4)
    run.send_signal(signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=60)

    assert run.returncode == 130, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    states = artwork_states(url).values()
    assert {status for status, _, _ in states} <= {"embedded", "pending"}  # nothing left claimed
    assert all(attempts == (1 if status == "embedded" else 0) for status, _, attempts in states)
    assert embedded_in(stdout) == embedded_count(url) < 150


def test_two_processes_at_once_embed_every_artwork_exactly_once(
    settings: Settings, cli_env: dict[str, str], image_server: ImageServer
) -> None:
    url = settings.database_url
    ids = add_paintings(image_server, url, 120)
    image_server.one_at_a_time, image_server.delay_s = True, 0.02

    runs = [embed_cli(cli_env), embed_cli(cli_env)]
    outputs = [run.communicate(timeout=180) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    counts = [embedded_in(out) for out, _ in outputs]
    assert sum(counts) == len(ids)
    assert embedded_count(url) == len(ids)
    assert set(artwork_states(url).values()) == {("embedded", None, 1)}  # each claimed once, by one of them


def test_worker_processes_share_the_work(settings: Settings, image_server: ImageServer) -> None:
    ids = add_paintings(image_server, settings.database_url, 30)
    summary = embed_pending(settings.model_copy(update={"embed_batch_size": 4, "embed_workers": 2}))
    assert summary.embedded == len(ids) and summary.failed == 0
    assert set(artwork_states(settings.database_url).values()) == {("embedded", None, 1)}
