r"""How many characters end a tune cleanly from a :class:`~musicgen.compose.tracker.Tracker`'s state.

>>> t = Tracker()
>>> all(t.step(ch) for ch in "X:1\nT:Reel\nM:4/4\nL:1/8\nK:D\nA2|d2fd")
True
>>> finish_cost(t)  # "5|C|]" and the blank line: the bar filled (d5), then one more bar (the tune needs an inner one)
7
>>> all(t.step(ch) for ch in "5|C|]\n"), finish_cost(t), t.step("\n"), finish_cost(t)
(True, 1, True, 0)
>>> t.step("A"), finish_cost(t)  # nothing comes after the end
(False, None)

:func:`finish_cost` is the length of one concrete way to the end within the
tracker's rules: close what is under way (a chord symbol, a chord, a note's
length, a bar line, a field line), finish an open tuplet, then close the bar with
``|]`` (short where a last bar may be, else filled), first adding a full bar with
``|`` while the tune has no inner bar yet, then the blank line. A decoder masks every character after
which this way is longer than the characters it may still write, and every
character after which there is none (None), so a stream never walks into a dead
end. Taking the way's first character lowers the count by at least one; the tests
check that on random tunes, which is what keeps some character always allowed.

In form-aware writing the way goes on, after the current bar, through the bars the form still
needs (whole bars ``C8|``, the parts closed, the last bar on the tonic): :func:`way_offset` is that
length from the start of the bar (:func:`musicgen.compose.progress.rest`), and
:func:`musicgen.compose.ending.form_tail` the way within the bar, counted from there.

Lengths are integer ticks (:data:`~musicgen.abcnotation.forms.TICK` to the unit length). Results
are kept by state (:meth:`~musicgen.compose.tracker.Tracker.state_key`) in :data:`MEMO`, less the
offset, so each state is worked out once per process (until the table fills and starts again).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import NamedTuple

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import (
    BAR_LINES,
    BODY_FIELDS,
    CHORD_NOTE,
    METERS,
    NOTE,
    SHORTEST_SUFFIX,
    SUFFIX_TICKS,
    TICK,
    TUPLET_UNREAD,
    UNITS,
    cheapest_note,
    completions,
    fill_chars,
    note_chars,
    suffix_completion,
    value_completion,
)
from musicgen.abcnotation.header import parse_meter, parse_unit
from musicgen.abcnotation.symbols import symbol_completion
from musicgen.compose.ending import Between, Fin, fin_after, fin_of, form_bound, form_tail
from musicgen.compose.pending import flushed
from musicgen.compose.progress import short_close
from musicgen.compose.state import BODY, ENDED, HEADER, StateKey
from musicgen.compose.tracker import Tracker
from musicgen.memo import Memo

PLAIN_BARS = frozenset(b for b in BAR_LINES if not any(c.isdigit() or c == "[" for c in b))  # no ending marks
AFTER_NOTE = 4  # fewest characters of any ending after a note: a bar line "|]" and the blank line
MAX_MEMO = 150_000  # states remembered (a few hundred bytes each); cleared when full
MEMO: Memo[StateKey, int | None] = Memo(MAX_MEMO)  # ways to the end by state, shared by every tracker


class Tuplet(NamedTuple):
    """An open tuplet's notes still to come: each takes ``q/p`` of its written length."""

    left: int  # notes still to come (0: no tuplet open)
    q: int
    p: int
    written: int | None  # the written length of its notes in ticks (None: any one length)


NO_TUPLET = Tuplet(0, 1, 1, None)


def finish_cost(t: Tracker) -> int | None:
    """Characters of one way to end the tune cleanly from ``t`` (0 once ended); None if there is none."""
    if not t.ok:
        return None
    if t.phase == ENDED:
        return 0
    base = way_offset(t)
    local = MEMO.compute(t.state_key(), lambda: _relative(t, base))
    return None if local is None else local + base


def way_offset(t: Tracker) -> int:
    """What :func:`finish_cost` counts beyond the tracker's state key: in form-aware writing, the way's length
    from the start of the current bar (:func:`musicgen.compose.progress.offset`); 0 otherwise. The memo and the
    rule tables keep costs less this, so that states a bar count apart share them."""
    if t.plan is None or t.phase != BODY:
        return 0
    if t._core is None:
        t.core()  # (works the offset out with the rest of the key)
    return t._base


def _relative(t: Tracker, base: int) -> int | None:
    cost = _header(t) if t.phase == HEADER else _body(t)
    return None if cost is None else cost - base


def _header(t: Tracker) -> int:
    p, fields, cost = t.tok.pending, t.header.fields, 0
    if p:  # a field line under way: its value, then the newline
        rest = t.value_rest(p[0], p[2:]) if len(p) > 1 else ":" + (t.value_rest(p[0], "") or "")
        cost += len(rest or "") + 1
        fields += p[0]
    for f in "TMK":  # the fields a header must have: "T:A\n", "M:C\n", "K:C\n", or the required values
        if f not in fields:
            cost += 3 + len(t.value_rest(f, "") or "")
    required = t.header.values
    meters = (required["M"],) if "M" in required else tuple(sorted(METERS))
    units = (required["L"],) if "L" in required else tuple(sorted(UNITS))
    form = t.header.form
    return cost + (body_bound(meters, units) if form is None else form_bound(form, meters, units))


def _body(t: Tracker) -> int | None:
    r, p = t.rhythm, t.tok.pending
    if r.meter is None or r.unit is None:
        return None
    if t.sections.must_end:
        return None if not t.sections.has_inner else 1 if not p and t.tok.at_line_start else 2
    if not p:
        return _tail_here(t)
    c0 = p[0]
    if c0 in "^_=ABCDEFGabcdefgz":
        if c0 == "z":
            return _timed(t, completions(p[1:]))
        letter, suffix = NOTE.fullmatch(p).group(2, 4)  # type: ignore[union-attr]
        cost = _timed(t, completions(suffix))
        return None if cost is None else cost + (not letter)
    if c0 == "[" and "]" in p and not p[1].isdigit():  # a closed chord: only its outer length may still grow
        close = p.index("]")
        first = CHORD_NOTE.match(p[1:close])[4]  # type: ignore[index]
        return _timed(t, ((0, SUFFIX_TICKS[first]),) if first else completions(p[close + 1 :]))
    return min((c for c in (_after(t, text) for text in _closings(t, p)) if c is not None), default=None)


def _closings(t: Tracker, p: str) -> list[str]:
    """Ways to finish text under way that is not a note, rest or closed chord."""
    c0 = p[0]
    if t.tok.at_line_start and c0 in BODY_FIELDS:
        return [(":" if len(p) == 1 else "") + (value_completion(c0, p[2:]) or "") + "\n"]
    if c0 in "|:":  # (form-aware writing writes no endings: |1, :|2, |[1 ...)
        bars = BAR_LINES if t.plan is None else PLAIN_BARS
        return [b[len(p) :] for b in bars if b.startswith(p)]
    if c0 == '"':  # the shortest way to a whole symbol (form-aware writing: or the tonic chord the end may need)
        shortest = [symbol_completion(p[1:]) + '"']  # type: ignore[operator]  (the text under way keeps the rules)
        if t.plan is None or t.tonic is None:
            return shortest
        close = ")" if p[1:2] == "(" else ""
        inner = p[2:] if close else p[1:]  # the root so far
        root = t.tonic.root
        if not inner:  # a root away from the tonic, and the tonic's
            return shortest + ["DC"[t.tonic.pc != 0] + close + '"', root + close + '"']
        return shortest + ([root[len(inner) :] + close + '"'] if root.startswith(inner) and inner != root else [])
    if c0 == "(":
        return ["3" if p == "(" else ""]
    if c0 == "[":  # a chord under way; a "[" alone may also start an ending
        if p == "[":
            return ["1", "C]"] if t.plan is None else ["C]"]
        if p[1].isdigit():
            return [""]
        notes = CHORD_NOTE.findall(p[1:])
        first = notes[0][3] if notes else ""
        if not notes or p.endswith(("^", "_", "=")):
            return ["C" + first + "]"]
        return [suffix_completion(first) + "]" if len(notes) == 1 else first[len(notes[-1][3]) :] + "]"]
    return [""]  # spaces, ties, tuplet marks, decorations: complete as they are


def _after(t: Tracker, text: str) -> int | None:
    """Characters of ``text`` and of the way on from there, or None if ``text`` breaks a rule."""
    twin = t.fork()
    if not all(twin.step(ch) for ch in text):
        return None
    pending = twin.tok.pending
    closed_chord = pending[:1] == "[" and "]" in pending and not pending[1:2].isdigit()  # its length may grow
    if pending and pending == t.tok.pending + text and not closed_chord:
        line_start = twin.tok.at_line_start
        tokens, twin.tok = flushed(twin.tok)
        for tok in tokens:  # the token is complete as it stands
            if not twin.take(tok, line_start):
                return None
            line_start = tok.kind == T.NEWLINE
    rest = finish_cost(twin)
    return None if rest is None else len(text) + rest


def _timed(t: Tracker, options: tuple[tuple[int, int], ...]) -> int | None:
    """Ending from a note, rest or chord whose length is under way: ``options`` are (characters still
    to write, written ticks) of the lengths it can take."""
    r, fixed = t.rhythm, t.notes.tuplet_ticks
    room, full = t.bar_ticks()
    left, factor = r.tuplet_left, r.next_factor
    q, p = factor.numerator, factor.denominator
    fin, least = (None, 0) if t.plan is None else (fin_after(t, t.tok.pending), t.least())
    best: int | None = None
    for extra, written in options:
        if best is not None and extra + AFTER_NOTE >= best:
            break
        if (left and (fixed not in (None, written) or written in TUPLET_UNREAD)) or written < least:
            continue
        span = written * q // p
        if span <= room:
            last = fin if fin is None or (written >= t._long and not left) else _off_tonic(fin)
            # (a tuplet with notes still to come after this one; else none: _tail reads no more of it)
            tuplet = tuple.__new__(Tuplet, (left - 1, q, p, fixed or written)) if left > 1 else NO_TUPLET
            rest = _tail(t, room - span, full, False, False, tuplet, last)
            if rest is not None and (best is None or extra + rest < best):
                best = extra + rest
    return best


def _tail_here(t: Tracker) -> int | None:
    """Ending from the current point, between tokens."""
    r, n = t.rhythm, t.notes
    room, full = t.bar_ticks()
    left = r.tuplet_left
    if left:
        f = r.next_factor
        tuplet = tuple.__new__(Tuplet, (left, f.numerator, f.denominator, n.tuplet_ticks))
    else:
        tuplet = NO_TUPLET  # (_tail reads no more of a tuplet that has no notes left)
    return _tail(t, room, full, t.tok.at_line_start, n.needs_note or n.tied, tuplet)


def _context(t: Tracker) -> tuple:
    """What :func:`_tail` reads of ``t`` below the text under way, kept on the tracker with the core it was worked
    out for (the core is made anew whenever that state changes): the owed ticks (None: none), whether closing
    the bar leaves an inner bar, whether it opens a section, whether it may close short, and in form-aware
    writing the bar's View, what the end reads, the shortest note's ticks and the way's offset."""
    core = t.core()
    ctx = t._tail_at
    if ctx[0] is core:
        return ctx
    s = t.sections
    owed = t.ticks(s.owed) if s.owed else None
    inner_after = s.has_inner or t.inner_candidate()
    if t.plan is None:
        ctx = (core, owed, inner_after, t.rhythm.opens_section, t.short_end_ok(), None, None, 0, 0)
    else:
        view = core.form[0]  # type: ignore[union-attr]
        pickup = t.ticks(s.pickup) if s.pickup and t.short_end_ok() and not t.progress.lone else 0
        short = short_close(pickup, t.bar_ticks()[1], t.least())  # (what a part's short last bar leaves out)
        ctx = (core, owed, inner_after, t.rhythm.opens_section, short, view, fin_of(t), t.least(), t._base)
    t._tail_at = ctx
    return ctx


def _tail(
    t: Tracker, room: int, full: int, line_start: bool, oblig: bool, tuplet: Tuplet, fin: Fin | None = None
) -> int | None:
    """Ending from between tokens with ``room`` ticks left in the bar, the notes of an open ``tuplet`` first
    (``fin``: what the end reads once the note under way is done, where it differs from ``t``'s)."""
    _, owed, inner_after, first, short_end, view, fin_now, least, base = _context(t)
    if tuplet.left:  # the tuplet's notes first, all of one written length
        left, q, p, written = tuplet
        best = None
        # (form-aware writing: the way does not end the tune on a tuplet's note, nor writes one too short)
        after = None if t.plan is None else _off_tonic(fin or fin_now)
        for w in (
            (written,)
            if written is not None
            else tuple(w for w in SHORTEST_SUFFIX if w >= least and w not in TUPLET_UNREAD)
        ):
            span = left * (w * q // p)
            rest = _tail(t, room - span, full, False, False, NO_TUPLET, after) if span <= room else None
            if rest is not None and (best is None or rest + left * note_chars(w) < best):  # type: ignore[operator]
                best = rest + left * note_chars(w)  # type: ignore[operator]
        return best
    can_end = room == full and not oblig and t.can_end()
    if owed is not None:
        owed -= full - room
    # (a Between made as a tuple: see state.make)
    at = tuple.__new__(
        Between, (room, full, room < full, oblig, line_start, can_end, inner_after, first, owed, short_end)
    )
    if view is None:
        return tail_cost(at)
    cost = form_tail(at, view, fin or fin_now, least)
    return None if cost is None else cost + base


def _off_tonic(fin: Fin) -> Fin:
    """``fin`` with its last note short, so off the tonic (``Fin._replace(tonic=False, long=False)``, made as a
    tuple: see state.make)."""
    return fin if not fin.tonic and not fin.long else tuple.__new__(Fin, (False,) + fin[1:5] + (False,))


@lru_cache(maxsize=1 << 16)
def tail_cost(at: Between) -> int | None:
    """Characters of one way to end a tune from between tokens ``at`` (see :class:`Between`).

    >>> tail_cost(Between(2 * TICK, 6 * TICK, True, False, False, False, True, False))  # |] and a blank line
    4
    >>> tail_cost(Between(2 * TICK, 6 * TICK, True, False, False, False, False, False))  # C2|C|] and a blank line
    8
    >>> tail_cost(Between(6 * TICK, 6 * TICK, False, False, True, True, True, False))  # the blank line alone
    1
    """
    room, full, timed, oblig, line_start, can_end, inner_after, first, owed, short_end = at
    if can_end:
        return 1 if line_start else 2
    need = oblig or not timed
    note = cheapest_note(room) if need else 0
    one = cheapest_note(full)
    end = 2 + 2  # "|]" and the blank line
    if note is None or one is None:
        return None
    if inner_after:
        if short_end:
            return note + end
        fill = fill_chars(room)  # a whole bar
        return None if fill is None or (need and fill == 0) else fill + end
    if not first:  # fill this bar (it becomes inner), then one more bar
        fill = fill_chars(room)
        return None if fill is None or (oblig and room == 0) else fill + 1 + one + end
    if owed is not None:  # the pick-up must be exactly as long as owed
        note = None if owed < 0 or (need and owed == 0) else fill_chars(owed)
        if note is None:
            return None
    whole = fill_chars(full)
    return None if whole is None else note + 1 + whole + 1 + one + end


@cache
def body_bound(meters: tuple[str, ...], units: tuple[str, ...]) -> int:
    """Characters that end a tune from the start of its body, the most over these meters and unit lengths
    (what header costs count for the music)."""
    fulls = [int(parse_meter(m).length / parse_unit(u) * TICK) for m in meters for u in units]  # type: ignore[union-attr]
    return max(tail_cost(Between(f, f, False, False, True, False, False, True)) for f in fulls)  # type: ignore[type-var]
