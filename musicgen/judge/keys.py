"""How well a model writes in each key: the notes' share of the key's scale, per tune and per key.

    in_scale_share("X:1\\nK:F\\nFGA=B|") -> 0.75     (B natural is not in F major: B-flat is)
    key_report(gen, keys=KEYS, n=25)                 # one row per key (benchmarks/keys.py prints them)

The scale of a ``K:`` value is its seven letters under the key signature, modes included
(``K:Ador`` is A B C D E F# G, ``K:Dmix`` is D E F# G A B C). A note's pitch is read under the ABC
rules (the signature, accidentals to the end of the bar) by
:func:`musicgen.abcnotation.transpose.written_pitches`; a deliberate accidental counts as outside.
The corpus itself scores high but not 100%: folk tunes borrow notes (a G# in a tune in G).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from musicgen.abcnotation.header import HeaderError, header_fields, parse_key
from musicgen.abcnotation.pitch import INDEX, LETTERS, NATURAL
from musicgen.abcnotation.transpose import TransposeError, written_pitches

# The keys of the per-key table: the corpus's own (G, D, A, Em, Am, Bm, Ador, Dmix) and ones it barely has.
KEYS = ("G", "D", "A", "C", "F", "Bb", "Eb", "E", "Em", "Am", "Dm", "Bm", "Ador", "Dmix")


def scale(key: str) -> frozenset[int]:
    """The pitch classes (C = 0) of a ``K:`` value's seven letters under its signature.

    >>> sorted(scale("G")), sorted(scale("Ador")) == sorted(scale("G")), sorted(scale("Bb"))
    ([0, 2, 4, 6, 7, 9, 11], True, [0, 2, 3, 5, 7, 9, 10])
    """
    alters = parse_key(key)[1]
    return frozenset((NATURAL[INDEX[letter]] + alters.get(letter, 0)) % 12 for letter in LETTERS)


def in_scale_share(tune: str) -> float | None:
    r"""The share of the tune's notes in the scale of its header key; None with no key, no note, or a key
    that names no scale (``K:none``).

    >>> in_scale_share("X:1\nK:F\nFGA=B|"), in_scale_share("X:1\nK:F\nFGAB|"), in_scale_share("X:1\nK:G\n")
    (0.75, 1.0, None)
    >>> in_scale_share("X:1\nK:G\nf=f f|f2|")  # the natural lasts to the end of its bar
    0.5
    """
    key = header_fields(tune).get("K")
    if key is None:
        return None
    try:
        notes = scale(key)
        pitches = written_pitches(tune)
    except (HeaderError, TransposeError, KeyError):
        return None
    if not pitches:
        return None
    return sum(p.midi % 12 in notes for p in pitches) / len(pitches)


def key_rows(
    tunes_of: Callable[[str], Sequence[str]], keys: Sequence[str], summary: Callable[[Sequence[str]], dict]
) -> dict[str, dict]:
    """One row per key: ``summary(tunes)`` (parse, tonic ending, nats/char: whatever the caller measures)
    with the mean in-scale share of the key's tunes added as ``in_scale``."""
    rows = {}
    for key in keys:
        tunes = tunes_of(key)
        shares = [s for s in map(in_scale_share, tunes) if s is not None]
        rows[key] = dict(summary(tunes), in_scale=sum(shares) / len(shares) if shares else None)
    return rows
