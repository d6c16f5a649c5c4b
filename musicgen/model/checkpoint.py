"""The one self-describing artifact: a folder that ``load(dir)`` needs nothing beside.

A checkpoint folder holds

``weights.npz``    the network's weights by name (see :mod:`musicgen.model.network`), no optimizer state
``vocab.json``     the character vocabulary
``config.json``    ``{"model": ModelConfig, "train": TrainConfig | null, "format": 1}``
``metrics.json``   what training measured (optional: loss history, val loss, time, data)

It is written into a temporary sibling folder and renamed into place, so a
killed writer never leaves a half-written checkpoint under the real name.
Reading it needs NumPy only (no TensorFlow). Every problem raises
:class:`CheckpointError` with a sentence saying what is wrong and what to do.

``load()`` without a folder finds the model to use (:func:`default_weights`), first found wins:

1. ``$MUSICGEN_WEIGHTS``, when set (then nothing else: a mistyped folder must not
   quietly play another model);
2. ``./weights/nottingham`` under the working directory (a clone, or a model of your own by that name);
3. the shipped model: ``musicgen/weights/nottingham`` inside the installed package
   (the wheel carries it), or ``weights/nottingham`` of the source tree this package runs from.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data.vocab import Vocab

FORMAT = 1
FILES = ("weights.npz", "vocab.json", "config.json")
ENV_VAR = "MUSICGEN_WEIGHTS"
SHIPPED = Path("weights") / "nottingham"  # the shipped model, relative to a project folder
_PACKAGE = Path(__file__).resolve().parents[1]  # the musicgen package folder
# The project folder (pyproject.toml beside the package) when running from a clone; None when installed.
SOURCE_TREE: Path | None = _PACKAGE.parent if (_PACKAGE.parent / "pyproject.toml").is_file() else None


class CheckpointError(RuntimeError):
    """A checkpoint folder is missing, incomplete, corrupt or inconsistent."""


@dataclass(frozen=True)
class Checkpoint:
    """Everything needed to run a trained model."""

    weights: dict[str, np.ndarray]
    vocab: Vocab
    model: ModelConfig
    train: TrainConfig | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def n_params(self) -> int:
        return int(sum(w.size for w in self.weights.values()))


def weight_shapes(cfg: ModelConfig, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of every named weight of a model with this config and vocabulary size.

    >>> weight_shapes(ModelConfig(embedding_dim=4, lstm_units=3, lstm_layers=1), 5)["lstm_0/kernel"]
    (4, 12)
    """
    shapes: dict[str, tuple[int, ...]] = {"embedding": (vocab_size, cfg.embedding_dim)}
    n_in = cfg.embedding_dim
    for i in range(cfg.lstm_layers):
        u = cfg.lstm_units
        shapes[f"lstm_{i}/kernel"] = (n_in, 4 * u)
        shapes[f"lstm_{i}/recurrent_kernel"] = (u, 4 * u)
        shapes[f"lstm_{i}/bias"] = (4 * u,)
        n_in = u
    shapes["dense/kernel"] = (n_in, vocab_size)
    shapes["dense/bias"] = (vocab_size,)
    return shapes


def save(
    directory: str | Path,
    weights: dict[str, np.ndarray],
    vocab: Vocab,
    model: ModelConfig,
    train: TrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint folder atomically (replacing an existing one) and return its path."""
    directory = Path(directory)
    _check_shapes(weights, model, len(vocab), directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a shipped checkpoint is readable by all
    try:
        np.savez(tmp / "weights.npz", **{k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
        vocab.save(tmp / "vocab.json")
        config = {"format": FORMAT, "model": model.to_dict(), "train": train.to_dict() if train else None}
        (tmp / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(metrics or {}, indent=2), encoding="utf-8")
        old = None
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
        tmp.rename(directory)
        if old is not None:
            _keep_extra_files(old, directory)
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _keep_extra_files(old: Path, new: Path) -> None:
    """Carry over files we did not write (a model card, a plot) when replacing a checkpoint."""
    for f in old.iterdir():
        if f.is_file() and not (new / f.name).exists():
            shutil.copy2(f, new / f.name)


def shipped_weights() -> Path:
    """The shipped model's folder: inside the installed package, else in the source tree (which may lack it)."""
    installed = _PACKAGE / "weights" / SHIPPED.name
    if _present(installed) or SOURCE_TREE is None:
        return installed
    return SOURCE_TREE / SHIPPED


def weight_places(env: dict[str, str] | None = None, cwd: Path | None = None) -> list[Path]:
    """Where :func:`default_weights` looks, in order (``env`` and ``cwd`` default to the process's own).

    >>> [str(p) for p in weight_places({ENV_VAR: "/models/mine"})]  # set: the only place
    ['/models/mine']
    >>> str(weight_places({ENV_VAR: ""}, Path("/work"))[0])  # unset (or empty): the working directory's first
    '/work/weights/nottingham'
    """
    env = dict(os.environ) if env is None else env
    if env.get(ENV_VAR):
        return [Path(env[ENV_VAR])]
    places = [(Path.cwd() if cwd is None else cwd) / SHIPPED, shipped_weights()]
    return list(dict.fromkeys(p.absolute() for p in places))  # a clone's cwd is also its source tree


def default_weights(env: dict[str, str] | None = None, cwd: Path | None = None) -> Path:
    """The first of :func:`weight_places` that holds a folder; CheckpointError naming them all if none does."""
    places = weight_places(env, cwd)
    for place in places:
        if _present(place):
            return place
    env = dict(os.environ) if env is None else env
    if env.get(ENV_VAR):
        raise CheckpointError(
            f"no weights folder at {places[0]} (named by {ENV_VAR}): set {ENV_VAR} to a folder written by "
            "'musicgen train', or unset it to use the shipped model"
        )
    raise CheckpointError(
        f"no trained model found ({ENV_VAR} is unset; looked in {', '.join(map(str, places))}): "
        f"give --weights or set {ENV_VAR} to a folder written by 'musicgen train'"
    )


def _present(directory: Path) -> bool:
    """A checkpoint folder is there, or the one a killed save left renamed (``load`` restores it)."""
    return directory.is_dir() or directory.with_name(f".{directory.name}.old").is_dir()


def load(directory: str | Path | None = None) -> Checkpoint:
    """Load a checkpoint folder (default: :func:`default_weights`, usually the shipped Nottingham model)."""
    directory = Path(directory) if directory is not None else default_weights()
    old = directory.with_name(f".{directory.name}.old")
    if not directory.exists() and old.is_dir():  # a save was killed between its two renames
        old.rename(directory)
    if not directory.is_dir():
        raise CheckpointError(f"no weights folder at {directory}: give --weights a folder written by 'musicgen train'")
    missing = [f for f in FILES if not (directory / f).is_file()]
    if missing:
        raise CheckpointError(
            f"{directory} is not a complete checkpoint (missing {', '.join(missing)}); "
            "train again or restore the folder"
        )
    try:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("format") != FORMAT:
            raise CheckpointError(f"{directory}: checkpoint format {config.get('format')!r}, expected {FORMAT}")
        model = ModelConfig.from_dict(config["model"])
        train = TrainConfig.from_dict(config["train"]) if config.get("train") else None
        vocab = Vocab.load(directory / "vocab.json")
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{directory}: config.json or vocab.json is unreadable ({e}); train again") from e
    try:
        with np.load(directory / "weights.npz", allow_pickle=False) as npz:
            weights = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(f"{directory}/weights.npz is corrupt ({e}); train again or restore it") from e
    _check_shapes(weights, model, len(vocab), directory)
    metrics: dict[str, Any] = {}
    if (directory / "metrics.json").is_file():
        try:
            metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
        except ValueError:
            metrics = {}  # metrics are informative only; a damaged file must not stop the model
    return Checkpoint(weights, vocab, model, train, metrics, directory)


def _check_shapes(weights: dict[str, np.ndarray], cfg: ModelConfig, vocab_size: int, where: Path) -> None:
    expected = weight_shapes(cfg, vocab_size)
    if set(weights) != set(expected):
        extra, lacking = sorted(set(weights) - set(expected)), sorted(set(expected) - set(weights))
        raise CheckpointError(
            f"{where}: weights do not match config.json (missing {lacking or 'none'}, unexpected {extra or 'none'}); "
            "the folder mixes files from different models: train again"
        )
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise CheckpointError(
                f"{where}: weight {name} has shape {tuple(weights[name].shape)} but config.json and "
                f"vocab.json ({vocab_size} characters) need {shape}: the files come from different models; "
                "train again or restore the folder"
            )


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write bytes to ``path`` through a temporary file and a rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
