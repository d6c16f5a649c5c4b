"""A tune's state as meter-aware writing follows it, in named parts, and what the state allows next.

The parts, one concern each (:mod:`musicgen.compose.tracker` moves them on, a character at a time):

- :class:`Header`: the header's field letters so far and the values the tune must have;
- :class:`Sections`: what the bars and sections closed so far leave (the pick-up, what a short last bar
  owes the next section, whether the tune has an inner bar, whether it may or must end);
- :class:`Notes`: what the last tokens leave waiting (a note after a chord symbol or tie, an open tuplet's
  written length);
- :class:`~musicgen.compose.progress.Progress`: in form-aware writing, the parts so far and what the
  tune's end reads (its last note, its last chord symbol);
- the text under way (a :class:`~musicgen.abcnotation.tokens.Tokenizer`) and the time in the bar (a
  :class:`~musicgen.abcnotation.rhythm.RhythmState`), as the evaluation reads them.

The named parts and the text under way are values, replaced (never changed) as a token changes them (a tokenizer
is never fed in place: :func:`musicgen.compose.pending.feed`): a fork shares them and copies only the time in the bar.

:class:`TuneState` holds them with the phase and answers the rules' questions (may a bar line, a tie, a field line
come; is there room for a note; may the tune end); :class:`HeaderKey` and :class:`BodyKey` key what follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import NamedTuple, TypeVar

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import BODY_FIELDS, HEADER_FIELDS, TICK, value_completion
from musicgen.abcnotation.header import Meter
from musicgen.abcnotation.rhythm import RhythmState
from musicgen.compose.parts import Plan, meter_name, plan_for
from musicgen.compose.progress import Progress, Sizes, closing_sizes, least_ticks, long_ticks, sizes_of, view
from musicgen.compose.tonic import Tonic, tonic_of

HEADER, BODY, ENDED = "header", "body", "ended"
MAX_HEADER_LINES = 12  # a generated header holds at most this many fields
ZERO = Fraction(0)
_S = TypeVar("_S", bound="TuneState")


class Header(NamedTuple):
    """The header so far."""

    values: Mapping[str, str]  # header values the tune must have (a musician's choice of key: {"K": "Ador"})
    pinned: tuple[tuple[str, str], ...]  # the same values, sorted: their part of a state key
    fields: str = ""  # field letters so far, in order
    form: str | None = None  # the form asked for (a name in abcnotation.tunetypes.FORMS); None: no form rules


class Sections(NamedTuple):
    """What the bars and sections closed so far leave for the rules."""

    pickup: Fraction = ZERO  # the current section's pick-up (0: none)
    carry: Fraction = ZERO  # a lone pick-up before "|:", or a repeat's before its second ending: the next section's
    owed: Fraction = ZERO  # a short last bar of a section without pick-up: the next pick-up must be this long
    has_inner: bool = False  # an inner bar is done (and will stay inner)
    full_bars: int = 0  # full bars closed in the current section
    in_volta: bool = False  # the current bar follows an ending mark ([2, :|2)
    end_ok: bool = False  # the last bar closed may be the tune's last
    must_end: bool = False  # a short last bar was closed: only the blank line may follow


class Notes(NamedTuple):
    """What the last tokens leave waiting."""

    needs_note: bool = False  # a chord symbol or decoration waits for its note
    tuplet_ticks: int | None = None  # written length of the open tuplet's notes (None: not yet known)
    last: str = ""  # kind of the last token other than space and newline
    tied: bool = False  # the last note is tied to the next


class HeaderKey(NamedTuple):
    """What the way on depends on in the header (or before the body has a meter and a unit)."""

    phase: str
    written: str  # which of the fields X, T, M, L, K are written, sorted
    lines: int  # field lines so far, at most MAX_HEADER_LINES
    meter: Meter | None  # these three: the body's start depends on them
    unit: tuple[int, int] | None
    wrap: bool
    pinned: tuple[tuple[str, str], ...]
    form: str | None


class BodyKey(NamedTuple):
    """What the way on depends on in the body: lengths in ticks of the unit length, and what no rule
    reads in the state at hand left out (None) (see :meth:`musicgen.compose.tracker.Tracker.core`)."""

    phase: str
    bar: int | bool  # ticks of a whole bar while the way to the end still needs whole bars; else: the bar is empty
    room: int  # ticks left in the bar
    opens: bool  # the bar opens a section
    tuplet_left: int
    factor: tuple[int, int] | None  # the open tuplet's factor
    inner_next: bool | None  # no inner bar yet: closing this bar makes one
    pickup: int | None  # the section's pick-up, while it decides a debt for the next section
    owed: int | None  # what the pick-up of this opening bar must be
    short_end: bool  # a short bar may close the section (see TuneState.short_end_ok)
    has_inner: bool
    end_ok: bool | None  # in an empty bar: the last bar closed may be the tune's last
    must_end: bool
    wrap: bool
    needs_note: bool
    tuplet_ticks: int | None
    last: str  # the kind of the last token, tokens that no rule tells apart as one
    tied: bool
    form: tuple | None  # form-aware writing: the View and what the end reads (see Tracker.core); None: no form


class Setting(NamedTuple):
    """The meter, unit and required fields themselves, and whether the body has begun: part of a key where
    a field line may change them."""

    meter: Meter | None
    unit: tuple[int, int] | None
    pinned: tuple[tuple[str, str], ...]
    started: bool  # the body has a note: an M:, L: or K: line may come (see TuneState.may_field)


class StateKey(NamedTuple):
    """What the tracker's decisions depend on: states with equal keys allow the same characters."""

    text: str  # the text under way, what no rule reads blurred
    line_start: bool  # the text under way starts a line
    core: HeaderKey | BodyKey
    setting: Setting | None  # at the start of a music line (None elsewhere)
    more: object = None  # form-aware writing: what the text under way reads beyond the core (Tracker.state_key)


# make(NamedTupleType, values): a NamedTuple's own __new__ is a Python function call; what is made once a
# character (keys, the parts a token changes) is made as a tuple of its type instead, values in field order
make = tuple.__new__


def pair(x: Fraction | None) -> tuple[int, int] | None:
    return None if x is None else (x.numerator, x.denominator)


class TuneState:
    """One tune's state and the rules' questions about it (the tracker moves it on)."""

    def __init__(
        self, fields: Mapping[str, str] | None = None, form: str | None = None, draw_key: bool = False
    ) -> None:
        """``fields``: header values the tune must have (a musician's choice of key, say: {"K": "Ador"}); ``form``:
        the form its parts must take (a name in :data:`~musicgen.abcnotation.tunetypes.FORMS`), None for none;
        ``draw_key``: without a key in ``fields``, the one its header draws (:func:`.parts.drawn_key`)."""
        values = dict(fields or {})
        self.header = Header(values, tuple(sorted(values.items())), "", form)
        self.draws_key = draw_key and "K" not in values
        self.tok, self.rhythm = T.Tokenizer(), RhythmState()
        self.sections, self.notes, self.progress, self.phase = Sections(), Notes(), Progress(), HEADER
        self.ok = True  # every character so far kept the rules
        self.wrap = False  # near the length cap: the next bar line that can end the tune must
        self.plan: Plan | None = None  # form-aware writing: what the form asks of the parts (set as the body starts)
        self.draw = 0  # ... as the header's lines draw it (parts.header_draw)
        self.tonic: Tonic | None = None  # ... and the key's tonic
        self._base = 0  # the way's length from the start of the bar, worked out with core() (finish.way_offset)
        self._least = self._long = 0  # ticks of the shortest note and of the tune's last note at least (start_body)
        self._whole = Sizes(0, 0, 0)  # characters of a whole bar, and of the tune's last bar (start_body)
        self._core: HeaderKey | BodyKey | None = None  # the tracker's core(), kept until the state below changes
        self._key_at: tuple = (None, None, None)  # the tokenizer and core its state_key() was made for, and the key
        self._meter, self._length = None, ZERO  # the meter and its length, kept (Meter.length makes a Fraction)
        # kept answers, with what they were worked out for: room() and bar_ticks() (the duration, meter and unit
        # objects), the way to the end's reading of the state below the text under way (the core: finish._context)
        self._room_at, self._bar_at, self._tail_at = (None, None, False), (None, None, None, None), (None,)

    def fork(self: _S) -> _S:
        """An independent copy: to try characters without changing this one."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin.rhythm = self.rhythm.fork()  # the named parts are values, and so is the tokenizer: shared
        return twin

    def ticks(self, length: Fraction) -> int:
        """A length (whole notes) in ticks of the unit length: 192 to the unit (integer arithmetic: fast)."""
        u = self.rhythm.unit
        return length.numerator * TICK * u.denominator // (length.denominator * u.numerator)  # type: ignore[union-attr]

    def bar_ticks(self) -> tuple[int, int]:
        """Ticks left in the current bar, and in a whole bar (kept while the bar's length so far, the meter and the
        unit are the same objects: each is replaced, never changed, when it changes)."""
        r, known = self.rhythm, self._bar_at
        d, meter, u = r.duration, r.meter, r.unit
        if known[0] is d and known[1] is meter and known[2] is u:
            return known[3]
        full = meter.beats * TICK * u.denominator // (meter.unit * u.numerator)  # type: ignore[union-attr]
        self._bar_at = (d, meter, u, (full - d.numerator * TICK * u.denominator // (d.denominator * u.numerator), full))  # type: ignore[union-attr]
        return self._bar_at[3]

    def start_body(self) -> None:
        """The header is done: the form's plan in its meter, and the key's tonic (the meter and unit hold from
        here: form-aware writing changes neither)."""
        form, meter = self.header.form, self.rhythm.meter
        if form is not None and meter is not None and self.rhythm.unit is not None:
            self.plan, self.tonic = plan_for(form, meter_name(meter), self.draw), tonic_of(self.rhythm.key)
            self.progress = Progress(tonic=self.tonic is None)
            self._least = least_ticks(self.rhythm.unit)
            self._long = long_ticks(self._least)
            self._whole = sizes_of(self.bar_ticks()[1], self._least)

    def pitch_tonic(self) -> Tonic | None:
        """Form-aware writing, where the tune may end in this bar or the bar line under way opens one that may:
        the tonic, which pitches are read against there (a note on it, or off it); else None."""
        if self.plan is None or self.tonic is None or self.phase != BODY:
            return None
        form = self.core().form  # type: ignore[attr-defined]
        near = form[5] is not None or (form[7] is not None and self.tok.pending[:1] in "|:")
        return self.tonic if near else None

    def whole(self) -> Sizes:
        """Characters of notes (none shorter than the shortest, :meth:`least`) that fill a whole bar, and the tune's
        last bar (:class:`~musicgen.compose.progress.Sizes`; short where the part under way closes short)."""
        pickup = self.ticks(self.sections.pickup) if self.sections.pickup and not self.progress.lone else 0
        return closing_sizes(self._whole, pickup, self.bar_ticks()[1], self._least)

    def least(self) -> int:
        """Ticks of the shortest note form-aware writing writes (:data:`~musicgen.compose.progress.SHORTEST_NOTE`)."""
        return self._least

    def symbol(self) -> int:
        """Characters of the tonic chord symbol the way to the end writes once the tune has chord symbols."""
        return 2 + len(self.tonic.root) if self.tonic is not None and self.progress.chords else 0

    def can_end(self) -> bool:
        """Whether a blank line may end the tune now (after a closed bar, with an inner bar; in form-aware
        writing, once the form is whole, after a bar line that may end it, on the tonic)."""
        s, n, p, plan = self.sections, self.notes, self.progress, self.plan
        if plan is not None and not (p.bars == 0 and p.end_bar and p.ending and plan.complete(p.done, p.total)):
            return False
        return (
            self.phase == BODY
            and self.ok
            and not self.rhythm.duration
            and n.last == T.BAR
            and s.end_ok
            and s.has_inner
            and not n.tied
            and not n.needs_note
            and self.rhythm.tuplet_left == 0
        )

    def short_end_ok(self, bar: str = "|]") -> bool:
        """The current bar may close short with the section bar line ``bar``: as the last of a section that has
        a full bar, or as a lone pick-up before a repeat (``|:``), or as a second ending."""
        if self.rhythm.opens_section:
            return bar.endswith(":") or self.sections.in_volta
        return self.sections.full_bars > 0

    def inner_candidate(self) -> bool:
        """The last bar closed becomes inner once the current bar closes."""
        bars = self.rhythm.bars
        return bool(bars) and bars[-1].inner

    # --- header ---

    def field_ok(self, f: str, value: str, complete: bool) -> bool:
        """Header field ``f`` may come next with ``value`` (``complete``: as it stands, else as a start)."""
        seen = self.header.fields
        if not seen:
            allowed = f == "X"
        else:
            allowed = (
                f in HEADER_FIELDS
                and f != "X"
                and not (f in "ML" and f in seen)
                and (len(seen) < MAX_HEADER_LINES or f in "TMK" and f not in seen)
                and (f != "K" or ("T" in seen and "M" in seen))
            )
        rest = self.value_rest(f, value) if allowed else None
        return rest is not None and (rest == "" or not complete)

    def value_rest(self, f: str, value: str) -> str | None:
        """The shortest text that completes ``value`` of header field ``f`` (to its required value, if it has one)."""
        want = self.header.values.get(f)
        if want is None:
            return value_completion(f, value)
        return want[len(value) :] if want.startswith(value) else None

    # --- body ---

    def room(self) -> bool:
        """A timed token may still come in this bar."""
        d, meter, known = self.rhythm.duration, self.rhythm.meter, self._room_at  # (kept, as bar_ticks() is)
        if known[0] is not d or known[1] is not meter:
            if meter is None:
                return False
            known = self._room_at = (d, meter, d < self.bar_length())
        return known[2] and not self.sections.must_end

    def bar_length(self) -> Fraction:
        """The meter's bar length (kept: ``Meter.length`` makes a Fraction)."""
        meter = self.rhythm.meter
        if meter is not self._meter:
            self._meter, self._length = meter, meter.length  # type: ignore[union-attr]
        return self._length

    def detour_ok(self, text: str, line_start: bool) -> bool:
        """In form-aware writing, what takes no time comes once before what does: one space (not starting a
        line), one chord symbol before its note, no ``~``. (Where the rules keep the model from the notes it
        wants, it would otherwise wander through spaces and symbols that lead nowhere.)"""
        if text[0] == " ":
            return text == " " and not line_start and not self.notes.needs_note
        return text[0] == '"' and not self.notes.needs_note

    def final_bar_opens(self) -> bool:
        """In form-aware writing, nothing timed yet in a bar that may end the tune."""
        if self.plan is None or self.rhythm.duration:
            return False
        p = self.progress
        return view(self.plan, self.whole(), self.symbol(), p.bars, p.done, p.total).end is not None

    def may_newline(self) -> bool:
        return not self.notes.needs_note and self.rhythm.tuplet_left == 0

    def after_bar(self) -> bool:
        return not self.rhythm.duration and self.notes.last == T.BAR and not self.sections.must_end

    def may_tuplet(self) -> bool:
        return self.room() and self.rhythm.tuplet_left == 0

    def may_tie(self) -> bool:
        return self.notes.last in (T.NOTE, T.CHORD) and not self.notes.tied

    def may_field(self, f: str, value: str, complete: bool) -> bool:
        """A field line ``f`` with ``value`` may come in the body here.

        What was asked holds: a chosen key, meter or unit length (:attr:`Header.values`) is not changed
        mid-tune, and no ``M:``, ``L:`` or ``K:`` comes before the body's first note (a header written
        twice, ``M:4/4`` ... ``K:D`` then ``M:6/8``: the Nottingham files do it, and the model learnt it).
        """
        if f not in BODY_FIELDS:
            return False
        if self.plan is not None and (
            f != "P" or self.progress.bars or (self.notes.last != T.BAR and self.rhythm.notes)
        ):
            return False  # in form-aware writing, no meter, unit or key changes; a P: line opens a part (or the body)
        if f in "MLK":
            rest = self.value_rest(f, value) if self.rhythm.notes else None
        else:
            rest = value_completion(f, value)
        return (
            rest is not None
            and (rest == "" or not complete)
            and not self.rhythm.duration
            and not self.notes.tied
            and self.may_newline()
            and not self.sections.must_end
        )
