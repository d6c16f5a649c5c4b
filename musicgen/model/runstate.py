"""The resumable state of a training run: ``state.json`` and the ``epoch-NNNN.keras`` file it names.

After every epoch :mod:`musicgen.model.train` saves the Keras file (weights and Adam's
moments) through a temporary file and a rename, then replaces ``state.json`` (the epoch,
the loss history, early-stopping counters, the learning rate, the run's settings) to
point at it. ``--resume`` reads both back with :func:`load`, which checks each before
anything is built: state.json must be an object holding every field training writes,
each of its type and range, and the Keras file a whole zip holding Keras's own files.
Each problem is one sentence naming the file (:class:`RunStateError`).

Nothing random needs saving: epoch ``e`` shuffles the tunes by
``dataset.epoch_order(n, seed, e)`` and draws its dropout masks from a state set
from (seed, e) when the epoch starts, so a resumed run repeats the run never stopped.
No TensorFlow here: a damaged run folder is refused before TensorFlow starts.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from pathlib import Path
from typing import Any

from musicgen.model.checkpoint import SOURCE_TREE, json_kind, write_atomic
from musicgen.model.metrics import HISTORY_FIELDS, history_ok

STATE = "state.json"
MAX_STATE_BYTES = 50_000_000  # 100,000 epochs of history are ~20 MB
KERAS_MEMBERS = {"config.json", "model.weights.h5"}  # what every .keras file holds (Keras 3)
_OVER = "restore the run folder, or remove it to train from the start"


class RunStateError(ValueError):
    """A run folder's state.json, or the Keras file it names, is missing, damaged or not training's own."""


def keras_name(epoch: int) -> str:
    """The Keras file of an epoch.

    >>> keras_name(7)
    'epoch-0007.keras'
    """
    return f"epoch-{epoch:04d}.keras"


def new_state(learning_rate: float) -> dict[str, Any]:
    """The state of a run before its first epoch."""
    return {
        "epoch": 0,
        "history": [],
        "best_val_loss": None,
        "best_val_score": None,
        "best_epoch": 0,
        "stale": 0,
        "learning_rate": learning_rate,
        "seconds": 0.0,
    }


def save(run_dir: Path, model: Any, state: dict[str, Any]) -> None:
    """Save the resumable training state: the .keras file first, then state.json pointing at it."""
    name = keras_name(state["epoch"])
    for stale in run_dir.glob(".tmp-*.keras"):  # left by a run killed while saving
        stale.unlink()
    tmp = run_dir / f".tmp-{name}"
    model.save(tmp)
    tmp.replace(run_dir / name)
    state = dict(state, keras_file=name)
    write_atomic(run_dir / STATE, json.dumps(state, indent=2).encode())
    for old in run_dir.glob("epoch-*.keras"):
        if old.name != name:
            old.unlink()


def load(run_dir: Path) -> dict[str, Any]:
    """The state saved in ``run_dir``, checked field by field, its Keras file checked whole.

    Raises :class:`RunStateError` naming the file and what is wrong with it.
    """
    path = run_dir / STATE
    if not path.is_file():
        raise RunStateError(f"nothing to resume in {run_dir} (no {STATE}): start without --resume")
    if path.stat().st_size > MAX_STATE_BYTES:
        raise RunStateError(f"{path}: {path.stat().st_size:,} bytes, far more than training writes; {_OVER}")
    try:
        state = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError as e:  # also UnicodeDecodeError
        raise RunStateError(f"{path}: not valid JSON ({e}); {_OVER}") from e
    problem = _problem(state)
    if problem:
        raise RunStateError(f"{path}: {problem}; {_OVER}")
    check_keras_file(run_dir / state["keras_file"], path)
    return state


def _problem(state: Any) -> str | None:
    """What is wrong with a state read from state.json, in words; None when nothing is."""
    if not isinstance(state, dict):
        return f"not a training state ({json_kind(state)}, not an object)"
    missing = [k for k in (*new_state(1.0), "config", "keras_file") if k not in state]
    if missing:
        return f"incomplete (no {', '.join(missing)})"
    epoch = state["epoch"]
    if not _whole(epoch, 1):
        return f"epoch must be a whole number from 1 (got {epoch!r})"
    if state["keras_file"] != keras_name(epoch):
        return f"keras_file must be {keras_name(epoch)}, the file of epoch {epoch} (got {state['keras_file']!r})"
    if not history_ok(state["history"], epoch):
        return f"history must be a list of {epoch} epoch record(s), each with {', '.join(HISTORY_FIELDS)}"
    if not (_number(state["learning_rate"]) and math.isfinite(state["learning_rate"]) and state["learning_rate"] > 0):
        return f"learning_rate must be a number above 0 (got {state['learning_rate']!r})"
    for key in ("best_val_loss", "best_val_score"):
        if state[key] is not None and not _number(state[key]):
            return f"{key} must be a number or null (got {state[key]!r})"
    for key in ("best_epoch", "stale"):
        if not _whole(state[key], 0, epoch):
            return f"{key} must be a whole number from 0 to {epoch} (got {state[key]!r})"
    if not (_number(state["seconds"]) and state["seconds"] >= 0):
        return f"seconds must be a number of 0 or more (got {state['seconds']!r})"
    config = state["config"]
    shape = {"model": dict, "train": dict, "vocab": list}
    if not isinstance(config, dict) or not all(isinstance(config.get(k), t) for k, t in shape.items()):
        return "config must be an object of the run's model, train and vocab settings, as training writes it"
    return None


def check_keras_file(path: Path, state_file: Path) -> None:
    """Raise :class:`RunStateError` unless ``path`` is a whole zip holding a Keras model's files."""
    if not path.is_file():
        raise RunStateError(f"{state_file} names {path.name}, which is not in {path.parent}; {_OVER}")
    try:
        with zipfile.ZipFile(path) as z:
            lacking = sorted(KERAS_MEMBERS - set(z.namelist()))
            damaged = z.testzip()  # every member's CRC: a flipped byte shows here
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise RunStateError(f"{path}: not a whole Keras file ({e}); {_OVER}") from e
    if lacking or damaged:
        what = f"no {', '.join(lacking)}" if lacking else f"{damaged} is damaged"
        raise RunStateError(f"{path}: not a whole Keras file ({what}); {_OVER}")


def _whole(value: Any, lo: int, hi: int | None = None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= lo and (hi is None or value <= hi)


def _number(value: Any) -> bool:
    """An int or float other than a bool (a loss may be NaN: a diverged epoch is still a record)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def portable_path(path: str | Path) -> str:
    """A data path as recorded in metrics.json: relative to the project folder when that works
    (``../shared/data/...``), so a checkpoint's card and score find the data in any clone.

    The project folder is the source tree this package runs from; an installed package has
    none, and the working directory stands in for it.
    """
    root = SOURCE_TREE or Path.cwd()
    try:
        rel = os.path.relpath(Path(path).resolve(), root)
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if (root / rel).exists() and rel.count("..") <= 1 else str(Path(path).resolve())


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
