"""The streams of one ``Generator.generate`` call, written together: what each takes next (a prompt's
forced character or a sampled one), where it stops, and the tune it makes.

:class:`Run` steps the engine once a character for every stream still writing and draws with
:func:`~musicgen.compose.draw.sample_next`, masked by the call's :class:`Constraint` if it has one.
A constraint that offers retries (:mod:`musicgen.compose.retry`) may send a stream back to the start of
a bar to write it again; ``Run`` keeps what that needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from musicgen.compose.draw import ConstraintError, sample_next
from musicgen.compose.prompt import FIELD_LINE, MAX_TITLE, Prompt
from musicgen.compose.retry import Retries, budget
from musicgen.config import SampleConfig
from musicgen.data.corpus import TUNE_END
from musicgen.model.engine import Engine, log_prob_of

UNTITLED = "Untitled"  # the title of a tune that has none


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

    __slots__ = ("ids", "forced", "in_title", "title_len", "sampled", "nats", "ended")

    def __init__(self, ids: list[int], forced: list[int], in_title: bool) -> None:
        self.ids = ids  # the context, then the tune's characters
        self.forced = forced  # characters to take next instead of sampling, last first
        self.in_title, self.title_len = in_title, 0
        self.sampled, self.nats, self.ended = 0, 0.0, False


class Run:
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
        # a constraint that offers retries (musicgen.compose.retry): streams may write bars again, within a budget
        self.retries = (
            Retries(self, constraint, cfg.length, cfg.temperature) if getattr(constraint, "retries", 0) else None
        )
        if self.retries is not None:
            self.bound += budget(cfg.length)

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
            if self.retries is not None:
                self.retries.mark(st, rows)
            ids = sample_next(self._masked(logits, rows, st), cfg.temperature, cfg.top_k, cfg.top_p, self.rng)
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

    def _masked(self, logits: np.ndarray, rows: list[int], st: object = None) -> np.ndarray:
        """The logits with the constraint's disallowed characters at -inf (rows taking a forced character aside);
        with retries, a stream sent back to a bar's start (``st``, the engine's state) gets its restart's."""
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
        if self.retries is not None:
            self.retries.check(st, rows, logits, allowed)
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
