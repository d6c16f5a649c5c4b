"""Transposing ABC (musicgen.abcnotation.transpose): named edge cases, properties on generated tunes
checked against an independent reader of ABC's accidental rules, round trips and music21 on the
Nottingham tunes (skipped when ../shared/data/nottingham is absent), and ``musicgen transpose``.

Round trips: ``transpose_tune(transpose_tune(t, n), -n) == t`` holds exactly when ``t`` is in normal
form, that is ``t == transpose_tune(transpose_tune(t, 12), -12)`` (no redundant accidental, and each
one that another octave's accidental could be read into written out), except where a chord symbol
would need a double sharp or flat: a symbol writes one at most, so "Ab" up a minor second is "A", and
back down "G#". Notes round-trip exactly in every tune.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.header import ACCIDENTALS, parse_key
from musicgen.abcnotation.pitch import NATURAL, best_tonic, key_size
from musicgen.abcnotation.transpose import TransposeError, transpose_to_key, transpose_tune, written_pitches
from musicgen.data.corpus import read_tunes

Run = Callable[..., subprocess.CompletedProcess]
SYMBOLS = re.compile(r'"[^"\n]*"')


def read(text: str, rule: str) -> list[int]:
    """MIDI numbers of every note, read independently of the transposer: the K: signature, and an
    accidental lasting the bar for its letter at its octave (rule "octave") or at every octave ("pitch")."""
    out: list[int] = []
    key: dict[str, int] = {}
    bar: dict[object, int] = {}
    body = False
    for kind, tok in T.tokenize(text):
        value = tok[2:] if kind == T.FIELD and tok.startswith("K:") else tok[3:-1] if tok.startswith("[K:") else None
        if value is not None:
            key, bar, body = parse_key(value)[1], {}, True
        elif kind == T.BAR:
            bar = {}
        elif body and kind in (T.NOTE, T.CHORD, T.GRACE):
            for note in [tok] if kind == T.NOTE else re.findall(T.PITCH, re.sub(r"![^!]*!", "", tok)):
                acc, letter, marks, _ = T.note_parts(note)
                octave = letter.islower() + marks.count("'") - marks.count(",")
                where = (letter.upper(), octave) if rule == "octave" else letter.upper()
                if acc:
                    bar[where] = ACCIDENTALS[acc]
                alter = bar.get(where, key.get(letter.upper(), 0))
                out.append(60 + 12 * octave + NATURAL["CDEFGAB".index(letter.upper())] + alter)
    return out


# (what it exercises, tune, semitones, expected); the header is "X:1\nK:..." in each
CASES = [
    ("an accidental lasts the bar, at its octave", "K:G\n^c c C =f f|c", 2, "K:A\n^d d =D =g g|d"),
    ("a natural cancels the key's sharp", "K:D\n=f f F|f", 2, "K:E\n=g g ^G|g"),
    ("another octave's accidental is cancelled out loud", "K:C\n_B b B|", 2, "K:D\n=c ^c' =c|"),
    ("a redundant accidental is dropped", "K:G\n^f2 ^F|", 5, "K:C\nb2 B|"),
    ("a needed double sharp", "K:A\nc2^B2 c2B2|", 2, "K:B\nd2^^c2 d2c2|"),
    ("a double sharp up a minor second", "K:E\n^^d|", 1, "K:F\n^e|"),
    ("Ador up a tone", 'K:Ador\n"Am"A^GAB|', 2, 'K:Bdor\n"Bm"B^ABc|'),
    ("Dmix down a tone", "K:Dmix\nd^cBc|", -2, "K:Cmix\nc=BAB|"),
    ("Edor up a minor third", "K:Edor\nE^D|", 3, "K:Gdor\nG^F|"),
    ("Gmix up a fourth", "K:G mixolydian\nGF|", 5, "K:C mixolydian\ncB|"),
    ("minor spellings", "K:e min\nEF|[K:Am]A|K:A minor\nA|", 1, "K:f min\nFG|[K:Bbm]B|K:Bb minor\nB|"),
    ("Bb, not A#", "K:G\nG|", 3, "K:Bb\nB|"),
    ("F#, not Gb (a tie goes to sharps)", "K:C\nC|", 6, "K:F#\nF|"),
    ("Db, not C#", "K:C\nC|", 1, "K:Db\nD|"),
    ("an octave keeps the key's spelling", "K:C#\nC,|c'|", 12, "K:C#\nC|c''|"),
    ("K:none keeps no signature", "K:none\nF^F|", 2, "K:none\nG^G|"),
    ("K:HP stays", "K:HP\nA|", -2, "K:HP\nG|"),
    ("a K: of a clef alone stays", "K:D\nF|\nK:clef=bass\nF^F|", 2, "K:E\nG|\nK:clef=bass\nG^G|"),
    ("explicit key accidentals move", "K:D dor ^g\nG|", 2, "K:E dor ^a\nA|"),
    ("a key change inside a line", "K:G\nF|K:F\nB|", 2, "K:A\nG|K:G\nc|"),
    ("slash chords and annotations", 'K:G\n"Em/g"G "D/f+"F "G/B"G "^fine"G "<(x)"G|', 2, None),
    ("Bbmaj7, (A7)", 'K:F\n"Bbmaj7"B"(A7)"A "Gm/bb"G|', -2, 'K:Eb\n"Abmaj7"A"(G7)"G "Fm/ab"F|'),
    ("chords, graces, ties, tuplets, decorations", "K:D\n(3[FA]{g}f-f !trill!f>g .~a+fermata+|", 2, None),
    ("ABC 1 chords between plus signs", "K:G\n+GB+ +f+ +ff+|", 2, "K:A\n+Ac+ +f+ +ff+|"),
    ("lengths and broken rhythm", "K:C\nC3/2D/ E//F>G A<B z2 Z|", 7, "K:G\nG3/2A/ B//c>d e<f z2 Z|"),
]


@pytest.mark.parametrize("name, tune, semitones, expected", CASES, ids=[c[0] for c in CASES])
def test_named_cases(name: str, tune: str, semitones: int, expected: str | None) -> None:
    text = "X:1\nT:a tune\n% a comment\n" + tune
    moved = transpose_tune(text, semitones)
    assert moved.startswith("X:1\nT:a tune\n% a comment\n")
    if expected is not None:
        assert moved == "X:1\nT:a tune\n% a comment\n" + expected
    assert read(moved, "octave") == [p + semitones for p in read(text, "octave")]
    assert read(moved, "pitch") == read(moved, "octave")


def test_symbols_and_ornaments_keep_their_form() -> None:
    moved = transpose_tune('X:1\nK:G\n"Em/g"G "D/f+"F "G/B"G "^fine"G "<(x)"G|', 2)
    assert moved == 'X:1\nK:A\n"F#m/a"A "E/g+"G "A/C#"A "^fine"A "<(x)"A|'
    moved = transpose_tune("X:1\nK:D\n(3[FA]{g}f-f !trill!f>g .~a+fermata+|", 2)
    assert moved == "X:1\nK:E\n(3[GB]{a}g-g !trill!g>a .~b+fermata+|"


def test_keys_are_spelled_with_the_fewer_accidentals() -> None:
    for mode in ("", "m", "dor", "mix", "lyd", "phr", "loc"):
        for pc in range(12):
            letter, alter = best_tonic(pc, mode)
            size = key_size(letter, alter, mode)
            signature = parse_key(letter + {1: "#", -1: "b", 0: ""}[alter] + mode)[1]
            assert size == len(signature) <= 6 and (size < 6 or all(v > 0 for v in signature.values())), (pc, mode)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: transpose_tune("X:1\nT:no key\nabc|", 2), "tune 1 has no K: line"),
        (lambda: transpose_tune("X:1\nK:H\nabc|", 2), "key 'H' is not an ABC key"),
        (lambda: transpose_tune("X:1\nK:G\nabc|", 49), "-48 to 48 semitones, not 49"),
        (lambda: transpose_tune("X:1\nK:G\nabc|", 2.5), "-48 to 48 semitones, not 2.5"),
        (lambda: transpose_to_key("X:1\nK:G\nabc|", "A", 5), "octaves go from -4 to 4, not 5"),
        (lambda: transpose_to_key("X:1\nK:G\nabc|", "H#"), "key 'H#' is not a key"),
        (lambda: transpose_to_key("X:1\nK:G\nabc|", "A flat"), "has no mode 'flat'"),
        (lambda: transpose_to_key("X:1\nK:Em\nabc|", "A major"), "tune 1 is in Em, and a transposition keeps"),
        (lambda: transpose_to_key("X:1\nK:none\nabc|", "A"), "tune 1 has K:none, no tonic to move to A"),
        (lambda: transpose_tune("X:1\nK:G\nA|\n\nX:2\nT:b\nB|", 1), "tune 2 has no K: line"),
    ],
)
def test_what_cannot_be_transposed_says_why(call: Callable[[], str], message: str) -> None:
    with pytest.raises(TransposeError, match=re.escape(message)):
        call()


def test_to_key_goes_the_nearer_way_and_keeps_the_mode() -> None:
    assert transpose_to_key("X:1\nK:G\nG|", "D") == "X:1\nK:D\nD|"  # down a fourth, not up a fifth
    assert transpose_to_key("X:1\nK:G\nG|", "C#") == "X:1\nK:C#\nc|"  # up 6, C# as asked
    assert transpose_to_key("X:1\nK:Ador\nA|", "b") == "X:1\nK:Bdor\nB|"
    assert transpose_to_key("X:1\nK:Am\nA|", "Gb") == "X:1\nK:F#m\nF|"  # Gbm has nine flats: F#m
    assert transpose_to_key("X:1\nK:D\nD|", "D", -1) == "X:1\nK:D\nD,|"
    assert transpose_tune("X:1\nK:D\nD|", np.int64(-12)) == "X:1\nK:D\nD,|"  # training draws NumPy integers
    assert transpose_to_key("X:1\nK:C\n^^F|", "C#") == "X:1\nK:C#\nG|"  # F### respelled: G#, as the key says


# ---------------------------------------------------------------- generated tunes

KEYS = ["C", "G", "D", "A", "E", "B", "F#", "F", "Bb", "Eb", "Ab", "Db", "Am", "Em", "Ador", "Dmix", "Gm", "none"]
NOTE = st.tuples(
    st.sampled_from(["", "", "", "^", "_", "=", "^^", "__"]),
    st.sampled_from("CDEFGABcdefgab"),
    st.sampled_from(["", "", "'", ",", ",,"]),
    st.sampled_from(["", "2", "/", "3/2"]),
).map("".join)
ELEMENT = st.one_of(
    NOTE,
    NOTE,
    st.lists(NOTE, min_size=2, max_size=3).map(lambda ns: "[" + "".join(ns) + "]"),
    st.lists(NOTE, min_size=1, max_size=2).map(lambda ns: "{" + "".join(ns) + "}"),
    st.sampled_from(['"G"', '"F#m/a"', '"Bb7"', '"^text"', "z", " ", "-", "(3", ">", "!trill!"]),
)
TUNE = st.builds(
    lambda key, bars: f"X:1\nT:generated\nM:4/4\nK:{key}\n" + "|".join("".join(b) for b in bars) + "|",
    st.sampled_from(KEYS),
    st.lists(st.lists(ELEMENT, min_size=1, max_size=8), min_size=1, max_size=5),
)


MOVES = st.integers(-14, 14).filter(bool)  # 0 leaves the text as it is


@given(TUNE, MOVES)
def test_every_note_moves_by_the_interval_and_reads_the_same_under_both_rules(tune: str, n: int) -> None:
    moved = transpose_tune(tune, n)
    assert read(moved, "octave") == [p + n for p in read(tune, "octave")]
    assert read(moved, "pitch") == read(moved, "octave")
    assert [w.midi for w in written_pitches(tune)] == read(tune, "octave")


@given(TUNE, MOVES)
def test_each_accidental_written_is_needed(tune: str, n: int) -> None:
    moved = transpose_tune(tune, n)
    want = read(moved, "octave")
    head, body = moved.split("\n", 4)[:4], moved.split("\n", 4)[4]
    for m in re.finditer(r"(\^\^|\^|__|_|=)(?=[A-Ga-g])", body):
        bare = "\n".join(head) + "\n" + body[: m.start()] + body[m.end() :]
        assert read(bare, "octave") != want or read(bare, "pitch") != want, (moved, m.start())


@given(TUNE, MOVES)
def test_normal_form_round_trips_and_the_rest_stays_byte_for_byte(tune: str, n: int) -> None:
    """Exact but for chord symbols, where no note has a double sharp or flat (one may come out triple,
    and is respelled: F## up an augmented unison is G#)."""
    assert transpose_tune(tune, 0) == tune
    normal = transpose_tune(transpose_tune(tune, 12), -12)
    back = transpose_tune(transpose_tune(normal, n), -n)
    assert read(back, "octave") == read(normal, "octave")
    if "^^" not in normal and "__" not in normal:
        assert SYMBOLS.sub('""', back) == SYMBOLS.sub('""', normal)
    moved = T.tokenize(transpose_tune(tune, n))
    kept = {T.BAR, T.SPACE, T.REST, T.TUPLET, T.BROKEN, T.TIE, T.DECORATION, T.NEWLINE, T.COMMENT}
    assert [t.kind for t in moved] == [t.kind for t in T.tokenize(tune)]
    assert [t for t in moved if t.kind in kept] == [t for t in T.tokenize(tune) if t.kind in kept]


# ---------------------------------------------------------------- the Nottingham tunes


@pytest.fixture(scope="module")
def originals(nottingham_root: Path) -> list[str]:
    return read_tunes(sorted(nottingham_root.glob("*.abc")))


def test_nottingham_round_trips(originals: list[str], nottingham_dir: Path) -> None:
    for tunes, steps in ((originals, range(1, 12)), (read_tunes([nottingham_dir]), (-5, 2, 7))):
        for tune in tunes:
            normal = transpose_tune(transpose_tune(tune, 12), -12)
            for n in steps:
                back = transpose_tune(transpose_tune(normal, n), -n)
                assert back == normal or SYMBOLS.sub('""', back) == SYMBOLS.sub('""', normal), (tune[:40], n)


def test_music21_reads_the_transposed_tunes_as_its_own_transposition(originals: list[str]) -> None:
    """Every 16th original tune (59 of 935), moved -5, +2 and +5: music21 reads the same MIDI pitches as its
    own ``transpose()`` of the original, and chord-symbol roots moved as far. music21 is told the ABC rule
    of accidentals (``%%propagate-accidentals octave``; it reads ABC 1.3 without a version line) and reads
    ``::`` as ``:|:`` (it loses the note before ``::``). It reads a double sharp or flat carried through a
    bar as a single one, so the moves whose text holds one are left out (none of these 177; 4 of 234 in every 12th tune)."""
    from music21 import converter, harmony

    head = "%abc-2.1\n%%propagate-accidentals octave\n"

    def parse(text: str) -> object:
        return converter.parse(head + text.replace("::", ":|:"), format="abc")

    def notes(score: object) -> tuple[list[int], list[int | None]]:
        found = list(score.flatten().notes)  # type: ignore[attr-defined]
        pitches = [p.midi for n in found if not isinstance(n, harmony.ChordSymbol) for p in n.pitches]
        roots = [n.root().midi % 12 if n.pitches else None for n in found if isinstance(n, harmony.ChordSymbol)]
        return pitches, roots

    sample, doubles = originals[::16], 0
    for tune in sample:
        original = parse(tune)
        for n in (-5, 2, 5):
            moved = transpose_tune(tune, n)
            if "^^" in moved or "__" in moved:
                doubles += 1
                continue
            pitches, roots = notes(parse(moved))
            want_pitches, want_roots = notes(original.transpose(n))  # type: ignore[attr-defined]
            assert pitches == want_pitches, (tune[:60], n)
            assert roots == [None if r is None else (r + n) % 12 for r in notes(original)[1]], (tune[:60], n)
    assert len(sample) == 59 and doubles <= 6


# ---------------------------------------------------------------- musicgen transpose


def error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_command_writes_the_tune_and_says_what_the_instrument_cannot_play(
    run_musicgen: Run, write_abc: Callable[..., Path]
) -> None:
    text = "X:1\nT:Low\nM:4/4\nK:G\nGABc d2B,2|C2DE F4|]\n\nX:2\nT:Second\nK:D\nDEFG A4|\n"
    result = run_musicgen("transpose", write_abc(text), "--key", "A", "--instrument", "tin whistle")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == transpose_to_key(text, "A")
        == text.replace("K:G\nGABc d2B,2|C2DE F4", "K:A\nABcd e2C2|D2EF G4").replace("K:D\nDEFG A4", "K:A\nA,B,CD E4")
    )
    assert result.stderr.splitlines() == [
        "tune X:1 (Low): one note below the D whistle's low D (ABC D): C in bar 1. No shift of whole octaves puts "
        "every note in range; moving it up 1 to 7 semitones would (the tune spans C to e, 15 semitones).",
        "tune X:2 (Second): three notes below the D whistle's low D (ABC D): A, in bar 1, B, in bar 1, C in bar 1. "
        "Up an octave puts every note in range. Use --octave 1.",
    ]
    result = run_musicgen(
        "transpose", write_abc(text.split("\n\n")[1]), "--key", "A", "--octave", "1", "--instrument", "whistle"
    )
    assert result.stdout == "X:2\nT:Second\nK:A\nABcd e4|\n"
    assert result.stderr == "every note lies in the D whistle's range\n"


def test_command_keeps_every_other_byte_and_the_files_encoding(
    run_musicgen: Run, write_abc: Callable[..., Path], tmp_path: Path
) -> None:
    text = 'X:1\r\nT:Valse d\'\xe9t\xe9 % \xe9\r\nK:G\r\n"G"GAB|\r\n'
    out = tmp_path / "moved.abc"
    result = run_musicgen("transpose", write_abc(text.encode("latin-1"), "old.abc"), "--semitones", "-2", "--out", out)
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert out.read_bytes() == 'X:1\r\nT:Valse d\'\xe9t\xe9 % \xe9\r\nK:F\r\n"F"FGA|\r\n'.encode("latin-1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--key", "H"], "error: key 'H' is not a key"),
        (["--key", "Bb", "--instrument", "banjo"], "error: no instrument 'banjo': choose fiddle, whistle,"),
        (["--key", "C major"], "error: tune 1 is in Em, and a transposition keeps the mode: ask for Cm"),
        (["--semitones", "40", "--octave", "1"], "error: --semitones and --octave move 52 semitones"),
    ],
)
def test_command_refuses_bad_input_in_one_line(
    run_musicgen: Run, write_abc: Callable[..., Path], args: list[str], message: str
) -> None:
    assert error_line(run_musicgen("transpose", write_abc("X:1\nK:Em\nE|\n"), *args)).startswith(message)


def test_command_refuses_a_missing_file(run_musicgen: Run, tmp_path: Path) -> None:
    assert error_line(run_musicgen("transpose", tmp_path / "none.abc", "--key", "A")) == (
        f"error: {tmp_path / 'none.abc'}: no such file"
    )
