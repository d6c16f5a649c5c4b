r"""Near-copies: does a tune repeat four or more whole bars of one training tune verbatim?

A tune's *bars* are its body (after the first ``K:`` line) with chord symbols,
spaces, comments, fields and ending numbers removed, cut at every bar line; the
text before the first bar line counts as a bar, text after the last one (a bar
never closed) does not, and empty bars are dropped. A tune is a *near-copy* when
some run of ``NEAR_COPY_BARS`` consecutive bars appears, in the same order, in one
training tune. :class:`BarIndex` finds the longest such run exactly with a hash
index of every training bar: a check costs one look-up per bar and one step per
place that bar occurs (a few hundred at most in the Nottingham tunes).

>>> index = BarIndex(["X:1\nK:G\n|:GAB c2d|\"G\"e2d B2G|A2B c2A|B2G A3|G3 G3:|"])
>>> body_bars("X:2\nK:G\nd|e2d B2G|A2B c2A|\"Em\"B2 G A3 |G3 z3|")
['d', 'e2dB2G', 'A2Bc2A', 'B2GA3', 'G3z3']
>>> index.longest_run("X:2\nK:G\nd|e2d B2G|A2B c2A|\"Em\"B2 G A3 |G3 z3|")
3
>>> index.longest_run("X:3\nK:G\n|e2d B2G|A2B c2A|B2G A3|G3 G3|]")
4
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from musicgen.abcnotation import tokens as T

NEAR_COPY_BARS = 4  # DESIGN.md: four or more consecutive whole bars shared with one training tune
_DROPPED = frozenset({T.SYMBOL, T.SPACE, T.NEWLINE, T.COMMENT, T.CONTINUATION, T.FIELD, T.INLINE_FIELD, T.ENDING})


def body_bars(tune: str) -> list[str]:
    """The whole bars of a tune's body, as compared for near-copies."""
    bars: list[str] = []
    current: list[str] = []
    tokens = T.tokenize(tune)
    start = next(
        (i + 1 for i, (kind, text) in enumerate(tokens) if kind == T.FIELD and text.startswith("K:")), len(tokens)
    )
    for kind, text in tokens[start:]:
        if kind == T.BAR:
            if current:
                bars.append("".join(current))
            current = []
        elif kind not in _DROPPED:
            current.append(text)
    return bars


class BarIndex:
    """Every bar of the training tunes, mapped to where it occurs (tune, position)."""

    def __init__(self, tunes: Sequence[str]) -> None:
        self.bars = [body_bars(t) for t in tunes]
        self.places: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for tid, bars in enumerate(self.bars):
            for pos, bar in enumerate(bars):
                self.places[bar].append((tid, pos))

    def longest_run(self, tune: str) -> int:
        """The most consecutive bars the tune shares, in order, with one training tune."""
        best = 0
        runs: dict[tuple[int, int], int] = {}  # (training tune, position) -> run ending there
        for bar in body_bars(tune):
            runs = {(tid, q): runs.get((tid, q - 1), 0) + 1 for tid, q in self.places.get(bar, ())}
            best = max(best, max(runs.values(), default=0))
        return best

    def is_near_copy(self, tune: str) -> bool:
        return self.longest_run(tune) >= NEAR_COPY_BARS
