"""The LSTM forward pass in NumPy over a checkpoint's weights, batched over K streams.

No TensorFlow here: generation and scoring import this instead of the Keras
model. The maths is Keras's LSTM (gates i, f, c, o; sigmoid recurrent
activation, tanh activation) followed by the Dense softmax; dropout is off as
at inference. ``tests/test_engine_golden.py`` checks it against Keras.

>>> from musicgen.config import ModelConfig
>>> from musicgen.vocab import Vocab
>>> eng = Engine.random(ModelConfig(8, 4, 2, 0.0), Vocab.from_text(""), seed=0)
>>> state = eng.initial_state(3)
>>> probs, state = eng.step(np.array([0, 1, 2]), state)
>>> probs.shape, bool(np.allclose(probs.sum(axis=1), 1.0))
((3, 100), True)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .checkpoint import Checkpoint, weight_shapes
from .config import ModelConfig
from .vocab import Vocab

State = list[tuple[np.ndarray, np.ndarray]]  # (h, c) per layer, each (K, units)


class Engine:
    """Runs a checkpoint's network one character at a time for K streams at once.

    It holds weights only, never a stream's state, so one engine can serve many
    users at once: every call takes the state in and gives the new state back.
    """

    def __init__(self, ckpt: Checkpoint) -> None:
        w = {k: np.asarray(v, dtype=np.float32) for k, v in ckpt.weights.items()}
        self.vocab: Vocab = ckpt.vocab
        self.config: ModelConfig = ckpt.model
        self.units = ckpt.model.lstm_units
        self.layers = ckpt.model.lstm_layers
        # The first layer's input projection is folded into the embedding table:
        # embedding[id] @ kernel + bias is one row lookup per character.
        self.input_table = w["embedding"] @ w["lstm_0/kernel"] + w["lstm_0/bias"]
        self.kernels = [w[f"lstm_{i}/kernel"] for i in range(self.layers)]
        self.recurrent = [w[f"lstm_{i}/recurrent_kernel"] for i in range(self.layers)]
        self.biases = [w[f"lstm_{i}/bias"] for i in range(self.layers)]
        self.dense_kernel = w["dense/kernel"]
        self.dense_bias = w["dense/bias"]

    @classmethod
    def random(cls, cfg: ModelConfig, vocab: Vocab, seed: int = 0) -> "Engine":
        """An engine over random weights (for tests of the machinery, not of music)."""
        rng = np.random.default_rng(seed)
        shapes = weight_shapes(cfg, len(vocab))
        weights = {k: rng.normal(0, 0.3, size=s).astype(np.float32) for k, s in shapes.items()}
        return cls(Checkpoint(weights, vocab, cfg))

    def initial_state(self, k: int) -> State:
        zeros = np.zeros((k, self.units), dtype=np.float32)
        return [(zeros.copy(), zeros.copy()) for _ in range(self.layers)]

    def step_logits(self, ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed one character per stream; return next-character logits (K, vocab) and the new state."""
        u = self.units
        new_state: State = []
        x = None
        for i, (h, c) in enumerate(state):
            z = self.input_table[ids] if i == 0 else x @ self.kernels[i] + self.biases[i]
            z = z + h @ self.recurrent[i]
            gate_i = _sigmoid(z[:, :u])
            gate_f = _sigmoid(z[:, u : 2 * u])
            cand = np.tanh(z[:, 2 * u : 3 * u])
            gate_o = _sigmoid(z[:, 3 * u :])
            c = gate_f * c + gate_i * cand
            x = gate_o * np.tanh(c)
            new_state.append((x, c))
        return x @ self.dense_kernel + self.dense_bias, new_state

    def step(self, ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed one character per stream; return next-character probabilities (K, vocab) and the new state."""
        logits, state = self.step_logits(ids, state)
        return softmax(logits), state

    def feed(self, ids: np.ndarray, state: State) -> tuple[np.ndarray, State]:
        """Feed a (K, T) block of characters; return the probabilities after the last one."""
        probs = None
        for t in range(ids.shape[1]):
            probs, state = self.step(ids[:, t], state)
        assert probs is not None, "feed needs at least one character"
        return probs, state

    def log_likelihood(self, texts: Sequence[str], context: str = "\n\n") -> list[tuple[float, int]]:
        """Sum of natural-log probabilities of each text's characters, and their count.

        Each text starts from a zeroed state fed ``context`` (by default the blank
        line that ends the previous tune, which is what the model saw in training
        before every tune). Texts run batched; shorter ones are masked out.
        """
        encoded = [self.vocab.encode(context + t) for t in texts]
        n_ctx = len(context)
        longest = max((len(e) for e in encoded), default=0)
        ids = np.zeros((len(texts), longest), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = e
        lengths = np.array([len(e) for e in encoded])
        total = np.zeros(len(texts))
        state = self.initial_state(len(texts))
        rows = np.arange(len(texts))
        for t in range(longest - 1):
            logits, state = self.step_logits(ids[:, t], state)
            logp = log_softmax(logits)[rows, ids[:, t + 1]]
            total += np.where((t + 1 >= n_ctx) & (t + 1 < lengths), logp, 0.0)
        return [(float(s), int(n - n_ctx)) for s, n in zip(total, lengths)]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # same value as 1/(1+e^-x), no overflow warnings


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
