"""The app as a person meets it: click Compose, wait for playable audio; and the server's memory.

    .venv/bin/python benchmarks/bench_app.py [--clicks 10] [--generations 50] [--length 512] [--sessions 1]
    .venv/bin/python benchmarks/bench_app.py --clicks 0 --generations 100 --length 1000 --sessions 4  # memory
    .venv/bin/python benchmarks/bench_app.py --against HEAD~3   # that commit's page beside this one, in turn

Starts ``streamlit run app.py`` (the shipped weights) on a free local port, opens it
in Debian's headless Chromium, and

1. composes with seeds 1001, 1002, ... (the same tunes every run, of at most
   ``--length`` characters) and times ``--clicks`` clicks on Compose until the first notes are on
   screen (the text being written: a ``K:`` line and a line of music) and until the page's player
   (the audio element in the sheet-music component's frame) holds the new tune's sound with a known duration (what a listener needs to press
   play); prints every time, the median against the 1.0 s target, and beside it the same tunes
   generated and rendered in this process (what the page adds), and the audio's bytes a minute;
2. then, ``--repeats`` times each: an instrument change (choice to playable new audio), a permalink
   of 600 characters opened in a new session (address to playable audio), a page load (address
   to a usable Compose button), and a "2-minute tune" (a click on Compose at 50 beats a minute;
   its duration is printed); each figure is printed with its target, median and spread;
3. after the timed clicks, keeps clicking up to ``--generations`` compositions, shared in turn by ``--sessions``
   browser sessions, and prints the resident memory of the server process and its synthesizer workers after 1, 5, 10,
   20, ... of them, with the 400 MB target and the growth after the tenth; then
   closes the sessions and prints it again once the server has let them go (started
   with a short ``server.disconnectedSessionTTL``: Streamlit keeps a closed session 120 s).

With ``--against REV`` the files of commit REV (``git archive``) are served too, from a temporary folder with
their own ``musicgen`` first on the path, and every measurement is made on both in turn (the same seeds, the
same moment's load): a machine shared with other work slows both alike. Every figure is printed with the load
average while it was measured, and ``uptime`` at the start and the end.

Figures are from one run on a shared machine: compare them with each other, not
across runs. Needs /usr/bin/chromium and the python playwright package.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_harness import (  # noqa: E402
    CHROMIUM,
    PLAYABLE,
    SHEET,
    free_port,
    launch_chromium,
    rss_mb,
    serve_app,
    wait_for_app,
    wait_idle,
)

TARGET_S = 1.0  # click to playable audio
TARGETS_S = {  # the other timings: (target seconds)
    "first notes on screen": 0.3,
    "first notes in the sheet music": 0.3,
    "2-minute tune": 1.5,
    "instrument change": 1.5,
    "permalink (open to playable audio)": 1.5,
    "page load to a usable Compose button": 2.0,
}
TARGET_MB_PER_MINUTE = 3.0  # audio sent to the page
TARGET_MB = 400.0
SESSION_TTL_S = 2  # seconds the server keeps a closed session (Streamlit's default is 120)
# The tune's player: the <audio id="tune"> in the sheet-music component's frame (a sheet drawn before its sound
# comes first, without one), found from the page itself (the frame is served by the app: the same origin).
PLAYER = (
    '(() => { for (const f of document.querySelectorAll("' + SHEET + '")) {'
    " const a = f.contentDocument && f.contentDocument.getElementById('tune');"
    " if (a && a.getAttribute('src')) return a; } return null; })()"
)


def _js(code: str) -> str:
    """A snippet that names the page's player as ``PLAYER_AUDIO`` and the test of a playable one as ``PLAYABLE``,
    with the expression that finds it and the test (browser_harness.PLAYABLE)."""
    return code.replace("PLAYER_AUDIO", PLAYER).replace("PLAYABLE", PLAYABLE)


# The tune of this seed is shown (its permalink) and the page's audio is a new one (not the last tune's), playable;
# or the page says why it has no audio. The text and sheet are drawn before the sound: the permalink alone is no sign.
_OUTCOME = _js("""([seed, old]) => {
  const link = document.querySelector('.st-key-permalink code');
  if (!link || !new RegExp('[?&]seed=' + seed + '(&|$)').test(link.textContent)) return false;
  const a = PLAYER_AUDIO;
  if (a && a.src !== old && PLAYABLE(a)) return "audio";
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;  // still running
  const text = document.body.innerText;
  const why = ["cannot be read as music", "audio could not be rendered", "No MIDI or audio", "does not fit"];
  if (a || !why.some((w) => text.includes(w))) { window.noAudioSince = undefined; return false; }
  // the last tune's sentence may still be there while the run starts: believe it after a second and a half
  window.noAudioSince = window.noAudioSince || performance.now();
  return performance.now() - window.noAudioSince > 1500 ? "no audio" : false;
}""")
_SRC = _js("() => { const a = PLAYER_AUDIO; return a ? a.src : ''; }")


# Notes on screen: the text being written (a K: line, then a line of music), or the finished tune of this seed
_FIRST_NOTES = """(seed) => {
  const notes = (t) => {  // a line of music (not a field line such as P:) after the K: line
    const m = /\\nK:[^\\n]*\\n([\\s\\S]*)/.exec(t);
    return !!m && m[1].split('\\n').some((line) => !/^[A-Za-z]:/.test(line) && /[A-Ga-g]/.test(line));
  };
  const live = document.querySelector('.st-key-abc_live code');
  if (live && notes(live.textContent)) return true;
  const link = document.querySelector('.st-key-permalink code');
  const abc = document.querySelector('.st-key-abc_text code');
  return !!(link && abc && new RegExp('[?&]seed=' + seed + '(&|$)').test(link.textContent) && notes(abc.textContent));
}"""
# Notes in the sheet music: the sheet drawn in the page while the model writes, or the finished tune's in the
# player's frame once this seed's tune is shown
_FIRST_SHEET_NOTES = (
    """(seed) => {
  if (document.querySelector('.st-key-abc_live .live-sheet svg .abcjs-note')) return true;
  const link = document.querySelector('.st-key-permalink code');
  if (!link || !new RegExp('[?&]seed=' + seed + '(&|$)').test(link.textContent)) return false;
  for (const f of document.querySelectorAll(\""""
    + SHEET
    + """\")) if (f.contentDocument && f.contentDocument.querySelector('svg .abcjs-note')) return true;
  return false;
}"""
)
_AUDIO_BYTES = _js("async () => (await (await fetch(PLAYER_AUDIO.src)).arrayBuffer()).byteLength")


def compose_once(page, seed: int) -> tuple[float, float, int, float, float, int] | None:  # type: ignore[no-untyped-def]
    """Compose with ``seed``; return (seconds from the click until its audio is playable, duration, characters,
    seconds until its first notes were on screen, and in the sheet music, bytes of the page's audio).

    None when the tune has no audio (the page says why, e.g. a tune music21 cannot read).
    """
    box = page.get_by_label("Random seed", exact=True)
    box.fill(str(seed))
    box.press("Enter")
    wait_idle(page)
    box.blur()  # a number box that loses focus reruns the script: before the click, not within its time
    wait_idle(page)
    page.wait_for_timeout(300)
    wait_idle(page)
    old = page.evaluate(_SRC)
    page.evaluate("() => { window.noAudioSince = undefined; }")
    start = time.perf_counter()
    page.get_by_role("button", name="Compose").click()
    page.wait_for_function(_FIRST_NOTES, arg=seed, timeout=60_000, polling=5)
    first = time.perf_counter() - start
    page.wait_for_function(_FIRST_SHEET_NOTES, arg=seed, timeout=60_000, polling=5)
    sheet = time.perf_counter() - start
    outcome = page.wait_for_function(_OUTCOME, arg=[seed, old], timeout=60_000, polling=10).json_value()
    elapsed = time.perf_counter() - start
    if outcome != "audio":
        return None
    duration = float(page.evaluate(_js("() => PLAYER_AUDIO.duration")))
    chars = len(page.locator(".st-key-abc_text code").inner_text())
    return elapsed, duration, chars, first, sheet, int(page.evaluate(_AUDIO_BYTES))


_SRC_CHANGED = _js("""(old) => {
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const a = PLAYER_AUDIO;
  return !!a && a.src !== old && PLAYABLE(a);
}""")


def instrument_change(page, instrument: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from choosing ``instrument`` until the page's audio is the new sound, playable."""
    old = page.evaluate(_SRC)
    box = page.get_by_label("Instrument", exact=True)  # a selectbox: typing filters its options
    box.click()
    box.fill(instrument)
    start = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(_SRC_CHANGED, arg=old, timeout=60_000, polling=10)
    return time.perf_counter() - start


def open_link(browser, url: str, query: dict[str, object]) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Open a permalink in a new session: (seconds to a usable Compose button, to playable audio, its duration)."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    start = time.perf_counter()
    page.goto(f"{url}/?{urlencode(query)}")
    page.get_by_role("button", name="Compose").first.wait_for(timeout=60_000)  # a phone's is in the page too
    usable = time.perf_counter() - start
    page.wait_for_function(_OUTCOME, arg=[query["seed"], ""], timeout=60_000, polling=10)
    playable = time.perf_counter() - start
    duration = float(page.evaluate(_js("() => PLAYER_AUDIO.duration")))
    page.context.close()
    return usable, playable, duration


def page_load(browser, url: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds from opening the address (a new session) until the Compose button is there and the run is over."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    start = time.perf_counter()
    page.goto(url)
    wait_for_app(page)
    elapsed = time.perf_counter() - start
    page.context.close()
    return elapsed


def pipeline_seconds(seeds: list[int], length: int) -> dict[str, list[float]]:
    """Time what the server does for each tune, here without Streamlit or a browser: the app's floor."""
    from musicgen.app.render import make_sound
    from musicgen.app.settings import Settings
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    make_sound(gen.generate(Settings(seed=1, length=length).sample_config())[0].abc)  # imports music21
    stages: dict[str, list[float]] = {"generate": [], "sound (parse, MIDI, WAV)": []}
    for seed in seeds:
        t0 = time.perf_counter()
        tune = gen.generate(Settings(seed=seed, length=length).sample_config())[0]
        t1 = time.perf_counter()
        make_sound(tune.abc)
        stages["generate"].append(t1 - t0)
        stages["sound (parse, MIDI, WAV)"].append(time.perf_counter() - t1)
    return stages


@dataclasses.dataclass
class Side:
    """One server under test (the working tree, or the tree of ``--against``) and what was measured on it."""

    name: str
    url: str
    proc: subprocess.Popen
    pages: list = dataclasses.field(default_factory=list)
    times: list[float] = dataclasses.field(default_factory=list)  # click to playable audio
    seeds: list[int] = dataclasses.field(default_factory=list)
    figures: dict[str, list[float]] = dataclasses.field(default_factory=lambda: {n: [] for n in TARGETS_S})
    loads: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # the 1-minute load average at each
    per_minute: list[float] = dataclasses.field(default_factory=list)  # MB of the page's audio a minute of music
    memory: dict[int, float] = dataclasses.field(default_factory=dict)
    silent: int = 0
    closed: float = 0.0

    def add(self, figure: str, value: float) -> None:
        self.figures.setdefault(figure, []).append(value)
        self.loads.setdefault(figure, []).append(os.getloadavg()[0])


@contextlib.contextmanager
def tree_of(rev: str) -> Iterator[Path]:
    """The files of commit ``rev`` (``git archive``: tracked files, the shipped weights among them) in a folder."""
    with tempfile.TemporaryDirectory(prefix="bench-app-") as folder:
        archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


@contextlib.contextmanager
def serve_tree(root: Path, options: list[str]) -> Iterator[tuple[str, subprocess.Popen]]:
    """``streamlit run`` of ``root``'s app.py, its own ``musicgen`` first on the path; the working tree's is
    :func:`browser_harness.serve_app`."""
    if root == ROOT:
        with serve_app(options=options) as served:
            yield served
        return
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(root / "app.py"), "--server.address", "127.0.0.1"]
    cmd += ["--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    cmd += ["--server.fileWatcherType", "none", *options]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app of {root} did not start") from None
                time.sleep(0.3)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clicks", type=int, default=10, help="timed clicks (default 10)")
    p.add_argument("--generations", type=int, default=50, help="compositions before the last memory reading")
    p.add_argument("--length", type=int, default=512, help="most characters per tune (default 512)")
    p.add_argument("--sessions", type=int, default=1, help="browser sessions composing in turn (default 1)")
    p.add_argument("--repeats", type=int, default=3, help="instrument changes, permalinks, page loads (default 3)")
    p.add_argument("--against", metavar="REV", help="also serve this commit's page, measured in turn with this one")
    args = p.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent: apt-get install chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    total = max(args.clicks, args.generations)
    readings = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, total}
    options = ["--server.disconnectedSessionTTL", str(SESSION_TTL_S)]
    print(f"uptime: {uptime()}")
    with contextlib.ExitStack() as stack, sync_playwright() as pw:
        trees = [(f"before ({args.against})", stack.enter_context(tree_of(args.against)))] if args.against else []
        trees.append(("now", ROOT))
        sides = [Side(name, *stack.enter_context(serve_tree(root, options))) for name, root in trees]
        browser = launch_chromium(pw)
        for side in sides:
            for _ in range(args.sessions):  # each its own browser context: its own Streamlit session
                page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
                page.goto(f"{side.url}/?{urlencode({'seed': 1, 'length': args.length})}")  # a permalink composes
                wait_for_app(page)
                page.locator(".st-key-abc_text code").wait_for(timeout=90_000)
                side.pages.append(page)
            print(
                f"[{side.name}] server memory after the first tune of {args.sessions} session(s): "
                f"{rss_mb(side.proc.pid):.0f} MB; uptime: {uptime()}"
            )
        for i in range(1, total + 1):
            for side in sides:  # in turn: both sides meet the same load
                compose_on(side, i, args.clicks)
                if i in readings:
                    side.memory[i] = rss_mb(side.proc.pid)
        extras(browser, sides, args.repeats)
        browser.close()
        time.sleep(SESSION_TTL_S + 5)  # the servers let the closed sessions go
        for side in sides:
            side.closed = rss_mb(side.proc.pid)
    print(f"\nuptime: {uptime()}")
    stages = pipeline_seconds(sides[-1].seeds, args.length) if sides[-1].times else None
    for side in sides:
        report(side, total, stages)
    return 0


def compose_on(side: Side, i: int, clicks: int) -> None:
    result = compose_once(side.pages[i % len(side.pages)], seed=1000 + i)  # the same tunes in every run
    if result is None:
        side.silent += 1
        print(f"[{side.name}] composition {i:2d}: no audio (the page says why)")
    elif len(side.times) < clicks:
        elapsed, duration, chars, first, sheet, size = result
        side.times.append(elapsed)
        side.seeds.append(1000 + i)
        side.add("click to playable audio", elapsed)
        side.add("first notes on screen", first)
        side.add("first notes in the sheet music", sheet)
        side.per_minute.append(size / 1e6 / duration * 60)
        print(
            f"[{side.name}] click {len(side.times):2d}: {elapsed:5.2f} s to playable audio, first notes at "
            f"{first:4.2f} s, in the sheet at {sheet:4.2f} s ({duration:5.1f} s of sound, {chars} chars, {size / 1e6:.2f} MB; "
            f"load {os.getloadavg()[0]:.1f})"
        )


def uptime() -> str:
    """The machine's load, as ``uptime`` says it."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def spread(name: str, values: list[float], target: float, unit: str = "s", loads: list[float] | None = None) -> str:
    """One line: a figure's median against its target, its spread, and the load average while it was measured."""
    median = statistics.median(values)
    verdict = "met" if median < target else "NOT met"
    load = f"; load {statistics.median(loads):.1f}" if loads else ""
    return (
        f"{name}: median {median:.2f} {unit} (target < {target:g} {unit}, {verdict}; "
        f"min {min(values):.2f}, max {max(values):.2f}, n={len(values)}{load})"
    )


def extras(browser, sides: list[Side], repeats: int) -> None:  # type: ignore[no-untyped-def]
    """In turn on each side, ``repeats`` each: instrument changes, permalinks (600 characters), page loads, then
    tunes at 50 beats a minute (about two minutes; the durations are printed)."""
    for instrument in ["fiddle", "flute", "harp", "accordion", "banjo", "organ"][:repeats]:
        for side in sides:
            side.add("instrument change", instrument_change(side.pages[0], instrument))
    for k in range(repeats):
        for side in sides:
            usable, playable, duration = open_link(browser, side.url, {"seed": 2001 + k, "length": 600})
            side.add("permalink (open to playable audio)", playable)
            print(
                f"[{side.name}] permalink {k + 1}: Compose usable at {usable:.2f} s, audio playable at "
                f"{playable:.2f} s ({duration:.0f} s; load {os.getloadavg()[0]:.1f})"
            )
    for _ in range(repeats):
        for side in sides:
            side.add("page load to a usable Compose button", page_load(browser, side.url))
    for side in sides:
        tempo = side.pages[0].get_by_role("slider", name="Tempo (beats per minute)")
        tempo.focus()
        tempo.press("Home")  # the tune's own tempo, then 40, then 50 beats a minute: two minutes of a 600-char tune
        tempo.press("ArrowRight")
        tempo.press("ArrowRight")
        for _ in range(2):  # the sound at the new tempo is made, then handed to the player by a second run
            wait_idle(side.pages[0])
            side.pages[0].wait_for_timeout(300)
        wait_idle(side.pages[0])
    for k in range(repeats):
        for side in sides:
            result = compose_once(side.pages[0], 3001 + k)
            if result is not None:
                side.add("2-minute tune", result[0])
                print(
                    f"[{side.name}] 2-minute tune {k + 1}: {result[0]:.2f} s to playable audio "
                    f"({result[1]:.0f} s of sound; load {os.getloadavg()[0]:.1f})"
                )


def report(side: Side, total: int, stages: dict[str, list[float]] | None) -> None:
    print(f"\n== {side.name}: compositions without audio: {side.silent} of {total}")
    if side.times and stages and side.name == "now":
        report_times(side.times, stages)
    targets = {"click to playable audio": TARGET_S, **TARGETS_S}
    for name, values in side.figures.items():
        if values:
            print(spread(name, values, targets[name], loads=side.loads.get(name)))
    if side.per_minute:
        print(spread("audio sent to the page per minute of music", side.per_minute, TARGET_MB_PER_MINUTE, "MB"))
    memory = side.memory
    print(
        "server memory (MB, its synthesizer workers included) after N compositions: "
        + ", ".join(f"{n}: {mb:.0f}" for n, mb in memory.items())
    )
    last_n = max(memory)
    since = 10 if 10 in memory else min(memory)
    grown = memory[last_n] - memory[since]
    print(
        f"after {last_n}: {memory[last_n]:.0f} MB (target {TARGET_MB:.0f} MB: {memory[last_n] / TARGET_MB:.2f} x "
        f"target); growth since composition {since}: {grown:+.0f} MB; {side.closed:.0f} MB once the sessions closed"
    )


def report_times(times: list[float], stages: dict[str, list[float]]) -> None:
    median = statistics.median(times)
    for name, secs in stages.items():
        print(f"  the same tunes in this process, median {name}: {statistics.median(secs):.2f} s")
    pipeline = statistics.median([g + s for g, s in zip(stages["generate"], stages["sound (parse, MIDI, WAV)"])])
    print(
        f"  generate + sound: {pipeline:.2f} s; the page adds {median - pipeline:+.2f} s "
        f"(click / pipeline = {median / pipeline:.2f})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
