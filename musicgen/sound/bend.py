"""MIDI whose notes are bent by a few cents each, for a synthesizer: every bend on a channel of its own.

    fitted = bent(mid, {21: {81: 68.0, 82: 68.0}})   # program 21's A5 and Bb5 sound 68 cents higher

A synthesizer bends a whole channel, so the notes of one bend move to a channel of their own, one the file
does not use (never the drums' channel 10), set up as theirs is at that moment (its program, controllers and
pitch bend) with the bend added, and following its later changes; chords keep each note's bend, and a note
never has its pitch moved while it sounds. A note no channel is left for stays on its own, unbent. Bends are
counted in General MIDI's default range of two semitones (musicgen's MIDI sets none). The result is one
track (format 0) with the same notes at the same ticks; with nothing to bend, ``mid`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHANNELS = 16
PERCUSSION_CHANNEL = 9  # GM's drum channel: its notes are drums, never bent
BEND_STEPS = 8192  # pitch-wheel steps from the middle to either end
BEND_RANGE_CENTS = 200.0  # what the end of the wheel bends by unless a file sets another range
KEYED = ("note_on", "note_off", "polytouch")  # the messages that name a key


def steps(cents: float) -> int:
    """Pitch-wheel steps bending by ``cents``.

    >>> steps(68.0), steps(-15.0), steps(0.004), steps(500.0)
    (2785, -614, 0, 8191)
    """
    return _wheel(round(cents / BEND_RANGE_CENTS * BEND_STEPS))


def _wheel(value: int) -> int:
    return max(-BEND_STEPS, min(BEND_STEPS - 1, value))


def bent(mid: Any, cents: Mapping[int, Mapping[int, float]]) -> Any:
    """``mid`` (a ``mido.MidiFile``) with each note of program P on key K bent by ``cents[P][K]``.

    Its messages are reused (their channels and times set anew): hand it a file read for this call alone.
    """
    import mido

    timed, end = [], 0
    for track in mid.tracks:
        now = 0
        for m in track:
            now += m.time
            if m.type == "end_of_track":
                end = max(end, now)
            else:
                timed.append((now, m))
    timed.sort(key=lambda tm: tm[0])  # stable: at one time, the tracks in order (as mido.merge_tracks)
    used = {m.channel for _, m in timed if hasattr(m, "channel")}
    free = [c for c in range(CHANNELS) if c != PERCUSSION_CHANNEL and c not in used]
    program, wheel = [0] * CHANNELS, [0] * CHANNELS
    setup: list[dict[Any, Any]] = [{} for _ in range(CHANNELS)]  # each channel's latest message of each kind
    split: dict[tuple[int, int], int] = {}  # (channel, steps) -> the channel its notes of that bend play on
    sounding: dict[tuple[int, int], list[int]] = {}  # (channel, key) -> where its notes now sounding went
    out: list[tuple[int, Any, int]] = []  # (ticks from the start, message, the channel it goes to)
    for t, m in timed:
        ch = getattr(m, "channel", PERCUSSION_CHANNEL)
        if ch == PERCUSSION_CHANNEL:
            out.append((t, m, ch))
        elif m.type in KEYED:
            key = (ch, m.note)
            if m.type == "note_on" and m.velocity > 0:
                bend = steps(cents.get(program[ch], {}).get(m.note, 0.0))
                if bend and (ch, bend) not in split and free:
                    split[ch, bend] = to = free.pop(0)
                    out += [(t, x.copy(), to) for kind, x in setup[ch].items() if kind != "pitchwheel"]
                    out.append((t, mido.Message("pitchwheel", channel=to, pitch=_wheel(wheel[ch] + bend)), to))
                sounding.setdefault(key, []).append(split.get((ch, bend), ch) if bend else ch)
                to = sounding[key][-1]
            elif m.type == "polytouch":
                to = (sounding.get(key) or [ch])[-1]
            else:
                to = sounding[key].pop(0) if sounding.get(key) else ch
            out.append((t, m, to))
        else:
            if m.type == "program_change":
                program[ch] = m.program
            elif m.type == "pitchwheel":
                wheel[ch] = m.pitch
            setup[ch][(m.type, m.control) if m.type == "control_change" else m.type] = m
            out.append((t, m, ch))
            for (c, bend), to in split.items():
                if c == ch:
                    out.append((t, m.copy(pitch=_wheel(m.pitch + bend)) if m.type == "pitchwheel" else m.copy(), to))
    if not split:
        return mid
    track, last = mido.MidiTrack(), 0
    for t, m, to in out:
        if to != getattr(m, "channel", to):
            m.channel = to
        m.time, last = t - last, t
        track.append(m)
    track.append(mido.MetaMessage("end_of_track", time=max(end - last, 0)))
    return mido.MidiFile(type=0, ticks_per_beat=mid.ticks_per_beat, tracks=[track])
