"""The training input: a corpus encoded once, read as parallel streams by index arithmetic.

    python benchmarks/bench_train.py      # memory and chars/s on a synthetic 50 MB corpus

Stateful training reads the text of one pass (the tunes in some order, each followed
by a blank line) as ``n_streams`` contiguous streams, ``seq_len`` characters at a time,
so that window ``t`` of a stream continues window ``t - 1`` of the same stream
(:func:`musicgen.model.train.stream_batches` is the reference layout). Building that text
anew every epoch would cost a copy of the corpus as a string and another as an int
array. Here the tunes are encoded once into one small-integer array
(:class:`EncodedTunes`), and a pass is nothing but the order of its tunes: the
character at position ``p`` of the pass is found by a binary search over the tunes'
cumulative lengths (:class:`Streams`). Memory stays flat from epoch to epoch, at
about one byte per character of the corpus plus 32 bytes per tune.

Under a ``tf.distribute`` strategy each replica owns a fixed block of the streams
(rows ``r * b`` to ``(r + 1) * b`` of the global batch), so its LSTM state always
continues its own streams; :func:`musicgen.model.windows.distributed_windows` builds
the ``tf.data`` pipeline of every worker over :meth:`Streams.window`. This module
never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicgen.data.corpus import TUNE_END
from musicgen.data.vocab import Vocab

ENCODE_CHUNK = 1 << 20  # characters encoded at a time: bounds the temporary UTF-32 copy to a few MB


class StreamError(ValueError):
    """The text is too short to be cut into the asked number of streams."""


@dataclass(frozen=True, eq=False)
class EncodedTunes:
    """Tunes encoded once: every tune followed by ``TUNE_END``, back to back, as vocabulary ids.

    ``ids`` uses the smallest unsigned type that holds the vocabulary (one byte per
    character for any vocabulary of up to 256 characters); ``starts[i]`` is where tune
    ``i`` begins and ``starts[-1] == len(ids)``.
    """

    ids: np.ndarray
    starts: np.ndarray

    @classmethod
    def encode(cls, tunes: Sequence[str], vocab: Vocab) -> EncodedTunes:
        """Encode ``tunes`` (raises :class:`~musicgen.data.vocab.UnknownCharacterError` like ``Vocab.encode``).

        >>> enc = EncodedTunes.encode(["X:1\\nK:C", "X:2"], Vocab.from_text("X:12\\nKC"))
        >>> enc.starts.tolist(), enc.n_chars, enc.ids.dtype.name
        ([0, 9, 14], 14, 'uint8')
        """
        lengths = np.fromiter((len(t) + len(TUNE_END) for t in tunes), dtype=np.int64, count=len(tunes))
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        ids = np.empty(int(starts[-1]), dtype=_id_dtype(len(vocab)))
        begin = 0
        while begin < len(tunes):
            # Whole tunes, about ENCODE_CHUNK characters at a time (at least one tune).
            end = max(begin + 1, int(np.searchsorted(starts, starts[begin] + ENCODE_CHUNK, side="right")) - 1)
            end = min(end, len(tunes))
            text = "".join(t + TUNE_END for t in tunes[begin:end])
            ids[starts[begin] : starts[end]] = vocab.encode(text)
            begin = end
        return cls(ids, starts)

    @classmethod
    def of_ids(cls, ids: np.ndarray) -> EncodedTunes:
        """Already-encoded text taken as one piece (no copy).

        >>> EncodedTunes.of_ids(np.arange(5)).starts.tolist()
        [0, 5]
        """
        ids = np.asarray(ids)
        return cls(ids, np.array([0, len(ids)], dtype=np.int64))

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def n_chars(self) -> int:
        return int(self.starts[-1])


def epoch_order(n_tunes: int, seed: int, epoch: int) -> np.ndarray:
    """The order of the tunes in one training pass: a shuffle that depends on (seed, epoch) alone.

    >>> epoch_order(5, 0, 1).tolist() == epoch_order(5, 0, 1).tolist() != epoch_order(5, 0, 2).tolist()
    True
    """
    return np.random.default_rng([seed, epoch]).permutation(n_tunes)


class Pass:
    """One training pass: ``tunes`` in ``order``, read by position without building its text."""

    def __init__(self, tunes: EncodedTunes, order: np.ndarray | None) -> None:
        lengths = np.diff(tunes.starts)
        order = np.arange(len(tunes)) if order is None else np.asarray(order, dtype=np.int64)
        lengths = lengths[order]
        self._ends = np.cumsum(lengths)  # where each tune of the pass ends, in pass positions
        # pass position p of the k-th tune of the pass is ids[p + shift[k]]
        self._shift = tunes.starts[:-1][order] - (self._ends - lengths)
        self._ids = tunes.ids
        self.n_chars = int(self._ends[-1]) if len(order) else 0

    def chars(self, pos: np.ndarray) -> np.ndarray:
        """The ids at pass positions ``pos`` (any shape), as int32."""
        tune = np.searchsorted(self._ends, pos, side="right")
        return self._ids[pos + self._shift[tune]].astype(np.int32)


class Streams:
    """One pass over ``tunes`` (in ``order``) cut into ``n_streams`` streams, read ``seq_len`` at a time.

    The same windows as :func:`musicgen.model.train.stream_batches` over the joined text,
    computed without building that text:

    >>> s = Streams(EncodedTunes.of_ids(np.arange(10)), None, n_streams=2, seq_len=3)
    >>> s.n_windows, [s.window(t)[0].tolist() for t in range(s.n_windows)]
    (2, [[[0, 1, 2], [5, 6, 7]], [[3], [8]]])
    >>> s.window(1, rows=slice(1, 2))[1].tolist()
    [[9]]
    >>> Streams(EncodedTunes.of_ids(np.arange(3)), None, n_streams=2, seq_len=3)
    Traceback (most recent call last):
    ...
    musicgen.data.dataset.StreamError: 3 characters are too few for 2 streams: use more tunes or a smaller --batch-size
    """

    stateless = False  # window t of a stream continues window t - 1: the LSTM state carries

    def __init__(self, tunes: EncodedTunes, order: np.ndarray | None, n_streams: int, seq_len: int) -> None:
        self._pass = Pass(tunes, order)
        self.n_chars = self._pass.n_chars
        self.n_streams, self.seq_len = n_streams, seq_len
        self.stream_len = self.n_chars // n_streams
        if self.stream_len < 2:
            raise StreamError(
                f"{self.n_chars} characters are too few for {n_streams} streams: "
                "use more tunes or a smaller --batch-size"
            )
        # the last character of a stream is only ever a target
        self.n_windows = -(-(self.stream_len - 1) // seq_len)

    def width(self, t: int) -> int:
        """Characters per stream in window ``t`` (``seq_len`` except, perhaps, for the last window)."""
        return min(self.seq_len, self.stream_len - 1 - t * self.seq_len)

    def window(self, t: int, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of window ``t`` for the streams ``rows``, as int32 arrays (rows, width)."""
        begin = t * self.seq_len
        streams = np.arange(self.n_streams)[rows]
        chars = self._pass.chars(streams[:, None] * self.stream_len + np.arange(begin, begin + self.width(t) + 1))
        return chars[:, :-1], chars[:, 1:]


class Chunks:
    """One pass cut into ``seq_len`` windows from a random offset, shuffled, ``n_streams`` to a batch.

    Nothing carries from one batch to the next (``stateless``: the trainer zeroes the LSTM
    state before each). Offset and order depend on ``(seed, epoch)`` alone; the windows left
    over after the last full batch are dropped, so every batch has the model's fixed shape.

    >>> c = Chunks(EncodedTunes.of_ids(np.arange(20)), None, n_streams=2, seq_len=4, seed=0, epoch=1)
    >>> c.n_windows, c.width(0), sorted(int(x[0]) for t in range(c.n_windows) for x in c.window(t)[0])
    (2, 4, [2, 6, 10, 14])
    >>> x, y = c.window(0); bool((y[:, :-1] == x[:, 1:]).all())
    True
    """

    stateless = True

    def __init__(
        self, tunes: EncodedTunes, order: np.ndarray | None, n_streams: int, seq_len: int, seed: int, epoch: int
    ) -> None:
        self._pass = Pass(tunes, order)
        self.n_chars = self._pass.n_chars
        self.n_streams, self.seq_len = n_streams, seq_len
        rng = np.random.default_rng([seed, epoch, 1])
        offset = int(rng.integers(seq_len)) if self.n_chars > 2 * seq_len else 0
        self._starts = rng.permutation(np.arange(offset, self.n_chars - seq_len, seq_len))
        self.n_windows = len(self._starts) // n_streams
        if self.n_windows < 1:
            raise StreamError(
                f"{self.n_chars} characters are too few for {n_streams} windows of {seq_len}: "
                "use more tunes, a smaller --batch-size or a smaller --seq-len"
            )

    def width(self, t: int) -> int:
        return self.seq_len

    def window(self, t: int, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of batch ``t`` for the rows ``rows``, as int32 arrays (rows, seq_len)."""
        starts = self._starts[t * self.n_streams : (t + 1) * self.n_streams][rows]
        chars = self._pass.chars(starts[:, None] + np.arange(self.seq_len + 1))
        return chars[:, :-1], chars[:, 1:]


def _id_dtype(vocab_size: int) -> type:
    """The smallest unsigned integer type for ids below ``vocab_size``.

    >>> [_id_dtype(n).__name__ for n in (96, 256, 257, 70000)]
    ['uint8', 'uint8', 'uint16', 'uint32']
    """
    return np.uint8 if vocab_size <= 1 << 8 else np.uint16 if vocab_size <= 1 << 16 else np.uint32
