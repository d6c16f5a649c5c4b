"""Which General MIDI programs a SoundFont can play, and the nearest one for a program it cannot.

    presets(path)                    # {(bank, program): Preset("Fiddle", keys)}: the presets of an .sf2 file
    preset_for(110, path)            # (110, "Fiddle"): the program that plays 110, and its preset's name
    fallback_note(78, path)          # None, or a sentence: what plays instead, and why
    tuning(21, path)                 # {81: 68.0, ...}: the cents each key of the accordion is bent by
    midi, notes = playable(midi, path)   # the MIDI with each unplayable program turned to its stand-in, in tune

A MIDI file names an instrument by its General MIDI program (:data:`musicgen.sound.export.INSTRUMENTS`);
the synthesizer plays it with the SoundFont's preset of that number in bank 0. A preset *plays* a tune
when it has one and its zones sound every key of :data:`MELODY_KEYS` (G3 to C7: the tunes' range, a
whistle's or flute's octave above it included). The SoundFont that comes with the requirements
(TimGM6mb) has all 128 programs, and the folk sounds play: fiddle (40 Violin, and GM's 110 Fiddle),
flute (73), accordion (21), acoustic guitar (25); but its tin whistle (78, "Whistle") has no sound from
G5 (MIDI 79) to F7, and through midirenderer the keys it has sound 9 semitones low (measured: A4 at
262 Hz), so the tin whistle plays as the recorder, the nearest fipple flute. A SoundFont chosen with
``MUSICGEN_SOUNDFONT`` may lack others; its synthesizer would play whatever it picks. So before
rendering, :func:`playable` turns each program that does not play into the nearest one that does
(:data:`NEAREST`; else the piano; else the SoundFont's first melodic preset), and says so; the MIDI
download keeps the program asked for. The tables are read from the file's ``pdta`` chunks, not its samples.

**Tuning.** TimGM6mb's accordion (21) loops one cycle of each sample, and a loop of a whole number of
samples has a pitch of its own (the sample rate over the loop's length) that its fine tuning does not undo:
from C#5 up it sounds 44 to 68 cents flat, below D4 15 to 18 cents flat, whatever the synthesizer (measured
through midirenderer, and read from its tables to within a cent). Its other accordion, the tango accordion
(23, "Bandoneon"), loops the same samples and is as flat (46 to 69 cents from C#5 up), so it cannot stand in.
For each program of :data:`TUNED`, :func:`tuning` reads how far the loudest zone sounding each key is off
(where its loop is one cycle of its root key), and :func:`playable` bends those notes back for the synthesizer
alone, each bend on a channel of its own (:func:`musicgen.sound.bend.bent`), so a chord's notes each get
theirs. The MIDI download stays plain General MIDI; other programs play as the SoundFont tunes them.
"""

from __future__ import annotations

import functools
import io
import math
import struct
from pathlib import Path
from typing import NamedTuple

GM_PROGRAMS = 128
PERCUSSION_CHANNEL = 9  # GM's drum channel (10 counting from 1): its programs are drum kits, not instruments
MELODY_KEYS = range(55, 97)  # G3 (the fiddle's lowest) to C7 (the top of a D whistle's second octave)
MAX_CHUNKS = 64  # RIFF chunks read at most (an .sf2 has three lists of a few chunks each)
KEY_RANGE, INSTRUMENT, SAMPLE = 43, 41, 53  # the generators read: a zone's keys, its instrument, its sample
# ... and its pitch: loop start and end offsets (fine, coarse), tuning, root key, loudness, looping, key scaling
LOOP_START, LOOP_END, LOOP_START_COARSE, LOOP_END_COARSE = 2, 3, 45, 50
COARSE_TUNE, FINE_TUNE, ROOT_KEY, ATTENUATION, SAMPLE_MODES, SCALE_TUNING = 51, 52, 58, 48, 54, 56
# Record sizes of the pdta chunks read: preset headers, bags (zones), generators, instruments, samples.
_SIZES = {b"phdr": 38, b"pbag": 4, b"pgen": 4, b"inst": 22, b"ibag": 4, b"igen": 4, b"shdr": 46}
# Programs whose flat single-cycle loops are bent back in tune where audio is made: the accordion, the harmonica
# and the bandoneon (TimGM6mb: up to 68, 36 and 69 cents flat).
TUNED = (21, 22, 23)
IN_TUNE_CENTS = 1.0  # a key sounding less than this off is left as it is
# A program that does not play -> the programs that stand in for it, nearest first (then the piano, 0).
NEAREST: dict[int, tuple[int, ...]] = {
    110: (40, 41, 48),  # fiddle: violin, viola, strings
    40: (110, 41, 48),  # violin: fiddle, viola, strings
    73: (72, 74, 75, 78),  # flute: piccolo, recorder, pan flute, whistle
    78: (74, 72, 73, 79),  # tin whistle: recorder (a fipple flute too), piccolo, flute, ocarina
    72: (73, 74, 78),  # piccolo: flute, recorder, whistle
    21: (23, 22, 16, 19),  # accordion: bandoneon (tango accordion), harmonica, organs
    23: (21, 22),
    25: (24, 26, 27),  # acoustic guitar (steel): nylon guitar, electric guitars
    24: (25, 26),
    105: (106, 25, 24),  # banjo: shamisen, guitars
    109: (111, 68, 22),  # bagpipe: shanai, oboe, harmonica
}


class SoundFontError(RuntimeError):
    """The file is not a SoundFont whose presets can be read."""


class Preset(NamedTuple):
    name: str
    keys: frozenset[int]  # the MIDI keys some zone of it sounds
    off: tuple[tuple[int, float], ...] = ()  # (key, cents) where its loudest zone's one-cycle loop is off pitch

    @property
    def plays(self) -> bool:
        """Whether it sounds every key of :data:`MELODY_KEYS`."""
        return self.keys.issuperset(MELODY_KEYS)


def presets(path: str | Path) -> dict[tuple[int, int], Preset]:
    """The presets of the SoundFont at ``path`` by ``(bank, program)`` (read once per file version)."""
    p = Path(path)
    try:
        stat = p.stat()
    except OSError as e:
        raise SoundFontError(f"cannot read the SoundFont {p}: {e.strerror or e}") from None
    return _presets(str(p), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _presets(path: str, mtime_ns: int, size: int) -> dict[tuple[int, int], Preset]:
    with open(path, "rb") as f:
        chunks = _pdta(f, size, path)
    phdr = [struct.unpack_from("<20sHHH", chunks[b"phdr"], at) for at in range(0, len(chunks[b"phdr"]), 38)]
    inst = [struct.unpack_from("<20sH", chunks[b"inst"], at)[1] for at in range(0, len(chunks[b"inst"]), 22)]
    pbag, ibag = _records(chunks[b"pbag"], "<H"), _records(chunks[b"ibag"], "<H")
    pgen, igen = _gens(chunks[b"pgen"]), _gens(chunks[b"igen"])
    shdr = [struct.unpack_from("<28xIIIBb", chunks[b"shdr"], at) for at in range(0, len(chunks[b"shdr"]), 46)]

    def zones(bags: list[int], gens: list[tuple[int, int]], first: int, last: int) -> list[dict[int, int]]:
        return [dict(gens[bags[z] : bags[z + 1]]) for z in range(first, min(last, len(bags) - 1))]

    def instrument_zones(i: int) -> list[dict[int, int]]:
        """The zones of instrument ``i`` that play a sample, each with its instrument's global zone under it."""
        if not 0 <= i < len(inst) - 1:
            return []
        found = zones(ibag, igen, inst[i], inst[i + 1])
        under = found[0] if found and SAMPLE not in found[0] else {}
        return [{**under, **z} for z in found if SAMPLE in z]

    out: dict[tuple[int, int], Preset] = {}
    for (name, program, bank, bag), following in zip(phdr, phdr[1:]):  # the last record ends the list ("EOP")
        keys: set[int] = set()
        loudest: dict[int, tuple[int, float | None]] = {}  # key -> (attenuation, cents off) of its loudest zone
        found = zones(pbag, pgen, bag, following[3])
        under = found[0] if found and INSTRUMENT not in found[0] else {}  # the preset's global zone
        for z in (z for z in found if INSTRUMENT in z):
            above = {**under, **z}
            for iz in instrument_zones(z[INSTRUMENT]):
                sounded = set(_keys(iz)) & set(_keys(z))
                keys |= sounded
                sample = shdr[iz[SAMPLE]] if iz[SAMPLE] < len(shdr) else None
                level = (iz.get(ATTENUATION, 0) + above.get(ATTENUATION, 0), _off(iz, above, sample))
                for k in sounded:
                    loudest[k] = min(loudest.get(k, level), level, key=lambda a: a[0])
        label = name.split(b"\0")[0].decode("latin-1").strip()
        off = tuple((k, c) for k, (_, c) in sorted(loudest.items()) if c is not None and abs(c) >= IN_TUNE_CENTS)
        out.setdefault((bank, program), Preset(label, frozenset(keys), off))
    return out


def _signed(amount: int) -> int:
    """A generator's raw 16-bit amount as the signed number it holds."""
    return amount - 0x10000 if amount & 0x8000 else amount


def _off(zone: dict[int, int], preset_zone: dict[int, int], sample: tuple[int, ...] | None) -> float | None:
    """How many cents an instrument zone sounds off its keys' pitch where its loop is one cycle of its root key
    (the pitch of such a loop is the sample rate over its length); None where it is not one, or does not loop."""
    if sample is None or zone.get(SAMPLE_MODES, 0) not in (1, 3) or zone.get(SCALE_TUNING, 100) != 100:
        return None
    start, end, rate, pitch, correction = sample
    g = {k: _signed(zone.get(k, 0)) for k in (LOOP_START, LOOP_END, LOOP_START_COARSE, LOOP_END_COARSE)}
    loop = (end + g[LOOP_END] + 32768 * g[LOOP_END_COARSE]) - (start + g[LOOP_START] + 32768 * g[LOOP_START_COARSE])
    root = zone.get(ROOT_KEY, 0xFFFF)
    root = root if root <= 127 else pitch if pitch <= 127 else 60  # a sample of no known pitch is middle C's
    if loop <= 0 or rate <= 0:
        return None
    tune = sum(_signed(z.get(FINE_TUNE, 0)) + 100 * _signed(z.get(COARSE_TUNE, 0)) for z in (zone, preset_zone))
    off = 1200 * math.log2(rate / loop / (440.0 * 2 ** ((root - 69) / 12))) + correction + tune
    return off if abs(off) < 100 else None  # more than a semitone off: a loop of several cycles, not a flaw


def _records(data: bytes, fmt: str) -> list[int]:
    """The first field of each 4-byte record (a bag's generator index)."""
    return [struct.unpack_from(fmt, data, at)[0] for at in range(0, len(data), 4)]


def _gens(data: bytes) -> list[tuple[int, int]]:
    """Generators as (operator, raw amount)."""
    return [struct.unpack_from("<HH", data, at) for at in range(0, len(data), 4)]


def _keys(zone: dict[int, int]) -> range:
    """The keys of a zone (its keyRange generator: low byte the lowest key, high byte the highest)."""
    amount = zone.get(KEY_RANGE, 127 << 8)
    return range(amount & 0xFF, (amount >> 8) + 1)


def _pdta(f: io.BufferedReader, size: int, path: str) -> dict[bytes, bytes]:
    """The preset chunks (:data:`_SIZES`) inside ``LIST pdta`` of an open .sf2 file of ``size`` bytes."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(f"{path} is not a SoundFont (.sf2) file")
    found: dict[bytes, bytes] = {}
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 12 > size:
            break
        f.seek(pos)
        tag, length = struct.unpack("<4sI", f.read(8))
        if tag == b"LIST" and f.read(4) == b"pdta":
            sub, stop = pos + 12, min(pos + 8 + length, size)
            for _ in range(MAX_CHUNKS):
                if sub + 8 > stop:
                    break
                f.seek(sub)
                tag, length = struct.unpack("<4sI", f.read(8))
                if tag in _SIZES and length % _SIZES[tag] == 0 and sub + 8 + length <= stop:
                    found[tag] = f.read(length)
                sub += 8 + length + (length & 1)  # chunks are padded to an even length
            break
        pos += 8 + length + (length & 1)
    if len(found) < len(_SIZES) or not found[b"phdr"]:
        raise SoundFontError(f"{path} holds no readable preset tables (pdta): it is not a usable SoundFont")
    return found


def preset_for(program: int, path: str | Path) -> tuple[int, str]:
    """The bank-0 program that plays ``program`` with this SoundFont (itself if it plays) and its preset's name.

    >>> import musicgen.sound.audio as audio
    >>> [preset_for(p, audio.soundfont_path()) for p in (40, 110, 73, 21, 25)]
    [(40, 'Violin'), (110, 'Fiddle'), (73, 'Flute TB'), (21, 'Accordion'), (25, 'Steel Guitar')]
    >>> preset_for(78, audio.soundfont_path())  # its Whistle has no sound from G5 up: the recorder stands in
    (74, 'Recorder')
    """
    p = Path(path)
    stat = p.stat() if p.exists() else None
    return _stand_ins(str(p), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)[program]


@functools.lru_cache(maxsize=4)
def _stand_ins(path: str, mtime_ns: int, size: int) -> tuple[tuple[int, str], ...]:
    """For every GM program, the program that plays it and its preset's name (see the module docstring)."""
    have = {p: preset for (bank, p), preset in presets(path).items() if bank == 0}
    if not have:
        raise SoundFontError(f"the SoundFont {path} has no melodic presets (bank 0): choose another .sf2")
    out = []
    for program in range(GM_PROGRAMS):
        near = (program, *NEAREST.get(program, ()))
        chosen = next((c for c in near if c in have and have[c].plays), None)  # in full
        if chosen is None:  # else itself if it has it at all, or the nearest it has, the piano, the first
            chosen = next((c for c in (*near, 0) if c in have), min(have))
        out.append((chosen, have[chosen].name))
    return tuple(out)


def fallback_note(program: int, path: str | Path) -> str | None:
    """What the page or the command says when this SoundFont does not play ``program``; None when it does."""
    used, name = preset_for(program, path)
    if used == program:
        return None
    preset = presets(path).get((0, program))
    if preset is None:
        why = f"has no preset for General MIDI program {program}"
    else:
        silent = sorted(set(MELODY_KEYS) - preset.keys)
        why = (
            f"has a preset for General MIDI program {program} ({preset.name}) with no sound for {len(silent)} "
            f"of the notes a tune may use ({note_name(silent[0])} to {note_name(silent[-1])})"
        )
    return f"the SoundFont {Path(path).name} {why}: it plays as program {used} ({name}) instead"


def note_name(key: int) -> str:
    """A MIDI key as a note name (middle C is C4).

    >>> note_name(60), note_name(79), note_name(70)
    ('C4', 'G5', 'Bb4')
    """
    return f"{('C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B')[key % 12]}{key // 12 - 1}"


def tuning(program: int, path: str | Path) -> dict[int, float]:
    """The cents to bend each key of ``program`` by so that it sounds in tune with this SoundFont: for a
    program of :data:`TUNED`, the keys its preset (or stand-in) plays off pitch by a cent or more; else none.

    >>> import musicgen.sound.audio as audio
    >>> bends = tuning(21, audio.soundfont_path())  # the accordion: C#5 to F5 44 cents flat, A5 up 68
    >>> [round(bends.get(k, 0.0)) for k in (55, 62, 73, 77, 81, 86)], tuning(40, audio.soundfont_path())
    ([15, 0, 44, 54, 68, 68], {})
    """
    if program not in TUNED:
        return {}
    return {k: -c for k, c in presets(path)[(0, preset_for(program, path)[0])].off}


def playable(midi: bytes, path: str | Path) -> tuple[bytes, list[str]]:
    """``midi`` with every program change that this SoundFont does not play turned to its stand-in
    (:func:`preset_for`), and a sentence for each, and the notes it plays off pitch bent in tune
    (:func:`tuning`, :func:`musicgen.sound.bend.bent`); the same bytes and no sentence when there is none.

    A file naming no unplayable or tuned program in a program-change message of its own (one status
    byte each, as musicgen's MIDI writes them) is returned without being parsed.
    """
    unplayable = [p for p in range(GM_PROGRAMS) if preset_for(p, path)[0] != p]  # worked out once per file
    bends = {p: b for p in TUNED if (b := tuning(p, path))}
    if not any(
        bytes([0xC0 | ch, p]) in midi for p in (*unplayable, *bends) for ch in range(16) if ch != PERCUSSION_CHANNEL
    ):
        return midi, []
    import mido

    from musicgen.sound.bend import bent

    read = mido.MidiFile(file=io.BytesIO(midi))
    mid = bent(read, bends) if bends else read  # by the programs asked for, before their stand-ins take over
    swaps: dict[int, int] = {}
    for track in mid.tracks:
        for i, m in enumerate(track):
            if m.type == "program_change" and m.channel != PERCUSSION_CHANNEL and m.program in unplayable:
                swaps.setdefault(m.program, preset_for(m.program, path)[0])
                track[i] = m.copy(program=swaps[m.program])
    if not swaps and mid is read:
        return midi, []
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue(), [fallback_note(old, path) or "" for old in sorted(swaps)]
