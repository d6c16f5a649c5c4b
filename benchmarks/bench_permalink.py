"""A permalink, milestone by milestone: where the time from the address to playable audio goes.

    .venv/bin/python benchmarks/bench_permalink.py [--links 3] [--length 600]

Starts ``streamlit run app.py`` (the shipped weights) on a free local port and opens ``--links`` permalinks
(seeds 2001, 2002, ...) in Debian's headless Chromium, each in a new context (a new visitor) and each twice in a
row: the second opening finds the tune's sound already made (the server's shelf), so the two side by side show what
making the sound costs on the way and what the page's own drawing costs. For every opening it prints, in
milliseconds from the start of the navigation, when the page first showed each of:

- ``compose``: the Compose button; ``sheet_frame``: the sheet-music component's frame;
- ``sheet_notes``: notes drawn in that frame; ``abc_text``: the tune's ABC text;
- ``audio``: the player given its sound; ``playable``: the sound's length known (what a listener needs);
- ``dom_ready``: the page's DOMContentLoaded, for scale;

found by a poll every 5 ms inside the page (so the times do not wait on this script). Then the median of the
first and of the second openings, milestone by milestone. Figures are from one run on a shared machine: compare
them with each other. Needs /usr/bin/chromium and the python playwright package.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_harness import CHROMIUM, PLAYABLE, SHEET, launch_chromium, serve_app  # noqa: E402

MILESTONES = ["dom_ready", "compose", "sheet_frame", "sheet_notes", "abc_text", "audio", "playable"]
# Installed before the page's own scripts: the first time each milestone is seen, in ms from the navigation's start.
_WATCH = """
window.__seen = {};
const seen = (k) => { if (!(k in window.__seen)) window.__seen[k] = Math.round(performance.now()); };
document.addEventListener('DOMContentLoaded', () => seen('dom_ready'));
setInterval(() => {
  if (document.querySelector('.st-key-compose_main button')) seen('compose');
  if (document.querySelector('.st-key-abc_text code')) seen('abc_text');
  for (const f of document.querySelectorAll("SHEET")) {
    seen('sheet_frame');
    const d = f.contentDocument;
    if (!d) continue;
    if (d.querySelector('svg .abcjs-note')) seen('sheet_notes');
    const a = d.getElementById('tune');
    if (a && a.getAttribute('src')) {
      seen('audio');
      if (PLAYABLE(a)) seen('playable');
    }
  }
}, 5);
""".replace("SHEET", SHEET).replace("PLAYABLE", PLAYABLE)


def open_link(browser, url: str, seed: int, length: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Open the permalink of ``seed`` in a new context; the milestones' times (ms), once its audio is playable."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.add_init_script(_WATCH)
    page = context.new_page()
    try:
        page.goto(f"{url}/?{urlencode({'seed': seed, 'length': length})}")
        page.wait_for_function("() => 'playable' in window.__seen", timeout=60_000, polling=20)
        return dict(page.evaluate("() => window.__seen"))
    finally:
        context.close()


def row(label: str, seen: dict[str, float]) -> str:
    return f"{label:<22}" + "".join(f"{seen[m]:>12,.0f}" if m in seen else f"{'-':>12}" for m in MILESTONES)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--links", type=int, default=3, help="permalinks, each opened twice (default 3)")
    p.add_argument("--length", type=int, default=600, help="most characters of each permalink's tune (default 600)")
    args = p.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is absent: apt-get install chromium", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    openings: dict[str, list[dict[str, int]]] = {"first": [], "again": []}
    with serve_app(options=["--server.disconnectedSessionTTL", "2"]) as (url, _), sync_playwright() as pw:
        browser = launch_chromium(pw)
        open_link(browser, url, 1, args.length)  # the server's first tune (the model's tables, its imports) aside
        print(f"{'ms from navigation':<22}" + "".join(f"{m:>12}" for m in MILESTONES))
        for k in range(args.links):
            for name in openings:
                seen = open_link(browser, url, 2001 + k, args.length)
                openings[name].append(seen)
                print(row(f"seed {2001 + k}, {name}", seen))
                time.sleep(3)  # the closed session goes (its TTL) before the next opening
        browser.close()
    print()
    for name, runs in openings.items():
        medians = {m: statistics.median(r[m] for r in runs) for m in MILESTONES if all(m in r for r in runs)}
        print(row(f"median, {name}", medians))
    print("(first: the sound made on the way; again: the same tune's sound already on the server's shelf)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
