"""What the Streamlit app (``app.py``) computes, without Streamlit: settings, permalinks, sound, badges.

``app.py`` lays out widgets and caches; everything it shows is computed here, so
it is tested directly (``tests/test_app_support.py``) and in the running app
(``tests/test_app.py``, ``tests/test_browser.py``).

- :class:`Settings`: every choice a user makes, turned into a
  :class:`~musicgen.config.SampleConfig` and into permalink query parameters
  (:func:`to_query` / :func:`from_query`) and back;
- :func:`make_sound`: ABC -> facts, MIDI and audio, with failures as sentences;
- :func:`badges`, :func:`tunebook`, :func:`file_stem`, :func:`char_label`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from musicgen.abcnotation import rhythm
from musicgen.compose.sample import ConstraintError, Generator
from musicgen.config import SampleConfig
from musicgen.data.corpus import join_tunes
from musicgen.sound import audio, convert, export

_DEFAULT = SampleConfig()
# The ranges the app's widgets offer; a permalink value outside them is reported and not used.
RANGES: dict[str, tuple[float, float]] = {
    "length": (1, 2000),
    "temperature": (0.1, 1.5),
    "seed": (0, 999_999),
    "n": (1, 8),
    "tempo": (0, 240),
}
PARSE_TIMEOUT_S = 20.0  # music21 on a long, odd tune; beyond this the tune is reported unreadable
AUDIO_FORMAT = "wav"  # every browser plays it; rendering needs no encoder
AUDIO_MIME = {"wav": "audio/wav", "ogg": "audio/ogg"}


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
    primer: str = ""  # ABC to continue ("continue my tune")
    n: int = _DEFAULT.n  # candidates written side by side
    instrument: str = "piano"  # a name in export.INSTRUMENTS
    accompaniment: bool = True  # chord accompaniment from the tune's chord symbols
    tempo: int = 0  # beats a minute in the tune's own beat (see make_sound); 0 keeps its Q: or a default
    constrained: bool = (
        True  # meter-aware generation (bars that add up): on, as measured better (benchmarks/quality.md)
    )

    def sample_config(self) -> SampleConfig:
        """The sampler's config; raises ValueError (a sentence) for out-of-range choices."""
        options: dict[str, Any] = dict(
            length=self.length,
            temperature=self.temperature,
            rng=self.seed,
            n=self.n,
            seed_char=self.seed_char or None,
            key=self.key or None,
            meter=self.meter or None,
            tune_type=self.tune_type or None,
            primer=self.primer,
            constrained=self.constrained,
        )
        return _DEFAULT.replace(**options)


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


def from_query(query: Mapping[str, str]) -> tuple[Settings, int, list[str]]:
    """Settings from permalink query parameters, the candidate shown, and what was ignored and why.

    Unknown parameters are ignored; unreadable values keep their default and are reported.

    >>> settings, pick, problems = from_query({"seed": "7", "key": "D", "pick": "1"})
    >>> settings == Settings(seed=7, key="D"), pick, problems
    (True, 1, [])
    >>> from_query({"seed": "seven", "colour": "red", "temperature": "0", "instrument": "kazoo"})[2]
    ["temperature='0' is outside 0.1 to 1.5", "seed='seven' is not a whole number", "instrument='kazoo' is not an instrument of this app"]
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


@dataclass(frozen=True)
class Sound:
    """What the app shows beside the ABC text: facts about the tune, its MIDI and audio, and failures."""

    title: str = ""
    meter: str = ""
    key: str = ""
    repairs: tuple[str, ...] = ()  # sentences: what the converter fixed to read the tune
    midi: bytes | None = None
    audio: bytes | None = None
    audio_mime: str = AUDIO_MIME[AUDIO_FORMAT]
    parse_error: str | None = None  # a sentence when the ABC could not be read as music
    audio_error: str | None = None  # a sentence when only the audio (or MIDI) failed
    bars: tuple[int, int] | None = None  # (correct, checked) inner bars, when known

    @property
    def parses(self) -> bool:
        return self.parse_error is None


def make_sound(abc: str, instrument: str = "piano", accompaniment: bool = True, tempo: int = 0) -> Sound:
    """Parse a tune and render its MIDI and audio; failures become sentences, never exceptions.

    ``tempo`` counts the beats a musician counts: dotted quarters in 6/8 and 9/8,
    half notes in 2/2, quarters in 4/4 (0 keeps the tune's own tempo).
    """
    try:
        parsed = convert.parse(abc, timeout=PARSE_TIMEOUT_S)
    except convert.InvalidABCError as e:
        return Sound(
            bars=bar_counts(abc),
            parse_error=(
                f"This tune cannot be read as music ({e}). Compose again with a new seed or a lower "
                "temperature; its ABC text is still below to read and download."
            ),
        )
    facts = dict(
        title=parsed.title or "",
        meter=parsed.meter or "",
        key=parsed.key or "",
        repairs=tuple(parsed.repairs),
        bars=bar_counts(abc),
    )
    quarters = tempo * parsed.beat  # the converter counts quarter notes
    if tempo and not export.MIN_TEMPO <= quarters <= export.MAX_TEMPO:
        beat = f"beats of {parsed.beat:g} quarter notes" if parsed.beat != 1 else "quarter-note beats"
        return Sound(
            **facts,
            audio_error=(
                f"A tempo of {tempo} beats a minute does not fit this tune's {parsed.meter} ({beat}): choose "
                f"{export.MIN_TEMPO / parsed.beat:.0f} to {export.MAX_TEMPO / parsed.beat:.0f}, or the tune's own."
            ),
        )
    try:
        midi = export.to_midi(parsed, instrument=instrument, accompaniment=accompaniment, tempo=quarters or None)
    except (convert.InvalidABCError, ValueError) as e:
        return Sound(
            **facts,
            audio_error=(
                f"No MIDI or audio could be made from this tune ({e}). Its ABC text is below to download; "
                "try another instrument or compose again."
            ),
        )
    try:
        sound = audio.render(midi, fmt=AUDIO_FORMAT)
    except audio.AudioError as e:
        return Sound(
            **facts,
            midi=midi,
            audio_error=(f"The audio could not be rendered ({e}). The ABC and MIDI files below still hold the tune."),
        )
    return Sound(**facts, midi=midi, audio=sound)


M_ARENA_MAX = -8  # glibc mallopt parameter: the most malloc arenas (per-thread heaps) a process makes
ARENAS = 2  # app server over 30-50 compositions: 275-310 MB, flat after 10, with 2; 370-450 MB, climbing, without


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc (macOS, Windows, musl): its allocator behaves differently


def limit_malloc_arenas(arenas: int = ARENAS) -> None:
    """Cap glibc's per-thread heaps for this process (glibc only; else nothing).

    Streamlit runs every script run in a new thread, and music21 parses in a
    helper thread; glibc gives busy threads their own heap ("arena"), up to 8 per
    core, and each keeps the memory a large render freed. Call it once, early.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)


def release_free_memory() -> None:
    """Hand memory freed by the last render back to the operating system (glibc only; else nothing).

    Rendering a minute of audio allocates and frees large arrays; glibc keeps
    freed heap memory for reuse, so a long-running server's resident size would
    ratchet up with the largest renders seen. Measured over 20 tunes of 512
    characters in one process: 150-250 MB without this, 100-125 MB with it.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def offers_constrained(gen: Generator) -> bool:
    """Whether the generator can do meter-aware decoding (a two-character trial run)."""
    try:
        gen.generate(SampleConfig(length=2, constrained=True))
    except ConstraintError:
        return False
    return True


def musicxml(abc: str) -> bytes:
    """The tune as MusicXML (for notation programs); raises convert.InvalidABCError."""
    return export.to_musicxml(convert.parse(abc, timeout=PARSE_TIMEOUT_S))


def bar_counts(abc: str) -> tuple[int, int]:
    r"""(correct, checked) inner bars of a tune: bars that are neither a section's first nor its last.

    >>> bar_counts("X:1\nM:3/4\nL:1/4\nK:C\nC|DEF|GA|B3|c3|]")
    (2, 3)
    """
    r = rhythm.analyse(abc)
    return r.inner_correct, len(r.checked)


@dataclass(frozen=True)
class Badge:
    """One quality mark shown beside a tune."""

    label: str
    ok: bool
    help: str


def badges(sound: Sound, ended: bool, final_bar: bool) -> list[Badge]:
    """The tune's quality marks: it parses, its bars add up, it ends cleanly (by itself, on a bar line).

    >>> [(b.label, b.ok) for b in badges(Sound(bars=(7, 8)), ended=False, final_bar=True)]
    [('parses', True), ('bars 7/8', False), ('cut off at the length limit', False)]
    >>> [b.label for b in badges(Sound(parse_error="no notes", bars=(0, 0)), ended=True, final_bar=False)]
    ['does not parse', 'no whole bars to check', 'ends mid-bar']
    """
    marks = [
        Badge(
            "parses" if sound.parses else "does not parse",
            sound.parses,
            "music21 reads the ABC and finds notes" if sound.parses else sound.parse_error or "",
        )
    ]
    if sound.bars is not None:
        good, total = sound.bars
        marks.append(
            Badge(
                f"bars {good}/{total}" if total else "no whole bars to check",
                total > 0 and good == total,
                "inner bars whose notes add up to the meter (first and last bars of a part may be short)",
            )
        )
    if not ended:
        marks.append(
            Badge(
                "cut off at the length limit",
                False,
                "the tune reached the length limit: raise the length for a complete tune",
            )
        )
    else:
        marks.append(
            Badge(
                "ends cleanly" if final_bar else "ends mid-bar",
                final_bar,
                "the model ended the tune itself" + (" on a bar line" if final_bar else ", without a bar line"),
            )
        )
    return marks


def tunebook(tunes: Sequence[str]) -> str:
    """All tunes as one ABC file, numbered X:1, X:2, ... in order, separated by blank lines.

    >>> print(tunebook(["X:9\\nT:A\\nK:G\\nGAB|", "T:B\\nK:D\\nDEF|"]), end="")
    X:1
    T:A
    K:G
    GAB|
    <BLANKLINE>
    X:2
    T:B
    K:D
    DEF|
    <BLANKLINE>
    """
    numbered = []
    for i, tune in enumerate(tunes, 1):
        body = re.sub(r"\AX:[^\n]*\n?", "", tune.strip("\n"))
        numbered.append(f"X:{i}\n{body}")
    return join_tunes(numbered)


def file_stem(title: str, seed: int, index: int = 0) -> str:
    """A safe file name (no extension) for a tune: its title, seed and candidate number.

    >>> file_stem("The Lark's Reel / No. 2", 42, 1)
    'the-lark-s-reel-no-2-seed42-2'
    >>> file_stem("", 0)
    'tune-seed0-1'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "tune"
    return f"{slug}-seed{seed}-{index + 1}"


def char_label(ch: str) -> str:
    """How a vocabulary character reads in a list.

    >>> [char_label(c) for c in ["", " ", "\\n", "A", '"']]
    ['random', 'space', 'new line', 'A', '"']
    """
    return {"": "random", " ": "space", "\n": "new line"}.get(ch, ch)


KEPT_LINES = frozenset("ABCDFGHIKLMNOPQRSTUVWXZmrswabcdefgABCDEFG")  # ABC 2.1 field letters; notes


def sheet_text(abc: str) -> str:
    r"""The tune as the sheet-music renderer should get it: lines of undefined fields left out.

    The Nottingham files carry a ``Y:`` line (not an ABC field) that the model
    learnt to write; abcjs draws its text as notes.

    >>> sheet_text("X:1\nT:A\nY:AB\nK:D\nd2|\nE:|\n")  # a line of music may start with a note and :|
    'X:1\nT:A\nK:D\nd2|\nE:|\n'
    """
    return "".join(
        line
        for line in abc.splitlines(keepends=True)
        if not (line[1:2] == ":" and line[:1].isalpha() and line[:1] not in KEPT_LINES)
    )


def card_parts(card: str) -> list[tuple[str, str]]:
    r"""A model card split into ("markdown", text) and ("image", file name) parts, in order.

    Images beside the card (``![loss](loss.png)``) cannot be shown by a Markdown
    renderer that does not know the card's folder; the app shows them itself.

    >>> card_parts("# Card\n![loss per epoch](loss.png)\nVal loss 1.2")
    [('markdown', '# Card'), ('image', 'loss.png'), ('markdown', 'Val loss 1.2')]
    >>> card_parts("see ![a](https://example.org/a.png) inline")
    [('markdown', 'see ![a](https://example.org/a.png) inline')]
    """
    parts: list[tuple[str, str]] = []
    text: list[str] = []
    for line in card.splitlines():
        m = re.fullmatch(r"\s*!\[[^\]]*\]\(([\w.-]+)\)\s*", line)
        if m is None:
            text.append(line)
            continue
        if "\n".join(text).strip():
            parts.append(("markdown", "\n".join(text).strip()))
        text = []
        parts.append(("image", m[1]))
    if "\n".join(text).strip():
        parts.append(("markdown", "\n".join(text).strip()))
    return parts
