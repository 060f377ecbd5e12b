"""What the browser tests do as a visitor (type, click) and what they ask the API: the very requests the page makes."""

import math
from typing import Any

import httpx
from playwright.sync_api import Page, expect

# What the page asks for with every search: RESULTS_PER_QUERY in frontend/src/api.ts, near-duplicates stacked
# (STACK in frontend/src/main.ts), and text searches ended at a clear drop in their scores.
K = 20
STACKED = {"stack": "true"}
CUT_OFF = {"cutoff": "auto"}


def search(page: Page, query: str) -> None:
    """Type a query and press Enter, as a visitor does."""
    page.get_by_test_id("search-input").fill(query)
    page.get_by_test_id("search-input").press("Enter")


def text_answer(api: httpx.Client, query: str, k: int = K, cutoff: bool = True, **filters: int | str) -> dict:
    """The API's answer to the request the page makes for `query` (with `cutoff`, as until "Show them")."""
    shape = {**STACKED, **(CUT_OFF if cutoff else {})}
    response = api.get("/api/search", params={"q": query, "k": k, **shape, **filters})
    response.raise_for_status()
    return response.json()


def text_results(api: httpx.Client, query: str, **filters: int | str) -> list[dict[str, Any]]:
    """The hits the page shows for `query`, narrowed by filters if given."""
    return text_answer(api, query, **filters)["results"]


def similar_ids(api: httpx.Client, artwork_id: int) -> set[int]:
    """The API's "more like this" ids for one artwork, as the page asks for them."""
    response = api.get(f"/api/artworks/{artwork_id}/similar", params={"k": K, **STACKED})
    response.raise_for_status()
    return {result["id"] for result in response.json()["results"]}


def composed_answer(api: httpx.Client, parts: list[dict[str, Any]], cutoff: bool) -> dict:
    """The API's answer to the composed query the page sends for these parts."""
    params = {**STACKED, **(CUT_OFF if cutoff else {})}
    response = api.post("/api/search/compose", params=params, json={"parts": parts, "k": K})
    response.raise_for_status()
    return response.json()


def sprites(page: Page) -> list[dict[str, Any]]:
    """What the canvas draws, from the app's test hook."""
    return page.evaluate("window.__artsearch.sprites()")


def drawn_ids(page: Page) -> set[int]:
    return {sprite["id"] for sprite in sprites(page)}


def clickable_sprite(page: Page, ids: set[int]) -> dict[str, Any]:
    """Of the sprites with these ids, the one farthest from any other whose centre no UI element covers."""
    everything = page.evaluate(
        """() => window.__artsearch.sprites().map((s) => ({
            ...s, uncovered: document.elementFromPoint(s.screenX, s.screenY)?.tagName === 'CANVAS',
        }))"""
    )

    def isolation(sprite: dict[str, Any]) -> float:
        others = (math.dist((s["screenX"], s["screenY"]), (sprite["screenX"], sprite["screenY"])) for s in everything)
        return min((d for d in others if d > 0), default=math.inf)

    candidates = [s for s in everything if s["id"] in ids and s["uncovered"]]
    assert candidates, f"none of the works {sorted(ids)} is uncovered on screen"
    return max(candidates, key=isolation)


def open_panel(page: Page, api: httpx.Client, sprite: dict[str, Any]) -> dict[str, Any]:
    """Click a sprite where it is drawn; the panel must show that artwork. Returns the API's artwork."""
    artwork = api.get(f"/api/artworks/{sprite['id']}").json()
    page.mouse.click(sprite["screenX"], sprite["screenY"])
    expect(page.get_by_test_id("panel")).to_have_attribute("aria-hidden", "false")
    expect(page.get_by_test_id("panel-title")).to_have_text(artwork["title"])
    return artwork
