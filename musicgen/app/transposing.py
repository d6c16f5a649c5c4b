r"""What the page's Transpose tab computes without Streamlit: the keys a tune can move to (in its own mode),
the tune moved there, what an instrument cannot play of it, and the instrument's General MIDI sound.

    now = tune_key(abc)                          # Key("D", ""), or None for K:none and the like
    keys = key_choices(now.mode)                 # the twelve keys of its mode, each spelled the simpler way
    moved = transpose(abc, Key("Bb", ""), 1)     # to B flat, then up an octave (musicgen.abcnotation.transpose)
    range_words(moved, instrument("whistle"))    # the notes out of range in words, or that every note lies in it
    sound_of_instrument("whistle")               # "tin whistle": the page's sound for it (None: General MIDI has none)
    stand_in("tin whistle")                      # a sentence when the SoundFont plays another sound for it

A key keeps the tune's mode (an A dorian tune goes to B flat dorian); its tonic is spelled with the
fewer sharps or flats in that mode (Bb major, C# minor), as :func:`~musicgen.abcnotation.pitch.best_tonic`
spells it. The ranges are :data:`musicgen.abcnotation.instruments.RANGES`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.abcnotation.header import HeaderError, header_fields
from musicgen.abcnotation.instruments import Instrument, octave_shift, range_report
from musicgen.abcnotation.pitch import INDEX, NATURAL, best_tonic, tonic
from musicgen.abcnotation.transpose import transpose_to_key
from musicgen.sound import audio, export, soundfont

MODES = {"": "major", "m": "minor", "dor": "Dorian", "mix": "Mixolydian", "lyd": "Lydian", "phr": "Phrygian"}
MODES |= {"loc": "Locrian"}
# The page's sound for each instrument of the ranges: a name in export.INSTRUMENTS (None: General MIDI has none)
SOUNDS: dict[str, str | None] = {
    "fiddle": "fiddle",
    "whistle": "tin whistle",
    "flute": "flute",
    "mandolin": None,
    "accordion": "accordion",
    "guitar": "acoustic guitar",
    "piano": "piano",
}
_WORDS = ("", "an octave", "two octaves", "three octaves", "four octaves")


@dataclass(frozen=True)
class Key:
    """A key: its tonic as ABC spells it (``Bb``, ``F#``) and its mode's suffix (``""``, ``m``, ``dor``...)."""

    tonic: str
    mode: str

    @property
    def pitch_class(self) -> int:
        return (NATURAL[INDEX[self.tonic[0]]] + {"#": 1, "b": -1}.get(self.tonic[1:], 0)) % 12

    @property
    def words(self) -> str:
        """The key as a musician says it.

        >>> Key("Bb", "").words, Key("F#", "m").words, Key("A", "dor").words
        ('Bb major', 'F# minor', 'A Dorian')
        """
        return f"{self.tonic} {MODES.get(self.mode, self.mode)}"


def tune_key(abc: str) -> Key | None:
    r"""The key of the tune's header (its first K: line), or None when it has no tonic (K:none, K:HP, none given).

    >>> tune_key("X:1\nK:Ador\nA|"), tune_key("X:1\nK:F# minor\nF|"), tune_key("X:1\nK:none\nC|"), tune_key("X:1\n")
    (Key(tonic='A', mode='dor'), Key(tonic='F#', mode='m'), None, None)
    """
    value = header_fields(abc).get("K")
    if value is None:
        return None
    try:
        found = tonic(value)
    except HeaderError:
        return None
    if found is None:
        return None
    letter, alter, mode = found
    return Key(letter + {1: "#", -1: "b"}.get(alter, ""), mode)


def key_choices(mode: str) -> list[Key]:
    """The twelve keys of ``mode``, from C up, each tonic spelled with the fewer sharps or flats.

    >>> [k.tonic for k in key_choices("")]
    ['C', 'Db', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B']
    >>> [k.tonic for k in key_choices("m")][8:]
    ['G#', 'A', 'Bb', 'B']
    """
    out = []
    for pc in range(12):
        letter, alter = best_tonic(pc, mode)
        out.append(Key(letter + {1: "#", -1: "b"}.get(alter, ""), mode))
    return out


def transpose(abc: str, key: Key, octaves: int = 0) -> str:
    r"""The tune moved to ``key``'s tonic by the nearer way, then ``octaves`` octaves (its mode kept).

    Raises :class:`~musicgen.abcnotation.pitch.TransposeError` (a sentence) for a tune that cannot move.

    >>> transpose("X:1\nK:D\nA|", Key("Bb", "")), transpose("X:1\nK:D\nA|", Key("D", ""), -1)
    ('X:1\nK:Bb\nF|', 'X:1\nK:D\nA,|')
    """
    return transpose_to_key(abc, key.tonic, octaves)


def shift_words(octaves: int) -> str:
    """A move of whole octaves, as a button says it.

    >>> shift_words(1), shift_words(-2)
    ('Up an octave', 'Down two octaves')
    """
    return f"{'Up' if octaves > 0 else 'Down'} {_WORDS[min(abs(octaves), len(_WORDS) - 1)]}"


def version_words(key: Key, octaves: int, moved_key: bool) -> str:
    """What the history calls a transposed tune.

    >>> version_words(Key("Bb", ""), 0, True), version_words(Key("D", ""), 1, False), version_words(Key("G", "m"), -1, True)
    ('in Bb major', 'up an octave', 'in G minor, down an octave')
    """
    shift = shift_words(octaves).lower() if octaves else ""
    return ", ".join(w for w in (f"in {key.words}" if moved_key else "", shift) if w)


def range_words(abc: str, inst: Instrument) -> tuple[str, bool, int | None]:
    r"""The notes of the tune that ``inst`` cannot play, in words (or that every note lies in its range); whether
    every note does; and the move of whole octaves that puts every note in range (None: none needed, or none does).

    >>> from musicgen.abcnotation.instruments import instrument
    >>> range_words("X:1\nK:D\nDFA|A,2 d|", instrument("flute"))
    ("One note below the flute's low D (ABC D): A, in bar 2. Up an octave puts every note in range.", False, 1)
    >>> range_words("X:1\nK:D\nDFA d2|", instrument("whistle"))
    ("Every note lies in the D whistle's range.", True, None)
    >>> range_words("X:1\nK:D\nA,2 b2|", instrument("whistle"))[1:]
    (False, None)
    """
    report = range_report(abc, inst)
    if not report:
        return f"Every note lies in the {inst.label}'s range.", True, None
    return report[:1].upper() + report[1:], False, octave_shift(abc, inst) or None


def sound_of_instrument(name: str) -> str | None:
    """The page's sound (a name in :data:`musicgen.sound.export.INSTRUMENTS`) for an instrument of the ranges.

    >>> sound_of_instrument("whistle"), sound_of_instrument("mandolin")
    ('tin whistle', None)
    """
    sound = SOUNDS.get(name)
    return sound if sound in export.INSTRUMENTS else None


def stand_in(sound: str) -> str | None:
    """A sentence when the SoundFont the page plays with has no sound of its own for ``sound``; None when it has.

    >>> print(stand_in("tin whistle"))  # doctest: +ELLIPSIS
    The tin whistle sound: the SoundFont TimGM6mb.sf2 has a preset ... it plays as program 74 (Recorder) instead.
    >>> stand_in("fiddle") is None
    True
    """
    program = export.INSTRUMENTS.get(sound)
    if program is None:
        return None
    try:
        note = soundfont.fallback_note(program, audio.soundfont_path())
    except (OSError, ValueError, audio.AudioError, soundfont.SoundFontError):
        return None  # no SoundFont to read: the audio's own error says so
    return f"The {sound} sound: {note}." if note else None
