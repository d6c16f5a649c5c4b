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
import math
from dataclasses import dataclass
from typing import Any, TypeVar

from musicgen.abcnotation.forms import written_freely
from musicgen.abcnotation.header import check_setting
from musicgen.abcnotation.tunetypes import FORMS, NO_FORM, room_for, usual

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


MAX_WIDTH = 4096  # embedding and LSTM sizes: 8-16x the reference; a 4096-unit layer holds 134M weights
MAX_LAYERS = 8  # stacked LSTMs: the reference has 3
MAX_STEPS = 100_000  # epochs, patience: far beyond any run that ends
WINDOWS = ("streams", "chunks")  # TrainConfig.windows
SCHEDULES = ("plateau", "cosine")  # TrainConfig.schedule


@dataclass(frozen=True)
class ModelConfig(_Config):
    """The network's shape; the defaults are the reference architecture.

    Every field is checked here, with bounds, so that a hostile config.json fails
    with a sentence before anything is built:

    >>> ModelConfig(lstm_layers=1_000_000_000)
    Traceback (most recent call last):
    ...
    ValueError: lstm_layers must be a whole number from 1 to 8 (stacked LSTMs) (got 1000000000)
    """

    embedding_dim: int = 512  # reference: Embedding(vocab, 512)
    lstm_units: int = 256  # reference: LSTM(256) in every layer
    lstm_layers: int = 3  # reference: three stacked LSTMs
    dropout: float = 0.2  # reference: Dropout(0.2) after every LSTM

    def __post_init__(self) -> None:
        _check_int("embedding_dim", self.embedding_dim, 1, MAX_WIDTH, "(numbers per character)")
        _check_int("lstm_units", self.lstm_units, 1, MAX_WIDTH, "(units per LSTM)")
        _check_int("lstm_layers", self.lstm_layers, 1, MAX_LAYERS, "(stacked LSTMs)")
        if not _is_number(self.dropout) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1) (got {self.dropout!r})")


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How a model is trained: truncated back-propagation over windows of the training text.

    ``windows="streams"`` (the reference): the text is cut into ``batch_size`` contiguous
    streams and each window continues the last, the LSTM state carried across.
    ``windows="chunks"``: each epoch the text is cut into ``seq_len`` windows at a random
    offset, shuffled, and the state is zeroed before every batch (char-rnn's and the Keras
    text-generation example's way). The same network and weights either way.
    """

    batch_size: int = 32  # parallel text streams; the stateful batch shape
    seq_len: int = 64  # characters per back-propagation window
    learning_rate: float = 2e-3  # Adam; char-rnn's default, stable for this size
    epochs: int = 40  # an upper bound: early stopping usually ends sooner
    patience: int = 3  # epochs without a better val loss before stopping
    lr_decay: float = 0.5  # multiply the learning rate by this when val loss stalls one epoch
    val_fraction: float = 0.1  # share of tunes held out for validation (split by tune)
    seed: int = 0  # weights initialisation, per-epoch tune shuffling
    windows: str = "streams"  # "streams" (stateful, the reference) or "chunks" (see above)
    schedule: str = "plateau"  # "plateau": x lr_decay after an epoch without a better val loss; "cosine"
    warmup_steps: int = 0  # "cosine": batches of linear warm-up before the cosine decay to 0 at the last epoch
    augment: int = 0  # transpose each training tune by -augment..+augment semitones, drawn per tune and epoch
    augment_share: float = (
        0.5  # of the tunes each epoch, the share moved (the rest stay in the key they were written in)
    )

    def __post_init__(self) -> None:
        _check_int("batch_size", self.batch_size, 1, 65_536, "(parallel streams)")
        _check_int("seq_len", self.seq_len, 1, 65_536, "(characters per window)")
        _check_int("epochs", self.epochs, 1, MAX_STEPS, "(most epochs to train)")
        _check_int("patience", self.patience, 1, MAX_STEPS, "(epochs)")
        _check_int("seed", self.seed, 0, 2**32 - 1, "(a random seed)")  # NumPy's legacy seeding takes 32 bits
        _check_int("warmup_steps", self.warmup_steps, 0, MAX_STEPS, "(batches)")
        _check_int("augment", self.augment, 0, 6, "(semitones each way; 6 reaches every key)")
        for name, value, allowed in (("windows", self.windows, WINDOWS), ("schedule", self.schedule, SCHEDULES)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
        for name, value, what in (
            ("learning_rate", self.learning_rate, "a number above 0 and at most 1"),
            ("lr_decay", self.lr_decay, "a number above 0 and at most 1"),
            ("val_fraction", self.val_fraction, "a number above 0 and below 1"),
            ("augment_share", self.augment_share, "a number above 0 and at most 1"),
        ):
            if not _is_number(value) or not 0.0 < value <= 1.0 or (name == "val_fraction" and value == 1.0):
                raise ValueError(f"{name} must be {what} (got {value!r})")


def _is_number(value: Any) -> bool:
    """A finite int or float, not a bool (JSON's true is no learning rate)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


MAX_LENGTH = 5000  # characters one tune may have the model write: 4x the longest Nottingham tune
MAX_CANDIDATES = 64  # tunes per call: keeps one call's time and memory bounded
MAX_PRIMER = 20_000  # characters of primer ABC: a long tune is ~2,000
MAX_TEMPERATURE = 5.0  # beyond this every character is near-equally likely: noise, not music


@dataclass(frozen=True)
class SampleConfig(_Config):
    """What to generate: one call of :meth:`musicgen.compose.sample.Generator.generate`.

    Every field is checked here, so a bad value fails with a sentence before any
    work is done. ``key``, ``meter``, ``unit_length`` and ``tune_type`` become the
    header lines ``K:``, ``M:``, ``L:``, ``R:`` of the tune ("a jig in D" is
    ``SampleConfig(tune_type="jig", key="D")``); :mod:`musicgen.abcnotation.header`
    says which values are valid ABC.

    >>> SampleConfig(meter="13/8").free_writing is None  # free writing was asked for
    True
    >>> SampleConfig(meter="13/8", constrained=True).free_writing  # doctest: +ELLIPSIS
    'Meter-aware writing does not follow M:13/8 (it follows 2 to 12 beats of ...), so the model writes freely...'
    >>> SampleConfig(tune_type="waltz", constrained=True).written_form, SampleConfig(constrained=True).written_form
    ('AB', 'model')
    >>> SampleConfig(form="AB", length=300, constrained=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: A tune of the form AB (two 16-bar parts) takes about 540 characters (32 bars at about 15 ...
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
    # the form of the tune's parts under meter-aware writing: a name in abcnotation.tunetypes.FORMS ("AABB",
    # "AB", "A16", "ABC", "model": the model's choice of regular parts) or "none" (bars only); None = the tune
    # type's usual form, else the model's choice (bars only where the length leaves no room for it)
    form: str | None = None

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
                check_setting(field, value)  # a HeaderError (a ValueError) says what to write instead
        if not isinstance(self.primer, str) or len(self.primer) > MAX_PRIMER:
            raise ValueError(f"primer must be ABC text of at most {MAX_PRIMER:,} characters")
        if not isinstance(self.constrained, bool):
            raise ValueError(f"constrained must be True or False (got {self.constrained!r})")
        if self.form is not None and self.form not in (*FORMS, NO_FORM):
            raise ValueError(f"form must be one of {', '.join((*FORMS, NO_FORM))} (got {self.form!r})")
        if self.constrained and self.form is not None:
            no_room = room_for(self.form, self.length)
            if no_room:
                raise ValueError(no_room)

    @property
    def written_form(self) -> str:
        """The form meter-aware writing holds the tunes to (``"none"``: bars only, or writing freely): the
        one asked for; else the tune type's usual one, or the model's choice, where the length leaves room."""
        if not self.constrained or self.free_writing:
            return NO_FORM
        if self.form is not None:
            return self.form
        kind = usual(self.tune_type) if self.tune_type else None
        form = kind.form if kind else "model"
        return form if room_for(form, self.length) is None else NO_FORM

    @property
    def free_writing(self) -> str | None:
        """Why meter-aware writing cannot hold these settings' meter or unit length, as a sentence to show
        before generating; None when it can, or when it was not asked for. (The tune types' usual meters
        are all followed; a primer's own header is judged only while writing: ``Tune.meter_aware``.)"""
        return written_freely(self.meter, self.unit_length) if self.constrained else None


def _check_int(name: str, value: Any, lo: int, hi: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number from {lo:,} to {hi:,} {unit} (got {value!r})")
