"""Beyond plain kNN in the browser (issue 18): "more like this, but …", a minus in the search box, stacks of
near-duplicates that unfold, and the relevance cut-off's message, against a real `artsearch serve`."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.browser.conftest import wait_until_idle
from tests.browser.pages import (
    K,
    clickable_sprite,
    composed_answer,
    drawn_ids,
    open_panel,
    search,
    sprites,
    text_answer,
    text_results,
)

pytestmark = pytest.mark.browser

QUERY = "a gloomy landscape in winter"
# Words whose scores, with the tiny test model over this collection, drop clearly somewhere in the first 20.
CUT_CANDIDATES = ["river", "sea", "city", "night", "garden", "boat"]


def composed_bodies(page: Page) -> list[dict[str, Any]]:
    """Every body the page posts to the composed search from now on, in order."""
    bodies: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if "/api/search/compose" in request.url:
            bodies.append(request.post_data_json)

    page.on("request", record)
    return bodies


def ids(answer: dict[str, Any]) -> set[int]:
    return {hit["id"] for hit in answer["results"]}


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_more_like_this_but_composes_the_work_with_the_words(page: Page, api: httpx.Client) -> None:
    """From the panel, "more like this, but at night -people" asks for the work plus "at night" minus "people", draws
    the API's answer to that, names it in the URL, and a reload of that URL draws it again."""
    first = {hit["id"] for hit in text_results(api, QUERY)}
    search(page, QUERY)
    wait_until_idle(page, len(first))
    sent = composed_bodies(page)
    artwork = open_panel(page, api, clickable_sprite(page, first))

    but = page.get_by_test_id("more-like-this-but")
    but.fill("at night -people")
    but.press("Enter")
    parts = [
        {"artwork_id": artwork["id"], "weight": 1},
        {"text": "at night", "weight": 1},
        {"text": "people", "weight": -0.5},
    ]
    expected = first | ids(composed_answer(api, parts, cutoff=False))
    wait_until_idle(page, len(expected))

    assert sent == [{"parts": parts, "k": K}]
    assert drawn_ids(page) == expected
    assert artwork["id"] not in ids(composed_answer(api, parts, cutoff=False))  # the work itself is not a hit
    label = f"like “{artwork['title']}” but “at night -people”"
    expect(page.get_by_test_id("chip").last).to_have_text(label)
    params = url_params(page)
    assert (params["q"], params["like"], params["but"]) == ([QUERY], [str(artwork["id"])], ["at night -people"])

    page.reload()
    wait_until_idle(page, len(expected))
    assert drawn_ids(page) == expected
    expect(page.get_by_test_id("chip").last).to_have_text(label)


def test_a_minus_in_the_search_box_searches_away_from_it(page: Page, api: httpx.Client) -> None:
    """Minus terms (a word or a quoted phrase; hyphens inside words stay) become parts weighted -0.5, the rest the
    part searched for; the page draws the API's answer to that composed query and keeps the text in the URL."""
    text = 'a black-and-white harbour -"two people" -boats'
    parts = [
        {"text": "a black-and-white harbour", "weight": 1},
        {"text": "two people", "weight": -0.5},
        {"text": "boats", "weight": -0.5},
    ]
    answer = composed_answer(api, parts, cutoff=True)  # a text search: cut off at a clear drop
    sent = composed_bodies(page)

    search(page, text)
    wait_until_idle(page, len(answer["results"]))

    assert sent == [{"parts": parts, "k": K}]
    assert drawn_ids(page) == ids(answer)
    assert url_params(page)["q"] == [text]

    search(page, "-boats")  # nothing to search towards: said, and nothing sent
    expect(page.get_by_test_id("status")).to_have_text(
        "Say what to look for as well as what to leave out, for example “a harbour -people”."
    )
    assert len(sent) == 1


def stack_toggle(page: Page, top_id: int) -> Locator:
    """The list's toggle of the stack under one hit."""
    return page.locator(f'li:has(> button[data-id="{top_id}"]) > [data-testid="stack-toggle"]')


def test_a_stack_unfolds_in_the_list_and_on_the_map(page: Page, api: httpx.Client) -> None:
    """A hit with near-duplicates folded under it shows their count in the list and on the map; unfolding it (from the
    list, or from the panel of the work clicked on the map) draws the copies at its rank and lists them under it;
    folding takes them away again."""
    results = text_results(api, QUERY)
    stacks = {hit["id"]: [copy["id"] for copy in hit["stacked"]] for hit in results if hit["stacked"]}
    assert stacks, "the collection's grey and darkened variants are near-duplicates to the tiny model"
    hits = {hit["id"] for hit in results}
    search(page, QUERY)
    wait_until_idle(page, len(hits))
    drawn = {sprite["id"]: sprite for sprite in sprites(page)}
    assert {i: drawn[i]["stacked"] for i in stacks} == {i: len(copies) for i, copies in stacks.items()}

    top, copies = next(iter(stacks.items()))
    toggle = stack_toggle(page, top)
    expect(toggle).to_have_text(f"+{len(copies)}")
    toggle.click()
    wait_until_idle(page, len(hits | set(copies)))
    drawn = {sprite["id"]: sprite for sprite in sprites(page)}
    assert set(drawn) == hits | set(copies)
    assert [drawn[copy]["rank"] for copy in copies] == [drawn[top]["rank"]] * len(copies)  # at its rank
    assert drawn[top]["stacked"] == 0  # unfolded: nothing folded under it now
    listed = page.get_by_test_id("stack").get_by_test_id("result")
    assert [int(i) for i in listed.evaluate_all("items => items.map((item) => item.dataset.id)")] == copies
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    wait_until_idle(page, len(hits))
    assert drawn_ids(page) == hits
    expect(page.get_by_test_id("stack")).to_have_count(0)

    on_map = clickable_sprite(page, set(stacks))  # from the map: the panel of the work clicked offers its stack
    open_panel(page, api, on_map)
    offer = page.get_by_test_id("panel-stack")
    count = len(stacks[on_map["id"]])
    expect(offer).to_have_text(f"Show its {count} near-duplicate{'s' if count > 1 else ''}")
    offer.click()
    wait_until_idle(page, len(hits | set(stacks[on_map["id"]])))
    assert drawn_ids(page) == hits | set(stacks[on_map["id"]])
    expect(stack_toggle(page, on_map["id"])).to_have_attribute("aria-expanded", "true")
    expect(offer).to_have_attribute("aria-expanded", "true")
    offer.click()
    wait_until_idle(page, len(hits))
    assert drawn_ids(page) == hits


def test_the_cut_off_says_how_many_it_left_out_and_shows_them(page: Page, api: httpx.Client) -> None:
    """A text search ends at a clear drop in its scores: the list says how many it left out; "Show them" asks again
    without the cut-off, and the URL keeps that."""
    query, cut = next(
        ((q, answer) for q in CUT_CANDIDATES if (answer := text_answer(api, q))["cut"] > 0),
        (None, None),
    )
    assert query and cut, f"none of {CUT_CANDIDATES} has a clear drop in its scores with this collection"
    whole = text_answer(api, query, cutoff=False)
    assert len(cut["results"]) + cut["cut"] == len(whole["results"]) == K

    search(page, query)
    wait_until_idle(page, len(cut["results"]))
    assert drawn_ids(page) == ids(cut)
    note = page.get_by_test_id("results-cut")
    expect(note).to_contain_text(f"{cut['cut']} less relevant work{'s' if cut['cut'] > 1 else ''} left out")
    n = len(cut["results"])
    expect(page.get_by_test_id("status")).to_have_text(
        f"{n} work{'s' if n > 1 else ''} for “{query}” ({cut['cut']} less relevant left out)."
    )
    expect(page.get_by_test_id("more-results")).to_be_hidden()  # the rest is "Show them", not a next page

    page.get_by_test_id("show-cut").click()
    wait_until_idle(page, K)
    assert drawn_ids(page) == ids(whole)
    expect(note).to_be_hidden()
    expect(page.get_by_test_id("result")).to_have_count(K)
    first_shown = whole["results"][len(cut["results"])]["id"]  # the keyboard goes on at the first work it brought
    assert page.evaluate("Number(document.activeElement.dataset.id)") == first_shown
    page.wait_for_function("() => new URLSearchParams(location.search).get('all') === '1'")

    page.reload()
    wait_until_idle(page, K)
    assert drawn_ids(page) == ids(whole)
    page.go_back()  # before "Show them": cut off again
    wait_until_idle(page, len(cut["results"]))
    expect(note).to_be_visible()
