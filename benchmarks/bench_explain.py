"""How fast the "Inside the model" views answer: a step of the step-by-step view, against its 100 ms target.

    .venv/bin/python benchmarks/bench_explain.py [--weights DIR] [--seeds 3] [--clicks 30] [--browser]

On the shipped weights (or ``--weights``), in this process (no TensorFlow):

(a) a step's own work: ``Walk.step`` and what the view draws from it (the five choices in musical words and
    their bars, each character's surprise, the sheet's arguments up to its last space or bar line), for every
    step of ``--seeds`` whole tunes written meter-aware; the first tune in a fresh process (the rules' tables
    start empty: the slowest case), then the same tunes again (tables filled, as once a class has used the page
    for a while);
(b) the page's step under ``streamlit.testing.v1.AppTest``: a click of "One step" and the rerun of the whole
    test page (``app_inside.render``; in the browser only the step-by-step fragment reruns, less work);
(c) with ``--browser``: the click in headless Chromium until the new character is on the page, and until the
    frame after it (the server, the websocket and the browser's drawing: what a class waits for), timed in the
    page itself;
(d) once-off costs: explaining a whole tune, and the held-out tunes' surprises (the surprise map's first use).

Each figure is the median of its samples with its spread (10th to 90th percentile, and the slowest), beside
the target. The machine is shared: run it twice when a figure looks off.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from musicgen.app import inside, stepview  # noqa: E402
from musicgen.compose.sample import Generator  # noqa: E402
from musicgen.config import SampleConfig  # noqa: E402
from musicgen.judge.explain import explain_generated, heldout_surprises  # noqa: E402
from musicgen.judge.walk import Walk  # noqa: E402
from musicgen.model.engine import one_blas_thread  # noqa: E402

TARGET_MS = 100.0


def spread(name: str, seconds: Sequence[float], target_ms: float | None = TARGET_MS) -> str:
    ms = sorted(s * 1000 for s in seconds)
    deciles = statistics.quantiles(ms, n=10) if len(ms) > 1 else [ms[0]] * 9
    verdict = (
        ""
        if target_ms is None
        else f"   target < {target_ms:.0f} ms: {'met' if ms[-1] < target_ms else 'median ' + ('met' if statistics.median(ms) < target_ms else 'MISSED') + ', not every step'}"
    )
    return (
        f"{name:<46} median {statistics.median(ms):7.2f} ms   p10-p90 {deciles[0]:6.2f}-{deciles[-1]:7.2f}   "
        f"slowest {ms[-1]:7.2f}   ({len(ms)} samples){verdict}"
    )


def view_step(walk: Walk) -> None:
    """One step and what the step-by-step view computes from it for the page."""
    walk.step()
    offered = stepview.choices(walk)
    stepview.bar_style([(f"inside_choice_{i}", c.p) for i, c in enumerate(offered)])
    upto = stepview.sheet_upto(walk.text, walk.done)
    inside.sheet_args(walk.text[:upto], stepview.walk_values(walk)[:upto], inside.SURPRISE_BINS, "Surprise:", True)


def steps(gen: Generator, seeds: int) -> list[float]:
    times = []
    for seed in range(seeds):
        walk = Walk(gen, SampleConfig(rng=seed, constrained=True))
        while not walk.done:
            t = time.perf_counter()
            view_step(walk)
            times.append(time.perf_counter() - t)
    return times


def apptest_clicks(weights: str, clicks: int) -> list[float]:
    from streamlit.testing.v1 import AppTest
    from test_app_inside import page

    at = AppTest.from_function(page, args=(str(ROOT), weights, {"seed": 1}), default_timeout=120)
    at.run()
    times = []
    for _ in range(clicks):
        t = time.perf_counter()
        at.button(key="inside_one").click().run()
        times.append(time.perf_counter() - t)
    assert not at.exception, at.exception
    return times


# One click of "One step", timed inside the page: the button clicked from the page's own script, and the time
# until the caption counts one character more (a MutationObserver: no polling, no layout forced), then the next
# frame. Playwright's own click waits for the button to be stable and a poll of the page's text forces a layout
# of the whole page; neither is part of what a class waits for.
CLICK = """async () => {
  const count = () => { const m = document.body.textContent.match(/· (\\d+) characters/); return m ? Number(m[1]) : -1; };
  const n = count();
  const button = [...document.querySelectorAll("button")].find((b) => b.textContent.includes("One step"));
  const t0 = performance.now();
  let shown = null;
  await new Promise((done) => {
    const seen = new MutationObserver(() => {
      if (count() > n) { shown = performance.now() - t0; seen.disconnect(); done(); }
    });
    seen.observe(document.body, { subtree: true, childList: true, characterData: true });
    button.click();
    setTimeout(() => { seen.disconnect(); done(); }, 5000);
  });
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return [shown, performance.now() - t0];
}"""


def browser_clicks(clicks: int) -> tuple[list[float], list[float]]:
    """(until the new character is on the page, until the frame after it) for each click, in seconds."""
    from browser_harness import launch_chromium, serve_app, wait_idle
    from playwright.sync_api import sync_playwright
    from test_browser_inside import PAGE

    script = Path(tempfile.mkdtemp()) / "inside_page.py"
    script.write_text(PAGE.format(repo=str(ROOT)), encoding="utf-8")
    shown, painted, lost = [], [], 0
    with serve_app(script=script) as (url, _proc), sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("button", name="One step").wait_for(timeout=90_000)
        wait_idle(page)
        page.locator(".mg-code code").first.wait_for()
        for _ in range(clicks):
            at, frame = page.evaluate(CLICK)
            if at is None:  # a click that landed while the view was redrawn: lost, and not counted
                lost += 1
            else:
                shown.append(at / 1000)
                painted.append(frame / 1000)
            wait_idle(page)
            page.wait_for_timeout(300)  # the rest of the view's redraw (the sheet's frame)
        browser.close()
    if lost:
        print(f"    ({lost} click(s) lost while the view was redrawn)")
    return shown, painted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", help="a checkpoint folder (default: the shipped weights)")
    ap.add_argument("--seeds", type=int, default=3, help="whole tunes written step by step (default 3)")
    ap.add_argument("--clicks", type=int, default=30, help="clicks of One step on the page (default 30)")
    ap.add_argument("--browser", action="store_true", help="also click in headless Chromium")
    args = ap.parse_args()
    gen = Generator.load(args.weights)
    one_blas_thread()
    print(f"weights: {gen.checkpoint.path}; the target: a step of the step-by-step view under {TARGET_MS:.0f} ms")
    print(spread("(a) a step's work, rules' tables empty", steps(gen, args.seeds)))
    print(spread("(a) a step's work, tables filled", steps(gen, args.seeds)))
    if args.browser:
        shown, painted = browser_clicks(args.clicks)
        print(spread("(c) a click of One step, Chromium: text shown", shown))
        print(spread("(c)   and the frame after it drawn", painted))
    print(
        spread("(b) a click of One step, AppTest (whole page)", apptest_clicks(str(gen.checkpoint.path), args.clicks))
    )
    t = time.perf_counter()
    explain_generated(gen, SampleConfig(rng=100, constrained=True))
    print(spread("(d) writing and explaining a whole tune", [time.perf_counter() - t], None))
    t = time.perf_counter()
    found, why = heldout_surprises(gen)
    print(spread(f"(d) the held-out tunes' surprises ({len(found)})", [time.perf_counter() - t], None), why or "")


if __name__ == "__main__":
    main()
