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

Cost: the answers are worked out once per tracker state and kept in rule tables shared by every
stream and call (:mod:`musicgen.compose.rules`).

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

from collections.abc import Mapping

import numpy as np

from musicgen.abcnotation import tokens as T
from musicgen.compose.finish import way_offset
from musicgen.compose.rules import MAX_STATES, MUSIC, NEVER, RULES, Rules, Table, rules_for
from musicgen.compose.state import BODY, ENDED
from musicgen.compose.tracker import Tracker
from musicgen.data.vocab import Vocab

__all__ = [  # (the rule tables live in compose.rules; importable from here as before)
    "FREE_WRITING",
    "MAX_STATES",
    "MUSIC",
    "NEVER",
    "RETRIES",
    "RETRY_MASS",
    "RULES",
    "WRAP",
    "MeterConstraint",
    "Rules",
    "Table",
    "rules_for",
]

WRAP = 40  # characters of slack before the cap at which a tune turns to finishing: about two bars
RETRIES = 1  # times a bar may be written again, for a constraint made with retries (musicgen.compose.retry)
RETRY_MASS = 0.05  # ... when the characters allowed hold less than this of the draw's probability


# what the app shows and the CLI prints for a tune that meter-aware writing could not hold (MeterConstraint.held)
FREE_WRITING = (
    "Meter-aware writing was off: the primer has a bar that does not add up, or something the bar "
    "checker does not follow (slurs, broken rhythm such as A>B, grace notes, no M: line), so the "
    "model wrote freely and the bars may not add up."
)


class MeterConstraint:
    """Meter-aware masks for the ``n`` streams of one ``Generator.generate`` call capped at ``length`` characters.

    Follows the :class:`musicgen.compose.sample.Constraint` protocol: ``advance(stream, char)`` with every
    character of a stream's tune, ``allowed(stream)`` before each character the model samples.
    ``fields``: header values every tune must have, e.g. ``{"K": "Ador"}`` when the model writes the
    header itself but the musician chose the key. ``form``: the form every tune takes (a name in
    :data:`~musicgen.abcnotation.tunetypes.FORMS`: its parts' lengths, its end on the tonic); None: bars
    only. A primer that does not keep the form leaves its stream to bars only (``formed`` says so).
    ``retries``: under a form, times a bar may be written again (:mod:`musicgen.compose.retry`; 0: never).
    ``draw_key``: where ``fields`` has no key, each tune's key is the one its header draws
    (:func:`musicgen.compose.parts.drawn_key`).
    """

    def __init__(
        self,
        vocab: Vocab,
        length: int,
        n: int,
        fields: Mapping[str, str] | None = None,
        form: str | None = None,
        retries: int = 0,
        draw_key: bool = False,
    ) -> None:
        if length < 1 or n < 1:
            raise ValueError(f"a constraint needs a positive length and stream count (got {length}, {n})")
        self.rules = rules_for(vocab)
        self.fields, self.form = fields, form
        self.trackers = [Tracker(fields, form, draw_key) for _ in range(n)]
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
        return self.retrying(stream) and t.notes.last == T.BAR and not t.rhythm.duration

    def bar_opened(self, stream: int) -> bool:
        """Nothing timed in the bar yet and no bar line under way: what goes wrong here began in the bar before."""
        t = self.trackers[stream]
        return not t.rhythm.duration and t.tok.pending[:1] not in ("|", ":")

    def save(self, stream: int) -> tuple[Tracker, int, int]:
        return self.trackers[stream].fork(), self.left[stream], len(self._text[stream])

    def restore(self, stream: int, saved: tuple[Tracker, int, int]) -> None:
        t, self.left[stream], n = saved
        self.trackers[stream], self._masks[stream] = t.fork(), None
        del self._text[stream][n:]

    def fork(self) -> MeterConstraint:
        """An independent copy of every stream's state (a step-by-step tune's branch: musicgen.judge.walk)."""
        twin = object.__new__(MeterConstraint)
        twin.__dict__.update(self.__dict__)
        twin.trackers = [t.fork() for t in self.trackers]
        twin.left, twin._masks, twin._text = list(self.left), list(self._masks), [list(x) for x in self._text]
        return twin

    def held(self, stream: int) -> bool:
        """Whether every character of the stream's tune so far kept the rules (False: it runs free)."""
        return self.trackers[stream].ok

    def formed(self, stream: int) -> bool:
        """Whether the stream's tune keeps the form asked for (False: none was, or its primer broke it)."""
        t = self.trackers[stream]
        return t.ok and t.header.form is not None

    def allowed(self, stream: int, table: Table | None = None) -> np.ndarray:
        """The characters the stream may take next (``table``: its state's, where the caller has it)."""
        mask = self._allowed(stream, table)
        self._masks[stream] = mask if mask is not self.rules.everything else None
        return mask

    def check(self, stream: int, i: int) -> np.ndarray | None:
        """What :meth:`allowed` would say of character id ``i`` next, asked about it alone: None where the rules
        surely allow it (counted as a character written, as ``allowed`` counts one), else the whole mask
        (``allowed``'s). A state with no table kept has only ``i``'s cost worked out (:meth:`Rules.known`): the
        mask is certain to allow it where its way to the end fits with room to spare (no turn to finishing)."""
        known = self._known(stream, i)
        if known is not True:
            return self.allowed(stream, known)
        self.left[stream] -= 1
        self._masks[stream] = self.rules.everything  # (advance trusts the character)
        return None

    def allows(self, stream: int, i: int) -> bool | None:
        """Whether the rules surely allow character id ``i`` next, asked as :meth:`check` asks (nothing counted):
        False where that is not sure, None where the state's table is kept (:meth:`allowed` reads it at once)."""
        known = self._known(stream, i)
        return None if isinstance(known, Table) else known is True

    def _known(self, stream: int, i: int) -> Table | bool | None:
        """True where the rules surely allow character id ``i`` next; else the state's table where one is kept,
        or None (the whole mask is to be worked out)."""
        t = self.trackers[stream]
        if not t.ok or t.phase == ENDED:
            return None
        known = self.rules.known(t, self.rules.chars[i])
        if isinstance(known, Table):
            return known
        if known == NEVER or known + WRAP >= self.left[stream] - way_offset(t):
            return None  # refused, or a way to the end near the cap: only the whole mask can tell
        return True

    def _allowed(self, stream: int, table: Table | None = None) -> np.ndarray:
        t = self.trackers[stream]
        left = self.left[stream]
        self.left[stream] = left - 1
        if not t.ok or t.phase == ENDED:
            return self.rules.everything
        table = self.rules.table(t) if table is None else table
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
