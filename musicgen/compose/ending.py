r"""The way to a tune's end in form-aware writing, from between tokens: the bar, its close, the tonic.

:func:`form_tail` is the form-aware counterpart of :func:`musicgen.compose.finish.tail_cost`: from
where a bar stands (:class:`Between`), what its close may do (a
:class:`~musicgen.compose.progress.View`) and what the end reads (:class:`Fin`), the characters of one
way to the end, less the way's length from the start of the bar (the tracker's offset, which the
rule tables leave out so that bars of a part share them). The way fills the bar and closes it
(going on, closing the part, or closing the tune on the tonic), or closes it short (a pick-up, or the
last bar of a part that opened with one: it completes the pick-up). No note of it is shorter than a sixteenth note
(:func:`~musicgen.compose.progress.least_ticks`).

>>> v = View(plain=None, part=True, repeat=False, whole=True, cont=None, end=-6, now=None)  # a tune's last bar
>>> at = Between(4 * TICK, 4 * TICK, False, False, False, False, True, False)
>>> form_tail(at._replace(short_end=3 * TICK), v, NO_FIN, TICK // 4), form_tail(at._replace(short_end=0), v, NO_FIN, TICK // 4)
(-1, 0)

That is "C|]" and the blank line (five characters), the bar short by its section's pick-up of three quarter
notes, where a whole bar "C4|]" and it would take six (in L:1/4: the tune's last note lasts at least a
quarter note, :data:`~musicgen.compose.progress.END_NOTE`); without a pick-up, the last bar is a whole one.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import NamedTuple

from musicgen.abcnotation.forms import NOTE, SHORTEST_SUFFIX, TICK
from musicgen.abcnotation.header import parse_meter, parse_unit
from musicgen.compose.parts import meter_name, plans_for
from musicgen.compose.progress import (
    View,
    fill_end,
    fill_least,
    least_ticks,
    rest,
    sizes_of,
)
from musicgen.compose.tonic import chord_touches, sounds_tonic
from musicgen.compose.tracker import Tracker


class Between(NamedTuple):
    """Where a tune stands between tokens, for the way to its end (lengths in ticks of the unit length)."""

    room: int  # ticks left in the bar
    full: int  # ticks of a whole bar
    timed: bool  # the bar holds a note
    oblig: bool  # a note must come (after a chord symbol or tie)
    line_start: bool
    can_end: bool  # a blank line may come now
    inner_after: bool  # closing this bar leaves an inner bar behind
    first: bool  # this bar opens a section
    owed: int | None = None  # ticks still to write for this pick-up to complete the short bar before it
    short_end: int | bool = True  # this bar may end the tune short (form-aware writing: leaving out these ticks)


class Fin(NamedTuple):
    """What the tune's end reads, for the way to it."""

    tonic: bool  # the last sounding note is the tonic
    touched: bool  # a bare tonic letter no longer sounds the tonic in this bar: the way writes its accidental
    debt: bool  # the last chord symbol is not on the tonic: the way writes one that is, before the last note
    symbol: int  # characters of that symbol
    waiting: bool = False  # a chord symbol waits for its note (no other comes before it)
    long: bool = True  # the last note lasts at least END_NOTE (where the bar may close a part: else True)

    @property
    def ending(self) -> bool:
        return self.tonic and not self.debt


NO_FIN = Fin(True, False, False, 0)  # where the end reads nothing (no tonic, or no end in reach)
NO_FIN_SHORT = NO_FIN._replace(long=False)  # ... and the bar may close a part, its last note short so far


@cache
def short_note(room: int, least: int) -> int | None:
    """Characters of the shortest note of at least ``least`` ticks that leaves the bar short (None: none does)."""
    return min((1 + len(s) for t, s in SHORTEST_SUFFIX.items() if least <= t < room), default=None)


def fin_of(t: Tracker) -> Fin:
    """What the tune's end reads now (where it matters: see :meth:`Tracker.core`)."""
    p, tonic, form = t.progress, t.tonic, t.core().form  # type: ignore[attr-defined]
    long = form[9] is not False
    if tonic is None or form[5] is None:
        return NO_FIN if long else NO_FIN_SHORT
    return Fin(p.tonic, p.touched, p.debt, 2 + len(tonic.root), t.notes.needs_note, long)


def fin_after(t: Tracker, pending: str) -> Fin:
    """What the tune's end reads once the note, chord or rest under way (``pending``) is done."""
    p, tonic, c0, form = t.progress, t.tonic, pending[:1], t.core().form  # type: ignore[attr-defined]
    # (a note or chord under way is long or not by the length the way gives it: finish._timed; a rest leaves the last)
    long = c0 != "z" or form[9] is not False
    if tonic is None or form[5] is None:
        return NO_FIN if long else NO_FIN_SHORT
    # (as fin_of(t), nothing waiting: a Fin made as a tuple, fields tonic, touched, debt, symbol, waiting, long)
    symbol = 2 + len(tonic.root)
    if c0 == "z":
        return _fin((p.tonic, p.touched, p.debt, symbol, False, long))
    if c0 == "[":
        return _fin((False, chord_touches(pending, tonic, p.touched), p.debt, symbol, False, True))
    acc, letter = NOTE.fullmatch(pending).group(1, 2)  # type: ignore[union-attr]
    if not letter:  # an accidental alone: the way writes the tonic's letter after its own accidental, else another
        return _fin((acc == tonic.mark, p.touched, p.debt, symbol, False, True))
    return _fin(sounds_tonic(pending, tonic, p.touched) + (p.debt, symbol, False, True))


def _fin(values: tuple) -> Fin:
    return tuple.__new__(Fin, values)


@lru_cache(maxsize=1 << 16)
def form_tail(at: Between, view: View, fin: Fin, least: int) -> int | None:
    """Characters of one way to the end from between tokens ``at``, less the way's length from the start of the
    bar (see the module docstring); ``least``: ticks of the shortest note; None: no way."""
    room, full, timed, oblig, line_start, can_end, _, first, owed, short_end = at
    best = []
    if can_end and view.now is not None:
        best.append((1 if line_start else 2) + view.now)
    need = oblig or not timed
    if first and owed is not None:  # the pick-up must complete the short bar before it
        fill = None if owed < 0 or (need and owed == 0) else fill_least(owed, least)
        return min(best + ([] if fill is None else [fill + 1]), default=None)
    fill = fill_least(room, least)
    if fill is not None and not (need and fill == 0) and view.plain is not None:
        best.append(fill + 1 + view.plain)
    # a part that opened with a pick-up closes with the short bar that completes it (short_end: the pick-up's ticks)
    closing = room - short_end if short_end and not first else room
    fill = fill_end(closing, least)  # (the part closes on a note at least END_NOTE long: the way's, or the last)
    if (
        fill is not None
        and not (need and fill == 0)
        and (fill or fin.long)
        and view.cont is not None
        and not view.whole
    ):
        best.append(fill + 2 + view.cont)
    if view.whole:  # the part that makes the form whole closes on the tonic, a note at least END_NOTE long
        fill = fill_end(closing, least)
        end = None if fill is None or (need and fill == 0) else _ending(fill, fin)
        if view.cont is not None and end is not None:
            best.append(fill + end + 2 + view.cont)  # type: ignore[operator]
        if view.end is not None and end is not None:
            best.append(fill + end + 4 + view.end)  # type: ignore[operator]
    if room and first:  # a pick-up: no bar of its own
        note = short_note(room, least) if need else 0
        if note is not None:
            best.append(note + 1)
    return min(best, default=None)


def _ending(wrote: int, fin: Fin) -> int | None:
    """Characters the tune's last bar adds to end on the tonic, after ``wrote`` characters of its last notes."""
    if wrote:  # the last of them on the tonic, a tonic chord symbol before it (where another waits: none)
        return None if fin.debt and fin.waiting else fin.touched + (fin.symbol if fin.debt else 0)
    return 0 if fin.ending else None


@cache
def form_bound(form: str, meters: tuple[str, ...], units: tuple[str, ...]) -> int:
    """Characters that end a tune of ``form`` from the start of its body, the most over these meters and units
    and the plans a tune may draw."""
    costs = []
    for m in meters:
        meter = parse_meter(m)
        for u in units:
            unit = parse_unit(u)
            whole = sizes_of(int(meter.length / unit * TICK), least_ticks(unit))  # type: ignore[union-attr]
            costs += [rest(plan, whole, 0, 0, 0, 0) or 0 for plan in plans_for(form, meter_name(meter))]  # type: ignore[union-attr]
    return max(costs)
