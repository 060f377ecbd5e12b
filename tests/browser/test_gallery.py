"""The canvas gallery end to end (issue 6): real headless Chromium against a real `artsearch serve`."""

import io
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import PAGE_TIMEOUT_MS, wait_until_idle
from tests.browser.pages import (
    STACKED,
    K,
    clickable_sprite,
    drawn_ids,
    open_panel,
    search,
    similar_ids,
    sprites,
    text_answer,
    text_results,
)
from tests.helpers import FIXTURES

pytestmark = pytest.mark.browser

QUERY = "a gloomy landscape in winter"
SECOND_QUERY = "a portrait in red"
UPLOAD = FIXTURES / "images" / "874.jpg"
VIEWPORT = (1280, 800)


def test_query_draws_sprites_where_the_api_places_them(page: Page, api: httpx.Client) -> None:
    """The visitor's first experience: a query puts the API's hits on the map, at the API's (x, y), in view."""
    expected = {result["id"]: (result["x"], result["y"]) for result in text_results(api, QUERY)}
    assert len(expected) == K and all(x is not None and y is not None for x, y in expected.values())

    search(page, QUERY)
    wait_until_idle(page, len(expected))

    drawn = sprites(page)
    assert {sprite["id"] for sprite in drawn} == set(expected)
    for sprite in drawn:
        assert (sprite["x"], sprite["y"]) == pytest.approx(expected[sprite["id"]], abs=1e-9)
        assert 0 <= sprite["screenX"] <= VIEWPORT[0] and 0 <= sprite["screenY"] <= VIEWPORT[1], "framed in view"
    assert parse_qs(urlsplit(page.url).query)["q"] == [QUERY]  # with the view: a link shows what is on screen
    expect(page.get_by_test_id("status")).to_have_text(f"{K} works for “{QUERY}”.")
    placed = api.get("/api/map").json()["placed"]
    expect(page.get_by_test_id("count")).to_have_text(f"{K} results among {placed} works")


def test_clicking_a_work_opens_its_panel(page: Page, api: httpx.Client) -> None:
    """A click on a drawn work opens that work, with a link to the museum's page."""
    results = text_results(api, QUERY)
    search(page, QUERY)
    wait_until_idle(page, len(results))

    artwork = open_panel(page, api, clickable_sprite(page, {result["id"] for result in results}))

    expect(page.get_by_test_id("museum-link")).to_have_attribute("href", artwork["page_url"])


def test_more_like_this_adds_the_similar_works(page: Page, api: httpx.Client) -> None:
    """ "More like this" from the panel adds exactly the API's similar works to those already drawn."""
    results = text_results(api, QUERY)
    search(page, QUERY)
    wait_until_idle(page, len(results))
    before = drawn_ids(page)
    similar = {artwork_id: similar_ids(api, artwork_id) for artwork_id in before}
    adds_works = {artwork_id for artwork_id, ids in similar.items() if ids - before}
    sprite = clickable_sprite(page, adds_works)
    open_panel(page, api, sprite)

    page.get_by_test_id("more-like-this").click()
    expected = before | similar[sprite["id"]]
    wait_until_idle(page, len(expected))

    assert len(expected) > len(before)
    assert drawn_ids(page) == expected
    params = parse_qs(urlsplit(page.url).query)
    assert (params["q"], params["like"]) == ([QUERY], [str(sprite["id"])])  # every search on the map, in order


def test_an_uploaded_image_adds_works(page: Page, api: httpx.Client) -> None:
    """Choosing an image file searches by image and draws the API's hits for it."""
    response = api.post(
        "/api/search/image",
        params=STACKED,
        files={"file": (UPLOAD.name, UPLOAD.read_bytes(), "image/jpeg")},
        data={"k": str(K)},
    )
    response.raise_for_status()
    expected = {result["id"] for result in response.json()["results"]}
    assert expected

    page.get_by_test_id("file-input").set_input_files(UPLOAD)
    wait_until_idle(page, len(expected))

    assert drawn_ids(page) == expected
    expect(page.get_by_test_id("status")).to_have_text(f"{len(expected)} works like {UPLOAD.name}.")


def test_a_failing_api_shows_an_error_not_a_blank_page(page: Page, api: httpx.Client) -> None:
    """A 503 from the search API is said in the status line; the map stays, and the next search works."""
    detail = "the database is unavailable; try again shortly"

    def is_search(url: str) -> bool:
        return "/api/search" in url

    page.route(is_search, lambda route: route.fulfill(status=503, json={"detail": detail}))
    search(page, QUERY)
    status = page.get_by_test_id("status")
    expect(status).to_have_text("The collection is not available right now. Try again in a moment.")
    expect(status).to_have_attribute("data-kind", "error")
    wait_until_idle(page, 0)
    expect(page.locator("#map canvas")).to_be_visible()
    expect(page.get_by_test_id("search-input")).to_be_editable()

    page.unroute(is_search)
    page.get_by_test_id("search-button").click()
    wait_until_idle(page, len(text_results(api, QUERY)))
    expect(status).not_to_have_attribute("data-kind", "error")


def test_random_weights_banner_is_shown(page: Page) -> None:
    """The tiny model is marked random, so the page must warn that results are not meaningful."""
    banner = page.get_by_test_id("banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("random weights")


def test_two_queries_accumulate_and_screenshot(page: Page, api: httpx.Client, tmp_path: Path) -> None:
    """Results accumulate across queries; the screenshot is for a person to look at (ARTSEARCH_SCREENSHOT_DIR)."""
    first = {result["id"] for result in text_results(api, QUERY)}
    both = first | {result["id"] for result in text_results(api, SECOND_QUERY)}
    assert len(both) > len(first), "the second query must have works of its own to add"

    search(page, QUERY)
    wait_until_idle(page, len(first))
    search(page, SECOND_QUERY)
    wait_until_idle(page, len(both))
    assert drawn_ids(page) == both

    # Every work's thumbnail downloaded, then two frames drawn, so that the picture shows the paintings.
    page.wait_for_function(
        """n => performance.getEntriesByType('resource')
                .filter((e) => e.name.includes('rendition=thumbnail')).length >= n""",
        arg=len(both),
        timeout=PAGE_TIMEOUT_MS,
    )
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    shot = tmp_path / "two-queries.png"
    page.screenshot(path=shot)
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("ARTSEARCH_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)


def test_first_load_draws_the_whole_collection_and_its_region_labels(page: Page, api: httpx.Client) -> None:
    info = api.get("/api/map").json()
    page.wait_for_function("() => (window.__artsearch.collection()?.worksDrawn ?? 0) > 0", timeout=PAGE_TIMEOUT_MS)
    drawn = page.evaluate("window.__artsearch.collection()")
    assert drawn["version"] == info["version"] and drawn["tilesDrawn"] >= 1
    assert drawn["worksDrawn"] == info["placed"]  # 40 works: the tiles of the first screen list every one
    expected = sorted(r["label"] for r in info["regions"] if r["min_zoom"] <= drawn["zoom"] <= r["max_zoom"])
    assert sorted(drawn["labels"]) == expected
    assert sprites(page) == []  # no query yet: the collection layer, not search results
    canvas = page.locator("canvas").screenshot()
    pixels = Image.open(io.BytesIO(canvas)).convert("RGB")
    colours = pixels.resize((64, 40)).getcolors(64 * 40)
    assert len(colours) > 200, "the first screen shows pictures, not an empty map"


def test_a_search_lists_its_results_in_rank_order_beside_the_map(page: Page, api: httpx.Client) -> None:
    search(page, QUERY)
    wait_until_idle(page, K)
    expected = [result["title"] for result in text_results(api, QUERY)]
    items = page.get_by_test_id("result")
    expect(items).to_have_count(K)
    assert [title.strip() for title in page.locator(".result-title").all_inner_texts()] == expected
    first = text_results(api, QUERY)[0]["id"]
    items.first.hover()  # the list mirrors the map: its work is highlighted there
    page.wait_for_function("id => window.__artsearch.hovered() === id", arg=first)
    page.get_by_test_id("clear-button").click()
    expect(page.get_by_test_id("results")).to_be_hidden()


def test_a_keyboard_walk_opens_and_closes_a_work(page: Page, api: httpx.Client) -> None:
    results = text_results(api, QUERY)
    page.get_by_test_id("search-input").focus()
    page.keyboard.type(QUERY)
    page.keyboard.press("Enter")
    wait_until_idle(page, K)
    for _ in range(12):  # Tab from the search box into the list
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.dataset.testid") == "result":
            break
    focused = "Number(document.activeElement.dataset.id)"
    assert page.evaluate(focused) == results[0]["id"]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(focused) == results[2]["id"]
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("panel-title")).to_have_text(results[2]["title"])
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("panel")).to_have_attribute("aria-hidden", "true")
    assert page.evaluate(focused) == results[2]["id"]  # focus goes back where it was


@pytest.mark.parametrize("size", [(800, 600), (390, 844)])
def test_resizing_keeps_the_results_in_view(page: Page, size: tuple[int, int]) -> None:
    search(page, QUERY)
    wait_until_idle(page, K)
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.wait_for_timeout(500)  # the canvas follows the window on its next frame
    wait_until_idle(page, K)
    width, height = size
    inside = [s for s in sprites(page) if 0 <= s["screenX"] <= width and 0 <= s["screenY"] <= height]
    assert len(inside) == K, f"{len(inside)} of {K} works in view at {width}x{height}"


def view_of(page: Page) -> dict[str, float]:
    return page.evaluate("window.__artsearch.view()")


def same_view(a: dict[str, float], b: dict[str, float]) -> bool:
    return abs(a["x"] - b["x"]) < 1e-3 and abs(a["y"] - b["y"]) < 1e-3 and abs(a["scale"] / b["scale"] - 1) < 1e-2


def test_the_url_restores_the_queries_the_filters_the_open_work_and_the_view(page: Page, api: httpx.Client) -> None:
    years = api.get("/api/facets").json()["years"]
    until = years["end"] - years["bin"]  # leaves out the latest bin's works
    search(page, QUERY)
    wait_until_idle(page, K)
    first_ids = drawn_ids(page)
    search(page, SECOND_QUERY)
    wait_until_idle(page)
    page.get_by_test_id("filters-button").click()
    page.get_by_test_id("filter-to").fill(str(until))  # input, then change: as letting go of the slider
    # A second change at once (the other slider let go, say): the newer round redraws every search, the older stops.
    page.get_by_test_id("filter-to").dispatch_event("change")
    wait_until_idle(page)
    both_ids = drawn_ids(page)
    assert both_ids == {r["id"] for q in (QUERY, SECOND_QUERY) for r in text_results(api, q, date_to=until)}
    page.get_by_test_id("result").nth(1).click()
    title = page.get_by_test_id("panel-title")
    opened = title.inner_text()
    page.locator("#zoom-in").click()
    wait_until_idle(page)
    page.wait_for_function("() => new URLSearchParams(location.search).has('view')")
    page.wait_for_timeout(600)  # the view is written once the camera has rested
    params = parse_qs(urlsplit(page.url).query)
    assert params["q"] == [QUERY, SECOND_QUERY] and params["to"] == [str(until)] and len(params["work"]) == 1
    view = view_of(page)
    filters = page.get_by_test_id("filters-count")

    page.reload()
    wait_until_idle(page)
    assert drawn_ids(page) == both_ids
    expect(title).to_have_text(opened)
    expect(filters).to_have_text("1")
    assert same_view(view_of(page), view), (view_of(page), view)

    page.go_back()  # before the work was opened: the same searches and filter, the panel closed
    wait_until_idle(page, len(both_ids))
    expect(page.get_by_test_id("panel")).to_have_attribute("aria-hidden", "true")
    page.go_back()  # before the filter
    wait_until_idle(page)
    expect(filters).to_be_hidden()
    page.go_back()  # before the second search
    wait_until_idle(page, len(first_ids))
    assert drawn_ids(page) == first_ids
    for _ in range(3):
        page.go_forward()
    wait_until_idle(page, len(both_ids))
    expect(title).to_have_text(opened)
    expect(filters).to_have_text("1")
    assert drawn_ids(page) == both_ids and same_view(view_of(page), view)


def test_a_query_s_label_sits_among_its_best_results(page: Page, api: httpx.Client) -> None:
    hits = text_results(api, QUERY)
    low, high = min(h["score"] for h in hits), max(h["score"] for h in hits)
    weights = [(h["score"] - low) / ((high - low) or 1) + 0.1 for h in hits]
    expected = [sum(w * h[axis] for w, h in zip(weights, hits, strict=True)) / sum(weights) for axis in ("x", "y")]
    search(page, QUERY)
    wait_until_idle(page, K)
    (label,) = page.evaluate("window.__artsearch.labels()")
    assert (label["x"], label["y"]) == pytest.approx(expected, abs=1e-6)
    for axis in ("x", "y"):  # among the hits, wherever the query's own vector projects (the modality gap)
        assert min(h[axis] for h in hits) <= label[axis] <= max(h[axis] for h in hits)


def test_each_search_has_a_chip_that_frames_or_removes_it(page: Page, api: httpx.Client) -> None:
    first = {r["id"] for r in text_results(api, QUERY)}
    second = {r["id"] for r in text_results(api, SECOND_QUERY)}
    search(page, QUERY)
    wait_until_idle(page, K)
    search(page, SECOND_QUERY)
    wait_until_idle(page, len(first | second))
    chips = page.get_by_test_id("chip")
    expect(chips).to_have_count(2)
    colours = page.locator(".chip").evaluate_all("items => items.map((item) => item.style.getPropertyValue('--chip'))")
    assert len(set(colours)) == 2  # one colour per search
    before = view_of(page)
    chips.first.click()  # frames the first search's works and lists them
    wait_until_idle(page)
    assert not same_view(view_of(page), before)
    assert {int(i) for i in page.get_by_test_id("result").evaluate_all("b => b.map((x) => x.dataset.id)")} == first
    page.get_by_test_id("chip-remove").first.click()
    wait_until_idle(page, len(second))
    assert drawn_ids(page) == second  # its works left, unless the other search holds them too
    assert [label["text"] for label in page.evaluate("window.__artsearch.labels()")] == [f"“{SECOND_QUERY}”"]
    assert parse_qs(urlsplit(page.url).query)["q"] == [SECOND_QUERY]
    expect(chips).to_have_count(1)


def test_hovering_a_work_on_the_map_shows_its_title(page: Page, api: httpx.Client) -> None:
    results = {r["id"]: r for r in text_results(api, QUERY)}
    search(page, QUERY)
    wait_until_idle(page, K)
    sprite = clickable_sprite(page, set(results))
    page.mouse.move(sprite["screenX"], sprite["screenY"])
    hit = results[sprite["id"]]
    copies = len(hit["stacked"])  # a stack's best hit says how many near-duplicates are folded under it
    stack = f" (+{copies} near-duplicate{'s' if copies > 1 else ''})" if copies else ""
    expect(page.get_by_test_id("tooltip")).to_have_text(f"{hit['title']} — {hit['maker']}{stack}")
    page.get_by_test_id("search-input").hover()  # off the map
    expect(page.get_by_test_id("tooltip")).to_be_hidden()


def uncovered(page: Page, points: list[tuple[float, float]]) -> list[bool]:
    """Whether the canvas, not a control over it, is what a click at each point would reach."""
    return page.evaluate("ps => ps.map(([x, y]) => document.elementFromPoint(x, y)?.tagName === 'CANVAS')", points)


def settled_sprites(page: Page) -> list[dict[str, Any]]:
    """The sprites once they stay put: a thumbnail arriving late resizes its work, and the works spread again."""
    previous = sprites(page)
    for _ in range(40):
        page.wait_for_timeout(250)
        wait_until_idle(page)
        current = sprites(page)
        if current == previous:
            return current
        previous = current
    pytest.fail("the works never came to rest")


def test_every_result_is_reachable_where_it_is_drawn_and_shows_its_rank(page: Page, api: httpx.Client) -> None:
    """Results that would overlap are spread apart: pointing at each one's centre finds that very work."""
    ranks = {r["id"]: rank for rank, r in enumerate(text_results(api, QUERY), start=1)}
    search(page, QUERY)
    wait_until_idle(page, K)
    drawn = settled_sprites(page)
    assert {s["id"]: s["rank"] for s in drawn} == ranks  # outlined and ranked as listed
    free = uncovered(page, [(s["screenX"], s["screenY"]) for s in drawn])
    reachable = [s for s, ok in zip(drawn, free, strict=True) if ok]
    assert len(reachable) >= K // 2, f"only {len(reachable)} of {K} works are clear of the controls"
    for sprite in reachable:
        page.mouse.move(sprite["screenX"], sprite["screenY"])
        page.wait_for_function("id => window.__artsearch.hovered() === id", arg=sprite["id"])


def frames_drawn(page: Page) -> int:
    return page.evaluate("window.__artsearch.drawStats().frames")


def test_the_map_draws_only_when_something_on_it_changes(page: Page, api: httpx.Client) -> None:
    """Once the works and their pictures have settled the map draws no frame at all, until the pointer moves onto a
    work (pixi would draw 60 frames a second for nothing)."""
    hits = {result["id"] for result in text_results(api, QUERY)}
    search(page, QUERY)
    wait_until_idle(page, len(hits))
    drawn, deadline = frames_drawn(page), time.monotonic() + 30
    while True:  # until a whole second passes without a frame: thumbnails arrive, works glide apart
        page.wait_for_timeout(1000)
        now = frames_drawn(page)
        if now == drawn:
            break
        assert time.monotonic() < deadline, f"the map kept drawing ({now - drawn} frames in the last second)"
        drawn = now
    sprite = clickable_sprite(page, hits)
    page.mouse.move(sprite["screenX"], sprite["screenY"])
    page.wait_for_function("id => window.__artsearch.hovered() === id", arg=sprite["id"])
    page.wait_for_function("n => window.__artsearch.drawStats().frames > n", arg=drawn)  # the hover is drawn


def test_more_results_brings_the_next_page_and_the_link_keeps_it(page: Page, api: httpx.Client) -> None:
    more = text_answer(api, QUERY, k=50)["results"]
    assert K < len(more) < 50  # the 40 works of the collection: the next page is the last
    search(page, QUERY)
    wait_until_idle(page, K)
    page.get_by_test_id("more-results").click()
    wait_until_idle(page, len(more))
    assert drawn_ids(page) == {r["id"] for r in more}
    expect(page.get_by_test_id("result")).to_have_count(len(more))
    expect(page.get_by_test_id("more-results")).to_be_hidden()  # the search has no more to give
    page.wait_for_function("() => new URLSearchParams(location.search).get('k') === '50'")
    page.reload()
    wait_until_idle(page, len(more))
    expect(page.get_by_test_id("result")).to_have_count(len(more))
    page.go_back()
    wait_until_idle(page, K)


def test_filters_narrow_every_search_and_the_link_keeps_them(page: Page, api: httpx.Client) -> None:
    years = api.get("/api/facets").json()["years"]
    tail, since = 0, years["start"]
    for i in reversed(range(len(years["counts"]))):  # a year that a few of the dated works reach
        tail += years["counts"][i]
        since = years["start"] + i * years["bin"]
        if tail >= 5:
            break
    expected = {r["id"] for r in text_results(api, QUERY, date_from=since)}
    assert 0 < len(expected) < K
    search(page, QUERY)
    wait_until_idle(page, K)
    page.get_by_test_id("filters-button").click()
    page.get_by_test_id("filter-from").fill(str(since))  # input, then change: the searches run again
    wait_until_idle(page, len(expected))
    assert drawn_ids(page) == expected
    expect(page.get_by_test_id("filter-years")).to_have_text(f"from {since}")
    expect(page.get_by_test_id("filters-count")).to_have_text("1")
    assert parse_qs(urlsplit(page.url).query)["from"] == [str(since)]

    page.reload()
    wait_until_idle(page, len(expected))
    assert drawn_ids(page) == expected
    expect(page.get_by_test_id("filters-count")).to_have_text("1")
    page.go_back()  # before the filter: the whole first page again
    wait_until_idle(page, K)
    expect(page.get_by_test_id("filters-count")).to_be_hidden()


def test_clicking_a_work_of_the_collection_opens_it(page: Page, api: httpx.Client) -> None:
    info = api.get("/api/map").json()
    tile = api.get(info["tiles"].format(z=0, x=0, y=0)).json()
    page.wait_for_function("() => (window.__artsearch.collection()?.worksDrawn ?? 0) > 0", timeout=PAGE_TIMEOUT_MS)
    view = view_of(page)
    world = 20000  # frontend/src/world.ts WORLD_SIZE

    def on_screen(work: dict[str, Any]) -> tuple[float, float]:
        return (
            (work["x"] - view["x"]) * world * view["scale"] + VIEWPORT[0] / 2,
            (work["y"] - view["y"]) * world * view["scale"] + VIEWPORT[1] / 2,
        )

    points = [on_screen(work) for work in tile["works"]]
    clear = [(w, p) for w, p, ok in zip(tile["works"], points, uncovered(page, points), strict=True) if ok]
    work, (x, y) = max(clear, key=lambda wp: min(math.dist(wp[1], q) for q in points if q != wp[1]))
    page.mouse.move(x, y)
    expect(page.get_by_test_id("tooltip")).to_have_text(work["title"])
    page.mouse.click(x, y)
    expect(page.get_by_test_id("panel-title")).to_have_text(work["title"])
    assert parse_qs(urlsplit(page.url).query)["work"] == [str(work["id"])]


def test_a_shared_link_survives_a_slow_start(browser: Browser, server_url: str) -> None:
    """The page writes its view into the URL as the camera moves; not before it has read the link it was opened on."""
    context = browser.new_context(viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]})
    tab = context.new_page()

    def slow_health(route: Route) -> None:
        time.sleep(1.5)  # longer than the page waits before writing a moved view
        route.continue_()

    tab.route("**/api/health", slow_health)
    view = "0.5000,0.5000,0.3000"
    tab.goto(f"{server_url}/?q={QUERY}&view={view}")
    wait_until_idle(tab, K)
    tab.wait_for_timeout(600)  # a view write would land by now
    params = parse_qs(urlsplit(tab.url).query)
    assert params["q"] == [QUERY] and params["view"] == [view]
    context.close()


@pytest.mark.parametrize("renderer", ["webgl", "canvas"])
def test_each_renderer_draws_a_search_within_the_content_security_policy(
    page: Page, api: httpx.Client, server_url: str, renderer: str
) -> None:
    """Both of pixi's renderers run under the policy the server sends: no eval, no inline code, nothing blocked (the
    page fixture fails the test on any violation)."""
    expected = {result["id"] for result in text_results(api, QUERY)}
    page.goto(f"{server_url}/?renderer={renderer}")
    wait_until_idle(page)

    search(page, QUERY)
    wait_until_idle(page, len(expected))

    assert page.evaluate("window.__artsearch.drawStats().renderer") == renderer
    assert drawn_ids(page) == expected
    assert "default-src 'self'" in api.get("/").headers["content-security-policy"]
