"""A tune for the page: ABC -> facts, MIDI and audio with failures as sentences, MusicXML, the text for the
sheet-music renderer, the bar counts of its badges; and the memory habits of a long-running server.

    sound = make_sound(abc, instrument="fiddle", accompaniment=True, tempo=0)   # never raises
    sound.midi, sound.audio, sound.parse_error, sound.audio_error, sound.audio_note, sound.bars
    sound.qpm, sound.music_seconds      # its pace, and when its last note ends (what a cursor follows)
    make_sound(abc, speed=0.7)          # the same music at 70% of its tempo (practising a passage)
    make_sound(abc, wanted=still_wanted)  # synth.Dropped as soon as still_wanted() says False

:func:`limit_malloc_arenas`, :func:`settle`, :func:`freeze_alive` and :func:`release_free_memory` are the server's
memory habits. Everything here runs under the limits of :mod:`musicgen.sound.budget`: a text past its size is refused
before anything reads it, one deadline (``TUNE_S``) covers the parse, MIDI and audio of one tune (or
its parse and MusicXML), and the audio stops at ``MAX_AUDIO_SECONDS``, saying so in ``audio_note``.
"""

from __future__ import annotations

import ctypes
import gc
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from musicgen.abcnotation import rhythm
from musicgen.sound import audio, budget, convert, export, synth

AUDIO_FORMAT = "wav"  # every browser plays it; rendering needs no encoder
AUDIO_MIME = {"wav": "audio/wav", "ogg": "audio/ogg"}
# The page's player: 24 kHz mono, 2.9 MB a minute (48 kHz stereo: 11.5 MB), for a General MIDI piano or fiddle
# whose samples hold little above 10 kHz; the download is rendered again at 48 kHz stereo (full_audio).
PAGE_RATE = 24_000
PAGE_CHANNELS = 1


@dataclass(frozen=True)
class Sound:
    """What the app shows beside the ABC text: facts about the tune, its MIDI and audio, and failures."""

    title: str = ""
    meter: str = ""
    key: str = ""
    repairs: tuple[str, ...] = ()  # sentences: what the converter fixed to read the tune
    midi: bytes | None = None
    audio: bytes | None = None
    audio_mime: str = AUDIO_MIME[AUDIO_FORMAT]
    parse_error: str | None = None  # a sentence when the ABC could not be read as music
    audio_error: str | None = None  # a sentence when only the audio (or MIDI) failed
    audio_note: str | None = None  # a sentence when the audio stops before the tune does (the audio ceiling)
    musicxml_error: str | None = None  # a sentence when the MusicXML download would be refused
    bars: tuple[int, int] | None = None  # (correct, checked) inner bars, when known
    qpm: float = 0.0  # quarter notes a minute of its MIDI and audio (0: none made)
    music_seconds: float = 0.0  # when its notes end in the audio, before the final note rings out

    @property
    def parses(self) -> bool:
        return self.parse_error is None


def make_sound(
    abc: str,
    instrument: str = "piano",
    accompaniment: bool = True,
    tempo: float = 0,
    speed: float = 1.0,
    wanted: Callable[[], bool] | None = None,
) -> Sound:
    """Parse a tune and render its MIDI and audio; failures become sentences, never exceptions.

    ``wanted``: asked after the reading and while the audio is rendered; once it says False (the page that asked
    has moved on) the work stops with :class:`~musicgen.sound.synth.Dropped`, the one exception raised here.

    ``tempo`` counts the beats a musician counts: dotted quarters in 6/8 and 9/8,
    half notes in 2/2, quarters in 4/4 (0 keeps the tune's own tempo). ``speed`` scales that tempo
    (0.5: half as fast): the notes are rendered slower, at their own pitch.
    """
    if len(abc) > budget.MAX_CHARS:  # the limit parse has: nothing reads a longer text, bar counts included
        return Sound(parse_error=_unreadable(f"the text is longer than {budget.MAX_CHARS:,} characters"))
    within = budget.Budget.start(budget.TUNE_S)
    try:
        parsed = parse(abc, within)
    except convert.InvalidABCError as e:
        return Sound(bars=bar_counts(abc), parse_error=_unreadable(str(e)))
    if wanted is not None and not wanted():
        raise synth.Dropped
    refusal = export.musicxml_refusal(parsed.abc)
    facts = dict(
        title=parsed.title or "",
        meter=parsed.meter or "",
        key=parsed.key or "",
        repairs=tuple(parsed.repairs),
        bars=bar_counts(abc),
        musicxml_error=f"No MusicXML can be made of this tune: {refusal}." if refusal else None,
    )
    quarters = (tempo * parsed.beat or parsed.tempo_bpm) * speed  # the converter counts quarter notes
    if (tempo or speed != 1) and not export.MIN_TEMPO <= quarters <= export.MAX_TEMPO:
        beat = f"beats of {parsed.beat:g} quarter notes" if parsed.beat != 1 else "quarter-note beats"
        beats = f"{quarters / parsed.beat:g}"
        return Sound(
            **facts,
            audio_error=(
                f"A tempo of {beats} beats a minute does not fit this tune's {parsed.meter} ({beat}): choose "
                f"{export.MIN_TEMPO / parsed.beat:.0f} to {export.MAX_TEMPO / parsed.beat:.0f}, or the tune's own."
            ),
        )
    try:
        midi = export.to_midi(
            parsed,
            instrument=instrument,
            accompaniment=accompaniment,
            tempo=quarters if tempo or speed != 1 else None,
            budget=within,
        )
    except (convert.InvalidABCError, ValueError) as e:
        return Sound(
            **facts,
            audio_error=(
                f"No MIDI or audio could be made from this tune ({e}). Its ABC text is below to download; "
                "try another instrument or compose again."
            ),
        )
    ceiling = audio.ceiling_seconds(budget.MAX_AUDIO_SECONDS, budget.MAX_AUDIO_BYTES)
    try:
        seconds = audio.midi_seconds(midi)
        sound = within.run(
            lambda: audio.render(midi, AUDIO_FORMAT, PAGE_RATE, ceiling, PAGE_CHANNELS, wanted),
            "reading it and making its audio",
        )
    except (audio.AudioError, convert.InvalidABCError) as e:
        return Sound(
            **facts,
            midi=midi,
            audio_error=(f"The audio could not be rendered ({e}). The ABC and MIDI files below still hold the tune."),
        )
    music = max(0.0, seconds - export.TAIL_BEATS * 60 / quarters)  # the file ends TAIL_BEATS after the music
    return Sound(
        **facts, midi=midi, audio=sound, audio_note=audio_note(seconds, ceiling), qpm=quarters, music_seconds=music
    )


def full_audio(midi: bytes) -> bytes:
    """The download's audio of a tune's MIDI: 16-bit stereo WAV at 48 kHz, up to the page's ceiling.

    Made when a listener asks for the file: the page plays the smaller :data:`PAGE_RATE` mono render.
    """
    ceiling = audio.ceiling_seconds(budget.MAX_AUDIO_SECONDS, budget.MAX_AUDIO_BYTES)
    return budget.Budget.start(budget.TUNE_S).run(
        lambda: audio.render(midi, AUDIO_FORMAT, max_seconds=ceiling), "making its audio file"
    )


PARSED_KEPT = 8  # tunes whose music21 reading is kept: a change of instrument, accompaniment or tempo reads none again
_parsed: OrderedDict[str, convert.Parsed] = OrderedDict()
_parsed_lock = threading.Lock()


def parse(abc: str, within: budget.Budget) -> convert.Parsed:
    """``convert.parse`` within ``within``, the last :data:`PARSED_KEPT` tunes read kept (a parsed tune is
    read-only: :class:`~musicgen.sound.convert.Parsed`). Reading takes 0.3-0.8 s of a 0.5-1.3 s sound."""
    with _parsed_lock:
        if abc in _parsed:
            _parsed.move_to_end(abc)
            return _parsed[abc]
    parsed = convert.parse(abc, timeout=within)
    with _parsed_lock:
        _parsed[abc] = parsed
        while len(_parsed) > PARSED_KEPT:
            _parsed.popitem(last=False)
    return parsed


def _unreadable(reason: str) -> str:
    return (
        f"This tune cannot be read as music ({reason}). Compose again with a new seed or a lower "
        "temperature; its ABC text is still below to read and download."
    )


def audio_note(seconds: float, ceiling: float) -> str | None:
    """The sentence for audio that stops at ``ceiling`` of a tune lasting ``seconds``; None if it all plays.

    >>> audio_note(591.0, 240.0)
    'The audio stops at 4:00 of 9:51: the player plays at most 4:00 of a tune. The MIDI download holds all of it.'
    >>> audio_note(239.5, 240.0) is None
    True
    """
    if seconds <= ceiling:
        return None
    return (
        f"The audio stops at {_clock(ceiling)} of {_clock(seconds)}: the player plays at most {_clock(ceiling)} "
        "of a tune. The MIDI download holds all of it."
    )


def _clock(seconds: float) -> str:
    """Minutes and seconds: ``_clock(591.4) == '9:51'``."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


M_ARENA_MAX = -8  # glibc mallopt parameter: the most malloc arenas (per-thread heaps) a process makes
ARENAS = 2  # app server over 30-50 compositions: 275-310 MB, flat after 10, with 2; 370-450 MB, climbing, without
M_MMAP_THRESHOLD = -3  # glibc mallopt parameter: blocks this big or bigger are mapped, and unmapped when freed
# WAVs, audio arrays, MIDI: 4 sessions x 25 tunes (length 1000), 241 MB and flat with it; 431 MB, climbing, without
MMAP_THRESHOLD = 1 << 20


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc (macOS, Windows, musl): its allocator behaves differently


def limit_malloc_arenas(arenas: int = ARENAS) -> None:
    """Cap glibc's per-thread heaps for this process (glibc only; else nothing).

    Streamlit runs every script run in a new thread, and music21 parses in a
    helper thread; glibc gives busy threads their own heap ("arena"), up to 8 per
    core, and each keeps the memory a large render freed. Blocks of a megabyte or more
    (a tune's audio) are mapped on their own and go back to the system when freed:
    left in a heap, they fragment it, and glibc would otherwise raise that threshold
    to 32 MB after the first large block freed. Call it once, early.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_ARENA_MAX, arenas)
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


WARM_TUNE = 'X:1\nT:Warm\nM:4/4\nL:1/8\nK:D\n|:"D"A2FA dAFA|"A"BcdB "D"A2D2:|\n'  # read and sounded once


def settle() -> None:
    """Start the synthesizer's worker processes (:func:`musicgen.sound.synth.start_workers`: a tune's sound is
    made beside the server's interpreter, long tunes in pieces side by side), read and sound a small tune once
    (music21's imports and caches, the SoundFont: the first tune pays none of it), then leave every object alive
    out of the garbage collector's passes (``gc.freeze``). Call it once, early.

    Streamlit runs ``gc.collect(2)`` after every run of the page, holding the interpreter meanwhile: over the
    model, music21 and Streamlit that took 0.2-0.3 s a run, which the browser waited for (its audio, the run's
    end); with them frozen, 0.02-0.1 s. Only what exists now is frozen: a tune read later is collected as before.
    """
    synth.start_workers(synth.default_workers())
    make_sound(WARM_TUNE)
    with _parsed_lock:
        _parsed.pop(WARM_TUNE, None)
    gc.collect()
    gc.freeze()


FREEZE_EVERY = 10  # compositions between two full collections (in a thread, FULL_AFTER_S after the last one)
FULL_AFTER_S = 3.0  # by then the page has its audio: the collection (0.2-0.8 s) holds no listener up
_frozen = [0]  # compositions since the last full collection
_frozen_lock = threading.Lock()


def freeze_alive() -> None:
    """After a composition: collect the young objects and freeze all that is alive (the generator's new tables,
    10,000-15,000 objects a tune). Streamlit's collection after the run then passes over 5,000 objects, not 50,000
    to 300,000 (0.003 s, not 0.2-0.6 s, 60 tunes in one process). A frozen object that dies in a cycle waits for the
    next full collection, made every :data:`FREEZE_EVERY` compositions: memory stays as without freezing (166 MB
    against 161 MB after 60 tunes; 196 MB and climbing without the full collections)."""
    with _frozen_lock:
        _frozen[0] += 1
        full = _frozen[0] >= FREEZE_EVERY
        if full:
            _frozen[0] = 0
    gc.collect(1)
    gc.freeze()
    if full:
        timer = threading.Timer(FULL_AFTER_S, _collect_all)
        timer.daemon = True
        timer.start()


def _collect_all() -> None:
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def release_free_memory() -> None:
    """Hand memory freed by the last render back to the operating system (glibc only; else nothing).

    Rendering a minute of audio allocates and frees large arrays; glibc keeps
    freed heap memory for reuse, so a long-running server's resident size would
    ratchet up with the largest renders seen. Measured over 20 tunes of 512
    characters in one process: 150-250 MB without this, 100-125 MB with it.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def musicxml(abc: str) -> bytes:
    """The tune as MusicXML (for notation programs), parsed and exported within one ``TUNE_S`` budget.

    Raises convert.InvalidABCError with the reason as a sentence (bad ABC, too many slurs or voices:
    ``Sound.musicxml_error`` says so beforehand, or past the budget).
    """
    return export.to_musicxml(abc, budget=budget.Budget.start(budget.TUNE_S))


def bar_counts(abc: str) -> tuple[int, int] | None:
    r"""(correct, checked) inner bars of a tune: bars that are neither a section's first nor its last.

    None for a text longer than the size limit: it is not read at all (under the limit, counting takes
    under 0.1 s, so it needs no deadline).

    >>> bar_counts("X:1\nM:3/4\nL:1/4\nK:C\nC|DEF|GA|B3|c3|]")
    (2, 3)
    >>> bar_counts("X:1\nK:C\n" + "C|" * 20_000) is None
    True
    """
    if len(abc) > budget.MAX_CHARS:
        return None
    r = rhythm.analyse(abc)
    return r.inner_correct, len(r.checked)


KEPT_LINES = frozenset("ABCDFGHIKLMNOPQRSTUVWXZmrswabcdefgABCDEFG")  # ABC 2.1 field letters; notes


def sheet_text(abc: str) -> str:
    r"""The tune as the sheet-music renderer should get it: lines of undefined fields left out.

    The Nottingham files carry a ``Y:`` line (not an ABC field) that the model
    learnt to write; abcjs draws its text as notes.

    >>> sheet_text("X:1\nT:A\nY:AB\nK:D\nd2|\nE:|\n")  # a line of music may start with a note and :|
    'X:1\nT:A\nK:D\nd2|\nE:|\n'
    """
    return "".join(
        line
        for line in abc.splitlines(keepends=True)
        if not (line[1:2] == ":" and line[:1].isalpha() and line[:1] not in KEPT_LINES)
    )
