"""A tune as downloadable bytes: .abc, .mid (midiutil, two tracks), MusicXML (music21).

    midi = to_midi(abc, instrument="fiddle", accompaniment_instrument="guitar", tempo=None)
    xml = to_musicxml(parse(abc))
    files = downloads(parse(abc), audio_format="ogg")   # {"the-title.abc": b"...", ".mid", ".ogg", ".musicxml"}

The MIDI file holds two tracks: the melody (channel 1) and the accompaniment
(channel 2, left out when ``accompaniment=False``), each with the General MIDI
program of an instrument from :data:`INSTRUMENTS` (or a program number 0-127).
Melody notes sound for 92% of their written length so repeated notes stay
distinct; tied notes are one note. The file ends :data:`TAIL_BEATS` after the last
note, so a synthesizer lets the final note ring out.

All functions are pure: the same arguments give the same bytes. Those taking ABC text
(``to_midi(abc)``, ``to_musicxml(abc)``) suit ``st.cache_data``; a :class:`~musicgen.sound.convert.Parsed`
holds a music21 Score, which cannot be pickled, so cache it with ``st.cache_resource`` if at all.
"""

from __future__ import annotations

import io
import re

from musicgen.abcnotation.header import title_slug
from musicgen.sound.convert import Events, Parsed, parse, to_events

# User-facing names -> General MIDI program (0-based).
INSTRUMENTS: dict[str, int] = {
    "piano": 0,
    "harpsichord": 6,
    "music box": 10,
    "vibraphone": 11,
    "marimba": 12,
    "dulcimer": 15,
    "organ": 19,
    "accordion": 21,
    "harmonica": 22,
    "bandoneon": 23,
    "nylon guitar": 24,
    "guitar": 25,
    "bass": 32,
    "fiddle": 40,
    "viola": 41,
    "cello": 42,
    "harp": 46,
    "strings": 48,
    "choir": 52,
    "trumpet": 56,
    "french horn": 60,
    "oboe": 68,
    "bassoon": 70,
    "clarinet": 71,
    "piccolo": 72,
    "flute": 73,
    "recorder": 74,
    "pan flute": 75,
    "tin whistle": 78,
    "ocarina": 79,
    "banjo": 105,
    "bagpipe": 109,
}
MELODY_CHANNEL, ACCOMPANIMENT_CHANNEL = 0, 1
ARTICULATION = 0.92  # share of a melody note's written length that sounds
TAIL_BEATS = 2.0  # silence after the last note, in which it rings out
MIN_TEMPO, MAX_TEMPO = 20, 400  # quarter notes a minute

Source = str | Parsed | Events


def program(instrument: str | int) -> int:
    """The General MIDI program of an instrument name (any case) or number.

    >>> program("Fiddle"), program("tin whistle"), program(73)
    (40, 78, 73)
    >>> program("kazoo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown instrument 'kazoo'; choose one of: piano, harpsichord, ...
    """
    if isinstance(instrument, int) and not isinstance(instrument, bool):
        if 0 <= instrument <= 127:
            return instrument
        raise ValueError(f"General MIDI programs are 0 to 127, not {instrument}")
    name = str(instrument).strip().lower()
    if name not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {instrument!r}; choose one of: {', '.join(INSTRUMENTS)}")
    return INSTRUMENTS[name]


def events_of(source: Source, accompaniment: bool = True) -> Events:
    """Events from ABC text, a parsed tune or events."""
    if isinstance(source, Events):
        return source
    return to_events(parse(source) if isinstance(source, str) else source, accompaniment=accompaniment)


def to_midi(
    abc_or_parsed: Source,
    instrument: str | int = "piano",
    accompaniment: bool = True,
    tempo: float | None = None,
    accompaniment_instrument: str | int = "piano",
) -> bytes:
    """A Standard MIDI File (format 1) of the tune: melody track, then accompaniment track.

    ``tempo`` is in quarter notes a minute; None keeps the tune's own (Q: or a default).
    Raises :class:`~musicgen.sound.convert.InvalidABCError` for bad ABC, ValueError for a bad option.
    """
    from midiutil import MIDIFile

    melody_program, backing_program = program(instrument), program(accompaniment_instrument)
    ev = events_of(abc_or_parsed, accompaniment)
    bpm = ev.tempo_bpm if tempo is None else float(tempo)
    if not MIN_TEMPO <= bpm <= MAX_TEMPO:
        raise ValueError(f"tempo {tempo} is out of range: {MIN_TEMPO} to {MAX_TEMPO} quarter notes a minute")
    backing = ev.accompaniment if accompaniment else ()
    tracks = 2 if accompaniment else 1  # the accompaniment track is there even when it has no chords
    # removeDuplicates=False: a unison in the melody is two notes, as music21 counts them
    mf = MIDIFile(tracks, removeDuplicates=False, deinterleave=True, adjust_origin=False, file_format=1)
    mf.addTempo(0, 0, bpm)
    numerator, denominator = _meter(ev.meter)
    mf.addTimeSignature(0, 0, numerator, denominator.bit_length() - 1, 24)
    mf.addTrackName(0, 0, "melody")
    mf.addProgramChange(0, MELODY_CHANNEL, 0, melody_program)
    for n in ev.melody:
        mf.addNote(0, MELODY_CHANNEL, n.pitch, n.start_beats, n.duration_beats * ARTICULATION, n.velocity)
    if accompaniment:
        mf.addTrackName(1, 0, "accompaniment")
        mf.addProgramChange(1, ACCOMPANIMENT_CHANNEL, 0, backing_program)
        for n in backing:
            mf.addNote(1, ACCOMPANIMENT_CHANNEL, n.pitch, n.start_beats, n.duration_beats, n.velocity)
    last = max((n.start_beats + n.duration_beats for n in (*ev.melody, *backing)), default=0.0)
    # a harmless "sustain off" marks the end, so the file (and its audio) lasts until the tail is over
    mf.addControllerEvent(0, MELODY_CHANNEL, max(last, ev.beats) + TAIL_BEATS, 64, 0)
    out = io.BytesIO()
    mf.writeFile(out)
    return out.getvalue()


def _meter(meter: str) -> tuple[int, int]:
    """Numerator and denominator for the MIDI time signature.

    >>> _meter("6/8"), _meter("none"), _meter("3/5")
    ((6, 8), (4, 4), (4, 4))
    """
    m = re.fullmatch(r"(\d+)/(\d+)", meter)
    if m is None or int(m[2]) & (int(m[2]) - 1) or not 0 < int(m[1]) < 256:
        return 4, 4  # free meter or one MIDI cannot write: only a display hint in MIDI
    return int(m[1]), int(m[2])


def to_musicxml(abc_or_parsed: str | Parsed) -> bytes:
    """MusicXML (uncompressed, UTF-8) of the tune as written, from music21."""
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    parsed = parse(abc_or_parsed) if isinstance(abc_or_parsed, str) else abc_or_parsed
    xml = GeneralObjectExporter(parsed.score).parse()
    # music21 names parts by a random hash: number them, so the same tune gives the same bytes (on one day:
    # the file also records the date it was encoded)
    ids = list(dict.fromkeys(re.findall(rb'<score-part id="([^"]+)"', xml)))
    for i, old in enumerate(ids, start=1):
        xml = xml.replace(b'id="' + old + b'"', b'id="P%d"' % i)
    return xml


def to_abc(parsed: Parsed) -> bytes:
    """The ABC text that was played (after repairs), UTF-8, ending with a newline."""
    return (parsed.abc.rstrip("\n") + "\n").encode("utf-8")


def downloads(
    parsed: Parsed,
    instrument: str | int = "piano",
    accompaniment: bool = True,
    tempo: float | None = None,
    accompaniment_instrument: str | int = "piano",
    audio_format: str | None = "ogg",
) -> dict[str, bytes]:
    """Every download of a tune, by file name: .abc, .mid, MusicXML and (unless None) audio."""
    stem = title_slug(parsed.title)
    midi = to_midi(parsed, instrument, accompaniment, tempo, accompaniment_instrument)
    files = {f"{stem}.abc": to_abc(parsed), f"{stem}.mid": midi, f"{stem}.musicxml": to_musicxml(parsed)}
    if audio_format is not None:
        from musicgen.sound.audio import render

        files[f"{stem}.{audio_format}"] = render(midi, audio_format)
    return files
