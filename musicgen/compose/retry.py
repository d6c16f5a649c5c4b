"""A bar written again where the rules would take nearly all of the model's probability: retries.

Masks are greedy: a character is allowed when some way to the end follows it, however unlikely the model
finds that way. At a bar that must close a part, or end the tune on the tonic, the model often walks
into a corner (the bar full but not on the tonic, a phrase that wants to go on) and the masks then force
what it least expects: a part closed where it wanted to go on, sixteenths squeezed in before a tonic. A
retry goes back instead: when the characters the rules allow hold less than
:attr:`~musicgen.compose.constrain.MeterConstraint.retry_mass` of the draw's probability (after
temperature), the stream returns to the start of its bar (or of the bar before, when the trouble is at
the bar line) and writes it afresh, up to
:attr:`~musicgen.compose.constrain.MeterConstraint.retries` times a bar, and within a budget of
characters a tune (:func:`budget`); past those, the masks decide as before. A bar that keeps the rules
is then a draw of the model's own, given that it keeps them, rather than one bent a character at a time,
so the tunes cost fewer nats under the model (see docs/decisions.md).

A constraint offers retries by having ``retries`` above 0, ``retry_mass``, and the methods :class:`Retries`
calls: ``retrying(stream)``, ``bar_start(stream)``, ``bar_opened(stream)``, ``save(stream)``,
``restore(stream, saved)``, and, where it has ``check`` (:mod:`musicgen.compose.streams`), ``allows(stream, id)``;
:class:`~musicgen.compose.constrain.MeterConstraint` does in form-aware writing when made with
``retries``. :class:`~musicgen.compose.streams.Run` does the rest: it keeps each stream's engine state at
the start of its last two bars, and its characters, surprise and length so far. A retry takes no
uniform numbers of its own (the draws take as many per stream and step as without it), so a seeded call gives
the same tunes every time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ASKED = 8  # characters asked about, likeliest first, to rule a retry out without a table (Retries.ruled_out)
MARGIN = 1.001  # a share shown to be at least this times the retry mass surely is not below it, rounded otherwise


def budget(length: int) -> int:
    """Characters a tune capped at ``length`` may write and take back in retries."""
    return length // 2


class _Saved:
    """A stream at the start of a bar: its place, engine state, bookkeeping and constraint state."""

    __slots__ = ("at", "h", "c", "logits", "stream", "rules", "tries")

    def __init__(self, at: int, h: np.ndarray, c: np.ndarray, logits: np.ndarray, stream: tuple, rules: object):
        self.at, self.h, self.c, self.logits, self.stream, self.rules, self.tries = at, h, c, logits, stream, rules, 0

    def copy(self) -> _Saved:
        twin = _Saved(self.at, self.h, self.c, self.logits, self.stream, self.rules)
        twin.tries = self.tries
        return twin


class Retries:
    """The retries of one call's streams (made by :class:`~musicgen.compose.streams.Run`)."""

    def __init__(self, run: Any, constraint: Any, length: int, temperature: float) -> None:
        self.run, self.constraint, self.temperature = run, constraint, temperature
        n = len(run.streams)
        self.saved: list[list[_Saved]] = [[] for _ in range(n)]  # the starts of each stream's last two bars
        self.opened = [False] * n  # the stream stood at a bar's start at the last step
        self.left = [budget(length)] * n
        self.count = self.taken = 0  # retries made, characters taken back

    def fork(self, run: Any, constraint: Any) -> Retries:
        """A copy for ``run``'s fork (:meth:`~musicgen.compose.streams.Run.fork`), over its forked ``constraint``."""
        twin = object.__new__(Retries)
        twin.__dict__.update(self.__dict__)
        twin.run, twin.constraint = run, constraint
        twin.saved = [[s.copy() for s in saved] for saved in self.saved]
        twin.opened, twin.left = list(self.opened), list(self.left)
        return twin

    def forget(self, stream: int) -> None:
        """Go back to no bar start kept so far for ``stream`` (what was chosen there is not taken back)."""
        self.saved[stream] = []

    def mark(self, st: Any, rows: list[int]) -> None:
        """Keep the state of each stream that has just come to a bar's start."""
        c, streams = self.constraint, self.run.streams
        for r, s in enumerate(rows):
            here = not streams[s].forced and c.bar_start(s)
            if here and not self.opened[s]:
                stream = streams[s]
                book = (stream.sampled, stream.nats, stream.in_title, stream.title_len)
                saved = _Saved(
                    len(stream.ids), st.h[:, r].copy(), st.c[:, :, r].copy(), st.logits_t[:, r].copy(), book, c.save(s)
                )
                self.saved[s] = self.saved[s][-1:] + [saved]
            self.opened[s] = here

    def check(self, st: Any, rows: list[int], logits: np.ndarray, allowed: np.ndarray) -> None:
        """Send back to a bar's start each stream whose allowed characters hold too little of the draw's
        probability; its row of ``logits`` and ``allowed`` (and the engine's) become those of the restart."""
        for r in np.flatnonzero(self.mass(logits, allowed) < self.constraint.retry_mass):
            mask = self.back(st, r, rows[r])
            if mask is not None:
                allowed[r] = mask

    def mass(self, logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """The share of each row's draw (at the retries' temperature) that ``allowed`` keeps."""
        # (the reductions called as ufuncs, as the array methods call them: the same numbers, a Python call fewer)
        p = np.exp((logits - np.maximum.reduce(logits, axis=1, keepdims=True)) / self.temperature)
        return np.add.reduce(p * allowed, axis=1) / np.add.reduce(p, axis=1)

    def ruled_out(self, p: np.ndarray, s: int) -> bool:
        """Whether stream ``s``'s characters that the rules surely allow (``allows(stream, id)``, asked of the
        likeliest first, at most :data:`ASKED`) hold enough of the draw's probability (``p``: its row's, unnormalised,
        at the retries' temperature, as :func:`~musicgen.compose.draw.first_draws` gives them) to rule a retry out,
        with a margin for rounding; False where they cannot show it, or where the state's table is kept (:meth:`mass`
        over its mask is then cheap). No table is made for it."""
        p = p / p.sum()
        need, rest = self.constraint.retry_mass * MARGIN, 1.0
        for i in np.argsort(-p)[:ASKED].tolist():
            ok = self.constraint.allows(s, i)
            if ok is None:
                return False
            rest -= p[i]
            need -= p[i] if ok else 0.0
            if need <= 0 or need > rest:  # (enough found; or not enough left to find)
                return need <= 0
        return False

    def back(self, st: Any, r: int, s: int) -> np.ndarray | None:
        """Send stream ``s`` (row ``r`` of ``st``) back to a bar's start where it may go: the engine's row holds
        the restart's state, and the constraint's mask there is returned; None where it may not go back."""
        saved = self.saved[s]
        if not saved or self.run.streams[s].forced or not self.constraint.retrying(s):
            return None
        back = saved[-2] if len(saved) > 1 and self.constraint.bar_opened(s) else saved[-1]
        stream = self.run.streams[s]
        back_by = len(stream.ids) - back.at
        if not back_by or back_by > self.left[s] or back.tries >= self.constraint.retries:
            return None  # (the budget holds: each stream steps at most its length and budget() more times)
        back.tries += 1
        self.count += 1
        self.taken += back_by
        self.left[s] -= back_by
        st.h[:, r], st.c[:, :, r], st.logits_t[:, r] = back.h, back.c, back.logits
        stream.backs.append((back.at, stream.ids[back.at :]))
        del stream.ids[back.at :]
        if stream.masks is not None:
            del stream.masks[back.at :]
        stream.sampled, stream.nats, stream.in_title, stream.title_len = back.stream
        self.constraint.restore(s, back.rules)
        self.saved[s] = saved[: saved.index(back) + 1]
        self.opened[s] = True
        return self.constraint.allowed(s)
