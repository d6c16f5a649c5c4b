"""What each character allows from each tracker state: the rule tables meter-aware decoding reads.

Cost: what a character allows depends only on the tracker's state
(:meth:`~musicgen.compose.tracker.Tracker.state_key`: the text under way, pitch letters and
words blurred, and a summary of the tune so far), so the answer is worked out once
per state and kept in a :class:`Table` shared by every stream and call on the same
vocabulary (:func:`rules_for`): a step of :class:`~musicgen.compose.constrain.MeterConstraint`
costs a dictionary look-up (the mask is ready made) and the tracker's step. Working a state out
tries one character of each kind no rule tells apart (:func:`_classes`) on a copy of the tracker
(a character that only makes the text under way longer is checked on the tracker itself first);
a character that completes the text under way reads the table of the completed state instead.
Tunes repeat their states, so a few thousand tables serve hundreds of tunes;
``benchmarks/bench_generate.py`` measures the speed with and without constraints.

In form-aware writing a table's costs are counted from the way's length at the start of the bar
(:func:`~musicgen.compose.finish.way_offset`): the bars of a part share their tables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.forms import FREE_TEXT
from musicgen.abcnotation.symbols import ROOTS, SYMBOL_CHARS
from musicgen.compose.finish import finish_cost, way_offset
from musicgen.compose.pending import feed, flushed, mirrored, pending_ok
from musicgen.compose.state import BODY, ENDED, HEADER, StateKey
from musicgen.compose.tracker import Tracker
from musicgen.data.vocab import Vocab
from musicgen.memo import Memo

NEVER = np.iinfo(np.int32).max  # table entry of a character that breaks the rules
MUSIC = frozenset("ABCDEFGabcdefgz^_=0123456789/,'[]|:\" \n()-><~")  # what music (not a field line) is made of
NEVER_FIRST = frozenset("0123456789/,')<>]")  # between tokens, these begin no token the rules allow
_ALIKE = dict(zip("ABDEFGabdefg_=", "CCCCCCcccccc^^", strict=True))  # pitch letters, accidentals: one for all
MAX_STATES = 20_000  # states kept per vocabulary: about 4 kB each with their costs; a tune set meets a few thousand
MAX_VOCABULARIES = 8  # vocabularies whose rules are kept (one per model a process loads)


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
        self._turned: Memo[tuple[StateKey, bool, tuple[str, str]], Table] = Memo(MAX_STATES)  # by key, mirror, tonic
        self._single: Memo[tuple, int] = Memo(4 * MAX_STATES)  # one character's cost, by key, mirror, tonic, rep
        self._swap = [self.index[","], self.index["'"]] if "," in self.index and "'" in self.index else None

    def __len__(self) -> int:
        return len(self._tables)  # states worked out (each also serves its mirror image)

    def table(self, t: Tracker) -> Table:
        """The :class:`Table` of ``t``'s state (worked out on first sight, then kept).

        Where the tune may end on its tonic (form-aware writing), a state's key reads pitches against the
        tonic, and its table is kept turned to a tonic of C: the tonic's letter and its own accidental
        trade places with ``C`` and ``=`` (:meth:`_turns`), so tunes in every key share it.
        """
        key, flipped, tonic, table = self._kept(t)
        if table is not None:
            return table
        if tonic is None:
            return self._fill(t, key, flipped, None)
        turns = self._turns(*tonic)
        return self._turned.set((key, flipped, tonic), self._fill(t, key, flipped, turns))

    def known(self, t: Tracker, ch: str) -> Table | int:
        """``t``'s :class:`Table` where one is kept; else the cost of ``ch`` alone from ``t`` (what the table's
        ``costs`` would hold for it), worked out without the table: a draw asks the rules about its character
        first (:mod:`musicgen.compose.draw`), and the whole table is made only where that one will not do."""
        key, flipped, tonic, table = self._kept(t)
        if table is not None:
            return table
        reps, index = self._reps(_kind(t))
        j = int(index[self.index[ch]])
        if j == len(reps):
            return NEVER
        return self._single.compute((key, flipped, tonic, reps[j]), lambda: self._costs(t, reps[j : j + 1])[0])

    def _kept(self, t: Tracker) -> tuple[StateKey, bool, tuple[str, str] | None, Table | None]:
        """``t``'s state key, whether it is a mirror image, the tonic its table is turned from, and its table where
        one is kept (turned for ``t``: a look-up, not a copy, once turned)."""
        key = t.state_key()
        flipped = mirrored(t.tok)
        tonic = self._tonic(t)
        table = (self._mirrors if flipped else self._tables).get(key)
        if tonic is None:
            return key, flipped, None, table
        turned = self._turned.get((key, flipped, tonic))
        if turned is None and table is not None:
            turned = self._turned.set((key, flipped, tonic), _turned(table, self._turns(*tonic)))
        return key, flipped, tonic, turned

    def _fill(self, t: Tracker, key: StateKey, flipped: bool, turn: np.ndarray | None) -> Table:
        """Work ``t``'s table out and keep it (turned to a tonic of C) with its mirror image's; ``t``'s own."""
        same, other = (self._mirrors, self._tables) if flipped else (self._tables, self._mirrors)
        mine = self._table(t)
        table = same.set(key, mine if turn is None else _turned(mine, turn))
        other.set(key, self._mirror(table))
        return mine

    def _tonic(self, t: Tracker) -> tuple[str, str] | None:
        """The tonic's letter and accidental where ``t``'s table is kept turned to a tonic of C (None: no turning)."""
        tonic = t.pitch_tonic()
        if tonic is None:
            return None
        if t.tok.pending[:1] == '"':
            return None  # a chord symbol's root is read as written, the tonic in its key
        return tonic.letter, tonic.mark

    @lru_cache(maxsize=64)  # noqa: B019 (one Rules per vocabulary, kept for the process)
    def _turns(self, letter: str, mark: str) -> np.ndarray:
        """The columns that trade places to turn a table to a tonic of C."""
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
        reps, index = self._reps(_kind(t))
        found = self._costs(t, reps) + [NEVER]  # by representative; the last: characters that break a rule
        costs = np.array(found, dtype=np.int32)[index]
        valid = costs < NEVER
        costs.setflags(write=False)
        valid.setflags(write=False)
        # (every representative stands for some character, and the last entry is NEVER, so the smallest and largest
        # costs below NEVER are found's: read off the list, not the array)
        return Table(costs, valid, min(found), max((c for c in found if c < NEVER), default=NEVER))

    def _costs(self, t: Tracker, reps: Sequence[str]) -> list[int]:
        """The cost of each of ``reps`` from ``t`` (a table's entry: the way to the end after it, less
        :func:`~musicgen.compose.finish.way_offset`; NEVER where it breaks a rule)."""
        done = flushed(t.tok)[0]  # the tokens the text under way makes if it is complete as it stands
        after: tuple[Tracker, int] | None | bool = False  # the state once the text under way is complete, its shift
        base = way_offset(t)
        found = []
        for rep in reps:
            fed = feed(t.tok, rep)
            if done and fed[0][: len(done)] == done:
                # rep completes the text under way as it stands, then starts anew: as from the completed state
                # (its whole table where a table is being made, else that one character's cost)
                if after is False:
                    after = self._completed(t, base)
                cost = NEVER
                if after is not None:
                    got = self.table(after[0]) if len(reps) > 1 else self.known(after[0], rep)
                    cost = int(got.costs[self.index[rep]]) if isinstance(got, Table) else got
                found.append(cost if cost == NEVER else cost + after[1])  # type: ignore[index]
            else:
                twin = self._after(t, rep, fed)
                cost = None if twin is None else finish_cost(twin)
                found.append(NEVER if cost is None else cost - base)
        return found

    @lru_cache(maxsize=64)  # noqa: B019 (one Rules per vocabulary, kept for the process)
    def _reps(self, kind: tuple) -> tuple[tuple[str, ...], np.ndarray]:
        """The characters that stand for the others in states of this kind (:func:`_kind`), and for each
        character of the vocabulary the position of its representative (past the last: it breaks a rule)."""
        alike = _classes(kind)
        reps = tuple(dict.fromkeys(r for r in map(alike, self.chars) if r is not None))
        where = {r: j for j, r in enumerate(reps)}
        return reps, np.array([where.get(alike(ch), len(reps)) for ch in self.chars], dtype=np.intp)

    @staticmethod
    def _after(t: Tracker, ch: str, fed: tuple[list[T.Token], T.Tokenizer]) -> Tracker | None:
        """A copy of ``t`` after ``ch`` (``fed``: what :func:`feed` makes of it), or None where ``ch`` breaks a rule.
        A character that only makes the text under way longer is checked on ``t`` itself before anything is
        copied (most that break a rule do)."""
        tokens, tok = fed
        if not tokens and ch != "\n":
            if t.sections.must_end or not t.ok or t.phase == ENDED:
                return None
            mine, t.tok = t.tok, tok
            try:
                ok = pending_ok(t)
            finally:
                t.tok = mine
            if not ok:
                return None
            return _reading(t, tok)  # (what lies below the text under way is unchanged: so is the core)
        twin = t.fork()
        return twin if twin.step(ch) else None

    def _completed(self, t: Tracker, base: int) -> tuple[Tracker, int] | None:
        """A copy of ``t`` with its text under way taken as complete, and what to add to its costs to count them
        from ``t``'s offset ``base``; None if that breaks a rule."""
        twin = t.fork()
        line_start = twin.tok.at_line_start
        tokens, twin.tok = flushed(twin.tok)
        for tok in tokens:
            if not twin.take(tok, line_start):
                return None
            line_start = tok.kind == T.NEWLINE
        return twin, way_offset(twin) - base


def _reading(t: Tracker, tok: T.Tokenizer) -> Tracker:
    """A copy of ``t`` with the text under way ``tok`` that shares all the rest (the time in the bar too): to read
    the way to the end from, never to step."""
    twin = object.__new__(Tracker)
    twin.__dict__.update(t.__dict__)
    twin.tok = tok
    return twin


def _turned(table: Table, turn: np.ndarray) -> Table:
    """``table`` with the columns ``turn`` names traded (its own inverse: a pair of swaps)."""
    costs = table.costs[turn]
    costs.setflags(write=False)
    valid = table.valid[turn]
    valid.setflags(write=False)
    return Table(costs, valid, table.least, table.most)


def _kind(t: Tracker) -> tuple:
    """What kind of state ``t`` is in for :func:`_classes` (which characters no rule tells apart there)."""
    p = t.tok.pending
    tonic = t.pitch_tonic()
    if t.phase == BODY and p[:1] != '"' and not t.tok.at_line_start:
        return ("music", None if tonic is None else (tonic.letter, tonic.mark), not p, t.plan is not None)
    if p[:1] == '"':
        return ("symbol", tonic is not None, t.plan is not None)
    return ("free",) if t.phase == HEADER and p[1:2] == ":" and p[0] in FREE_TEXT else ("all",)


def _classes(kind: tuple) -> Callable[[str], str | None]:
    """Which character stands for ``ch`` in a state of this kind (no rule tells them apart), or None: it breaks a
    rule.

    In music, pitch letters stand for each other, and so do accidentals; what music is never made of is
    refused, and so is what begins no token the rules allow, between tokens. In a chord symbol, capitals stand for
    each other but where the tune may end on its tonic chord; in a free-text header value, only a few kinds differ.
    """
    if kind[0] == "music":
        _, tonic, between, form = kind
        alike = _ALIKE if tonic is None else _tonic_alike(*tonic)
        never = (NEVER_FIRST | {"~"} if form else NEVER_FIRST) if between else frozenset()
        return lambda ch: alike.get(ch, ch) if ch in MUSIC and ch not in never else None
    if kind[0] == "symbol":
        if kind[1]:  # where the tune may end: the chord symbol's root counts
            return lambda ch: ch if ch in SYMBOL_CHARS or ch == '"' else None
        # a capital (a root, a bass note) stands for the others: neither the grammar nor the state key reads it
        return lambda ch: "C" if ch in ROOTS else ch if ch in SYMBOL_CHARS or ch == '"' else None
    if kind[0] == "free":
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
