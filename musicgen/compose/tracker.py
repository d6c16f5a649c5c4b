r"""Where a tune being written stands after each character: the state behind meter-aware decoding.

>>> t = Tracker()
>>> all(t.step(ch) for ch in "X:1\nT:Jig\nM:6/8\nK:G\nd|B2c d2e|B2c d2")
True
>>> t.meter, str(t.unit), str(t.bar_time), t.phase, t.finish_cost()
(Meter(beats=6, unit=8), '1/8', '3/8', 'body', 4)
>>> def then(text): twin = t.fork(); return all(twin.step(c) for c in text)
>>> then("|A"), then(":|\n"), then("2|")  # 5/8 of the bar: it may only end the section (with the 1/8 pick-up)
(False, True, False)

A :class:`Tracker` feeds each character to a :class:`~musicgen.abcnotation.tokens.Tokenizer`
and each finished token to a :class:`~musicgen.abcnotation.rhythm.RhythmState`, so it knows the
meter, unit length and time used in the current bar exactly as the evaluation
reads them. What it adds are the rules of a well-formed tune, checked as each
token completes and on the text still under way (a header line, a chord symbol,
a chord, a note's length, a bar line):

- the header: ``X:`` first, then fields of :data:`~musicgen.abcnotation.forms.HEADER_FIELDS`
  with valid values (or the values required of it), ``T:`` and ``M:`` before ``K:``,
  which ends it;
- notes, rests and chords use the lengths of :mod:`musicgen.abcnotation.forms` and never
  overfill the bar; a ``(2``/``(3``/``(4`` tuplet's notes share one written length
  and stay in one bar; a chord symbol or ``~`` waits for its note; a tie follows a
  note. Slurs and broken rhythm (``>``), which the Nottingham tunes hardly use, are
  not written;
- a bar line closes a full bar. A short bar is allowed as the first of a section
  (a pick-up), or closed by a section bar line (``:|``, ``||``, ...) as the last of
  one that has a full bar: it completes the section's pick-up to a whole bar (a
  lone pick-up before ``|:`` counts for the section after it, a repeat's for its
  second ending), or, in a section without pick-up, the next section's pick-up
  completes it, or the tune ends there. A section is never short bars only: a
  short bar alone between section bar lines is a pick-up before ``|:`` or a
  second ending;
- the tune ends (a blank line) after a bar line, once it has an inner bar.

:meth:`Tracker.finish_cost` (see :mod:`musicgen.compose.finish`) counts the characters of
one way to end the tune cleanly from here, so a decoder can mask characters that
lead nowhere and finish before a length cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import (
    BAR_LINES,
    BAR_PREFIXES,
    BODY_FIELDS,
    CHORD_INNER,
    CHORD_NOTE,
    END_BARS,
    ENDINGS,
    HEADER_FIELDS,
    MAX_CHORD_NOTES,
    NOTE,
    SUFFIX_PREFIXES,
    SUFFIX_TICKS,
    TICK,
    TUPLETS,
    octave_ok,
    symbol_ok,
    value_completion,
    written_ticks,
)
from musicgen.abcnotation.header import Meter
from musicgen.abcnotation.rhythm import RhythmState, is_section_bar

HEADER, BODY, ENDED = "header", "body", "ended"
MAX_HEADER_LINES = 12  # a generated header holds at most this many fields
_ZERO = Fraction(0)
_BLUR = str.maketrans("ABDEFGabcdefg_='", "CCCCCCCCCCCCC^^,")  # pitch letters, accidentals, octave marks: see key_text
_FEEDS: dict[tuple[str, bool, str], tuple[list[T.Token], T.Tokenizer]] = {}  # see feed()
MAX_FEEDS = 100_000
_LAST = {T.CHORD: T.NOTE} | dict.fromkeys([T.SYMBOL, T.DECORATION, T.TUPLET, T.TIE, T.FIELD], "")


def _pair(x: Fraction | None) -> tuple[int, int] | None:
    return None if x is None else (x.numerator, x.denominator)


def feed(tok: T.Tokenizer, ch: str) -> tuple[list[T.Token], T.Tokenizer]:
    """The tokens ``ch`` completes and the tokenizer after it, ``tok`` unchanged. The tokenizer's answer
    depends only on its text under way, so it is kept: trying characters re-reads no text. Treat the
    returned token list as read-only."""
    key = (tok.pending, tok.at_line_start, ch)
    known = _FEEDS.get(key)
    if known is None:
        after = tok.copy()
        known = (after.feed(ch), after)
        if len(_FEEDS) >= MAX_FEEDS:
            _FEEDS.clear()
        _FEEDS[key] = known
    return known[0], known[1].copy()


class Tracker:
    """One tune's state, a character at a time (see the module docstring)."""

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        """``fields``: header values the tune must have (a musician's choice of key, say: {"K": "Ador"})."""
        self.required = dict(fields or {})
        self.tok = T.Tokenizer()
        self.rhythm = RhythmState()
        self.phase = HEADER
        self.ok = True  # every character so far kept the rules
        self.fields = ""  # header field letters so far, in order
        self.pickup = _ZERO  # the current section's pick-up (0: none)
        self.carry = _ZERO  # a lone pick-up before "|:", or a repeat's before its second ending: the next section's
        self.owed = _ZERO  # a short last bar of a section without pick-up: the next pick-up must be this long
        self.has_inner = False  # an inner bar is done (and will stay inner)
        self.full_bars = 0  # full bars closed in the current section
        self.in_volta = False  # the current bar follows an ending mark ([2, :|2)
        self.end_ok = False  # the last bar closed may be the tune's last
        self.must_end = False  # a short last bar was closed: only the blank line may follow
        self.wrap = False  # near the length cap: the next bar line that can end the tune must
        self.needs_note = False  # a chord symbol or decoration waits for its note
        self.tuplet_ticks: int | None = None  # written length of the open tuplet's notes
        self.last = ""  # kind of the last token other than space and newline
        self.tied = False
        self._core: tuple | None = None  # core(), kept until the state below the text changes
        self._meter, self._length = None, _ZERO  # the meter and its length, kept (Meter.length makes a Fraction)

    @property
    def meter(self) -> Meter | None:
        return self.rhythm.meter

    @property
    def unit(self) -> Fraction | None:
        return self.rhythm.unit

    @property
    def bar_time(self) -> Fraction:
        """Time used in the current bar (whole notes)."""
        return self.rhythm.duration

    def ticks(self, length: Fraction) -> int:
        """A length (whole notes) in ticks of the unit length: 192 to the unit (integer arithmetic: fast)."""
        u = self.rhythm.unit
        return length.numerator * TICK * u.denominator // (length.denominator * u.numerator)  # type: ignore[union-attr]

    def bar_ticks(self) -> tuple[int, int]:
        """Ticks left in the current bar, and in a whole bar."""
        meter, u = self.rhythm.meter, self.rhythm.unit
        full = meter.beats * TICK * u.denominator // (meter.unit * u.numerator)  # type: ignore[union-attr]
        return full - self.ticks(self.rhythm.duration), full

    def fork(self) -> Tracker:
        """An independent copy: to try characters without changing this one."""
        twin = object.__new__(Tracker)
        twin.__dict__.update(self.__dict__)
        twin.tok, twin.rhythm = self.tok.copy(), self.rhythm.fork()
        return twin

    def core(self) -> tuple:
        """Everything below the text under way that later characters depend on: a key for caching decisions.

        Lengths count ticks of the unit length (the rules compare lengths within one bar, so 6/8 with
        L:1/8 and 3/4 with L:1/8 look alike); what no rule reads in the state at hand is left out: the
        length of a whole bar once the tune has its inner bar (only the room left in this one counts), the
        pick-up (it decides only whether a short last bar leaves a debt, ``owed``, for the next section,
        which matters to the way to the end only while the tune has no inner bar) and the carried pick-up
        (read when the next section's first bar closes, which sets the pick-up).
        """
        if self._core is None:
            r = self.rhythm
            if self.phase != BODY or r.meter is None or r.unit is None:
                fields = ("".join(sorted(set(self.fields) & set("XTMLK"))), min(len(self.fields), MAX_HEADER_LINES))
                self._core = (
                    self.phase,
                    fields,
                    r.meter,
                    _pair(r.unit),
                    self.wrap,  # the body's start depends on them
                    tuple(sorted(self.required.items())),
                )
                return self._core
            room, full = self.bar_ticks()
            opens, left, factor = r.opens_section, r.tuplet_left, r.next_factor
            early = not self.has_inner and not self.inner_candidate()  # the way to the end still needs bars
            self._core = (
                BODY,
                full if early or (opens and self.owed) else room == full,
                room,
                opens,
                left,
                (factor.numerator, factor.denominator) if left else None,
                None if self.has_inner else not early,
                self.ticks(self.pickup) if early and not opens else None,
                self.ticks(self.owed) if opens else None,
                self.in_volta if opens else self.full_bars > 0,
                self.has_inner,
                self.end_ok if room == full else None,
                self.must_end,
                self.wrap,
                self.needs_note,
                self.tuplet_ticks if left else None,
                _LAST.get(self.last, self.last),
                self.tied,
            )
        return self._core

    def key_text(self) -> str:
        r"""The text under way with what no rule reads blurred: pitch letters, accidentals, the words of a
        title or chord symbol (only their length counts). States with equal key text and core behave alike,
        but for one mirror image: a small letter takes ``'`` where a capital takes ``,`` (see :meth:`mirrored`).

        >>> t = Tracker()
        >>> all(t.step(ch) for ch in "X:1\nT:Reel of Tulloch"), t.key_text()
        (True, 'T:xxxxxxxxxxxxxxx')
        """
        p = self.tok.pending
        if not p:
            return p
        if self.tok.at_line_start and len(p) > 1 and p[1] == ":":  # a field line
            return p if p[0] in "MLK" else p[:2] + "x" * (len(p) - 2)
        if p[0] == '"':
            return '"' + "x" * (len(p) - 1)
        return p.translate(_BLUR)

    def mirrored(self) -> bool:
        """The last pitch letter under way is a small one: its octave marks are ``'``, not ``,``."""
        p = self.tok.pending
        for c in reversed(p):
            if c in "ABCDEFGabcdefg":
                return c.islower() and (p[0] != '"' and not (self.tok.at_line_start and p[1:2] == ":"))
        return False

    def state_key(self) -> tuple:
        """What the tracker's decisions depend on: states with equal keys allow the same characters.

        At the start of a music line, where a field line (``M:``, ``L:``, ``K:``, ``P:``) may begin or
        is under way, the key adds the meter, the unit and the required fields themselves: the core
        counts lengths in ticks of the unit, alike for M:C with L:1/4 and M:2/4 with L:1/8, but a new
        meter or unit changes them differently.
        """
        key = (self.key_text(), self.tok.at_line_start, self.core())
        if self.phase == BODY and self.tok.at_line_start and self.tok.pending[:1] in BODY_FIELDS | {""}:
            r = self.rhythm
            return (*key, r.meter, _pair(r.unit), tuple(sorted(self.required.items())))
        return key

    def set_wrap(self) -> None:
        self.wrap, self._core = True, None

    def finish_cost(self) -> int | None:
        """Characters of one way to end the tune cleanly from here (0 once ended); None if there is none."""
        from musicgen.compose.finish import finish_cost

        return finish_cost(self)

    def step(self, ch: str, trusted: bool = False) -> bool:
        """Take one character; False (and ``ok`` False from then on) when it breaks the rules.

        ``trusted``: the character is known to keep the rules (a decoder allowed it from a state with the
        same :meth:`state_key`), so the text under way is not checked again; finished tokens still are.
        """
        if not self.ok or self.phase == ENDED:
            return self._fail()
        tok = self.tok
        if ch == "\n" and not tok.pending and tok.at_line_start:  # a blank line ends the tune
            if not self.can_end():
                return self._fail()
            self.phase, self._core = ENDED, None
            return True
        line_start = tok.at_line_start
        done, self.tok = feed(tok, ch)
        if done:
            self._core = None
            for t in done:
                if not self.take(t, line_start):
                    return self._fail()
                line_start = t.kind == T.NEWLINE
        if (self.must_end and ch != "\n") or not (trusted or self._pending_ok()):
            return self._fail()
        return True

    def take(self, t: T.Token, line_start: bool) -> bool:
        """Apply one finished token (that began a line or not); False when it breaks the rules."""
        self._core = None
        return self._header_token(t) if self.phase == HEADER else self._body_token(t, line_start)

    def _fail(self) -> bool:
        self.ok, self._core = False, None
        return False

    def can_end(self) -> bool:
        """Whether a blank line may end the tune now (after a closed bar, with an inner bar)."""
        return (
            self.phase == BODY
            and self.ok
            and self.rhythm.duration == 0
            and self.last == T.BAR
            and self.end_ok
            and self.has_inner
            and not self.tied
            and not self.needs_note
            and self.rhythm.tuplet_left == 0
        )

    def short_end_ok(self, bar: str = "|]") -> bool:
        """The current bar may close short with the section bar line ``bar``: as the last of a section that has
        a full bar, or as a lone pick-up before a repeat (``|:``), or as a second ending."""
        if self.rhythm.opens_section:
            return bar.endswith(":") or self.in_volta
        return self.full_bars > 0

    def inner_candidate(self) -> bool:
        """The last bar closed becomes inner once the current bar closes."""
        bars = self.rhythm.bars
        return bool(bars) and bars[-1].inner

    # --- header ---

    def _field_ok(self, f: str, value: str, complete: bool) -> bool:
        seen = self.fields
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
        want = self.required.get(f)
        if want is None:
            return value_completion(f, value)
        return want[len(value) :] if want.startswith(value) else None

    def _header_token(self, t: T.Token) -> bool:
        kind, text = t
        if kind == T.NEWLINE:
            if self.fields.endswith("K"):
                self.phase = BODY
            return True
        if kind != T.FIELD or not self._field_ok(text[0], text[2:], True):
            return False
        self.fields += text[0]
        self.rhythm.feed(t)
        return True

    # --- body ---

    def room(self) -> bool:
        """A timed token may still come in this bar."""
        r = self.rhythm
        if r.meter is None:
            return False
        if r.meter is not self._meter:
            self._meter, self._length = r.meter, r.meter.length
        return r.duration < self._length and not self.must_end

    def _may_newline(self) -> bool:
        return not self.needs_note and self.rhythm.tuplet_left == 0

    def after_bar(self) -> bool:
        return self.rhythm.duration == 0 and self.last == T.BAR and not self.must_end

    def _may_tuplet(self) -> bool:
        return self.room() and self.rhythm.tuplet_left == 0

    def _may_tie(self) -> bool:
        return self.last in (T.NOTE, T.CHORD) and not self.tied

    def _may_field(self, f: str, value: str, complete: bool) -> bool:
        rest = value_completion(f, value) if f in BODY_FIELDS else None
        return (
            rest is not None
            and (rest == "" or not complete)
            and self.rhythm.duration == 0
            and not self.tied
            and self._may_newline()
            and not self.must_end
        )

    def _body_token(self, t: T.Token, line_start: bool) -> bool:
        kind, text = t
        if kind in (T.NOTE, T.REST, T.CHORD):
            return self._timed(t)
        if kind == T.BAR:
            return self._bar(text)
        if kind == T.SPACE:
            ok = not text.strip(" ")
        elif kind == T.NEWLINE:
            ok = self._may_newline()
        elif kind == T.ENDING:
            ok = text in ENDINGS and self.after_bar()
            self.carry, self.owed, self.in_volta = self.pickup, _ZERO, True  # as for a bar line with an ending number
        elif kind == T.TUPLET:
            ok = text in TUPLETS and self._may_tuplet()
            self.tuplet_ticks = None
        elif kind == T.TIE:
            ok = self._may_tie()
            self.tied = True
        elif kind in (T.SYMBOL, T.DECORATION):
            ok = (text == "~" if kind == T.DECORATION else bool(text[1:-1]) and symbol_ok(text[1:-1])) and self.room()
            self.needs_note = True
        elif kind == T.FIELD:
            ok = line_start and self._may_field(text[0], text[2:], True)
            if text[0] in "PM":  # a new part or meter starts a section
                self.full_bars = 0
        else:
            return False
        if not ok:
            return False
        self.rhythm.feed(t)
        if kind not in (T.SPACE, T.NEWLINE):
            self.last = kind
        return True

    def _timed(self, t: T.Token) -> bool:
        r = self.rhythm
        written = written_ticks(*t)
        if written is None or not self.room():
            return False
        if r.tuplet_left:
            if self.tuplet_ticks is None:
                self.tuplet_ticks = written
            elif written != self.tuplet_ticks:
                return False
        r.feed(t)
        if r.duration > r.meter.length:  # type: ignore[union-attr]
            return False
        self.needs_note, self.tied, self.last = False, False, t.kind
        return True

    def _bar(self, text: str) -> bool:
        r = self.rhythm
        if r.meter is None or text not in BAR_LINES or not self._may_newline() or self.must_end:
            return False
        m, d, sec = r.meter.length, r.duration, is_section_bar(text)
        volta = any(c.isdigit() for c in text)
        if d == 0 and not sec and self.last in (T.BAR, T.ENDING):
            return False  # an empty bar (a plain bar line may open the body or a part)
        must, owed = False, _ZERO
        if d:
            if d < m and sec and not self.short_end_ok(text):
                return False  # a section of short bars only
            if r.opens_section and self.owed and d != self.owed:
                must = True  # a pick-up that does not complete the short bar before it: only the tune's last bar
            elif d < m and not r.opens_section:
                if not sec:
                    return False
                if not (self.pickup and d == m - self.pickup) and not volta:
                    owed = m - d  # the next section's pick-up must complete this bar (or the tune ends here)
            if self.wrap and (self.has_inner or self.inner_candidate()):
                must = True
            if must and text not in END_BARS:
                return False
        r.feed(T.Token(T.BAR, text))
        if d:
            bars = r.bars
            self.has_inner = self.has_inner or (len(bars) >= 2 and bars[-2].inner)
            if bars[-1].first:
                self.pickup = d if d < m else self.carry
                self.carry = d if sec and d < m else _ZERO
            self.end_ok = not (bars[-1].first and not sec and d < m)
            self.owed = owed
            self.full_bars = 0 if sec else self.full_bars + (d == m)
            self.in_volta = False
        elif sec:
            self.full_bars = 0
        if volta:  # a second ending: its section is the repeated one, with the same pick-up
            self.carry, self.owed, self.in_volta = self.pickup, _ZERO, True
        self.must_end, self.last = must, T.BAR
        return not must or self.has_inner  # a tune may end only once it has an inner bar

    # --- text under way ---

    def _pending_ok(self) -> bool:
        p = self.tok.pending
        if not p:
            return True
        c0 = p[0]
        if self.phase == HEADER:
            return self.tok.at_line_start and (len(p) == 1 or p[1] == ":") and self._field_ok(c0, p[2:], False)
        if self.tok.at_line_start and c0 in BODY_FIELDS and (len(p) == 1 or p[1] == ":"):
            return self._may_field(c0, p[2:], False)
        if c0 == '"':
            return symbol_ok(p[1:]) and self.room()
        if c0 == "[":
            return self._chord_ok(p)
        if c0 in "|:":
            return p in BAR_PREFIXES and self._may_newline() and not self.must_end
        if c0 == "(":
            return p in ("(", *TUPLETS) and self._may_tuplet()
        if c0 == "z":
            return p[1:] in SUFFIX_PREFIXES and self.room()
        if c0 == " ":
            return not p.strip(" ")
        if p == "-":
            return self._may_tie()
        if p == "~":
            return self.room()
        acc, letter, marks, suffix = NOTE.fullmatch(p).groups()  # type: ignore[union-attr]
        if not acc and not letter:
            return False
        return (octave_ok(letter, marks) and suffix in SUFFIX_PREFIXES if letter else p == acc) and self.room()

    def _chord_ok(self, p: str) -> bool:
        if p == "[":
            return self.room() or self.after_bar()
        if p[1].isdigit():
            return p in ENDINGS and self.after_bar()
        close = p.find("]")
        inner = p[1:] if close < 0 else p[1:close]
        if not self.room() or not CHORD_INNER.fullmatch(inner):
            return False
        notes = CHORD_NOTE.findall(inner)
        if len(notes) > MAX_CHORD_NOTES or any(not octave_ok(n[1], n[2]) for n in notes):
            return False
        first = notes[0][3] if notes else ""
        done = notes if close >= 0 else notes[:-1]  # the last note may still be growing
        if any(n[3] != first for n in done[1:]) or (notes and first not in (SUFFIX_TICKS if done else SUFFIX_PREFIXES)):
            return False
        if close < 0:
            return len(notes) < 2 or first.startswith(notes[-1][3])
        outer = p[close + 1 :]
        whole = "".join(map("".join, notes)) == inner  # no accidental left without its note
        return bool(notes) and whole and outer in SUFFIX_PREFIXES and not (first and outer)
