r"""The form of a tune, as a musician counts it: its parts and their bars, where it ends, whether it keeps its header.

    form = tune_form(abc); form.bars, form.played, form.parts, form.ends_on_tonic, form.header_held
    form_warnings(form)   # what the app's orange badges say; form_score(form): how the app ranks candidates

A *part* is the music between section bar lines (``|:``, ``:|``, ``::``, ``||``, ``|]``, ``[|``) or a ``P:`` field (a
mid-tune ``M:`` too: the sections of :mod:`musicgen.abcnotation.rhythm`); the first and second endings of a repeat
(``[1`` ... ``:|2`` or ``[2``) are one part. A tune with no section bar line is one part. A part's bars are counted as
a musician counts them, once through: a short first bar (a pick-up) is no bar of its own, and with the short bar that
closes its part it makes one bar; a part of 8 bars with two endings is 8 bars each time through. *Regular* parts have
4, 8, 12 or 16 bars. *As played*, a repeated part counts twice (each ending once). The simpler reading
(:attr:`Form.sections`) counts the sections as written, each ending in a section of its own.

The tonic is the header key's (``K:Ador`` ends on A); the last melody note (the top of a closing chord) and the root
of the last chord symbol are compared with it by pitch class. The header holds when no later ``M:`` or ``K:`` (a field
line, inline, or a second ``M:`` after ``K:``) names another. A part *closes long* on a note of a quarter or more.

>>> f = tune_form("X:1\nM:6/8\nK:G\nd|:B2c d2e|g3 G3|B2c d2e|1 g3 d3:|2 g3 G2||")
>>> [p.passes for p in f.parts], f.bars, f.played, f.pickups, f.sections, f.ends_on_tonic
([(4, 4)], 5, 8, 1, (4, 1), True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import HeaderError, header_fields, key_name, parse_meter
from musicgen.abcnotation.rhythm import Bar, RhythmState, is_section_bar
from musicgen.compose.tonic import symbol_pc
from musicgen.compose.tonic import tonic_of as key_tonic
from musicgen.judge.cadence import closes_long, unit_of
from musicgen.judge.features import last_melody_pitch

REGULAR = (4, 8, 12, 16)  # bars of a regular part
MIN_BARS = 8  # fewer bars than this is a fragment, not a tune (the held-out tunes: 99% have at least 8)
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ROOT = re.compile(r'"\(?([A-G])([#b]?)')  # a chord symbol's root; annotations ("^text") have none
_Item = tuple[Bar, str | None, str]  # a bar, the ending it is in ("1", "2", None), the bar line closing it


@dataclass(frozen=True)
class Part:
    """One part: its bars each time through, and as written."""

    passes: tuple[int, ...]  # bars each time through (a pick-up and its closing part-bar as one)
    written: int  # bars as written: every ending's once, a pick-up not counted
    closes_pickup: bool | None = None  # it opened with a pick-up: its last bar completes it (None: no pick-up)
    closes_long: bool | None = None  # its last note lasts a quarter or more (musicgen.judge.cadence; None: no note)

    @property
    def bars(self) -> int:
        return self.passes[0]

    @property
    def regular(self) -> bool:
        return all(n in REGULAR for n in self.passes)


@dataclass(frozen=True)
class Form:
    """What :func:`tune_form` finds in one tune."""

    parts: tuple[Part, ...]
    sections: tuple[int, ...]  # bars of each section as written, endings apart (the simpler reading)
    judged: int  # bars under a meter, pick-ups aside
    judged_correct: int  # of those, bars that add up (inner bars) or do not overfill (a part's last)
    pickups: int
    key: str | None  # the header's K: as written
    meter: str | None  # the first M: as written (the header's, where it has one)
    tonic: str | None  # the header key's tonic; None without one (K:none, no K:)
    last_note: int | None  # pitch class of the last melody note
    last_chord: str | None  # the last chord symbol with a root, as written; None: the tune has none
    meter_changes: tuple[str, ...]  # later M: values that differ from the first
    key_changes: tuple[str, ...]  # later K: values that differ from the first

    @property
    def bars(self) -> int:
        return sum(p.written for p in self.parts)

    @property
    def played(self) -> int:
        return sum(sum(p.passes) for p in self.parts)

    @property
    def regular_share(self) -> float:
        return sum(p.regular for p in self.parts) / len(self.parts) if self.parts else 0.0

    @property
    def ends_on_tonic(self) -> bool | None:
        """The last melody note is the tonic; None when there is no tonic or no note."""
        if self.tonic is None or self.last_note is None:
            return None
        return self.last_note == symbol_pc(self.tonic)

    @property
    def chord_on_tonic(self) -> bool | None:
        """The last chord symbol's root is the tonic; None without a tonic or a chord symbol."""
        if self.tonic is None or self.last_chord is None:
            return None
        return symbol_pc(self.last_chord) == symbol_pc(self.tonic)

    @property
    def header_held(self) -> bool:
        return not (self.meter_changes or self.key_changes)


def _short(bar: Bar) -> bool:
    return bar.expected is not None and not bar.errors and bar.duration < bar.expected


def _pickup(bars: list[Bar]) -> bool:
    """Whether the first of these bars is a pick-up (short, and more bars follow): no bar of its own.

    >>> from fractions import Fraction
    >>> b = lambda d: Bar(Fraction(d), Fraction(1), False, False, "", 0)
    >>> [_pickup(bars) for bars in ([b("1/4"), b(1), b("3/4")], [b("1/4"), b(1)], [b(1), b("1/2")], [b("1/2")])]
    [True, True, False, False]
    """
    return len(bars) > 1 and _short(bars[0])


def _bars(tune: str) -> list[_Item]:
    """Every bar with the ending it is in (``"1"``, ``"2"``, or None) and the bar line that closes it."""
    state, out, ending = RhythmState(), [], None
    for kind, text in T.tokenize(tune):
        before = len(state.bars)
        state.feed(T.Token(kind, text))
        out += [(b, ending, text if kind == T.BAR else "") for b in state.bars[before:]]
        if kind == T.BAR:
            if len(state.bars) == before and out and is_section_bar(text) and not is_section_bar(out[-1][2]):
                out[-1] = (*out[-1][:2], text)  # "abc| :|": the repeat closes the bar before
            number = text.lstrip(":|[]")
            ending = number[:1] if number else None if is_section_bar(text) else ending
        elif kind == T.ENDING:
            ending = text[1:2]
        elif kind in (T.FIELD, T.INLINE_FIELD) and text.strip("[")[:2] == "P:":
            ending = None
    before = len(state.bars)
    bars = state.finish()
    out += [(b, ending, "") for b in bars[before:]]
    return [(b, e, c) for (_, e, c), b in zip(out, bars)]  # the state may have marked a bar last since


def _sections(tune: str) -> list[list[_Item]]:
    r"""The bars section by section; a section of nothing but a pick-up (``d|:B2c...``) opens the next, but a
    short second ending (``:|2 g3 G2||``) is no pick-up: the part after it stays a part of its own.

    >>> [len(s) for s in _sections("X:1\nM:6/8\nK:G\nB2c d2e|1 g3 d3:|2 g3 G2||\nd|:e2f g2a|b3 g3:|")]
    [2, 1, 3]
    """
    sections: list[list[_Item]] = []
    for item in _bars(tune):
        if item[0].first or not sections:
            if sections and len(sections[-1]) == 1 and _short(sections[-1][0][0]) and sections[-1][0][1] is None:
                sections[-1].append(item)  # the bar after a lone pick-up: its section goes on
                continue
            sections.append([])
        sections[-1].append(item)
    return sections


def _part(bars: list[_Item], unit: Fraction) -> Part:
    """A part from its bars: once through each ending, or twice when a repeat (``:|``, ``::``) closes it."""
    body = [b for b, e, _ in bars if e is None]
    endings: dict[str, list[Bar]] = {}
    for b, e, _ in bars:
        if e is not None:
            endings.setdefault(e, []).append(b)
    repeated = bars[-1][2].startswith(":")
    passes = [body + e for e in endings.values()] or [body] * (2 if repeated else 1)
    everything = [b for b, _, _ in bars]
    pickup, last = _pickup(everything), everything[-1]
    closes = everything[0].duration + last.duration == last.expected if pickup else None
    return Part(tuple(len(p) - pickup for p in passes), len(everything) - pickup, closes, closes_long(last.text, unit))


def _changes(tune: str, name: str) -> tuple[str | None, tuple[str, ...]]:
    """The first value of field ``name``, and the later ones that name another meter (key) than it."""

    def same(a: str, b: str) -> bool:
        try:
            return key_name(a) == key_name(b) if name == "K" else parse_meter(a) == parse_meter(b)
        except HeaderError:
            return a == b

    values = [
        text.strip("[]")[2:].split("%")[0].strip()
        for kind, text in T.tokenize(tune)
        if kind in (T.FIELD, T.INLINE_FIELD) and text.strip("[")[:2] == f"{name}:"
    ]
    return (values[0] if values else None), tuple(v for v in values[1:] if not same(v, values[0]))


def tonic_of(key: str | None) -> str | None:
    """The tonic of a ``K:`` value, modes included; None for none, an unreadable key or no key.

    >>> [tonic_of(k) for k in ["Ador", "Dmix", "Dm", "F#m", "Bb", "none", "H", None, ""]]
    ['A', 'D', 'D', 'F#', 'Bb', None, None, None, 'C']
    """
    tonic = None if key is None else key_tonic(key)  # (as form-aware writing reads it)
    return None if tonic is None else tonic.root


def tune_form(tune: str) -> Form:
    r"""The form of one tune.

    A tune with no section bar line is one part; ``::`` ends one repeated part and starts the next:

    >>> f = tune_form("X:1\nM:2/4\nL:1/8\nK:Ador\nA2 B2|c2 d2|e2 d2|B2 A2|")
    >>> [p.passes for p in f.parts], f.bars, f.ends_on_tonic, f.chord_on_tonic, f.header_held
    ([(4,)], 4, True, None, True)
    >>> f = tune_form("X:1\nM:2/4\nL:1/8\nK:D\n|:DE FG|AB c2|de fe|d4::fg af|ge fd|ce dc|\"A7\"B2 A2:|")
    >>> [p.passes for p in f.parts], f.played, f.ends_on_tonic, f.last_chord, f.chord_on_tonic
    ([(4, 4), (4, 4)], 16, False, 'A7', False)

    ``[1`` and ``[2`` endings are one part; each is a section of its own in the simpler reading:

    >>> f = tune_form("X:1\nM:3/4\nL:1/4\nK:Dm\n|:D E F|G A B|[1 c B A|G2 E:|[2 c A F|D3|]")
    >>> [p.passes for p in f.parts], f.bars, f.played, f.sections, f.ends_on_tonic
    ([(4, 4)], 6, 8, (4, 2), True)

    A meter written twice, and a mid-tune key change:

    >>> f = tune_form("X:1\nM:4/4\nK:D\nM:6/8\nd2e f2g|a3 d3|\nK:A\nA3 A3|]")
    >>> f.meter_changes, f.key_changes, f.header_held, f.ends_on_tonic
    (('6/8',), ('A',), False, False)
    """
    sections = _sections(tune)
    merged: list[list[_Item]] = []
    for section in sections:
        ending = section[0][1]
        if merged and ending is not None and ending != "1":  # a later ending: the same part again
            merged[-1] += section
        else:
            merged.append(list(section))
    if len(merged) > 1 and len(merged[-1]) == 1 and _short(merged[-1][0][0]):
        merged.pop()  # the final note after the closing repeat (":|G2"): no part of its own
    unit = unit_of(tune)
    parts = tuple(_part(p, unit) for p in merged)
    bars = [b for s in sections for b, _, _ in s]
    pickups = sum(_pickup([b for b, _, _ in p]) for p in merged)
    judged = [b for b in bars if b.expected is not None]
    header = header_fields(tune)
    meter, meter_changes = _changes(tune, "M")
    symbols = [t.text for t in T.tokenize(tune) if t.kind == T.SYMBOL and _ROOT.match(t.text)]
    return Form(
        parts=parts,
        sections=tuple(len(s) - _pickup([b for b, _, _ in s]) for s in sections),
        judged=len(judged) - pickups,
        judged_correct=sum(1 for b in judged if b.correct) - pickups,
        pickups=pickups,
        key=header.get("K"),
        meter=meter,
        tonic=tonic_of(header.get("K")),
        last_note=last_melody_pitch(tune),
        last_chord=symbols[-1].strip('"') if symbols else None,
        meter_changes=meter_changes,
        key_changes=_changes(tune, "K")[1],
    )


@dataclass(frozen=True)
class FormWarning:
    """Something a musician would notice in a tune's form: what the app's orange badge says."""

    kind: str  # one of WARNINGS
    label: str  # a few words, for the badge
    sentence: str  # the plain sentence, for its help


WARNINGS = {  # kind -> what a summary calls it
    "short": f"under {MIN_BARS} bars",
    "irregular": "a part of an irregular length",
    "tonic": "ending away from the tonic",
    "changed": "key or meter changed",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def form_warnings(form: Form) -> list[FormWarning]:
    r"""What is wrong with a tune's form, each as a badge's label and sentence; empty for a well-formed tune.

    >>> [w.label for w in form_warnings(tune_form("X:1\nM:2/4\nL:1/8\nK:G\n|:GA Bc|d2 B2|c2 A2|G4:|"))]
    ['only 4 bars']
    >>> for w in form_warnings(tune_form("X:1\nM:2/4\nL:1/8\nK:D\nM:6/8\nDEF GAB|c3 d3|e3 f3|\"A\"e6|]")):
    ...     print(f"{w.label}: {w.sentence}")
    only 4 bars: The tune has 4 bars (a pick-up not counted): a whole tune has at least 8; most folk tunes have 16 or 32.
    ends away from the tonic: The last note is E, not D, the tonic of K:D; the last chord symbol is A, not a D chord.
    meter changed: The tune starts in M:2/4, but later it says M:6/8.
    """
    out = []
    if form.bars < MIN_BARS:
        out.append(
            FormWarning(
                "short",
                f"only {_plural(form.bars, 'bar')}",
                f"The tune has {_plural(form.bars, 'bar')} (a pick-up not counted): a whole tune has at least "
                f"{MIN_BARS}; most folk tunes have 16 or 32.",
            )
        )
    odd = [(i, p) for i, p in enumerate(form.parts, 1) if not p.regular]
    if odd and form.bars >= MIN_BARS:  # a fragment's one part is said by the warning above
        lengths = sorted({n for _, p in odd for n in p.passes if n not in REGULAR})
        label = f"a part of {lengths[0]} bars" if len(odd) == 1 else f"{len(odd)} parts of irregular length"
        told = "; ".join(f"part {i} has {' and then '.join(map(str, dict.fromkeys(p.passes)))} bars" for i, p in odd)
        out.append(
            FormWarning(
                "irregular",
                label,
                f"Of {_plural(len(form.parts), 'part')}, {told}: a part usually has "
                f"{', '.join(map(str, REGULAR[:-1]))} or {REGULAR[-1]} bars (a pick-up and the short bar that "
                "closes its part count as one).",
            )
        )
    if form.ends_on_tonic is False or form.chord_on_tonic is False:
        said = []
        if form.ends_on_tonic is False:
            said.append(f"the last note is {_NAMES[form.last_note or 0]}, not {form.tonic}, the tonic of K:{form.key}")
        if form.chord_on_tonic is False:
            said.append(f"the last chord symbol is {form.last_chord}, not a {form.tonic} chord")
        label = "ends away from the tonic" if form.ends_on_tonic is False else "last chord away from the tonic"
        out.append(FormWarning("tonic", label, "; ".join(said)[0].upper() + "; ".join(said)[1:] + "."))
    if not form.header_held:
        changed = [w for w, c in (("key", form.key_changes), ("meter", form.meter_changes)) if c]
        said = []
        if form.meter_changes:
            said.append(f"The tune starts in M:{form.meter}, but later it says M:{form.meter_changes[0]}.")
        if form.key_changes:
            said.append(f"The header says K:{form.key}, but the tune moves to K:{form.key_changes[0]}.")
        out.append(FormWarning("changed", f"{' and '.join(changed)} changed", " ".join(said)))
    return out


def form_score(form: Form) -> float:
    r"""How well-formed a tune is, from 0 to 4: at least 8 bars, the share of regular parts, ending on the tonic
    (note, and chord where there is one), the header's key and meter held. The app shows the best first.

    >>> form_score(tune_form("X:1\nM:2/4\nL:1/8\nK:G\n|:GA Bc|d2 B2|c2 A2|G4:|\n|:d2 B2|c2 A2|B2 A2|G4:|"))
    4.0
    >>> form_score(tune_form("X:1\nM:2/4\nL:1/8\nK:G\nK:D\nGA Bc|d2 B2|c2 A2|"))
    0.0
    """
    on_tonic = form.ends_on_tonic is True and form.chord_on_tonic is not False
    return float(form.bars >= MIN_BARS) + form.regular_share + float(on_tonic) + float(form.header_held)
