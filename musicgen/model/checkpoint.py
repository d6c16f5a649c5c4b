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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data.vocab import Vocab
from musicgen.model.metrics import usable

FORMAT = 1
FILES = ("weights.npz", "vocab.json", "config.json")
ENV_VAR = "MUSICGEN_WEIGHTS"
SHIPPED = Path("weights") / "nottingham"  # the shipped model, relative to a project folder
MAX_VOCAB = 10_000  # characters: a tunebook in any script has a few hundred
MAX_JSON_BYTES = 50_000_000  # config, vocabulary, metrics: a checkpoint writes a few KB
_AGAIN = "train again or restore the folder"
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
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
    dtype: str = "float32",
) -> Path:
    """Write a checkpoint folder atomically (replacing an existing one, keeping what this does not write,
    such as a model card or ``epochs/``) and return its path. ``dtype="float16"``: half the size; load gives float32."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():  # never move a file of the user's aside
        raise CheckpointError(f"{directory} is a file, not a checkpoint folder: give a folder name")
    check_weights(weights, model, len(vocab), directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a shipped checkpoint is readable by all
    try:
        np.savez(tmp / "weights.npz", **{k: np.asarray(v, dtype=np.dtype(dtype)) for k, v in weights.items()})
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
    """Carry over what we did not write (a model card, a plot, kept epochs) when replacing a checkpoint."""
    for f in old.iterdir():
        if (new / f.name).exists():
            continue
        if f.is_file():
            shutil.copy2(f, new / f.name)
        elif f.is_dir() and not f.is_symlink():
            f.rename(new / f.name)


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
    """Load a checkpoint folder (default: :func:`default_weights`, usually the shipped Nottingham model).

    Each file is checked before the next is read, and nothing is built from one that
    fails: config.json's fields with their bounds (:class:`ModelConfig`), then the
    vocabulary's size, then every array's name, type and shape from its header (so an
    array larger than the config says is never read), then its values (NaN or infinite
    ones are refused).
    """
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
    model, train = _read_config(directory / "config.json")
    vocab = _read_vocab(directory / "vocab.json")
    weights = _read_weights(directory / "weights.npz", weight_shapes(model, len(vocab)), len(vocab))
    check_weights(weights, model, len(vocab), directory / "weights.npz")
    try:
        metrics = _read_json(directory / "metrics.json") if (directory / "metrics.json").is_file() else {}
    except CheckpointError:
        metrics = {}  # metrics are informative only; a damaged file must not stop the model
    return Checkpoint(weights, vocab, model, train, usable(metrics), directory)


def json_kind(value: Any) -> str:
    """What a JSON value is, in words.

    >>> [json_kind(v) for v in ({}, [1], "a", 1.5, True, None)]
    ['an object', 'a JSON list', 'a JSON string', 'a JSON number', 'a JSON true or false', 'a JSON null']
    """
    if isinstance(value, dict):
        return "an object"
    kinds = ((bool, "true or false"), (list, "list"), (str, "string"), ((int, float), "number"))
    return "a JSON " + next((word for kind, word in kinds if isinstance(value, kind)), "null")


def _read_json(path: Path) -> Any:
    """The JSON in ``path`` (at most MAX_JSON_BYTES), or a CheckpointError naming it."""
    if path.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"{path}: {path.stat().st_size:,} bytes, far larger than a checkpoint writes; {_AGAIN}")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except ValueError as e:  # also UnicodeDecodeError
        raise CheckpointError(f"{path}: not valid JSON ({e}); {_AGAIN}") from e


def _read_config(path: Path) -> tuple[ModelConfig, TrainConfig | None]:
    config = _read_json(path)
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: not a checkpoint config ({json_kind(config)}, not an object); {_AGAIN}")
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {config.get('format')!r}, expected {FORMAT}; {_AGAIN}")
    for key, cls in (("model", "ModelConfig"), ("train", "TrainConfig")):
        if not isinstance(config.get(key), dict) and not (key == "train" and config.get(key) is None):
            kind = json_kind(config.get(key)) if key in config else "nothing"
            raise CheckpointError(f'{path}: "{key}" must be an object of {cls} fields (got {kind}); {_AGAIN}')
    try:
        model = ModelConfig.from_dict(config["model"])
        train = TrainConfig.from_dict(config["train"]) if config.get("train") is not None else None
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: {e}; {_AGAIN}") from e
    return model, train


def _read_vocab(path: Path) -> Vocab:
    data = _read_json(path)
    try:
        vocab = Vocab(data["chars"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f'{path}: not a vocabulary (a "chars" list of distinct characters); {_AGAIN}') from e
    if not 1 <= len(vocab) <= MAX_VOCAB:
        raise CheckpointError(f"{path}: {len(vocab):,} characters; a model has 1 to {MAX_VOCAB:,}; {_AGAIN}")
    return vocab


def _read_weights(path: Path, shapes: dict[str, tuple[int, ...]], vocab_size: int) -> dict[str, np.ndarray]:
    """The arrays of weights.npz, each checked by its header (name, type, shape) before its data is read."""
    corrupt = f"{path} is corrupt ({{}}); train again or restore it"
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(corrupt.format(e)) from e
    with npz:
        if set(npz.files) != set(shapes):
            raise _names_differ(set(npz.files), shapes, path)
        weights = {}
        for name, shape in shapes.items():
            try:
                with npz.zip.open(f"{name}.npy") as f:
                    version = np.lib.format.read_magic(f)
                    if version not in _NPY_HEADERS:
                        raise ValueError(f"unknown .npy format {version}")
                    stored, _, dtype = _NPY_HEADERS[version](f)
                _check_array(name, tuple(stored), dtype, shape, vocab_size, path)  # before its data is read
                weights[name] = npz[name].astype(np.float32, copy=False)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
                raise CheckpointError(corrupt.format(f"weight {name}: {e}")) from e
    return weights


def check_weights(weights: Mapping[str, np.ndarray], cfg: ModelConfig, vocab_size: int, where: str | Path) -> None:
    """Raise CheckpointError unless ``weights`` are exactly the arrays of ``cfg``: every name, its
    shape, floating-point numbers, none NaN or infinite (``where`` starts the sentence)."""
    shapes = weight_shapes(cfg, vocab_size)
    if set(weights) != set(shapes):
        raise _names_differ(set(weights), shapes, where)
    for name, shape in shapes.items():
        w = np.asarray(weights[name])
        _check_array(name, w.shape, w.dtype, shape, vocab_size, where)
        if not np.isfinite(w).all():
            raise CheckpointError(
                f"{where}: weight {name} holds NaN or infinite values (training diverged, or the file was "
                "altered): train again or restore the folder"
            )


def _names_differ(names: set[str], shapes: dict[str, tuple[int, ...]], where: str | Path) -> CheckpointError:
    extra, lacking = sorted(names - set(shapes)), sorted(set(shapes) - names)
    return CheckpointError(
        f"{where}: weights do not match config.json (missing {lacking or 'none'}, unexpected {extra or 'none'}); "
        "the folder mixes files from different models: train again"
    )


def _check_array(
    name: str, shape: tuple[int, ...], dtype: np.dtype, expected: tuple[int, ...], vocab_size: int, where: str | Path
) -> None:
    if dtype.kind != "f":
        raise CheckpointError(
            f"{where}: weight {name} holds {dtype.name} values, not floating-point numbers; train again or restore it"
        )
    if shape != expected:
        raise CheckpointError(
            f"{where}: weight {name} has shape {shape} but config.json and vocab.json ({vocab_size} characters) "
            f"need {expected}: the files come from different models; train again or restore the folder"
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
