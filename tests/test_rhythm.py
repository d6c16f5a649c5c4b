"""The ABC tokenizer and rhythm analyser: every duration rule on a named tune, and the Nottingham tunes."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abcnotation.rhythm import RhythmState, analyse
from musicgen.abcnotation.tokens import Token, Tokenizer, tokenize
from musicgen.data import corpus

F = Fraction


def durations(tune: str) -> list[str]:
    return [str(b.duration) for b in analyse(tune).bars]


# name -> (tune, the duration of each bar)
RULES = {
    "default unit 1/8 at 3/4 and above": ("X:1\nM:3/4\nK:G\nABc def|", ["3/4"]),
    "default unit 1/16 below 3/4": ("X:1\nM:2/4\nK:G\nABCD EFGA|", ["1/2"]),
    "L: wins over the meter's default": ("X:1\nM:2/4\nL:1/8\nK:G\nABCD|", ["1/2"]),
    "L: before M: is not overridden by it": ("X:1\nL:1/4\nM:2/4\nK:G\nAB|", ["1/2"]),
    "no M: at all: unit 1/8": ("X:1\nK:G\nABCD EFGA|", ["1"]),
    "M:C is 4/4 and M:C| is 2/2": ("X:1\nM:C|\nK:G\nA8|", ["1"]),
    "written lengths": ("X:1\nM:4/4\nL:1/8\nK:G\nA2 B/ B/ c3/2 c/ d// d// d/4 d/4 e|", ["7/8"]),
    "broken rhythm, single and double": ("X:1\nM:2/4\nL:1/8\nK:G\nA>B c<d|A>>B c2|", ["1/2", "1/2"]),
    "triplet (3 and the full (p:q:r form": ("X:1\nM:2/4\nL:1/8\nK:G\n(3ABc d2|(3:2:4ABcd e|", ["1/2", "11/24"]),
    "compound meter: (5 is five in the time of three": ("X:1\nM:6/8\nL:1/8\nK:G\n(5ABcde fga|", ["3/4"]),
    "chord: its first note's length times its own": ("X:1\nM:3/4\nL:1/8\nK:G\n[CEG]2 [C2E]2 [CE]/[CE]/|", ["7/8"]),
    "rests z and x; ties take no time": ("X:1\nM:3/4\nL:1/8\nK:G\nz2 A-A x2|", ["3/4"]),
    "grace notes, symbols, annotations, decorations take none": (
        'X:1\nM:3/4\nL:1/8\nK:G\n{ga}"G"A2 "^loud"!trill!B2 ~c .d H e|',
        ["7/8"],
    ),
    "multi-bar rest fills one bar": ("X:1\nM:3/4\nK:G\nZ4|", ["3/4"]),
    "bars go on across line breaks": ("X:1\nM:3/4\nL:1/8\nK:G\nABC\nDEF|", ["3/4"]),
    "inline meter and unit changes": ("X:1\nM:3/4\nL:1/8\nK:G\n[M:2/4]ABCD|[L:1/4]AB|", ["1/2", "1/2"]),
}


@pytest.mark.parametrize("name", RULES)
def test_duration_rules(name: str) -> None:
    tune, expected = RULES[name]
    assert durations(tune) == expected


def test_every_bar_line_kind_closes_a_bar_and_only_repeats_and_doubles_end_sections() -> None:
    bars = analyse("X:1\nM:2/4\nL:1/4\nK:G\nA|AB|AB||AB|]AB[|AB|:AB::AB:|2AB|AB|1AB.|AB|").bars
    assert [str(b.duration) for b in bars] == ["1/4"] + ["1/2"] * 11
    assert [b.last for b in bars] == [False, False, True, True, True, True, True, True, False, False, False, True]
    assert [b.first for b in bars] == [True, False, False, True, True, True, True, True, True, False, False, False]


def test_pick_ups_may_be_short_but_inner_bars_must_fill_the_measure() -> None:
    r = analyse("X:1\nM:6/8\nL:1/8\nK:D\nA|:d2e fed|c2d B2:|\n|:f|d2e f2|g3 a3|]")
    assert [(str(b.duration), b.inner, b.correct) for b in r.bars] == [
        ("1/8", False, True),
        ("3/4", False, True),
        ("5/8", False, True),
        ("1/8", False, True),
        ("5/8", True, False),
        ("3/4", False, True),
    ]
    assert (len(r.checked), r.inner_correct, r.all_inner_correct) == (1, 0, False)


def test_edge_bars_must_not_overfill_the_measure() -> None:
    bars = analyse("X:1\nM:2/4\nL:1/8\nK:G\nABCDE|ABCD|ABCDE|]").bars
    assert [b.correct for b in bars] == [False, True, False]


def test_variant_endings_close_their_sections() -> None:
    bars = analyse("X:1\nM:2/4\nL:1/8\nK:G\n|:AB|cdef|[1 g2:|[2 gf e2|]").bars
    assert [(str(b.duration), b.first, b.last) for b in bars] == [
        ("1/4", True, False),
        ("1/2", False, False),
        ("1/4", False, True),
        ("1/2", True, True),
    ]


def test_empty_bars_are_not_bars_and_keep_the_section_open() -> None:
    bars = analyse("X:1\nM:2/4\nL:1/8\nK:G\nd2|: || |:B2c2|d4|]").bars
    assert [(str(b.duration), b.first, b.last) for b in bars] == [
        ("1/4", True, True),
        ("1/2", True, False),
        ("1/2", False, True),
    ]


def test_a_part_or_meter_change_ends_a_section_even_inside_a_bar() -> None:
    r = analyse("X:1\nM:6/4\nL:1/4\nK:D\nd3 ccd|d3\nP:B\nM:4/4\nA2 |d4|d2 d2|]")
    assert [(str(b.duration), b.first, b.last, b.correct) for b in r.bars] == [
        ("3/2", True, False, True),
        ("3/4", False, True, True),
        ("1/2", True, False, True),
        ("1", False, False, True),
        ("1", False, True, True),
    ]


def test_a_field_left_at_the_end_of_a_music_line_is_read_as_a_field() -> None:
    r = analyse("X:1\nM:4/4\nL:1/8\nK:D\nA8| M:6/8\nABc def|ABc def|]")
    assert [str(b.duration) for b in r.bars] == ["1", "3/4", "3/4"] and r.meter is not None
    assert str(r.meter.length) == "3/4" and not r.errors


def test_free_meter_bars_are_not_judged() -> None:
    r = analyse("X:1\nM:none\nK:G\nABC|DEFGA|B|")
    assert [b.correct for b in r.bars] == [None, None, None] and r.checked == []


def test_unreadable_text_makes_its_bar_wrong() -> None:
    r = analyse("X:1\nM:2/4\nL:1/8\nK:G\nABCD|AB&CD|ABCD|ABCD|]")
    assert r.errors == ["&"] and [b.correct for b in r.checked] == [False, True]


def test_broken_rhythm_with_nothing_before_it_is_an_error() -> None:
    assert analyse("X:1\nM:2/4\nL:1/8\nK:G\nABCD|>ABC|]").errors == [">"]


def test_bad_header_values_are_errors_not_crashes() -> None:
    r = analyse("X:1\nM:7\nL:eighth\nK:G\nABCD|")
    assert r.errors == ["M:7", "L:eighth"] and r.meter is None and r.bars[0].correct is None


def test_rhythm_state_follows_a_bar_one_token_at_a_time() -> None:
    state, tok = RhythmState(), Tokenizer()
    filled = []
    for ch in "M:3/4\nL:1/8\nK:G\nA>B (3cde f2| ":  # the bar line is complete once the space comes
        for t in tok.feed(ch):
            state.feed(t)
        filled.append(state.duration)
    assert F(1, 4) in filled and max(filled) == F(3, 4)
    assert [b.duration for b in state.bars] == [F(3, 4)] and state.duration == 0


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("|[1 A", ["bar", "ending", "space", "note"]),
        (":|2 A", ["bar", "space", "note"]),
        ("[K:G][CE]2[|", ["inline_field", "chord", "bar"]),
        ('"A7/c+"^^A,,', ["symbol", "note"]),
        ("M:6/8\nK:G", ["field", "newline", "field"]),
        ("A:|", ["field"]),  # a line that starts with a letter and a colon is a field line (ABC standard)
    ],
)
def test_tokens(text: str, kinds: list[str]) -> None:
    assert [t.kind for t in tokenize(text)] == kinds


def feed_by_char(text: str) -> tuple[Token, ...]:
    t = Tokenizer()
    out = [tok for ch in text for tok in t.feed(ch)]
    return tuple(out + t.flush())


ABC_CHARS = list("ABCabcz|:[]12,-/3>()\"G{}!+^_=.~ \nKM%\\xZ'T")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ABC_CHARS), max_size=30).map("".join))
def test_feeding_one_character_at_a_time_gives_the_same_tokens(text: str) -> None:
    assert feed_by_char(text) == tokenize(text)


def test_nottingham_tokens_by_character_match_the_whole_text(nottingham_dir: Path) -> None:
    tunes = corpus.read_tunes([nottingham_dir])[::10]
    assert all(feed_by_char(t) == tokenize(t) for t in tunes)


@pytest.mark.slow
def test_nottingham_inner_bars_are_right_but_for_two_tunes_with_errors_in_the_data(nottingham_dir: Path) -> None:
    wrong = []
    for tune in corpus.read_tunes([nottingham_dir]):
        wrong += [b for b in analyse(tune).checked if not b.correct]
    # One tune has a bar of 31/32 (in 4/4, L:1/8), another a chord that is never closed.
    assert len(wrong) == 2
    assert sorted(b.duration for b in wrong if not b.errors) == [Fraction(31, 32)]
    assert sum(bool(b.errors) for b in wrong) == 1


# Pieces of music with their length in eighth notes (L:1/8), and things that take no time.
TIMED_PIECES = [
    ("A", F(1)),
    ("B2", F(2)),
    ("c/", F(1, 2)),
    ("d3/2", F(3, 2)),
    ("e//", F(1, 4)),
    ("z", F(1)),
    ("x2", F(2)),
    ("[CEG]", F(1)),
    ("[C2E]/", F(1)),
    ("A>B", F(2)),
    ("c<<d", F(2)),
    ("(3ABc", F(2)),
    ("(3:2:2Bc", F(4, 3)),
    ("^F,", F(1)),
    ("_b'2", F(2)),
    ("G-G", F(2)),
]
TIMELESS = ['"G"', '"^ff"', "{ga}", "!trill!", "~", ".", "H", " ", "y", "`", "\\\n"]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.sampled_from(TIMED_PIECES), st.sampled_from(TIMELESS)), min_size=1, max_size=6),
        min_size=1,
        max_size=6,
    )
)
def test_bar_lengths_are_the_sum_of_their_pieces(bars: list[list[tuple[tuple[str, Fraction], str]]]) -> None:
    body = "|".join("".join(timeless + text for (text, _), timeless in bar) for bar in bars) + "|]"
    expected = [sum((length for (_, length), _ in bar), F(0)) / 8 for bar in bars]
    assert [b.duration for b in analyse("X:1\nM:4/4\nL:1/8\nK:G\n" + body).bars] == expected
