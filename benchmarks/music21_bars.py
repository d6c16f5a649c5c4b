"""music21's reading of a tune set beside rhythm.py's, bar by bar: a parse check for
:func:`musicgen.judge.evaluate.evaluate` that ``benchmarks/quality.py`` reports as an independent reading.
"""

from __future__ import annotations

from fractions import Fraction

from musicgen.abcnotation.rhythm import analyse
from musicgen.judge.evaluate import PARSE_TIMEOUT
from musicgen.sound import convert


class Music21Bars:
    """A parse check for :func:`evaluate` that also sets music21's reading of the same text beside
    rhythm.py's, counted per set of tunes: the tune's total length, and its bars one by one."""

    def __init__(self) -> None:
        self.source = ""
        # source -> [tunes read, same total length, same bars, bars, same bar lengths]
        self.counts: dict[str, list[int]] = {}
        self.examples: dict[str, list[str]] = {}

    def __call__(self, tune: str) -> tuple[str, tuple[str, ...]]:
        try:
            parsed = convert.parse(tune, PARSE_TIMEOUT)
        except convert.InvalidABCError as e:
            return str(e) or "InvalidABCError", ()
        part = parsed.score.parts[0] if parsed.score.parts else parsed.score
        exact = lambda q: Fraction(q).limit_denominator(3840) / 4  # noqa: E731  (quarter lengths -> wholes)
        theirs = [d for d in (exact(m.highestTime) for m in part.getElementsByClass("Measure")) if d > 0]
        bars = analyse(parsed.abc).bars
        mine = [b.duration for b in bars]
        total, their_total = sum(mine, Fraction(0)), exact(part.highestTime)
        c = self.counts.setdefault(self.source, [0, 0, 0, 0, 0])
        c[0] += 1
        c[1] += total == their_total
        c[2] += theirs == mine
        c[3] += len(mine)
        c[4] += sum(a == b for a, b in zip(mine, theirs)) if len(mine) == len(theirs) else 0
        examples = self.examples.setdefault(self.source, [])
        if total != their_total and len(examples) < 3:
            at = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
            text = bars[at].text.replace("\n", " ") if at < len(bars) else "(end)"
            if self.source.startswith("held-out"):  # the report quotes no text of the data set
                examples.append(f"tune {c[0]}: {total} vs {their_total} of a whole note; first differing bar {at + 1}")
            else:
                examples.append(
                    f"{tune.splitlines()[1][:40]}: {total} vs {their_total} of a whole note; first "
                    f"differing bar {at + 1} `{text[:60]}`"
                )
        return "", parsed.repairs
