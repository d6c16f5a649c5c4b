"""One numbering of a tune's bars (musicgen.abcnotation.bars) for Practise, Rewrite, the workbench's mistakes
and a click in the sheet music: the rule on named tunes (pick-ups, endings, a lone closing bar), a passage of
bars N to M and a rewrite of them naming the same bars, and the Nottingham tunes read the same by all."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abcnotation import excerpt as ex
from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.bars import bar_at, bar_spans, numbered, scan_text
from musicgen.app import workbench as wb
from musicgen.compose.rewrite import plan

HEAD = "X:1\nT:Test\nM:4/4\nL:1/8\nK:G\n"
# Each tune, what it exercises, and its bars' numbers in written order (None: not counted).
RULE = {
    "a pick-up": ("D2|G4 B4|d8|]", [None, 1, 2]),
    "no pick-up": ("G4 B4|d8|]", [1, 2]),
    "a later part's pick-up, completed by the short bar closing part 1": (
        "D2|:G4 B4|d6:|\n|:Bc|d4 g4|g6:|\n",
        [None, 1, 2, None, 3, 4],
    ),
    "both endings count, a short second ending too, and the pick-up after it does not": (
        "|:G4 B4|d8|1 c8:|2 c6||\nBc|:d4 g4|g8:|\n",
        [1, 2, 3, 4, None, 5, 6],
    ),
    "a bar in an ending is never a pick-up": ("G4 B4|[1 d8:|[2 d2|]\n", [1, 2, 3]),
    "a lone closing bar after the repeat": ("D2|:G4 B4|d6:|G2|]\n", [None, 1, 2, None]),
    "the pick-up of a part never written": ("G4 B4|d6:|\nBc|]\n", [1, 2, None]),
    "a single short bar is bar 1": ("G2|]", [1]),
    "a pick-up and one short bar: the second is bar 1": ("D2|:G2|]", [None, 1]),
    "a short inner bar counts (it is a mistake, not a pick-up)": ("G4 B4|d4|g8|]", [1, 2, 3]),
    "a part after P: starts anew": ("D2|G4 B4|d6||\nP:B\nBc|d4 g4|g8|]\n", [None, 1, 2, None, 3, 4]),
}


@pytest.mark.parametrize("name", list(RULE))
def test_the_bars_are_numbered_by_one_rule(name: str) -> None:
    body, numbers = RULE[name]
    tune = HEAD + body
    spans = bar_spans(tune)
    assert [s.number for s in spans] == numbers
    assert [s.number for s in numbered(spans)] == list(range(1, len(numbered(spans)) + 1))
    assert wb.bar_count(tune) == max(n for n in numbers if n is not None)


def test_a_span_knows_its_music_bar_line_line_and_length() -> None:
    tune = HEAD + "D2|:G4 B4|\n[1 d6:|[2 d8|]\n"
    s = bar_spans(tune)
    assert [(x.music, x.bar_line, x.line, x.ending) for x in s] == [
        ("D2", "|:", 6, None),
        ("G4 B4", "|", 6, None),
        ("d6", ":|", 7, "1"),
        ("d8", "|]", 7, "2"),
    ]
    assert [str(x.duration) for x in s] == ["1/4", "1", "3/4", "1"] and (s[0].meter.beats, s[0].meter.unit) == (4, 4)
    assert [x.whole for x in s] == [False, True, False, True] and all(x.correct for x in s)
    assert [tune[x.start : x.close] for x in s] == [x.music + x.bar_line for x in s]
    crlf = tune.replace("\n", "\r\n")
    assert [crlf[x.start : x.end] for x in bar_spans(crlf)] == [x.music for x in s]  # offsets into the text given


def test_a_passage_takes_the_bars_not_counted_next_to_it() -> None:
    tune = HEAD + 'D2|:"G"G4 B4|d6:|\n|:Bc|"D"d4 g4|g6:|G2|]\n'
    assert ex.excerpt(tune, 1, 2).abc.endswith('\nD2| "G"G4 B4|d6 |\n')  # the first pick-up
    assert ex.excerpt(tune, 3, 3).abc.endswith('\n"G"Bc|"D"d4 g4|\n')  # a later part's pick-up (the chord in force)
    assert ex.excerpt(tune, 2, 2).abc.endswith('\n"G"d6 |\n')  # not the pick-up after it
    assert ex.excerpt(tune, 4, 4).abc.endswith('\n"D"g6 |G2|]\n')  # the lone closing bar after the last
    with pytest.raises(ex.ExcerptError, match=r"from 1 to 4 \(this tune has 4 bars; a pick-up is no bar of its own"):
        ex.excerpt(tune, 0, 2)


def same_bar_everywhere(tune: str, n: int) -> None:
    """Bar ``n`` of ``tune`` is one bar for Practise, Rewrite, a click on it and the workbench's count."""
    bar = numbered(bar_spans(tune))[n - 1]
    cut = ex.excerpt(tune, n, n)
    assert cut.source_start <= bar.start and bar.end <= cut.source_start + cut.length
    others = [s for s in numbered(bar_spans(tune)) if s.number != n]
    assert not any(cut.source_start <= s.start < cut.source_start + cut.length for s in others)
    spans, lo, hi = plan(tune, n, n)
    assert lo == hi and (spans[lo].start, spans[lo].end) == (bar.start, bar.end)
    notes, pos = [], 0
    for kind, text in T.tokenize(scan_text(tune)):
        notes += [pos] if kind in T.TIMED and bar.start <= pos < bar.end else []
        pos += len(text)
    clicked = notes[0]  # the bar's first note, as abcjs gives its startChar
    assert bar_at(tune, clicked).number == n


@pytest.mark.parametrize("name", [n for n in RULE if "inner" not in n])
def test_bar_n_is_the_same_bar_in_practise_and_in_rewrite(name: str) -> None:
    tune = HEAD + RULE[name][0]
    for n in range(1, len(numbered(bar_spans(tune))) + 1):
        same_bar_everywhere(tune, n)


MUSIC = st.lists(st.sampled_from(["G2", "B4", "d8", "c6", "z2", '"D"', " ", "[GB]2", "(3GAB", "d>e"]), max_size=4)
LINES = st.sampled_from(["|", "||", ":|", "|:", "::", "|]", "|1", ":|2", "| [2", "|\n", "|\nP:B\n"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(MUSIC.map("".join), LINES), min_size=1, max_size=10), st.randoms())
def test_any_passage_holds_exactly_its_bars(bars: list[tuple[str, str]], rng: random.Random) -> None:
    tune = HEAD + "".join(music + line for music, line in bars)
    counted = numbered(bar_spans(tune))
    if not counted:
        with pytest.raises(ex.ExcerptError, match="no bars of music"):
            ex.excerpt(tune, 1, 1)
        return
    first = rng.randint(1, len(counted))
    last = rng.randint(first, len(counted))
    cut = ex.excerpt(tune, first, last)
    inside = [s.number for s in counted if cut.source_start <= s.start < cut.source_start + cut.length]
    assert inside == list(range(first, last + 1))


def test_practise_rewrite_and_the_form_count_the_nottingham_tunes_alike(nottingham_dir: Path) -> None:
    from musicgen.data.corpus import read_tunes
    from musicgen.judge.form import tune_form

    tunes = read_tunes([nottingham_dir])
    counts = [(len(numbered(bar_spans(t))), wb.bar_count(t), tune_form(t).bars) for t in tunes]
    assert all(a == b == c for a, b, c in counts), [t for t, c in zip(tunes, counts) if len(set(c)) > 1][:1]
    # tunes with a later part's pick-up or a lone closing bar (508 of 932), where counting every written bar
    # named other bars than Rewrite did
    assert sum(len(bar_spans(t)) - c[0] > (bar_spans(t)[0].number is None) for t, c in zip(tunes, counts)) > 400
    for tune in random.Random(5).sample(tunes, 12):
        for n in range(1, len(numbered(bar_spans(tune))) + 1):
            same_bar_everywhere(tune, n)
