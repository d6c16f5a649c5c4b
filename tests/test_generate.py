"""``musicgen generate``: files written, byte-identical reruns, --help, bad input, and no TensorFlow.

Runs the real command in a subprocess (``run_musicgen``) on a tiny random-weight checkpoint.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from musicgen.model.checkpoint import Checkpoint

Run = Callable[..., subprocess.CompletedProcess]

OPTIONS = [
    "--n",
    "--length",
    "--temperature",
    "--top-k",
    "--top-p",
    "--key",
    "--meter",
    "--unit-length",
    "--tune-type",
    "--form",
    "--primer",
    "--seed-char",
    "--rng",
    "--constrained",
    "--out",
    "--sound",
    "--weights",
]


def test_writes_one_file_per_tune_and_reruns_are_byte_identical(
    run_musicgen: Run, tmp_path: Path, tiny_checkpoint: Checkpoint
) -> None:
    primer = tmp_path / "start.abc"
    primer.write_text("X:3\nT:Start\nK:G\n|:GAB", encoding="utf-8")
    args = [
        "generate",
        "--n",
        "10",
        "--length",
        "600",
        "--temperature",
        "0.9",
        "--key",
        "G",
        "--meter",
        "6/8",
        "--rng",
        "7",
        "--seed-char",
        "X",
        "--primer",
        primer,
        "--weights",
        tiny_checkpoint.path,
        "--sound",
        "none",
    ]
    outs = []
    for name in ("a", "b", "c"):
        rng = ["--rng", "8"] if name == "c" else []
        result = run_musicgen(*args, *rng, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr
        outs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert sorted(outs[0]) == [f"tune_{i:02d}.abc" for i in range(1, 11)]
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]
    for data in outs[0].values():
        assert data.startswith(b"X:3\nT:Start\nM:6/8\nK:G\n|:GAB")
    assert len(result.stderr.strip().split("\n")) == 10  # one summary line per file


def test_prints_the_tunes_without_out(run_musicgen: Run, tiny_checkpoint: Checkpoint) -> None:
    result = run_musicgen(
        "generate",
        "--n",
        "3",
        "--length",
        "100",
        "--tune-type",
        "reel",
        "--key",
        "D",
        "--weights",
        tiny_checkpoint.path,
    )
    assert result.returncode == 0, result.stderr
    tunes = result.stdout.split("\n\n")
    assert len(tunes) == 3 and all(t.startswith("X:1\nT:") and "\nM:4/4\nR:Reel\nK:D\n" in t for t in tunes)


def test_help_explains_every_option(run_musicgen: Run) -> None:
    result = run_musicgen("generate", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in OPTIONS:
        assert option in text
    for words in (
        "how adventurous",
        "the key",
        "time signature",
        "random seed",
        "carry on from",
        "likeliest",
        "the kind of tune",
        "one file each",
        "two 8-bar parts, each repeated",
    ):
        assert words in text


def test_bad_input_is_one_line_and_names_the_problem(
    run_musicgen: Run, tmp_path: Path, tiny_checkpoint: Checkpoint
) -> None:
    primer = tmp_path / "accents.abc"
    primer.write_text("X:1\nT:Caf\xe9\nK:G\n", encoding="utf-8")
    cases = [
        (["--length", "0"], "length must be a whole number from 1 to 5,000"),
        (["--length", str(10**9)], "length must be a whole number from 1 to 5,000"),
        (["--primer", primer], "the primer: 1 character(s) the model does not know: '\xe9'"),
        (["--primer", tmp_path / "missing.abc"], "missing.abc"),
        (["--meter", "7/5"], "meter '7/5' is not an ABC meter"),
        (["--form", "AB", "--length", "300"], "A tune of the form AB (two 16-bar parts) takes about 540 characters"),
        (["--weights", tmp_path / "nowhere"], "no weights folder"),
    ]
    for extra, words in cases:
        result = run_musicgen("generate", "--weights", tiny_checkpoint.path, *extra)
        lines = result.stderr.strip().split("\n")
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert words in lines[0]
    assert not list(tmp_path.glob("tune_*"))


def test_generation_never_imports_tensorflow(tiny_checkpoint: Checkpoint) -> None:
    check = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            f"from musicgen.cli import main; main(['generate', '--length', '30', '--weights', '{tiny_checkpoint.path}'])",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    imported = [line.split("|")[-1].strip() for line in check.stderr.splitlines() if line.startswith("import time:")]
    assert check.returncode == 0 and "musicgen.compose.sample" in imported and "numpy" in imported
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras", "music21")]


def test_meter_aware_by_default_and_free_on_request(
    run_musicgen: Run, tmp_path: Path, tiny_checkpoint: Checkpoint
) -> None:
    """A random-weight model keeps every bar to the meter only when writing meter-aware (the default)."""
    from musicgen.abcnotation import rhythm

    args = [
        "generate",
        "--n",
        "6",
        "--length",
        "300",
        "--meter",
        "6/8",
        "--key",
        "D",
        "--rng",
        "3",
        "--weights",
        tiny_checkpoint.path,
        "--sound",
        "none",
    ]
    for flag, name in (([], "aware"), (["--no-constrained"], "free")):
        result = run_musicgen(*args, *flag, "--out", tmp_path / name)
        assert result.returncode == 0, result.stderr
        assert "Meter-aware writing was off" not in result.stderr  # nothing in the way: no note either way
    aware = [rhythm.analyse(p.read_text()) for p in sorted((tmp_path / "aware").iterdir())]
    free = [rhythm.analyse(p.read_text()) for p in sorted((tmp_path / "free").iterdir())]
    assert all(r.all_inner_correct for r in aware)
    assert not all(r.all_inner_correct for r in free)


def test_says_when_the_primer_leaves_meter_aware_writing_off(
    run_musicgen: Run, tmp_path: Path, tiny_checkpoint: Checkpoint
) -> None:
    primer = tmp_path / "slur.abc"
    primer.write_text("X:1\nT:Slurred\nM:6/8\nK:D\n(DFA) d2B|")
    result = run_musicgen("generate", "--primer", primer, "--length", "20", "--weights", tiny_checkpoint.path)
    assert result.returncode == 0, result.stderr
    assert "note: Meter-aware writing was off: the primer has a bar that does not add up, or something" in result.stderr
