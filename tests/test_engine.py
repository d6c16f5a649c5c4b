"""The NumPy engine against Keras (the golden test), and its stepping machinery.

The golden tests import TensorFlow (seconds), so they are marked slow.
"""

from __future__ import annotations

import numpy as np
import pytest

from musicgen.config import ModelConfig
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint
from musicgen.model.engine import Engine, log_prob_of, softmax

VOCAB = Vocab.from_text("")
TINY = ModelConfig(embedding_dim=8, lstm_units=6, lstm_layers=3, dropout=0.0)


def keras_probabilities(ckpt: Checkpoint, ids: np.ndarray) -> np.ndarray:
    """Keras's next-character probabilities (K, T, V) for a (K, T) block, from the zero state."""
    from musicgen.model.network import build_model, set_named_weights

    model = build_model(ckpt.model, len(ckpt.vocab), batch_size=ids.shape[0], seq_len=None, stateful=True)
    set_named_weights(model, ckpt.weights)
    return np.asarray(model(ids.astype(np.int32), training=False))


def engine_probabilities(ckpt: Checkpoint, ids: np.ndarray) -> np.ndarray:
    engine = Engine(ckpt)
    st = engine.stepper(ids.shape[0])
    return np.stack([softmax(st.step(ids[:, t])) for t in range(ids.shape[1])], axis=1)


def keras_checkpoint(cfg: ModelConfig, vocab: Vocab) -> Checkpoint:
    """A checkpoint of a freshly initialised Keras model (Keras's own initialisers)."""
    from musicgen.model.network import build_model, named_weights

    model = build_model(cfg, len(vocab), batch_size=1, seq_len=None, stateful=False)
    return Checkpoint(named_weights(model), vocab, cfg)


@pytest.mark.slow
def test_golden_500_steps_match_keras_two_streams() -> None:
    """Keras-initialised weights of the shipped shape; two different streams at once."""
    import keras

    keras.utils.set_random_seed(3)
    ckpt = keras_checkpoint(ModelConfig(), VOCAB)
    # 1.5x Keras's start: probabilities spread from ~0.003 to ~0.04, yet the network is not so
    # chaotic that float rounding alone makes two correct implementations drift apart
    weights = {k: v * 1.5 for k, v in ckpt.weights.items()}
    ckpt = Checkpoint(weights, VOCAB, ckpt.model)
    text = "X:1\nT:Golden\nM:6/8\nK:G\n|:GAB c2d|e2f g3|" * 20
    ids = np.stack([VOCAB.encode(text[:500]), VOCAB.encode(text[7:507])])
    expected = keras_probabilities(ckpt, ids)
    got = engine_probabilities(ckpt, ids)
    assert got.shape == expected.shape == (2, 500, len(VOCAB))
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.slow
@pytest.mark.skipif(not (checkpoint.shipped_weights() / "weights.npz").is_file(), reason="no shipped weights")
def test_golden_500_steps_match_keras_on_shipped_weights() -> None:
    ckpt = checkpoint.load(checkpoint.shipped_weights())
    text = (
        'X:1\nT:Golden\nS:a test\nM:4/4\nL:1/8\nK:D\n|:"D"A2FA dAFA|"G"B2GB dBGB|"A"A2FA "D"dfed|"A7"cABc "D"d4:|\n'
    ) * 5
    ids = ckpt.vocab.encode(text[:500])[None, :]
    np.testing.assert_allclose(engine_probabilities(ckpt, ids), keras_probabilities(ckpt, ids), atol=1e-5, rtol=0)


def naive_step(w: dict[str, np.ndarray], cfg: ModelConfig, ids: np.ndarray, state: list) -> tuple[np.ndarray, list]:
    """The LSTM written out plainly, straight from Keras's equations (gates i, f, c, o)."""
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    u, x, new = cfg.lstm_units, w["embedding"][ids].astype(np.float64), []
    for i, (h, c) in enumerate(state):
        z = x @ w[f"lstm_{i}/kernel"] + h @ w[f"lstm_{i}/recurrent_kernel"] + w[f"lstm_{i}/bias"]
        c = sig(z[:, u : 2 * u]) * c + sig(z[:, :u]) * np.tanh(z[:, 2 * u : 3 * u])
        x = sig(z[:, 3 * u :]) * np.tanh(c)
        new.append((x, c))
    return x @ w["dense/kernel"] + w["dense/bias"], new


@pytest.mark.parametrize(
    ("cfg", "k"),
    [
        (TINY, 3),
        # 4 x 50 = 200 weight rows, multiplied in chunks of 128 for 8 streams: a short last chunk
        (ModelConfig(embedding_dim=10, lstm_units=50, lstm_layers=2, dropout=0.0), 8),
        (ModelConfig(embedding_dim=10, lstm_units=64, lstm_layers=2, dropout=0.0), 1),
        (ModelConfig(embedding_dim=6, lstm_units=5, lstm_layers=1, dropout=0.0), 2),  # no stacked layer
        (ModelConfig(embedding_dim=6, lstm_units=5, lstm_layers=4, dropout=0.0), 2),
    ],
)
def test_engine_matches_plain_equations_over_many_steps(cfg: ModelConfig, k: int) -> None:
    ckpt = checkpoint_random(cfg, seed=1, scale=1.0 if cfg is TINY else 0.3)
    w = {name: v.astype(np.float64) for name, v in ckpt.weights.items()}
    ids = np.random.default_rng(0).integers(0, len(VOCAB), size=(k, 200))
    state = [(np.zeros((k, cfg.lstm_units)),) * 2 for _ in range(cfg.lstm_layers)]
    st = Engine(ckpt).stepper(k)
    for t in range(ids.shape[1]):
        expected, state = naive_step(w, cfg, ids[:, t], state)
        np.testing.assert_allclose(st.step(ids[:, t]), expected, atol=2e-5)


def checkpoint_random(cfg: ModelConfig, seed: int, scale: float) -> Checkpoint:
    from musicgen.model.engine import random_checkpoint

    return random_checkpoint(cfg, VOCAB, seed, scale)


def test_select_keeps_streams_independent() -> None:
    """Dropping and reordering streams mid-run leaves each surviving stream's output unchanged."""
    engine = Engine(checkpoint_random(TINY, seed=4, scale=1.0))
    ids = np.random.default_rng(1).integers(0, len(VOCAB), size=(4, 30))
    full = engine.stepper(4)
    outs = [full.step(ids[:, t]).copy() for t in range(30)]
    part = engine.stepper(4)
    for t in range(10):
        part.step(ids[:, t])
    part = part.select([3, 1])
    for t in range(10, 30):
        np.testing.assert_allclose(part.step(ids[[3, 1], t]), outs[t][[3, 1]], atol=1e-6)


def test_log_likelihood_counts_text_after_context() -> None:
    engine = Engine(checkpoint_random(TINY, seed=5, scale=0.5))
    text = "X:1\nK:G\nGAB|"
    [(logp, n)] = engine.log_likelihood([text])
    ids = VOCAB.encode("\n\n" + text)
    st, expected = engine.stepper(1), 0.0
    for t in range(len(ids) - 1):
        logp_next = float(log_prob_of(st.step(ids[t : t + 1]), ids[t + 1 : t + 2])[0])
        expected += logp_next if t >= 1 else 0.0  # the context's own characters do not count
    assert n == len(text)
    assert logp == pytest.approx(expected, abs=1e-4)
    # batching with a longer text does not change the shorter one's score
    [(logp2, n2), _] = engine.log_likelihood([text, text * 3])
    assert (logp2, n2) == (pytest.approx(logp, abs=1e-4), n)
