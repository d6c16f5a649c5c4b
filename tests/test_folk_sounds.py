"""The folk sounds (fiddle, flute, tin whistle, accordion, acoustic guitar) through the real MIDI writer,
SoundFont and synthesizer: their General MIDI programs, the SoundFont's presets for them, their audio and
its pitch, and the stand-in played where a SoundFont cannot play a program (musicgen.sound.soundfont)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import mido
import numpy as np
import pytest

from musicgen.sound import audio, export
from musicgen.sound.audio import AudioError
from musicgen.sound.bend import bent, steps
from musicgen.sound.events import Events
from musicgen.sound.notes import NoteEvent
from musicgen.sound.soundfont import (
    MELODY_KEYS,
    SoundFontError,
    fallback_note,
    playable,
    preset_for,
    presets,
    tuning,
)

FOLK = {"fiddle": 40, "folk fiddle": 110, "flute": 73, "tin whistle": 78, "accordion": 21, "acoustic guitar": 25}
PRESETS = {40: "Violin", 110: "Fiddle", 73: "Flute TB", 78: "Whistle", 21: "Accordion", 25: "Steel Guitar"}
# Two bars at 120 quarter notes a minute, melody only: four seconds of sound.
TUNE = "X:1\nT:Folk sounds\nM:4/4\nL:1/4\nQ:1/4=120\nK:D\nD F A d|f2 a2|]\n"
RATE = audio.NATIVE_RATE


def programs(midi: bytes) -> dict[int, list[int]]:
    """Each channel's program changes."""
    out: dict[int, list[int]] = {}
    for track in mido.MidiFile(file=io.BytesIO(midi)).tracks:
        for m in track:
            if m.type == "program_change":
                out.setdefault(m.channel, []).append(m.program)
    return out


def held(note: str, instrument: str) -> np.ndarray:
    """The audio of one note held for two seconds, melody alone, through the page's own path."""
    abc = f"X:1\nT:Held\nM:4/4\nL:1/4\nQ:1/4=120\nK:C\n{note}4|]\n"
    return audio.render_samples(export.to_midi(abc, instrument, accompaniment=False))


def cents_off(samples: np.ndarray, key: int) -> float:
    """How far the strongest frequency within a semitone of MIDI ``key`` lies from it, in cents (its middle second)."""
    mid = samples[RATE // 2 : 3 * RATE // 2, 0]
    n = 1 << 18
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid)), n=n))
    step = RATE / n
    want = 440.0 * 2 ** ((key - 69) / 12)
    lo, hi = int(want * 2 ** (-1 / 12) / step), int(want * 2 ** (1 / 12) / step)
    peak = (lo + int(np.argmax(spectrum[lo:hi]))) * step
    return float(1200 * np.log2(peak / want))


def without_preset(tmp_path: Path, program: int) -> Path:
    """A copy of the shipped SoundFont whose bank-0 preset ``program`` is moved to bank 5 (so bank 0 lacks it)."""
    data = bytearray(audio.soundfont_path().read_bytes())
    at = data.rindex(b"phdr")
    (size,) = struct.unpack_from("<I", data, at + 4)
    for record in range(at + 8, at + 8 + size, 38):
        if struct.unpack_from("<HH", data, record + 20) == (program, 0):
            struct.pack_into("<H", data, record + 22, 5)
    path = tmp_path / f"without-{program}.sf2"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("name", "program"), FOLK.items())
def test_each_folk_sound_is_an_instrument_with_its_general_midi_program(name: str, program: int) -> None:
    assert export.program(name) == program and export.program(name.upper()) == program
    assert programs(export.to_midi(TUNE, name, accompaniment=False)) == {0: [program]}
    with_backing = programs(export.to_midi('X:1\nM:4/4\nL:1/4\nK:D\n"D"D F A d|]\n', "piano", True, None, name))
    assert with_backing == {0: [0], 1: [program]}  # the accompaniment plays it too


def test_the_instruments_that_were_there_keep_their_programs() -> None:
    for name, program in {"piano": 0, "guitar": 25, "nylon guitar": 24, "harp": 46, "bagpipe": 109}.items():
        assert export.INSTRUMENTS[name] == program


def test_the_shipped_soundfont_has_a_preset_for_each_folk_program() -> None:
    found = presets(audio.soundfont_path())
    assert {p: found[(0, p)].name for p in PRESETS} == PRESETS
    assert len({p for bank, p in found if bank == 0}) == 128  # every GM program
    for program in PRESETS:
        assert found[(0, program)].plays == (program != 78)
    assert set(MELODY_KEYS) - found[(0, 78)].keys == set(range(79, 97))  # the Whistle: no sound from G5 up


@pytest.mark.parametrize(("name", "program"), FOLK.items())
def test_each_folk_sound_plays_through_the_synthesizer(name: str, program: int) -> None:
    midi = export.to_midi(TUNE, name, accompaniment=False)
    samples = audio.render_samples(midi)
    assert samples.shape[1] == 2 and abs(len(samples) / RATE - 5.0) < 0.1  # 4 s of notes, 2 beats ringing out
    window = RATE // 10
    rms = np.sqrt((samples[: 4 * RATE, 0].reshape(-1, window) ** 2).mean(axis=1))
    assert (rms[:-2] > 10 ** (-40 / 20)).all()  # every 100 ms of the notes sounds (the last one may fade)
    piano = audio.render_samples(export.to_midi(TUNE, "piano", accompaniment=False))
    assert not np.allclose(samples[: len(piano)], piano[: len(samples)], atol=1e-3)  # not the piano's sound
    expected = preset_for(program, audio.soundfont_path())
    assert expected == ((74, "Recorder") if program == 78 else (program, PRESETS[program]))


@pytest.mark.parametrize("name", ["fiddle", "folk fiddle", "flute", "tin whistle", "acoustic guitar", "accordion"])
def test_each_folk_sound_is_in_tune_over_the_tunes_range(name: str) -> None:
    notes = {"G,": 55, "D": 62, "A": 69, "d": 74, "a": 81, "d'": 86}  # G3 to D6
    off = {note: round(cents_off(held(note, name), key)) for note, key in notes.items()}
    assert all(abs(c) <= 20 for c in off.values()), off


# A key of each tuning of TimGM6mb's accordion from G3 to D6 (15, 18, 0, 1, 44, 54, 68 cents flat unbent).
ACCORDION_KEYS = {"G,": 55, "A,": 57, "D": 62, "A": 69, "^c": 73, "f": 77, "a": 81, "d'": 86}


def test_the_accordion_sounds_within_a_few_cents_on_every_key_its_soundfont_tunes_apart() -> None:
    off = {note: round(cents_off(held(note, "accordion"), key), 1) for note, key in ACCORDION_KEYS.items()}
    assert all(abs(c) <= 3 for c in off.values()), off


def test_the_accordion_is_bent_in_tune_by_what_the_soundfont_tables_say() -> None:
    bends = tuning(21, audio.soundfont_path())
    assert {k: round(bends.get(k, 0.0)) for k in ACCORDION_KEYS.values()} == {
        55: 15,
        57: 18,
        62: 0,
        69: 0,
        73: 44,
        77: 54,
        81: 68,
        86: 68,
    }
    for program in set(export.INSTRUMENTS.values()) - {21, 22, 23}:
        assert tuning(program, audio.soundfont_path()) == {}  # every other program plays as the SoundFont has it


def abc_note(key: int) -> str:
    """MIDI ``key`` as an ABC note under K:C (sharps for the black keys): 60 -> "C", 73 -> "^c", 86 -> "d'"."""
    name = ("C", "^C", "D", "^D", "E", "F", "^F", "G", "^G", "A", "^A", "B")[key % 12]
    octave = key // 12 - 5
    return name + "," * -octave if octave <= 0 else name.lower() + "'" * (octave - 1)


@pytest.mark.parametrize("name", ["harmonica", "bandoneon"])
def test_the_other_reeds_play_in_tune_on_their_flattest_key(name: str) -> None:
    bends = tuning(export.INSTRUMENTS[name], audio.soundfont_path())
    worst = max(k for k in bends if k in MELODY_KEYS and bends[k] == max(bends[j] for j in bends if j in MELODY_KEYS))
    assert bends[worst] > 25 and abs(cents_off(held(abc_note(worst), name), worst)) <= 3, (worst, bends[worst])


def test_an_accordion_accompaniment_plays_its_chords_in_tune() -> None:
    chord = (43, 55, 59, 62)  # G2 in the bass, G3 B3 D4 above: three different bends and one unbent
    ev = Events((), tuple(NoteEvent(p, 0.0, 4.0, 80) for p in chord), 120.0, 4.0, "4/4")
    midi = export.to_midi(ev, "piano", True, None, "accordion")
    off = {key: round(cents_off(audio.render_samples(midi), key), 1) for key in chord}
    assert all(abs(c) <= 6 for c in off.values()), off  # unbent: -14, -10, -19 and 0


def test_the_midi_download_stays_plain_general_midi_and_only_the_synthesizer_gets_the_bends() -> None:
    midi = export.to_midi('X:1\nM:4/4\nL:1/4\nK:D\n"D"D F A d|a2 d\'2|]\n', "accordion", True, None, "accordion")
    kinds = {m.type for t in mido.MidiFile(file=io.BytesIO(midi)).tracks for m in t}
    assert "pitchwheel" not in kinds and programs(midi) == {0: [21], 1: [21]}
    fitted, notes = playable(midi, audio.soundfont_path())
    assert notes == []  # nothing stands in: the accordion plays, in tune
    mid = mido.MidiFile(file=io.BytesIO(fitted))
    wheel = {m.channel: m.pitch for m in mid.tracks[0] if m.type == "pitchwheel"}
    bends = tuning(21, audio.soundfont_path())
    for m in mid.tracks[0]:
        if m.type == "note_on":
            assert wheel.get(m.channel, 0) == steps(bends.get(m.note, 0.0)), m
    assert set(programs(fitted)) == {0, 1, *wheel} and all(p == [21] for p in programs(fitted).values())


def test_midi_without_the_accordion_or_without_a_note_to_bend_is_left_as_it_is() -> None:
    font = audio.soundfont_path()
    for name, program in export.INSTRUMENTS.items():
        for backing in ("piano", name):
            midi = export.to_midi(TUNE.replace("D F A d", '"D"D F A d'), name, True, None, backing)
            fitted = playable(midi, font)
            assert (fitted == (midi, [])) == (program not in (21, 22, 23, 78)), (
                name
            )  # the whistle plays as the recorder
    between = export.to_midi("X:1\nM:4/4\nL:1/4\nK:D\nD F A B|]\n", "accordion", accompaniment=False)
    assert playable(between, font) == (between, [])  # D4 to B4: the accordion's keys in tune as they are


def test_bent_moves_each_bend_to_a_channel_of_its_own_and_follows_its_own_channel() -> None:
    track = mido.MidiTrack(
        [
            mido.Message("program_change", channel=0, program=21),
            mido.Message("control_change", channel=0, control=7, value=90),
            mido.Message("note_on", channel=0, note=60, velocity=80),
            mido.Message("note_on", channel=0, note=64, velocity=80),
            mido.Message("note_on", channel=0, note=67, velocity=80),
            mido.Message("note_on", channel=9, note=36, velocity=80, time=10),
            mido.Message("control_change", channel=0, control=10, value=20, time=10),
            mido.Message("note_off", channel=0, note=60, velocity=0, time=100),
            mido.Message("note_on", channel=0, note=64, velocity=0),
            mido.Message("note_off", channel=0, note=67, velocity=0),
        ]
    )
    mid = mido.MidiFile(type=0, ticks_per_beat=480, tracks=[track])
    out = bent(mid, {21: {60: 30.0, 67: -20.0}, 40: {64: 50.0}})  # 64 is in tune for program 21
    msgs, now, at = [], 0, []
    for m in out.tracks[0]:
        now += m.time
        msgs.append(m)
        at.append(now)
    on = {m.note: m.channel for m in msgs if m.type == "note_on" and m.velocity}
    off = {m.note: m.channel for m in msgs if m.type == "note_off" or (m.type == "note_on" and not m.velocity)}
    assert on == {60: 1, 64: 0, 67: 2, 36: 9} and off == {60: 1, 64: 0, 67: 2}  # 1 and 2 free; drums stay on 10
    assert {m.channel: m.pitch for m in msgs if m.type == "pitchwheel"} == {1: steps(30.0), 2: steps(-20.0)}
    for ch in (1, 2):  # set up as channel 0 was, and following it after
        assert [
            (m.type, getattr(m, "control", None))
            for m in msgs
            if getattr(m, "channel", None) == ch and m.type != "note_on"
        ][:4] == [
            ("program_change", None),
            ("control_change", 7),
            ("pitchwheel", None),
            ("control_change", 10),
        ]
    assert sorted(at[i] for i, m in enumerate(msgs) if m.type.startswith("note")) == [0, 0, 0, 10, 120, 120, 120]
    assert bent(mid, {40: {60: 30.0}}) is mid  # nothing of program 40: the file itself


def test_bent_leaves_a_note_unbent_when_no_channel_is_free() -> None:
    track = mido.MidiTrack([mido.Message("program_change", channel=c, program=21) for c in range(16) if c != 9])
    track.append(mido.Message("note_on", channel=0, note=81, velocity=80))
    mid = mido.MidiFile(type=0, tracks=[track])
    assert bent(mid, {21: {81: 68.0}}) is mid


def test_a_soundfont_without_the_accordion_tunes_the_tango_accordion_standing_in(tmp_path: Path) -> None:
    font = without_preset(tmp_path, 21)
    assert preset_for(21, font) == (23, "Bandoneon")
    assert tuning(21, font) == {k: -c for k, c in presets(font)[(0, 23)].off}
    assert round(tuning(21, font)[81]) == 69 and tuning(23, font) == tuning(21, font)  # the same preset, the same bends


def test_the_tin_whistle_plays_as_the_recorder_and_says_why() -> None:
    font = audio.soundfont_path()
    whistle = export.to_midi(TUNE, "tin whistle", accompaniment=False)
    assert programs(whistle) == {0: [78]}  # the MIDI download keeps the program asked for
    fitted, notes = playable(whistle, font)
    assert programs(fitted) == {0: [74]}
    assert notes == [
        "the SoundFont TimGM6mb.sf2 has a preset for General MIDI program 78 (Whistle) with no sound for 18 of "
        "the notes a tune may use (G5 to C7): it plays as program 74 (Recorder) instead"
    ]
    assert notes == [fallback_note(78, font)]
    recorder = audio.render_samples(export.to_midi(TUNE, "recorder", accompaniment=False))
    assert np.array_equal(audio.render_samples(whistle), recorder)


def test_a_soundfont_without_the_fiddle_plays_it_as_the_violin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    font = without_preset(tmp_path, 110)
    assert (0, 110) not in presets(font) and (5, 110) in presets(font)
    assert preset_for(110, font) == (40, "Violin")
    assert fallback_note(110, font) == (
        f"the SoundFont {font.name} has no preset for General MIDI program 110: it plays as program 40 (Violin) instead"
    )
    assert fallback_note(40, font) is None
    monkeypatch.setenv("MUSICGEN_SOUNDFONT", str(font))
    folk_fiddle = audio.render_samples(export.to_midi(TUNE, "folk fiddle", accompaniment=False))
    violin = audio.render_samples(export.to_midi(TUNE, "fiddle", accompaniment=False))
    assert np.array_equal(folk_fiddle, violin)


def test_midi_the_soundfont_plays_in_full_is_left_as_it_is() -> None:
    midi = export.to_midi(TUNE, "fiddle")
    assert playable(midi, audio.soundfont_path()) == (midi, [])


def test_a_file_that_is_no_soundfont_is_refused_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "notes.sf2"
    fake.write_text("not a soundfont\n")
    with pytest.raises(SoundFontError, match="notes.sf2 is not a SoundFont"):
        presets(fake)
    monkeypatch.setenv("MUSICGEN_SOUNDFONT", str(fake))
    with pytest.raises(AudioError, match="is not a SoundFont"):
        audio.render(export.to_midi(TUNE, "fiddle"))
