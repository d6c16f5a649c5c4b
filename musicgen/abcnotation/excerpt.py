r"""A tune cut from some of its bars, to practise a passage.

    cut = excerpt(abc, 5, 8, count_in=True)      # bars 5 to 8 as a tune of their own
    cut.abc, cut.start, cut.source_start, cut.length, cut.count_in

Bars are numbered as :mod:`musicgen.abcnotation.bars` numbers them, the one numbering Practise and Rewrite
share: bar 1 is the first whole bar, a pick-up is no bar of its own, each ending counts once as written, and
repeats are not played out. A passage takes with it the bars that are not counted next to it: the pick-up
just before its first bar (a later part's too), and after the tune's last bar the lone short bar that may end
the tune.

The excerpt is the tune's header, the fields in force where the bars begin (a meter, unit or key that
changed in the body), an optional count-in bar (the tonic on each beat), the chord symbol in force, and then
the bars' own characters, unchanged except that repeat marks and ending numbers become spaces: the bars are
played once each, in written order. The characters keep their places, so a note at ``start + i`` in the
excerpt is the note at ``source_start + i`` in the tune: a player of the excerpt can point at the tune's notes.

>>> tune = 'X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\nA|:"D"dfa afd|"A"e3 e2A:|\n|:B2c d2e|[1f3 f2A:|[2f3 d3|]\n'
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
>>> excerpt(tune, 1, 1).abc.splitlines()[-1]   # bar 1 takes the pick-up with it
'A| "D"dfa afd|'
>>> excerpt(tune, 4, 9)
Traceback (most recent call last):
...
musicgen.abcnotation.excerpt.ExcerptError: choose bars from 1 to 5 (this tune has 5 bars; a pick-up is no bar of its own), not 4 to 9
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from musicgen.abcnotation import rhythm
from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.bars import BarSpan, bar_spans, numbered, scan_text
from musicgen.abcnotation.header import HeaderError, Meter, default_unit, parse_key

__all__ = ["BarSpan", "Excerpt", "ExcerptError", "bar_spans", "count_in_bar", "excerpt", "numbered"]


class ExcerptError(ValueError):
    """Bars that cannot be cut from a tune, as a sentence."""


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
    context: _Context  # in force where the passage begins
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


def _scan(abc: str, at: int) -> _Scan:
    """The tune's tokens, where its body starts, whether it has voices, and what is in force at offset ``at``."""
    text = scan_text(abc)
    state = rhythm.RhythmState()
    toks: list[tuple[int, T.Token]] = []
    pos, body_start, voices = 0, len(abc), False
    fields: dict[str, str] = {}
    chord = ""
    context: _Context | None = None
    for tok in T.tokenize(text):
        if context is None and pos >= at:
            context = _Context(dict(fields), chord, state.meter, state.unit, state.key)
        toks.append((pos, tok))
        in_body = state.in_body
        name = tok.text.strip("[]") if tok.kind in (T.FIELD, T.INLINE_FIELD) else ""
        voices = voices or name.startswith("V:")
        if in_body and name[:1] in ("M", "L", "K") and name[1:2] == ":":
            fields[name[0]] = name.strip()
        if tok.kind == T.SYMBOL and tok.text[1:2] not in ("^", "_", "<", ">", "@"):  # not an annotation
            chord = tok.text
        state.feed(tok)
        end = pos + len(tok.text)
        if not in_body and state.in_body:
            body_start = end + (1 if text[end : end + 1] == "\n" else 0)
        pos = end
    if context is None:
        context = _Context(dict(fields), chord, state.meter, state.unit, state.key)
    return _Scan(context, toks, body_start, voices)


def _chosen(spans: list[BarSpan], first: int, last: int) -> tuple[int, int]:
    """The indices of the first and last spans of bars ``first`` to ``last``, with the uncounted bars next to them:
    a pick-up just before bar ``first``, and after the tune's last bar whatever follows it."""
    counted = numbered(spans)
    i0, i1 = spans.index(counted[first - 1]), spans.index(counted[last - 1])
    while i0 > 0 and spans[i0 - 1].number is None:
        i0 -= 1
    return i0, len(spans) - 1 if last == len(counted) else i1


def excerpt(abc: str, first: int, last: int, count_in: bool = False) -> Excerpt:
    """Bars ``first`` to ``last`` of the tune as a tune of their own; raises :class:`ExcerptError` (a sentence)."""
    spans = bar_spans(abc)
    top = len(numbered(spans))
    chosen = _chosen(spans, first, last) if 1 <= first <= last <= top else None
    start, end = (spans[chosen[0]].start, spans[chosen[1]].close) if chosen else (0, 0)
    scan = _scan(abc, start)
    if scan.voices:
        raise ExcerptError("this tune has several voices (V: fields); bars of it cannot be practised alone")
    if not spans:
        raise ExcerptError("this tune has no bars of music to practise")
    if chosen is None:
        uncounted = "; a pick-up is no bar of its own" if top < len(spans) else ""
        raise ExcerptError(
            f"choose bars from 1 to {top} (this tune has {top} bar{'s' if top != 1 else ''}{uncounted}), "
            f"not {first} to {last}"
        )
    ctx = scan.context
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
