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
it reached the cap), ``meter_aware`` (True when ``cfg.constrained`` held from the
first character to the last; False when it was not asked for, or when the primer
had something the meter checker does not follow and the tune was written freely).

``Generator(ckpt)`` / ``Generator.load(path=None)``: ``.vocab``, ``.checkpoint``,
``.generate(cfg, constraint=None) -> list[Tune]``: ``cfg.n`` tunes in one batched
pass, in the order generated. The same cfg gives byte-identical tunes. A
Generator keeps nothing from a call, so one cached instance serves concurrent
callers (each call has its own state, buffers and random generator). The first
call limits the process's BLAS library to one thread (see
:func:`musicgen.model.engine.one_blas_thread`).

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

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from musicgen.compose.prompt import FIELD_LINE, MAX_TITLE, Prompt, build_prompt
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import UnknownCharacterError, Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint
from musicgen.model.engine import Engine, log_prob_of, one_blas_thread

if TYPE_CHECKING:
    from musicgen.compose.constrain import MeterConstraint

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
    meter_aware: bool = False


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
    musicgen.compose.sample.ConstraintError: no character is allowed for row(s) [1]
    >>> sample_next(logits, 0.0, 0, 1.0, rng)
    Traceback (most recent call last):
    ...
    ValueError: temperature must be above 0 (got 0.0); for the likeliest character use top_k=1
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be above 0 (got {temperature}); for the likeliest character use top_k=1")
    if top_k < 0 or not 0 < top_p <= 1:
        raise ValueError(f"top_k must be >= 0 and top_p in (0, 1] (got {top_k}, {top_p})")
    # this runs once a character: each step is written as its cheapest NumPy call, and one row is drawn
    # with Python numbers (a reduction over a tiny array costs ~1 microsecond, as much as the exp)
    p = np.multiply(logits, 1.0 / temperature, dtype=np.float64)
    top = np.maximum.reduce(p, 1, keepdims=True)
    one = len(p) == 1
    if not (math.isfinite(top[0, 0]) if one else np.isfinite(top).all()):  # a row of -inf: nothing may come
        raise ConstraintError(f"no character is allowed for row(s) {np.flatnonzero(~np.isfinite(top)).tolist()}")
    np.subtract(p, top, p)
    np.exp(p, p)  # unnormalised probabilities; the likeliest is 1
    if 0 < top_k < p.shape[1] or top_p < 1:
        p = _truncate(p, top_k, top_p)
    cum = np.add.accumulate(p, 1, out=p)
    last = cum.shape[1]
    if one:
        row = cum[0]
        ids = np.array([row.searchsorted(rng.random() * row[-1], side="right")])  # the first cum above u
        if ids[0] < last:
            return ids
    else:
        u = rng.random(len(cum))
        np.multiply(u, cum[:, -1], u)
        ids = np.less_equal(cum, u[:, None]).sum(axis=1)  # the first index whose cumulative sum passes u
        if ids.max() < last:
            return ids
    for r in np.flatnonzero(ids == last):  # u rounded up to the total (chance ~1e-16): the last possible one
        ids[r] = np.flatnonzero(np.diff(cum[r], prepend=0.0) > 0)[-1]
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
    def load(cls, path: str | Path | None = None) -> Generator:
        """A generator over the checkpoint folder at ``path`` (default: the shipped weights)."""
        return cls(checkpoint.load(path))

    def generate(self, cfg: SampleConfig, constraint: Constraint | None = None) -> list[Tune]:
        """``cfg.n`` tunes, generated together; raises ValueError subclasses with a sentence on bad input."""
        built = self._meter_constraint(cfg) if cfg.constrained and constraint is None else None
        constraint = built if constraint is None else constraint
        for where, text in (
            ("the primer", cfg.primer.replace("\r", "\n").replace("\t", " ")),
            ("seed_char", cfg.seed_char or ""),
        ):  # tabs and CRs are normalised away
            unknown = self.vocab.unknown(text)
            if unknown:
                raise UnknownCharacterError(text, unknown, where)
        prompt = build_prompt(cfg)
        self.vocab.check(prompt.head + prompt.tail)
        one_blas_thread()
        tunes = _Run(self.engine, cfg, prompt, constraint).run()
        if built is None:
            return tunes
        return [dataclasses.replace(t, meter_aware=built.held(s)) for s, t in enumerate(tunes)]

    def _meter_constraint(self, cfg: SampleConfig) -> MeterConstraint:
        """The meter-aware constraint for ``cfg`` (the one place that builds it; see :mod:`musicgen.compose.constrain`)."""
        from musicgen.compose.constrain import MeterConstraint

        return MeterConstraint(self.vocab, cfg.length, cfg.n, {"K": cfg.key} if cfg.key else None)


class _Stream:
    """One tune being written: its characters so far and how it is going."""

    __slots__ = ("ids", "forced", "in_title", "title_len", "sampled", "nats", "ended")

    def __init__(self, ids: list[int], forced: list[int], in_title: bool) -> None:
        self.ids = ids  # the context, then the tune's characters
        self.forced = forced  # characters to take next instead of sampling, last first
        self.in_title, self.title_len = in_title, 0
        self.sampled, self.nats, self.ended = 0, 0.0, False


class _Run:
    """One call's streams, stepped together until each ends or reaches the cap.

    The per-character bookkeeping is plain Python over the active streams: for
    the few streams of one call that is faster than a dozen small NumPy calls.
    """

    def __init__(self, engine: Engine, cfg: SampleConfig, prompt: Prompt, constraint: Constraint | None) -> None:
        self.engine, self.cfg, self.prompt, self.constraint = engine, cfg, prompt, constraint
        self.vocab = vocab = engine.vocab
        self.rng = np.random.default_rng(cfg.rng)
        if prompt.random_start:
            starts = [vocab.chars[i] for i in self.rng.integers(len(vocab), size=cfg.n)]
        else:
            starts = [prompt.head] * cfg.n
        self.shared = starts[0] if len(set(starts)) == 1 else ""
        self.context = vocab.encode(TUNE_END + self.shared).tolist()
        self.streams = [
            _Stream(list(self.context), vocab.encode(start[len(self.shared) :]).tolist()[::-1], prompt.title_slot)
            for start in starts
        ]
        self.tail = vocab.encode(prompt.tail).tolist()[::-1]
        # every step each stream takes one character, forced or sampled, and at most `length` are sampled
        self.bound = max(map(len, starts)) + (MAX_TITLE + 1 + len(prompt.tail)) * prompt.title_slot + cfg.length
        self.nl, self.colon, self.x = (vocab.index[c] for c in "\n:X")
        self.everything = np.ones(len(vocab), dtype=bool)

    def run(self) -> list[Tune]:
        cfg, n = self.cfg, self.cfg.n
        if self.constraint is not None:
            for s in range(n):
                for ch in self.shared:
                    self.constraint.advance(s, ch)
        st = self.engine.stepper(1)
        for i in self.context:
            st.step(np.array([i]))
        st = st.select(np.zeros(n, dtype=np.int64))
        rows = list(range(n))  # the stream of each stepper row
        for _ in range(self.bound):
            logits = st.logits
            ids = sample_next(self._masked(logits, rows), cfg.temperature, cfg.top_k, cfg.top_p, self.rng)
            logp = log_prob_of(logits, ids).tolist()
            keep, next_ids = [], []
            for r, (s, sampled_id) in enumerate(zip(rows, ids.tolist())):
                ch = self._take(s, sampled_id, logp[r])
                if not self.streams[s].ended and self.streams[s].sampled < cfg.length or self.streams[s].forced:
                    keep.append(r)
                    next_ids.append(ch)
            if len(keep) < len(rows):
                if not keep:
                    break
                rows = [rows[r] for r in keep]
                st = st.select(keep)
            st.step(np.array(next_ids))
        else:
            raise AssertionError("generation ran past its bound")  # each stream stops within bound steps
        return [self._tune(s) for s in range(n)]

    def _masked(self, logits: np.ndarray, rows: list[int]) -> np.ndarray:
        """The logits with the constraint's disallowed characters at -inf (rows taking a forced character aside)."""
        if self.constraint is None:
            return logits
        masks = [self.everything if self.streams[s].forced else self.constraint.allowed(s) for s in rows]
        try:
            allowed = np.array(masks, dtype=bool)  # the rows' masks as one array: one call, not a few per row
        except ValueError:  # masks of different lengths
            allowed = None
        if allowed is None or allowed.shape != logits.shape:
            shapes = sorted({np.shape(m) for m in masks})
            raise ConstraintError(f"allowed() gave shape(s) {shapes}; expected ({len(self.vocab)},)")
        return np.where(allowed, logits, -np.inf)

    def _take(self, s: int, sampled_id: int, logp: float) -> int:
        """Stream ``s`` takes its next character (forced, or the sampled one); return it."""
        stream = self.streams[s]
        ids = stream.ids
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

    def _tune(self, s: int) -> Tune:
        stream = self.streams[s]
        text = self.vocab.decode(stream.ids[len(TUNE_END) :])
        if stream.ended and text.endswith("X:"):
            text = text[:-2]
        n = stream.sampled
        return Tune(
            tidy(text, s + 1, keep=self.prompt.head + self.prompt.tail), stream.nats / max(n, 1), n, stream.ended
        )


def tidy(text: str, number: int = 1, keep: str = "") -> str:
    """One clean tune: an ``X:`` line first, a non-empty ``T:`` line, no trailing blank lines.

    Header ``S:`` (source) lines the model wrote are dropped: it imitates the
    collectors' credits of its training tunes, and a new tune must not name a real
    person as its source. Lines of ``keep`` (the prompt) stay.

    >>> tidy("X:5\\nT:\\nK:G\\nabc|\\n\\n")
    'X:5\\nT:Untitled\\nK:G\\nabc|\\n'
    >>> tidy("ga|bag|", number=3)
    'X:3\\nT:Untitled\\nga|bag|\\n'
    >>> tidy("X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|")
    'X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|\\n'
    >>> tidy("X:1/8\\nT:A\\nK:G\\nG|", number=2)  # music21 cannot read an X: that is not a number
    'X:2\\nT:A\\nK:G\\nG|\\n'
    >>> tidy("X:1\\nT:A\\nS:Trad, via EF\\nS:Mine\\nK:G\\nG|", keep="X:1\\nS:Mine\\n")
    'X:1\\nT:A\\nS:Mine\\nK:G\\nG|\\n'
    """
    lines = text.rstrip().split("\n")
    if not lines[0].startswith("X:"):
        lines.insert(0, f"X:{number}")
    elif not lines[0][2:].strip().isdigit():
        lines[0] = f"X:{number}"
    in_header = (i for i, line in enumerate(lines) if line.startswith("K:") or not FIELD_LINE.match(line))
    header_end = next(in_header, len(lines))
    kept = set(keep.split("\n"))
    dropped = [i for i in range(header_end) if lines[i].startswith("S:") and lines[i] not in kept]
    lines = [line for i, line in enumerate(lines) if i not in dropped]
    header_end -= len(dropped)
    titles = [i for i in range(1, header_end) if lines[i].startswith("T:")]
    if not titles:
        lines.insert(1, f"T:{UNTITLED}")
    elif not lines[titles[0]][2:].strip():
        lines[titles[0]] = f"T:{UNTITLED}"
    return "\n".join(lines) + "\n"
