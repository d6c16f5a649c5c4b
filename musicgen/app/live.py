"""A tune on the page while the model writes it: generation that hands over the text every few characters.

    tunes = generate_watched(gen, cfg, lambda text: slot.code(text))   # the same tunes as gen.generate(cfg)

:meth:`~musicgen.compose.sample.Generator.generate` takes a constraint: an object asked which characters
a stream may take next (``allowed``) and told which one it took (``advance``). :class:`Watch` is such an
object around the constraint the generator would build itself (the meter-aware one, or none): it answers
as that one does, so the tunes are exactly those of ``gen.generate(cfg)``, and it hands the text of the
first stream (the first candidate) to a callback, at most every ``every`` characters and ``interval_s``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from musicgen.compose.sample import Generator, Tune
from musicgen.compose.streams import Constraint
from musicgen.config import SampleConfig

EVERY = 6  # characters between two reports: a note or two of ABC
INTERVAL_S = 0.1  # and at least this long: 10 redraws a second (25 slowed the sound, browser and server on 2 cores)


class Watch:
    """A constraint that passes every question to ``inner`` (None: every character allowed) and reports
    the first stream's text so far to ``report``."""

    def __init__(
        self,
        inner: Constraint | None,
        vocab_size: int,
        report: Callable[[str], None],
        every: int = EVERY,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.inner, self.report, self.every, self.interval_s = inner, report, every, interval_s
        self.everything = np.ones(vocab_size, dtype=bool)
        self.chars: list[str] = []
        self.reported, self.last = 0, float("-inf")

    def allowed(self, stream: int) -> np.ndarray:
        return self.everything if self.inner is None else self.inner.allowed(stream)

    def advance(self, stream: int, char: str) -> None:
        if self.inner is not None:
            self.inner.advance(stream, char)
        if stream != 0:
            return
        self.chars.append(char)
        now = time.perf_counter()
        if len(self.chars) - self.reported >= self.every and now - self.last >= self.interval_s:
            self.reported, self.last = len(self.chars), now
            self.report("".join(self.chars))


def generate_watched(
    gen: Generator,
    cfg: SampleConfig,
    report: Callable[[str], None],
    every: int = EVERY,
    interval_s: float = INTERVAL_S,
) -> list[Tune]:
    """``gen.generate(cfg)``, reporting the first candidate's text as it grows (see :class:`Watch`).

    Builds the meter-aware constraint as ``generate`` does when given none, and marks the tunes it held.
    """
    built = gen._meter_constraint(cfg) if gen.meter_aware(cfg) else None  # the one the generator would build
    tunes = gen.generate(cfg, Watch(built, len(gen.vocab), report, every, interval_s))
    if built is None:
        return tunes
    return [dataclasses.replace(t, meter_aware=built.held(s)) for s, t in enumerate(tunes)]
