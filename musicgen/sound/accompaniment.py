"""An accompaniment from chord symbols, fitting the meter; and a default tempo for a tune type.

Pure functions over plain numbers (no music21), used by :func:`musicgen.sound.convert.to_events`.

Each bar is cut into pulses: the meter's beat (6/8: two dotted quarters, 4/4: four
quarters, 3/4: three quarters), halved when the beat is a half note or longer (so a
reel in 2/2 still goes oom-pah in quarters). The first pulse of a bar plays the bass
note of the chord, the middle pulse of an even number (4/4: beat 3) plays the fifth
above it when the chord holds that note, and the other pulses play the chord:

    6/8 jig    bass . . chord . .         3/4 waltz   bass chord chord
    4/4 reel   bass chord fifth chord     9/8 slip jig bass chord chord

A chord symbol in the middle of a pulse starts a new hit (bass and chord) there.
Before the first chord symbol, and after "N.C.", the accompaniment rests. The bass
sits in E2..D#3 and the chord in E3..D#4, below a folk melody.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from musicgen.abcnotation.tunetypes import usual
from musicgen.sound.notes import EPS, NoteEvent

BASS_LOW, CHORD_LOW = 40, 52  # E2, E3: lowest MIDI note of each register (one octave each)
BASS_VELOCITY, FIFTH_VELOCITY, CHORD_VELOCITY = 80, 72, 60  # the chord softer than the bass and the melody

# Quarter notes a minute when the tune gives no Q: a tune type (R:, musicgen.abcnotation.tunetypes) first,
# then the meter.
_TEMPO_BY_METER = {
    "6/8": 165,
    "9/8": 165,
    "12/8": 180,
    "3/8": 150,
    "4/4": 160,
    "2/2": 180,
    "2/4": 140,
    "3/4": 130,
    "3/2": 180,
    "6/4": 180,
}
DEFAULT_TEMPO = 120.0

Chord = tuple[int, tuple[int, ...]]  # (bass pitch class, pitch classes of the chord)
Bar = tuple[float, float, float, float, float]  # (start, length, pulse grid origin, beat, full bar length)


def default_tempo(meter: str, rhythm: str = "") -> float:
    """Quarter notes a minute for a tune type (``R:``) or else its meter.

    >>> default_tempo("6/8"), default_tempo("4/4", "Hornpipe"), default_tempo("7/8"), default_tempo("9/8", "slip jig")
    (165.0, 160.0, 120.0, 165.0)
    >>> default_tempo("4/4", "March"), default_tempo("12/8", "Slide"), default_tempo("2/4", "air")
    (112.0, 180.0, 140.0)
    """
    kind = usual(rhythm)
    return float(kind.tempo if kind else _TEMPO_BY_METER.get(meter, DEFAULT_TEMPO))


def pulses(bar_length: float, beat: float) -> tuple[float, int]:
    """The pulse length and how many pulses fill a full bar.

    >>> [pulses(*b) for b in [(3.0, 1.5), (4.0, 1.0), (4.0, 2.0), (3.0, 1.0), (1.5, 1.5), (6.0, 3.0)]]
    [(1.5, 2), (1.0, 4), (1.0, 4), (1.0, 3), (0.5, 3), (1.5, 4)]
    """
    pulse = beat / 2 if beat >= 2 else beat
    if round(bar_length / pulse) <= 1:  # 3/8 and the like: one beat a bar, so count its eighths
        pulse = bar_length / 3 if round(bar_length / 0.5) % 3 == 0 else bar_length / 2
    return pulse, max(1, round(bar_length / pulse))


def role(k: int, n: int) -> str:
    """What pulse ``k`` of ``n`` plays: "bass", "fifth" or "chord".

    >>> [role(k, 4) for k in range(4)], [role(k, 3) for k in range(3)], [role(k, 2) for k in range(2)]
    (['bass', 'chord', 'fifth', 'chord'], ['bass', 'chord', 'chord'], ['bass', 'chord'])
    """
    if k == 0:
        return "bass"
    return "fifth" if n >= 4 and n % 2 == 0 and k == n // 2 else "chord"


def voicing(chord: Chord, what: str) -> list[int]:
    """MIDI notes for a hit: "bass", "fifth", "chord" or "both" (bass and chord).

    >>> voicing((7, (2, 7, 11)), "bass"), voicing((7, (2, 7, 11)), "fifth"), voicing((7, (2, 7, 11)), "chord")
    ([43], [50], [55, 59, 62])
    >>> voicing((0, (0, 4, 9)), "fifth")  # Am/c: G is not in the chord, so the bass note again
    [48]
    """
    bass_pc, pcs = chord
    if what == "chord":
        return sorted(CHORD_LOW + (pc - CHORD_LOW) % 12 for pc in pcs)
    if what == "fifth":
        fifth = (bass_pc + 7) % 12
        return [BASS_LOW + ((fifth if fifth in pcs else bass_pc) - BASS_LOW) % 12]
    if what == "both":
        return voicing(chord, "bass") + voicing(chord, "chord")
    return [BASS_LOW + (bass_pc - BASS_LOW) % 12]


def accompany(chords: Sequence[tuple[float, Chord | None]], bars: Sequence[Bar]) -> list[NoteEvent]:
    """Bass and chord notes for every bar, following the chord symbols (time, chord or None).

    >>> jig = accompany([(0.0, (7, (2, 7, 11)))], [(0.0, 3.0, 0.0, 1.5, 3.0)])
    >>> [(e.pitch, e.start_beats) for e in jig]
    [(43, 0.0), (55, 1.5), (59, 1.5), (62, 1.5)]
    >>> accompany([], [(0.0, 3.0, 0.0, 1.5, 3.0)])
    []
    """
    changes = sorted(chords, key=lambda c: c[0])
    change_times = [t for t, _ in changes]
    out: list[NoteEvent] = []
    for start, length, grid, beat, bar_length in bars:
        end = start + length
        pulse, n = pulses(bar_length, beat)
        hits: dict[float, str] = {}
        for k in range(n):
            t = grid + k * pulse
            if start - EPS <= t < end - EPS:
                hits[round(t, 6)] = role(k, n)
        for t, _ in changes:
            if start - EPS <= t < end - EPS and round(t, 6) not in hits:
                hits[round(t, 6)] = "both"
        times = sorted(hits)
        for i, t in enumerate(times):
            chord = _active(changes, change_times, t)
            if chord is None:
                continue
            what = hits[t]
            span = (times[i + 1] if i + 1 < len(times) else end) - t
            for p in voicing(chord, what):
                is_chord = what == "chord" or (what == "both" and p >= CHORD_LOW)
                velocity = CHORD_VELOCITY if is_chord else FIFTH_VELOCITY if what == "fifth" else BASS_VELOCITY
                out.append(NoteEvent(p, t, span * (0.85 if is_chord else 0.95), velocity))
    return out


def _active(changes: Sequence[tuple[float, Chord | None]], times: Sequence[float], t: float) -> Chord | None:
    """The chord in force at time t: the last symbol at or before it (``times``: their sorted times)."""
    i = bisect.bisect_right(times, t + EPS)
    return changes[i - 1][1] if i else None
