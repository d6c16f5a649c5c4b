"""The real app in a real browser: ``streamlit run app.py`` driven by Debian's headless Chromium.

One click on Compose must give sheet music with notes, an audio player holding
more than 5 s of sound, and four working downloads; the page is saved as
``assets/screenshot.png`` (the README shows it). Four sessions opened at once
with different seeds must each get exactly the tune their seed gives alone.
Skipped only where ``/usr/bin/chromium`` is absent.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from browser_harness import (
    CHROMIUM,
    REPO_ROOT,
    audio_duration,
    player_frame,
    rss_mb,
    serve_app,
    wait_for_app,
    wait_idle,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api")

SCREENSHOT = REPO_ROOT / "assets" / "screenshot.png"


@pytest.fixture(scope="module")
def seed() -> int:
    """A seed whose tune, with the app's defaults, the shipped weights write readably and longer than 5 s.

    Training keeps improving the shipped weights, and some tunes of a rough model
    cannot be read as music; the page's handling of those is tested with AppTest.
    Tunes without an ``S:`` (source) line come first: the model imitates the
    collectors' names of its training tunes there, which the README's screenshot
    should not show as the source of a new tune.
    """
    from musicgen.app.render import make_sound
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    tunes = {s: gen.generate(Settings(seed=s).sample_config())[0].abc for s in range(1, 41)}
    for s in sorted(tunes, key=lambda s: "\nS:" in tunes[s]):
        sound = make_sound(tunes[s])
        if sound.audio is not None and len(sound.audio) > 5 * 48_000 * 4:  # 16-bit stereo at 48 kHz
            return s
    pytest.fail("none of 40 seeds gives a readable tune over 5 s: are the shipped weights trained?")


def sheet_notes(page) -> int:  # type: ignore[no-untyped-def]
    """How many notes abcjs drew in the sheet-music component."""
    frame = page.frame_locator("iframe[title*='sheet_music']")
    frame.locator("svg .abcjs-note").first.wait_for(timeout=30_000)
    return frame.locator("svg .abcjs-note").count()


# Counts the changes of the page that showed the text being written (the tune's text before it is finished).
WATCH_LIVE_TEXT = """() => {
  window.liveText = 0;
  new MutationObserver(() => {
    const c = document.querySelector('.st-key-abc_live code');
    if (c && c.textContent.startsWith('X:')) window.liveText += 1;
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
AUDIO_HEAD = "async () => Array.from(new Uint8Array((await (await fetch(document.getElementById('tune').src)).arrayBuffer()).slice(0, 44)))"


def wav_format(data: bytes) -> tuple[int, int]:
    """(channels, sample rate) of a PCM WAV file's header."""
    return int.from_bytes(data[22:24], "little"), int.from_bytes(data[24:28], "little")


def abc_text(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator(".st-key-abc_text code").inner_text()


def test_compose_reads_plays_and_downloads(app_url: str, browser, seed: int) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    elsewhere: list[str] = []  # the page must work offline: everything comes from the app itself
    page.on("request", lambda r: None if r.url.startswith((app_url, "data:", "blob:")) else elsewhere.append(r.url))
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_label("New seed on every Compose", exact=True).uncheck(force=True)
    box = page.get_by_label("Random seed", exact=True)
    box.fill(str(seed))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Compose").click()
    player = player_frame(page, longer_than_s=5, timeout_s=60)
    wait_idle(page)
    assert audio_duration(page) > 5
    header = bytes(player.evaluate(AUDIO_HEAD))  # the player's WAV: mono at 24 kHz (the download: stereo, 48 kHz)
    assert header[:4] == b"RIFF" and wav_format(header) == (1, 24_000)
    assert sheet_notes(page) > 10
    abc = abc_text(page)
    assert abc.startswith("X:") and "\nK:" in abc
    assert f"seed={seed}" in page.url  # the address bar is the permalink
    page.screenshot(path=str(SCREENSHOT))  # for the README: the tune as it first appears
    assert SCREENSHOT.stat().st_size > 20_000

    expected_start = {"ABC": b"X:", "MIDI": b"MThd", "Audio (WAV)": b"RIFF", "MusicXML": b"<?xml"}
    for label, start in expected_start.items():
        button = page.locator(".st-key-downloads").get_by_role("button", name=label)
        assert button.is_enabled(), f"the {label} download is disabled"
        with page.expect_download(timeout=30_000) as info:
            button.click()
        data = Path(info.value.path()).read_bytes()
        assert data.startswith(start), f"{label} download starts with {data[:20]!r}"
        if label == "Audio (WAV)":
            assert wav_format(data) == (2, 48_000)
        if label == "MusicXML":
            assert b"<score-partwise" in data and b"<note" in data

    page.get_by_text("This session: 1 tune(s)").click()
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Download tunebook (.abc)").click()
    book = Path(info.value.path()).read_text(encoding="utf-8")
    assert book.startswith("X:1\n") and abc.split("\n", 1)[1].rstrip() in book
    assert elsewhere == [], f"the page fetched from elsewhere: {elsewhere[:5]}"
    page.close()


def test_a_new_tune_is_drawn_and_played_in_the_players_own_frame(app_url: str, browser, seed: int) -> None:  # type: ignore[no-untyped-def]
    """Compose draws the new tune in the frame already there and hands it its sound: no new frame loads abcjs."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.goto(f"{app_url}/?{urlencode({'seed': seed})}")  # a permalink composes its tune at once
    first = player_frame(page, longer_than_s=1, timeout_s=90)
    wait_idle(page)
    old_src = first.evaluate("() => document.getElementById('tune').src")
    first.evaluate("() => { window.sameFrame = 'the first'; }")
    box = page.get_by_label("Random seed", exact=True)
    box.fill(str(seed + 1))
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Compose").click()
    src = "() => document.getElementById('tune').src"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and first.evaluate(src) in ("", old_src):  # none while its sound is made
        time.sleep(0.1)
    linked = "s => (document.querySelector('.st-key-permalink code') || {}).innerText?.includes(s)"
    page.wait_for_function(linked, arg=f"seed={seed + 1}", timeout=60_000)  # (a rerun before may change src)
    wait_idle(page)
    now = player_frame(page, longer_than_s=1, timeout_s=30)
    assert now.evaluate("() => window.sameFrame") == "the first"  # the frame that played the tune before
    assert now.evaluate(src) not in ("", old_src)
    page.context.close()


@pytest.mark.parametrize("secure", [True, False], ids=["clipboard", "selection"])
def test_the_abc_text_and_the_permalink_copy_with_their_buttons(app_url: str, browser, secure: bool) -> None:  # type: ignore[no-untyped-def]
    """Each code block's Copy button puts exactly its text on the clipboard, and says so: by the clipboard where the
    address is secure, else (a page served over plain http to another machine) by the browser's copy of a selection."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    if not secure:  # as the page sees an address that is not secure
        context.add_init_script("Object.defineProperty(window, 'isSecureContext', {value: false})")
    page = context.new_page()
    page.goto(f"{app_url}/?{urlencode({'seed': 5, 'length': 300})}")
    page.wait_for_function("() => document.querySelector('.st-key-permalink code')?.textContent.includes('seed=5')")
    for block in (".st-key-abc_text", ".st-key-permalink"):
        shown = page.locator(f"{block} code").text_content()
        page.evaluate("() => navigator.clipboard.writeText('')")
        page.locator(f"{block} .mg-copy").click()
        page.wait_for_function(f"() => document.querySelector('{block} .mg-copy').textContent === 'Copied'")
        assert page.evaluate("() => navigator.clipboard.readText()") == shown
        assert shown.startswith("X:" if block == ".st-key-abc_text" else app_url) and "&lt;" not in shown
    context.close()


# Records each note count of the sheet music drawn in the page while the model writes (a new count, a new drawing).
WATCH_LIVE_SHEET = """() => {
  window.liveNotes = [];
  new MutationObserver(() => {
    const n = document.querySelectorAll('.st-key-abc_live .live-sheet svg .abcjs-note').length;
    if (n && n !== window.liveNotes[window.liveNotes.length - 1]) window.liveNotes.push(n);
  }).observe(document.body, {subtree: true, childList: true});
}"""


def test_the_sheet_music_grows_while_the_model_writes(app_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    """The first candidate's sheet music is drawn in the page as its text grows, from the app's own abcjs, then
    replaced by the finished (best-formed) tune's sheet in the player's frame."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((app_url, "data:", "blob:")) else elsewhere.append(r.url))
    query = {"seed": 11, "length": 1500, "n": 8, "form": "AB"}  # long tunes (two 16-bar parts): many drawings
    page.goto(f"{app_url}/?{urlencode(query)}")
    player_frame(page, longer_than_s=1, timeout_s=90)  # the permalink's tune: abcjs is in the page after it
    wait_idle(page)
    page.evaluate(WATCH_LIVE_SHEET)
    page.evaluate(WATCH_LIVE_TEXT)  # (a page's first tune may be written before it has loaded what shows text)
    box = page.get_by_label("Random seed", exact=True)
    box.fill("12")
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Compose").click()
    page.wait_for_function("() => document.querySelector('.st-key-permalink code')?.textContent.includes('seed=12')")
    wait_idle(page)
    grown = page.evaluate("() => window.liveNotes")
    # drawn again and again as it grows (a bar written again is drawn shorter: retries take it back)
    assert len(grown) >= 3 and grown[-1] > 2 * grown[0], grown
    assert page.evaluate("() => window.liveText") > 0, "the tune's text was not shown while it was written"
    assert page.locator(".st-key-abc_live .live-sheet").count() == 0  # gone once the tune is finished
    frame = page.frame_locator("iframe[title*='sheet_music']")
    assert frame.locator("svg .abcjs-note").count() > 10  # the best-formed candidate, finished, in the player
    assert elsewhere == []
    page.context.close()


def test_four_sessions_at_once_each_get_their_seeds_tune(app_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    seeds = [101, 202, 303, 404]
    gen = Generator.load()
    alone = {s: gen.generate(Settings(seed=s, length=400).sample_config())[0].abc for s in seeds}
    pages = [browser.new_context().new_page() for _ in seeds]
    for page, s in zip(pages, seeds):  # all four sessions compose while the others do
        page.goto(f"{app_url}/?{urlencode({'seed': s, 'length': 400})}", wait_until="commit")
    for page, s in zip(pages, seeds):
        page.locator(".st-key-abc_text code").wait_for(timeout=90_000)
        assert abc_text(page) == alone[s].rstrip("\n"), f"the session with seed {s} got another tune"
        page.context.close()


# Markdown from a primer's title or the address bar (issue 15, F2): shown as text, never a live link or
# an image, and the page asks nothing of another host.
EVIL = "http://evil.example"
HOSTILE_TITLE = f"[Click here to log in]({EVIL}/phish) ![i]({EVIL}/track.png) www.evil.example/w"
HOSTILE_PRIMER = f"X:1\nT:{HOSTILE_TITLE}\nM:4/4\nL:1/8\nK:G\nGABc dBAG|"
HOSTILE_LINK = {"seed": f"![t]({EVIL}/t.png)", "key": f"[Session expired]({EVIL}/x)"}
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def elsewhere(urls: list[str]) -> list[str]:
    """The requests that left for another host than this machine (data: and blob: stay in the page)."""
    from urllib.parse import urlsplit

    return [
        u
        for u in urls
        if urlsplit(u).scheme not in ("data", "blob", "about") and urlsplit(u).hostname not in LOCAL_HOSTS
    ]


def hostile_elements(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Links to and images from the hostile host, in the page and in its frames (the sheet music's)."""
    found = []
    for frame in page.frames:
        for selector in ("a[href*='evil.example']", "img[src*='evil.example']", "[srcset*='evil.example']"):
            found += [f"{selector} in {frame.url}"] * frame.locator(selector).count()
    return found


def visible(text: str) -> str:
    return text.replace("\u2060", "")  # the word joiners that keep addresses from turning into links


def test_hostile_titles_and_link_values_are_shown_as_text(app_url: str, browser) -> None:  # type: ignore[no-untyped-def]
    from musicgen.app.render import make_sound
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    seed = next(
        s
        for s in range(1, 30)
        if make_sound(gen.generate(Settings(seed=s, primer=HOSTILE_PRIMER, length=8).sample_config())[0].abc).parses
    )
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))  # every page and frame of the context
    page = context.new_page()
    page.goto(f"{app_url}/?{urlencode({'seed': seed, 'length': 8, 'primer': HOSTILE_PRIMER})}")
    page.locator(".st-key-abc_text code").wait_for(timeout=90_000)
    wait_idle(page)
    sheet_notes(page)  # the sheet music is drawn, its title by abcjs
    page.get_by_text("This session: 1 tune(s)").click()
    heading = page.locator("[data-testid='stMain'] h3").first
    assert visible(heading.inner_text()) == HOSTILE_TITLE
    line = page.locator("[data-testid='stMarkdownContainer']", has_text="candidate 1").first
    assert HOSTILE_TITLE in visible(line.inner_text())
    assert hostile_elements(page) == []

    page.goto(f"{app_url}/?{urlencode(HOSTILE_LINK)}")
    page.get_by_text("Nothing was composed").wait_for(timeout=90_000)
    wait_idle(page)
    warning = visible(page.locator("[data-testid='stAlertContentWarning']").inner_text())
    assert f"seed='{HOSTILE_LINK['seed']}' is not a whole number" in warning
    error = visible(page.locator("[data-testid='stAlertContentError']").inner_text())
    assert f"key '{HOSTILE_LINK['key']}' is not an ABC key" in error
    assert hostile_elements(page) == []
    assert elsewhere(requests) == [], f"the page asked another host: {elsewhere(requests)[:5]}"
    context.close()


# A slow air of 98 bars at Q:1/4=40 (issue 15, F8): 591 s of audio, a 113 MB WAV, opened in three sessions took
# the server from 569 MB to 1.78 GB and kept 1.14 GB after the browsers closed. The audio now stops at the
# ceiling (the page says so), sounds are kept within one budget of bytes, and a session keeps no audio.
SLOW_AIR = (
    "X:1\nT:Slow Air\nM:4/4\nL:1/4\nQ:1/4=40\nK:D\n"
    + "|".join(["D F A d", "c B A F", "G E C E", "D4"] * 24 + ["D F A d", "D4"])
    + "|]\n"
)
SESSION_TTL_S = 2  # how long the server keeps a closed browser's session (Streamlit's default: 120 s)


def test_memory_after_hostile_sessions_returns_near_its_level(browser) -> None:  # type: ignore[no-untyped-def]
    from musicgen.app.shelf import SOUND_BYTES

    assert SLOW_AIR.count("|") == 98
    with serve_app(options=["--server.disconnectedSessionTTL", str(SESSION_TTL_S)]) as (url, proc):
        first = browser.new_context().new_page()
        first.goto(f"{url}/?{urlencode({'seed': 1, 'length': 400})}")
        first.locator(".st-key-abc_text code").wait_for(timeout=90_000)
        wait_idle(first)
        first.context.close()
        time.sleep(SESSION_TTL_S + 3)
        before = rss_mb(proc.pid)
        link = f"{url}/?{urlencode({'seed': 1, 'length': 1, 'primer': SLOW_AIR, 'constrained': 0})}"
        pages = [browser.new_context().new_page() for _ in range(3)]
        for page in pages:
            page.goto(link, wait_until="commit")
        peak = 0.0
        for page in pages:
            page.get_by_text("The audio stops at 4:00").wait_for(timeout=120_000)
            player_frame(page, timeout_s=60)
            assert 239 <= audio_duration(page) <= 240.5
            peak = max(peak, rss_mb(proc.pid))
        for page in pages:
            page.context.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and rss_mb(proc.pid) > before + SOUND_BYTES / 1e6 + 30:
            time.sleep(1)
        after = rss_mb(proc.pid)
    print(f"server memory: {before:.0f} MB before, {peak:.0f} MB at most, {after:.0f} MB after the sessions closed")
    assert after <= before + SOUND_BYTES / 1e6 + 30  # at most the shelf's budget of sounds is kept
