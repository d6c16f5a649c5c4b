r"""Where a tune stands in its form, for form-aware writing: its parts so far and what its end needs.

A :class:`Progress` (a value, replaced as tokens change it) counts the bars of the part under way
and the parts done, and keeps what the tune's end reads: the last sounding note is the tonic of
``K:``, the last chord symbol (where the tune has one) has the tonic for its root; and whether the last
note lasts long enough (:data:`END_NOTE`) for a part to close on it. :func:`close`
says what a bar line does to it, or that the form forbids it; :func:`rest` counts the characters
of one way to the end from the start of a bar (whole bars ``C8|``, parts closed with ``||``, the
last bar short where it may be, a tonic chord symbol in it where the tune has chord symbols).

>>> from musicgen.compose.parts import plan_for
>>> plan = plan_for("AABB", "4/4")
>>> p, must = close(plan, Progress(bars=7, long=True), ":|", True, True, False)  # the 8th bar closes the first part
>>> p.bars, p.done, p.total, must
(0, 1, 8, False)
>>> close(plan, Progress(bars=7), ":|", True, True, False) is None  # ... on a short note: not there
True
>>> close(plan, Progress(bars=6), ":|", True, True, False) is None  # a part of 7 bars
True
>>> close(plan, Progress(), ":|:", False, True, False) is None  # a part opened on a repeat of nothing
True
>>> rest(plan, Sizes(2, 2, 2), 0, 0, 1, 8)  # the second part: 7 bars of "C8|", then "C2|]" and the blank line
27

A :class:`View` is what the way to the end reads of the progress at the current bar: how many
characters each way of closing it adds to or takes from :func:`offset`, the way's length from the
start of the bar. Views repeat from bar to bar within a part, so states that differ only in the
bar count share their rule tables (see :meth:`musicgen.compose.tracker.Tracker.core`).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache, lru_cache
from typing import NamedTuple

from musicgen.abcnotation.forms import END_BARS, SHORTEST_SUFFIX, TICK
from musicgen.compose.parts import Plan
from musicgen.compose.tonic import Tonic

SHORTEST_NOTE = Fraction(1, 16)  # of a whole note: the shortest note form-aware writing writes (tuplets aside)


def least_ticks(unit: Fraction) -> int:
    """Ticks of the shortest note form-aware writing writes, in a tune of unit length ``unit``.

    >>> least_ticks(Fraction(1, 8)), least_ticks(Fraction(1, 4)), least_ticks(Fraction(1, 16))
    (96, 48, 192)
    """
    return int(SHORTEST_NOTE / unit * TICK)


@cache
def _fills(least: int, size: int) -> tuple[int, ...]:
    """Fewest characters of notes of at least ``least`` ticks lasting exactly k sixteenths of the unit (10**6: none)."""
    grid = TICK // 16
    values = [(t // grid, 1 + len(s)) for t, s in SHORTEST_SUFFIX.items() if t >= least]
    best = [0] + [10**6] * size
    for k in range(1, size + 1):
        best[k] = min((c + best[k - v] for v, c in values if v <= k), default=10**6)
    return tuple(best)


def fill_least(ticks: int, least: int) -> int | None:
    """Fewest characters of notes of at least ``least`` ticks lasting exactly ``ticks``; None when none can.

    >>> fill_least(3 * TICK, 96), fill_least(TICK // 4, 96), fill_least(TICK // 2, 96)
    (2, None, 2)
    """
    grid = TICK // 16
    if ticks < 0 or ticks % grid:
        return None
    k = ticks // grid
    best = _fills(least, max(256, 1 << k.bit_length()))[k]
    return best if best < 10**6 else None


END_NOTE = Fraction(1, 4)  # of a whole note: the tune's last note lasts at least this (94% of the training tunes')


def long_ticks(least: int) -> int:
    """Ticks of the shortest last note of a tune (:data:`END_NOTE`), from those of the shortest note."""
    return least * int(END_NOTE / SHORTEST_NOTE)


@cache
def fill_end(ticks: int, least: int) -> int | None:
    """Fewest characters of notes of at least ``least`` ticks lasting exactly ``ticks``, the last of them at least
    :func:`long_ticks` (the tune's last note); 0 for no time; None when none can.

    >>> fill_end(4 * TICK, 96), fill_end(TICK, 96), fill_least(TICK, 96), fill_end(0, 96)  # C4; an eighth is too short
    (2, None, 1, 0)
    """
    if ticks == 0:
        return 0
    long = long_ticks(least)
    costs = [(fill_least(ticks - t, least), 1 + len(s)) for t, s in SHORTEST_SUFFIX.items() if long <= t <= ticks]
    return min((a + b for a, b in costs if a is not None), default=None)


@cache
def short_close(pickup: int, full: int, least: int) -> int:
    """The ticks a part's last bar leaves out where the part opened with a ``pickup`` (ticks; 0: none) in bars of
    ``full`` ticks: the pick-up's, so that the two make one bar, as 85% of the training tunes' parts that open
    with a pick-up close. 0 (the last bar whole) where one note cannot fill the short bar in as few characters as
    the way to the end counts a part's last bar (:class:`Sizes`: "G5" in 6/8 after an eighth's pick-up).

    >>> short_close(TICK, 6 * TICK, 96), short_close(TICK // 2, 8 * TICK, 96), short_close(0, 6 * TICK, 96)
    (192, 0, 0)
    """
    suffix = SHORTEST_SUFFIX.get(full - pickup) if pickup else None
    if suffix is None or full - pickup < long_ticks(least):
        return 0
    return pickup if 1 + len(suffix) <= sizes_of(full, least).whole else 0


@cache
def closing_sizes(whole: Sizes, pickup: int, full: int, least: int) -> Sizes:
    """The :class:`Sizes` the way to the end counts in a part that opened with a ``pickup`` (ticks) in bars of ``full``
    ticks: where it closes short (:func:`short_close`), its last bar, and the tune's, is that one note.

    >>> whole = sizes_of(4 * TICK, 48)  # 4/4 in L:1/4: C4|, C4| and a tune's last bar short as C|
    >>> whole, closing_sizes(whole, TICK, 4 * TICK, 48)  # after a quarter's pick-up: C3|
    (Sizes(whole=2, last=2, short=1), Sizes(whole=2, last=2, short=2))
    """
    if not short_close(pickup, full, least):
        return whole
    c = 1 + len(SHORTEST_SUFFIX[full - pickup])
    return whole._replace(last=c, short=c)


class Sizes(NamedTuple):
    """Characters of a bar, as the way to the end writes it (notes of at least the shortest note)."""

    whole: int  # a whole bar
    last: int | None  # the tune's last bar, whole: its last note at least END_NOTE long (None: it cannot be)
    short: int | None  # the tune's last bar, short: one note at least END_NOTE long (None: none fits)


@cache
def sizes_of(full: int, least: int) -> Sizes:
    """The :class:`Sizes` of a bar of ``full`` ticks.

    >>> sizes_of(8 * TICK, 96), sizes_of(2 * TICK, 48)  # 4/4 in L:1/8 (C8|, C8|, C2|); 2/4 in L:1/4 (C2|, C2|, C|)
    (Sizes(whole=2, last=2, short=2), Sizes(whole=2, last=2, short=1))
    """
    long = long_ticks(least)
    short = min((1 + len(s) for t, s in SHORTEST_SUFFIX.items() if long <= t < full), default=None)
    return Sizes(fill_least(full, least) or 0, fill_end(full, least), short)


class Progress(NamedTuple):
    """A tune's form so far, and what its end reads."""

    bars: int = 0  # bars counted in the part under way (a pick-up not counted)
    done: int = 0  # parts closed
    total: int = 0  # bars of the parts closed
    end_bar: bool = False  # the last bar line closed a part and may end the tune (|], ||, :|, :||)
    tonic: bool = False  # the last sounding note is the tonic, at least END_NOTE long (True where the key has none)
    touched: bool = False  # the tonic's letter has met another accidental in this bar (see sounds_tonic)
    chords: bool = False  # the tune has a chord symbol with a root
    debt: bool = False  # the last such symbol's root is not the tonic
    lone: bool = False  # the part under way opened with a lone pick-up (d|:), which it has but once
    long: bool = False  # the last note (or chord) lasts at least END_NOTE, outside a tuplet: a part may close on it

    @property
    def ending(self) -> bool:
        """The tune may end here as far as its last note and chord symbol go."""
        return self.tonic and not self.debt


class View(NamedTuple):
    """What the way to the end reads of the progress at the current bar: characters each way of closing it
    adds to the way's length from the start of the bar (:func:`offset`); None where the form forbids it."""

    plain: int | None  # closed by a plain bar line, the part going on
    part: bool  # a section bar line may close the part with this bar
    repeat: bool  # ... only a repeat (:|)
    whole: bool  # ... and the form is whole with it: it closes on the tonic (the tune may end there)
    cont: int | None  # closing the part, another to follow
    end: int | None  # closing the part and the tune (the bar line, the blank line and the ending's notes aside)
    now: int | None  # right after a bar line: the tune may end at once (the blank line aside)


@lru_cache(maxsize=1 << 14)
def rest(plan: Plan, whole: Sizes, symbol: int, bars: int, done: int, total: int) -> int | None:
    """Characters of one way to the end from the start of a bar, ``bars`` bars into part ``done`` (from 0) with
    ``total`` bars in the parts before: each bar ``whole.whole`` characters of notes and a bar line, the part
    closed with two (``||``, ``:|``), the tune with ``|]`` or ``:|`` and the blank line, its last bar ``whole.last``
    (or ``whole.short``, where it may be short), and ``symbol`` characters of a tonic chord symbol in it. None: no
    way."""
    best = None
    for n in plan.lengths_of(done):
        if n <= bars:
            continue
        k = n - bars  # bars still to write in this part
        before = (k - 1) * (whole.whole + 1)
        if plan.complete(done + 1, total + n):  # the tune may end here: it does (another part costs more)
            ends = (whole.last, whole.short if k >= 2 or bars else None)  # a short last bar needs a full one
            last = min((c for c in ends if c is not None), default=None)
            if last is None:
                continue
            cost = before + last + 4 + symbol
        else:
            after = rest(plan, whole, symbol, 0, done + 1, total + n)
            if after is None:
                continue
            cost = before + (whole.last or whole.whole) + 2 + after  # (its last note long)
        best = cost if best is None else min(best, cost)
    return best


def offset(plan: Plan, whole: Sizes, symbol: int, p: Progress) -> int:
    """The way's length from the start of the current bar (:func:`rest`), 0 where the tune can only end now."""
    r = rest(plan, whole, symbol, p.bars, p.done, p.total)
    return 0 if r is None else r


@lru_cache(maxsize=1 << 14)
def view(plan: Plan, whole: Sizes, symbol: int, bars: int, done: int, total: int) -> View:
    """The :class:`View` of the bar that comes after ``bars`` counted bars of part ``done``."""
    base = rest(plan, whole, symbol, bars, done, total)
    base = 0 if base is None else base
    n = bars + 1  # the current bar, once closed
    lengths = plan.lengths_of(done)
    plain = None
    if any(m > n for m in lengths):
        after = rest(plan, whole, symbol, n, done, total)
        plain = None if after is None else after - base
    part = n in lengths
    makes_whole = part and plan.complete(done + 1, total + n)
    cont = end = None
    if part:
        if makes_whole:
            end = -base
        if plan.lengths_of(done + 1):
            after = rest(plan, whole, symbol, 0, done + 1, total + n)
            cont = None if after is None else after - base
    now = -base if bars == 0 and plan.complete(done, total) else None
    return View(plain, part, plan.repeated, makes_whole, cont, end, now)


@lru_cache(maxsize=1 << 16)  # (pure: a tune set meets a few thousand progresses)
def form_key(plan: Plan, p: Progress, tonic: Tonic | None, whole: Sizes, least: int, at_bar: bool) -> tuple[tuple, int]:
    """A state key's part for the form, and the way's length from the start of the bar (:func:`offset`).

    The key holds the :class:`View` of this bar and of the bars its bar line may open (the way to the end
    from a character of theirs is in the state's rule table), whether the tune has a chord symbol, the
    characters of a tonic one, the shortest note's ticks (``least``), where the tune may end in this bar,
    what its end reads (the last note's, the chord symbol's; ``at_bar``: right after a bar line), and where
    it may end in the next, whether the last chord symbol is off the tonic. The tonic
    itself is no part of it: there, the text under way and the rule tables read pitches against the tonic
    (:func:`musicgen.compose.pending.key_text`, :meth:`musicgen.compose.constrain.Rules.table`).
    """
    symbol = 2 + len(tonic.root) if tonic is not None and p.chords else 0  # (the tonic chord the way writes)
    here = view(plan, whole, symbol, p.bars, p.done, p.total)
    plain = view(plan, whole, symbol, p.bars + 1, p.done, p.total) if here.plain is not None else None
    part = view(plan, whole, symbol, 0, p.done + 1, p.total + p.bars + 1) if here.part else None
    ends = here.end is not None or here.now is not None
    later = any(v is not None and (v.end is not None or v.now is not None) for v in (plain, part))
    fin = (p.tonic, p.touched, p.debt, p.end_bar and at_bar) if ends else None
    debt = p.debt if later and not ends else None  # (a bar that may end the tune starts afresh but for this)
    sym = 2 + len(tonic.root) if tonic is not None and (ends or later or not p.chords) else None
    lone = p.lone  # (at a part's start, and where its last bar closes short: see Tracker._bar)
    long = p.long if here.part else None  # (where this bar may close the part: on a long note)
    return (here, plain, part, p.chords, sym, fin, least, debt, lone, long), offset(plan, whole, symbol, p)


def close(
    plan: Plan, p: Progress, bar: str, counted: bool, section: bool, wrap: bool, pickup: bool = False
) -> tuple[Progress, bool] | None:
    """The progress after bar line ``bar`` closes the current bar (``counted``: a full bar, or a short one that
    closes its part; ``pickup``: a short bar that opens its section; else nothing), and whether the tune must
    end right after it; None: the form forbids it. ``wrap``: near the length cap, a part that can end the
    tune does."""
    if not counted:
        if section and (p.bars or bar[0] == ":"):
            return None  # right after a plain bar line the part would close unseen; a repeat (:|:) would repeat nothing
        if pickup and p.lone:
            return None  # a part has one pick-up: after a lone one (d|:), its first bar is a whole one
        if section and pickup:  # a lone pick-up before a repeat (d|:): once at the start of a part
            return None if bar not in ("|:", "||:") else (p._replace(lone=True, end_bar=False), False)
        return (p._replace(end_bar=bar in END_BARS) if section else p), False
    n = p.bars + 1
    lengths = plan.lengths_of(p.done)
    if not section:
        return (tuple.__new__(Progress, (n,) + p[1:]), False) if any(m > n for m in lengths) else None
    if n not in lengths or (plan.repeated and not bar.startswith(":")):
        return None
    done, total = p.done + 1, p.total + n
    complete, more = plan.complete(done, total), bool(plan.lengths_of(done))
    if not complete and not more:
        return None
    if complete and not p.ending:
        return None  # the part that makes the form whole ends on the tonic: the tune may end with it
    if not p.long:
        return None  # a part closes on a note at least END_NOTE long, as 79% of the training tunes' parts do
    must = complete and (not more or wrap)
    if must and bar not in END_BARS:
        return None
    return p._replace(bars=0, done=done, total=total, end_bar=bar in END_BARS, lone=False), must
