"""A tune's MIDI cut into pieces at note starts, for :mod:`musicgen.sound.synth` to render side by side and add up.

    pieces(midi, 2)        # [(seconds, midi_bytes), ...]: each piece's start and its MIDI, moved to start at 0

**Why the sum is the tune.** A SoundFont synthesizer adds its voices up, and each note's voice depends only on
that note and the channel's state (program, controllers, pitch bend); reverb and chorus are linear. So each
piece holds the notes that *start* in its stretch of time, with their ends wherever they fall, every
non-note event before its start replayed at its start (the channel's state: program, tempo, bends), the
non-note events until its last note ends, and :data:`TAIL_S` after that for the notes to ring out. Rendered
alone and added at their start's sample, the pieces sound as the whole file does (measured in
:mod:`musicgen.sound.synth`; ``tests/test_synth.py`` keeps it).
"""

from __future__ import annotations

import bisect
import io
from typing import Any

TAIL_S = 3.0  # seconds a piece renders after its last note ends: the release and the reverb's tail
MIN_PIECE_S = 8.0  # no piece shorter: each render costs a fixed 0.02 s and its piece's tail


def pieces(midi: bytes, n: int) -> list[tuple[float, bytes]]:
    """The MIDI cut into at most ``n`` pieces of at least :data:`MIN_PIECE_S` each, cut at note starts: (the
    second the piece starts at, its MIDI). One piece is the file itself.

    Every note is in exactly one piece, at its own time less the piece's start (``tests/test_synth.py``). A file
    mido cannot read is one piece: the synthesizer says what is wrong with it.
    """
    import mido

    try:
        mid = mido.MidiFile(file=io.BytesIO(midi))
    except (OSError, EOFError, ValueError, KeyError, IndexError):
        return [(0.0, midi)]
    tracks = [_absolute(track) for track in mid.tracks]
    notes = [_notes(track) for track in tracks]
    tempo = _tempo_map(tracks)
    resolution = mid.ticks_per_beat
    starts = sorted({on for track in notes for on, _, _, _ in track})
    end = max((t for track in tracks for t, _ in track), default=0)
    total_s = seconds_at(tempo, end, resolution)
    n = max(1, min(n, int(total_s // MIN_PIECE_S)))
    cuts = sorted({_first_at(tempo, starts, total_s * k / n, resolution) for k in range(1, n)} - {0}) if starts else []
    if not cuts:
        return [(0.0, midi)]
    out = []
    for a, b in zip([0, *cuts], [*cuts, end + 1]):
        mine = [[(i, j) for on, i, _, j in track if a <= on < b] for track in notes]  # per track: on and off
        last = max(off for track in notes for on, _, off, _ in track if a <= on < b)
        stop = end if b > end else _tick_after(tempo, last, TAIL_S, resolution, end)
        piece = mido.MidiFile(type=mid.type, ticks_per_beat=resolution)
        piece.tracks.extend(
            _piece_track(track, {k for pair in pairs for k in pair}, a, stop) for track, pairs in zip(tracks, mine)
        )
        buffer = io.BytesIO()
        piece.save(file=buffer)
        out.append((seconds_at(tempo, a, resolution), buffer.getvalue()))
    return out


def length_seconds(mid: Any) -> float:
    """How long a mido ``MidiFile`` plays, in seconds: its last event through its tempo map. mido's own ``length``
    (the same figure for one or more tracks played together) merges and copies every message, 0.05 s for a
    2-minute tune; a type 2 file (tracks one after the other) is left to it."""
    if mid.type == 2:
        return float(mid.length)
    tracks = [_absolute(track) for track in mid.tracks]
    return seconds_at(_tempo_map(tracks), max((t for track in tracks for t, _ in track), default=0), mid.ticks_per_beat)


def _tempo_map(tracks: list[list[tuple[int, Any]]]) -> list[tuple[int, int]]:
    """(tick, microseconds a quarter note) of every tempo change, in the order a player meets them (by tick, then
    track: as mido merges tracks)."""
    return sorted(((t, m.tempo) for track in tracks for t, m in track if m.type == "set_tempo"), key=lambda e: e[0])


def seconds_at(tempo: list[tuple[int, int]], tick: int, resolution: int) -> float:
    """When ``tick`` sounds, in seconds, through a tempo map of (tick, microseconds a quarter note), sorted.

    >>> seconds_at([], 960, 480), seconds_at([(0, 1_000_000), (480, 250_000)], 960, 480)  # 120, then 60 then 240
    (1.0, 1.25)
    """
    seconds, at, per_quarter = 0.0, 0, 500_000  # MIDI's default: 120 quarter notes a minute
    for change, value in tempo:
        if change >= tick:
            break
        seconds += (change - at) * per_quarter / resolution / 1e6
        at, per_quarter = change, value
    return seconds + (tick - at) * per_quarter / resolution / 1e6


def _absolute(track: Any) -> list[tuple[int, Any]]:
    now, events = 0, []
    for msg in track:
        now += msg.time
        events.append((now, msg))
    return events


def _is_note(msg: Any) -> bool:
    return msg.type in ("note_on", "note_off")


def _notes(events: list[tuple[int, Any]]) -> list[tuple[int, int, int, int]]:
    """(start tick, index of the note-on, end tick, index of the note-off) of each note of a track: a note ends
    at the first note-off of its channel and key after it (first on, first off); one never ended is left out."""
    sounding: dict[tuple[int, int], list[int]] = {}
    found = []
    for j, (t, m) in enumerate(events):
        if not _is_note(m):
            continue
        key = (m.channel, m.note)
        if m.type == "note_on" and m.velocity > 0:
            sounding.setdefault(key, []).append(j)
        elif sounding.get(key):
            i = sounding[key].pop(0)
            found.append((events[i][0], i, t, j))
    return found


def _piece_track(events: list[tuple[int, Any]], notes: set[int], a: int, stop: int) -> Any:
    """One track of the piece starting at tick ``a``, moved to start at tick 0: the note events of ``notes``
    (indices), every other event until ``stop`` (those before ``a`` at ``a``: the channel's state), ending at
    ``stop``."""
    import mido

    kept = sorted(
        (max(t, a), j, m)
        for j, (t, m) in enumerate(events)
        if (j in notes if _is_note(m) else t <= stop and m.type != "end_of_track")
    )
    track, now = mido.MidiTrack(), a
    for t, _, m in kept:
        track.append(m.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=max(0, stop - now)))
    return track


def _first_at(tempo: list[tuple[int, int]], starts: list[int], seconds: float, resolution: int) -> int:
    """The first note start at or after ``seconds`` (the last one if none)."""
    tick = _tick_after(tempo, 0, seconds, resolution, starts[-1])
    return starts[min(len(starts) - 1, bisect.bisect_left(starts, tick))]


def _tick_after(tempo: list[tuple[int, int]], tick: int, seconds: float, resolution: int, end: int) -> int:
    """The first tick ``seconds`` after ``tick`` or later, at most ``end`` (a search bounded by log2 of the ticks)."""
    target = seconds_at(tempo, tick, resolution) + seconds
    lo, hi = tick, max(tick, end)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if seconds_at(tempo, mid, resolution) < target else (lo, mid)
    return lo
