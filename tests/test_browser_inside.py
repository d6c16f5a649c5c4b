"""The "Inside the model" views in a real browser: a test-local page that calls ``app_inside.render`` with the
shipped weights, served by ``streamlit run`` and driven by Debian's headless Chromium.

A teacher's path through the views: play a tune step by step until the sheet music has notes, pause, take
one step, branch once by clicking an alternative, then open the surprise map and find its notes coloured
in the legend's colours, the rules side by side with the notes where they stepped in marked, and the
model at the stages of its training. The page must ask no other host (abcjs comes from the app's own server). The
views are saved as ``assets/screenshot-inside-*.png`` for the README. Skipped where ``/usr/bin/chromium``
is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_harness import CHROMIUM, REPO_ROOT, launch_chromium, serve_app, wait_idle

from musicgen.app import inside

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

PAGE = """\
import sys
sys.path.insert(0, {repo!r})
import streamlit as st
import app_inside
from musicgen.app.settings import Settings
from musicgen.compose.sample import Generator

st.set_page_config(page_title="Inside the model", layout="wide")


@st.cache_resource
def load():
    return Generator.load()


app_inside.render(load(), Settings(seed=7))
"""
SHEET = "iframe[title*='inside_sheet']"


def code_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator(".mg-code code").first.inner_text()


# The characters written on the line shown, from its caption ("… · 16 characters"): the code block's text drops a
# trailing newline, so its length does not always grow with a step.
WRITTEN = "() => { const m = document.body.innerText.match(/· (\\d+) characters/); return m ? Number(m[1]) : -1; }"


def written(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate(WRITTEN))


def settled(page, quiet_ms: int = 1000) -> int:  # type: ignore[no-untyped-def]
    """The characters written, once the count has not changed for ``quiet_ms`` (a tick in flight has landed)."""
    last = written(page)
    for _ in range(60):
        page.wait_for_timeout(quiet_ms)
        now = written(page)
        if now == last:
            return now
        last = now
    raise AssertionError("the tune kept growing after Pause")


def test_a_lesson_steps_a_tune_branches_once_and_maps_its_surprise(tmp_path: Path) -> None:
    script = tmp_path / "inside_page.py"
    script.write_text(PAGE.format(repo=str(REPO_ROOT)), encoding="utf-8")
    with serve_app(script=script) as (url, _proc), playwright_api.sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        elsewhere: list[str] = []
        page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else elsewhere.append(r.url))
        page.goto(url)
        page.get_by_role("button", name="One step").wait_for(timeout=90_000)
        wait_idle(page)
        assert code_text(page).startswith("X:1")

        page.get_by_role("slider", name="Speed").press("End")  # the fastest
        wait_idle(page)
        page.get_by_role("button", name="Play").click()  # until the sheet has notes
        page.wait_for_function(
            f'() => {{ const f = document.querySelector("{SHEET}");'
            " return f && f.contentDocument && f.contentDocument.querySelectorAll('svg .abcjs-note').length >= 6; }",
            timeout=45_000,
        )
        page.get_by_role("button", name="Pause").click()
        wait_idle(page)
        page.get_by_role("button", name="Play").wait_for()
        count = settled(page)
        paused = code_text(page)
        page.get_by_role("button", name="One step").click()
        page.wait_for_function(f"n => ({WRITTEN})() > n", arg=count)
        wait_idle(page)
        stepped = code_text(page)
        assert stepped.startswith(paused.rstrip("\n")) and written(page) == count + 1
        frame = page.frame_locator(SHEET).first
        assert frame.locator(".inside-coloured").count() > 0  # the growing sheet is coloured by surprise too
        choice = "[class*='st-key-inside_choice_'] button"
        # (under load the choices' buttons may still be arriving once the text has grown: wait for all five)
        page.wait_for_function("sel => document.querySelectorAll(sel).length >= 5", arg=choice)
        fills = page.locator(choice).evaluate_all("els => els.map(e => getComputedStyle(e).backgroundImage)")
        assert len(fills) == 5 and all("linear-gradient" in f for f in fills)  # each choice a bar
        page.screenshot(path=str(REPO_ROOT / "assets" / "screenshot-inside-step.png"))

        alternative = page.locator("button", has_text="·").filter(has_not_text="model's pick").first
        alternative.click()  # branch once
        history = page.locator("[data-testid='stRadio']").filter(has_text="Lines of writing")
        history.get_by_text("Branch 1: at character").wait_for(timeout=30_000)  # the history lists the branch
        wait_idle(page)
        assert history.get_by_role("radio").count() == 2
        branched = code_text(page)
        assert branched.startswith(stepped.rstrip("\n")) and branched != stepped and written(page) == count + 2

        page.get_by_text("Surprise map", exact=True).click()
        page.locator("[data-testid='stMetric']").wait_for(timeout=60_000)  # the map's own parts, not the last view's
        page.get_by_text("The most surprising moments").wait_for(timeout=60_000)
        wait_idle(page)
        frame = page.frame_locator(SHEET).first
        frame.locator(".inside-coloured").first.wait_for(timeout=30_000)
        colours = set(frame.locator(".inside-coloured").evaluate_all("els => els.map(e => e.getAttribute('fill'))"))
        legend = {colour for _, colour, _ in inside.SURPRISE_BINS}
        assert colours and colours <= legend and len(colours) >= 2  # notes the model expected, and ones it did not
        assert "expected" in frame.locator("#legend").inner_text()
        page.set_viewport_size({"width": 1400, "height": 1900})  # the sheet, its legend and the held-out tunes
        wait_idle(page)
        page.screenshot(path=str(REPO_ROOT / "assets" / "screenshot-inside-map.png"))

        page.get_by_text("Rules on and off", exact=True).click()
        page.get_by_text(re.compile("Written freely, the tune first|would not have changed")).wait_for(timeout=60_000)
        wait_idle(page)  # the free side's sentence comes last
        on_side = page.frame_locator(SHEET).first
        on_side.locator(".inside-coloured").first.wait_for(timeout=30_000)
        marked = set(on_side.locator(".inside-coloured").evaluate_all("els => els.map(e => e.getAttribute('fill'))"))
        assert marked == {colour for _, colour, _ in inside.RULES_BINS if colour}  # where the rules stepped in
        page.screenshot(path=str(REPO_ROOT / "assets" / "screenshot-inside-rules.png"))

        page.get_by_text("Watch it learn", exact=True).click()
        page.get_by_text("Final model (held-out loss").wait_for(timeout=60_000)
        page.locator("audio").first.wait_for(timeout=60_000)  # its sound, the last of the view
        wait_idle(page)
        page.frame_locator(SHEET).first.locator("svg .abcjs-note").first.wait_for(timeout=30_000)
        page.screenshot(path=str(REPO_ROOT / "assets" / "screenshot-inside-learn.png"))
        browser.close()
    assert not elsewhere, elsewhere
