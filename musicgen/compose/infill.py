"""Writing a given number of bars into a tune, and what the model thinks of the bars after them.

:class:`BarWatch` is the :class:`~musicgen.compose.streams.Constraint` of one
:class:`~musicgen.compose.streams.Run` whose prompt is a tune's text up to the bars being
rewritten: it counts the bars each stream writes (as :class:`~musicgen.abcnotation.rhythm.RhythmState`
closes them) and, once a stream has written as many as asked, marks where its new music ends (the
start of the bar line after its last bar) and ends the stream's tune with a forced blank line; until
then the masks are the meter-aware constraint's, if it has one. :func:`tail_nats` runs the model over
the prompt, each candidate and the kept text after it, and scores the kept text alone.
:mod:`musicgen.compose.rewrite` uses both.
"""

from __future__ import annotations

import numpy as np

from musicgen.abcnotation import tokens as T
from musicgen.compose.constrain import MeterConstraint
from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import Vocab
from musicgen.model.engine import Engine, log_prob_of

_OPENERS = '"!%{[(+'  # text under way that a | or : continues without starting a bar line
_BAR_START = "|:"
_NOTE_START = frozenset("ABCDEFGabcdefgzxZX^_=")  # text under way that may be a timed note
_KEEP = {  # characters left out of the masks (see BarWatch.allowed)
    "line": "|:]0123456789",  # after the tune's bar line: nothing that lengthens it (|: |] |1)
    "music": "|:",  # before the bar has music
    "|": ":",  # the next bar line starts with |: no : to start another
    ":": "|",
}


class BarWatch:
    """The constraint of one sampling round (see the module docstring).

    ``lines``: for each bar to write, the model's text of what follows it in the tune: the bar line and
    whatever stands before the next bar's music (``"|"``, ``":|\\n [2"``); the last is the kept bar line
    after the range, of which only the first character counts. When a stream starts a bar line after a
    bar of music, the rest of that bar's line is forced, so the bar lines, repeats and endings inside the
    range stay those of the tune; a stream that starts another bar line fails. ``lines=None``: the stream
    writes on until it ends the tune itself. Masks come from ``inner`` (meter-aware writing) if given,
    less the bar-line character (``|`` or ``:``) that the next line does not start with.
    """

    def __init__(self, vocab: Vocab, start: int, n: int, lines: list[str] | None, inner: MeterConstraint | None):
        self.start, self.lines, self.inner = start, lines, inner
        self.index = vocab.index
        self.everything = np.ones(len(vocab), dtype=bool)
        self.one = np.eye(len(vocab), dtype=bool)  # the mask forcing each character
        self.keep = {what: _without(vocab, chars) for what, chars in _KEEP.items()}
        self.text: list[list[str]] = [[] for _ in range(n)]
        self.tok = [T.Tokenizer() for _ in range(n)]
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
        if self.lines is None:
            return
        for tok in self.tok[stream].feed(char):
            if self.read[stream] >= self.start and tok.kind in T.TIMED:
                self.timed[stream] = True
            self.read[stream] += len(tok.text)
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
        if bars == len(self.lines):
            self._stop(stream, failed=False)
        elif self.lines[bars - 1].startswith(pending):
            forced.extend(reversed(self.lines[bars - 1][len(pending) :]))
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
        if self.lines is None or pending[:1] in _OPENERS:
            return mask
        if _starts_bar_line(pending):
            keep = self.keep["line"]  # the tune's bar line is written: nothing may lengthen it
        elif not (self.timed[stream] or pending[:1] in _NOTE_START):
            keep = self.keep["music"]  # no bar line before the bar holds music
        else:
            keep = self.keep.get(self.lines[min(len(self.music[stream]), len(self.lines) - 1)][:1], self.everything)
        steered = mask & keep
        return steered if steered.any() else mask

    def held(self, stream: int) -> bool:
        """Whether meter-aware writing held the stream's new music (False without it)."""
        if self.inner is None:
            return False
        return self.kept_rules[stream] if self.lines is not None else self.inner.held(stream)

    def bars(self, stream: int) -> list[str] | None:
        """The music of each bar the stream wrote (None: it did not write them all, or started another
        bar line than the tune's)."""
        if not self.done[stream] or self.failed[stream]:
            return None
        text = "".join(self.text[stream])
        return [text[a:b].rstrip("\n") for a, b in self.music[stream]]

    def rest(self, stream: int, ended: bool) -> str | None:
        """All the stream wrote (``lines=None``), its end-of-tune mark left out; None if nothing."""
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
    return pending[:1] in _BAR_START and pending != "" or pending[:2] == "[|"


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
