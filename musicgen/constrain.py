"""Meter-aware decoding: before each character, mask those that would break the tune.

    from musicgen import Generator, SampleConfig
    tunes = Generator.load().generate(SampleConfig(n=8, constrained=True))

or, with the constraint object itself (what ``constrained=True`` builds)::

    c = MeterConstraint(gen.vocab, length=1000, n=8)
    gen.generate(SampleConfig(n=8, length=1000), constraint=c)

Each stream has its own :class:`~musicgen.tracker.Tracker`. Before the model samples a
character for a stream, :meth:`MeterConstraint.allowed` gives the characters after
which the tune can still end cleanly (every bar the meter's length, see the
tracker's rules) within the characters the model may still write; the sampler
gives the others probability 0 and renormalises, then applies temperature, top-k
and top-p. When the length cap nears (the way to the end plus :data:`WRAP`
characters), the tracker turns to finishing: the next bar line that can end the
tune does, and the blank line follows.

Cost: what a character allows depends only on the tracker's state (the text under
way and a summary of the tune so far), so the answer is worked out once per state
(trying every vocabulary character on a copy of the tracker) and kept in a table
shared by every stream and call on the same vocabulary: a step costs one
dictionary look-up and a comparison over the vocabulary. Tunes repeat their
states, so the table fills quickly; ``benchmarks/bench_generate.py`` measures the
speed with and without constraints.

Never zero characters: the tracker's way to the end goes on from its first
character with one character fewer (tests check it on random tunes), so while a
stream stays within its budget some character is always allowed. Should that fail
(a primer that breaks the rules, a cap too small for any tune), the stream falls
back: first to the characters with the shortest way to the end, then, if the tune
so far already broke the rules, to no constraint at all; ``fallbacks`` counts both.
"""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np

from .tracker import BODY, ENDED, Tracker
from .vocab import Vocab

WRAP = 40  # characters of slack before the cap at which a tune turns to finishing: about two bars
NEVER = np.iinfo(np.int32).max  # table entry of a character that breaks the rules
MUSIC = frozenset("ABCDEFGabcdefgz^_=0123456789/,'[]|:\" \n()-><~")  # what music (not a field line) is made of
_ALIKE = dict(zip("ABDEFGabdefg_=", "CCCCCCcccccc^^"))  # pitch letters and accidentals: representatives
MAX_STATES = 200_000  # states kept per vocabulary (about 400 bytes each for ~100 characters)


class Rules:
    """What each character allows from each tracker state, for one vocabulary; shared between threads."""

    def __init__(self, chars: Sequence[str]) -> None:
        self.chars = list(chars)
        self.everything = np.ones(len(self.chars), dtype=bool)
        self.index = {c: i for i, c in enumerate(self.chars)}
        self._tables: dict[tuple, np.ndarray] = {}
        self._lock = threading.Lock()

    def costs(self, t: Tracker) -> np.ndarray:
        """For each character: the characters of the way to the end after it, or NEVER when it breaks a rule."""
        key = t.state_key()
        table = self._tables.get(key)
        if table is None:
            table = self._table(t)
            with self._lock:
                if len(self._tables) >= MAX_STATES:
                    self._tables.clear()
                self._tables[key] = table
        return table

    def _table(self, t: Tracker) -> np.ndarray:
        table = np.full(len(self.chars), NEVER, dtype=np.int32)
        music = t.phase == BODY and t.tok.pending[:1] != '"' and not t.tok.at_line_start  # not a field or words
        alike = []
        for i, ch in enumerate(self.chars):
            if music and ch not in MUSIC:
                continue
            if music and ch in _ALIKE:  # no rule in music tells these from their representative
                alike.append((i, self.index[_ALIKE[ch]]))
                continue
            twin = t.fork()
            if twin.step(ch):
                cost = twin.finish_cost()
                if cost is not None:
                    table[i] = cost
        for i, rep in alike:
            table[i] = table[rep]
        table.setflags(write=False)
        return table


_RULES: dict[tuple[str, ...], Rules] = {}
_RULES_LOCK = threading.Lock()


def rules_for(vocab: Vocab) -> Rules:
    """The shared :class:`Rules` of a vocabulary (made on first use)."""
    key = tuple(vocab.chars)
    with _RULES_LOCK:
        if key not in _RULES:
            _RULES[key] = Rules(key)
        return _RULES[key]


class MeterConstraint:
    """Meter-aware masks for the ``n`` streams of one ``Generator.generate`` call capped at ``length`` characters.

    Follows the :class:`musicgen.sample.Constraint` protocol: ``advance(stream, char)`` with every
    character of a stream's tune, ``allowed(stream)`` before each character the model samples.
    """

    def __init__(self, vocab: Vocab, length: int, n: int) -> None:
        if length < 1 or n < 1:
            raise ValueError(f"a constraint needs a positive length and stream count (got {length}, {n})")
        self.rules = rules_for(vocab)
        self.trackers = [Tracker() for _ in range(n)]
        self.left = [length] * n  # characters each stream's model may still write
        self.fallbacks = 0

    def advance(self, stream: int, char: str) -> None:
        t = self.trackers[stream]
        if t.ok:
            t.step(char)  # a character against the rules (a primer's, or a fallback's) leaves the stream free

    def allowed(self, stream: int) -> np.ndarray:
        t = self.trackers[stream]
        left = self.left[stream]
        self.left[stream] = left - 1
        if not t.ok or t.phase == ENDED:
            return self.rules.everything
        costs = self.rules.costs(t)
        if not t.wrap and int(costs.min()) + WRAP >= left:
            t.set_wrap()
            costs = self.rules.costs(t)
        mask = costs < left  # after this character, left - 1 remain for the way to the end
        if mask.any():
            return mask
        self.fallbacks += 1
        best = int(costs.min())
        if best != NEVER:
            return costs == best  # the cap is too near for any clean ending: go the shortest way
        t.ok = False  # the tune already broke the rules: leave it free
        return self.rules.everything
