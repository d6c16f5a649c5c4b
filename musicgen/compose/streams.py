"""The streams of one ``Generator.generate`` call, written together: what each takes next (a prompt's
forced character or a sampled one), where it stops, and the tune it makes.

:class:`Run` is the one stepping of a call, which ``generate``, the step-by-step writer
(:mod:`musicgen.judge.walk`), ``musicgen explain`` and the page's live text all drive, so each shows
exactly the tune ``generate`` writes::

    run = gen.start(cfg)          # (Generator.start) primed: the prompt read, the first logits ready
    while run.rows:
        run.take(run.draw())      # each row's next character, drawn under the rules (retries done)
    run.tunes()

Under rules and temperature alone, ``draw`` draws in two stages (:mod:`musicgen.compose.draw`) and asks the
constraint about each row's first draw alone where it can (``check(stream, id)``, as
:class:`~musicgen.compose.constrain.MeterConstraint` offers); with top-k or top-p it masks every row first.
``prepare`` is the masking alone, for a caller that looks at ``run.logits`` and ``run.allowed`` before it
chooses: it steps no engine and draws nothing. A constraint that offers retries (:mod:`musicgen.compose.retry`)
may send a stream back to the start of a bar to write it again; what was taken back is in the stream's
``backs``, and ``Run`` keeps what a retry needs. With ``record``, each stream keeps the mask each of its drawn
characters was drawn under (``masks``, by place in ``ids``; ``False`` where the character was not drawn).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from musicgen.compose.draw import ConstraintError, first_draws, sample_next, two_stage
from musicgen.compose.prompt import MAX_TITLE, Prompt, tidy
from musicgen.compose.retry import MARGIN, Retries, budget
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.model.engine import Engine, log_prob_of


class Constraint(Protocol):
    """Per-step character masks for constrained decoding (see :mod:`musicgen.compose.sample`)."""

    def allowed(self, stream: int) -> np.ndarray: ...

    def advance(self, stream: int, char: str) -> None: ...


@dataclass(frozen=True)
class Tune:
    """One generated tune and what the model thought of it."""

    abc: str
    nats_per_char: float
    n_chars: int
    ended: bool
    meter_aware: bool = False


class _Stream:
    """One tune being written: its characters so far and how it is going."""

    __slots__ = ("ids", "forced", "in_title", "title_len", "sampled", "nats", "ended", "masks", "backs")

    def __init__(self, ids: list[int], forced: list[int], in_title: bool, record: bool) -> None:
        self.ids = ids  # the context, then the tune's characters
        self.forced = forced  # characters to take next instead of sampling, last first
        self.in_title, self.title_len = in_title, 0
        self.sampled, self.nats, self.ended = 0, 0.0, False
        self.masks: list[Any] | None = [False] * len(ids) if record else None  # by place in ids (record)
        self.backs: list[tuple[int, list[int]]] = []  # retries: (the place gone back to, the ids taken back)

    def copy(self) -> _Stream:
        twin = object.__new__(_Stream)
        for name in self.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.ids, twin.forced, twin.backs = list(self.ids), list(self.forced), list(self.backs)
        twin.masks = None if self.masks is None else list(self.masks)
        return twin


class Run:
    """One call's streams, stepped together until each ends or reaches the cap.

    The per-character bookkeeping is plain Python over the active streams: for
    the few streams of one call that is faster than a dozen small NumPy calls.
    ``meter``: the meter-aware constraint the generator built for the call (its ``held`` marks the tunes).
    """

    def __init__(
        self,
        engine: Engine,
        cfg: SampleConfig,
        prompt: Prompt,
        constraint: Constraint | None,
        record: bool = False,
        meter: Any = None,
    ) -> None:
        self.engine, self.cfg, self.prompt, self.constraint, self.meter = engine, cfg, prompt, constraint, meter
        self.vocab = vocab = engine.vocab
        self.rng = np.random.default_rng(cfg.rng)
        if prompt.random_start:
            starts = [vocab.chars[i] for i in self.rng.integers(len(vocab), size=cfg.n)]
        else:
            starts = [prompt.head] * cfg.n
        self.shared = starts[0] if len(set(starts)) == 1 else ""
        self.context = vocab.encode(TUNE_END + self.shared).tolist()
        self.streams = [
            _Stream(
                list(self.context), vocab.encode(start[len(self.shared) :]).tolist()[::-1], prompt.title_slot, record
            )
            for start in starts
        ]
        self.tail = vocab.encode(prompt.tail).tolist()[::-1]
        # every step each stream takes one character, forced or sampled, and at most `length` are sampled
        self.bound = max(map(len, starts)) + (MAX_TITLE + 1 + len(prompt.tail)) * prompt.title_slot + cfg.length
        self.nl, self.colon, self.x = (vocab.index[c] for c in "\n:X")
        self.everything = np.ones(len(vocab), dtype=bool)
        # a constraint that offers retries (musicgen.compose.retry): streams may write bars again, within a budget
        self.retries = (
            Retries(self, constraint, cfg.length, cfg.temperature) if getattr(constraint, "retries", 0) else None
        )
        if self.retries is not None:
            self.bound += budget(cfg.length)
        self.record = record
        self.rows: list[int] = []  # the stream of each stepper row: the streams still writing
        self.st: Any = None  # the engine's stepper over those rows
        self.allowed: np.ndarray | None = None  # the rows' masks at the last prepare (None: no constraint)
        self._drawn: list[Any] = []  # with record: the mask each row's draw is made under (None: no rules)
        self._start()

    def _start(self) -> None:
        n = self.cfg.n
        if self.constraint is not None:
            for s in range(n):
                for ch in self.shared:
                    self.constraint.advance(s, ch)
        st = self.engine.stepper(1)
        for i in self.context:
            st.step(np.array([i]))
        self.st = st.select(np.zeros(n, dtype=np.int64))
        self.rows = list(range(n))

    @property
    def logits(self) -> np.ndarray:
        """The model's logits for the next character of each row (a view of the engine's buffer)."""
        return self.st.logits

    def run(self, watch: Callable[[Run], None] | None = None) -> list[Tune]:
        """Step until every stream is done (``watch(self)`` after each step); the tunes."""
        for _ in range(self.bound):
            if not self.rows:
                break
            self.take(self.draw())
            if watch is not None:
                watch(self)
        if self.rows:
            raise AssertionError("generation ran past its bound")  # each stream stops within bound steps
        return self.tunes()

    def draw(self) -> np.ndarray:
        """Each row's next character id (a forced row's is drawn too, and not taken); with retries, a stream
        sent back to a bar's start draws its restart's. Under rules and temperature alone: two uniform numbers
        a row, a draw from the model and, where the rules refuse it, one from what they allow (module
        docstring); a retry is weighed, as in :meth:`prepare`, wherever the first draw's share of the
        probability cannot show the allowed characters hold enough."""
        cfg, constraint = self.cfg, self.constraint
        if constraint is None or cfg.top_k or cfg.top_p < 1:
            return sample_next(self.prepare(), cfg.temperature, cfg.top_k, cfg.top_p, self.rng)
        rows, st, retries = self.rows, self.st, self.retries
        if retries is not None:
            retries.mark(st, rows)
        u = self.rng.random((len(rows), 2))
        ids, share, p = first_draws(st.logits, cfg.temperature, u[:, 0])
        check = None if self.record else getattr(constraint, "check", None)
        least = 0.0 if retries is None else constraint.retry_mass  # type: ignore[attr-defined]  (a retry: below it)
        # (a first draw that alone holds enough of the probability rules a retry out, if the rules allow it: then
        # only it need be asked about, and no allowed mass weighed)
        enough = (share >= least * MARGIN).tolist()
        drawn: list[Any] = []
        for r, s in enumerate(rows):
            mask = None
            if not self.streams[s].forced:
                if check is not None and not enough[r] and retries is not None:
                    enough[r] = retries.ruled_out(p[r], s)  # (the likeliest allowed characters hold enough)
                mask = check(s, int(ids[r])) if check is not None and enough[r] else constraint.allowed(s)
            if mask is not None:
                self._valid(mask, r)
                restart, kept = None, mask[ids[r]]
                weigh = retries is not None and not (kept and enough[r])
                if weigh and retries.mass(st.logits[r : r + 1], mask[None])[0] < least:  # type: ignore[union-attr]
                    restart = retries.back(st, r, s)  # (the row's logits become the restart's)
                if restart is not None or not kept:
                    mask = mask if restart is None else self._valid(restart, r)
                    ids[r] = two_stage(st.logits[r], mask, cfg.temperature, (u[r, 0], u[r, 1]))
            drawn.append(mask)
        self.allowed = None
        self._record(drawn)
        return ids

    def _record(self, masks: list[Any]) -> None:
        """With ``record``: the masks the rows' characters are drawn under (None where the constraint no longer
        holds, or where none was asked)."""
        if self.record:
            held = getattr(self.constraint, "held", lambda s: True)
            self._drawn = [m.copy() if m is not None and held(s) else None for m, s in zip(masks, self.rows)]

    def _valid(self, mask: np.ndarray, r: int) -> np.ndarray:
        """``mask`` (row ``r``'s), checked: a mask of the vocabulary's length that allows something."""
        if np.shape(mask) != (len(self.vocab),):
            raise ConstraintError(f"allowed() gave shape(s) {[np.shape(mask)]}; expected ({len(self.vocab)},)")
        if not mask.any():
            raise ConstraintError(f"no character is allowed for row(s) [{r}]")
        return mask

    def prepare(self) -> np.ndarray:
        """The rows' logits with the constraint's disallowed characters at -inf (rows taking a forced character
        aside); with retries, a stream sent back to a bar's start gets its restart's (logits, mask, state)."""
        logits, rows, st = self.st.logits, self.rows, self.st
        if self.constraint is None:
            self.allowed = None
            self._record([None] * len(rows))
            return logits
        if self.retries is not None:
            self.retries.mark(st, rows)
        masks = [self.everything if self.streams[s].forced else self.constraint.allowed(s) for s in rows]
        try:
            allowed = np.array(masks, dtype=bool)  # the rows' masks as one array: one call, not a few per row
        except ValueError:  # masks of different lengths
            allowed = None
        if allowed is None or allowed.shape != logits.shape:
            shapes = sorted({np.shape(m) for m in masks})
            raise ConstraintError(f"allowed() gave shape(s) {shapes}; expected ({len(self.vocab)},)")
        if self.retries is not None:
            self.retries.check(st, rows, logits, allowed)
        self.allowed = allowed
        self._record(list(allowed))
        return np.where(allowed, logits, -np.inf)

    def take(self, ids: np.ndarray) -> None:
        """Each row takes its next character (forced, or its id of ``ids``); the engine steps the rows still
        writing."""
        logp = log_prob_of(self.st.logits, ids).tolist()
        length, keep, next_ids = self.cfg.length, [], []
        for r, (s, sampled_id) in enumerate(zip(self.rows, ids.tolist())):
            stream = self.streams[s]
            ch = self._take(s, sampled_id, logp[r], r)
            if not stream.ended and stream.sampled < length or stream.forced:
                keep.append(r)
                next_ids.append(ch)
        if len(keep) < len(self.rows):
            self.rows = [self.rows[r] for r in keep]
            if not keep:
                return
            self.st = self.st.select(keep)
        self.st.step(np.array(next_ids))

    def _take(self, s: int, sampled_id: int, logp: float, r: int) -> int:
        """Stream ``s`` (row ``r``) takes its next character (forced, or the sampled one); return it."""
        stream = self.streams[s]
        ids = stream.ids
        if stream.masks is not None:
            stream.masks.append(False if stream.forced else self._drawn[r])
        if stream.forced:
            ch = stream.forced.pop()
        else:
            ch = sampled_id
            stream.sampled += 1
            stream.nats -= logp
            if stream.in_title:  # a newline ends the title; at MAX_TITLE characters one is forced
                stream.title_len += 1
                if ch == self.nl:
                    stream.in_title, stream.forced = False, list(self.tail)
                elif stream.title_len >= MAX_TITLE:
                    stream.in_title, stream.forced = False, list(self.tail) + [self.nl]
            elif ch == self.nl and ids[-1] == self.nl:
                stream.ended = True  # a blank line
            elif ch == self.colon and ids[-1] == self.x and ids[-2] == self.nl and len(ids) - len(TUNE_END) >= 3:
                stream.ended = True  # a new X: line (not this tune's own)
        ids.append(ch)
        if self.constraint is not None:
            self.constraint.advance(s, self.vocab.chars[ch])
        return ch

    def text(self, s: int) -> str:
        """Stream ``s``'s text so far (the tune as written, before :func:`tidy`)."""
        return self.vocab.decode(self.streams[s].ids[len(TUNE_END) :])

    def tunes(self) -> list[Tune]:
        """The streams' tunes (marked meter-aware where the generator's constraint held)."""
        tunes = [self._tune(s) for s in range(self.cfg.n)]
        if self.meter is None:
            return tunes
        return [replace(t, meter_aware=self.meter.held(s)) for s, t in enumerate(tunes)]

    def fork(self, rng: np.random.Generator) -> Run:
        """A copy of this run (its constraint forked: it needs ``fork()``) that draws from ``rng``; the two share
        nothing that changes."""
        twin = object.__new__(Run)
        twin.__dict__.update(self.__dict__)
        twin.rng, twin.rows, twin.st = rng, list(self.rows), self.st.select(list(range(len(self.rows))))
        twin.streams = [stream.copy() for stream in self.streams]
        if self.constraint is not None:
            twin.constraint = self.constraint.fork()  # type: ignore[attr-defined]
            if self.meter is self.constraint:
                twin.meter = twin.constraint
        if self.retries is not None:
            twin.retries = self.retries.fork(twin, twin.constraint)
        twin.allowed = None if self.allowed is None else self.allowed.copy()
        twin._drawn = list(self._drawn)
        return twin

    def _tune(self, s: int) -> Tune:
        stream = self.streams[s]
        text = self.text(s)
        if stream.ended and text.endswith("X:"):
            text = text[:-2]
        n = stream.sampled
        return Tune(
            tidy(text, s + 1, keep=self.prompt.head + self.prompt.tail), stream.nats / max(n, 1), n, stream.ended
        )
