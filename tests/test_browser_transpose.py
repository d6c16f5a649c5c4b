"""The Transpose and Rewrite tabs in a real browser: the app (``streamlit run app.py``, shipped weights) opens an
8-bar reel in D from its permalink.

- Transpose moves it to E flat: the sheet music in the player's frame is drawn again in the new key (three
  flats where two sharps were, as many notes) and the player gets the new tune's sound;
- Rewrite bars 2-3 draws each candidate's sheet music with its new notes coloured, and Use makes one the tune
  the player plays.

Skipped where ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from browser_harness import CHROMIUM, player_frame, wait_idle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

REEL = (
    "X:1\nT:Transposing Reel\nM:4/4\nL:1/8\nQ:1/4=200\nK:D\n"
    '"D"DFAF dFAF|"G"GBdB gBdB|"D"DFAF dFAF|"A"ABcA eAcA|\n'
    '"D"DFAF dFAF|"G"GBdB gBdB|"A"ABce agfe|"D"d2f2 d4|]\n'
)
# The glyphs of the first key signature, and the notes, of the sheet in the player's frame
KEY = """() => {
  const sig = document.querySelector('#paper .abcjs-key-signature');
  return [sig ? sig.querySelectorAll('path').length : 0, document.querySelectorAll('#paper .abcjs-note').length];
}"""


@pytest.fixture(scope="module")
def link() -> str:
    """The reel's permalink, with a seed whose one added character leaves it readable."""
    from musicgen.app.render import make_sound
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    for seed in range(1, 40):
        settings = Settings(seed=seed, primer=REEL, length=1, constrained=False)
        if make_sound(gen.generate(settings.sample_config())[0].abc).parses:
            return urlencode({"seed": seed, "primer": REEL, "length": 1, "constrained": 0})
    pytest.fail("no seed below 40 leaves the reel readable")


def open_reel(browser, app_url: str, link: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(viewport={"width": 1100, "height": 820}).new_page()
    page.goto(f"{app_url}/?{link}")
    frame = player_frame(page, longer_than_s=2)
    wait_idle(page)
    return page, frame


def test_transposing_draws_the_sheet_in_the_new_key_and_plays_it(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_reel(browser, app_url, link)
    signature, notes = frame.evaluate(KEY)
    assert signature == 2 and notes > 50  # D major: two sharps
    old = frame.evaluate("() => document.getElementById('tune').src")
    page.get_by_role("tab", name="Transpose").click()
    key = page.locator("[class*='st-key-tr_key_']").get_by_role("combobox")
    key.click()
    key.fill("Eb major")
    key.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Transpose: in Eb major").click()
    wait_idle(page)
    frame = player_frame(page, longer_than_s=2)
    frame.wait_for_function(f"() => document.getElementById('tune').src !== {old!r}", timeout=30_000)
    frame.wait_for_function(f"() => ({KEY})()[0] === 3", timeout=30_000)  # E flat major: three flats
    assert frame.evaluate(KEY) == [3, notes]
    # the text below the sheet is sent later in the same rerun than the player's frame: wait for it
    page.locator(".st-key-abc_text code", has_text="K:Eb").wait_for(timeout=30_000)
    page.context.close()


def test_rewrite_candidates_show_their_new_notes_coloured_and_one_is_used(browser, app_url: str, link: str) -> None:  # type: ignore[no-untyped-def]
    page, frame = open_reel(browser, app_url, link)
    old = frame.evaluate("() => document.getElementById('tune').src")
    page.get_by_role("tab", name="Rewrite").click()
    page.get_by_role("button", name="Rewrite bars 2–3").click()
    wait_idle(page)
    sheets = page.locator("iframe[title*='inside_sheet']")
    sheets.nth(3).wait_for(timeout=30_000)
    assert sheets.count() == 4
    for i in range(4):
        sheet = sheets.nth(i).content_frame
        sheet.locator("body[data-coloured]").wait_for(timeout=30_000)
        coloured = int(sheet.locator("body").get_attribute("data-coloured"))
        assert 2 <= coloured < sheet.locator(".abcjs-note").count() - 40  # two bars' new notes; six bars kept black
    page.locator(".st-key-rw_candidate_1").get_by_role("button", name="Use").click()
    wait_idle(page)
    frame = player_frame(page, longer_than_s=2)
    frame.wait_for_function(f"() => document.getElementById('tune').src !== {old!r}", timeout=30_000)
    page.get_by_text("This session: 2 tune(s)").click()
    assert page.locator(".st-key-noprint_history").get_by_text("bars 2–3 rewritten").count() == 1
    page.context.close()
