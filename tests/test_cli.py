"""The ``musicgen`` command on bad input: exit code 2 and ONE line ``error: ...`` saying what is wrong
and what to do, never a traceback. Run as a real subprocess, so anything printed on import counts too."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import TINY_TUNES

from musicgen.data.vocab import Vocab
from musicgen.model.checkpoint import Checkpoint

Run = Callable[..., subprocess.CompletedProcess]

# A well-formed tune whose title has an e-acute (U+00E9), outside the tiny model's vocabulary.
TUNE_WITH_E_ACUTE = "X:1\nT:Valse d'\xe9t\xe9\nM:3/4\nK:G\nG2 B|d3|]\n"


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The single error line of a failed command (asserting there is exactly one and no traceback)."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_unknown_character_in_a_scored_file(
    run_musicgen: Run, write_abc: Callable[..., Path], tiny_checkpoint: Checkpoint
) -> None:
    path = write_abc(TUNE_WITH_E_ACUTE, "summer.abc")
    line = one_line_error(run_musicgen("score", path, "--weights", tiny_checkpoint.path))
    assert "tune X:1: 1 character(s) the model does not know: '\xe9' (U+00E9) at position 14" in line
    assert line.endswith("remove or replace them")


@pytest.mark.parametrize(
    ("content", "name"),
    [
        ("", "empty.abc"),
        ("<html><body>Not music</body></html>\n", "page.abc"),
        (bytes(range(256)) * 4, "noise.abc"),
    ],
)
def test_empty_or_non_abc_file(
    run_musicgen: Run, write_abc: Callable[..., Path], tiny_checkpoint: Checkpoint, content: str | bytes, name: str
) -> None:
    path = write_abc(content, name)
    line = one_line_error(run_musicgen("score", path, "--weights", tiny_checkpoint.path))
    assert f"no ABC tunes in {path}" in line and "give files in ABC notation" in line


def test_missing_weights_folder(run_musicgen: Run, tiny_abc: Path, tmp_path: Path) -> None:
    line = one_line_error(run_musicgen("score", tiny_abc, "--weights", tmp_path / "no-such-model"))
    assert "no weights folder at" in line and "no-such-model" in line and "give --weights a folder" in line


def test_mismatched_weights_folder(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    Vocab.from_text("".join(TINY_TUNES) + "\xe9").save(tiny_checkpoint.path / "vocab.json")  # one char more
    line = one_line_error(run_musicgen("score", tiny_abc, "--weights", tiny_checkpoint.path))
    assert "the files come from different models" in line and "train again" in line


def test_incomplete_weights_folder(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    (tiny_checkpoint.path / "weights.npz").unlink()
    line = one_line_error(run_musicgen("score", tiny_abc, "--weights", tiny_checkpoint.path))
    assert "not a complete checkpoint (missing weights.npz)" in line


def test_missing_input_file(run_musicgen: Run, tmp_path: Path, tiny_checkpoint: Checkpoint) -> None:
    line = one_line_error(run_musicgen("score", tmp_path / "typo.abc", "--weights", tiny_checkpoint.path))
    assert "typo.abc: no such file or folder" in line


def test_score_prints_both_models(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    result = run_musicgen("score", tiny_abc, "--weights", tiny_checkpoint.path, "--train-data", tiny_abc)
    assert result.returncode == 0, result.stderr
    assert "LSTM" in result.stdout and "5-gram Kneser-Ney" in result.stdout and "nats/char" in result.stdout


def test_usage_errors_come_from_argparse(run_musicgen: Run) -> None:
    result = run_musicgen("compose")
    assert result.returncode == 2 and "invalid choice: 'compose'" in result.stderr
    result = run_musicgen("score")
    assert result.returncode == 2 and "required: files" in result.stderr


def test_config_json_is_checked_too(run_musicgen: Run, tiny_abc: Path, tiny_checkpoint: Checkpoint) -> None:
    assert tiny_checkpoint.path is not None
    config = tiny_checkpoint.path / "config.json"
    config.write_text(json.dumps(dict(json.loads(config.read_text()), format=7)))
    line = one_line_error(run_musicgen("score", tiny_abc, "--weights", tiny_checkpoint.path))
    assert "checkpoint format 7, expected 1" in line
