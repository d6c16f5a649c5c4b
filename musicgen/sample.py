"""Sampling tunes from a checkpoint: temperature, top-k, top-p, primers, header choices, stopping.

Run it from the command line with ``musicgen generate --help``. In Python::

    from musicgen import Generator, SampleConfig
    gen = Generator.load()                        # the shipped weights (or Generator.load("weights/x"))
    tunes = gen.generate(SampleConfig(tune_type="jig", key="D", n=4, rng=7))
    print(tunes[0].abc, tunes[0].nats_per_char, tunes[0].ended)

The public API
--------------
``SampleConfig`` (musicgen.config): length (cap on the characters the model
writes per tune, at most ``MAX_LENGTH``), temperature, top_k (0 = off), top_p
(1.0 = off), seed_char (the first character; None = random), rng (seed), key,
meter, unit_length, tune_type (become ``K:``/``M:``/``L:``/``R:`` header lines),
primer (ABC to continue), n (candidates), constrained (meter-aware decoding).

``Tune``: ``abc`` (one clean tune: ``X:`` and ``T:`` filled in when missing, one
final newline), ``nats_per_char`` (mean -log p, under the model before
temperature, top-k/p or constraints, of the characters the model wrote, its
end-of-tune mark included), ``n_chars`` (how many it wrote), ``ended`` (True when
the model ended the tune itself with a blank line or a new ``X:``; False when
it reached the cap).

``Generator(ckpt)`` / ``Generator.load(path=None)``: ``.vocab``, ``.checkpoint``,
``.generate(cfg, constraint=None) -> list[Tune]``: ``cfg.n`` tunes in one batched
pass, in the order generated. The same cfg gives byte-identical tunes. A
Generator keeps nothing from a call, so one cached instance serves concurrent
callers (each call has its own state, buffers and random generator).

``sample_next(logits, temperature, top_k, top_p, rng) -> ids``: the pure
sampling step, batched over rows.

Constraints (masking characters step by step)
---------------------------------------------
``generate(cfg, constraint)`` takes an object with two methods (see
:class:`Constraint`), made fresh for each call since it holds the streams' state:

- ``advance(stream, char)`` is called with every character of stream
  ``stream``'s tune in order: first the prompt's (from the ``X`` of ``X:1``, or
  the seed character), then each character the model writes or the prompt forces
  (the rest of the header after a model-written title). The blank line before
  the tune is not passed.
- ``allowed(stream)`` is called before each character the model samples for
  that stream and returns a boolean array over the vocabulary (``len(gen.vocab)``):
  True where the character may come next. Masked characters get probability 0;
  the rest are renormalised, then temperature, top-k and top-p apply.

Streams are numbered 0..n-1 as the returned tunes. ``cfg.length`` is known to
the constraint's maker, so it can steer a tune to finish before the cap.

No TensorFlow is imported here or by anything this imports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from . import checkpoint
from .checkpoint import Checkpoint
from .config import SampleConfig
from .corpus import TUNE_END
from .engine import Engine, blas_threads, log_prob_of
from .prompt import FIELD_LINE, MAX_TITLE, Prompt, build_prompt
from .vocab import UnknownCharacterError, Vocab

UNTITLED = "Untitled"  # the title of a tune that has none


class ConstraintError(ValueError):
    """A constraint left no character allowed, or constrained decoding was asked for without one."""


class Constraint(Protocol):
    """Per-step character masks for constrained decoding (see the module docstring)."""

    def allowed(self, stream: int) -> np.ndarray: ...

    def advance(self, stream: int, char: str) -> None: ...


@dataclass(frozen=True)
class Tune:
    """One generated tune and what the model thought of it."""

    abc: str
    nats_per_char: float
    n_chars: int
    ended: bool


def sample_next(
    logits: np.ndarray, temperature: float, top_k: int, top_p: float, rng: np.random.Generator
) -> np.ndarray:
    """Draw one character id per row of ``logits`` (K, V): log-probabilities up to a constant per row.

    ``np.log(probs)`` works as logits; ``-inf`` marks a character that must not
    come. Temperature divides the logits; top-k keeps the k likeliest (ties
    broken by lower id), top-p the fewest likeliest whose probability reaches p
    (at least one). Exactly one uniform draw per row, so a seeded ``rng`` gives
    the same ids every time.

    >>> rng = np.random.default_rng(0)
    >>> logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]))
    >>> sample_next(logits, 1.0, 1, 1.0, rng)  # top-k 1: the likeliest, whatever the draw
    array([1, 0])
    >>> sample_next(logits, 1.0, 0, 0.5, rng)  # top-p 0.5: the likeliest alone already holds 0.5
    array([1, 0])
    >>> sample_next(np.array([[-np.inf, 0.0, -np.inf]]), 3.0, 0, 1.0, rng)  # masked characters never come
    array([1])
    >>> sample_next(np.array([[0.0, 1e9]]), 1.0, 0, 1.0, rng)  # huge logits do not overflow
    array([1])
    >>> sample_next(np.array([[0.0, 0.0], [-np.inf, -np.inf]]), 1.0, 0, 1.0, rng)
    Traceback (most recent call last):
    ...
    musicgen.sample.ConstraintError: no character is allowed for row(s) [1]
    >>> sample_next(logits, 0.0, 0, 1.0, rng)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be above 0 (got 0.0); for the likeliest character use top_k=1
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0 (got {temperature}); for the likeliest character use top_k=1")
    if top_k < 0 or not 0 < top_p <= 1:
        raise ValueError(f"top_k must be >= 0 and top_p in (0, 1] (got {top_k}, {top_p})")
    p = np.multiply(logits, 1.0 / temperature, dtype=np.float64)
    top = p.max(axis=1, keepdims=True)
    if not math.isfinite(top.sum()):
        raise ConstraintError(f"no character is allowed for row(s) {np.flatnonzero(~np.isfinite(top)).tolist()}")
    p -= top
    np.exp(p, out=p)  # unnormalised probabilities; the likeliest is 1
    if 0 < top_k < p.shape[1] or top_p < 1:
        p = _truncate(p, top_k, top_p)
    cum = np.cumsum(p, axis=1, out=p)
    u = rng.random(len(cum))
    u *= cum[:, -1]
    ids = (cum <= u[:, None]).sum(axis=1)  # the first index whose cumulative sum passes u
    for row in np.flatnonzero(ids == cum.shape[1]):  # u rounded up to the total (chance ~1e-16)
        ids[row] = np.flatnonzero(np.diff(cum[row], prepend=0.0) > 0)[-1]  # the last possible character
    return ids


def _truncate(p: np.ndarray, top_k: int, top_p: float) -> np.ndarray:
    """Zero all but the top-k and the top-p nucleus of each row of unnormalised probabilities."""
    order = np.argsort(-p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    keep = np.ones(ranked.shape, dtype=bool)
    if 0 < top_k < p.shape[1]:
        keep[:, top_k:] = False
    if top_p < 1:
        before = np.cumsum(ranked, axis=1) - ranked  # mass of the likelier characters
        keep &= before < top_p * ranked.sum(axis=1, keepdims=True)
    out = np.zeros_like(p)
    np.put_along_axis(out, order, np.where(keep, ranked, 0.0), axis=1)
    return out


class Generator:
    """Generates tunes from one checkpoint. Holds only the weights: safe to share between threads."""

    def __init__(self, ckpt: Checkpoint) -> None:
        self.checkpoint = ckpt
        self.vocab: Vocab = ckpt.vocab
        self.engine = Engine(ckpt)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Generator":
        """A generator over the checkpoint folder at ``path`` (default: the shipped weights)."""
        return cls(checkpoint.load(path))

    def generate(self, cfg: SampleConfig, constraint: Constraint | None = None) -> list[Tune]:
        """``cfg.n`` tunes, generated together; raises ValueError subclasses with a sentence on bad input."""
        if cfg.constrained and constraint is None:
            constraint = self._meter_constraint(cfg)
        for where, text in (("the primer", cfg.primer.replace("\r", "\n").replace("\t", " ")),
                            ("seed_char", cfg.seed_char or "")):  # tabs and CRs are normalised away
            unknown = self.vocab.unknown(text)
            if unknown:
                raise UnknownCharacterError(text, unknown, where)
        prompt = build_prompt(cfg)
        self.vocab.check(prompt.head + prompt.tail)
        with blas_threads(1):
            return _Run(self.engine, cfg, prompt, constraint).run()

    def _meter_constraint(self, cfg: SampleConfig) -> Constraint:
        """The meter-aware constraint for ``cfg`` (the one place that builds it)."""
        raise ConstraintError("meter-aware decoding is not available in this version: turn 'constrained' off")


class _Run:
    """One call's streams: their state, text so far, and the bookkeeping of stopping."""

    def __init__(self, engine: Engine, cfg: SampleConfig, prompt: Prompt, constraint: Constraint | None) -> None:
        self.engine, self.cfg, self.prompt, self.constraint = engine, cfg, prompt, constraint
        self.vocab = vocab = engine.vocab
        self.rng = np.random.default_rng(cfg.rng)
        n = cfg.n
        if prompt.random_start:
            starts = [vocab.chars[i] for i in self.rng.integers(len(vocab), size=n)]
        else:
            starts = [prompt.head] * n
        self.shared = starts[0] if len(set(starts)) == 1 else ""
        # characters each stream must take before sampling (a random first character, a header after its title)
        self.forced: list[list[int]] = [list(vocab.encode(s[len(self.shared) :])[::-1]) for s in starts]
        self.in_title = np.full(n, prompt.title_slot)
        self.title_len = np.zeros(n, dtype=np.int64)
        bound = max(map(len, starts)) + (MAX_TITLE + 1 + len(prompt.tail)) * prompt.title_slot + cfg.length
        self.text = np.zeros((n, bound), dtype=np.int64)  # each stream's characters after the shared start
        self.pos = np.zeros(n, dtype=np.int64)
        self.sampled = np.zeros(n, dtype=np.int64)
        self.nats = np.zeros(n)
        self.ended = np.zeros(n, dtype=bool)
        self.bound = bound
        self.nl, self.colon, self.x = (vocab.index[c] for c in "\n:X")

    def run(self) -> list[Tune]:
        vocab, n = self.vocab, self.cfg.n
        if self.constraint is not None:
            for s in range(n):
                for ch in self.shared:
                    self.constraint.advance(s, ch)
        st = self.engine.stepper(1)
        for i in vocab.encode(TUNE_END + self.shared):
            st.step(np.array([i]))
        before = vocab.encode(TUNE_END + self.shared)[-2:]
        last1, last2 = np.full(n, before[-1]), np.full(n, before[-2])
        st = st.select(np.zeros(n, dtype=np.int64))
        rows = np.arange(n)  # the stream of each stepper row
        for _ in range(self.bound):
            ids, is_sampled = self._choose(st.logits, rows)
            self.text[rows, self.pos[rows]] = ids
            self.pos[rows] += 1
            if self.constraint is not None:
                for r, s in enumerate(rows):
                    self.constraint.advance(int(s), vocab.chars[ids[r]])
            stop = self._account(rows, ids, is_sampled, last1[rows], last2[rows])
            last2[rows], last1[rows] = last1[rows], ids
            if stop.any():
                keep = np.flatnonzero(~stop)
                rows, ids = rows[keep], ids[keep]
                if not len(rows):
                    break
                st = st.select(keep)
            st.step(ids)
        else:
            raise AssertionError("generation ran past its bound")  # each stream stops within bound steps
        return [self._tune(s) for s in range(n)]

    def _choose(self, logits: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The next character of every active stream, and which of them were sampled (not forced)."""
        forcing = [r for r, s in enumerate(rows) if self.forced[s]]
        masked = logits
        if self.constraint is not None:
            masked = logits.copy()
            for r, s in enumerate(rows):
                if not self.forced[s]:
                    allowed = np.asarray(self.constraint.allowed(int(s)), dtype=bool)
                    if allowed.shape != (len(self.vocab),):
                        raise ConstraintError(f"allowed() gave shape {allowed.shape}; expected ({len(self.vocab)},)")
                    masked[r, ~allowed] = -np.inf
        cfg = self.cfg
        ids = sample_next(masked, cfg.temperature, cfg.top_k, cfg.top_p, self.rng)
        is_sampled = np.ones(len(rows), dtype=bool)
        for r in forcing:
            ids[r] = self.forced[rows[r]].pop()
            is_sampled[r] = False
        self.nats[rows[is_sampled]] -= log_prob_of(logits[is_sampled], ids[is_sampled])
        return ids, is_sampled

    def _account(self, rows: np.ndarray, ids: np.ndarray, is_sampled: np.ndarray,
                 last1: np.ndarray, last2: np.ndarray) -> np.ndarray:
        """Update counts, title slots and endings for the characters just chosen; return which rows stop."""
        self.sampled[rows] += is_sampled
        in_title = self.in_title[rows] & is_sampled
        if in_title.any():
            self._title_step(rows, ids, in_title)
        free = is_sampled & ~in_title
        tune_len = len(self.shared) + self.pos[rows]  # characters of the tune, this one included
        blank_line = (ids == self.nl) & (last1 == self.nl)
        new_tune = (ids == self.colon) & (last1 == self.x) & (last2 == self.nl) & (tune_len >= 4)
        ended = free & (blank_line | new_tune)
        self.ended[rows] = ended
        return ended | (is_sampled & (self.sampled[rows] >= self.cfg.length))

    def _title_step(self, rows: np.ndarray, ids: np.ndarray, in_title: np.ndarray) -> None:
        """Streams writing their title: a newline ends it; at MAX_TITLE characters one is forced."""
        tail = list(self.vocab.encode(self.prompt.tail)[::-1])
        for r in np.flatnonzero(in_title):
            s = rows[r]
            self.title_len[s] += 1
            if ids[r] == self.nl:
                self.in_title[s], self.forced[s] = False, list(tail)
            elif self.title_len[s] >= MAX_TITLE:
                self.in_title[s], self.forced[s] = False, list(tail) + [self.nl]

    def _tune(self, s: int) -> Tune:
        text = self.shared + self.vocab.decode(self.text[s, : self.pos[s]])
        if self.ended[s] and text.endswith("X:"):
            text = text[:-2]
        n = int(self.sampled[s])
        return Tune(tidy(text, s + 1), float(self.nats[s] / max(n, 1)), n, bool(self.ended[s]))


def tidy(text: str, number: int = 1) -> str:
    """One clean tune: an ``X:`` line first, a non-empty ``T:`` line, no trailing blank lines.

    >>> tidy("X:5\\nT:\\nK:G\\nabc|\\n\\n")
    'X:5\\nT:Untitled\\nK:G\\nabc|\\n'
    >>> tidy("ga|bag|", number=3)
    'X:3\\nT:Untitled\\nga|bag|\\n'
    >>> tidy("X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|")
    'X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|\\n'
    """
    lines = text.rstrip().split("\n")
    if not lines[0].startswith("X:"):
        lines.insert(0, f"X:{number}")
    header_end = next((i for i, line in enumerate(lines) if line.startswith("K:") or not FIELD_LINE.match(line)), len(lines))
    titles = [i for i in range(1, header_end) if lines[i].startswith("T:")]
    if not titles:
        lines.insert(1, f"T:{UNTITLED}")
    elif not lines[titles[0]][2:].strip():
        lines[titles[0]] = f"T:{UNTITLED}"
    return "\n".join(lines) + "\n"
