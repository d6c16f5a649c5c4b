r"""Where each bar of a tune lies in its text, numbered as a musician counts them: what a rewrite keeps and replaces.

    spans = bar_spans(abc)        # every bar: its number (None: a pick-up), where its music starts and ends
    numbered(spans)               # the bars a musician counts, bar 1 first
    bar_at(abc, offset)           # the bar holding a character (a note clicked in the sheet music)

Bars are read by :class:`~musicgen.abcnotation.rhythm.RhythmState` (a bar is music between bar lines that
holds a timed note: the empty ``|: ||`` of some files is no bar). Each is numbered in the order written:

- a *pick-up* (a short first bar of the tune or of a part, followed by more music) is no bar of its own:
  bar 1 is the first whole bar, and a later part's pick-up is numbered neither (``number`` None); nor is
  a lone short bar that ends the tune after its last part (``:|G2``, or the pick-up of a part never written);
- first and second endings are counted as written, each once: a part of 7 bars and two one-bar endings
  numbers them 1-7, the first ending 8 and the second 9; a bar in an ending is never a pick-up;
- repeats are not unrolled: a repeated part is counted once (as :attr:`musicgen.judge.form.Form.bars`).

A bar's *music* runs from its first character after the bar line before it (spaces, line breaks, field
lines, comments and the ending mark ``[2`` left before it, with the bar line) to its closing bar line
(spaces before that bar line included); ``close`` is just after that bar line.

>>> spans = bar_spans("X:1\nM:6/8\nK:G\nd|:B2c d2e|g3 G3|\nB2c d2e|1 g3 d3:|2 g3 G2||\n")
>>> [(s.number, s.music) for s in spans]
[(None, 'd'), (1, 'B2c d2e'), (2, 'g3 G3'), (3, 'B2c d2e'), (4, 'g3 d3'), (5, 'g3 G2')]
>>> [s.ending for s in spans], [s.line for s in spans][-2:]
([None, None, None, None, '1', '2'], [':|2', '||'])
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.rhythm import Bar, RhythmState, is_section_bar

# what stands between a bar line and the next bar's music, and stays with the bar line before it
_BEFORE_MUSIC = frozenset({T.SPACE, T.NEWLINE, T.FIELD, T.COMMENT, T.CONTINUATION, T.ENDING})


@dataclass(frozen=True)
class BarSpan:
    """One bar of a tune's text: its number, where its music lies, and how long it lasts."""

    number: int | None  # as a musician counts (1 up); None for a pick-up
    start: int  # offset of its music's first character
    end: int  # offset just after its music (where its closing bar line starts)
    close: int  # offset just after its closing bar line (``end`` where none closes it)
    bar: Bar  # its duration, its meter's, and its place in its section
    ending: str | None  # the ending it is in ("1", "2", ...), None outside endings
    text: str  # the whole tune's text (the span's slices below read it)

    @property
    def music(self) -> str:
        return self.text[self.start : self.end]

    @property
    def line(self) -> str:
        """The bar line that closes it ('' where the tune or a field line ends it)."""
        return self.text[self.end : self.close]

    @property
    def whole(self) -> bool:
        """Lasts its measure exactly (True too where no meter says how long a measure is)."""
        return self.bar.expected is None or (not self.bar.errors and self.bar.duration == self.bar.expected)


def scan_text(text: str) -> str:
    """The text as the tokenizer reads it, each character where it was: carriage returns and tabs as spaces.

    >>> scan_text("K:G\\r\\nab\\tc|")
    'K:G \\nab c|'
    """
    return text.replace("\r\n", " \n").replace("\r", "\n").replace("\t", " ")


def bar_spans(text: str) -> list[BarSpan]:
    """Every bar of one tune's text, in order (see the module docstring for how they are numbered)."""
    scan = scan_text(text)
    state = RhythmState()
    places: list[tuple[int, int, int, str | None]] = []  # each closed bar's start, end, close, ending
    start: int | None = None  # where the current bar's music starts (None: not yet)
    content_end = 0  # just after the last character of music read
    ending: str | None = None
    pos = 0
    for tok in T.tokenize(scan):
        kind, tok_text = tok
        before = len(state.bars)
        state.feed(tok)
        for _ in range(len(state.bars) - before):  # a bar line (or a P:/M: field inside a bar) closed a bar
            if kind == T.BAR:
                places.append((_at(start, pos), pos, pos + len(tok_text), ending))
            else:
                places.append((_at(start, content_end), content_end, content_end, ending))
        if kind == T.BAR:
            number = tok_text.lstrip(":|[]")
            ending = number[:1] if number else None if is_section_bar(tok_text) else ending
            start = None
        elif kind not in _BEFORE_MUSIC or (kind == T.ENDING and start is not None):
            start = pos if start is None else start
            content_end = pos + len(tok_text)
        if kind == T.ENDING:
            ending = tok_text[1:2]
        elif kind in (T.FIELD, T.INLINE_FIELD) and tok_text.strip("[")[:2] == "P:":
            ending = None
        pos += len(tok_text)
    before = len(state.bars)
    bars = state.finish()  # the last bar, closed by the end of the tune (and earlier bars marked last)
    places += [(_at(start, content_end), content_end, content_end, ending)] * (len(bars) - before)
    spans: list[BarSpan] = []
    number, previous_pickup = 0, False
    for i, (bar, (first, end, close, in_ending)) in enumerate(zip(bars, places)):
        opens = _short(bar) and bar.first and in_ending is None  # a short bar opening a part
        pickup = opens and (i + 1 < len(bars) and not previous_pickup or i == len(bars) - 1 and i > 0)
        number += not pickup
        spans.append(BarSpan(None if pickup else number, first, end, close, bar, in_ending, text))
        previous_pickup = pickup
    return spans


def _at(start: int | None, fallback: int) -> int:
    return fallback if start is None else start


def _short(bar: Bar) -> bool:
    return bar.expected is not None and not bar.errors and bar.duration < bar.expected


def numbered(spans: list[BarSpan]) -> list[BarSpan]:
    """The bars a musician counts (pick-ups left out): ``numbered(spans)[k - 1].number == k``."""
    return [s for s in spans if s.number is not None]


def bar_at(text: str, offset: int) -> BarSpan | None:
    """The bar whose music or closing bar line holds character ``offset`` of ``text`` (a clicked note's
    ``startChar`` in abcjs); None for a character of the header or between bars.

    >>> tune = "X:1\\nM:2/4\\nL:1/8\\nK:D\\nDE FG|AB c2|]"
    >>> bar_at(tune, tune.index("B")).number, bar_at(tune, tune.index("|")).number, bar_at(tune, 3)
    (2, 1, None)
    """
    return next((s for s in bar_spans(text) if s.start <= offset < max(s.close, s.end + 1)), None)
