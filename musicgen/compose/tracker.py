r"""Where a tune being written stands after each character: the state behind meter-aware decoding.

>>> t = Tracker()
>>> all(t.step(ch) for ch in "X:1\nT:Jig\nM:6/8\nK:G\nd|B2c d2e|B2c d2")
True
>>> t.rhythm.meter, str(t.rhythm.unit), str(t.rhythm.duration), t.phase  # 3/8 of the bar written
(Meter(beats=6, unit=8), '1/8', '3/8', 'body')
>>> def then(text): twin = t.fork(); return all(twin.step(c) for c in text)
>>> then("|A"), then(":|\n"), then("2|")  # 5/8 of the bar: it may only end the section (with the 1/8 pick-up)
(False, True, False)

A :class:`Tracker` feeds each character to a :class:`~musicgen.abcnotation.tokens.Tokenizer` and each finished token
to a :class:`~musicgen.abcnotation.rhythm.RhythmState`, so it knows the meter, unit length and time used in the
current bar exactly as the evaluation reads them. What it adds are the rules of a well-formed tune, checked here as
each token completes and by :mod:`musicgen.compose.pending` on the text still under way (a header line, a chord
symbol, a chord, a note's length, a bar line). The state they read and change is a
:class:`~musicgen.compose.state.TuneState`, in named parts. The rules:

- the header: ``X:`` first, then fields of :data:`~musicgen.abcnotation.forms.HEADER_FIELDS` with valid values (or the
  values required of it), ``T:`` and ``M:`` before ``K:``, which ends it;
- notes, rests and chords use the lengths of :mod:`musicgen.abcnotation.forms` and never overfill the bar; a
  ``(2``/``(3``/``(4`` tuplet's notes share one written length (one music21 reads there) and stay in one bar; a chord
  symbol or ``~`` waits for its note; a tie follows a note; no slurs or broken rhythm (``>``: rare);
- a bar line closes a full bar. A short bar is allowed as the first of a section (a pick-up), or closed by a section
  bar line (``:|``, ``||``, ...) as the last of one that has a full bar: it completes the section's pick-up to a whole
  bar (a lone pick-up before ``|:`` counts for the section after it, a repeat's for its second ending), or, in a
  section without pick-up, the next section's pick-up completes it, or the tune ends there. A section is never short
  bars only: a short bar alone between section bar lines is a pick-up before ``|:`` or a second ending;
- the tune ends (a blank line) after a bar line, once it has an inner bar;
- a chosen key, meter or unit length holds; no ``M:``/``L:``/``K:`` before the first note;
- with a form (``Tracker(fields, form)``, :mod:`musicgen.compose.progress`): a part closes only at a length of its
  plan (short by its pick-up, where it opened with one: ``progress.short_close``) on a note at least a quarter long
  (``progress.END_NOTE``), the tune once the form is whole, on the tonic; a ``P:`` line opens a part; no endings,
  meter or key changes, no note shorter than a sixteenth, one space or chord symbol at a time.

:func:`musicgen.compose.finish.finish_cost` counts the characters of one way to end the tune cleanly from a tracker's
state, so a decoder can mask characters that lead nowhere and finish before a length cap; :meth:`Tracker.state_key` is
what such answers are kept by.
"""

from __future__ import annotations

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import BAR_LINES, BODY_FIELDS, END_BARS, ENDINGS, TUPLET_UNREAD, TUPLETS, written_ticks
from musicgen.abcnotation.rhythm import is_section_bar
from musicgen.abcnotation.symbols import symbol_whole
from musicgen.compose.parts import drawn_after, drawn_key, header_draw, meter_name
from musicgen.compose.pending import blur, feed, pending_ok
from musicgen.compose.progress import Progress, close, form_key, short_close
from musicgen.compose.state import (
    BODY,
    ENDED,
    HEADER,
    MAX_HEADER_LINES,
    ZERO,
    BodyKey,
    HeaderKey,
    Notes,
    Sections,
    Setting,
    StateKey,
    TuneState,
    make,
    pair,
)
from musicgen.compose.tonic import chord_touches, sounds_tonic, symbol_pc

_FIELD_STARTS = BODY_FIELDS | {""}  # where a music line starts, the text under way may begin a field line
_LAST = {T.CHORD: T.NOTE} | dict.fromkeys([T.SYMBOL, T.DECORATION, T.TUPLET, T.TIE, T.FIELD], "")  # alike to the rules


class Tracker(TuneState):
    """One tune's state, a character at a time (see the module docstring)."""

    def core(self) -> HeaderKey | BodyKey:
        """Everything below the text under way that later characters depend on: a key for caching decisions.

        Lengths count ticks of the unit length (the rules compare lengths within one bar, so 6/8 with L:1/8 and 3/4
        with L:1/8 look alike); what no rule reads in the state at hand is left out: the length of a whole bar once
        the tune has its inner bar (only the room left in this one counts), the pick-up (see below) and the carried
        pick-up (read when the next section's first bar closes, which sets the pick-up).
        """
        if self._core is None:
            r, h = self.rhythm, self.header
            if self.phase != BODY or r.meter is None or r.unit is None:
                written, lines = "".join(sorted(set(h.fields) & set("XTMLK"))), min(len(h.fields), MAX_HEADER_LINES)
                key = (self.phase, written, lines, r.meter, pair(r.unit), self.wrap, h.pinned, h.form)
                self._core = make(HeaderKey, key)
                return self._core
            pickup, _, owed, has_inner, full_bars, in_volta, end_ok, must_end = self.sections  # unpacked: read fast
            needs_note, tuplet_ticks, last, tied = self.notes
            room, full = self.bar_ticks()
            opens, left, factor = r.opens_section, r.tuplet_left, r.next_factor
            early = not has_inner and not self.inner_candidate()  # the way to the end still needs bars
            form = self._form_key() if self.plan is not None else None
            # the pick-up: what a short last bar leaves owed (no inner bar yet); in form-aware writing, if it may close
            keep_pickup = not opens and (early or (form is not None and (form[0].cont, form[0].end) != (None, None)))
            self._core = make(
                BodyKey,
                (
                    BODY,
                    full if early or (opens and owed) else room == full,
                    room,
                    opens,
                    left,
                    (factor.numerator, factor.denominator) if left else None,
                    None if has_inner else not early,
                    (self.ticks(pickup), short_close(self.ticks(pickup), full, self._least)) if keep_pickup else None,
                    self.ticks(owed) if opens else None,
                    in_volta if opens else full_bars > 0,
                    has_inner,
                    end_ok if room == full else None,
                    must_end,
                    self.wrap,
                    needs_note,
                    tuplet_ticks if left else None,
                    _LAST.get(last, last),
                    tied,
                    form,
                ),
            )
        return self._core

    def _form_key(self) -> tuple:
        """Form-aware writing: the core's part for the form (:func:`musicgen.compose.progress.form_key`)."""
        at_bar = not self.rhythm.duration and self.notes.last == T.BAR  # (where the tune may end now)
        key, self._base = form_key(self.plan, self.progress, self.tonic, self.whole(), self._least, at_bar)  # type: ignore[arg-type]
        return key

    def state_key(self) -> StateKey:
        """What the tracker's decisions depend on: states with equal keys allow the same characters.

        At the start of a music line, where a field line (``M:``, ``L:``, ``K:``, ``P:``) may begin or
        is under way, the key adds the meter, the unit, the required fields themselves and whether the body has a
        note (before it, no ``M:``, ``L:`` or ``K:`` may come): the core counts lengths in ticks of the unit, alike
        for M:C with L:1/4 and M:2/4 with L:1/8, but a new meter or unit changes them differently. Kept while the
        text under way and the core are the same objects (the rules ask several times a step).
        """
        tok, kept = self.tok, self._key_at
        if kept[0] is not tok or kept[1] is not self._core:
            key = self._state_key(tok)
            self._key_at = kept = (tok, self._core, key)
        return kept[2]

    def _state_key(self, tok: T.Tokenizer) -> StateKey:
        pending, line_start = tok.pending, tok.at_line_start
        c0 = pending[:1]
        setting = None
        if line_start and c0 in _FIELD_STARTS and self.phase == BODY:
            r = self.rhythm
            setting = make(Setting, (r.meter, pair(r.unit), self.header.pinned, bool(r.notes)))
        core = self.core()
        if self.plan is None:  # (a form's header line under way: what completing it draws, parts.drawn_after)
            h, m = self.header, self.rhythm.meter
            drawing = h.form and self.phase == HEADER and (pending[1:2] == ":" and line_start or h.fields[-1:] == "K")
            more = drawn_after(pending, self.draw, h.form, m and meter_name(m), self.draws_key) if drawing else None
            return make(StateKey, (blur(pending, line_start), line_start, core, setting, more))
        tonic, form = self.tonic, core.form if self.phase == BODY else None  # type: ignore[union-attr]
        if tonic is None or form is None or (form[5] is None and (form[7] is None or c0 not in "|:")):
            tonic = None  # (pitch_tonic(), the core at hand)
        # a chord symbol's root is read as written: the tonic; a bar line leads to a whole bar's first characters
        more = tonic if c0 == '"' else self.bar_ticks()[1] if c0 in "|:" else None  # (and where nothing is under way)
        return make(StateKey, (blur(pending, line_start, tonic, True), line_start, core, setting, more))

    def set_wrap(self) -> None:
        """Near the length cap: from now on, the next bar line that can end the tune must."""
        self.wrap, self._core = True, None

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
        if (self.sections.must_end and ch != "\n") or not (trusted or pending_ok(self)):
            return self._fail()
        return True

    def take(self, t: T.Token, line_start: bool) -> bool:
        """Apply one finished token (that began a line or not); False when it breaks the rules."""
        self._core = None
        return self._header_token(t) if self.phase == HEADER else self._body_token(t, line_start)

    def _fail(self) -> bool:
        self.ok, self._core = False, None
        return False

    def _header_token(self, t: T.Token) -> bool:
        kind, text = t
        h = self.header
        if kind == T.NEWLINE:
            if h.fields.endswith("K"):
                self.phase = BODY
                self.start_body()
            return True
        if kind != T.FIELD or not self.field_ok(text[0], text[2:], True):
            return False
        self.header = h._replace(fields=h.fields + text[0])
        self.draw = header_draw(text, self.draw)
        if self.draws_key and text[0] != "K":  # the key these lines draw, held as if asked (in the state key)
            values = {**h.values, "K": drawn_key(self.draw)}
            self.header = self.header._replace(values=values, pinned=tuple(sorted(values.items())))
        self.rhythm.feed(t)
        return True

    def _body_token(self, t: T.Token, line_start: bool) -> bool:
        kind, text = t
        if kind in (T.NOTE, T.REST, T.CHORD):
            return self._timed(t)
        if kind == T.BAR:
            return self._bar(text)
        needs_note, tuplet_ticks, _, tied = self.notes
        if kind == T.SPACE:
            ok = not text.strip(" ") and (self.plan is None or self.detour_ok(text, line_start))
        elif kind == T.NEWLINE:
            ok = self.may_newline()
        elif kind == T.ENDING:
            ok = text in ENDINGS and self.after_bar() and self.plan is None  # form-aware writing writes no endings
            s = self.sections  # as for a bar line with an ending number
            self.sections = s._replace(carry=s.pickup, owed=ZERO, in_volta=True)
        elif kind == T.TUPLET:
            ok = text in TUPLETS and self.may_tuplet()
            tuplet_ticks = None
        elif kind == T.TIE:
            ok = self.may_tie()
            tied = True
        elif kind in (T.SYMBOL, T.DECORATION):
            ok = (text == "~" if kind == T.DECORATION else symbol_whole(text[1:-1])) and self.room()
            ok = ok and (self.plan is None or self.detour_ok(text, line_start))
            needs_note = True
            pc = symbol_pc(text[1:-1]) if kind == T.SYMBOL and self.tonic is not None else None
            if pc is not None and pc != self.tonic.pc and self.final_bar_opens():  # type: ignore[union-attr]
                return False  # the bar that may end the tune opens on the tonic chord (its notes follow it)
            if pc is not None:
                p = self.progress  # (fields: ..., touched, chords, debt, lone)
                self.progress = make(Progress, p[:6] + (True, pc != self.tonic.pc) + p[8:])  # type: ignore[union-attr]
        elif kind == T.FIELD:
            ok = line_start and self.may_field(text[0], text[2:], True)
            if text[0] in "PM":  # a new part or meter starts a section
                self.sections = self.sections._replace(full_bars=0)
        else:
            return False
        if not ok:
            return False
        self.rhythm.feed(t)
        if kind not in (T.SPACE, T.NEWLINE):
            self.notes = make(Notes, (needs_note, tuplet_ticks, kind, tied))
        return True

    def _timed(self, t: T.Token) -> bool:
        r = self.rhythm
        written = written_ticks(*t)
        if written is None or not self.room() or (self.plan is not None and written < self.least()):
            return False
        tuplet_ticks, in_tuplet = self.notes.tuplet_ticks, r.tuplet_left
        if r.tuplet_left:  # its notes share one length, one music21 reads in a tuplet
            if written in TUPLET_UNREAD or tuplet_ticks not in (None, written):
                return False
            tuplet_ticks = written
        r.feed(t)
        if r.duration > self.bar_length():
            return False
        self.notes = make(Notes, (False, tuplet_ticks, t.kind, False))
        if self.plan is not None and t.kind != T.REST:  # (a part's, and the tune's, last note: progress.END_NOTE)
            p, long = self.progress, not in_tuplet and written >= self._long  # (a tuplet's note is never long)
            tonic, touched = p.tonic, p.touched
            if self.tonic is not None and t.kind == T.NOTE:
                tonic, touched = sounds_tonic(t.text, self.tonic, p.touched)
                tonic = tonic and long
            elif self.tonic is not None:  # a chord never ends a tune on its tonic: the form measures read its top note
                tonic, touched = False, chord_touches(t.text, self.tonic, p.touched)
            if (tonic, touched, long) != (p.tonic, p.touched, p.long):  # (fields: bars, ..., tonic, touched, ...)
                self.progress = make(Progress, p[:4] + (tonic, touched) + p[6:9] + (long,))
        return True

    def _bar(self, text: str) -> bool:
        r, s = self.rhythm, self.sections
        if r.meter is None or text not in BAR_LINES or not self.may_newline() or s.must_end:
            return False
        m, d, sec = self.bar_length(), r.duration, is_section_bar(text)
        volta = any(c.isdigit() for c in text)
        if not d and not sec and self.notes.last in (T.BAR, T.ENDING):
            return False  # an empty bar (a plain bar line may open the body or a part)
        must, owed, plan, progress = False, ZERO, self.plan, self.progress
        if plan is not None:  # form-aware writing: the part's length, the tune's end (see progress.close)
            counted, pickup = bool(d) and (d == m or not r.opens_section), bool(d) and d < m and r.opens_section
            closed = None if volta else close(plan, progress, text, counted, sec, self.wrap, pickup)
            short = s.pickup and not progress.lone and short_close(self.ticks(s.pickup), self.ticks(m), self._least)
            if closed is None or (sec and d == m and short and not r.opens_section):  # (a part with a pick-up closes
                return False  # with the short bar that completes it)
            progress, must = closed
        if d:
            if d < m and sec and not self.short_end_ok(text):
                return False  # a section of short bars only
            if r.opens_section and s.owed and d != s.owed:  # (never in form-aware writing: it leaves no debt)
                must = True  # a pick-up that does not complete the short bar before it: only the tune's last bar
            elif d < m and not r.opens_section:
                completes = s.pickup and d == m - s.pickup
                if not sec or (plan is not None and not completes):
                    return False  # form-aware writing: a part's short last bar leaves out its own pick-up
                if not completes and not volta:
                    owed = m - d  # the next section's pick-up must complete this bar (or the tune ends here)
            if plan is None and self.wrap and (s.has_inner or self.inner_candidate()):
                must = True
            if must and text not in END_BARS:
                return False
        if must and self.notes.tied:
            return False  # the tune must end at this bar line, and a tie leads on to a note
        r.feed(T.Token(T.BAR, text))
        if d:
            bars = r.bars
            first = bars[-1].first  # the bar just closed opened its section
            s = make(  # (a NamedTuple made as a tuple: see state.make)
                Sections,
                (
                    (d if d < m else s.carry) if first else s.pickup,  # pickup
                    (d if sec and d < m else ZERO) if first else s.carry,  # carry
                    owed,
                    s.has_inner or (len(bars) >= 2 and bars[-2].inner),  # has_inner
                    0 if sec else s.full_bars + (d == m),  # full_bars
                    False,  # in_volta
                    not (first and not sec and d < m),  # end_ok
                    must,  # must_end
                ),
            )
        elif sec:  # a section bar line right after a bar line (d == 0: nothing else changes)
            s = s._replace(full_bars=0)
        if volta:  # a second ending: its section is the repeated one, with the same pick-up
            s = s._replace(carry=s.pickup, owed=ZERO, in_volta=True)
        n = self.notes
        self.sections, self.notes = s, make(Notes, (n.needs_note, n.tuplet_ticks, T.BAR, n.tied))
        if plan is not None:  # an accidental holds to the bar line; a bar's last note closes it (fields: ..., long)
            self.progress = make(Progress, progress[:5] + (False,) + progress[6:9] + (False,))
        return not must or s.has_inner  # a tune may end only once it has an inner bar
