"""The ``musicgen`` command on bad input: exit code 2 and ONE line ``error: ...`` saying what is wrong
and what to do, never a traceback. Run as a real subprocess, so anything printed on import counts too."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO_ROOT, TINY_TUNES

from musicgen.cli import COMMANDS
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


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_is_one_module_of_the_cli_folder(command: str) -> None:
    module = importlib.import_module(COMMANDS[command][0])
    assert module.__name__ == f"musicgen.cli.{command}"
    assert callable(module.add_arguments) and callable(module.run)


def test_argparse_stays_in_the_cli_folder() -> None:
    package = REPO_ROOT / "musicgen"
    users = []
    for path in sorted(package.rglob("*.py")):
        if path.parent == package / "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if "argparse" in names:
                users.append(str(path.relative_to(REPO_ROOT)))
    assert users == [], "the library takes plain arguments; the command line lives in musicgen/cli/"


def test_a_weights_variable_naming_nothing_is_one_line(
    run_musicgen: Run, tiny_abc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSICGEN_WEIGHTS", str(tmp_path / "gone"))
    line = one_line_error(run_musicgen("score", tiny_abc))
    assert f"no weights folder at {tmp_path / 'gone'} (named by MUSICGEN_WEIGHTS)" in line


def test_train_runs_as_python_dash_m(run_musicgen: Run, tmp_path: Path) -> None:
    line = one_line_error(run_musicgen("train", tmp_path / "none.abc", "--out", tmp_path / "out"))
    assert "none.abc: no such file or folder" in line
