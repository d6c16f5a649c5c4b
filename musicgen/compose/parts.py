r"""How many bars a part has: the lengths the training tunes use in each meter, and a form's plan of its parts.

    plan = plan_for("model", "6/8", draw)  # two parts: the first of 8 bars, the second of 8 or 16 as drawn
    table = part_length_table(train)     # how PART_LENGTHS was made (see docs/decisions.md)

A *part* is the music between section bar lines (``|:``, ``:|``, ``||``, ``|]``, ...) or ``P:``
fields; a first and a second ending are one part. Its bars are counted once through, as a musician
counts them: a pick-up is no bar of its own, and with the short bar that closes its part it makes
one; the bars of the first ending count, the second's replace them.

:data:`PART_LENGTHS` holds, for each meter with at least :data:`MIN_PARTS_SEEN` parts in the
training tunes (and ``"*"``: all meters together), each part length's share of its parts (those
of at least 1%). Usual lengths are those of at least :data:`USUAL_SHARE` and at most
:data:`LONGEST_PART` bars (a longer stretch is two parts written without a section bar between).

>>> part_bars("X:1\nM:6/8\nK:G\nd|:B2c d2e|g3 G3|B2c d2e|1 g3 d3:|2 g3 G2||\nP:B\n|:e6|d6|c6|B6|]")
('6/8', [4, 4])
>>> usual_lengths("6/8"), usual_lengths("3/4"), usual_lengths("9/8"), usual_lengths("5/4")
((8,), (16,), (8,), (8,))
"""

from __future__ import annotations

import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import cache
from typing import NamedTuple, TypeVar

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import HeaderError, Meter, header_fields, parse_meter
from musicgen.abcnotation.rhythm import Bar, RhythmState, is_section_bar
from musicgen.abcnotation.tunetypes import FORMS, MIN_TUNE_BARS

_C = TypeVar("_C")  # what a draw picks among
_BAR_LINE = re.compile(r"[:|\[\]]+\s*$")  # the bar line that ends a bar's text
MIN_PARTS_SEEN = 30  # parts of a meter in the training tunes for a row of its own (else the pooled row)
USUAL_SHARE = 0.25  # a part length this common in its meter is a usual one: a quarter of its parts
LONGEST_PART = 16  # bars of the longest usual part
REPEATED_SHARE = 0.63  # repeated_share(training tunes, split as for PART_LENGTHS): tunes whose every part is repeated

# part_length_table(training tunes of ../shared/data/nottingham/ABC_cleaned, TrainConfig's split):
# meter -> (bars, share of that meter's parts), commonest first
PART_LENGTHS: dict[str, tuple[tuple[int, float], ...]] = {
    "*": ((8, 0.68), (16, 0.17), (4, 0.06), (32, 0.04), (1, 0.01), (2, 0.01), (6, 0.01), (12, 0.01)),
    "2/4": ((8, 0.84), (16, 0.16)),
    "3/4": ((16, 0.34), (32, 0.28), (4, 0.17), (8, 0.11), (1, 0.04), (6, 0.03), (24, 0.01), (48, 0.01), (17, 0.01)),
    "4/4": ((8, 0.7), (16, 0.14), (4, 0.08), (32, 0.03), (12, 0.01), (1, 0.01), (6, 0.01)),
    "6/8": ((8, 0.74), (16, 0.19), (2, 0.01), (1, 0.01), (32, 0.01), (4, 0.01), (5, 0.01)),
}


# key_share_table(the same training tunes): the K: values of at least 1% of them, commonest first
KEY_SHARES: tuple[tuple[str, float], ...] = (
    ("G", 0.35), ("D", 0.35), ("A", 0.12), ("C", 0.05), ("Am", 0.04), ("Em", 0.03), ("F", 0.02), ("Dm", 0.02),
    ("Bb", 0.01), ("Gm", 0.01),
)  # fmt: skip


def meter_name(meter: Meter) -> str:
    """The row of :data:`PART_LENGTHS` a meter reads (``C`` is 4/4, ``C|`` 2/2)."""
    return f"{meter.beats}/{meter.unit}"


def usual_lengths(meter: str) -> tuple[int, ...]:
    """The usual bars of a part in ``meter`` (a row's name, or an ``M:`` value), shortest first."""
    return tuple(sorted(n for n, share in _row(meter) if share >= USUAL_SHARE and n <= LONGEST_PART))


@cache
def _row(meter: str) -> tuple[tuple[int, float], ...]:
    """The row of :data:`PART_LENGTHS` for ``meter`` (a row's name, or an ``M:`` value)."""
    try:
        parsed = parse_meter(meter)
    except HeaderError:
        parsed = None
    return PART_LENGTHS.get(meter_name(parsed) if parsed else meter, PART_LENGTHS["*"])


class Plan(NamedTuple):
    """What a form asks of a tune's parts, once its meter is known (a NamedTuple: the way to the end's caches
    hash it at C speed)."""

    lengths: tuple[tuple[int, ...], ...]  # the bars each part may have, in order; the last serves every later part
    min_parts: int
    max_parts: int | None  # None: as many as the model writes
    min_bars: int  # bars of the whole tune at least (once through, as written)
    repeated: bool  # every part closes with a repeat (:|)

    def lengths_of(self, part: int) -> tuple[int, ...]:
        """The bars part number ``part`` (from 0) may have; none past the last part."""
        if self.max_parts is not None and part >= self.max_parts:
            return ()
        return self.lengths[min(part, len(self.lengths) - 1)]

    def complete(self, parts: int, bars: int) -> bool:
        """A tune of ``parts`` parts and ``bars`` bars has the whole form."""
        return parts >= self.min_parts and bars >= self.min_bars and (self.max_parts is None or parts <= self.max_parts)


def plan_for(form: str, meter: str, draw: int | None = None) -> Plan:
    """The plan of a form (a name in :data:`~musicgen.abcnotation.tunetypes.FORMS`) in ``meter``.

    Where a form leaves the bars to the meter, the first part has a usual length, and a later one that
    length or twice it (up to :data:`LONGEST_PART`). ``draw`` (a number fixed by the tune, from 0 to
    2**32: see :func:`header_draw`) picks one of these by its share of the training tunes' parts in
    the meter, and whether every part is repeated by :data:`REPEATED_SHARE`, as a musician would: the
    model rarely closes a part at the bar the first one did, so left a choice it runs nearly every
    second part on to twice the length, and, with no first and second endings to write, it seldom
    repeats a part. None: either length, repeats as the form has them.

    >>> plan_for("AABB", "4/4")
    Plan(lengths=((8,),), min_parts=2, max_parts=2, min_bars=16, repeated=True)
    >>> plan_for("model", "6/8").lengths, plan_for("model", "3/4").lengths, plan_for("ABC", "6/8").max_parts
    (((8,), (8, 16)), ((16,), (16,)), 3)
    >>> plan_for("model", "6/8", 0), plan_for("model", "6/8", 2**32 - 1).lengths  # 8: 74%, 16: 19%
    (Plan(lengths=((8,), (8,)), min_parts=2, max_parts=2, min_bars=16, repeated=True), ((8,), (16,)))
    """
    f = FORMS[form]
    if f.bars is not None:
        return Plan(((f.bars,),), f.parts, f.parts, max(MIN_TUNE_BARS, f.parts * f.bars), f.repeated)
    usual = usual_lengths(meter)
    later = tuple(sorted({*usual, *(2 * n for n in usual if 2 * n <= LONGEST_PART)}))
    repeated = f.repeated
    if draw is not None:
        later = (_drawn(later, meter, draw),) if len(later) > 1 else later
        repeated = repeated or (draw & 0xFFFF) / 0x10000 < REPEATED_SHARE  # (the low bits: apart from the length's)
    return Plan((usual, later), f.parts, f.parts, MIN_TUNE_BARS, repeated)


def plans_for(form: str, meter: str) -> tuple[Plan, ...]:
    """Every plan a tune of ``form`` in ``meter`` may draw (see :func:`plan_for`).

    >>> [(p.lengths, p.repeated) for p in plans_for("model", "4/4")][1:], len(plans_for("AB", "4/4"))
    ([(((8,), (8,)), True), (((8,), (16,)), False), (((8,), (16,)), True)], 1)
    """
    plan = plan_for(form, meter)
    if FORMS[form].bars is not None:
        return (plan,)
    return tuple(
        plan._replace(lengths=(plan.lengths[0], (n,)), repeated=repeated)
        for n in plan.lengths[1]
        for repeated in sorted({plan.repeated, True})
    )


def header_draw(line: str, before: int = 0) -> int:
    """The number a tune's header fixes for :func:`plan_for`, one line at a time (``before``: that of the lines
    before it). The same header draws the same plan: a walk, a branch and a rewrite of a tune agree.

    >>> header_draw("T:Hashing", header_draw("X:1")), header_draw("T:Hashing")
    (2739928771, 3576271679)
    """
    return zlib.crc32(line.encode() + b"\n", before)


def drawn_key(draw: int) -> str:
    """The key a tune's header lines so far draw (:func:`header_draw`), by the training tunes' shares.

    Form-aware writing asks for it where no key was chosen: a model trained on tunes moved into other
    keys spreads its own choice over them (Db, Eb), where the corpus it learnt from is mostly in G and D.

    >>> drawn_key(0), drawn_key(header_draw("T:Hashing", header_draw("X:1")))
    ('D', 'G')
    """
    return _pick(KEY_SHARES, zlib.crc32(b"K:", draw))  # (the draw mixed again: apart from the plan's)


def drawn_after(line: str, draw: int, form: str, meter: str | None, key: bool) -> Plan | str | None:
    """What completing header line ``line`` (after lines that drew ``draw``; "": they are complete, the ``K:`` line
    last) draws: the plan, after the ``K:`` line; the key (``key``: one is drawn), after another. A state key
    holds it: it blurs the titles drawn from.

    >>> drawn_after("K:G", 0, "model", "6/8", True).lengths, drawn_after("T:Hashing", header_draw("X:1"), "model", None, True)
    (((8,), (8,)), 'G')
    """
    after = header_draw(line, draw) if line else draw
    if line.startswith("K") or not line:
        return plan_for(form, meter, after) if meter else None
    return drawn_key(after) if key else None


def _drawn(lengths: tuple[int, ...], meter: str, draw: int) -> int:
    """The length of ``lengths`` that ``draw`` picks, each by its share in the meter's row."""
    row = dict(_row(meter))
    return _pick([(n, row.get(n, 0.0)) for n in lengths], draw)


def _pick(choices: Sequence[tuple[_C, float]], draw: int) -> _C:
    """The choice that ``draw`` (0 to 2**32) picks, each as often as its share of all the shares."""
    point, seen = draw / 2**32 * (sum(share for _, share in choices) or 1.0), 0.0
    for choice, share in choices:
        seen += share
        if point < seen:
            return choice
    return choices[-1][0]


# --- the table, from tunes ---------------------------------------------------------------------


def _bars(tune: str) -> list[tuple[Bar, str | None]]:
    """Every bar with the ending it is in (``"1"``, ``"2"``, or None)."""
    state, out, ending = RhythmState(), [], None
    for kind, text in T.tokenize(tune):
        before = len(state.bars)
        state.feed(T.Token(kind, text))
        out += [(b, ending) for b in state.bars[before:]]
        if kind == T.BAR:
            number = text.lstrip(":|[]")
            ending = number[:1] if number else None if is_section_bar(text) else ending
        elif kind == T.ENDING:
            ending = text[1:2]
        elif kind == T.FIELD and text.startswith("P:"):
            ending = None
    before = len(state.bars)
    out += [(b, ending) for b in state.finish()[before:]]
    return out


def _short(bar: Bar) -> bool:
    return bar.expected is not None and bar.duration < bar.expected


def _parts(tune: str) -> list[list[tuple[Bar, str | None]]]:
    """The tune's parts, each its bars with the ending each is in (a lone pick-up with the part it opens)."""
    sections: list[list[tuple[Bar, str | None]]] = []
    for bar, ending in _bars(tune):
        if bar.first or not sections:
            if sections and len(sections[-1]) == 1 and _short(sections[-1][0][0]) and sections[-1][0][1] is None:
                sections[-1].append((bar, ending))  # a lone pick-up opens the section after it
                continue
            sections.append([])
        sections[-1].append((bar, ending))
    parts: list[list[tuple[Bar, str | None]]] = []
    for section in sections:
        if parts and section[0][1] not in (None, "1"):  # a later ending: the same part again
            parts[-1] += section
        else:
            parts.append(section)
    return parts


def part_bars(tune: str) -> tuple[str | None, list[int]]:
    """The tune's meter (its first ``M:``, as a row name) and the bars of each part once through."""
    counts = []
    for part in _parts(tune):
        once = [b for b, e in part if e in (None, "1")]  # the bars before the endings, and the first ending's
        pickup = len(part) > 1 and _short(part[0][0])
        counts.append(len(once) - pickup)
    meter = next((parse_meter(t.text[2:]) for t in T.tokenize(tune) if t.kind == T.FIELD and t.text[:2] == "M:"), None)
    return (meter_name(meter) if meter else None), [n for n in counts if n > 0]


def all_repeated(tune: str) -> bool:
    r"""Every part of the tune is played twice: it closes with a repeat (``:|``) or has a second ending.

    >>> all_repeated("X:1\nM:2/4\nK:G\n|:G2 G2|G4:|\n|:D2 D2|1 D4:|2 G4|]"), all_repeated("X:1\nM:2/4\nK:G\nG4|G4||D4|G4|]")
    (True, False)
    """
    parts = [p for p in _parts(tune) if any(b.duration for b, _ in p)]
    return bool(parts) and all(any(e not in (None, "1") or _closes_repeat(b.text) for b, e in p) for p in parts)


def _closes_repeat(text: str) -> bool:
    """A bar's text ends with a bar line that closes a repeat (``:|``, ``::``, ``:||:``)."""
    line = _BAR_LINE.search(text)
    return line is not None and line[0].startswith(":")


def repeated_share(tunes: Iterable[str]) -> float:
    """:data:`REPEATED_SHARE` from ``tunes``: the share whose every part is played twice (two decimals)."""
    seen = [all_repeated(t) for t in tunes]
    return round(sum(seen) / max(len(seen), 1), 2)


def key_share_table(tunes: Iterable[str]) -> tuple[tuple[str, float], ...]:
    """:data:`KEY_SHARES` from ``tunes``: the ``K:`` values of their headers and their shares (at least 1%)."""
    keys = Counter(header_fields(tune).get("K") for tune in tunes)
    total = sum(keys.values())
    return tuple((k, round(c / total, 2)) for k, c in keys.most_common() if k and round(c / total, 2) >= 0.01)


def part_length_table(tunes: Iterable[str]) -> dict[str, tuple[tuple[int, float], ...]]:
    """:data:`PART_LENGTHS` from ``tunes``: each meter's part lengths and their shares (at least 1%)."""
    by_meter: dict[str, Counter[int]] = defaultdict(Counter)
    for tune in tunes:
        try:
            meter, counts = part_bars(tune)
        except HeaderError:
            continue
        if meter is not None:
            by_meter[meter].update(counts)
            by_meter["*"].update(counts)
    table = {}
    for meter, counts in sorted(by_meter.items()):
        total = sum(counts.values())
        if total >= MIN_PARTS_SEEN:
            rows = [(n, round(c / total, 2)) for n, c in counts.most_common()]
            table[meter] = tuple((n, share) for n, share in rows if share >= 0.01)
    return table
