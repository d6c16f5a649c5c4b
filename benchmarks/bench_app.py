"""The app as a person meets it: click Compose, wait for playable audio; and the server's memory.

    .venv/bin/python benchmarks/bench_app.py [--clicks 10] [--generations 50] [--length 512]

Starts ``streamlit run app.py`` (the shipped weights) on a free local port, opens it
in Debian's headless Chromium, and

1. clicks Compose ``--clicks`` times (a new seed each time, tunes of at most
   ``--length`` characters) and times each click until the page's audio element
   holds the new tune's sound with a known duration (what a listener needs to press
   play); prints every time, the median, and its ratio to the 1.5 s target;
2. keeps clicking up to ``--generations`` compositions and prints the server
   process's resident memory after 1, 5, 10, 20, ... of them, with the 400 MB target
   and the growth after the first five.

Figures are from one run on a shared machine: compare them with each other, not
across runs. Needs /usr/bin/chromium and the python playwright package.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_harness import CHROMIUM, launch_chromium, rss_mb, serve_app, wait_for_app, wait_idle  # noqa: E402

TARGET_S = 1.5
TARGET_MB = 400.0

_NEW_AUDIO = """(old) => { const a = document.querySelector('audio');
  return a && a.src !== old && a.readyState >= 1 && isFinite(a.duration) && a.duration > 0; }"""


def compose_once(page) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Click Compose; return (seconds until the new audio is playable, its duration, tune characters)."""
    old = page.evaluate("() => { const a = document.querySelector('audio'); return a ? a.src : ''; }")
    t0 = time.perf_counter()
    page.get_by_role("button", name="Compose").click()
    page.wait_for_function(_NEW_AUDIO, arg=old, timeout=60_000, polling=10)
    elapsed = time.perf_counter() - t0
    wait_idle(page)
    duration = float(page.evaluate("() => document.querySelector('audio').duration"))
    chars = len(page.locator(".st-key-abc_text code").inner_text())
    return elapsed, duration, chars


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clicks", type=int, default=10, help="timed clicks (default 10)")
    p.add_argument("--generations", type=int, default=50, help="compositions before the last memory reading")
    p.add_argument("--length", type=int, default=512, help="most characters per tune (default 512)")
    args = p.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent: apt-get install chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    with serve_app() as (url, proc), sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(f"{url}/?{urlencode({'seed': 1, 'length': args.length})}")  # a permalink composes once
        wait_for_app(page)
        page.locator(".st-key-abc_text code").wait_for(timeout=90_000)
        page.get_by_label("New seed on every Compose", exact=True).check(force=True)
        wait_idle(page)
        print(f"server memory after the first tune: {rss_mb(proc.pid):.0f} MB")

        times, memory = [], {}
        for i in range(1, max(args.clicks, args.generations) + 1):
            elapsed, duration, chars = compose_once(page)
            if i <= args.clicks:
                times.append(elapsed)
                print(f"click {i:2d}: {elapsed:5.2f} s to playable audio ({duration:4.1f} s of sound, {chars} chars)")
            if i in (1, 5, 10, 20, 30, 40, 50) or i == args.generations:
                memory[i] = rss_mb(proc.pid)
        browser.close()

    median = statistics.median(times)
    print(f"\nclick to playable audio, median of {len(times)}: {median:.2f} s "
          f"(target {TARGET_S} s: {median / TARGET_S:.2f} x target; min {min(times):.2f}, max {max(times):.2f})")
    print("server memory (MB) after N compositions: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in memory.items()))
    last_n = max(memory)
    grown = memory[last_n] - memory.get(5, memory[min(memory)])
    print(f"after {last_n}: {memory[last_n]:.0f} MB (target {TARGET_MB:.0f} MB: {memory[last_n] / TARGET_MB:.2f} x "
          f"target); growth since composition 5: {grown:+.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
