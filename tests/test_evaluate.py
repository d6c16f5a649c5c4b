"""Quality measures: headers, pitch classes, near-copies, the summary, and `musicgen evaluate` end to end."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TINY_TUNES

from musicgen.compose.sample import Generator
from musicgen.config import MAX_CANDIDATES, SampleConfig
from musicgen.judge import features
from musicgen.judge.evaluate import evaluate, fit, generate, music21_check
from musicgen.judge.novelty import BarIndex, body_bars
from musicgen.judge.quality import Reference, check_tune, distributions, summarise
from musicgen.model.checkpoint import Checkpoint

Run = Callable[..., subprocess.CompletedProcess]

GOOD = 'X:1\nT:Good\nM:3/4\nL:1/4\nK:G\nd|B2 c|d2 e|"G"f3|g3|]'
NO_TITLE_BAD_METER = "X:2\nM:3/9\nK:G\nd|B2 c|d2 e|"
BAD_KEY_NOT_FIRST = "T:Bad\nX:3\nM:3/4\nK:Hminor\nd|B2 c|"
UNCLOSED_CHORD = "X:4\nT:Broken\nM:3/4\nL:1/4\nK:G\nd|B2 c|[d2 e|f3|\ng3|]"


@pytest.mark.parametrize(
    "tune, problems",
    [
        (GOOD, []),
        (NO_TITLE_BAD_METER, ["no T:", "M: is not a meter"]),
        (BAD_KEY_NOT_FIRST, ["X: is not the first line", "K: is not a key"]),
        ("X:5\nT:No key\nM:2/4\nL:1/5\nabc|", ["L: is not a unit note length", "no K:"]),
        ("X:6\nT:Too long a bar\nM:40/8\nK:G\nabc|", ["M: is not a meter"]),  # the line checks refuse it too
    ],
)
def test_header_problems(tune: str, problems: list[str]) -> None:
    assert features.header_problems(tune) == problems


def test_pitch_classes_follow_key_changes_and_accidentals_last_one_bar_at_one_octave() -> None:
    tune = "X:1\nM:4/4\nK:D\nf^g g g'|g [K:F]B|\nK:C\nB _B|B"
    assert features.pitch_classes(tune) == [6, 8, 8, 7, 7, 10, 11, 10, 11]


def test_note_lengths_count_notes_and_chords_but_not_rests() -> None:
    assert features.note_lengths("X:1\nM:2/4\nL:1/8\nK:G\nA>B z2 [CE]2|") == ["3/16", "1/16", "1/4"]


def test_body_bars_drop_symbols_spaces_fields_and_line_breaks() -> None:
    tune = 'X:1\nT:T\nK:G\n"G"GAB "D"c2d|:e2d\nB2G|\nP:B\n[1 A2B c2A|'
    assert body_bars(tune) == ["GABc2d", "e2dB2G", "A2Bc2A"]


TRAINING = [
    "X:1\nT:A\nM:3/4\nL:1/4\nK:G\n|:GAB|c2d|e2d|B2G|A2B|c2A|B2G|A3:|",
    "X:2\nT:B\nM:3/4\nL:1/4\nK:D\n|:DEF|G2A|B2A|F3:|",
]


@pytest.mark.parametrize(
    "tune, run",
    [
        ('X:9\nT:Four bars, new chords and spacing\nK:G\n"C"c2 d|"Em"e2d|B2 G|\nA2B|d3|]', 4),
        ("X:9\nT:Three bars\nK:G\nc2d|e2d|B2G|d3|]", 3),
        ("X:9\nT:Two bars of each training tune\nK:G\nc2d|e2d|DEF|G2A|]", 2),
        ("X:9\nT:Nothing shared\nK:G\nz3|z3|]", 0),
    ],
)
def test_longest_run_shared_with_one_training_tune(tune: str, run: int) -> None:
    index = BarIndex(TRAINING)
    assert index.longest_run(tune) == run and index.is_near_copy(tune) == (run >= 4)


def test_summary_of_hand_checked_tunes() -> None:
    ref = Reference(TRAINING, [GOOD])
    tunes = [GOOD, NO_TITLE_BAD_METER, TRAINING[0].replace("X:1", "X:7")]
    checks = [check_tune(t, ref, parse=None, ended=e) for t, e in zip(tunes, [True, False, True])]
    report = summarise(checks, ref, tunes)
    assert report["tunes"] == 3 and report["parse_rate"] is None
    assert report["header_rate"] == pytest.approx(2 / 3)
    assert report["ended_rate"] == pytest.approx(2 / 3) and report["final_bar_rate"] == 1.0
    assert report["clean_ending_rate"] == pytest.approx(2 / 3)
    # GOOD: d| B2c | d2e | f3 | g3 |] -> 3 inner bars, all right; the copy: 6 inner bars, all right;
    # NO_TITLE_BAD_METER has no valid meter, so nothing of it is judged
    assert report["inner_bars"] == {
        "bars": 9,
        "correct": 9,
        "share": 1.0,
        "unjudged_bars": 3,
        "tunes_all_correct": pytest.approx(2 / 3),
    }
    assert report["near_copy_rate"] == pytest.approx(1 / 3) and report["longest_run"]["max"] == 8
    assert report["pitch_class"]["corpus_self_overlap"] == pytest.approx(
        features.overlap(distributions([GOOD])["pitch_class"], distributions(TRAINING)["pitch_class"])
    )


def test_the_summary_sets_the_form_beside_the_held_out_tunes() -> None:
    whole = "X:8\nT:Whole\nM:3/4\nL:1/4\nK:G\n|:GAB|c2d|e2d|B2G|A2B|c2A|B2A|G3:|"
    ref = Reference(TRAINING, [whole])
    report, checks = evaluate([GOOD, whole], ref, None)
    assert checks[0].form is not None and checks[0].form.bars == 4  # d| B2c | d2e | f3 | g3: a pick-up, 4 bars
    form, held = report["form"], report["form_held_out"]
    assert form["at_least_8_bars"] == 0.5 and held["at_least_8_bars"] == 1.0
    assert form["badges"]["short"] == 0.5 and held["no_form_badge"] == 1.0
    assert form["ends_on_tonic"] == 1.0 and form["regular_parts"] == 1.0  # both end on G; 4 and 8 bars are regular


@pytest.mark.slow  # music21's import and first parse take several seconds
def test_music21_parse_check_on_a_good_and_a_broken_tune() -> None:
    check = music21_check(timeout=20)
    assert check(GOOD) == ("", ())
    error, repairs = check(UNCLOSED_CHORD)
    assert "unclosed chord" in error and repairs == ()
    cut_off = "X:5\nT:Cut off\nM:3/4\nL:1/4\nK:G\nd|B2 c|d2 [B"
    error, repairs = check(cut_off)
    assert error == "" and any("unfinished chord" in r for r in repairs)
    report, _ = evaluate([GOOD, UNCLOSED_CHORD, cut_off], Reference(TRAINING, [GOOD]), check)
    assert report["parse_rate"] == pytest.approx(1 / 3) and report["playable_rate"] == pytest.approx(2 / 3)


def test_generated_batches_beyond_the_cap_continue_the_first_batch(tiny_checkpoint: Checkpoint) -> None:
    cfg = SampleConfig(length=12, rng=5)
    gen = Generator(tiny_checkpoint)
    tunes = generate(gen, cfg, MAX_CANDIDATES + 3)
    first = gen.generate(cfg.replace(n=MAX_CANDIDATES))
    assert len(tunes) == MAX_CANDIDATES + 3
    assert [t for t, _ in tunes[:MAX_CANDIDATES]] == [t.abc.strip() for t in first]
    assert tunes == generate(gen, cfg, MAX_CANDIDATES + 3)


def test_fit_reports_both_models_on_the_held_out_tunes(tiny_checkpoint: Checkpoint) -> None:
    result = fit(tiny_checkpoint, TINY_TUNES[:5], TINY_TUNES[5:])
    assert result["tunes"] == 1 and result["chars"] == len(TINY_TUNES[5]) + 2
    assert result["lstm_nats"] > 0 and result["ngram_nats"] > 0
    assert result["ratio"] == pytest.approx(result["lstm_nats"] / result["ngram_nats"])


def test_evaluate_files_as_json(
    run_musicgen: Run, write_abc: Callable[..., Path], tiny_abc: Path, tiny_checkpoint: Checkpoint
) -> None:
    path = write_abc(GOOD + "\n\n" + NO_TITLE_BAD_METER + "\n", "judged.abc")
    result = run_musicgen(
        "evaluate", path, "--weights", tiny_checkpoint.path, "--train-data", tiny_abc, "--no-parse", "--json"
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["summary"]["tunes"] == 2 and out["summary"]["header_rate"] == 0.5
    assert out["summary"]["ended_rate"] is None and "fit" in out["summary"]
    assert [t["abc"] for t in out["tunes"]] == [GOOD, NO_TITLE_BAD_METER]
    assert out["tunes"][0]["form"]["bars"] == 4 and out["tunes"][0]["form"]["warnings"] == ["only 4 bars"]
    assert out["summary"]["form"]["tunes"] == 2 and out["summary"]["form_held_out"]["tunes"] == 1


def test_evaluate_generated_tunes_as_a_table(
    run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint, tmp_path: Path
) -> None:
    out = tmp_path / "judged.abc"
    result = run_musicgen(
        "evaluate",
        "--n",
        "4",
        "--length",
        "40",
        "--rng",
        "3",
        "--weights",
        tiny_checkpoint.path,
        "--train-data",
        tiny_abc,
        "--no-fit",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("4 tunes from") and "rng 3" in result.stdout
    rows = ("parses as written (music21)", "inner bars correct", "near-copies", "pitch-class overlap")
    for row in (*rows, "held-out tunes", "bars per tune as written", "last melody note on the tonic"):
        assert row in result.stdout
    assert out.read_text().count("\n\n") == 4


def test_constrained_is_passed_to_the_generator(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    result = run_musicgen(
        "evaluate",
        "--n",
        "2",
        "--length",
        "30",
        "--constrained",
        "--weights",
        tiny_checkpoint.path,
        "--train-data",
        tiny_abc,
        "--no-fit",
        "--no-parse",
        "--json",
    )
    if result.returncode == 0:
        assert json.loads(result.stdout)["settings"]["constrained"] is True
    else:  # a generator without meter-aware decoding says so in one line
        assert result.returncode == 2 and "meter-aware" in result.stderr and "Traceback" not in result.stderr


def test_bad_n_is_one_line(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    result = run_musicgen("evaluate", "--n", "0", "--weights", tiny_checkpoint.path, "--train-data", tiny_abc)
    assert result.returncode == 2 and result.stderr.startswith("error: --n must be")


def test_a_title_the_generator_filled_in_is_no_title() -> None:
    untitled = GOOD.replace("T:Good", "T:Untitled")
    ref = Reference(TRAINING, [GOOD])
    _, generated = evaluate([untitled], ref, None, ended=[True])
    _, from_file = evaluate([untitled], ref, None)
    assert generated[0].header_problems == ["no T: (the generator wrote 'Untitled')"]
    assert from_file[0].header_problems == []
