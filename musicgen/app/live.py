"""A tune on the page while the model writes it: generation that hands over the text every few characters,
and the sheet music drawn from that text as it grows.

    tunes = generate_watched(gen, cfg, lambda text: slot.code(text))   # the same tunes as gen.generate(cfg)
    slot.html(sheet_html(text, n, abcjs_url), unsafe_allow_javascript=True)   # the sheet so far

:meth:`~musicgen.compose.sample.Generator.generate` takes a ``watch``, called after each step of the call's
run (:class:`~musicgen.compose.streams.Run`): :class:`Watch` hands the text of the first stream (the first
candidate) to a callback, at most every ``every`` steps and ``interval_s``. Watching changes nothing the run
does, so the tunes are exactly those of ``gen.generate(cfg)``; where meter-aware writing writes a bar again
(:mod:`musicgen.compose.retry`), the text handed over is the shorter one it writes on from.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from musicgen.compose.sample import Generator, Tune
from musicgen.compose.streams import Run
from musicgen.config import SampleConfig

EVERY = 6  # characters between two reports: a note or two of ABC
INTERVAL_S = 0.1  # and at least this long: 10 redraws a second (25 slowed the sound, browser and server on 2 cores)
# What the text so far may end in that is not yet music: an open chord symbol, decoration, chord or slur of
# grace notes, an accidental, a note's length or tie, a broken rhythm, a field line being written.
_UNFINISHED = re.compile(r"(?:![^!\n]*|\[[^\]\n]*|\{[^}\n]*|[_=^]+|[0-9/]+|[<>]+|-|\n[A-Za-z]:[^\n]*)$")
_SYMBOLS = re.compile(r'"[^"\n]*"?')  # chord symbols (and one still open): no notes of their own


def has_notes(text: str) -> bool:
    r"""Whether the text so far holds a note of the tune's body that the live sheet would draw.

    >>> has_notes("X:1\nT:Jig\nK:G\n"), has_notes('X:1\nK:G\n"G'), has_notes('X:1\nK:G\n"G"B2c d')
    (False, False, True)
    """
    at = text.find("\nK:")
    body = text.find("\n", at + 1) if at >= 0 else -1
    return body >= 0 and any(c in "ABCDEFGabcdefg" for c in _SYMBOLS.sub("", drawable(text)[body:]))


class Watch:
    """Reports the first stream's text so far to ``report`` while that stream writes (a ``generate`` watch): every
    ``every`` steps and ``interval_s`` at most, and at once the first time it holds notes (:func:`has_notes`: a
    tune written in a tenth of a second shows its first notes all the same)."""

    def __init__(self, report: Callable[[str], None], every: int = EVERY, interval_s: float = INTERVAL_S) -> None:
        self.report, self.every, self.interval_s = report, every, interval_s
        self.steps, self.reported, self.last, self.notes = 0, 0, float("-inf"), False

    def __call__(self, run: Run) -> None:
        if not run.rows or run.rows[0] != 0:
            return  # the first stream is done
        self.steps += 1
        now = time.perf_counter()
        due = now - self.last >= self.interval_s
        if self.steps - self.reported < self.every or (self.notes and not due):
            return
        text = run.text(0)
        notes = self.notes or has_notes(text)
        if due or notes:  # (before the interval is up: only the first text with notes)
            self.notes, self.reported, self.last = notes, self.steps, now
            self.report(text)


def generate_watched(
    gen: Generator,
    cfg: SampleConfig,
    report: Callable[[str], None],
    every: int = EVERY,
    interval_s: float = INTERVAL_S,
) -> list[Tune]:
    """``gen.generate(cfg)``, reporting the first candidate's text as it grows (see :class:`Watch`)."""
    return gen.generate(cfg, watch=Watch(report, every, interval_s))


def drawable(text: str) -> str:
    """The text so far without what it ends in that is not yet a whole note or sign (:data:`_UNFINISHED`):
    what the live sheet draws, so that a half-written chord symbol or note length does not flicker.

    >>> drawable('X:1\\nK:G\\n"G"GAB "D')
    'X:1\\nK:G\\n"G"GAB '
    >>> drawable("X:1\\nK:G\\nG2 A/"), drawable("X:1\\nK:G\\nGA|\\nW:"), drawable("X:1\\nK:G\\nd2-")
    ('X:1\\nK:G\\nG2 A', 'X:1\\nK:G\\nGA|', 'X:1\\nK:G\\nd')
    """
    line = text.rfind("\n") + 1
    if text.count('"', line) % 2:  # a chord symbol still open on the last line
        text = text[: text.rfind('"')]
    for _ in range(3):  # "A2-" is a tie after a length: each pass drops one unfinished part
        cut = _UNFINISHED.search(text)
        if cut is None or cut.start() == cut.end():
            break
        text = text[: cut.start()]
    return text


def sheet_html(text: str, n: int, abcjs: str) -> str:
    """HTML for ``st.html(..., unsafe_allow_javascript=True)`` that draws ``text`` (:func:`drawable` of it) as sheet
    music in the page itself, the ``n``-th time it is drawn in a run, with the vendored abcjs from ``abcjs`` (an
    address on the app's own server), loaded once a page. Drawn in the page, not in a frame: the element is
    replaced each time, and a frame would load abcjs again each time."""
    data = json.dumps({"abc": drawable(text), "id": f"live-sheet-{n}", "src": abcjs}).replace("</", "<\\/")
    return (
        f'<div class="live-sheet" id="live-sheet-{n}" role="img" aria-label="The tune so far, as sheet music" '
        'style="background:#fff;border-radius:0.5rem;padding:0.25rem 0.5rem"></div>'
        f"<script>({_DRAW})({data});</script>"
    )


# Draws the tune so far where the page put it; loads abcjs into the page the first time (then it is window.ABCJS).
_DRAW = """(d) => {
  const draw = () => {
    const el = document.getElementById(d.id);
    if (!el || !window.ABCJS) return;
    try { window.ABCJS.renderAbc(el, d.abc, {responsive: "resize", add_classes: true, paddingtop: 0}); }
    catch (e) { el.textContent = ""; }
  };
  if (window.ABCJS) return draw();
  let s = document.getElementById("musicgen-abcjs");
  if (!s) {
    s = document.createElement("script");
    s.id = "musicgen-abcjs";
    s.src = d.src;
    document.head.appendChild(s);
  }
  s.addEventListener("load", draw);
}"""
