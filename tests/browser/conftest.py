"""Browser end-to-end fixtures: per module, one real `artsearch serve` on the tiny model over a folder collection
built with the real CLI; per session, one headless Debian Chromium driven by Playwright."""

import csv
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageEnhance, ImageOps
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.helpers import ARTSEARCH, FIXTURES, cli_environment, free_port, fresh_database, run_artsearch

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous: the suite must pass on a loaded 2-core machine, where torch imports alone take seconds.
CLI_TIMEOUT_S = 300
SERVER_START_TIMEOUT_S = 180
PAGE_TIMEOUT_MS = 60_000

# Each fixture painting five ways: 40 works, more than one page of results (the UI asks for 20), so that
# "more like this" and a second query have works left to add.
VARIANTS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "": lambda image: image,
    "mirrored": ImageOps.mirror,
    "upside down": ImageOps.flip,
    "in grey": lambda image: ImageOps.grayscale(image).convert("RGB"),
    "darkened": lambda image: ImageEnhance.Brightness(image).enhance(0.5),
}


def run_cli(args: list[str], env: dict[str, str]) -> None:
    """Run one `artsearch` command; its output is the failure message when it fails."""
    result = run_artsearch(args, env, timeout=CLI_TIMEOUT_S)
    if result.returncode != 0:
        pytest.fail(f"artsearch {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def frontend_dist() -> Path:
    """The built web app; built here once when `make setup` has not built it yet."""
    dist = FRONTEND / "dist"
    if not (dist / "index.html").is_file():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"{dist} is missing and npm is not installed: run `make setup` first")
        for args in (["ci", "--no-audit", "--no-fund"], ["run", "build"]):
            result = subprocess.run([npm, *args], cwd=FRONTEND, capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                pytest.fail(f"npm {' '.join(args)} failed in {FRONTEND}:\n{result.stdout}\n{result.stderr}")
    return dist


@pytest.fixture(scope="module")
def collection_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder source (images + metadata.csv) of variants of the fixture paintings."""
    root = tmp_path_factory.mktemp("browser-collection")
    with (FIXTURES / "images" / "metadata.csv").open(newline="", encoding="utf-8") as handle:
        paintings = list(csv.DictReader(handle))
    with (root / "metadata.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "title", "artist", "date", "url"])
        writer.writeheader()
        for painting in paintings:
            image = Image.open(FIXTURES / "images" / painting["file"]).convert("RGB")
            for name, change in VARIANTS.items():
                file = f"{painting['aic_id']}{'-' + name.replace(' ', '-') if name else ''}.jpg"
                change(image).save(root / file, quality=85)
                writer.writerow(
                    {
                        "file": file,
                        "title": f"{painting['title']} ({name})" if name else painting["title"],
                        "artist": painting["artist"],
                        "date": painting["date"],
                        "url": f"https://www.artic.edu/artworks/{painting['aic_id']}",
                    }
                )
    return root


@pytest.fixture(scope="module")
def module_db_url(pg_server_url: str) -> Iterator[str]:
    """A fresh migrated database shared by one module's tests (the module-scoped `db_url`)."""
    with fresh_database(pg_server_url, "b") as url:
        yield url


@pytest.fixture(scope="module")
def module_cli_env(module_db_url: str, tiny_clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for the `artsearch` CLI against the module's database and the tiny model (the module `cli_env`)."""
    return cli_environment(module_db_url, tmp_path_factory.mktemp("browser-home"), str(tiny_clip_dir))


@pytest.fixture(scope="module")
def server_url(
    frontend_dist: Path, collection_dir: Path, module_cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real `artsearch serve` over the collection, crawled, embedded and projected with the real CLI."""
    run_cli(["crawl", "folder", "--path", str(collection_dir)], module_cli_env)
    run_cli(["embed"], module_cli_env)
    run_cli(["project"], module_cli_env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("browser-server") / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [ARTSEARCH, "serve", "--port", str(port)], env=module_cli_env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_health(server, url, log_path)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wait_for_health(server: subprocess.Popen, url: str, log_path: Path) -> None:
    """Until /api/health answers 200; fails at once with the server's log if it exits first."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        with suppress(httpx.TransportError):  # not listening yet
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                return
        try:
            # The poll interval doubles as the check that the server is still alive.
            code = server.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"artsearch serve exited with {code} before it was healthy:\n{log_path.read_text()}")
    pytest.fail(f"artsearch serve was not healthy within {SERVER_START_TIMEOUT_S}s:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def api(server_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the same server, to ask the API what the page should show."""
    with httpx.Client(base_url=server_url, timeout=60) as client:
        yield client


# Module scope: Playwright's sync API runs an event loop in the main thread while it is open, which would break
# every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (never a downloaded one)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`make chromium`)")
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


RECORD_POLICY_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture
def page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A fresh tab on the app, started and idle; an uncaught script error or anything the content security policy
    blocks fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.add_init_script(RECORD_POLICY_VIOLATIONS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server_url)
    wait_until_idle(tab)
    yield tab
    violations = tab.evaluate("window.__violations")
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
    assert not violations, f"blocked by the content security policy: {violations}"


def wait_until_idle(page: Page, sprites: int | None = None) -> None:
    """Until the app is ready (no search in flight, camera still), with `sprites` works on the canvas if given."""
    page.wait_for_function(
        "n => window.__artsearch?.ready === true && (n === null || window.__artsearch.sprites().length === n)",
        arg=sprites,
        timeout=PAGE_TIMEOUT_MS,
    )
