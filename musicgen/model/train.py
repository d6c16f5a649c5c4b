"""Train the character LSTM on ABC files: stateful, resumable, with early stopping.

    musicgen train DATA... --out weights/mymodel [--resume] [--epochs N] [--batch-size B] ...
    musicgen train DATA... --out weights/mymodel --strategy {default,mirrored,multiworker}

(the command line is :mod:`musicgen.cli.train`; this module is the library: :func:`train`).

How: the training tunes (shuffled anew each epoch, deterministically) are joined
into one text, cut into ``batch_size`` parallel streams, and the streams are fed
``seq_len`` characters at a time to a stateful model, so the LSTM state carries
from one window to the next as in the reference; the state is zeroed at the
start of every epoch and around validation. Loss is sparse categorical
cross-entropy (the same quantity as categorical cross-entropy on one-hot
targets) in nats per character. The corpus is encoded once and each epoch's
text is only an order of tunes (:mod:`musicgen.data.dataset`), so memory stays flat.

``--strategy`` spreads the streams over the GPUs of one machine or over several
machines with ``tf.distribute`` (:mod:`musicgen.model.distribute`); each replica carries
the state of its own block of streams, and only the chief writes files.

After every epoch the full training state (weights and Adam's moments) is saved
in the run folder (``runs/<name>`` by default) through a temporary file and a
rename, then ``state.json`` is replaced to point at it (:mod:`musicgen.model.runstate`);
``--resume`` continues from the last completed epoch, checking both files first.
Resuming is exact: the tune order and the dropout masks of an epoch depend on
(seed, epoch) alone, so a run killed and resumed ends with the very weights of a run
never stopped. The best epoch by val loss is written to ``--out`` as a
self-describing checkpoint (weights without optimizer state).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data import corpus, dataset
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint, distribute, runstate
from musicgen.model.windows import distributed_windows


class TrainError(RuntimeError):
    """Training cannot start or resume as asked."""


def stream_batches(ids: np.ndarray, n_streams: int, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Cut ``ids`` into ``n_streams`` contiguous streams and yield (inputs, targets) windows.

    Window ``t`` of every stream continues window ``t - 1`` of the same stream, which
    is what lets a stateful LSTM carry its state across windows. The last window
    may be shorter; characters beyond ``n_streams * stream_len`` are dropped.

    >>> [x.tolist() for x, _ in stream_batches(np.arange(10), 2, 3)]
    [[[0, 1, 2], [5, 6, 7]], [[3], [8]]]
    """
    streams = _streams(dataset.EncodedTunes.of_ids(ids), None, n_streams, seq_len)
    return (streams.window(t) for t in range(streams.n_windows))


def epoch_text(tunes: Sequence[str], seed: int, epoch: int) -> str:
    """The training text of one epoch: the tunes in a shuffled order that depends on (seed, epoch) alone."""
    return corpus.join_tunes(tunes[i] for i in dataset.epoch_order(len(tunes), seed, epoch))


def _streams(tunes: dataset.EncodedTunes, order: np.ndarray | None, n_streams: int, seq_len: int) -> dataset.Streams:
    try:
        return dataset.Streams(tunes, order, n_streams, seq_len)
    except dataset.StreamError as e:
        raise TrainError(str(e)) from e


def _run_epoch(model: Any, strategy: Any, step_fn: Any, streams: dataset.Streams, label: str) -> tuple[float, float]:
    """One pass over ``streams``; returns the mean (loss in nats/char, accuracy) weighted by characters."""
    import keras

    from musicgen.model.network import reset_state

    # A live bar on a terminal; one summary line per pass in a log file (no \r and colour codes).
    bar = keras.utils.Progbar(
        streams.n_windows, stateful_metrics=["loss", "acc"], unit_name="step", verbose=1 if sys.stdout.isatty() else 2
    )
    windows = iter(distributed_windows(streams, strategy))
    reset_state(model)
    total_loss = total_acc = 0.0
    total_chars = 0
    for step in range(1, streams.n_windows + 1):
        loss, acc = (float(v) for v in step_fn(next(windows)))
        n = streams.n_streams * streams.width(step - 1)
        total_loss, total_acc, total_chars = total_loss + loss * n, total_acc + acc * n, total_chars + n
        bar.update(step, [("loss", total_loss / total_chars), ("acc", total_acc / total_chars)])
    reset_state(model)
    print(f"  {label}: {total_loss / total_chars:.4f} nats/char, accuracy {total_acc / total_chars:.3f}", flush=True)
    return total_loss / total_chars, total_acc / total_chars


def train(
    data: Sequence[str | Path],
    out: str | Path,
    model_cfg: ModelConfig = ModelConfig(),
    cfg: TrainConfig = TrainConfig(),
    run_dir: str | Path | None = None,
    resume: bool = False,
    strategy: str | Any = "default",
) -> dict[str, Any]:
    """Train a model on the ABC files/folders in ``data``; write the best checkpoint to ``out``.

    ``strategy`` is a name from :data:`musicgen.model.distribute.STRATEGIES` or a
    ``tf.distribute.Strategy``. Returns the metrics dict that is also saved as the
    checkpoint's metrics.json.
    """
    out = Path(out)
    run_dir = Path(run_dir) if run_dir else Path("runs") / out.name
    for folder, option in ((out, "--out"), (run_dir, "--run-dir")):  # found now, not after the first epoch
        if folder.exists() and not folder.is_dir():
            raise TrainError(f"{option} {folder} is a file, not a folder: give a folder name")
    tunes = corpus.read_tunes(data)
    train_tunes, val_tunes = corpus.split_train_val(tunes, cfg.val_fraction)
    if not val_tunes:
        raise TrainError("need at least 2 tunes: one to train on and one to validate")
    vocab = Vocab.from_text("".join(set().union(*tunes)))  # the characters of the joined text, without joining
    train_set, val_set = dataset.EncodedTunes.encode(train_tunes, vocab), dataset.EncodedTunes.encode(val_tunes, vocab)
    val_streams = _streams(val_set, None, cfg.batch_size, cfg.seq_len)
    data_info = {
        "paths": [_portable(p) for p in data],
        "tunes": len(tunes),
        "train_tunes": len(train_tunes),
        "val_tunes": len(val_tunes),
        "train_chars": train_set.n_chars,
        "val_chars": val_set.n_chars,
    }
    state = _start_state(run_dir, resume, _run_config(model_cfg, cfg, vocab), cfg.learning_rate)
    # Before anything else runs TensorFlow: a multi-worker strategy must be made first.
    strategy = distribute.make_strategy(strategy) if isinstance(strategy, str) else strategy
    import keras

    from musicgen.model.network import named_weights

    if resume:
        model = distribute.training_model(model_cfg, len(vocab), cfg, strategy)
        keras_file = run_dir / state["keras_file"]
        try:
            model.load_weights(keras_file)  # weights and Adam's moments, whatever the replicas
        except Exception as e:  # Keras and h5py raise many kinds; each means this file cannot be used
            why = (str(e).strip().splitlines() or [""])[0][:200]
            raise TrainError(
                f"{keras_file}: cannot load the training state ({type(e).__name__}: {why}); "
                "restore the run folder, or remove it to train from the start"
            ) from e
        print(f"resuming after epoch {state['epoch']} from {keras_file}", flush=True)
    else:
        keras.utils.set_random_seed(cfg.seed)
        model = distribute.training_model(model_cfg, len(vocab), cfg, strategy)
    state["config"] = _run_config(model_cfg, cfg, vocab)
    train_step, test_step = distribute.step_functions(model, strategy)
    print(
        f"{len(train_tunes)} train / {len(val_tunes)} val tunes, vocabulary {len(vocab)}, "
        f"{model.count_params():,} parameters; run folder {run_dir}; {distribute.describe(strategy, task=True)}",
        flush=True,
    )
    with distribute.writable_dirs(strategy, out, run_dir) as (out_here, run_here):  # throw-away ones off the chief
        run_here.mkdir(parents=True, exist_ok=True)
        while state["epoch"] < cfg.epochs and state["stale"] < cfg.patience:
            epoch = state["epoch"] + 1
            model.optimizer.learning_rate.assign(state["learning_rate"])
            print(f"epoch {epoch}/{cfg.epochs} (learning rate {state['learning_rate']:.2e})", flush=True)
            started = time.perf_counter()
            order = dataset.epoch_order(len(train_tunes), cfg.seed, epoch)
            _seed_dropout(model, cfg.seed, epoch)
            train_streams = _streams(train_set, order, cfg.batch_size, cfg.seq_len)
            train_loss, train_acc = _run_epoch(model, strategy, train_step, train_streams, "train")
            val_loss, val_acc = _run_epoch(model, strategy, test_step, val_streams, "val")
            state["seconds"] += time.perf_counter() - started
            state["history"].append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "val_loss": val_loss,
                    "val_acc": val_acc,
                    "learning_rate": state["learning_rate"],
                }
            )
            state["epoch"] = epoch
            if state["best_val_loss"] is None or val_loss < state["best_val_loss"]:
                weights = named_weights(model)
                state.update(
                    best_val_loss=val_loss, best_epoch=epoch, stale=0, weights_sha256=distribute.weights_digest(weights)
                )
                checkpoint.save(out_here, weights, vocab, model_cfg, cfg, _metrics(state, data_info, strategy))
                print(f"  best so far: saved {out}", flush=True)
            else:
                state["stale"] += 1
                state["learning_rate"] *= cfg.lr_decay
            runstate.save(run_here, model, state)

        best = checkpoint.load(out_here)
        state["weights_sha256"] = distribute.weights_digest(best.weights)
        metrics = _metrics(state, data_info, strategy)
        checkpoint.save(out_here, best.weights, vocab, model_cfg, cfg, metrics)  # final metrics: the whole history
    where = f"weights in {out}" if distribute.is_chief(strategy) else "the chief wrote the weights"
    print(
        f"done: best val loss {state['best_val_loss']:.4f} nats/char at epoch {state['best_epoch']}; "
        f"{where} (sha256 {state['weights_sha256'][:16]})",
        flush=True,
    )
    return metrics


def _start_state(run_dir: Path, resume: bool, run_config: dict[str, Any], learning_rate: float) -> dict[str, Any]:
    """The state to start from: a fresh one, or (``resume``) the run folder's, checked whole and against
    this run's settings. Refusals are TrainErrors, raised before TensorFlow starts."""
    if not resume:
        if (run_dir / runstate.STATE).exists():
            raise TrainError(f"{run_dir} holds an earlier run: add --resume to continue it, or remove the folder")
        return runstate.new_state(learning_rate)
    try:
        state = runstate.load(run_dir)
    except runstate.RunStateError as e:
        raise TrainError(str(e)) from e
    if _resumable(state["config"]) != _resumable(run_config):
        raise TrainError(f"{run_dir} was started with other settings or data; resume with the same ones")
    return state


def _seed_dropout(model: Any, seed: int, epoch: int) -> None:
    """Set every dropout layer's random state from (seed, epoch) alone, as each epoch starts.

    Keras draws dropout masks from a ``keras.random.SeedGenerator`` per layer, a variable
    stepped at every call and not restored by ``load_weights``: set here, epoch ``e`` draws
    the same masks whether the run went straight through or was resumed before ``e``.
    """
    import keras

    for i, layer in enumerate(model.layers):
        generator = getattr(layer, "seed_generator", None)
        if isinstance(generator, keras.random.SeedGenerator):
            start = int(np.random.default_rng([seed, epoch, i]).integers(1, 2**31))
            generator.state.assign(np.array([start, 0], dtype=generator.state.dtype))


def _portable(path: str | Path) -> str:
    """A data path as recorded in metrics.json: relative to the project folder when that works
    (``../shared/data/...``), so a checkpoint's card and score find the data in any clone.

    The project folder is the source tree this package runs from; an installed package has
    none, and the working directory stands in for it.
    """
    root = checkpoint.SOURCE_TREE or Path.cwd()
    try:
        rel = os.path.relpath(Path(path).resolve(), root)
    except ValueError:  # another drive on Windows
        return str(path)
    return rel if (root / rel).exists() and rel.count("..") <= 1 else str(Path(path).resolve())


def _run_config(model_cfg: ModelConfig, cfg: TrainConfig, vocab: Vocab) -> dict[str, Any]:
    return {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "vocab": vocab.chars}


def _resumable(run_config: dict[str, Any]) -> dict[str, Any]:
    """What must not change on --resume: all but the stopping rules (epochs, patience may grow)."""
    train = {k: v for k, v in run_config["train"].items() if k not in ("epochs", "patience")}
    return dict(run_config, train=train)


def _metrics(state: dict[str, Any], data_info: dict[str, Any], strategy: Any) -> dict[str, Any]:
    return {
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "epochs_run": state["epoch"],
        "history": state["history"],
        "train_seconds": round(state["seconds"], 1),
        "hardware": f"{platform.processor() or platform.machine()}, {_cpu_count()} CPU cores",
        "distribution": distribute.describe(strategy),
        "weights_sha256": state.get("weights_sha256"),
        "data": data_info,
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
