"""A tune as downloadable bytes: .abc, .mid (midiutil, two tracks), MusicXML (music21).

    midi = to_midi(abc, instrument="fiddle", accompaniment_instrument="guitar", tempo=None)
    xml = to_musicxml(parse(abc))
    files = downloads(parse(abc), audio_format="ogg")   # {"the-title.abc": b"...", ".mid", ".ogg", ".musicxml"}
    musicxml_refusal(abc)                               # why MusicXML would be refused, or None (no music21)

The MIDI file holds two tracks: the melody (channel 1) and the accompaniment
(channel 2, left out when ``accompaniment=False``), each with the General MIDI
program of an instrument from :data:`INSTRUMENTS` (or a program number 0-127).
Melody notes sound for 92% of their written length so repeated notes stay
distinct; tied notes are one note; a note shorter than one MIDI tick is left out
(midiutil cannot write one). The file ends :data:`TAIL_BEATS` after the last
note, so a synthesizer lets the final note ring out.

**Budget.** Each conversion runs under one deadline (``budget``, a
:class:`~musicgen.sound.budget.Budget`; by default :data:`~musicgen.sound.budget.PARSE_S`
from the call) shared by the parse of ABC text and the steps after it; past it,
:class:`~musicgen.sound.convert.InvalidABCError` says so. MusicXML of a tune with more
slurs or voices than the budget allows is refused before music21 builds it.

All functions are pure: the same arguments give the same bytes. Those taking ABC text
(``to_midi(abc)``, ``to_musicxml(abc)``) suit ``st.cache_data``; a :class:`~musicgen.sound.convert.Parsed`
holds a music21 Score, which cannot be pickled, so cache it with ``st.cache_resource`` if at all.
"""

from __future__ import annotations

import io
import re

from musicgen.abcnotation import check, tokens
from musicgen.abcnotation.header import title_slug
from musicgen.sound import budget as limits
from musicgen.sound.budget import Budget
from musicgen.sound.convert import Events, InvalidABCError, Parsed, parse, to_events

# User-facing names -> General MIDI program (0-based). The folk sounds: fiddle, folk fiddle, flute, tin whistle,
# accordion, acoustic guitar (musicgen.sound.soundfont says which the SoundFont plays, and what stands in).
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
    "acoustic guitar": 25,  # GM's steel-string acoustic guitar, named as folk players say it
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
    "folk fiddle": 110,  # GM's "Fiddle" program; "fiddle" plays GM's violin (40), the fuller sound in most SoundFonts
}
MELODY_CHANNEL, ACCOMPANIMENT_CHANNEL = 0, 1
ARTICULATION = 0.92  # share of a melody note's written length that sounds
TAIL_BEATS = 2.0  # silence after the last note, in which it rings out
MIN_TEMPO, MAX_TEMPO = 20, 400  # quarter notes a minute
TICKS_PER_QUARTER = 960  # midiutil's resolution (its TICKSPERQUARTERNOTE): a note must last one tick at least

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


def events_of(source: Source, accompaniment: bool = True, budget: Budget | None = None) -> Events:
    """Events from ABC text, a parsed tune or events (text is parsed within ``budget``)."""
    if isinstance(source, Events):
        return source
    return to_events(parse(source, budget or limits.PARSE_S) if isinstance(source, str) else source, accompaniment)


def to_midi(
    abc_or_parsed: Source,
    instrument: str | int = "piano",
    accompaniment: bool = True,
    tempo: float | None = None,
    accompaniment_instrument: str | int = "piano",
    budget: Budget | None = None,
) -> bytes:
    """A Standard MIDI File (format 1) of the tune: melody track, then accompaniment track.

    ``tempo`` is in quarter notes a minute; None keeps the tune's own (Q: or a default).
    Raises :class:`~musicgen.sound.convert.InvalidABCError` for bad ABC or past ``budget``,
    ValueError for a bad option.
    """
    melody_program, backing_program = program(instrument), program(accompaniment_instrument)
    if tempo is not None and not MIN_TEMPO <= float(tempo) <= MAX_TEMPO:
        raise ValueError(f"tempo {tempo} is out of range: {MIN_TEMPO} to {MAX_TEMPO} quarter notes a minute")
    budget = budget or Budget.start(limits.PARSE_S)
    source = parse(abc_or_parsed, budget) if isinstance(abc_or_parsed, str) else abc_or_parsed

    def make() -> bytes:
        ev = events_of(source, accompaniment)
        return _midi_file(ev, melody_program, backing_program, accompaniment, tempo)

    return budget.run(make, "making its MIDI")


def _midi_file(
    ev: Events, melody_program: int, backing_program: int, accompaniment: bool, tempo: float | None
) -> bytes:
    from midiutil import MIDIFile

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
    # a note of no ticks would end before it starts: midiutil then fails to write the file (a KeyError)
    for n in ev.melody:
        if n.duration_beats * ARTICULATION * TICKS_PER_QUARTER >= 1:
            mf.addNote(0, MELODY_CHANNEL, n.pitch, n.start_beats, n.duration_beats * ARTICULATION, n.velocity)
    if accompaniment:
        mf.addTrackName(1, 0, "accompaniment")
        mf.addProgramChange(1, ACCOMPANIMENT_CHANNEL, 0, backing_program)
        for n in backing:
            if n.duration_beats * TICKS_PER_QUARTER >= 1:
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


def musicxml_refusal(abc: str) -> str | None:
    r"""Why MusicXML of this ABC would be refused, or None: more slurs or voices than music21 exports in time.

    Counted with the project's tokenizer, without music21 (a few milliseconds for the longest tune).

    >>> musicxml_refusal("X:1\nK:G\n(GA)|"), musicxml_refusal("X:1\nK:G\n" + "(" * 500 + "G|")
    (None, 'it has 500 slurs; MusicXML is made for at most 400')
    """
    slurs, voices = 0, set()
    for t in tokens.tokenize(abc):
        field = t.text.lstrip("[").rstrip("]") if t.kind in (tokens.FIELD, tokens.INLINE_FIELD) else ""
        if t.kind == tokens.SLUR and t.text == "(":
            slurs += 1
        elif field.startswith("V:"):
            voices.add((field[2:].split() or [""])[0])  # "V:1 clef=bass" and "[V:1]" are one voice
    if slurs > limits.MAX_SLURS:
        return f"it has {slurs:,} slurs; MusicXML is made for at most {limits.MAX_SLURS:,}"
    if len(voices) > limits.MAX_VOICES:
        return f"it has {len(voices):,} voices; MusicXML is made for at most {limits.MAX_VOICES:,}"
    return None


def to_musicxml(abc_or_parsed: str | Parsed, budget: Budget | None = None) -> bytes:
    """MusicXML (uncompressed, UTF-8) of the tune as written, from music21.

    Raises :class:`~musicgen.sound.convert.InvalidABCError` for bad ABC, for a tune with more slurs
    or voices than the budget allows (see :func:`musicxml_refusal`) or past ``budget``.
    """
    # the tune's own text, bounded in size (check refuses a longer one), is counted before music21 runs
    text = check.check_and_repair(abc_or_parsed).text if isinstance(abc_or_parsed, str) else abc_or_parsed.abc
    refusal = musicxml_refusal(text)
    if refusal is not None:
        raise InvalidABCError(None, refusal)
    budget = budget or Budget.start(limits.PARSE_S)
    parsed = parse(abc_or_parsed, budget) if isinstance(abc_or_parsed, str) else abc_or_parsed
    return budget.run(lambda: _musicxml_of(parsed.score), "making its MusicXML", "export")


def _musicxml_of(score: object) -> bytes:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    xml = GeneralObjectExporter(score).parse()
    # music21 names parts by a random hash: number them, so the same tune gives the same bytes (on one day:
    # the file also records the date it was encoded)
    ids = list(dict.fromkeys(re.findall(rb'<score-part id="([^"]+)"', xml)))
    for i, old in enumerate(ids, start=1):
        xml = xml.replace(b'id="' + old + b'"', b'id="P%d"' % i)
    # a tune without a C: field has no composer; music21 would name itself (its defaults.author)
    return re.sub(rb'\n *<creator type="composer">Music21</creator>', b"", xml)


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
