"""The LSTM forward pass in NumPy over a checkpoint's weights, batched over K streams.

No TensorFlow here: generation and scoring import this instead of the Keras
model. The maths is Keras's LSTM (gates i, f, c, o; sigmoid recurrent
activation, tanh activation) followed by the Dense softmax; dropout is off as
at inference. ``tests/test_engine.py`` checks it against Keras.

Speed comes from rearranging the same maths once, at load:

- the embedding and the first layer's input projection fold into one table
  (``embedding @ kernel + bias``): a row lookup per character;
- every later layer's input and recurrent kernels stack into one matrix, and the
  hidden states of all layers live in one buffer ``[h0; h1; h2; 1]``, so layer i's
  input ``[h(i-1) new; h(i) old]`` is a contiguous slice: one matmul a layer
  (the dense layer reads ``[h2; 1]``, its bias a column of its weights; the
  LSTM layers keep their bias apart: a matrix 513 wide multiplies ~5% slower);
- states are kept as columns (units x K) and the products computed as
  ``W.T @ h``: OpenBLAS runs this shape ~25% faster for 16 streams, no slower for one,
  and in row chunks sized for K (:func:`row_chunk`), 1.3-3x faster for 2-16 streams;
- gates are reordered to (i, f, o, c) and the sigmoid gates' weights halved, so
  ``sigmoid(x) = (tanh(x/2) + 1) / 2`` lets one ``tanh`` call serve all four.

A :class:`Stepper` holds one run's state and scratch buffers and steps in place.
For one stream a step is NumPy's fixed cost per call more than its arithmetic,
so the stepper lists every call of a step with its arguments once (views,
constants as arrays, biases spread over the K columns) and a step only makes
those calls. The engine itself holds weights only, so one engine serves many
callers at once.

>>> from musicgen.config import ModelConfig
>>> from musicgen.data.vocab import Vocab
>>> eng = Engine.random(ModelConfig(8, 4, 2, 0.0), Vocab.from_text(""), seed=0)
>>> probs = softmax(eng.stepper(3).step(np.array([0, 1, 2])))
>>> probs.shape == (3, len(eng.vocab)), bool(np.allclose(probs.sum(axis=1), 1.0))
(True, True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from musicgen.config import ModelConfig
from musicgen.data.vocab import Vocab
from musicgen.model.checkpoint import Checkpoint, check_weights, weight_shapes


def _columns(w: np.ndarray) -> np.ndarray:
    """The transpose, laid out contiguously: weights for products ``W.T @ states``."""
    return np.ascontiguousarray(w.T, dtype=np.float32)


def _gates_ifoc(w: np.ndarray, u: int) -> np.ndarray:
    """Reorder Keras's gate columns (i, f, c, o) to (i, f, o, c) and halve the sigmoid gates' part."""
    i, f, c, o = (w[..., k * u : (k + 1) * u] for k in range(4))
    return np.ascontiguousarray(np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, c], axis=-1), dtype=np.float32)


class Engine:
    """Runs a checkpoint's network one character at a time for K streams at once."""

    def __init__(self, ckpt: Checkpoint) -> None:
        # a checkpoint made in memory is checked too: NaN weights would only show as "no character is allowed"
        check_weights(ckpt.weights, ckpt.model, len(ckpt.vocab), ckpt.path or "the checkpoint")
        w = {k: np.asarray(v, dtype=np.float32) for k, v in ckpt.weights.items()}
        self.vocab: Vocab = ckpt.vocab
        self.config: ModelConfig = ckpt.model
        self.units = u = ckpt.model.lstm_units
        self.layers = n = ckpt.model.lstm_layers
        self.input_table = _gates_ifoc(w["embedding"] @ w["lstm_0/kernel"] + w["lstm_0/bias"], u)  # (V, 4u)
        # each layer's product as (weights, bias): layer 0's recurrent kernel (its bias is in the table);
        # layer i >= 1: [[kernel], [recurrent]].T @ [x; h] is x @ kernel + h @ recurrent in one product
        self.products = [(_columns(_gates_ifoc(w["lstm_0/recurrent_kernel"], u)), None)]  # (4u, u)
        for i in range(1, n):
            stacked = np.vstack([w[f"lstm_{i}/kernel"], w[f"lstm_{i}/recurrent_kernel"]])
            bias = _columns(_gates_ifoc(w[f"lstm_{i}/bias"], u)[None, :])
            self.products.append((_columns(_gates_ifoc(stacked, u)), bias))  # (4u, 2u), (4u, 1)
        # the dense layer reads [h(last); 1]: its bias is the last column of its weights, one call fewer a step
        self.dense = _columns(np.vstack([w["dense/kernel"], w["dense/bias"][None, :]]))  # (V, u + 1)

    def inputs(self, i: int) -> slice:
        """The rows of a stepper's states ``[h0; h1; ...; 1]`` that layer ``i`` reads (``i == layers``: the dense)."""
        u = self.units
        return slice(max(i - 1, 0) * u, (i + 1) * u) if i < self.layers else slice((i - 1) * u, i * u + 1)

    @classmethod
    def random(cls, cfg: ModelConfig, vocab: Vocab, seed: int = 0) -> Engine:
        """An engine over random weights (for tests of the machinery, not of music)."""
        return cls(random_checkpoint(cfg, vocab, seed))

    def stepper(self, k: int) -> Stepper:
        """Fresh working memory for ``k`` streams, all starting from the zero state."""
        return Stepper(self, k)

    def log_likelihood(self, texts: Sequence[str], context: str = "\n\n") -> list[tuple[float, int]]:
        """Sum of natural-log probabilities of each text's characters, and their count.

        Each text starts from a zeroed state fed ``context`` (by default the blank
        line that ends the previous tune, which is what the model saw in training
        before every tune). Texts run batched; shorter ones are masked out.
        """
        if not texts:
            return []
        encoded = [self.vocab.encode(context + t) for t in texts]
        n_ctx = len(context)
        longest = max((len(e) for e in encoded), default=0)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = e
        lengths = np.array([len(e) for e in encoded])
        total = np.zeros(len(texts))
        st = self.stepper(len(texts))
        for t in range(longest - 1):
            logp = log_prob_of(st.step(ids[:, t]), ids[:, t + 1])
            total += np.where((t + 1 >= n_ctx) & (t + 1 < lengths), logp, 0.0)
        return [(float(s), int(n - n_ctx)) for s, n in zip(total, lengths)]


class Stepper:
    """One run's state and scratch buffers for K streams, stepped in place.

    ``step(ids)`` returns the logits (K, vocab) as a view of a buffer that the
    next step overwrites: copy it to keep it. Not shared between threads: make
    one per run.
    """

    def __init__(self, engine: Engine, k: int) -> None:
        u, n = engine.units, engine.layers
        self.engine, self.k = engine, k
        self.h = np.zeros((n * u + 1, k), dtype=np.float32)  # [h0; h1; ...; 1] as columns: see the module docstring
        self.h[-1] = 1.0  # the dense layer's bias row
        # per layer [i; f; o; candidate; c]: the gates the matmul writes, then the cell state, so that
        # [i; f] * [candidate; c] is one product and c = i * candidate + f * c one sum
        self.gates = np.zeros((n, 5 * u, k), dtype=np.float32)
        self.c = self.gates[:, 4 * u :]
        self.logits_t = np.empty((len(engine.vocab), k), dtype=np.float32)
        self.logits = self.logits_t.T
        self.table = engine.input_table
        self.first = self.gates[0, : 4 * u]  # where the first layer adds its input's row of the folded table
        self.first_1 = self.first[:, 0] if k == 1 else None  # one stream: a row of the table added as it is
        pair = np.empty((2 * u, k), dtype=np.float32)
        # constants as arrays: adding an array is ~40% faster than adding a Python number
        ones, half = np.ones((3 * u, k), dtype=np.float32), np.full((3 * u, k), 0.5, dtype=np.float32)
        step = row_chunk(k, 4 * u)
        # every call of a step with its arguments, made once (a slice costs as much as a small ufunc call)
        calls: list[tuple] = []
        for i, (w, bias) in enumerate(engine.products):
            x, g = self.h[engine.inputs(i)], self.gates[i]
            z, sig, i_f, cand_c, o, c = g[: 4 * u], g[: 3 * u], g[: 2 * u], g[3 * u :], g[2 * u : 3 * u], g[4 * u :]
            calls += [(np.matmul, (w[r : r + step], x, z[r : r + step])) for r in range(0, 4 * u, step)]
            # the bias (layer 0: the table row, added by step() itself, as it depends on the ids)
            calls.append((np.add, (z, _spread(bias, k), z)) if bias is not None else None)
            h = self.h[i * u : (i + 1) * u]
            calls += [
                (np.tanh, (z, z)),
                (np.add, (sig, ones, sig)),  # (i, f, o) hold tanh(x/2): make them sigmoid(x) = (tanh(x/2) + 1) / 2
                (np.multiply, (sig, half, sig)),
                (np.multiply, (i_f, cand_c, pair)),  # [i * candidate; f * c]
                (np.add, (pair[:u], pair[u:], c)),
                (np.tanh, (c, h)),
                (np.multiply, (h, o, h)),
            ]
        calls.append((np.matmul, (engine.dense, self.h[engine.inputs(n)], self.logits_t)))
        at = calls.index(None)
        self.before, self.after = calls[:at], calls[at + 1 :]

    def select(self, rows: np.ndarray | Sequence[int]) -> Stepper:
        """A new stepper holding only these streams (in this order; a row may repeat)."""
        rows = np.asarray(rows, dtype=np.int64)
        st = Stepper(self.engine, len(rows))
        st.h[:] = self.h[:, rows]
        st.c[:] = self.c[:, :, rows]
        st.logits_t[:] = self.logits_t[:, rows]
        return st

    def step(self, ids: np.ndarray) -> np.ndarray:
        """Feed one character id per stream; return the next-character logits (K, vocab)."""
        for fn, args in self.before:
            fn(*args)
        if self.first_1 is not None:
            np.add(self.first_1, self.table[ids[0]], self.first_1)
        else:
            np.add(self.first, self.table[ids].T, self.first)
        for fn, args in self.after:
            fn(*args)
        return self.logits


def _spread(bias: np.ndarray, k: int) -> np.ndarray:
    """A bias column repeated over K columns: adding (rows, 1) to (rows, K) is ~4x slower than (rows, K)."""
    return np.ascontiguousarray(np.broadcast_to(bias, (bias.shape[0], k)))


def row_chunk(k: int, rows: int) -> int:
    """How many weight rows to multiply per BLAS call when stepping ``k`` streams.

    OpenBLAS multiplies a tall weight block by a few columns several times
    faster when the block is cut so that rows x k is about 1024 (measured on
    this model's shapes for k = 2..16: 2-3x at k = 2..8, ~1.3x at 16); one
    stream is a matrix-vector product, best in one call.

    >>> [row_chunk(k, 1024) for k in (1, 2, 3, 4, 8, 16, 64)]
    [1024, 512, 256, 256, 128, 64, 64]
    >>> row_chunk(4, 40)  # never more than the rows there are
    40
    """
    if k <= 1:
        return rows
    target = max(64, 1024 // k)
    return min(rows, 1 << (target.bit_length() - 1))  # a power of two; the last chunk may be shorter


def random_checkpoint(cfg: ModelConfig, vocab: Vocab, seed: int = 0, scale: float = 0.3) -> Checkpoint:
    """A checkpoint of random weights shaped for ``cfg`` (tests and benchmarks of the machinery)."""
    rng = np.random.default_rng(seed)
    shapes = weight_shapes(cfg, len(vocab))
    weights = {k: rng.normal(0, scale, size=s).astype(np.float32) for k, s in shapes.items()}
    return Checkpoint(weights, vocab, cfg)


@functools.cache
def one_blas_thread() -> None:
    """Limit the BLAS library to one thread, for the rest of the process (the first call does it).

    A step's matrix products are small: spreading them over threads costs more
    in hand-offs than it saves, ten times more on a busy machine. BLAS has no
    per-thread setting, and changing it while other threads multiply is not
    safe, so it is set once and never restored.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities from logits along the last axis (shifted by the maximum: no overflow)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_prob_of(logits: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Natural-log probability of ``ids[k]`` under ``softmax(logits[k])``, for every row k.

    >>> float(np.exp(log_prob_of(np.array([[0.0, 0.0]]), np.array([1]))[0]))
    0.5
    >>> log_prob_of(np.array([[0.0, 1000.0]]), np.array([1]))  # no overflow
    array([0.])
    """
    top = logits.max(axis=-1)
    norm = np.log(np.exp(logits - top[:, None]).sum(axis=-1))
    return logits[np.arange(len(ids)), ids] - top - norm
