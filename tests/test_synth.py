"""The synthesizer in worker processes: a long tune cut into pieces at note starts, rendered side by side and added
up, sounds as the whole file rendered at once; a worker that fails is replaced and says so."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

import mido
import numpy as np
import pytest

from musicgen.sound import audio, export, synth
from musicgen.sound.pieces import MIN_PIECE_S, length_seconds, pieces

PART = '|:"D"A2FA dAFA|"G"BcdB "A"A2D2|"D"d2fd "A"c2ec|"G"B2AG "D"F2D2:|\n'
LONG = "X:1\nT:Long\nM:4/4\nL:1/8\nQ:1/4=120\nK:D\n" + PART * 5  # 80 s with the repeats
SHORT = "X:1\nT:Short\nM:4/4\nL:1/8\nK:D\n" + PART


@pytest.fixture(scope="module")
def font() -> str:
    return str(audio.soundfont_path())


@pytest.fixture
def pool() -> Iterator[None]:
    synth.start_workers(2)
    yield
    synth.start_workers(0)


def notes(midi: bytes, offset: float = 0.0) -> list[tuple[float, int, int]]:
    """(seconds, channel, key) of every note-on, through the file's tempo map (mido's own timing)."""
    now, found = offset, []
    for msg in mido.MidiFile(file=io.BytesIO(midi)):
        now += msg.time
        if msg.type == "note_on" and msg.velocity:
            found.append((round(now, 4), msg.channel, msg.note))
    return sorted(found)


def spectral_error_db(a: np.ndarray, b: np.ndarray, block: int = 2048) -> float:
    n = min(len(a), len(b)) // block * block
    spectra = [np.abs(np.fft.rfft(x[:n, 0].reshape(-1, block) * np.hanning(block), axis=1)) for x in (a, b)]
    return float(10 * np.log10(((spectra[0] - spectra[1]) ** 2).sum() / (spectra[0] ** 2).sum()))


def test_every_note_is_in_one_piece_at_its_own_time() -> None:
    midi = export.to_midi(LONG, "fiddle", accompaniment_instrument="piano")
    cut = pieces(midi, 3)
    assert len(cut) == 3 and cut[0][0] == 0.0 and all(b[0] - a[0] >= MIN_PIECE_S for a, b in zip(cut, cut[1:]))
    assert sorted(n for start, piece in cut for n in notes(piece, start)) == notes(midi)


def tempo_changes() -> bytes:
    """Two tracks, tempo changes in both, two at one tick (the later track's is the one that holds)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    first, second = mido.MidiTrack(), mido.MidiTrack()
    first.extend([mido.MetaMessage("set_tempo", tempo=400_000, time=0), mido.Message("note_on", note=60, time=0)])
    first.extend([mido.MetaMessage("set_tempo", tempo=900_000, time=960), mido.Message("note_off", note=60, time=480)])
    second.extend([mido.MetaMessage("set_tempo", tempo=250_000, time=960), mido.Message("note_on", note=64, time=0)])
    second.append(mido.Message("note_off", note=64, time=2000))
    mid.tracks.extend([first, second])
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "midi",
    [
        export.to_midi(LONG, "fiddle", accompaniment_instrument="piano"),
        export.to_midi(SHORT, tempo=50),
        export.to_midi(SHORT, accompaniment=False),
        tempo_changes(),
    ],
    ids=["accompanied", "slow", "melody", "tempo changes"],
)
def test_the_length_is_the_one_mido_reads(midi: bytes) -> None:
    mid = mido.MidiFile(file=io.BytesIO(midi))
    assert length_seconds(mid) == pytest.approx(mid.length, abs=1e-9)


def test_a_short_tune_is_one_piece_the_file_itself() -> None:
    midi = export.to_midi(SHORT)
    assert pieces(midi, 4) == [(0.0, midi)]


def test_the_pieces_added_up_sound_as_the_whole_tune(font: str, pool: None) -> None:
    midi = export.to_midi(LONG, "fiddle", accompaniment_instrument="piano")
    whole = synth.read_wave(synth.render_wave(font, midi))
    mixed = synth.synthesize(font, midi)
    assert abs(len(mixed) - len(whole)) <= 1 and mixed.dtype == np.float32 and mixed.shape[1] == 2
    assert spectral_error_db(whole, mixed) < -20
    loud = [np.sqrt((x[: len(mixed) // 4800 * 4800, 0].reshape(-1, 4800) ** 2).mean(axis=1)) for x in (whole, mixed)]
    kept = loud[0] > 1e-3  # 0.1 s blocks with sound: their loudness within 2 dB, nearly all
    assert np.percentile(np.abs(20 * np.log10(loud[1][kept] / loud[0][kept])), 99) < 2


def test_a_worker_renders_one_piece_exactly_as_this_process_does(font: str, pool: None) -> None:
    midi = export.to_midi(SHORT)
    assert np.array_equal(synth.synthesize(font, midi), synth.read_wave(synth.render_wave(font, midi)))


def test_the_synthesizers_refusal_reaches_the_page_in_its_words(font: str, pool: None) -> None:
    with pytest.raises(synth.SynthError) as refused:
        synth.synthesize(font, b"MThd\x00\x00\x00\x06not a midi file")
    with pytest.raises(synth.SynthError) as here:
        synth.render_wave(font, b"MThd\x00\x00\x00\x06not a midi file")
    assert str(refused.value) == str(here.value) and str(here.value)
    assert synth.synthesize(font, export.to_midi(SHORT)).size  # the worker still renders


def test_a_missing_soundfont_is_named_by_the_worker(tmp_path, pool: None) -> None:
    with pytest.raises(synth.SynthError, match="cannot read the SoundFont .*none.sf2"):
        synth.synthesize(str(tmp_path / "none.sf2"), export.to_midi(SHORT))


def test_a_killed_worker_is_replaced(font: str, pool: None) -> None:
    for worker in list(synth._idle.queue):  # noqa: SLF001 (the processes the test stops)
        worker.process.kill()
        worker.process.wait()
    midi = export.to_midi(SHORT)
    with pytest.raises(synth.SynthError, match="synthesizer process stopped"):
        synth.synthesize(font, midi)
    with pytest.raises(synth.SynthError, match="synthesizer process stopped"):
        synth.synthesize(font, midi)  # the other dead one
    assert synth.synthesize(font, midi).size and all(w.alive for w in synth._idle.queue)  # noqa: SLF001


def test_a_worker_that_hangs_is_stopped_in_time(font: str, pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth, "RENDER_TIMEOUT_S", 1.0)
    for worker in list(synth._idle.queue):  # noqa: SLF001
        os.kill(worker.process.pid, signal.SIGSTOP)
    with pytest.raises(synth.SynthError, match="synthesizer process stopped"):
        synth.synthesize(font, export.to_midi(SHORT))


def test_a_sound_no_one_wants_is_stopped_on_the_workers(font: str, pool: None) -> None:
    midi = export.to_midi(LONG * 3)  # about 4 minutes: 1-2 s of rendering on two workers
    whole = synth.synthesize(font, midi)
    pids = {w.process.pid for w in synth._idle.queue}  # noqa: SLF001
    asked = []
    with pytest.raises(synth.Dropped):  # wanted until its third question (some 40 ms into the render)
        synth.synthesize(font, midi, wanted=lambda: asked.append(1) or len(asked) < 3)
    assert len(asked) == 3
    short = synth.synthesize(font, export.to_midi(SHORT))  # the next sound renders at once, on new workers
    now = {w.process.pid for w in synth._idle.queue}  # noqa: SLF001
    assert short.size and len(now) == 2 and not now & pids  # both renders under way were stopped
    assert np.array_equal(synth.synthesize(font, midi, wanted=lambda: True), whole)  # wanted: the same sound
    with pytest.raises(synth.Dropped):  # not wanted from the start: nothing is sent
        synth.synthesize(font, midi, wanted=lambda: False)
    assert {w.process.pid for w in synth._idle.queue} == now  # noqa: SLF001


def test_audio_through_the_workers_is_the_same_audio(pool: None) -> None:
    midi = export.to_midi(SHORT, "flute")
    with_workers = audio.render(midi)
    synth.start_workers(0)
    assert audio.render(midi) == with_workers


@pytest.mark.parametrize(("value", "workers"), [("0", 0), ("3", 3), (None, min(4, os.cpu_count() or 1))])
def test_the_number_of_workers_comes_from_the_environment(
    value: str | None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv(synth.WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(synth.WORKERS_ENV, value)
    assert synth.default_workers() == workers


@pytest.mark.parametrize("value", ["two", "-1", "9"])
def test_a_bad_number_of_workers_is_refused_in_words(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(synth.WORKERS_ENV, value)
    with pytest.raises(ValueError, match="MUSICGEN_SYNTH_WORKERS must be a whole number from 0 to 8"):
        synth.default_workers()
