"""Instruments' ranges (musicgen.abcnotation.instruments): the table, the notes of a tune outside a
range in plain words, and the octave shift that fits a tune, checked on the Nottingham tunes through
the transposer (skipped when ../shared/data/nottingham is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicgen.abcnotation.instruments import RANGES, instrument, octave_shift, outside, range_report
from musicgen.abcnotation.transpose import transpose_tune, written_pitches
from musicgen.data.corpus import read_tunes


@pytest.mark.parametrize(
    "name, low, high, sounds",
    [
        ("fiddle", 55, 100, 0),  # G3 up
        ("whistle", 62, 83, 12),  # written D4-B5 (ABC D to b), sounding D5-B6
        ("flute", 62, 93, 0),  # D4 up
        ("mandolin", 55, 93, 0),  # G3 up
        ("accordion", 53, 93, 0),  # F3-A6
        ("guitar", 52, 95, -12),  # written E3 up, sounding E2
        ("piano", 21, 108, 0),  # A0-C8
    ],
)
def test_the_ranges(name: str, low: int, high: int, sounds: int) -> None:
    inst = RANGES[name]
    assert (inst.low, inst.high, inst.sounds) == (low, high, sounds)
    assert RANGES["piano"].low <= inst.low + inst.sounds < inst.high + inst.sounds <= RANGES["piano"].high


def test_instruments_by_other_names_and_a_wrong_one() -> None:
    assert instrument(" Tin-Whistle ") is RANGES["whistle"] and instrument("VIOLIN") is RANGES["fiddle"]
    with pytest.raises(ValueError, match="no instrument 'harp': choose fiddle, whistle, flute, mandolin, accordion"):
        instrument("harp")


def test_bars_count_from_one_and_an_empty_bar_counts_none() -> None:
    notes = written_pitches("X:1\nK:D\nA|B2 | |[CE]{c'}d|\nX:2\nK:G\nF|")
    assert [(w.text, w.bar) for w in notes] == [("A", 1), ("B", 2), ("C", 3), ("E", 3), ("c'", 3), ("d", 3), ("F", 1)]
    assert [w.midi for w in notes] == [69, 71, 61, 64, 85, 74, 66]  # C and c' sharp in D


def test_notes_outside_a_range_in_plain_words() -> None:
    tune = "X:1\nK:D\nDEFG|ABcd|C2DE|FGAB|c2d2|dcBA|B,2A,2|d4|"
    below, above = outside(tune, instrument("whistle"))
    assert [(w.text, w.bar) for w in below] == [("C", 3), ("B,", 7), ("A,", 7)]
    assert above == []
    assert range_report(tune, instrument("whistle")) == (
        "three notes below the D whistle's low D (ABC D): C in bar 3, B, in bar 7, A, in bar 7. "
        "No shift of whole octaves puts every note in range; moving it up 5 to 9 semitones would "
        "(the tune spans A, to d, 17 semitones)."
    )
    assert range_report("X:1\nK:C\nC2 B,|", instrument("whistle")) == (
        "two notes below the D whistle's low D (ABC D): C in bar 1, B, in bar 1. Up an octave puts every note in range."
    )


def test_a_long_list_is_cut_short_and_a_wide_tune_said_to_be_too_wide() -> None:
    report = range_report("X:1\nK:C\nC,D,E,F,G,A,B,C,|c'''|", instrument("flute"))
    assert report.startswith("eight notes below the flute's low D (ABC D): C, in bar 1, D, in bar 1, E, in bar 1, ")
    assert "A, in bar 1 and 2 more. One note above the flute's top A (ABC a'): c''' in bar 2." in report
    assert report.endswith("the tune spans C, to c''', 60 semitones, more than the flute's 31.")


def test_octave_shifts() -> None:
    assert octave_shift("X:1\nK:D\nD,,A,|", instrument("whistle")) == 2
    assert octave_shift("X:1\nK:D\nd'e'|", instrument("whistle")) == -1
    assert octave_shift("X:1\nK:D\nDEF|", instrument("piano")) == 0
    assert octave_shift("X:1\nK:D\nz4|", instrument("piano")) is None


@pytest.fixture(scope="module")
def tunes(nottingham_dir: Path) -> list[str]:
    return read_tunes([nottingham_dir])[::5]


@pytest.mark.parametrize("name", sorted(RANGES))
def test_the_shift_suggested_fits_every_note_and_none_smaller_does(tunes: list[str], name: str) -> None:
    inst = RANGES[name]
    for tune in tunes:
        shift = octave_shift(tune, inst)
        pitches = [w.midi for w in written_pitches(tune)]
        fits = [k for k in range(-4, 5) if inst.low <= min(pitches) + 12 * k and max(pitches) + 12 * k <= inst.high]
        if shift is None:
            assert fits == [], tune[:40]
            continue
        assert abs(shift) == min(abs(k) for k in fits)
        assert outside(transpose_tune(tune, 12 * shift), inst) == ([], [])
        assert (range_report(tune, inst) == "") == (shift == 0)
