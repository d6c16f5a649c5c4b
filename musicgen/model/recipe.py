"""The parts of a training recipe that are not the network: each epoch's text, windows and learning rate.

- **Augmentation** (``TrainConfig.augment``): every epoch each training tune is transposed by a
  number of semitones drawn from ``-augment..+augment`` for that (seed, epoch, tune), with the
  project's own transposer (:func:`musicgen.abcnotation.transpose.transpose_tune`), so an epoch
  holds as many tunes as the corpus and the model meets every tune in many keys over a run.
  The vocabulary covers every transposition (:func:`augmented_vocab`).
- **Windows** (``TrainConfig.windows``): contiguous stateful streams or shuffled independent
  chunks (:mod:`musicgen.data.dataset`).
- **Learning rate** (``TrainConfig.schedule``): "plateau" keeps the rate of the epoch (the trainer
  multiplies it by ``lr_decay`` after an epoch without a better val loss); "cosine" warms up
  linearly for ``warmup_steps`` batches and then falls along a cosine to 0 at the last epoch.
- **Checkpoint averaging** (:func:`average`): the mean of the last epochs' weights, often a little
  better than any one of them late in a run.
- **Fresh-state score** (:func:`fresh_state_score`): nats/char of tunes each scored from a zeroed
  state on the NumPy engine, the very figure ``musicgen score`` prints, so runs of different
  window layouts are compared on one measure.

Everything depends on (seed, epoch) alone, so a resumed run repeats a straight one exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data import dataset
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint

EPOCHS_DIR = "epochs"  # a checkpoint's sub-folder for the weights kept after chosen epochs (--keep-epochs)


class VocabularyError(ValueError):
    """The tunes to fine-tune on use characters the starting model has never seen."""


def shifts(n_tunes: int, cfg: TrainConfig, epoch: int) -> np.ndarray:
    """Semitones each tune of an epoch is moved by: ``augment_share`` of them by 1 to ``augment`` semitones
    either way, the rest by 0 (all 0 without augmentation).

    >>> shifts(4, TrainConfig(), 1).tolist(), shifts(6, TrainConfig(augment=5, augment_share=1.0), 1).tolist()
    ([0, 0, 0, 0], [3, -5, -2, -2, -3, -5])
    """
    if not cfg.augment:
        return np.zeros(n_tunes, dtype=np.int64)
    rng = np.random.default_rng([cfg.seed, epoch, 2])
    size = rng.integers(1, cfg.augment + 1, n_tunes) * rng.choice([-1, 1], n_tunes)
    return np.where(rng.random(n_tunes) < cfg.augment_share, size, 0)


def transposed(tune: str, semitones: int) -> str:
    """``tune`` moved by ``semitones``, or unchanged where the transposer cannot move it (K:none, say)."""
    if not semitones:
        return tune
    from musicgen.abcnotation.transpose import TransposeError, transpose_tune  # only when augmenting

    try:
        return transpose_tune(tune, int(semitones))
    except TransposeError:
        return tune


def epoch_tunes(tunes: Sequence[str], cfg: TrainConfig, epoch: int) -> list[str]:
    """The training tunes of one epoch: each in its drawn key (the tunes themselves without augmentation)."""
    if not cfg.augment:
        return list(tunes)
    return [transposed(t, s) for t, s in zip(tunes, shifts(len(tunes), cfg, epoch))]


def augmented_vocab(tunes: Sequence[str], augment: int) -> Vocab:
    """The characters of ``tunes`` and of every transposition augmentation can draw."""
    chars: set[str] = set().union(*tunes)
    for s in range(-augment, augment + 1):
        if s:
            chars.update(*(transposed(t, s) for t in tunes))
    return Vocab.from_text("".join(chars))


def windows(
    tunes: dataset.EncodedTunes, order: np.ndarray | None, cfg: TrainConfig, epoch: int
) -> dataset.Streams | dataset.Chunks:
    """The batches of one pass, laid out as ``cfg.windows`` says."""
    if cfg.windows == "chunks":
        return dataset.Chunks(tunes, order, cfg.batch_size, cfg.seq_len, cfg.seed, epoch)
    return dataset.Streams(tunes, order, cfg.batch_size, cfg.seq_len)


def learning_rate(cfg: TrainConfig, epoch_rate: float, epoch: int, step: int, steps_per_epoch: int) -> float:
    """The rate of batch ``step`` (1-based) of ``epoch``.

    >>> cfg = TrainConfig(schedule="cosine", warmup_steps=10, epochs=2, learning_rate=1e-3)
    >>> [round(learning_rate(cfg, 1e-3, e, s, 100), 6) for e, s in ((1, 1), (1, 10), (2, 1), (2, 100))]
    [0.0001, 0.000995, 0.000496, 0.0]
    >>> learning_rate(TrainConfig(), 5e-4, 3, 7, 100)  # plateau: the epoch's rate
    0.0005
    """
    if cfg.schedule != "cosine":
        return epoch_rate
    done = (epoch - 1) * steps_per_epoch + step
    warm = min(1.0, done / cfg.warmup_steps) if cfg.warmup_steps else 1.0
    progress = min(1.0, (done - 1) / max(1, cfg.epochs * steps_per_epoch - 1))
    return cfg.learning_rate * warm * 0.5 * (1.0 + math.cos(math.pi * progress))


def fresh_state_score(ckpt: Checkpoint, tunes: Sequence[str]) -> float:
    """Nats/char of ``tunes`` under ``ckpt``, each from a zeroed state (``musicgen score``'s figure)."""
    from musicgen.model.engine import Engine

    scored = Engine(ckpt).log_likelihood(tunes)
    return -sum(s for s, _ in scored) / max(1, sum(n for _, n in scored))


def start_from(init: str | Path | None, tunes: Sequence[str], cfg: TrainConfig) -> Checkpoint | None:
    """The checkpoint to fine-tune from (None: train from scratch), checked against the data: every
    character of the tunes, and of their transpositions under augmentation, must be in its vocabulary."""
    if init is None:
        return None
    start = checkpoint.load(init)
    used = set(augmented_vocab(tunes, cfg.augment).chars) if cfg.augment else set().union(*tunes)
    lacking = sorted(used - set(start.vocab.chars))
    if lacking:
        shown = ", ".join(repr(c) for c in lacking[:20]) + (" ..." if len(lacking) > 20 else "")
        raise VocabularyError(
            f"the tunes use {len(lacking)} character(s) the model in {init} has never seen ({shown}); "
            "a fine-tuned model keeps its vocabulary: remove those characters, or train a new model without --init"
        )
    return start


def keep_for_average(run_dir: Path, epoch: int, weights: dict[str, np.ndarray], n: int) -> None:
    """Keep the weights of the last ``n`` epochs in ``run_dir`` (``mean-NNNN.npz``) for :func:`average`."""
    if n < 2:
        return
    np.savez(run_dir / f"mean-{epoch:04d}.npz", **weights)
    for old in sorted(run_dir.glob("mean-*.npz"))[:-n]:
        old.unlink()


def average(
    run_dir: Path, n: int, vocab: Vocab, model: ModelConfig, val_tunes: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """The mean of the weights kept by :func:`keep_for_average` and its val score; None with fewer than 2."""
    files = sorted(run_dir.glob("mean-*.npz"))[-n:] if n >= 2 else []
    if len(files) < 2:
        return None
    total: dict[str, np.ndarray] = {}
    for f in files:
        with np.load(f) as npz:
            for name in npz.files:
                total[name] = total.get(name, 0.0) + npz[name].astype(np.float64)
    weights = {name: (w / len(files)).astype(np.float32) for name, w in total.items()}
    epochs = [int(f.stem.split("-")[1]) for f in files]
    return weights, {"epochs": epochs, "val_score": fresh_state_score(Checkpoint(weights, vocab, model), val_tunes)}
