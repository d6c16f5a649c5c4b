"""The Nottingham Music Database (cleaned ABC) through the whole path: ABC -> MIDI for every tune, audio for a sample.

Reads ../shared/data/nottingham/ABC_cleaned (never copied into the project) and skips when it is absent.

What "the same number of notes as music21 counts" means here: music21's notes of each written bar
(every pitch of a chord; grace notes too; a note a tie continues at the same pitch is not a new
note), summed over the bars in the order they are played. The MIDI is read back with mido, so
this checks what a listener gets. (music21's own ``stripTies`` also joins ties between different
pitches, ``B-c`` in a few tunes, dropping a note: those notes are played here.)
"""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pytest

from musicgen.data.corpus import read_tunes
from musicgen.sound import audio, convert, events, export

TARGET_SHARE = 0.995  # of the tunes that must convert without error
AUDIO_EVERY = 40  # render audio for every 40th tune (24 tunes): synthesis is the slow part


def music21_count(parsed: convert.Parsed) -> int:
    """Notes music21 finds in the score, bar by bar, summed over the play order."""
    from music21 import harmony, stream

    total = 0
    for part in parsed.score.parts or [parsed.score]:
        measures = list(part.getElementsByClass(stream.Measure)) or [part]
        per_bar, previous = [], set()
        for m in measures:
            count = 0
            for n in m.recurse().notes:
                if isinstance(n, harmony.Harmony):
                    continue
                pitches = {int(p.midi) for p in n.pitches}
                tied_on = n.tie is not None and n.tie.type in ("stop", "continue") and not n.duration.isGrace
                count += len(pitches - previous) if tied_on else len(n.pitches)
                if not n.duration.isGrace:
                    previous = pitches
            per_bar.append(count)
        total += sum(per_bar[i] for i in events.play_order(events.written_bars(part)))
    return total


def midi_melody_notes(data: bytes) -> int:
    tracks = [t for t in mido.MidiFile(file=io.BytesIO(data)).tracks if t.name == "melody"]
    return sum(1 for m in tracks[0] if m.type == "note_on" and m.velocity > 0)


@pytest.fixture(scope="module")
def tunes(nottingham_dir: Path) -> list[str]:
    return read_tunes([nottingham_dir])


@pytest.mark.slow
def test_nottingham_tunes_convert_to_midi_with_every_note(tunes: list[str]) -> None:
    failed: list[str] = []
    miscounted: list[str] = []
    for tune in tunes:
        title = tune.split("\n")[1]
        try:
            parsed = convert.parse(tune, timeout=30)  # a generous limit: the machine may be busy
            midi = export.to_midi(parsed, "fiddle")
        except convert.InvalidABCError as e:
            failed.append(f"{title}: {e}")
            continue
        want, got = music21_count(parsed), midi_melody_notes(midi)
        if want != got:
            miscounted.append(f"{title}: music21 {want}, MIDI {got}")
    share = 1 - len(failed) / len(tunes)
    assert share >= TARGET_SHARE, f"{share:.2%} converted; failures: {failed}"
    assert miscounted == []


@pytest.mark.slow
def test_a_sample_of_nottingham_tunes_renders_to_audio(tunes: list[str]) -> None:
    for tune in tunes[::AUDIO_EVERY]:
        midi = export.to_midi(tune, "fiddle", accompaniment_instrument="accordion")
        samples = audio.render_samples(midi)
        seconds = len(samples) / audio.NATIVE_RATE
        assert seconds == pytest.approx(audio.midi_seconds(midi), abs=0.05), tune.split("\n")[1]
        assert np.sqrt((samples**2).mean()) > 0.01, tune.split("\n")[1]
