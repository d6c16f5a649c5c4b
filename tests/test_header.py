"""Header values have one owner (:mod:`musicgen.abcnotation.header`): the settings, the line checks before
music21 and the quality measures accept the same keys, meters and unit lengths; the tune-type table, the
note-length rule and the title slug are each shared by every reader; and a meter the settings accept but
meter-aware writing does not follow is named, before generating, in the library, the command line and the app.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from musicgen.abcnotation import forms, header, tunetypes
from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.check import InvalidABCError, check_and_repair
from musicgen.abcnotation.rhythm import analyse
from musicgen.app.settings import Settings
from musicgen.app.support import file_stem
from musicgen.app.text import shown
from musicgen.compose.constrain import FREE_WRITING
from musicgen.compose.prompt import build_prompt
from musicgen.config import SampleConfig
from musicgen.judge.features import header_problems
from musicgen.sound.accompaniment import default_tempo

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.mark.parametrize(
    "value, name, altered",
    [
        ("D", "D", {"F": 1, "C": 1}),
        ("Gm", "Gm", {"B": -1, "E": -1}),
        ("Ador", "Ador", {"F": 1}),
        ("E phrygian", "Ephr", {}),
        ("C# minor", "C#m", {"F": 1, "C": 1, "G": 1, "D": 1}),
        ("G#m", "G#m", {"F": 1, "C": 1, "G": 1, "D": 1, "A": 1}),
        ("Bb", "Bb", {"B": -1, "E": -1}),
        ("G clef=treble", "G", {"F": 1}),
        ("D exp ^f", "D", {"F": 1}),  # exp: only the accidentals given
    ],
)
def test_keys(value: str, name: str, altered: dict[str, int]) -> None:
    assert header.parse_key(value) == (name, altered)


@pytest.mark.parametrize("value", ["H", "Gmi", "G#mixolydianx", "G#", "Fb", "K", "G foo"])
def test_not_keys(value: str) -> None:
    with pytest.raises(header.HeaderError, match="key"):
        header.parse_key(value)


def test_header_ends_at_the_first_key_line() -> None:
    assert header.header_fields("X:1\nT:a\nK:G\nM:6/8\nT:b\nabc|") == {"X": "1", "T": "a", "K": "G"}


# (field, value): valid or not, every reader agrees
AGREE = [
    ("K", "G"),
    ("K", "g"),  # a small tonic: music21 reads it; the settings took it while the line checks refused it
    ("K", "G#m"),
    ("K", "Fb"),  # eight flats
    ("K", "G major"),
    ("K", "Hminor"),
    ("M", "6/8"),
    ("M", "C|"),
    ("M", "2+3/8"),
    ("M", "13/8"),
    ("M", "40/8"),  # the settings took it while the line checks refused it
    ("M", "6/7"),
    ("L", "1/8"),
    ("L", "1/32"),
    ("L", "1/128"),
    ("L", "3/8"),
]


@pytest.mark.parametrize("field, value", AGREE)
def test_settings_line_checks_and_quality_measures_agree(field: str, value: str) -> None:
    name = {"K": "key", "M": "meter", "L": "unit_length"}[field]
    try:
        SampleConfig(**{name: value})
        settings_ok = True
    except ValueError:
        settings_ok = False
    try:
        check_and_repair(f"X:1\nT:t\n{field}:{value}\nK:{'C' if field != 'K' else value}\nC|\n")
        lines_ok = True
    except InvalidABCError:
        lines_ok = False
    heading = f"X:1\nT:t\nM:{value if field == 'M' else '4/4'}\nL:{value if field == 'L' else '1/8'}\n"
    quality_ok = not header_problems(heading + f"K:{value if field == 'K' else 'C'}\nC|")
    assert settings_ok == lines_ok == quality_ok, (settings_ok, lines_ok, quality_ok)


def test_a_setting_is_one_plain_value() -> None:
    for field, value in [("K", "G % comment"), ("M", " 6/8"), ("M", "6 / 8"), ("K", "G\nT:x"), ("M", "none")]:
        with pytest.raises(header.HeaderError):
            header.check_setting(field, value)


@pytest.mark.parametrize("meter", ["3/16", "13/8", "2+3/8"])
def test_a_meter_written_freely_is_named_before_generating_and_the_primer_is_not_blamed(meter: str) -> None:
    cfg = SampleConfig(meter=meter, constrained=True)
    assert not forms.meter_aware_supported(meter)
    assert cfg.free_writing is not None and f"M:{meter} " in cfg.free_writing and "primer" not in cfg.free_writing
    assert SampleConfig(meter=meter).free_writing is None  # free writing was asked for


def test_every_meter_and_unit_meter_aware_writing_writes_is_followed() -> None:
    for meter in forms.METERS:
        assert SampleConfig(meter=meter, constrained=True).free_writing is None
    for unit in forms.UNITS:
        assert SampleConfig(unit_length=unit, constrained=True).free_writing is None
    for kind in tunetypes.TUNE_TYPES:  # a type chosen without a meter gets one that is followed
        assert forms.meter_aware_supported(kind.meter), kind


def test_the_generator_writes_freely_exactly_where_the_settings_say() -> None:
    from musicgen.compose.sample import Generator

    gen = Generator.load()
    for meter in ["3/16", "13/8", "6/8", "12/8"]:
        cfg = SampleConfig(meter=meter, constrained=True, length=120, rng=1)
        (tune,) = gen.generate(cfg)
        assert tune.meter_aware == (cfg.free_writing is None), meter


def test_the_command_line_names_the_meter_not_the_primer(run_musicgen) -> None:  # type: ignore[no-untyped-def]
    out = run_musicgen("generate", "--meter", "13/8", "--length", "60", "--rng", "1")
    assert out.returncode == 0, out.stderr
    assert "note: Meter-aware writing does not follow M:13/8" in out.stderr
    assert FREE_WRITING not in out.stderr
    out = run_musicgen("generate", "--meter", "6/8", "--length", "60", "--rng", "1")
    assert out.returncode == 0 and "note:" not in out.stderr, out.stderr


def test_the_app_names_the_meter_before_and_after_composing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("MUSICGEN_WEIGHTS", raising=False)  # the shipped model offers meter-aware writing
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"seed": "1", "meter": "13/8", "length": "60"})
    at.run()
    assert not at.exception, at.exception
    note = Settings(meter="13/8").free_writing()
    infos = [shown(i.value) for i in at.info]  # as the reader sees them (the page escapes Markdown)
    assert note in infos and FREE_WRITING not in infos
    assert infos.count(note) == 2  # in the sidebar before composing, and beside the tune it wrote


def test_one_table_gives_the_prompt_its_meter_and_the_player_its_tempo() -> None:
    for kind in tunetypes.TUNE_TYPES:
        prompt = build_prompt(SampleConfig(tune_type=kind.name))
        assert f"M:{kind.meter}\n" in prompt.tail, kind
        assert default_tempo("7/8", kind.name.title()) == kind.tempo, kind
    assert [tunetypes.usual(n).meter for n in ("slide", "march", "barndance", "Barn Dance")] == [
        "12/8",
        "4/4",
        "4/4",
        "4/4",
    ]


@pytest.mark.parametrize("text", ["A", "^c'3/2", "z//", "[CE]2", "[C2E]/", "B3/"])
def test_the_bar_checks_and_the_line_checks_read_one_note_length(text: str) -> None:
    kind = T.tokenize(text)[0].kind
    units = T.written_units(kind, text)
    (note,) = analyse(f"X:1\nL:1/16\nK:C\n{text}").notes
    assert note[1] == units * Fraction(1, 16)
    check_and_repair(f"X:1\nL:1/16\nK:C\n{text}|\n")  # within the line checks' longest note


def test_a_note_longer_than_the_line_checks_allow_is_refused_by_the_same_rule() -> None:
    with pytest.raises(InvalidABCError, match="longer than 64 unit lengths"):
        check_and_repair("X:1\nL:1/8\nK:C\n[CE]65|\n")
    assert T.written_units(T.CHORD, "[CE]65") == 65


def test_the_app_and_the_downloads_name_a_tune_by_one_slug() -> None:
    title = "The Lark's Reel / No. 2 (Ámhrán)"
    slug = header.title_slug(title)
    assert slug == "the-larks-reel-no-2-amhran"
    assert file_stem(title, 42, 1) == f"{slug}-seed42-2"
    from musicgen.sound import convert, export

    parsed = convert.parse(f"X:1\nT:{title}\nM:4/4\nL:1/8\nK:G\nGABc dBAG|\n")
    names = export.downloads(parsed, audio_format=None)
    assert sorted(names) == sorted(f"{slug}.{ext}" for ext in ("abc", "mid", "musicxml"))
