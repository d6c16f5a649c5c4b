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
import re
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


MAX_LENGTH = 5000  # characters one tune may have the model write: 4x the longest Nottingham tune
MAX_CANDIDATES = 64  # tunes per call: keeps one call's time and memory bounded
MAX_PRIMER = 20_000  # characters of primer ABC: a long tune is ~2,000
MAX_TEMPERATURE = 5.0  # beyond this every character is near-equally likely: noise, not music

_KEY = re.compile(
    r"(?:[A-G][#b]? ?(?:maj|major|ion|ionian|m|min|minor|aeo|aeolian|mix|mixolydian|dor|dorian"
    r"|phr|phrygian|lyd|lydian|loc|locrian)?|none|HP|Hp)",
    re.IGNORECASE,
)
_METER = re.compile(r"C\|?|[1-9]\d?(?:\+[1-9]\d?)*/(?:1|2|4|8|16|32|64)")
_UNIT = re.compile(r"1/(?:1|2|4|8|16|32|64)")
_TUNE_TYPE = re.compile(r"[A-Za-z][A-Za-z '-]{0,29}")


def check_header_value(field: str, value: str) -> None:
    """Raise ValueError unless ``value`` is valid ABC for header ``field`` (K, M, L or R).

    >>> check_header_value("K", "F#dor"), check_header_value("M", "C|"), check_header_value("L", "1/8")
    (None, None, None)
    >>> check_header_value("M", "6/7")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: meter '6/7' is not an ABC meter: give beats/beat-length with a beat length of 1, 2, 4, ...
    >>> check_header_value("K", "H")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: key 'H' is not an ABC key: give a tonic A-G, optionally # or b, then optionally a mode ...
    """
    pattern, what, hint = {
        "K": (
            _KEY,
            "key",
            "give a tonic A-G, optionally # or b, then optionally a mode (e.g. G, Em, F#m, Bb, Ador, Dmix)",
        ),
        "M": (
            _METER,
            "meter",
            "give beats/beat-length with a beat length of 1, 2, 4, 8, 16, 32 or 64 (e.g. 6/8, 3/4, 2+3/8) or C or C|",
        ),
        "L": (_UNIT, "unit note length", "give 1/ and a power of two up to 64 (e.g. 1/8, 1/4, 1/16)"),
        "R": (_TUNE_TYPE, "tune type", "give a word or two in plain letters, at most 30 (e.g. jig, reel, slip jig)"),
    }[field]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not an ABC {what}: {hint}")


@dataclass(frozen=True)
class SampleConfig(_Config):
    """What to generate: one call of :meth:`musicgen.compose.sample.Generator.generate`.

    Every field is checked here, so a bad value fails with a sentence before any
    work is done. ``key``, ``meter``, ``unit_length`` and ``tune_type`` become the
    header lines ``K:``, ``M:``, ``L:``, ``R:`` of the tune ("a jig in D" is
    ``SampleConfig(tune_type="jig", key="D")``).
    """

    length: int = 1000  # most characters the model writes per tune; 99% of Nottingham tunes are shorter
    temperature: float = 0.9  # below 1 favours the model's likelier choices: steadier tunes, still varied
    top_k: int = 0  # sample among the k likeliest characters only; 0 = all of them
    top_p: float = 1.0  # sample among the likeliest characters holding this much probability; 1.0 = all
    seed_char: str | None = "X"  # the tune's first character; "X" starts a header, None = random per tune
    rng: int = 0  # random seed: the same settings and seed give the same tunes, byte for byte
    key: str | None = None  # K: line, e.g. "G", "Em", "Ador"; None = the model chooses
    meter: str | None = None  # M: line, e.g. "6/8"; None = the model chooses (or the tune type's usual meter)
    unit_length: str | None = None  # L: line, e.g. "1/8"; None = the model chooses or ABC's default
    tune_type: str | None = None  # R: line, e.g. "jig", "reel", "hornpipe"; None = the model chooses
    primer: str = ""  # ABC to continue (header lines and/or first bars); "" = start a new tune
    n: int = 1  # candidate tunes, generated together in one batched pass
    constrained: bool = False  # meter-aware decoding (keeps every bar the meter's length)

    def __post_init__(self) -> None:
        _check_int("length", self.length, 1, MAX_LENGTH, "characters")
        _check_int("n", self.n, 1, MAX_CANDIDATES, "candidate tunes")
        _check_int("rng", self.rng, 0, 2**63 - 1, "(a random seed)")
        _check_int("top_k", self.top_k, 0, 1_000_000, "(0 turns it off)")
        if not isinstance(self.temperature, (int, float)) or not 0.0 < self.temperature <= MAX_TEMPERATURE:
            raise ValueError(
                f"temperature must be above 0 and at most {MAX_TEMPERATURE} (got {self.temperature!r}); "
                "for the single likeliest character at each step use top_k=1"
            )
        if not isinstance(self.top_p, (int, float)) or not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be above 0 and at most 1 (got {self.top_p!r}); 1 turns it off")
        if self.seed_char is not None and (not isinstance(self.seed_char, str) or len(self.seed_char) != 1):
            raise ValueError(f"seed_char must be one character or None for a random one (got {self.seed_char!r})")
        for field, value in (("K", self.key), ("M", self.meter), ("L", self.unit_length), ("R", self.tune_type)):
            if value is not None:
                check_header_value(field, value)
        if not isinstance(self.primer, str) or len(self.primer) > MAX_PRIMER:
            raise ValueError(f"primer must be ABC text of at most {MAX_PRIMER:,} characters")
        if not isinstance(self.constrained, bool):
            raise ValueError(f"constrained must be True or False (got {self.constrained!r})")


def _check_int(name: str, value: Any, lo: int, hi: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo:,} to {hi:,} {unit} (got {value!r})")
