"""Shared fixtures for the test suite.

Data, in order of preference:

- tunes written in the test files themselves (named constants saying what each exercises);
- ``nottingham_dir``: the Nottingham Music Database (cleaned ABC) in ``../shared/data/nottingham``,
  read from there and never copied into the project; tests that need it are skipped when it is absent;
- ``tiny_checkpoint``: a random-weight checkpoint of a tiny network (no TensorFlow, milliseconds).

Helpers: ``write_abc`` writes ABC text into a file under ``tmp_path``; ``run_musicgen`` runs the
real ``musicgen`` command in a subprocess and returns its exit code, stdout and stderr. For the browser
tests (``tests/browser_harness.py`` holds their helpers): ``app_url``, the app served on 127.0.0.1 for a
test module, and ``browser``, headless Chromium.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import settings

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint

# Property tests draw the same examples on every run, so CI is repeatable; a failure seen once is
# a failure every time. HYPOTHESIS_PROFILE=explore draws fresh random examples (more of them) to
# look for new failures; fix what it finds and keep the case as a named example.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

REPO_ROOT = Path(__file__).resolve().parent.parent
NOTTINGHAM = REPO_ROOT.parent / "shared" / "data" / "nottingham"

# The smallest network the code accepts in spirit: 8-dim embedding, one LSTM of 8 units, no dropout.
TINY_MODEL = ModelConfig(embedding_dim=8, lstm_units=8, lstm_layers=1, dropout=0.0)

# Six short, well-formed tunes in different meters and keys (a few hundred characters in all):
# enough for a train/val split by tune and for a couple of tiny training epochs.
TINY_TUNES = [
    'X:1\nT:Jig in G\nM:6/8\nL:1/8\nK:G\nD|"G"GAB "D"AGF|"G"G3 G2:|',
    'X:2\nT:Reel in D\nM:4/4\nL:1/8\nK:D\n"D"A2FA dAFA|"G"B2GB "A"AFED|',
    'X:3\nT:Waltz in C\nM:3/4\nL:1/4\nK:C\n"C"c2 e|"G7"d2 B|"C"c3|]',
    'X:4\nT:Hornpipe in A\nM:4/4\nL:1/8\nK:A\n(3efg|"A"a2ec A2ce|"E"dcBA GABc|',
    'X:5\nT:Slip jig in Em\nM:9/8\nL:1/8\nK:Em\n"Em"E2B B2A B2c|"D"d2A A2G F2D:|',
    'X:6\nT:Polka in F\nM:2/4\nL:1/8\nK:F\n"F"FA cA|"C"G2 E2|"F"F2 F2|]',
]


@pytest.fixture(scope="session")
def nottingham_root() -> Path:
    """The folder of the original Nottingham ABC files (skips the test when it is absent)."""
    if not (NOTTINGHAM / "ABC_cleaned").is_dir():
        pytest.skip(f"the Nottingham data is not at {NOTTINGHAM}")
    return NOTTINGHAM


@pytest.fixture(scope="session")
def nottingham_dir(nottingham_root: Path) -> Path:
    """The cleaned Nottingham ABC files (the training set), read-only (skips when absent)."""
    return nottingham_root / "ABC_cleaned"


@pytest.fixture
def write_abc(tmp_path: Path) -> Callable[..., Path]:
    """A function ``write_abc(text, name="tunes.abc") -> Path`` writing text (str) or bytes under tmp_path."""

    def write(text: str | bytes, name: str = "tunes.abc") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def tiny_abc(write_abc: Callable[..., Path]) -> Path:
    """A file holding TINY_TUNES, each followed by a blank line."""
    return write_abc("".join(t + "\n\n" for t in TINY_TUNES), "tiny.abc")


def make_checkpoint(
    directory: Path,
    model: ModelConfig = TINY_MODEL,
    vocab: Vocab | None = None,
    seed: int = 0,
    metrics: dict | None = None,
) -> Checkpoint:
    """Save a random-weight checkpoint at ``directory`` and return it as loaded back.

    The vocabulary defaults to that of TINY_TUNES (printable ASCII and newline).
    """
    vocab = vocab or Vocab.from_text("".join(TINY_TUNES))
    rng = np.random.default_rng(seed)
    weights = {
        name: rng.normal(0.0, 0.3, size=shape).astype(np.float32)
        for name, shape in checkpoint.weight_shapes(model, len(vocab)).items()
    }
    checkpoint.save(directory, weights, vocab, model, TrainConfig(batch_size=2, seq_len=8), metrics)
    return checkpoint.load(directory)


@pytest.fixture
def tiny_checkpoint(tmp_path: Path) -> Checkpoint:
    """A random-weight checkpoint of TINY_MODEL saved in ``tmp_path / "tiny-weights"`` (its ``.path``).

    Its metrics record no training data, so commands that need the training tunes
    (the n-gram baseline of ``musicgen score``) must be given ``--train-data``.
    """
    return make_checkpoint(tmp_path / "tiny-weights")


@pytest.fixture
def run_musicgen() -> Callable[..., subprocess.CompletedProcess[str]]:
    """A function ``run_musicgen(*args, cwd=REPO_ROOT, timeout=120)`` running ``python -m musicgen ARGS`` in
    ``cwd`` (the repo root by default); a hang past ``timeout`` fails the test (TimeoutExpired)."""

    def run(*args: str | Path, cwd: Path = REPO_ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=str(REPO_ROOT))
        return subprocess.run(
            [sys.executable, "-m", "musicgen", *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app served headless on 127.0.0.1 (a free port, the shipped weights) for one test module."""
    from browser_harness import serve_app  # the browser tests' helpers: imported only where they run

    with serve_app() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium (browser_harness.launch_chromium) for one test module."""
    from browser_harness import launch_chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def code_blocks(at) -> list[str]:  # type: ignore[no-untyped-def]
    """The texts of the page's code blocks (musicgen.app.text.code_html), in page order: the ABC text, the permalink."""
    from musicgen.app.text import code_text

    return [t for t in (code_text(h.value) for h in at.html) if t is not None]
