"""MIDI -> audio with the real synthesizer and SoundFont: sound, length, pitch, loudness, formats, errors."""

from __future__ import annotations

import io
import subprocess
import sys
import wave

import mido
import numpy as np
import pytest
import soundfile

from musicgen.sound import audio, convert, export
from musicgen.sound.audio import AudioError

# Eight notes a second apart (Q: 60 quarter notes a minute, L:1/4), melody only: each note can be told
# apart by the strongest frequency of its middle part.
SCALE = "X:1\nT:Slow scale\nM:4/4\nL:1/4\nQ:1/4=60\nK:G\nGABc|dBAF|]\n"

# A jig with chord symbols: melody and accompaniment together.
JIG = """X:1
T:Jig with chords
M:6/8
L:1/8
K:G
|:"G"GAB "D"AGF|"G"G2B "C"c2e|"G"d2B "D7"AGF|1"G"G3 G2D:|2"G"G3 G3||
"""


def wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, w.getnchannels())
        return pcm.astype(np.float64) / 32768.0, w.getframerate()


def midi_number(freq: float) -> int:
    return round(69 + 12 * np.log2(freq / 440.0))


@pytest.fixture(scope="module")
def jig_audio() -> tuple[np.ndarray, int, convert.Events]:
    parsed = convert.parse(JIG)
    samples, rate = wav_samples(audio.render(export.to_midi(parsed, "piano")))
    return samples, rate, convert.to_events(parsed)


def test_a_tune_with_chords_is_not_silent(jig_audio) -> None:
    samples, rate, _ = jig_audio
    assert samples.shape[1] == 2 and rate == audio.NATIVE_RATE
    window = rate // 10
    rms = np.sqrt((samples[: len(samples) // window * window, 0].reshape(-1, window) ** 2).mean(axis=1))
    playing = rms[: int(len(rms) * 0.9)]  # the tail may fade out
    assert (playing > 10 ** (-40 / 20)).all()  # every 100 ms of the tune sounds, none below -40 dBFS


def test_audio_lasts_the_score_at_its_tempo(jig_audio) -> None:
    samples, rate, ev = jig_audio
    assert ev.beats == 24.0  # four bars of 3 quarter notes, twice (first, then second ending)
    expected = (ev.beats + export.TAIL_BEATS) * 60 / ev.tempo_bpm
    assert len(samples) / rate == pytest.approx(expected, abs=0.05)


def test_audio_is_loudness_normalised_under_the_peak_ceiling(jig_audio) -> None:
    samples, _, _ = jig_audio
    assert audio.loudness(samples) == pytest.approx(audio.TARGET_LUFS, abs=0.5)
    assert 20 * np.log10(np.abs(samples).max()) <= audio.PEAK_DBFS + 0.01


def test_each_note_sounds_at_its_pitch() -> None:
    parsed = convert.parse(SCALE)
    ev = convert.to_events(parsed, accompaniment=False)
    samples, rate = wav_samples(audio.render(export.to_midi(parsed, "flute", accompaniment=False)))
    mono = samples.mean(axis=1)
    seconds_per_beat = 60 / ev.tempo_bpm
    heard = []
    for n in ev.melody:  # the middle 60% of each note: past the attack, before the release
        a = int((n.start_beats + 0.2 * n.duration_beats) * seconds_per_beat * rate)
        b = int((n.start_beats + 0.8 * n.duration_beats) * seconds_per_beat * rate)
        spectrum = np.abs(np.fft.rfft(mono[a:b] * np.hanning(b - a)))
        heard.append(midi_number(np.argmax(spectrum) * rate / (b - a)))
    assert heard == [n.pitch for n in ev.melody] == [67, 69, 71, 72, 74, 71, 69, 66]


def test_ogg_and_mp3_decode_to_the_same_length() -> None:
    midi = export.to_midi(SCALE, "flute")
    wav_length = len(wav_samples(audio.render(midi))[0])
    for fmt, magic in (("ogg", b"OggS"), ("mp3", None)):
        data = audio.render(midi, fmt)
        if magic:
            assert data.startswith(magic)
        decoded, rate = soundfile.read(io.BytesIO(data))
        assert rate == audio.NATIVE_RATE and decoded.shape[1] == 2
        assert len(decoded) == pytest.approx(wav_length, abs=0.02 * rate)  # codec padding only
        assert np.sqrt((decoded**2).mean()) > 0.01


@pytest.mark.slow
def test_a_long_tune_encodes_to_ogg_without_crashing() -> None:
    """A minute of audio in one libsndfile write used to kill the process; run it in a child to see that."""
    code = (
        "from musicgen.sound import audio, export\n"
        "abc = 'X:1\\nT:Long\\nM:4/4\\nL:1/4\\nQ:1/4=120\\nK:C\\n' + 'C D E F|G A B c|' * 14\n"
        "data = audio.render(export.to_midi(abc), 'ogg')\n"
        "assert data.startswith(b'OggS'), data[:4]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_lower_sample_rates_keep_length_and_pitch() -> None:
    midi = export.to_midi(SCALE, "flute", accompaniment=False)
    full, _ = wav_samples(audio.render(midi))
    low, rate = wav_samples(audio.render(midi, sample_rate=22_050))
    assert rate == 22_050 and len(low) == round(len(full) * 22_050 / audio.NATIVE_RATE)
    first_note = low[int(0.2 * rate) : int(0.8 * rate)].mean(axis=1)
    spectrum = np.abs(np.fft.rfft(first_note * np.hanning(len(first_note))))
    assert midi_number(np.argmax(spectrum) * rate / len(first_note)) == 67


def test_the_pages_24_khz_mono_is_the_stereo_mix_as_the_fft_resampled_it() -> None:
    """The page's render (halfband filter) against the mean of the 48 kHz stereo render resampled by FFT (the
    page's way before): the same samples within -60 dB, as loud, as long, at 2 bytes a sample."""
    midi = export.to_midi(JIG, "fiddle")
    stereo = audio.render_samples(midi)
    fft = audio.resample(stereo.mean(axis=1, keepdims=True), audio.NATIVE_RATE, 24_000)
    page, rate = wav_samples(audio.render(midi, sample_rate=24_000, channels=1))
    assert rate == 24_000 and page.shape == fft.shape == (round(len(stereo) / 2), 1)
    difference = np.sqrt(np.mean((page - fft) ** 2) / np.mean(fft**2))
    assert 20 * np.log10(difference) < -60
    assert abs(audio.loudness(np.repeat(audio.resample(page, 24_000, 48_000), 2, axis=1)) - audio.TARGET_LUFS) < 1.0


@pytest.mark.parametrize(("freq", "kept"), [(440, True), (5_000, True), (10_000, True), (13_000, False)])
def test_halving_the_rate_keeps_what_the_lower_rate_holds_and_no_alias(freq: int, kept: bool) -> None:
    t = np.arange(audio.NATIVE_RATE) / audio.NATIVE_RATE
    halved = audio.halve(np.sin(2 * np.pi * freq * t).astype(np.float32))[1_000:-1_000]
    level = float(np.sqrt(np.mean(halved.astype(np.float64) ** 2)) * np.sqrt(2))
    if kept:  # at its own frequency, at full level
        spectrum = np.abs(np.fft.rfft(halved * np.hanning(len(halved))))
        assert abs(np.argmax(spectrum) * 24_000 / len(halved) - freq) < 2 and abs(level - 1) < 0.01
    else:  # above 12 kHz: filtered out, not folded down to 11 kHz
        assert level < 1e-3


def test_rendering_is_pure() -> None:
    midi = export.to_midi(SCALE)
    assert audio.render(midi) == audio.render(midi)


def silent_midi(seconds_of_nothing: float = 0.0) -> bytes:
    f = mido.MidiFile()
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60))])
    if seconds_of_nothing:
        track.append(
            mido.Message("control_change", control=64, value=0, time=int(seconds_of_nothing * f.ticks_per_beat))
        )
    f.tracks.append(track)
    out = io.BytesIO()
    f.save(file=out)
    return out.getvalue()


def long_midi(seconds: float) -> bytes:
    f = mido.MidiFile()
    ticks = int(seconds * f.ticks_per_beat)
    f.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60)),
                mido.Message("note_on", note=60, velocity=90, time=0),
                mido.Message("note_off", note=60, velocity=0, time=ticks),
            ]
        )
    )
    out = io.BytesIO()
    f.save(file=out)
    return out.getvalue()


@pytest.mark.parametrize(
    "midi, message",
    [
        (b"not a midi file", "not a playable MIDI file"),
        (silent_midi(), "the MIDI holds no notes to play"),
        (long_midi(audio.MAX_SECONDS + 60), "the tune plays for 660 s; audio is made for at most 600 s"),
    ],
)
def test_what_cannot_be_rendered_raises_audio_error(midi: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        audio.render(midi)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"fmt": "flac"}, ValueError, "unknown audio format 'flac'"),
        ({"sample_rate": 96_000}, ValueError, "sample_rate must be 8000 to 48000 Hz"),
        ({"max_seconds": 0}, ValueError, "max_seconds must be above 0 and at most 600"),
        ({"max_seconds": 601}, ValueError, "max_seconds must be above 0 and at most 600"),
    ],
)
def test_bad_options_are_refused(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        audio.render(export.to_midi(SCALE), **kwargs)


def test_a_missing_soundfont_is_an_audio_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MUSICGEN_SOUNDFONT", str(tmp_path / "none.sf2"))
    with pytest.raises(AudioError, match="cannot read the SoundFont"):
        audio.render(export.to_midi(SCALE))


def test_the_soundfont_comes_with_the_requirements() -> None:
    path = audio.soundfont_path()
    assert path.name == "TimGM6mb.sf2" and path.read_bytes()[8:12] == b"sfbk"


def test_generate_writes_midi_and_audio_beside_each_tune(tmp_path) -> None:
    from musicgen.cli.generate import write_sound

    good, bad = tmp_path / "tune_01.abc", tmp_path / "tune_02.abc"
    assert write_sound(good, SCALE, "ogg") == ".mid, .ogg"
    assert (tmp_path / "tune_01.mid").read_bytes() == export.to_midi(SCALE)
    assert (tmp_path / "tune_01.ogg").read_bytes().startswith(b"OggS")
    assert write_sound(tmp_path / "tune_03.abc", SCALE.rstrip("|]\n") + "|d", "mid").startswith(".mid; repaired: ")
    assert (
        write_sound(bad, 'X:1\nK:G\n"G GAB|\nd2|', "wav") == "no sound: line 3: unclosed chord symbol '\"' at column 1"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune_01.mid", "tune_01.ogg", "tune_03.mid"]


# ---------------------------------------------------------------- the audio ceiling


def tempo_change_midi() -> bytes:
    """Two tracks: tempo 120 for 4 beats then 60 (2 s, then a second a beat: 6 s); a note held from 0 to 8 beats
    and a note starting at beat 6 (4 s), past a cut at 3 s (beat 5)."""
    f = mido.MidiFile(type=1)
    beat = f.ticks_per_beat
    f.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)),
                mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(60), time=4 * beat),
            ]
        )
    )
    f.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=60, velocity=90, time=0),
                mido.Message("note_on", note=64, velocity=90, time=6 * beat),
                mido.Message("note_off", note=60, velocity=0, time=2 * beat),
                mido.Message("note_off", note=64, velocity=0, time=0),
            ]
        )
    )
    out = io.BytesIO()
    f.save(file=out)
    return out.getvalue()


def test_cut_midi_stops_at_the_time_through_tempo_changes_and_ends_held_notes() -> None:
    midi = tempo_change_midi()
    assert audio.midi_seconds(midi) == pytest.approx(6.0)
    cut = mido.MidiFile(file=io.BytesIO(audio.cut_midi(midi, 3.0)))
    assert cut.length == pytest.approx(3.0)
    notes = [(m.type, m.note) for m in cut.tracks[1] if m.type.startswith("note")]
    assert notes == [("note_on", 60), ("note_off", 60)]  # the held note ends at the cut, the later one is gone
    assert audio.cut_midi(midi, 3.0) == audio.cut_midi(midi, 3.0) and audio.cut_midi(midi, 100.0) == midi


def test_audio_with_a_ceiling_stops_there_and_fades_out() -> None:
    midi = long_midi(30)
    samples, rate = wav_samples(audio.render(midi, max_seconds=5.0))
    assert len(samples) == 5 * rate
    assert np.abs(samples[-rate // 100 :]).max() < 0.01  # faded out: no click at the cut
    assert np.abs(samples[rate : 2 * rate]).max() > 0.05  # and it sounded before
    ogg, _ = soundfile.read(io.BytesIO(audio.render(midi, "ogg", max_seconds=5.0)))
    assert abs(len(ogg) - 5 * rate) < rate // 10


def test_a_tune_shorter_than_the_ceiling_renders_as_without_one() -> None:
    midi = export.to_midi(SCALE)
    assert audio.render(midi, max_seconds=audio.midi_seconds(midi) + 1) == audio.render(midi)


def test_the_ceiling_in_bytes_becomes_one_in_seconds() -> None:
    assert audio.ceiling_seconds(240.0, 48_000_000) == 240.0
    assert audio.ceiling_seconds(240.0, 44 + 10 * audio.NATIVE_RATE * 4) == 10.0
    assert audio.ceiling_seconds(240.0, 44 + 10 * 16_000 * 4, sample_rate=16_000) == 10.0
