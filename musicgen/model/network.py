"""The network, defined once: Embedding -> N x (LSTM + Dropout) -> Dense softmax.

This is the only file that builds the Keras model. Everything else sees the
weights as a plain ``{name: ndarray}`` dict (see :func:`named_weights`), the form
the checkpoint stores and the NumPy engine reads, so the names below are the
checkpoint format:

``embedding``                               (vocab, embedding_dim)
``lstm_{i}/kernel``                         (input_dim, 4 * units), gates i, f, c, o
``lstm_{i}/recurrent_kernel``               (units, 4 * units)
``lstm_{i}/bias``                           (4 * units,)
``dense/kernel``, ``dense/bias``            (units, vocab), (vocab,)

Importing this module imports TensorFlow (seconds, hundreds of MB): only
training, benchmarks and the golden test do.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLI

import keras  # noqa: E402
import numpy as np  # noqa: E402

from musicgen.config import ModelConfig  # noqa: E402


def build_model(
    cfg: ModelConfig,
    vocab_size: int,
    batch_size: int | None = 1,
    seq_len: int | None = None,
    stateful: bool = True,
) -> keras.Model:
    """Build (uncompiled) the character LSTM.

    A stateful model needs a fixed ``batch_size`` (Keras 3 takes it from
    ``keras.Input(batch_shape=...)``); its LSTM state carries over from one call
    to the next until :func:`reset_state`.
    """
    if stateful and batch_size is None:
        raise ValueError("a stateful model needs a fixed batch_size")
    inputs = keras.Input(batch_shape=(batch_size, seq_len), dtype="int32", name="chars")
    x = keras.layers.Embedding(vocab_size, cfg.embedding_dim, name="embedding")(inputs)
    for i in range(cfg.lstm_layers):
        x = keras.layers.LSTM(cfg.lstm_units, return_sequences=True, stateful=stateful, name=f"lstm_{i}")(x)
        x = keras.layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(vocab_size, activation="softmax", name="dense")(x)
    return keras.Model(inputs, outputs, name="char_lstm")


def reset_state(model: keras.Model) -> None:
    """Zero the (h, c) state of every stateful LSTM layer."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.LSTM) and layer.stateful:
            layer.reset_state()


def named_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights as the checkpoint's ``{name: array}`` dict."""
    out: dict[str, np.ndarray] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            out["embedding"] = np.asarray(layer.embeddings.numpy())
        elif isinstance(layer, keras.layers.LSTM):
            kernel, recurrent, bias = (np.asarray(w) for w in layer.get_weights())
            out[f"{layer.name}/kernel"] = kernel
            out[f"{layer.name}/recurrent_kernel"] = recurrent
            out[f"{layer.name}/bias"] = bias
        elif isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(w) for w in layer.get_weights())
            out["dense/kernel"], out["dense/bias"] = kernel, bias
    return out


def set_named_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Load a checkpoint's ``{name: array}`` dict into a model built by :func:`build_model`."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.Embedding):
            layer.set_weights([weights["embedding"]])
        elif isinstance(layer, keras.layers.LSTM):
            n = layer.name
            layer.set_weights([weights[f"{n}/kernel"], weights[f"{n}/recurrent_kernel"], weights[f"{n}/bias"]])
        elif isinstance(layer, keras.layers.Dense):
            layer.set_weights([weights["dense/kernel"], weights["dense/bias"]])
