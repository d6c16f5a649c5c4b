"""Frozen configuration dataclasses for the model, training and sampling.

Every default carries a comment saying why it is what it is. Configs round-trip
through plain dicts (and so JSON) with ``to_dict`` / ``from_dict``; unknown keys
are an error, so a checkpoint written by a newer version fails loudly.

>>> ModelConfig.from_dict(ModelConfig().to_dict()) == ModelConfig()
True
>>> ModelConfig.from_dict({"lstm_units": 8}).lstm_units
8
>>> ModelConfig.from_dict({"units": 8})
Traceback (most recent call last):
...
ValueError: ModelConfig has no field(s) units
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T", bound="_Config")


class _Config:
    """Shared dict conversion for the frozen config dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
        return cls(**data)

    def replace(self: T, **changes: Any) -> T:
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network's shape; the defaults are the reference architecture."""

    embedding_dim: int = 512  # reference: Embedding(vocab, 512)
    lstm_units: int = 256  # reference: LSTM(256) in every layer
    lstm_layers: int = 3  # reference: three stacked LSTMs
    dropout: float = 0.2  # reference: Dropout(0.2) after every LSTM

    def __post_init__(self) -> None:
        if min(self.embedding_dim, self.lstm_units, self.lstm_layers) < 1:
            raise ValueError("embedding_dim, lstm_units and lstm_layers must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How a model is trained (stateful truncated back-propagation over parallel streams)."""

    batch_size: int = 32  # parallel text streams; the stateful batch shape
    seq_len: int = 64  # characters per back-propagation window
    learning_rate: float = 2e-3  # Adam; char-rnn's default, stable for this size
    epochs: int = 40  # an upper bound: early stopping usually ends sooner
    patience: int = 3  # epochs without a better val loss before stopping
    lr_decay: float = 0.5  # multiply the learning rate by this when val loss stalls one epoch
    val_fraction: float = 0.1  # share of tunes held out for validation (split by tune)
    seed: int = 0  # weights initialisation, per-epoch tune shuffling

    def __post_init__(self) -> None:
        if min(self.batch_size, self.seq_len, self.epochs) < 1:
            raise ValueError("batch_size, seq_len and epochs must be positive")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError("val_fraction must be in (0, 1)")
