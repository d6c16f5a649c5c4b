"""What turning one tune into sound may cost, in one place: the size limits checked before music21 runs, and
the one deadline that reading a tune, its events, MIDI, MusicXML and audio share.

    budget = Budget.start(TUNE_S)                          # the clock starts now
    midi = budget.run(lambda: ..., "making its MIDI")      # InvalidABCError if the deadline passes first
    budget.left()                                          # seconds still to spend

Every limit here was met by a hostile but realistic input (issue 15), and what it cost unbounded:

- a text past :data:`MAX_CHARS` is refused before anything reads it, bar counts included
  (1 MB took 12 s and 266 MB, 5 MB 60 s and 1.2 GB, all spent counting bars);
- MusicXML of more than :data:`MAX_SLURS` slurs or :data:`MAX_VOICES` voices is refused before
  music21 builds it (5,000 nested slurs took 81 s; 500 voices still ran after 300 s at 1.5 GB);
- audio for the page stops at :data:`MAX_AUDIO_SECONDS` and :data:`MAX_AUDIO_BYTES`
  (a slow air of 98 bars was 591 s of audio, a 113 MB WAV): its MIDI is cut there (:func:`cut_midi_file`);
- whatever is left is bounded in time: one :class:`Budget` for all the steps of one conversion.
  Bar counts (:mod:`musicgen.abcnotation.rhythm`) need no deadline: under the size limit they take
  under 0.1 s, so they are bounded by size alone.

**How a deadline stops work.** music21 is pure Python, and some inputs make it crawl. A step runs in a
helper thread; past the deadline an exception is raised inside that thread (``PyThreadState_SetAsyncExc``),
which stops a Python loop at once, and the caller gets :class:`Timeout` (:meth:`Budget.run`: an
``InvalidABCError`` sentence). The thread costs about 0.3 ms a call. An exception raised in a thread running
C code (the synthesizer) lands when the C code returns: that step is bounded by its input's size instead
(the audio ceiling). A worker process would also stop C code, but a music21 Score cannot be pickled without
``freezeThaw``, and a fresh process pays 1-3 s to import music21 (see ``benchmarks/bench_convert.py``).
"""

from __future__ import annotations

import ctypes
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from musicgen.abcnotation.check import MAX_CHARS, InvalidABCError

__all__ = [
    "MAX_AUDIO_BYTES",
    "MAX_AUDIO_SECONDS",
    "MAX_BEATS",
    "MAX_CHARS",
    "MAX_MIDI_SECONDS",
    "MAX_SLURS",
    "MAX_VOICES",
    "PARSE_S",
    "TUNE_S",
    "Budget",
    "Timeout",
    "call_before",
    "cut_midi_file",
]

# Size: checked before music21 sees the tune. MAX_CHARS (abcnotation.check, 20,000: the longest Nottingham
# tune is about 3,000) bounds every text read: parse refuses longer tunes, the page longer texts.
MAX_BEATS = 4096  # quarter notes once repeats are played: about 20 minutes at 200 bpm
MAX_SLURS = 400  # slurs in a tune exported as MusicXML: Nottingham has at most 14; 1,000 nested took 2 s here
MAX_VOICES = 16  # voices (V:) in a tune exported as MusicXML: Nottingham has none; 64 took 1.5 s here

# Time: one budget is shared by the steps of one conversion.
PARSE_S = 5.0  # parse on its own, or parse and MIDI (the command line, evaluate): music21, repairs, bisection
TUNE_S = 20.0  # one tune for the page: parse, events, MIDI and audio together, or parse and MusicXML

# Audio.
MAX_AUDIO_SECONDS = 240.0  # the page's audio stops here (the MIDI download holds the whole tune)
MAX_AUDIO_BYTES = 48_000_000  # and is at most this big: 240 s of 16-bit stereo WAV at 48 kHz is 46 MB
MAX_MIDI_SECONDS = 600.0  # longest MIDI rendered whole (audio.render without a ceiling: the command line)

T = TypeVar("T")


class Timeout(BaseException):
    """Raised inside a helper thread at its deadline. A BaseException, so that music21's own
    ``except Exception`` blocks do not swallow it."""


@dataclass(frozen=True)
class Budget:
    """A deadline shared by the steps of one conversion: each gets what the ones before it left."""

    seconds: float  # the whole budget, as said in the sentence when it runs out
    deadline: float  # time.monotonic() at which it runs out

    @classmethod
    def start(cls, seconds: float) -> Budget:
        """A budget of ``seconds`` from now (NaN counts as none left).

        >>> b = Budget.start(5.0)
        >>> 4.0 < b.left() <= 5.0, Budget.start(-1).left(), Budget.start(float("nan")).left()
        (True, 0.0, 0.0)
        """
        return cls(float(seconds), time.monotonic() + (float(seconds) if not math.isnan(seconds) else 0.0))

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def run(self, fn: Callable[[], T], what: str, verb: str = "play") -> T:
        """``fn()`` before the deadline, or :class:`InvalidABCError`: "{what} took longer than N s; ...".

        >>> Budget.start(1.0).run(lambda: 6 * 7, "adding")
        42
        >>> Budget.start(0.0).run(lambda: 6 * 7, "adding")
        Traceback (most recent call last):
        ...
        musicgen.abcnotation.check.InvalidABCError: adding took longer than 0 s; it is too long or too complex to play
        """
        try:
            return call_before(self.deadline, fn)
        except Timeout:
            raise self.error(what, verb) from None

    def error(self, what: str, verb: str = "play") -> InvalidABCError:
        """The sentence for a step that ran out of this budget."""
        return InvalidABCError(
            None, f"{what} took longer than {self.seconds:g} s; it is too long or too complex to {verb}"
        )


def call_before(deadline: float, fn: Callable[[], T]) -> T:
    """Run ``fn()`` in a helper thread; raise :class:`Timeout` here if it is not done by ``deadline``
    (at once when none is left: nothing is started then)."""
    if not deadline > time.monotonic():  # NaN included
        raise Timeout()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller below, whatever it is
            box["error"] = e

    worker = threading.Thread(target=target, name="musicgen-convert", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        threading.Thread(target=_stop, args=(worker,), name="musicgen-convert-stop", daemon=True).start()
        raise Timeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


STOP_TRIES, STOP_EVERY_S = 50, 0.1  # how often, and how many times, a step past its deadline is told to stop


def _stop(worker: threading.Thread) -> None:
    """Raise :class:`Timeout` in ``worker`` until it ends (at most ``STOP_TRIES`` times).

    The exception lands at the thread's next Python instruction (one in C code
    lands when the C code returns). Once is not always enough: one that lands in
    a weakref callback or a finaliser is printed and dropped there, and the step
    goes on; so it is raised again until the thread is gone. Each time only while
    the thread is alive: an ended thread's number may be given to a new one.
    """
    for _ in range(STOP_TRIES):
        if not worker.is_alive():
            return
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident), ctypes.py_object(Timeout))
        worker.join(STOP_EVERY_S)


def cut_midi_file(mid: Any, seconds: float) -> bytes:
    """A ``mido.MidiFile`` up to ``seconds`` as MIDI bytes (the audio ceiling): events from then on left out, notes
    still sounding then ended there (:func:`musicgen.sound.audio.cut_midi` reads the bytes)."""
    import io

    import mido

    cut = _tick_at(mid, seconds)
    out = mido.MidiFile(type=mid.type, ticks_per_beat=mid.ticks_per_beat)
    for track in mid.tracks:
        kept, now, last = mido.MidiTrack(), 0, 0
        sounding: dict[tuple[int, int], int] = {}  # (channel, note) -> how many note-ons are not yet ended
        for msg in track:
            now += msg.time
            if now >= cut or msg.type == "end_of_track":
                break
            kept.append(msg.copy(time=now - last))
            last = now
            if msg.type in ("note_on", "note_off"):
                key, on = (msg.channel, msg.note), msg.type == "note_on" and msg.velocity > 0
                sounding[key] = max(0, sounding.get(key, 0) + (1 if on else -1))
        for (channel, note), count in sorted(sounding.items()):
            for _ in range(count):
                kept.append(mido.Message("note_off", channel=channel, note=note, time=cut - last))
                last = cut
        kept.append(mido.MetaMessage("end_of_track", time=max(0, cut - last)))
        out.tracks.append(kept)
    buffer = io.BytesIO()
    out.save(file=buffer)
    return buffer.getvalue()


def _tick_at(mid: Any, seconds: float) -> int:
    """The tick at which a MIDI file (a ``mido.MidiFile``) has played ``seconds``, through its tempo map."""
    import mido

    tempo, tick, elapsed = 500_000, 0, 0.0  # the MIDI default tempo: 120 quarter notes a minute
    resolution = mid.ticks_per_beat
    for msg in mido.merge_tracks(mid.tracks):
        step = mido.tick2second(msg.time, resolution, tempo)
        if elapsed + step >= seconds:
            break
        elapsed, tick = elapsed + step, tick + msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
    return tick + int(mido.second2tick(seconds - elapsed, resolution, tempo))
