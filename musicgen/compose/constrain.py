"""Meter-aware decoding: before each character, mask those that would break the tune.

    from musicgen import Generator, SampleConfig
    tunes = Generator.load().generate(SampleConfig(n=8, constrained=True))

or, with the constraint object itself (what ``constrained=True`` builds)::

    c = MeterConstraint(gen.vocab, length=1000, n=8)
    gen.generate(SampleConfig(n=8, length=1000), constraint=c)

Each stream has its own :class:`~musicgen.compose.tracker.Tracker`. Before the model samples a
character for a stream, :meth:`MeterConstraint.allowed` gives the characters after
which the tune can still end cleanly (every bar the meter's length, see the
tracker's rules) within the characters the model may still write; the sampler
gives the others probability 0 and renormalises, then applies temperature, top-k
and top-p. When the length cap nears (the way to the end plus :data:`WRAP`
characters), the tracker turns to finishing: the next bar line that can end the
tune does, and the blank line follows.

Cost: what a character allows depends only on the tracker's state
(:meth:`~musicgen.compose.tracker.Tracker.state_key`: the text under way, pitch letters and
words blurred, and a summary of the tune so far), so the answer is worked out once
per state and kept in a :class:`Table` shared by every stream and call on the same
vocabulary: a step costs a dictionary look-up (the mask is ready made) and the
tracker's step. Working a state out tries one character of each kind no rule tells
apart on a copy of the tracker; a character that completes the text under way
reads the table of the completed state instead. Tunes repeat their states, so a
few thousand tables serve hundreds of tunes; ``benchmarks/bench_generate.py``
measures the speed with and without constraints.

In form-aware writing (``MeterConstraint(..., form="AABB")``, the default of ``constrained=True``:
:attr:`~musicgen.config.SampleConfig.written_form`) a table's costs are counted from the way's
length at the start of the bar (:func:`~musicgen.compose.finish.way_offset`), which a step adds to
the budget's side: the bars of a part share their tables.

Never zero characters: the tracker's way to the end goes on from its first
character with one character fewer (tests check it on random tunes), so while a
stream stays within its budget some character is always allowed. Should that fail
(a primer that breaks the rules, a cap too small for any tune), the stream falls
back: first to the characters with the shortest way to the end, then, if the tune
so far already broke the rules, to no constraint at all; ``fallbacks`` counts both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import FREE_TEXT, SYMBOL_CHARS, SYMBOL_START
from musicgen.compose.finish import finish_cost, way_offset
from musicgen.compose.pending import feed, mirrored
from musicgen.compose.state import BODY, ENDED, HEADER, StateKey
from musicgen.compose.tracker import Tracker
from musicgen.data.vocab import Vocab
from musicgen.memo import Memo

WRAP = 40  # characters of slack before the cap at which a tune turns to finishing: about two bars
NEVER = np.iinfo(np.int32).max  # table entry of a character that breaks the rules
MUSIC = frozenset("ABCDEFGabcdefgz^_=0123456789/,'[]|:\" \n()-><~")  # what music (not a field line) is made of
_ALIKE = dict(zip("ABDEFGabdefg_=", "CCCCCCcccccc^^", strict=True))  # pitch letters, accidentals: one for all
MAX_STATES = 20_000  # states kept per vocabulary: about 4 kB each with their costs; a tune set meets a few thousand
MAX_VOCABULARIES = 8  # vocabularies whose rules are kept (one per model a process loads)
RETRIES = 4  # times a bar may be written again, for a constraint made with retries (musicgen.compose.retry)
RETRY_MASS = 0.05  # ... when the characters allowed hold less than this of the draw's probability


# what the app shows and the CLI prints for a tune that meter-aware writing could not hold (MeterConstraint.held)
FREE_WRITING = (
    "Meter-aware writing was off: the primer has a bar that does not add up, or something the bar "
    "checker does not follow (slurs, broken rhythm such as A>B, grace notes, no M: line), so the "
    "model wrote freely and the bars may not add up."
)


class Table(NamedTuple):
    """What each character allows from one tracker state."""

    costs: np.ndarray  # per character: characters of the way to the end after it (less way_offset), or NEVER
    valid: np.ndarray  # costs < NEVER: the characters that keep the rules
    least: int  # the smallest cost (NEVER: none keeps the rules)
    most: int  # the largest cost below NEVER


class Rules:
    """What each character allows from each tracker state, for one vocabulary; shared between threads."""

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self.everything = np.ones(len(self.chars), dtype=bool)
        self.index = {c: i for i, c in enumerate(self.chars)}
        # each state's table and its mirror image's, filled in pairs (so both fill up and start again together)
        self._tables: Memo[StateKey, Table] = Memo(MAX_STATES)
        self._mirrors: Memo[StateKey, Table] = Memo(MAX_STATES)
        self._swap = [self.index[","], self.index["'"]] if "," in self.index and "'" in self.index else None

    def __len__(self) -> int:
        return len(self._tables)  # states worked out (each also serves its mirror image)

    def table(self, t: Tracker) -> Table:
        """The :class:`Table` of ``t``'s state (worked out on first sight, then kept).

        Where the tune may end on its tonic (form-aware writing), a state's key reads pitches against the
        tonic, and its table is kept turned to a tonic of C: the tonic's letter and its own accidental
        trade places with ``C`` and ``=`` (:meth:`_turn`), so tunes in every key share it.
        """
        key = t.state_key()
        flipped = mirrored(t.tok)
        turn = self._turn(t)
        table = (self._mirrors if flipped else self._tables).get(key)
        if table is None:
            same, other = (self._mirrors, self._tables) if flipped else (self._tables, self._mirrors)
            mine = self._table(t)
            table = same.set(key, mine if turn is None else _turned(mine, turn))
            other.set(key, self._mirror(table))
            return mine
        return table if turn is None else _turned(table, turn)

    def _turn(self, t: Tracker) -> np.ndarray | None:
        """The columns that trade places to turn ``t``'s table to a tonic of C (None: no turning)."""
        tonic = t.pitch_tonic()
        if tonic is None:
            return None
        if t.tok.pending[:1] == '"':
            return None  # a chord symbol's root is read as written, the tonic in its key
        return self._turns(tonic.letter, tonic.mark)

    @lru_cache(maxsize=64)  # noqa: B019 (one Rules per vocabulary, kept for the process)
    def _turns(self, letter: str, mark: str) -> np.ndarray:
        order = np.arange(len(self.chars))
        for a, b in ((letter, "C"), (letter.lower(), "c"), (mark, "=")):
            if a != b:
                i, j = self.index[a], self.index[b]
                order[i], order[j] = j, i
        return order

    def _mirror(self, table: Table) -> Table:
        """The table of the mirror-image state: the octave marks , and ' trade places."""
        if self._swap is None:
            return table
        costs = table.costs.copy()
        costs[self._swap] = costs[self._swap[::-1]]
        valid = costs < NEVER
        costs.setflags(write=False)
        valid.setflags(write=False)
        return Table(costs, valid, table.least, table.most)

    def _table(self, t: Tracker) -> Table:
        costs = np.full(len(self.chars), NEVER, dtype=np.int32)
        alike = _classes(t)
        flushed = t.tok.copy().flush()  # the tokens the text under way makes if it is complete as it stands
        done: dict[str, int] = {}
        after: tuple[Table, int] | None | bool = False  # the table once the text under way is complete, its shift
        base = way_offset(t)
        for i, ch in enumerate(self.chars):
            rep = alike(ch)
            if rep is None:
                continue
            if rep not in done:
                if flushed and feed(t.tok, rep)[0][: len(flushed)] == flushed:
                    # ch completes the text under way as it stands, then starts anew: as from the completed state
                    if after is False:
                        after = self._completed(t, base)
                    cost = None if after is None else int(after[0].costs[self.index[rep]])
                    done[rep] = NEVER if cost is None or cost == NEVER else cost + after[1]  # type: ignore[index]
                else:
                    twin = t.fork()
                    cost = finish_cost(twin) if twin.step(rep) else None
                    done[rep] = NEVER if cost is None else cost - base
            costs[i] = done[rep]
        valid = costs < NEVER
        costs.setflags(write=False)
        valid.setflags(write=False)
        return Table(costs, valid, int(costs.min()), int(costs[valid].max()) if valid.any() else NEVER)

    def _completed(self, t: Tracker, base: int) -> tuple[Table, int] | None:
        """The table of ``t`` once its text under way is taken as complete, and what to add to its costs to count
        them from ``t``'s offset ``base``; None if that breaks a rule."""
        twin = t.fork()
        line_start = twin.tok.at_line_start
        for tok in twin.tok.flush():
            if not twin.take(tok, line_start):
                return None
            line_start = tok.kind == T.NEWLINE
        return self.table(twin), way_offset(twin) - base


def _turned(table: Table, turn: np.ndarray) -> Table:
    """``table`` with the columns ``turn`` names traded (its own inverse: a pair of swaps)."""
    costs = table.costs[turn]
    costs.setflags(write=False)
    valid = table.valid[turn]
    valid.setflags(write=False)
    return Table(costs, valid, table.least, table.most)


def _classes(t: Tracker) -> Callable[[str], str | None]:
    """Which character stands for ``ch`` in ``t``'s state (no rule tells them apart), or None: it breaks a rule.

    In music, pitch letters stand for each other, and so do accidentals; what music is never made of is
    refused. In a chord symbol or a free-text header value, only a few kinds of character differ.
    """
    p = t.tok.pending
    tonic = t.pitch_tonic()
    if t.phase == BODY and p[:1] != '"' and not t.tok.at_line_start:
        alike = _ALIKE if tonic is None else _tonic_alike(tonic.letter, tonic.mark)
        return lambda ch: alike.get(ch, ch) if ch in MUSIC else None
    if p[:1] == '"' and tonic is not None:  # where the tune may end: the chord symbol's root counts
        return lambda ch: ch if ch in SYMBOL_CHARS or ch == '"' else None
    if p[:1] == '"' and t.plan is not None:  # form-aware writing: a symbol with a root and one without differ
        return lambda ch: ch if ch in '"(' else ("C" if ch in SYMBOL_START else "m" if ch in SYMBOL_CHARS else None)
    if p[:1] == '"':
        return lambda ch: ch if ch == '"' else ("C" if ch in SYMBOL_START else "m" if ch in SYMBOL_CHARS else None)
    if t.phase == HEADER and p[1:2] == ":" and p[0] in FREE_TEXT:
        return lambda ch: ch if ch in " \n%\\" else "x"
    return lambda ch: ch


@lru_cache(maxsize=64)
def _tonic_alike(letter: str, mark: str) -> dict[str, str]:
    """Pitch letters and accidentals where the tune may end on its tonic: the tonic's letter and its own
    accidental stand apart (see :func:`musicgen.compose.pending.key_text`)."""
    other = next(c for c in "CD" if c != letter)
    alike = {c: other if c.isupper() else other.lower() for c in "ABCDEFG" + "abcdefg" if c.upper() != letter}
    return alike | {c: next(a for a in "^_=" if a != mark) for c in "^_=" if c != mark}


RULES: Memo[tuple[str, ...], Rules] = Memo(MAX_VOCABULARIES)  # by vocabulary: shared by every call and thread


def rules_for(vocab: Vocab) -> Rules:
    """The shared :class:`Rules` of a vocabulary (made on first use)."""
    key = tuple(vocab.chars)
    return RULES.compute(key, lambda: Rules(key))


class MeterConstraint:
    """Meter-aware masks for the ``n`` streams of one ``Generator.generate`` call capped at ``length`` characters.

    Follows the :class:`musicgen.compose.sample.Constraint` protocol: ``advance(stream, char)`` with every
    character of a stream's tune, ``allowed(stream)`` before each character the model samples.
    ``fields``: header values every tune must have, e.g. ``{"K": "Ador"}`` when the model writes the
    header itself but the musician chose the key. ``form``: the form every tune takes (a name in
    :data:`~musicgen.abcnotation.tunetypes.FORMS`: its parts' lengths, its end on the tonic); None: bars
    only. A primer that does not keep the form leaves its stream to bars only (``formed`` says so).
    ``retries``: under a form, times a bar may be written again (:mod:`musicgen.compose.retry`; 0: never).
    """

    def __init__(
        self,
        vocab: Vocab,
        length: int,
        n: int,
        fields: Mapping[str, str] | None = None,
        form: str | None = None,
        retries: int = 0,
    ) -> None:
        if length < 1 or n < 1:
            raise ValueError(f"a constraint needs a positive length and stream count (got {length}, {n})")
        self.rules = rules_for(vocab)
        self.fields, self.form = fields, form
        self.trackers = [Tracker(fields, form) for _ in range(n)]
        self.left = [length] * n  # characters each stream's model may still write
        self.fallbacks = 0
        self.retries, self.retry_mass = retries, RETRY_MASS  # bars written again (musicgen.compose.retry)
        self._masks: list[np.ndarray | None] = [None] * n  # each stream's last mask from a table
        self._text: list[list[str]] = [[] for _ in range(n)]  # each stream's characters (to drop the form)

    def advance(self, stream: int, char: str) -> None:
        t, mask = self.trackers[stream], self._masks[stream]
        self._masks[stream] = None
        text = self._text[stream]
        text.append(char)
        if t.ok:  # a character against the rules (a primer's, or after a fallback) leaves the stream free
            if not t.step(char, trusted=mask is not None and bool(mask[self.rules.index[char]])):
                self._bars_only(stream)

    def _bars_only(self, stream: int) -> bool:
        """The form broken (by a primer): keep the bars, as without a form, if the tune so far does."""
        if self.trackers[stream].header.form is None:
            return False
        bars = Tracker(self.fields)
        if not all(bars.step(c) for c in self._text[stream]):
            return False
        self.trackers[stream] = bars
        return True

    def retrying(self, stream: int) -> bool:  # (retries: musicgen.compose.retry, in form-aware writing only)
        t = self.trackers[stream]
        return self.retries > 0 and t.ok and t.plan is not None and t.phase == BODY

    def bar_start(self, stream: int) -> bool:
        """The stream's tune stands at the start of a bar (its bar line done, nothing timed in it yet)."""
        t = self.trackers[stream]
        return self.retrying(stream) and t.notes.last == T.BAR and t.rhythm.duration == 0

    def bar_opened(self, stream: int) -> bool:
        """Nothing timed in the bar yet and no bar line under way: what goes wrong here began in the bar before."""
        t = self.trackers[stream]
        return t.rhythm.duration == 0 and t.tok.pending[:1] not in ("|", ":")

    def save(self, stream: int) -> tuple[Tracker, int, int]:
        return self.trackers[stream].fork(), self.left[stream], len(self._text[stream])

    def restore(self, stream: int, saved: tuple[Tracker, int, int]) -> None:
        t, self.left[stream], n = saved
        self.trackers[stream], self._masks[stream] = t.fork(), None
        del self._text[stream][n:]

    def held(self, stream: int) -> bool:
        """Whether every character of the stream's tune so far kept the rules (False: it runs free)."""
        return self.trackers[stream].ok

    def formed(self, stream: int) -> bool:
        """Whether the stream's tune keeps the form asked for (False: none was, or its primer broke it)."""
        t = self.trackers[stream]
        return t.ok and t.header.form is not None

    def allowed(self, stream: int) -> np.ndarray:
        mask = self._allowed(stream)
        self._masks[stream] = mask if mask is not self.rules.everything else None
        return mask

    def _allowed(self, stream: int) -> np.ndarray:
        t = self.trackers[stream]
        left = self.left[stream]
        self.left[stream] = left - 1
        if not t.ok or t.phase == ENDED:
            return self.rules.everything
        table = self.rules.table(t)
        left -= way_offset(t)  # the table's costs count from there (form-aware writing; else 0)
        if not t.wrap and table.least + WRAP >= left:
            t.set_wrap()
            table = self.rules.table(t)
        if table.most < left:  # every way fits: the common case, far from the cap
            return table.valid
        mask = table.costs < left  # after this character, left - 1 remain for the way to the end
        if mask.any():
            return mask
        if table.least == NEVER and self._bars_only(stream):  # no way to the form's end: to the bars' end
            self.left[stream] += 1
            return self._allowed(stream)
        self.fallbacks += 1
        if table.least != NEVER:
            return table.costs == table.least  # the cap is too near for any clean ending: go the shortest way
        t.ok = False  # the tune already broke the rules: leave it free
        return self.rules.everything
