"""Every choice a user of the app makes, as one frozen dataclass, and the permalink that carries it.

    settings = Settings(seed=7, key="D")
    cfg = settings.sample_config()                  # what the sampler gets (ValueError: a sentence)
    query = to_query(settings, pick=1)              # permalink query parameters
    settings, pick, problems = from_query(query)    # and back, with what could not be read

A permalink holds the seed and what differs from the defaults; a value it holds outside the
ranges the widgets offer (:data:`RANGES`) is reported and not used.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from musicgen.abcnotation import tunetypes
from musicgen.config import SampleConfig
from musicgen.sound import export

_DEFAULT = SampleConfig()
# The ranges the app's widgets offer; a permalink value outside them is reported and not used.
RANGES: dict[str, tuple[float, float]] = {
    "length": (1, 2000),
    "temperature": (0.1, 1.5),
    "seed": (0, 999_999),
    "n": (1, 8),
    "tempo": (0, 240),
}


# What the page's lists offer; "" reads as the model's choice (a permalink's other value joins its list).
KEYS = ["", "G", "D", "A", "C", "F", "Bb", "E", "Am", "Em", "Dm", "Gm", "Bm", "Ador", "Edor", "Dmix", "Gmix"]
METERS = ["", "4/4", "6/8", "3/4", "2/4", "9/8", "6/4", "3/2", "2/2"]
TUNE_TYPES = ["", *(t.name for t in tunetypes.TUNE_TYPES)]  # the types whose usual meter the prompt knows
TUNE_TYPE_HELP = "R: line of the tune. Without a meter or a form, the type's usual ones are used:\n\n" + "\n".join(
    f"- {t.name}: {t.meter}, {t.form} ({tunetypes.FORMS[t.form].words})" for t in tunetypes.TUNE_TYPES
)
TEMPOS = [0, *range(40, 241, 10)]  # beats a minute in the tune's own beat; 0: the tune's own tempo
FORMS = ["", *tunetypes.FORMS, tunetypes.NO_FORM]  # "": the tune type's usual form, else the model's choice
FORM_HELP = (
    "How the tune's parts go, with meter-aware writing. Every form ends on the tonic of the key. The usual "
    "form is the tune type's (a reel: AABB), else the model's choice."
)


def form_label(form: str) -> str:
    """How the page names a form.

    >>> form_label(""), form_label("AABB"), form_label("none")
    ('usual form', 'AABB: two 8-bar parts, each repeated', 'none: bars only, parts of any length')
    """
    if not form:
        return "usual form"
    if form == tunetypes.NO_FORM:
        return f"{form}: bars only, parts of any length"
    known = tunetypes.FORMS.get(form)
    return f"{form}: {known.words}" if known else form


@dataclass(frozen=True)
class Settings:
    """Everything a user chooses; together with the weights it fixes the tunes exactly."""

    seed_char: str = _DEFAULT.seed_char or ""  # the tune's first character; "" = a random one per tune
    length: int = _DEFAULT.length  # the most characters to write (a tune usually ends sooner)
    temperature: float = _DEFAULT.temperature
    seed: int = 0  # the random seed: the same seed and settings give the same tunes
    key: str = ""  # "" lets the model choose
    meter: str = ""  # "" lets the model choose
    tune_type: str = ""  # "" lets the model choose
    form: str = ""  # "" = the tune type's usual form, else the model's choice (see tunetypes.FORMS)
    primer: str = ""  # ABC to continue ("continue my tune")
    n: int = _DEFAULT.n  # candidates written side by side
    instrument: str = "piano"  # a name in export.INSTRUMENTS
    accompaniment: bool = True  # chord accompaniment from the tune's chord symbols
    tempo: int = 0  # beats a minute in the tune's own beat (see make_sound); 0 keeps its Q: or a default
    constrained: bool = (
        True  # meter-aware generation (bars that add up): on, as measured better (benchmarks/quality.md)
    )

    def sample_config(self) -> SampleConfig:
        """The sampler's config; raises ValueError (a sentence) for out-of-range choices.

        >>> Settings(seed_char="T", key="D").sample_config()
        Traceback (most recent call last):
        ...
        ValueError: a tune that starts with its title has no header for the key, meter, tune type or primer you chose; start it header first, or leave those to the model
        """
        if self.seed_char not in ("", "X") and (self.key or self.meter or self.tune_type or self.primer):
            start = "with its title" if self.seed_char == "T" else f"with the character {self.seed_char!r}"
            raise ValueError(
                f"a tune that starts {start} has no header for the key, meter, tune type or primer you chose; "
                "start it header first, or leave those to the model"
            )
        options: dict[str, Any] = dict(
            length=self.length,
            temperature=self.temperature,
            rng=self.seed,
            n=self.n,
            seed_char=self.seed_char or None,
            key=self.key or None,
            meter=self.meter or None,
            tune_type=self.tune_type or None,
            form=self.form or None,
            primer=self.primer,
            constrained=self.constrained,
        )
        return _DEFAULT.replace(**options)

    def free_writing(self) -> str | None:
        """Why meter-aware writing cannot hold these settings' meter, as a sentence; None when it can, when it is
        off, or when the settings are out of range (composing says so).

        >>> Settings(meter="6/8").free_writing() is None, Settings(meter="13/8", constrained=False).free_writing()
        (True, None)
        >>> Settings(meter="13/8").free_writing()  # doctest: +ELLIPSIS
        'Meter-aware writing does not follow M:13/8 (it follows 2 to 12 beats of half, quarter or eighth notes, ...'
        """
        try:
            return self.sample_config().free_writing
        except ValueError:
            return None


# What each setting that writes the tune is called on the page (sound settings apply to the tune shown at once).
WRITING_LABELS = {
    "key": "key",
    "meter": "meter",
    "tune_type": "tune type",
    "form": "form",
    "seed_char": "start",
    "primer": "primer",
    "length": "length",
    "temperature": "temperature",
    "seed": "seed",
    "n": "candidates",
    "constrained": "meter-aware writing",
}


def changed(made: Settings, now: Settings) -> list[str]:
    """The settings that write a tune which differ between ``made`` (the tune shown) and ``now`` (the page), by name.

    >>> changed(Settings(seed=1), Settings(seed=2, key="D", tempo=120))
    ['key', 'seed']
    """
    return [label for name, label in WRITING_LABELS.items() if getattr(made, name) != getattr(now, name)]


def to_query(settings: Settings, pick: int = 0) -> dict[str, str]:
    """Permalink query parameters: every setting that differs from the default, and the seed.

    >>> to_query(Settings(seed=7, key="D", accompaniment=False))
    {'seed': '7', 'key': 'D', 'accompaniment': '0'}
    >>> to_query(Settings(seed=7), pick=2)
    {'seed': '7', 'pick': '2'}
    """
    query: dict[str, str] = {}
    default = Settings()
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "seed" or value != getattr(default, f.name):
            query[f.name] = str(int(value)) if isinstance(value, bool) else str(value)
    if pick:
        query["pick"] = str(pick)
    return query


def from_query(query: Mapping[str, str], seed_chars: Collection[str] | None = None) -> tuple[Settings, int, list[str]]:
    """Settings from permalink query parameters, the candidate shown, and what was ignored and why.

    Unknown parameters are ignored; unreadable values keep their default and are reported.
    ``seed_chars``: the seed characters the page offers (the model's printable ones); another
    ``seed_char`` is reported, never quietly turned into a random one.

    >>> settings, pick, problems = from_query({"seed": "7", "key": "D", "pick": "1"})
    >>> settings == Settings(seed=7, key="D"), pick, problems
    (True, 1, [])
    >>> from_query({"seed": "seven", "colour": "red", "temperature": "0", "instrument": "kazoo"})[2]
    ["temperature='0' is outside 0.1 to 1.5", "seed='seven' is not a whole number", "instrument='kazoo' is not an instrument of this app"]
    >>> from_query({"seed_char": "XX"})[2], from_query({"seed_char": "é"}, seed_chars="ABX")[2]
    (["the tune's start (seed_char='XX') is not one character"], ["the tune's start (seed_char='é') is not one this page offers"])
    >>> from_query({"seed_char": "A"}, seed_chars="ABX")[0].seed_char
    'A'
    """
    default = Settings()
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in dataclasses.fields(Settings):
        if f.name not in query:
            continue
        raw = str(query[f.name])
        try:
            values[f.name] = _parse_value(raw, type(getattr(default, f.name)), RANGES.get(f.name))
        except ValueError as e:
            problems.append(f"{f.name}={raw!r} {e}")
    if "instrument" in values and values["instrument"] not in export.INSTRUMENTS:
        problems.append(f"instrument={values.pop('instrument')!r} is not an instrument of this app")
    char = values.get("seed_char", "")
    if len(char) > 1:
        problems.append(f"the tune's start (seed_char={values.pop('seed_char')!r}) is not one character")
    elif char and seed_chars is not None and char not in seed_chars:
        problems.append(f"the tune's start (seed_char={values.pop('seed_char')!r}) is not one this page offers")
    pick = 0
    if "pick" in query:
        try:
            pick = max(0, _parse_value(str(query["pick"]), int))
        except ValueError as e:
            problems.append(f"pick={query['pick']!r} {e}")
    return Settings(**values), pick, problems


def _parse_value(raw: str, kind: type, limits: tuple[float, float] | None = None) -> Any:
    value = _parse_typed(raw, kind)
    if limits is not None and not limits[0] <= value <= limits[1]:
        raise ValueError(f"is outside {limits[0]:g} to {limits[1]:g}")
    return value


def _parse_typed(raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("is not on/off (1 or 0)")
    if kind is int:
        if not re.fullmatch(r"-?\d{1,18}", raw.strip()):
            raise ValueError("is not a whole number")
        return int(raw)
    if kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("is not a number") from None
    return raw
