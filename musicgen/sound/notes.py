"""A note to play, and the tolerance its times compare with: what the score reader
(:mod:`musicgen.sound.events`) and the accompaniment (:mod:`musicgen.sound.accompaniment`) share.

>>> NoteEvent(62, 1.5, 0.5, 90)
NoteEvent(pitch=62, start_beats=1.5, duration_beats=0.5, velocity=90)
"""

from __future__ import annotations

from typing import NamedTuple

EPS = 1e-6  # offsets are Fractions or floats: compare with a tolerance


class NoteEvent(NamedTuple):
    """One note to play; times in quarter-note beats from the start of the tune."""

    pitch: int  # MIDI note number
    start_beats: float
    duration_beats: float
    velocity: int  # 1..127
