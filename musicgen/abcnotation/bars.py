r"""Where each bar of a tune lies in its text, numbered as a musician counts them: the one numbering that
practising bars (:mod:`musicgen.abcnotation.excerpt`), rewriting them (:mod:`musicgen.compose.rewrite`), the
workbench's mistakes and a click on a note in the sheet music all share, so "bar 5" is one bar everywhere.

    spans = bar_spans(abc)        # every bar as written: its number (None: not counted), offsets, line, length
    numbered(spans)               # the bars a musician counts: numbered(spans)[k - 1].number == k
    bar_at(abc, offset)           # the bar holding a character (a note clicked in the sheet music)

A bar is what :class:`~musicgen.abcnotation.rhythm.RhythmState` reads as one: music between bar lines that
holds a timed note (the empty ``|: ||`` of some files is no bar). The bars are numbered in written order by
one rule:

- bar 1 is the first whole bar. A *pick-up* (a short bar opening the tune or a later part, not in an ending,
  with more music after it) is no bar of its own: its ``number`` is None. It is the first half of a bar
  split across the repeat, which the short bar closing its part completes; counting it would move every
  later bar number on by one at each part that has one (and a tune with two parts has two pick-ups, so a
  pick-up numbered 0 could name only the first);
- first and second endings count as written, each once: a part of 7 bars and two one-bar endings numbers
  them 1-7, the first ending 8 and the second 9 (as engraving programs number them). A bar in an ending is
  never a pick-up, so a short second ending before a part's pick-up is counted and the pick-up is not;
- a lone short bar that ends the tune after its last part (``:|G2``, or the pick-up of a part never
  written) is not counted either: it completes the split bar of the last pick-up;
- repeats are not played out: a repeated part is counted once.

This is the count of :attr:`musicgen.judge.form.Form.bars` ("the tune has 32 bars"): on the 932 cleaned
Nottingham tunes the two agree on every tune. Before this module, Practise numbered every written bar from 1
(a first pick-up 0) and Rewrite followed the rule above; they named different bars in 508 of the 932 tunes
(507 with a later part's pick-up, one with a lone closing bar), every bar after the first difference.

A bar's *music* (``start`` to ``end``) runs from its first character after the bar line before it (spaces,
line breaks, field lines, comments and an ending mark ``[2`` stay with that bar line) to its closing bar line
(spaces before that bar line included); ``close`` is just after that bar line (``end`` where none closes it).

>>> spans = bar_spans("X:1\nM:6/8\nK:G\nd|:B2c d2e|g3 G3|\nB2c d2e|1 g3 d3:|2 g3 G2||\nd|:e3 c3|d6:|\n")
>>> [(s.number, s.music) for s in spans]
[(None, 'd'), (1, 'B2c d2e'), (2, 'g3 G3'), (3, 'B2c d2e'), (4, 'g3 d3'), (5, 'g3 G2'), (None, 'd'), (6, 'e3 c3'), (7, 'd6')]
>>> [s.ending for s in spans][3:6], [s.bar_line for s in spans][3:6], [s.line for s in spans][3:7]
([None, '1', '2'], ['|1', ':|2', '||'], [5, 5, 5, 6])
>>> [s.number for s in bar_spans("X:1\nM:2/4\nL:1/8\nK:D\nA2|d4|e4:|\nd2|]\n")]
[None, 1, 2, None]
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import Meter
from musicgen.abcnotation.rhythm import Bar, RhythmState, is_section_bar

# what stands between a bar line and the next bar's music, and stays with the bar line before it
_BEFORE_MUSIC = frozenset({T.SPACE, T.NEWLINE, T.FIELD, T.COMMENT, T.CONTINUATION, T.ENDING})


@dataclass(frozen=True)
class BarSpan:
    """One bar of a tune's text: its number, where its music and its bar line lie, its line, how long it lasts."""

    number: int | None  # as a musician counts (1 up); None for a pick-up or a lone closing bar
    start: int  # offset of its music's first character
    end: int  # offset just after its music (where its closing bar line starts)
    close: int  # offset just after its closing bar line (``end`` where none closes it)
    line: int  # the 1-based line of the text where its music starts
    bar: Bar  # its duration, its meter's, its place in its section, characters not read
    ending: str | None  # the ending it is in ("1", "2", ...), None outside endings
    meter: Meter | None  # the meter in force where it closes (None: free meter)
    text: str  # the whole tune's text (``music`` and ``bar_line`` read it)

    @property
    def music(self) -> str:
        return self.text[self.start : self.end]

    @property
    def bar_line(self) -> str:
        """The bar line that closes it ('' where the tune or a field line ends it)."""
        return self.text[self.end : self.close]

    @property
    def duration(self) -> Fraction:
        """What its notes last, in whole notes."""
        return self.bar.duration

    @property
    def correct(self) -> bool | None:
        """As :class:`~musicgen.abcnotation.rhythm.Bar` judges it: an edge bar may be short; None without a meter."""
        return self.bar.correct

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
    places: list[tuple[int, int, int, str | None, Meter | None]] = []  # each bar's start, end, close, ending
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
                places.append((_at(start, pos), pos, pos + len(tok_text), ending, state.meter))
            else:
                places.append((_at(start, content_end), content_end, content_end, ending, state.meter))
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
    places += [(_at(start, content_end), content_end, content_end, ending, state.meter)] * (len(bars) - before)
    return [
        BarSpan(number, first, end, close, scan.count("\n", 0, first) + 1, bar, in_ending, meter, text)
        for number, bar, (first, end, close, in_ending, meter) in zip(_numbers(bars, places), bars, places)
    ]


def _numbers(bars: list[Bar], places: list[tuple[int, int, int, str | None, Meter | None]]) -> list[int | None]:
    """Each bar's number by the rule of the module docstring."""
    out: list[int | None] = []
    number, previous_uncounted = 0, False
    for i, (bar, place) in enumerate(zip(bars, places)):
        opens = _short(bar) and bar.first and place[3] is None  # a short bar opening a part, not in an ending
        pickup = i + 1 < len(bars) and not previous_uncounted
        uncounted = opens and (pickup or i == len(bars) - 1 and number > 0)
        number += not uncounted
        out.append(None if uncounted else number)
        previous_uncounted = uncounted
    return out


def _at(start: int | None, fallback: int) -> int:
    return fallback if start is None else start


def _short(bar: Bar) -> bool:
    return bar.expected is not None and not bar.errors and bar.duration < bar.expected


def numbered(spans: list[BarSpan]) -> list[BarSpan]:
    """The bars a musician counts (pick-ups and a lone closing bar left out): ``numbered(spans)[k - 1].number == k``.

    >>> [s.music for s in numbered(bar_spans("X:1\\nM:2/4\\nL:1/8\\nK:D\\nA2|d4|e4:|\\nd2|]\\n"))]
    ['d4', 'e4']
    """
    return [s for s in spans if s.number is not None]


def bar_at(text: str, offset: int) -> BarSpan | None:
    """The bar whose music or closing bar line holds character ``offset`` of ``text`` (a clicked note's
    ``startChar`` in abcjs); None for a character of the header or between bars.

    >>> tune = "X:1\\nM:2/4\\nL:1/8\\nK:D\\nDE FG|AB c2|]"
    >>> bar_at(tune, tune.index("B")).number, bar_at(tune, tune.index("|")).number, bar_at(tune, 3)
    (2, 1, None)
    """
    return next((s for s in bar_spans(text) if s.start <= offset < max(s.close, s.end + 1)), None)
