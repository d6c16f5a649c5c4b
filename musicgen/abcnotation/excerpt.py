r"""The bars of an ABC tune as places in its text, and a tune cut from some of them (to practise a passage).

    spans = bar_spans(abc)                       # every written bar: its number, characters, line, length
    cut = excerpt(abc, 5, 8, count_in=True)      # bars 5 to 8 as a tune of their own
    cut.abc, cut.start, cut.source_start, cut.length, cut.count_in

Bars are numbered as a musician counts them: 1 for the first whole bar, 0 for a pick-up before it, and
every written bar once (a first and a second ending are two bars); repeats are not played out. A bar is
what :mod:`musicgen.abcnotation.rhythm` reads as one: the notes between two bar lines.

The excerpt is the tune's header, the fields in force where the bars begin (a meter, unit or key that
changed in the body), an optional count-in bar (the tonic on each beat), the chord symbol in force, and then
the bars' own characters, unchanged except that repeat marks and ending numbers become spaces: the bars are
played once each, in written order. The characters keep their places, so a note at ``start + i`` in the
excerpt is the note at ``source_start + i`` in the tune: a player of the excerpt can point at the tune's notes.
Bars from 1 take the pick-up with them.

>>> tune = 'X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\nA|:"D"dfa afd|"A"e3 e2A:|\n|:B2c d2e|[1f3 f2A:|[2f3 d3|]\n'
>>> [(s.number, tune[s.start:s.end]) for s in bar_spans(tune)]
[(0, 'A|:'), (1, '"D"dfa afd|'), (2, '"A"e3 e2A:|'), (3, 'B2c d2e|'), (4, '[1f3 f2A:|'), (5, '[2f3 d3|]')]
>>> cut = excerpt(tune, 2, 4, count_in=True)
>>> print(cut.abc, end="")
X:1
T:Jig
M:6/8
L:1/8
K:D
dz2 dz2|
"A"e3 e2A |
| B2c d2e|  f3 f2A |
>>> cut.abc[cut.start:cut.start + 5] == tune[cut.source_start:cut.source_start + 5], str(cut.count_in)
(True, '3/4')
>>> excerpt(tune, 4, 9)
Traceback (most recent call last):
...
musicgen.abcnotation.excerpt.ExcerptError: choose bars from 1 to 5 (this tune has 5 bars after its pick-up), not 4 to 9
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.abcnotation import rhythm
from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import HeaderError, Meter, default_unit, parse_key

_BETWEEN = frozenset({T.NEWLINE, T.SPACE, T.FIELD, T.COMMENT, T.CONTINUATION})  # not a bar's music


class ExcerptError(ValueError):
    """Bars that cannot be cut from a tune, as a sentence."""


@dataclass(frozen=True)
class BarSpan:
    """One written bar: its number, where its music stands in the text, its line, and whether it adds up."""

    number: int  # 1, 2, ... in written order; 0 for a pick-up before the first bar line
    start: int  # its first character of music (a chord symbol, a decoration or a note)
    end: int  # just past the bar line that closes it (or its last character)
    line: int  # the 1-based line of the text where it starts
    duration: Fraction  # what its notes last, in whole notes
    expected: Fraction | None  # what its meter says (None: free meter)
    correct: bool | None  # as rhythm judges it: an edge bar may be short; None without a meter
    inner: bool  # neither the first nor the last bar of a section
    meter: Meter | None  # the meter in force (None: free meter)


@dataclass(frozen=True)
class _Context:
    """What is in force where a bar begins: body fields that changed, the last chord symbol, meter, unit, key."""

    fields: dict[str, str] = field(default_factory=dict)  # "M" -> "M:3/4" (changed after the header)
    chord: str = ""
    meter: Meter | None = None
    unit: Fraction | None = None
    key: str | None = None


@dataclass(frozen=True)
class _Scan:
    spans: list[BarSpan]
    contexts: list[_Context]
    tokens: list[tuple[int, T.Token]]  # every token with its position
    body_start: int  # the first character after the K: line
    voices: bool  # the tune has V: fields


@dataclass(frozen=True)
class Excerpt:
    """A tune cut from bars ``first`` to ``last``: ``abc[start:start + length]`` is ``tune[source_start:...]``
    with repeat marks and ending numbers turned into spaces; ``count_in``: the count-in bar's length (whole notes)."""

    abc: str
    first: int
    last: int
    start: int
    source_start: int
    length: int
    count_in: Fraction


def _scan(abc: str) -> _Scan:
    state = rhythm.RhythmState()
    spans: list[BarSpan] = []
    contexts: list[_Context] = []
    toks: list[tuple[int, T.Token]] = []
    pos, body_start, voices = 0, len(abc), False
    fields: dict[str, str] = {}
    chord = ""
    start: int | None = None  # where the open bar's music begins
    for tok in T.tokenize(abc):
        toks.append((pos, tok))
        before = len(state.bars)
        in_body = state.in_body
        if in_body and start is None and tok.kind not in _BETWEEN and tok.kind != T.BAR:
            start = pos
            contexts.append(_Context(dict(fields), chord, state.meter, state.unit, state.key))
        text = tok.text.strip("[]") if tok.kind in (T.FIELD, T.INLINE_FIELD) else ""
        voices = voices or text.startswith("V:")
        if in_body and text[:1] in ("M", "L", "K") and text[1:2] == ":":
            fields[text[0]] = text
        if tok.kind == T.SYMBOL and tok.text[1:2] not in ("^", "_", "<", ">", "@"):  # not an annotation
            chord = tok.text
        state.feed(tok)
        if not in_body and state.in_body:
            body_start = pos + len(tok.text) + (1 if abc[pos + len(tok.text) : pos + len(tok.text) + 1] == "\n" else 0)
        if len(state.bars) > before and start is not None:
            end = pos + len(tok.text) if tok.kind == T.BAR else pos
            spans.append(_span(abc, state.bars[-1], start, end, len(spans), state.meter))
            start = None
        pos += len(tok.text)
    if start is not None:
        bars = state.finish()
        if bars:
            spans.append(_span(abc, bars[-1], start, len(abc.rstrip()), len(spans), state.meter))
    if len(contexts) > len(spans):  # music with no timed note after the last bar line (a lone chord symbol)
        del contexts[len(spans) :]
    return _Scan(_numbered(spans), contexts, toks, body_start, voices)


def _span(abc: str, bar: rhythm.Bar, start: int, end: int, index: int, meter: Meter | None) -> BarSpan:
    line = abc.count("\n", 0, start) + 1
    return BarSpan(index, start, end, line, bar.duration, bar.expected, bar.correct, bar.inner, meter)


def _numbered(spans: list[BarSpan]) -> list[BarSpan]:
    """Number 0 for a short first bar (a pick-up), then 1, 2, ..."""
    pickup = bool(spans) and spans[0].expected is not None and spans[0].duration < spans[0].expected
    return [_renumber(s, i if pickup else i + 1) for i, s in enumerate(spans)]


def _renumber(span: BarSpan, number: int) -> BarSpan:
    return dataclasses.replace(span, number=number)


def bar_spans(abc: str) -> list[BarSpan]:
    """Every written bar of the tune, in order (see the module docstring)."""
    return _scan(abc).spans


def excerpt(abc: str, first: int, last: int, count_in: bool = False) -> Excerpt:
    """Bars ``first`` to ``last`` of the tune as a tune of their own; raises :class:`ExcerptError` (a sentence)."""
    scan = _scan(abc)
    if scan.voices:
        raise ExcerptError("this tune has several voices (V: fields); bars of it cannot be practised alone")
    if not scan.spans:
        raise ExcerptError("this tune has no bars of music to practise")
    top = scan.spans[-1].number
    low = 1 if top >= 1 else 0
    if not low <= first <= last <= top:
        after = " after its pick-up" if scan.spans[0].number == 0 else ""
        raise ExcerptError(
            f"choose bars from {low} to {top} (this tune has {top} bar{'s' if top != 1 else ''}{after}), "
            f"not {first} to {last}"
        )
    chosen = [i for i, s in enumerate(scan.spans) if first <= s.number <= last or (first == 1 and s.number == 0)]
    i0, i1 = chosen[0], chosen[-1]
    start, end = scan.spans[i0].start, scan.spans[i1].end
    ctx = scan.contexts[i0]
    header = abc[: scan.body_start]
    prefix = header if header.endswith("\n") else header + "\n"
    prefix += "".join(line + "\n" for line in ctx.fields.values())
    length = Fraction(0)
    if count_in:
        bar, length = count_in_bar(ctx.meter, ctx.unit, ctx.key)
        prefix += bar + "\n"
    if ctx.chord and not _own_chord_first(scan.tokens, start, end):
        prefix += ctx.chord
    return Excerpt(
        prefix + _plain_repeats(scan.tokens, start, end) + "\n", first, last, len(prefix), start, end - start, length
    )


def _own_chord_first(tokens: list[tuple[int, T.Token]], start: int, end: int) -> bool:
    """Whether the bars' first timed note has a chord symbol of their own before it."""
    for pos, tok in tokens:
        if pos < start:
            continue
        if pos >= end or tok.kind in T.TIMED:
            return False
        if tok.kind == T.SYMBOL and tok.text[1:2] not in ("^", "_", "<", ">", "@"):
            return True
    return False


def _plain_repeats(tokens: list[tuple[int, T.Token]], start: int, end: int) -> str:
    """The text from ``start`` to ``end`` with repeat marks and ending numbers as spaces (the same length).

    >>> from musicgen.abcnotation.tokens import tokenize
    >>> text = "|:ab:|1c|2d::e|[1f:|"
    >>> toks, at = [], 0
    >>> for t in tokenize(text):
    ...     toks.append((at, t)); at += len(t.text)
    >>> _plain_repeats(toks, 0, len(text))
    '| ab | c| d| e|  f |'
    """
    out: list[str] = []
    for pos, tok in tokens:
        if pos + len(tok.text) <= start or pos >= end:
            continue
        text = tok.text[max(0, start - pos) : end - pos]
        if tok.kind == T.BAR:
            text = re.sub(r"[:0-9,\-]", " ", text)
            if "|" not in text:  # "::" is a bar line of its own
                text = "|" + text[1:]
        elif tok.kind == T.ENDING:
            text = " " * len(text)
        out.append(text)
    return "".join(out)


def count_in_bar(meter: Meter | None, unit: Fraction | None, key: str | None) -> tuple[str, Fraction]:
    """A bar that counts the beats in: the key's tonic, short, on each beat (dotted quarters in 6/8, 9/8, 12/8;
    four quarters without a meter); and its length in whole notes.

    >>> count_in_bar(Meter(6, 8), Fraction(1, 8), "D"), count_in_bar(Meter(2, 2), Fraction(1, 8), "Ador")
    (('dz2 dz2|', Fraction(3, 4)), ('az3 az3|', Fraction(1, 1)))
    >>> count_in_bar(None, None, None), count_in_bar(Meter(3, 4), Fraction(1, 4), "Bb")
    (('cz cz cz cz|', Fraction(1, 1)), ('b/2z/2 b/2z/2 b/2z/2|', Fraction(3, 4)))
    """
    m = meter or Meter(4, 4)
    beat, beats = (Fraction(3, m.unit), m.beats // 3) if m.compound else (Fraction(1, m.unit), m.beats)
    unit = unit or default_unit(meter)
    click = min(beat, Fraction(1, 8))
    one = _tonic(key) + _written(click / unit) + (f"z{_written((beat - click) / unit)}" if beat > click else "")
    return " ".join([one] * beats) + "|", beat * beats


def _tonic(key: str | None) -> str:
    """The letter of the key's tonic, an octave above middle C (the key signature gives its sharp or flat)."""
    try:
        name = parse_key(key)[0] if key else "C"
    except HeaderError:
        name = "C"
    return name[:1].lower() if name[:1].isalpha() else "c"


def _written(units: Fraction) -> str:
    """A note length in unit lengths as ABC writes it.

    >>> [_written(Fraction(n)) for n in ("1", "2", "1/2", "3/2")]
    ['', '2', '/2', '3/2']
    """
    if units == 1:
        return ""
    if units.denominator == 1:
        return str(units.numerator)
    return f"{'' if units.numerator == 1 else units.numerator}/{units.denominator}"
