"""Model fit: nats per character of a checkpoint on ABC tunes, beside a 5-gram baseline.

    musicgen score held_out.abc --weights weights/nottingham [--train-data DIR]   (musicgen.cli.score)

Both models score every tune the same way: from a fresh state that has just
seen a blank line (the end of the previous tune), counting every character of
the tune and of the blank line that ends it. The n-gram model is trained on the
checkpoint's own training tunes: the data paths and split recorded in its
metrics.json, or ``--train-data`` when the data lives elsewhere now.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from musicgen.data import corpus
from musicgen.judge.ngram import KneserNey
from musicgen.model.checkpoint import SOURCE_TREE, Checkpoint, CheckpointError
from musicgen.model.engine import Engine


@dataclass(frozen=True)
class Fit:
    """Mean negative log-likelihood per character of one model on some tunes."""

    name: str
    nats: float
    chars: int

    @property
    def bits(self) -> float:
        return self.nats / math.log(2)


def recorded_split(ckpt: Checkpoint, data: Sequence[str | Path] | None = None) -> tuple[list[str], list[str]]:
    """The (train, val) tunes of this checkpoint: its recorded data paths and split, or ``data``."""
    recorded = ckpt.metrics.get("data", {})
    paths = list(data) if data else [_find(p) for p in recorded.get("paths", [])]
    if not paths:
        raise CheckpointError("this checkpoint does not record its training data: give --train-data")
    val_fraction = ckpt.train.val_fraction if ckpt.train else 0.1
    return corpus.split_train_val(corpus.read_tunes(paths), val_fraction)


def _find(recorded: str) -> Path:
    """A recorded data path, tried as given (from the working directory) and then from the source tree."""
    for candidate in (Path(recorded), *([SOURCE_TREE / recorded] if SOURCE_TREE else [])):
        if candidate.exists():
            return candidate
    raise CheckpointError(f"the training data recorded in the checkpoint ({recorded}) is not here: give --train-data")


def model_fit(engine: Engine, tunes: Sequence[str], batch: int = 64) -> Fit:
    """The checkpoint's nats/char on ``tunes`` (run ``batch`` tunes at a time through the engine)."""
    total, chars = 0.0, 0
    texts = [t + corpus.TUNE_END for t in tunes]
    for start in range(0, len(texts), batch):
        for logp, n in engine.log_likelihood(texts[start : start + batch]):
            total, chars = total - logp, chars + n
    return Fit("LSTM", total / chars, chars)


def ngram_fit(train_tunes: Sequence[str], tunes: Sequence[str], vocab_size: int, order: int = 5) -> Fit:
    lm = KneserNey(corpus.join_tunes(train_tunes), order=order, vocab_size=vocab_size)
    results = lm.log_likelihood(t + corpus.TUNE_END for t in tunes)
    total, chars = -sum(r[0] for r in results), sum(r[1] for r in results)
    return Fit(f"{order}-gram Kneser-Ney", total / chars, chars)


def report(fits: Sequence[Fit], n_tunes: int) -> str:
    lines = [f"{n_tunes} tunes, {fits[0].chars:,} characters", f"{'model':<24}{'nats/char':>10}{'bits/char':>10}"]
    lines += [f"{f.name:<24}{f.nats:>10.4f}{f.bits:>10.4f}" for f in fits]
    if len(fits) == 2:
        ratio = fits[0].nats / fits[1].nats
        lines.append(f"LSTM / n-gram: {ratio:.3f} ({(1 - ratio) * 100:.1f}% lower)")
    return "\n".join(lines)
