"""A tune on the page while the model writes it: generation that hands over the text every few characters.

    tunes = generate_watched(gen, cfg, lambda text: slot.code(text))   # the same tunes as gen.generate(cfg)

:meth:`~musicgen.compose.sample.Generator.generate` takes a ``watch``, called after each step of the call's
run (:class:`~musicgen.compose.streams.Run`): :class:`Watch` hands the text of the first stream (the first
candidate) to a callback, at most every ``every`` steps and ``interval_s``. Watching changes nothing the run
does, so the tunes are exactly those of ``gen.generate(cfg)``; where meter-aware writing writes a bar again
(:mod:`musicgen.compose.retry`), the text handed over is the shorter one it writes on from.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from musicgen.compose.sample import Generator, Tune
from musicgen.compose.streams import Run
from musicgen.config import SampleConfig

EVERY = 6  # characters between two reports: a note or two of ABC
INTERVAL_S = 0.1  # and at least this long: 10 redraws a second (25 slowed the sound, browser and server on 2 cores)


class Watch:
    """Reports the first stream's text so far to ``report`` while that stream writes (a ``generate`` watch)."""

    def __init__(self, report: Callable[[str], None], every: int = EVERY, interval_s: float = INTERVAL_S) -> None:
        self.report, self.every, self.interval_s = report, every, interval_s
        self.steps, self.reported, self.last = 0, 0, float("-inf")

    def __call__(self, run: Run) -> None:
        if not run.rows or run.rows[0] != 0:
            return  # the first stream is done
        self.steps += 1
        now = time.perf_counter()
        if self.steps - self.reported >= self.every and now - self.last >= self.interval_s:
            self.reported, self.last = self.steps, now
            self.report(run.text(0))


def generate_watched(
    gen: Generator,
    cfg: SampleConfig,
    report: Callable[[str], None],
    every: int = EVERY,
    interval_s: float = INTERVAL_S,
) -> list[Tune]:
    """``gen.generate(cfg)``, reporting the first candidate's text as it grows (see :class:`Watch`)."""
    return gen.generate(cfg, watch=Watch(report, every, interval_s))
