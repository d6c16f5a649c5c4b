"""Rewriting bars of a tune (musicgen.compose.rewrite) on the shipped weights: the kept bars byte for byte,
the bars counted as a musician counts them, the scores the model's, the same seed the same candidates,
errors in plain words; and ``musicgen rewrite`` as a real command."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.abcnotation import tokens as T
from musicgen.abcnotation.bars import bar_at, bar_spans, numbered
from musicgen.compose.rewrite import RewriteError, model_text, rewrite
from musicgen.compose.sample import Generator
from musicgen.data.corpus import TUNE_END

Run = Callable[..., subprocess.CompletedProcess]

# A jig with a pick-up, first and second endings, a second part closing with the short bar that the
# pick-up completes, chord symbols, a comment line and a title the model's vocabulary lacks (e-acute).
# Bars as a musician counts them: the pick-up A is none; 1-7, the first ending 8, the second 9, then 10-17.
JIG = """X:7
T:The Caf\u00e9 Jig
M:6/8
L:1/8
R:Jig
K:D
A|:"D"d2e f2d|"G"g2f e2d|"A"c2d e2c|"D"d3 A3|
"D"d2e f2d|"G"g2f e2d|"A"cde "A7"e2c|1"D"d3 d2A:|2"D"d3 d2e||
% the second part
|:"D"f2g a2f|"G"g2a b2g|"D"fed "A"c2e|"D"d3 A2e|
"D"f2g a2f|"G"g2a b2g|"D"fed "A7"cBc|"D"d3 d2:|
"""
JIG_CRLF = JIG.replace("\n", "\r\n")
# A hornpipe whose second part opens with a pick-up (Bc), after a first part closing on a short bar.
HORNPIPE = """X:3
T:Test Hornpipe
M:4/4
L:1/8
K:G
(3DEF|:"G"G2B2 d2B2|"C"c2e2 "G"d2B2|"D"A2F2 D2F2|"G"G2B2 G2:|
|:Bc|"G"d2g2 g2fe|"C"e2c2 c2BA|"D"F2A2 d2c2|"G"B2G2 G2:|
"""
WALTZ = "X:2\nT:Waltz\nM:3/4\nL:1/4\nK:G\nG B d|g2 d|e c A|B3|\nA B c|d B G|A F D|G3|]\n"


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator.load()


def kept_around(tune: str, first: int, last: int | None) -> tuple[str, str]:
    """The text a rewrite of bars first..last must keep: before bar first's music, after bar last's."""
    bars = numbered(bar_spans(tune))
    return tune[: bars[first - 1].start], tune[bars[last - 1].end :] if last is not None else ""


def test_bars_are_counted_as_a_musician_counts_them() -> None:
    spans = bar_spans(JIG)
    assert spans[0].number is None and spans[0].music == "A"  # the pick-up is no bar
    bars = numbered(spans)
    assert len(bars) == 17 and [b.number for b in bars] == list(range(1, 18))
    assert bars[0].music == '"D"d2e f2d'
    assert (bars[7].ending, bars[7].music, bars[7].bar_line) == ("1", '"D"d3 d2A', ":|2")  # the first ending: bar 8
    assert (bars[8].ending, bars[8].music) == ("2", '"D"d3 d2e')  # the second ending: bar 9
    assert bars[9].music == '"D"f2g a2f' and bars[-1].music == '"D"d3 d2' and not bars[-1].whole
    assert [b.number for b in bar_spans(JIG_CRLF)] == [s.number for s in spans]
    assert [b.music for b in bar_spans(JIG_CRLF)] == [s.music for s in spans]


def test_a_clicked_character_names_its_bar() -> None:
    at = JIG.index("b2g")
    assert bar_at(JIG, at).number == 11
    assert bar_at(JIG, JIG.index('"A7"e2c')).number == 7
    assert bar_at(JIG, JIG.index("A|:")).number is None  # the pick-up
    assert bar_at(JIG, JIG.index("T:")) is None  # the header


def test_a_note_clicked_in_the_sheet_music_names_its_bar_as_javascript_counts_characters() -> None:
    from musicgen.app.rewriting import clicked_bar, js_length

    # abcjs counts UTF-16 units: the fiddle in the title is two of them, so every later note is one further on
    tune = JIG.replace("T:The Caf\u00e9 Jig", "T:The \U0001f3bb Jig")
    assert js_length(tune) == len(tune) + 1
    for span in numbered(bar_spans(tune)):
        for k in range(len(span.music)):
            chosen = clicked_bar(tune, span.start + k + 1)
            assert (chosen.number, chosen.start, chosen.end) == (span.number, span.start, span.end)
        assert clicked_bar(tune, span.start + 1).words == f"Bar {span.number} chosen"
    pickup = clicked_bar(tune, tune.index("A|:") + 1)
    assert pickup.number is None and "pick-up" in pickup.words  # said, not taken for bar 1
    assert clicked_bar(tune, tune.index("M:") + 1).number is None  # the header


BAR_MUSIC = st.lists(st.sampled_from(["A", "B2", "c/", "z", '"G"', "[CE]", " ", "(3ABc", "!trill!", "d>e"]), max_size=5)
BAR_LINES = st.sampled_from(["|", "||", ":|", "|:", "::", "|]", "|1", ":|2", "| [2", "|\n", "|\nP:B\n", "|\n% note\n"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(BAR_MUSIC.map("".join), BAR_LINES), min_size=1, max_size=12))
def test_every_timed_note_lies_in_exactly_one_bar_and_bars_are_in_order(bars: list[tuple[str, str]]) -> None:
    tune = "X:1\nM:6/8\nL:1/8\nK:D\n" + "".join(music + line for music, line in bars)
    spans = bar_spans(tune)
    ends = [0] + [s.close for s in spans]
    assert all(a <= s.start <= s.end <= s.close for a, s in zip(ends, spans))  # in order, never overlapping
    pos, inside = 0, 0
    for kind, text in T.tokenize(tune):
        if kind in T.TIMED:
            owners = [s for s in spans if s.start <= pos and pos + len(text) <= s.end]
            assert len(owners) == 1, (tune, pos, text)
            inside += 1
        pos += len(text)
    assert inside == sum(1 for s in spans for k, _ in T.tokenize(s.music) if k in T.TIMED)
    numbers = [s.number for s in numbered(spans)]
    assert numbers == list(range(1, len(numbers) + 1))


def test_bar_numbers_agree_with_the_form_reading_on_the_nottingham_tunes(nottingham_dir: Path) -> None:
    from musicgen.data.corpus import read_tunes
    from musicgen.judge.form import tune_form

    tunes = read_tunes([nottingham_dir])
    differ = [t for t in tunes if len(numbered(bar_spans(t))) != tune_form(t).bars]
    assert not differ, f"{len(differ)} of {len(tunes)} tunes counted apart, such as:\n{differ[0]}"


@pytest.mark.parametrize("tune", [JIG, JIG_CRLF], ids=["lf", "crlf"])
@pytest.mark.parametrize(("first", "last"), [(1, 1), (3, 4), (6, 10), (9, 9), (14, 17)])
def test_the_kept_bars_stay_byte_identical(gen: Generator, tune: str, first: int, last: int) -> None:
    found = rewrite(gen, tune, first, last, n=3, rng=1)
    before, after = kept_around(tune, first, last)
    old = bar_spans(tune)
    assert found.candidates and found.bars == last - first + 1
    for c in found.candidates:
        assert c.abc.startswith(before) and c.abc.endswith(after)  # byte for byte, CRs and the title included
        assert c.abc == before + c.new + after
        got = bar_spans(c.abc)
        assert [s.number for s in got] == [s.number for s in old]
        assert [s.bar_line for s in got] == [s.bar_line for s in old]  # repeats and endings inside the range kept
        for s_old, s_new in zip(old, got):
            if s_old.number is None or not first <= s_old.number <= last:
                assert s_new.music == s_old.music
            assert s_new.bar.duration == s_old.bar.duration or not s_old.whole
        assert c.bars == last - first + 1 and c.ended
    assert any(c.new != tune[len(before) : len(tune) - len(after)] for c in found.candidates)  # new music


def test_a_pick_up_inside_the_range_stays_a_pick_up(gen: Generator) -> None:
    old = bar_spans(HORNPIPE)
    assert [s.number for s in old] == [None, 1, 2, 3, 4, None, 5, 6, 7, 8]
    found = rewrite(gen, HORNPIPE, 3, 6, n=2, rng=0)
    before, after = kept_around(HORNPIPE, 3, 6)
    for c in found.candidates:
        assert c.abc == before + c.new + after and "|:" in c.new  # the repeat between the parts kept
        new = bar_spans(c.abc)
        assert [(s.number, s.bar_line) for s in new] == [(s.number, s.bar_line) for s in old]
        assert 0 < new[5].bar.duration < new[5].bar.expected  # the new pick-up is short
        assert [new[i].bar.duration for i in (3, 6, 7)] == [1, 1, 1]  # bars 3, 5 and 6 whole, as they were


def test_candidates_are_ranked_by_the_models_likelihood_of_the_kept_bars_after_them(gen: Generator) -> None:
    found = rewrite(gen, JIG, 5, 8, n=4, rng=3)
    assert [c.rank for c in found.candidates] == [1, 2, 3, 4]
    scores = [c.score for c in found.candidates]
    assert scores == sorted(scores)
    before, after = kept_around(JIG, 5, 8)
    head, tail = model_text(before, gen.vocab), model_text(after, gen.vocab, ends_tune=True) + TUNE_END
    for c in found.candidates:  # the score, computed apart: log p(head + new + tail) - log p(head + new)
        (whole, _), (start, _) = gen.engine.log_likelihood([head + c.new + tail, head + c.new])
        assert c.score == pytest.approx(-(whole - start) / len(tail), abs=1e-4)


def test_the_same_seed_gives_the_same_candidates(gen: Generator) -> None:
    one, two = rewrite(gen, JIG, 2, 3, n=3, rng=5), rewrite(gen, JIG, 2, 3, n=3, rng=5)
    assert one == two
    other = rewrite(gen, JIG, 2, 3, n=3, rng=6)
    assert [c.new for c in other.candidates] != [c.new for c in one.candidates]


def test_meter_aware_writing_and_free_writing_both_fill_the_bars(gen: Generator) -> None:
    held = rewrite(gen, WALTZ, 2, 5, n=2, rng=2)
    free = rewrite(gen, WALTZ, 2, 5, n=2, rng=2, constrained=False)
    assert all(c.meter_aware for c in held.candidates) and not any(c.meter_aware for c in free.candidates)
    for c in held.candidates + free.candidates:
        assert [s.bar.duration for s in bar_spans(c.abc)] == [s.bar.duration for s in bar_spans(WALTZ)]


def test_rewriting_from_a_bar_keeps_the_bars_before_it(gen: Generator) -> None:
    found = rewrite(gen, JIG, 10, n=3, rng=4)
    before, _ = kept_around(JIG, 10, None)
    assert found.last is None and found.bars == 8 and found.candidates
    for c in found.candidates:
        assert c.abc.startswith(before) and c.abc == before + c.new.rstrip() + "\n"
        assert c.bars >= 1 and numbered(bar_spans(c.abc))[8].music == '"D"d3 d2e'
    order = [(not c.ended, c.bars < 8, c.score) for c in found.candidates]
    assert order == sorted(order)


@pytest.mark.parametrize(
    ("tune", "first", "last", "message"),
    [
        (
            JIG,
            0,
            2,
            "there is no bar 0: the tune has 17 bars (a pick-up is no bar of its own); choose bars from 1 to 17",
        ),
        (JIG, 5, 18, "there is no bar 18: the tune has 17 bars"),
        (JIG, 18, None, "there is no bar 18"),
        (JIG, 8, 5, "bars 8-5: the first bar comes after the last; write the range as 5-8"),
        (JIG, 2.5, None, "the first bar must be a whole number, not 2.5"),
        ("", 1, None, "the tune is empty"),
        ("X:1\nT:Header only\nM:6/8\nK:D\n", 1, None, "the tune has no bars of music after its K: line"),
        ("X:1\nT:No key\nM:6/8\nd2e f2d|g3 e3|\n", 1, 2, "the tune has no K: line"),
        (JIG + "\n" + WALTZ, 1, 2, "the text holds 2 tunes (X: lines): give the one tune to rewrite"),
    ],
)
def test_what_cannot_be_rewritten_is_said_in_plain_words(
    gen: Generator, tune: str, first: object, last: object, message: str
) -> None:
    with pytest.raises(RewriteError, match="^" + re.escape(message)):
        rewrite(gen, tune, first, last)  # type: ignore[arg-type]


def test_a_bad_candidate_count_or_temperature_is_refused(gen: Generator) -> None:
    with pytest.raises(RewriteError, match="ask for 1 to 16 candidates, not 0"):
        rewrite(gen, JIG, 1, 2, n=0)
    with pytest.raises(ValueError, match="temperature must be above 0"):
        rewrite(gen, JIG, 1, 2, temperature=0)


def test_the_command_writes_ranked_files_and_says_each_score(run_musicgen: Run, tmp_path: Path) -> None:
    path = tmp_path / "jig.abc"
    path.write_bytes(JIG_CRLF.encode("utf-8"))
    out = tmp_path / "new"
    result = run_musicgen("rewrite", path, "--bars", "5-8", "--n", "2", "--rng", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["jig.bars5-8.rank1.abc", "jig.bars5-8.rank2.abc"]
    before, after = kept_around(JIG_CRLF, 5, 8)
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 2
    for rank, (name, line) in enumerate(zip(names, lines), start=1):
        data = (out / name).read_bytes()
        assert data.startswith(before.encode("utf-8")) and data.endswith(after.encode("utf-8"))
        assert line.startswith(f"{out / name}  rank {rank}: score ") and "nats/char of the kept bars after it" in line
    library = rewrite(Generator.load(), JIG_CRLF, 5, 8, n=2, rng=3)
    assert [(out / n).read_bytes().decode("utf-8") for n in names] == [c.abc for c in library.candidates]


def test_the_command_picks_a_tune_and_rewrites_from_a_bar(run_musicgen: Run, tmp_path: Path) -> None:
    path = tmp_path / "book.abc"
    path.write_text(JIG + "\n" + WALTZ, encoding="utf-8")
    result = run_musicgen("rewrite", path, "--tune", "2", "--from-bar", "7", "--n", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(WALTZ[: WALTZ.index("A F D")])
    assert result.stderr.startswith("rank 1: score ") and "nats/char of its new music" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bars", "5..8"], "error: --bars takes a bar or a range of bars such as 5-8, not '5..8'"),
        (["--bars", "12-30"], "error: there is no bar 30: the tune has 17 bars"),
        (["--tune", "9", "--bars", "1"], "error: {path} has no tune X:9; its tunes are X: 7"),
        (["--bars", "1", "--n", "20"], "error: ask for 1 to 16 candidates, not 20"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(
    run_musicgen: Run, tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "jig.abc"
    path.write_text(JIG, encoding="utf-8")
    result = run_musicgen("rewrite", path, *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().split("\n")
    assert len(lines) == 1 and lines[0].startswith(message.format(path=path)), result.stderr


def test_a_missing_file_is_one_line(run_musicgen: Run, tmp_path: Path) -> None:
    result = run_musicgen("rewrite", tmp_path / "gone.abc", "--bars", "1-2")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: cannot read {tmp_path / 'gone.abc'}: No such file or directory"


def test_a_file_of_several_tunes_asks_which(run_musicgen: Run, tmp_path: Path) -> None:
    path = tmp_path / "book.abc"
    path.write_text(JIG + "\n" + WALTZ, encoding="utf-8")
    result = run_musicgen("rewrite", path, "--bars", "1-2")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path} holds 2 tunes (X: 7, 2): choose one with --tune X"
