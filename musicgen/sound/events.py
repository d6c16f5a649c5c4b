"""A music21 score -> the notes to play, in order: repeats and endings, ties, grace notes, accents.

    events = from_score(score, tempo_bpm=150.0, meter="6/8")     # what convert.to_events calls
    order, warnings = play_order(measures)                        # measure indices as played

Times are quarter-note beats from the start of the tune, repeats played out.

**Repeats** are played as written, by walking the bars rather than with music21's
``expandRepeats``: that deep-copies the whole score and took longer than the parse
itself (0.3-1.5 s a Nottingham tune here), and it repeats a ``:|`` that has no
``|:`` from the very beginning, nesting, so ``A :| B :| ... F :|`` played 21 times
too long. Here a ``:|`` goes back to the last ``|:``, or else to the start of its
section (after the previous ``:|``, ``||`` or the start), as the ABC standard says;
bars under a first/second ending bracket play only on those passes.

**Ties** join notes of the same pitch only; music21 also marks ``B-c`` (a tie
between different notes, found in some Nottingham tunes) and its ``stripTies``
would drop the ``c``; here both are played. **Grace notes** take
:data:`GRACE_BEATS` each from the start of the note they ornament, together at most half
of it; when that leaves a grace under :data:`MIN_GRACE_BEATS` (many graces before a short
note), only the graces nearest the note that fit are played. **Velocity**
accents the first beat of a bar (100), other beats (90) and off-beats (82).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from musicgen.abcnotation.check import InvalidABCError
from musicgen.sound.accompaniment import accompany
from musicgen.sound.budget import MAX_BEATS
from musicgen.sound.notes import EPS, NoteEvent

GRACE_BEATS = 0.125  # a grace note lasts a 32nd note, taken from the note it ornaments
MIN_GRACE_BEATS = 1 / 32  # but never less than a 128th (30 MIDI ticks): a shorter one is not heard, nor written
_SECTION_BARS = ("double", "final", "heavy", "light-light", "light-heavy", "heavy-light")


@dataclass(frozen=True)
class Events:
    """What to play: the melody as written (repeats played out) and an accompaniment."""

    melody: tuple[NoteEvent, ...]
    accompaniment: tuple[NoteEvent, ...]
    tempo_bpm: float  # quarter notes a minute
    beats: float  # length of the tune in quarter notes, repeats played
    meter: str
    warnings: tuple[str, ...] = field(default=())


class Bar(NamedTuple):
    """One written bar, its contents at offsets from its own start."""

    length: float  # quarter notes it lasts
    grid: float  # where its pulse grid starts, from the bar's start (< 0 for a pick-up)
    beat: float  # the meter's beat in quarter notes
    full: float  # a full bar of the meter in quarter notes
    notes: list[tuple[float, Any, int]]  # (offset, music21 note or chord, velocity)
    chords: list[tuple[float, tuple[int, tuple[int, ...]] | None]]  # (offset, chord spec or None for N.C.)
    start_repeat: bool
    end_repeat: int  # how many times to play the repeated passage (0: no repeat ends here)
    section_end: bool  # a double, final or repeat bar line closes it
    endings: frozenset[int]  # passes it is played on, under an ending bracket; empty: every pass


def play_order(bars: Sequence[Bar], limit: int = 10_000) -> list[int]:
    """Indices of ``bars`` in the order they are played.

    >>> B = lambda start=False, end=0, endings=(), section=False: Bar(1, 0, 1, 1, [], [], start, end,
    ...                                                             section or bool(end), frozenset(endings))
    >>> play_order([B(), B(end=2), B(), B(end=2)])  # A :| B :|  (no |: at all)
    [0, 1, 0, 1, 2, 3, 2, 3]
    >>> play_order([B(), B(start=True), B(endings=[1], end=2), B(endings=[2]), B()])  # pick-up |: x [1 y :| [2 z | w
    [0, 1, 2, 1, 3, 4]
    >>> play_order([B(), B(section=True), B(start=True), B(end=2)])  # A || |: B :|
    [0, 1, 2, 3, 2, 3]
    >>> play_order([B(start=True), B(end=2), B(start=True), B(end=2)])  # |: A :: B :|
    [0, 1, 0, 1, 2, 3, 2, 3]
    """
    order: list[int] = []
    start, passes, done, i = 0, 1, False, 0
    while i < len(bars) and len(order) < limit:
        bar = bars[i]
        if done and not bar.endings:  # past the last ending: a new section begins
            start, passes, done = i, 1, False
        if bar.start_repeat and i != start:
            start, passes = i, 1
        if bar.endings and passes not in bar.endings:
            done = done or bool(bar.end_repeat)  # a first ending's ":|" left behind: that repeat is over
            i += 1
            continue
        order.append(i)
        if bar.end_repeat and passes < bar.end_repeat:
            passes += 1
            i = start
            continue
        if bar.end_repeat:
            done = True
        elif bar.section_end and not bar.endings and not bars[start].start_repeat:
            start, passes = i + 1, 1  # "||" starts a section an implicit repeat would go back to
        i += 1
    return order


def written_bars(part: Any) -> list[Bar]:
    """The bars of a music21 part with their notes, chord symbols and repeat marks."""
    from music21 import bar as m21bar
    from music21 import chord, harmony, note, spanner, stream

    measures = list(part.getElementsByClass(stream.Measure)) or [part]
    endings: dict[int, frozenset[int]] = {}
    for bracket in part.recurse().getElementsByClass(spanner.RepeatBracket) if measures[0] is not part else []:
        numbers = frozenset(bracket.numberRange or [1])
        for m in bracket.getSpannedElements():
            endings[id(m)] = endings.get(id(m), frozenset()) | numbers
    out, ts = [], None
    for index, m in enumerate(measures):
        ts = getattr(m, "timeSignature", None) or ts or (part.recurse().getElementsByClass("TimeSignature").first())
        beat = float(ts.beatDuration.quarterLength) if ts is not None else 1.0
        full = float(ts.barDuration.quarterLength) if ts is not None else 4.0
        length, pad = float(m.highestTime), float(getattr(m, "paddingLeft", 0.0) or 0.0)
        grid = -(full - length) if index == 0 and pad == 0 and 0 < length < full else -pad
        notes, chords = [], []
        for el in m.recurse().getElementsByClass((note.Note, chord.Chord, harmony.Harmony)):
            at = float(el.getOffsetInHierarchy(m))
            if isinstance(el, harmony.Harmony):
                chords.append((at, _chord_spec(el)))
                continue
            within = (at - grid) / beat
            accent = 100 if abs(at - grid) < EPS else 90 if abs(within - round(within)) < EPS else 82
            notes.append((at, el, accent))
        left, right = getattr(m, "leftBarline", None), getattr(m, "rightBarline", None)
        end = isinstance(right, m21bar.Repeat) and right.direction == "end"
        out.append(
            Bar(
                length,
                grid,
                beat,
                full,
                notes,
                chords,
                start_repeat=isinstance(left, m21bar.Repeat) and left.direction == "start",
                end_repeat=(int(right.times or 2) if end else 0),
                section_end=end or (right is not None and right.type in _SECTION_BARS),
                endings=endings.get(id(m), frozenset()),
            )
        )
    return out


def _chord_spec(cs: Any) -> tuple[int, tuple[int, ...]] | None:
    """(bass pitch class, chord pitch classes) of a chord symbol, or None for "N.C." or text."""
    from music21 import harmony

    if isinstance(cs, harmony.NoChord) or not cs.pitches:
        return None
    bass = cs.bass() or cs.pitches[0]
    return bass.pitchClass, tuple(sorted({p.pitchClass for p in cs.pitches}))


def from_score(score: Any, tempo_bpm: float, meter: str, accompaniment: bool = True) -> Events:
    """The events of a music21 score: every part's notes as melody, part 1's chord symbols as accompaniment."""
    raw: list[tuple[float, int, Any, int]] = []  # (start, part, note, velocity)
    grid_bars: list[tuple[float, float, float, float, float]] = []
    chords: list[tuple[float, tuple[int, tuple[int, ...]] | None]] = []
    total = 0.0
    for index, part in enumerate(score.parts or [score]):
        bars = written_bars(part)
        at = 0.0
        for i in play_order(bars):
            bar = bars[i]
            raw.extend((at + offset, index, el, velocity) for offset, el, velocity in bar.notes)
            if index == 0:
                grid_bars.append((at, bar.length, at + bar.grid, bar.beat, bar.full))
                chords.extend((at + offset, spec) for offset, spec in bar.chords)
            at += bar.length
            if at > MAX_BEATS:
                raise InvalidABCError(None, f"it lasts over {MAX_BEATS} beats once repeats are played")
        total = max(total, at)
    raw.sort(key=lambda r: r[0])  # stable: grace notes stay before the note they ornament
    backing = tuple(accompany(chords, grid_bars)) if accompaniment else ()
    return Events(
        melody=tuple(join_ties_and_graces(raw)), accompaniment=backing, tempo_bpm=tempo_bpm, beats=total, meter=meter
    )


def join_ties_and_graces(raw: Sequence[tuple[float, int, Any, int]]) -> list[NoteEvent]:
    """Notes from (start, part, music21 note or chord, velocity): ties joined, graces placed."""
    notes: list[NoteEvent] = []
    open_ties: dict[tuple[int, int], int] = {}  # (part, pitch) -> index in notes of the note a tie extends
    graces: list[int] = []  # indices in notes waiting for their main note
    for at, part, el, velocity in raw:
        is_grace = el.duration.isGrace
        length = float(el.duration.quarterLength)
        if graces and not is_grace:
            at, length = _place_graces(notes, graces, at, length)
            graces = []
        tie_type = el.tie.type if el.tie is not None else None
        for p in el.pitches:
            key = (part, int(p.midi))
            held = open_ties.pop(key, None)
            if held is not None and tie_type in ("stop", "continue") and not is_grace:
                prev = notes[held]
                if abs(prev.start_beats + prev.duration_beats - at) < 1e-3:
                    notes[held] = prev._replace(duration_beats=at + length - prev.start_beats)
                    if tie_type == "continue":
                        open_ties[key] = held
                    continue
            notes.append(NoteEvent(int(p.midi), at, length, velocity))
            if is_grace:
                graces.append(len(notes) - 1)
            elif tie_type in ("start", "continue"):
                open_ties[key] = len(notes) - 1
    for i in graces:  # grace notes at the very end: give them their own short time
        notes[i] = notes[i]._replace(duration_beats=GRACE_BEATS)
    return [n for n in notes if n.duration_beats > 0]


def _place_graces(notes: list[NoteEvent], graces: list[int], at: float, length: float) -> tuple[float, float]:
    """Play grace notes one after another from the main note's start; the main note starts after them.

    Together they take at most half the main note, each at least :data:`MIN_GRACE_BEATS`: those
    that do not fit (the earliest) get no time, and so are left out of the events.

    >>> g = lambda: [NoteEvent(79, 0.0, 0.0, 82) for _ in range(10)]
    >>> notes = g(); _place_graces(notes, list(range(10)), 1.0, 0.5)  # ten graces before an eighth note
    (1.25, 0.25)
    >>> [n.duration_beats for n in notes].count(MIN_GRACE_BEATS), notes[2].start_beats
    (8, 1.0)
    >>> notes = g(); _place_graces(notes, list(range(10)), 0.0, 1 / 64), {n.duration_beats for n in notes}
    ((0.0, 0.015625), {0.0})
    """
    each = min(GRACE_BEATS, length / (2 * len(graces))) if length > 0 else GRACE_BEATS
    if each < MIN_GRACE_BEATS:
        fit = int(length / (2 * MIN_GRACE_BEATS))
        for i in graces[: len(graces) - fit]:
            notes[i] = notes[i]._replace(start_beats=at, duration_beats=0.0)
        graces = graces[len(graces) - fit :]
        if not graces:
            return at, length
        each = min(GRACE_BEATS, length / (2 * len(graces)))
    for k, i in enumerate(graces):
        notes[i] = notes[i]._replace(start_beats=at + k * each, duration_beats=each)
    return at + len(graces) * each, max(length - len(graces) * each, each)
