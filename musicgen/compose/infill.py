"""Writing a given number of bars into a tune, and what the model thinks of the bars after them.

:class:`BarWatch` is the :class:`~musicgen.compose.streams.Constraint` of one
:class:`~musicgen.compose.streams.Run` whose prompt is a tune's text up to the bars being
rewritten. It follows each stream's bars (a :class:`~musicgen.abcnotation.rhythm.RhythmState` beside
the tokenizer), lets a bar line start only where the bar under way has the length its bar must have
(the old bar's, a whole measure for a whole bar), forces the tune's own bar line there, and once a
stream has written every bar marks where its new music ends (the start of the bar line after its
last bar) and ends the stream's tune with a forced blank line. The masks are the meter-aware
constraint's, if it has one, less what these rules leave out. :func:`tail_nats` runs the model over
the prompt, each candidate and the kept text after it, and scores the kept text alone.
:mod:`musicgen.compose.rewrite` uses both.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

import numpy as np

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.rhythm import RhythmState
from musicgen.compose.constrain import MeterConstraint
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import Vocab
from musicgen.model.engine import Engine, log_prob_of

_OPENERS = frozenset('"!%{[(+')  # text under way that a | or : continues without starting a bar line
_BAR_START = frozenset("|:")
_NOTE_START = frozenset("ABCDEFGabcdefgzxZX^_=")  # text under way that may be a timed note
_KEEP = {  # characters left out of the masks (see BarWatch.allowed)
    "line": "|:]0123456789",  # after the tune's bar line: nothing that lengthens it (|: |] |1)
    "music": "|:",  # no bar line yet: the bar has no music, or not its length
    "|": ":",  # the next bar line starts with |: no : to start another
    ":": "|",
}


class BarPlan(NamedTuple):
    """One bar to write: what follows it in the tune (as the model reads it) and how long it must be."""

    line: str  # the bar line and what stands before the next bar's music ("|", ":|\n [2"); the last bar's:
    # the kept bar line after the range (only its first character counts)
    length: Fraction | None  # the length it must have exactly (a whole bar's); None: see ``most``
    most: Fraction | None  # a short bar's: some music, at most this long (None: any, in a free meter)
    under: bool = False  # shorter than ``most`` (a pick-up stays one)


class BarWatch:
    """The constraint of one sampling round (see the module docstring).

    ``bars``: the bars to write, in order. When a stream starts a bar line after a bar of music of the
    right length, the rest of that bar's line is forced, so the bar lines, repeats and endings inside the
    range stay those of the tune; a stream that starts another bar line fails. ``bars=None``: the stream
    writes on until it ends the tune itself (masks from ``inner`` alone).
    """

    def __init__(self, vocab: Vocab, start: int, n: int, bars: list[BarPlan] | None, inner: MeterConstraint | None):
        self.start, self.plan, self.inner = start, bars, inner
        self.index = vocab.index
        self.everything = np.ones(len(vocab), dtype=bool)
        self.one = np.eye(len(vocab), dtype=bool)  # the mask forcing each character
        self.keep = {what: _without(vocab, chars) for what, chars in _KEEP.items()}
        self.text: list[list[str]] = [[] for _ in range(n)]
        self.tok = [T.Tokenizer() for _ in range(n)]
        self.rhythm = [RhythmState() for _ in range(n)]  # the bars so far, read from the tokens
        self.read = [0] * n  # characters of each stream made into tokens so far
        self.timed = [False] * n  # a timed token read since the last bar line
        self.forced: list[list[str]] = [[] for _ in range(n)]  # characters to force next, last first
        self.music: list[list[tuple[int, int]]] = [[] for _ in range(n)]  # each bar's music, as offsets
        self.bar_start = [start] * n  # where the music of the bar being written starts
        self.done = [False] * n  # written its bars (or failed): its tune is ended
        self.failed = [False] * n
        self.kept_rules = [True] * n  # meter-aware writing held while it wrote

    def advance(self, stream: int, char: str) -> None:
        self.text[stream].append(char)
        if self.done[stream]:
            return
        if self.inner is not None:
            self.inner.advance(stream, char)
        if self.plan is None:
            return
        for tok in self.tok[stream].feed(char):
            if self.read[stream] >= self.start and tok.kind in T.TIMED:
                self.timed[stream] = True
            self.read[stream] += len(tok.text)
            self.rhythm[stream].feed(tok)
        if self.timed[stream] and self._overfull(stream):
            self._stop(stream, failed=True)  # past the length its bar may have: it cannot fit any more
            return
        forced = self.forced[stream]
        if forced:
            forced.pop()
            if not forced:  # the bar line is written: the next bar's music starts here
                self.bar_start[stream] = len(self.text[stream])
            return
        pending, at = self.tok[stream].pending, self.read[stream]
        if at < self.start or not self.timed[stream] or not _starts_bar_line(pending):
            return
        self.music[stream].append((self.bar_start[stream], at))
        self.timed[stream] = False
        bars = len(self.music[stream])
        line = self.plan[bars - 1].line
        if bars == len(self.plan):
            self._stop(stream, failed=False)
        elif line.startswith(pending):
            forced.extend(reversed(line[len(pending) :]))
            if not forced:
                self.bar_start[stream] = len(self.text[stream])
        else:
            self._stop(stream, failed=True)

    def _stop(self, stream: int, failed: bool) -> None:
        self.done[stream], self.failed[stream] = True, failed
        self.kept_rules[stream] = self.inner is not None and self.inner.held(stream)

    def allowed(self, stream: int) -> np.ndarray:
        if self.done[stream]:
            return self.one[self.index["\n"]]  # a blank line ends the tune
        if self.forced[stream]:
            return self.one[self.index[self.forced[stream][-1]]]
        mask = self.everything if self.inner is None else self.inner.allowed(stream)
        pending = self.tok[stream].pending
        if self.plan is None or pending[:1] in _OPENERS:
            return mask
        if _starts_bar_line(pending):
            keep = self.keep["line"]  # the tune's bar line is written: nothing may lengthen it
        elif not (self.timed[stream] or pending[:1] in _NOTE_START) or not self._may_close(stream):
            keep = self.keep["music"]
        else:
            keep = self.keep.get(self.plan[len(self.music[stream])].line[:1], self.everything)
        steered = mask & keep
        return steered if steered.any() else mask

    def _may_close(self, stream: int) -> bool:
        """Whether the bar under way has the length its bar must have, if a bar line came next."""
        plan = self.plan[min(len(self.music[stream]), len(self.plan) - 1)]  # type: ignore[index]
        twin = self.rhythm[stream].fork()
        for tok in self.tok[stream].copy().flush():
            twin.feed(tok)
        if plan.length is not None:
            return twin.duration == plan.length
        most = plan.most
        return twin.duration > 0 and (most is None or twin.duration < most or not plan.under and twin.duration == most)

    def _overfull(self, stream: int) -> bool:
        plan = self.plan[min(len(self.music[stream]), len(self.plan) - 1)]  # type: ignore[index]
        most = plan.length if plan.length is not None else plan.most
        return most is not None and self.rhythm[stream].duration > most

    def held(self, stream: int) -> bool:
        """Whether meter-aware writing held the stream's new music (False without it)."""
        if self.inner is None:
            return False
        return self.kept_rules[stream] if self.plan is not None else self.inner.held(stream)

    def bars(self, stream: int) -> list[str] | None:
        """The music of each bar the stream wrote (None: it did not write them all, or started another
        bar line than the tune's)."""
        if not self.done[stream] or self.failed[stream]:
            return None
        text = "".join(self.text[stream])
        return [text[a:b].rstrip("\n") for a, b in self.music[stream]]

    def rest(self, stream: int, ended: bool) -> str | None:
        """All the stream wrote (``bars=None``), its end-of-tune mark left out; None if nothing."""
        new = "".join(self.text[stream])[self.start :]
        if ended and new.endswith("X:"):
            new = new[:-2]
        return new.rstrip("\n") + "\n" if new.strip() else None


def _without(vocab: Vocab, chars: str) -> np.ndarray:
    keep = np.ones(len(vocab), dtype=bool)
    keep[[vocab.index[c] for c in chars if c in vocab.index]] = False
    return keep


def _starts_bar_line(pending: str) -> bool:
    """Whether the text under way (every token before it complete) starts a bar line.

    >>> [_starts_bar_line(p) for p in ["|", ":", "[|", "[", "(3:", '"A:', ""]]
    [True, True, True, False, False, False, False]
    """
    return pending[:1] in _BAR_START or pending[:2] == "[|"


def tail_nats(engine: Engine, head: str, news: list[str], tail: str) -> list[float]:
    """Mean nats per character of ``tail`` after ``head`` and each of ``news`` (batched, one stream each)."""
    vocab = engine.vocab
    st = engine.stepper(1)
    for i in vocab.encode(TUNE_END + head):
        st.step(np.array([i]))
    st = st.select(np.zeros(len(news), dtype=np.int64))
    rows = [vocab.encode(new + tail) for new in news]
    starts = np.array([len(new) for new in news])
    width = max(len(r) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
    total = np.zeros(len(rows))
    for t in range(width):
        logp = log_prob_of(st.logits, ids[:, t])
        total -= np.where((t >= starts) & (t < starts + len(tail)), logp, 0.0)
        if t + 1 < width:
            st.step(ids[:, t])
    return (total / max(len(tail), 1)).tolist()
