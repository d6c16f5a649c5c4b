"""ABC text -> music21 score -> note events: the reading half of "from ABC to sound".

    parsed = parse(abc)                   # music21 under a time limit; InvalidABCError otherwise
    parsed.score, parsed.abc, parsed.repairs, parsed.title, parsed.meter, parsed.key, parsed.tempo_bpm
    events = to_events(parsed)            # melody + accompaniment as (pitch, start_beats, duration_beats, velocity)
    midi = to_midi(abc)                   # bytes of a two-track .mid (see musicgen.sound.export)
    xml = to_musicxml(parsed)             # bytes of MusicXML (see musicgen.sound.export)

Beats are quarter notes everywhere (the MIDI convention), and so is ``tempo_bpm``:
a jig at 110 dotted quarters a minute has ``tempo_bpm == 165``.

**Errors.** Malformed ABC raises :class:`InvalidABCError` (a ``ValueError``) with
``line`` (1-based, in the text given, or ``None``) and ``reason``, e.g.
``line 7: unclosed chord '[' at column 12``. The text is first checked line by line
(:mod:`musicgen.abcnotation.check`); whatever music21 still refuses is pinned to a line by
parsing ever shorter prefixes of the tune (a bisection, only on the error path).

**Repairs.** A generated tune cut off at the length cap is repaired, not rejected:
an unclosed chord is closed, an unfinished chord symbol, grace group or decoration
and dangling ties or accidentals are dropped, and an unfinished last bar (no bar line
at the end) is completed with a rest. Each repair is one sentence in ``Parsed.repairs``.

**Time limit.** music21 is pure Python and some inputs make it crawl (``M:100000/1``
ran for minutes; 20,000 notes take over 5 s). It runs under a deadline
(:class:`musicgen.sound.budget.Budget`: a helper thread, stopped at the deadline),
and the caller gets ``InvalidABCError``. ``timeout`` may be a number of seconds or a
budget shared with the steps after the parse (events, MIDI, audio). The input is also bounded
before music21 sees it (size, meter, note lengths), so the limit is rarely reached.

music21 is imported only when a function here runs, so ``import musicgen`` stays light.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from musicgen.abcnotation import check, header
from musicgen.abcnotation.check import InvalidABCError
from musicgen.abcnotation.symbols import for_music21
from musicgen.sound.budget import MAX_BEATS, PARSE_S, Budget, Timeout, call_before
from musicgen.sound.events import Events, NoteEvent, from_score, written_bars

if TYPE_CHECKING:  # music21 is imported lazily: see the module docstring
    from music21 import stream

DEFAULT_TIMEOUT = PARSE_S  # seconds for one parse, repairs and error bisection included

__all__ = [
    "DEFAULT_TIMEOUT",
    "Events",
    "InvalidABCError",
    "NoteEvent",
    "Parsed",
    "parse",
    "to_events",
]


@dataclass(frozen=True)
class Parsed:
    """A tune music21 could read. ``abc`` is the text actually parsed (after repairs)."""

    score: Any  # music21.stream.Score; treat as read-only: it may be cached and shared
    abc: str
    repairs: tuple[str, ...] = ()
    title: str = ""
    meter: str = "none"  # "6/8", "4/4" (also for M:C) or "none" for free meter
    key: str = "C major"  # "G major", "A dorian", or "none"
    tempo_bpm: float = 120.0  # quarter notes a minute: from Q:, else a default for the meter
    tempo_from_abc: bool = False  # whether tempo_bpm came from a Q: field
    rhythm: str = ""  # the R: field ("jig", "reel", ...), lower case, or ""
    beat: float = 1.0  # the meter's beat in quarter notes: 1.5 in 6/8 and 9/8, 2 in 2/2, 1 in 4/4 (or no meter)


# ---------------------------------------------------------------- parsing under a deadline


# Read as ABC 2.1 reads it, as abcjs draws it: an accidental holds to the end of its bar for notes of
# the same letter in the same octave. Without a version line music21 reads ABC 1.3 (an accidental
# holds for its own note only), and 127 of the Nottingham tunes would play 318 notes unlike their
# sheet music.
ABC_RULES = "%abc-2.1\n%%propagate-accidentals octave\n"


def _music21_parse(text: str) -> stream.Score:
    from music21 import converter, stream

    parsed = converter.parseData(ABC_RULES + for_music21(text), format="abc")
    if isinstance(parsed, stream.Opus):  # several X: tunes slipped through: keep the first
        parsed = parsed.scores[0]
    return parsed


@functools.lru_cache(maxsize=1)
def _warm_up() -> None:
    """Parse a tiny tune once per process, in the caller's thread: music21 imports some of its
    modules on first use, and a parse stopped at its deadline must not stop an import halfway."""
    _music21_parse('X:1\nM:6/8\nL:1/8\nQ:3/8=100\nK:G\n|:"G"G>A (3Bcd {g}[GB]2-|[1G6:|2G6|]\n')


def _first_failing_line(lines: list[str], deadline: float) -> int | None:
    """The 1-based line whose addition makes music21 fail, found by bisection over prefixes."""
    ok, bad = 0, len(lines)  # prefix of 0 lines: taken as fine; the whole text fails
    while bad - ok > 1:
        mid = (ok + bad) // 2
        try:
            call_before(deadline, lambda n=mid: _music21_parse("\n".join(lines[:n]) + "\n"))
            ok = mid
        except Timeout:
            return None
        except Exception:
            bad = mid
    return bad


def _reason(e: BaseException) -> str:
    message = " ".join(str(e).split())[:160] or type(e).__name__
    return f"music21 cannot read it ({message})"


def parse(abc: str, timeout: float | Budget = DEFAULT_TIMEOUT) -> Parsed:
    """Parse one ABC tune with music21 within ``timeout`` (seconds, or a budget), repairing a truncated end.

    Raises :class:`InvalidABCError` for text that is not a playable tune, naming the
    line when one is to blame. Only the first tune of a text holding several is used.
    """
    if not isinstance(abc, str):
        raise TypeError(f"parse() takes ABC text (str), not {type(abc).__name__}")
    checked = check.check_and_repair(abc)
    _warm_up()
    budget = timeout if isinstance(timeout, Budget) else Budget.start(timeout)
    deadline = budget.deadline
    try:
        score = call_before(deadline, lambda: _music21_parse(checked.text))
    except Timeout:
        raise budget.error("reading it") from None
    except Exception as e:
        line = _first_failing_line(checked.text.split("\n"), deadline)
        raise InvalidABCError(checked.original_line(line), _reason(e)) from None
    text, repairs = checked.text, list(checked.repairs)
    if checked.unfinished_last_bar:
        try:
            text, score, sentence = _complete_last_bar(checked, score, deadline)
            if sentence:
                repairs.append(sentence)
        except (Timeout, Exception):  # keep the tune as it is: a short last bar still plays
            pass
    return _described(score, text, tuple(repairs), checked)


def _complete_last_bar(checked: check.Checked, score: stream.Score, deadline: float) -> tuple[str, stream.Score, str]:
    """Pad a cut-off last bar with a rest so the tune ends on a whole bar.

    A short last bar that completes its section's pick-up (``d|...|G2``) is right, and stays;
    so is a lone closing bar after a repeat (``...:|G2``).
    """
    from music21 import stream

    part = score.parts[0] if score.parts else score
    if not list(part.getElementsByClass(stream.Measure)):
        return checked.text, score, ""
    bars = written_bars(part)
    if len(bars) < 2:
        return checked.text, score, ""
    exact = lambda x: Fraction(x).limit_denominator(960)  # noqa: E731  (lengths are floats of 1/960ths at worst)
    full, have = exact(bars[-1].full), exact(bars[-1].length)
    section = max((i for i, b in enumerate(bars[:-1], 1) if b.section_end), default=0)
    pickup = exact(bars[section].length) if section < len(bars) - 1 else Fraction(0)
    closing = section == len(bars) - 1  # a lone closing note after a repeat (":|G2") is how tunes end
    if not 0 < have < full or closing or (pickup < full and have + pickup == full):
        return checked.text, score, ""
    rest = check.length_token((full - have) / (4 * checked.unit_note_length))
    text = checked.text.rstrip() + f" z{rest}|]\n"
    padded = call_before(deadline, lambda: _music21_parse(text))
    beats = _beats_words(full - have)
    return text, padded, f"the last bar was cut short; completed it with {beats} of rest and a final bar line"


def _beats_words(q: Fraction) -> str:
    """How long a rest is, in words.

    >>> _beats_words(Fraction(3, 2)), _beats_words(Fraction(1))
    ('1 1/2 beats', '1 beat')
    """
    whole, part = divmod(q, 1)
    text = " ".join(s for s in (str(whole) if whole else "", str(part) if part else "") if s)
    return f"{text} beat" + ("" if q == 1 else "s")


def _described(score: stream.Score, text: str, repairs: tuple[str, ...], checked: check.Checked) -> Parsed:
    from music21 import chord, harmony, note

    flat = score.flatten()
    n_notes = sum(
        1
        for n in flat.notes
        if isinstance(n, (note.Note, chord.Chord))
        and not isinstance(n, harmony.Harmony)
        and (n.quarterLength > 0 or n.duration.isGrace)
    )
    if n_notes == 0:
        raise InvalidABCError(None, "it has no notes to play")
    if score.highestTime > MAX_BEATS:
        raise InvalidABCError(None, f"it lasts {float(score.highestTime):.0f} beats; at most {MAX_BEATS} can be played")
    from musicgen.sound.accompaniment import default_tempo

    ts = flat.getElementsByClass("TimeSignature").first()
    meter = ts.ratioString if ts is not None else "none"
    mark = flat.getElementsByClass("MetronomeMark").first()
    bpm = mark.getQuarterBPM() if mark is not None else None
    tempo_ok = bpm is not None and header.MIN_BPM <= bpm <= header.MAX_BPM
    return Parsed(
        score=score,
        abc=text,
        repairs=repairs,
        title=score.metadata.title if score.metadata and score.metadata.title else checked.title,
        meter=meter,
        key=_key_name(flat),
        rhythm=checked.rhythm,
        tempo_bpm=float(bpm) if tempo_ok else default_tempo(meter, checked.rhythm),
        tempo_from_abc=tempo_ok,
        beat=float(ts.beatDuration.quarterLength) if ts is not None else 1.0,
    )


def _key_name(flat: stream.Stream) -> str:
    ks = flat.getElementsByClass("KeySignature").first()
    if ks is None:
        return "none"
    k = ks if hasattr(ks, "tonic") else ks.asKey()
    return f"{k.tonic.name.replace('-', 'b')} {k.mode}"


# ---------------------------------------------------------------- score -> events


def to_events(parsed: Parsed, accompaniment: bool = True) -> Events:
    """The notes to play: melody as written with repeats and endings played out, ties joined,
    grace notes played just before their note (see :mod:`musicgen.sound.events`), and, when asked,
    an accompaniment made from the chord symbols to fit the meter (:mod:`musicgen.sound.accompaniment`)."""
    return from_score(parsed.score, parsed.tempo_bpm, parsed.meter, accompaniment)
