"""The musician's workbench in a real browser: what only a browser shows. The app runs as ``streamlit run app.py``
on the shipped weights, driven by Debian's headless Chromium; every tune is a 32-bar reel given as the primer
(the model adds one character), at a quick tempo so that the sound tests are short.

- the sheet's lit note follows the player: its moments are the MIDI's own note onsets, and while it plays the
  lit note moves on with ``currentTime``; a click on a note plays from that note;
- a passage loops: bars 1 to 4 with a count-in go round, their notes lit in the tune's sheet;
- the sheet follows an edit, Play my edit plays it, and the history's Play plays an earlier tune;
- the printable page of the 32-bar tune is one A4 page, and the page printed shows no controls;
- on a phone (390 x 844): Compose is on the page, the result shows after it (the sidebar closes itself), the
  downloads sit two by two, and nothing scrolls sideways.

Screenshots for the README: ``assets/screenshot-follow.png``, ``assets/screenshot-practise.png``,
``assets/screenshot-phone.png``, ``assets/screenshot-print.png``. Skipped where ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_harness import CHROMIUM, REPO_ROOT, launch_chromium, player_frame, serve_app, wait_for_app, wait_idle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

ASSETS = REPO_ROOT / "assets"
LINES = [
    '"D"DFAF dFAF|"G"GBdB gBdB|"D"DFAF dFAF|"A"ABcA eAcA|',
    '"D"DFAF dFAF|"G"GBdB gBdB|"A"ABce agfe|"D"d2f2 d4|',
    '"G"gfed Bdgd|"D"fedc dAFA|"G"gfed Bdgd|"A"ecAc e2ag|',
    '"G"gfed Bdgd|"D"fedc dAFA|"A"ABce agfe|"D"d2f2 d4|',
]
TUNE32 = "X:1\nT:Workbench Reel\nM:4/4\nL:1/8\nQ:1/4=200\nK:D\n" + "\n".join(LINES + LINES)[:-1] + "|]\n"
DESKTOP = {"width": 1100, "height": 820}


@pytest.fixture(scope="module")
def link() -> str:
    """The permalink query of the reel with a seed whose one added character leaves it readable."""
    from musicgen.app.render import make_sound
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    for seed in range(1, 40):
        settings = Settings(seed=seed, primer=TUNE32, length=1, constrained=False)
        if make_sound(gen.generate(settings.sample_config())[0].abc).parses:
            return urlencode({"seed": seed, "primer": TUNE32, "length": 1, "constrained": 0})
    pytest.fail("no seed below 40 leaves the reel readable")


@pytest.fixture(scope="module")
def app_url():
    with serve_app() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def open_tune(browser, app_url: str, link: str, viewport: dict = DESKTOP):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport=viewport).new_page()
    page.goto(f"{app_url}/?{link}")
    frame = player_frame(page, longer_than_s=5)
    wait_idle(page)
    return page, frame


def melody_onsets(abc: str) -> list[float]:
    import mido

    from musicgen.app.render import make_sound

    t, onsets = 0.0, []
    for msg in mido.MidiFile(file=io.BytesIO(make_sound(abc).midi)):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel == 0:
            onsets.append(t)
    return onsets


NOW = (
    "() => { const a = document.getElementById('tune'); return [a.currentTime, document.body.dataset.now, a.paused]; }"
)


def tune_shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """A screenshot of the tune's part of the page (title, player, sheet) for the README, at most 560 px high."""
    page.locator(".st-key-print_title").evaluate("e => e.scrollIntoView({block: 'start'})")
    top = page.locator(".st-key-print_title").bounding_box()
    main = page.locator("[data-testid=stMainBlockContainer]").bounding_box()
    clip = {"x": main["x"], "y": top["y"] - 8, "width": main["width"], "height": 560}
    page.screenshot(path=str(ASSETS / name), clip=clip)


def click_note(page, frame, index: int) -> None:  # type: ignore[no-untyped-def]
    """A click at the middle of the ``index``-th note (abcjs finds the note under the mouse itself)."""
    note = frame.locator("#paper .abcjs-note").nth(index)
    note.scroll_into_view_if_needed()
    box = note.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def test_the_lit_note_follows_the_sound_and_a_click_plays_from_a_note(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_tune(browser, app_url, link)
    abc = page.locator(".st-key-abc_text code").inner_text() + "\n"
    times, onsets = frame.evaluate("() => window.musicgenSheet.times()"), melody_onsets(abc)
    assert len(times) == len(onsets) == 32 * 8 - 4 * 5 - 2  # eighths, but in the bars of "d2f2 d4" and "e2ag"
    assert max(abs(t - o) for t, o in zip(times, onsets)) < 0.02  # the sheet's moments are the sound's notes
    frame.evaluate("() => document.getElementById('tune').play()")
    seen = []
    for _ in range(6):
        time.sleep(0.35)
        seen.append(frame.evaluate(NOW))
    lit = [int(n) for _, n, _ in seen]
    assert lit == sorted(lit) and len(set(lit)) == len(lit), f"the lit note did not move on: {seen}"
    for now, n, paused in seen:
        i = int(n)
        assert not paused and times[i] <= now + 0.06 and (i + 1 == len(times) or times[i + 1] > now - 0.06)
    assert frame.locator("#paper .mg-now").count() >= 1
    tune_shot(page, "screenshot-follow.png")
    click_note(page, frame, 150)
    time.sleep(0.3)
    now, n, paused = frame.evaluate(NOW)
    assert not paused and abs(now - times[150]) < 0.4, (now, times[150])
    assert "mg-now" in (frame.locator("#paper .abcjs-note").nth(int(n)).get_attribute("class") or "")
    page.context.close()


def test_a_passage_loops_with_its_count_in(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_tune(browser, app_url, link)
    page.get_by_role("tab", name="Practise").click()
    page.get_by_text("Loop these bars").click()  # bars 1 to 4 at 75%, after a count-in bar: it starts at once
    frame.locator("#loop-row:not([hidden])").wait_for(timeout=30_000)
    assert frame.locator("#loop-label").inner_text() == "Bars 1–4 at 75%, after a count-in bar"
    loop = frame.evaluate("() => window.musicgenSheet.loop()")
    assert loop["start_s"] == pytest.approx(4 * 60 / 150, abs=0.01)  # a bar of 4/4 at 75% of 200
    assert loop["end_s"] == pytest.approx(loop["start_s"] + 4 * 4 * 60 / 150, abs=0.05)
    frame.wait_for_function("() => Number(document.getElementById('loop').dataset.loops) >= 2", timeout=40_000)
    state = frame.evaluate(
        "() => { const a = document.getElementById('loop'); return [a.currentTime, a.paused,"
        " document.getElementById('tune').paused, document.querySelectorAll('#paper .mg-now.mg-marked').length,"
        " document.querySelectorAll('#paper .abcjs-note.mg-marked').length]; }"
    )
    now, paused, tune_paused, lit_marked, marked = state
    assert not paused and tune_paused and loop["start_s"] - 0.1 <= now <= loop["end_s"]
    assert marked == 4 * 8 and lit_marked >= 1  # the lit note is one of the four bars'
    tune_shot(page, "screenshot-practise.png")
    page.context.close()


def test_the_sheet_follows_an_edit_and_edits_and_earlier_tunes_play(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_tune(browser, app_url, link)
    before = frame.locator("#paper .abcjs-note").count()
    page.get_by_role("tab", name="Edit ABC").click()
    box = page.get_by_role("textbox", name="The tune's ABC")
    box.fill(box.input_value().replace("|]", "|dcBA GFED|]", 1).replace("Workbench Reel", "My Reel"))
    page.get_by_role("heading", name="Workbench Reel").click()  # leaving the box sends the edit
    frame.locator("svg .abcjs-title", has_text="My Reel").wait_for(timeout=30_000)
    assert frame.locator("#paper .abcjs-note").count() == before + 8
    old = frame.evaluate("() => document.getElementById('tune').src")
    page.get_by_role("button", name="Play my edit").click()
    wait_idle(page)
    frame.wait_for_function(
        f"() => {{ const a = document.getElementById('tune'); return a.src !== {old!r} && !a.paused; }}"
    )
    page.get_by_text("This session: 2 tune(s)").click()
    page.locator(".st-key-noprint_history").get_by_role("button", name="Play").last.click()  # the first tune
    wait_idle(page)
    frame.wait_for_function(
        f"() => {{ const a = document.getElementById('tune'); return a.src === {old!r} && !a.paused; }}"
    )
    page.context.close()


def pdf_pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def test_the_printable_page_is_one_page_and_printing_hides_the_controls(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_tune(browser, app_url, link)
    with page.expect_download(timeout=30_000) as info:
        frame.get_by_role("button", name="Printable page (HTML)").click()
    html = Path(info.value.path()).read_text(encoding="utf-8")
    assert info.value.suggested_filename.endswith(".html") and "<svg" in html and "Workbench Reel" in html
    printed = browser.new_context(viewport={"width": 794, "height": 1123}).new_page()
    printed.set_content(html)
    assert printed.locator("svg .abcjs-chord, svg text", has_text="G").count() > 0  # chord symbols are there
    assert pdf_pages(printed.pdf(format="A4")) == 1
    printed.screenshot(path=str(ASSETS / "screenshot-print.png"))
    printed.context.close()
    page.emulate_media(media="print")
    hidden = page.evaluate(
        "() => ['[data-testid=stSidebar]', '.st-key-noprint_files', '.st-key-noprint_tools', '.st-key-noprint_head']"
        ".map(s => getComputedStyle(document.querySelector(s)).display)"
    )
    assert hidden == ["none"] * 4
    assert (
        page.locator(".st-key-print_title").is_visible() and page.locator("iframe[title*='sheet_music']").is_visible()
    )
    assert frame.evaluate("() => getComputedStyle(document.getElementById('players')).display") == "none"
    page.context.close()


def test_on_a_phone_compose_is_at_hand_and_nothing_scrolls_sideways(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{app_url}/?{link}")  # the reel at once (a permalink keeps its seed: Compose writes it again)
    wait_for_app(page)
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.get_attribute("data-collapsed") == "true"  # closed on a phone: Compose is on the page
    compose = page.locator(".st-key-compose_here").get_by_role("button", name="Compose")
    assert compose.is_visible() and compose.bounding_box()["y"] < 844
    compose.click()
    player_frame(page)
    wait_idle(page)
    rows = {round(page.locator(".st-key-downloads button").nth(i).bounding_box()["y"]) for i in range(4)}
    assert len(rows) == 2  # two by two
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,"
        " document.querySelector('[data-testid=stMain]').scrollWidth]"
    )
    assert widths[0] <= widths[1] == 390 and widths[2] <= 390, f"the page scrolls sideways: {widths}"
    page.screenshot(path=str(ASSETS / "screenshot-phone.png"))
    page.locator("[data-testid=stExpandSidebarButton]").click()
    page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'false'")
    sidebar.get_by_role("button", name="Compose").click()  # the sidebar covers the page: it closes itself
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'true'", timeout=30_000
    )
    assert page.locator("iframe[title*='sheet_music']").is_visible()
    context.close()
