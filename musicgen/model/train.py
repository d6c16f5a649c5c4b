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

import functools
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicgen.config import ModelConfig, TrainConfig
from musicgen.data import corpus, dataset
from musicgen.data.vocab import Vocab
from musicgen.model import checkpoint, distribute, recipe, runstate
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


def _run_epoch(
    model: Any,
    strategy: Any,
    step_fn: Any,
    streams: dataset.Streams | dataset.Chunks,
    label: str,
    rate: Callable[[int], float] | None = None,
) -> tuple[float, float]:
    """One pass over ``streams``; returns the mean (loss in nats/char, accuracy) weighted by characters.

    ``rate(step)`` sets the learning rate of each batch; the LSTM state is zeroed before every
    batch of stateless windows (chunks), else only around the pass.
    """
    import keras

    from musicgen.model.network import reset_state

    # A live bar on a terminal; one summary line per pass in a log file (no \r and colour codes).
    metrics = ["loss", "acc", "chars/s"]
    bar = keras.utils.Progbar(
        streams.n_windows, stateful_metrics=metrics, unit_name="batch", verbose=1 if sys.stdout.isatty() else 2
    )
    windows = iter(distributed_windows(streams, strategy))
    reset_state(model)
    total_loss = total_acc = 0.0
    total_chars = 0
    started = time.perf_counter()
    for step in range(1, streams.n_windows + 1):
        if rate is not None:
            model.optimizer.learning_rate.assign(rate(step))
        if streams.stateless:
            reset_state(model)
        loss, acc = (float(v) for v in step_fn(next(windows)))
        n = streams.n_streams * streams.width(step - 1)
        total_loss, total_acc, total_chars = total_loss + loss * n, total_acc + acc * n, total_chars + n
        speed = total_chars / max(1e-9, time.perf_counter() - started)
        bar.update(step, list(zip(metrics, (total_loss / total_chars, total_acc / total_chars, round(speed)))))
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
    keep_epochs: Sequence[int] = (),
    init: str | Path | None = None,
    average_last: int = 0,
) -> dict[str, Any]:
    """Train a model on the ABC files/folders in ``data``; write the best checkpoint to ``out``.

    ``strategy`` is a name from :data:`musicgen.model.distribute.STRATEGIES` or a
    ``tf.distribute.Strategy``. ``keep_epochs``: also keep the weights after these epochs, in
    float16, as ``out/epochs/epoch-001`` and so on (to show how a model learns). ``init``: start
    from this checkpoint's weights (fine-tuning; its network and vocabulary are kept, and
    ``model_cfg`` is ignored). Returns the metrics dict that is also saved as the checkpoint's
    metrics.json. ``average_last``: at the end, also try the mean of the last epochs' weights, kept
    if its val score beats the best epoch's (``averaged`` in the metrics says which, and how it scored).
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
    try:
        start = recipe.start_from(init, tunes, cfg)
    except recipe.VocabularyError as e:
        raise TrainError(str(e)) from e
    if start is not None:
        model_cfg, vocab = start.model, start.vocab
    else:
        vocab = recipe.augmented_vocab(tunes, cfg.augment)
    train_set, val_set = dataset.EncodedTunes.encode(train_tunes, vocab), dataset.EncodedTunes.encode(val_tunes, vocab)
    val_streams = _streams(val_set, None, cfg.batch_size, cfg.seq_len)
    data_info = {
        "paths": [runstate.portable_path(p) for p in data],
        "tunes": len(tunes),
        "train_tunes": len(train_tunes),
        "val_tunes": len(val_tunes),
        "train_chars": train_set.n_chars,
        "val_chars": val_set.n_chars,
    }
    state = _start_state(run_dir, resume, _run_config(model_cfg, cfg, vocab, init), cfg.learning_rate)
    # Before anything else runs TensorFlow: a multi-worker strategy must be made first.
    strategy = distribute.make_strategy(strategy) if isinstance(strategy, str) else strategy
    import keras

    from musicgen.model.network import named_weights, set_named_weights

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
        if start is not None:
            set_named_weights(model, start.weights)
            print(f"starting from the weights of {init}", flush=True)
    state["config"] = _run_config(model_cfg, cfg, vocab, init)
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
            print(
                f"epoch {epoch}/{cfg.epochs} (learning rate {state['learning_rate']:.2e}, {cfg.schedule})", flush=True
            )
            started = time.perf_counter()
            order = dataset.epoch_order(len(train_tunes), cfg.seed, epoch)
            _seed_dropout(model, cfg.seed, epoch)
            if cfg.augment:
                train_set = dataset.EncodedTunes.encode(recipe.epoch_tunes(train_tunes, cfg, epoch), vocab)
            try:
                train_streams = recipe.windows(train_set, order, cfg, epoch)
            except dataset.StreamError as e:
                raise TrainError(str(e)) from e
            epoch_rate, n = state["learning_rate"], train_streams.n_windows
            train_loss, train_acc = _run_epoch(
                model,
                strategy,
                train_step,
                train_streams,
                "train",
                functools.partial(recipe.learning_rate, cfg, epoch_rate, epoch, steps_per_epoch=n),
            )
            val_loss, val_acc = _run_epoch(model, strategy, test_step, val_streams, "val")
            weights = named_weights(model)
            val_score = recipe.fresh_state_score(checkpoint.Checkpoint(weights, vocab, model_cfg), val_tunes)
            print(f"  val, each tune from a fresh state: {val_score:.4f} nats/char", flush=True)
            state["seconds"] += time.perf_counter() - started
            state["history"].append(
                {
                    "epoch": epoch,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "val_loss": val_loss,
                    "val_acc": val_acc,
                    "val_score": val_score,
                    "learning_rate": state["learning_rate"],
                }
            )
            state["epoch"] = epoch
            if epoch in keep_epochs:
                kept = out_here / recipe.EPOCHS_DIR / f"epoch-{epoch:03d}"
                checkpoint.save(
                    kept, weights, vocab, model_cfg, cfg, {"epoch": epoch, "val_score": val_score}, "float16"
                )
                print(f"  kept the weights of epoch {epoch} in {kept}", flush=True)
            if state.get("best_val_score") is None or val_score < state["best_val_score"]:
                state.update(
                    best_val_loss=val_loss,
                    best_val_score=val_score,
                    best_epoch=epoch,
                    stale=0,
                    weights_sha256=distribute.weights_digest(weights),
                )
                checkpoint.save(out_here, weights, vocab, model_cfg, cfg, _metrics(state, data_info, strategy))
                print(f"  best so far: saved {out}", flush=True)
            else:
                state["stale"] += 1
                state["learning_rate"] *= cfg.lr_decay
            recipe.keep_for_average(run_here, epoch, weights, average_last)
            runstate.save(run_here, model, state)

        best = checkpoint.load(out_here)
        mean = recipe.average(run_here, average_last, vocab, model_cfg, val_tunes)
        if mean is not None:
            state["averaged"] = dict(mean[1], used=mean[1]["val_score"] < state["best_val_score"])
            if state["averaged"]["used"]:
                best = checkpoint.Checkpoint(mean[0], vocab, model_cfg)
                state["best_val_score"] = mean[1]["val_score"]
            print(f"  the mean of epochs {mean[1]['epochs']}: {mean[1]['val_score']:.4f} nats/char", flush=True)
        state["weights_sha256"] = distribute.weights_digest(best.weights)
        metrics = _metrics(state, data_info, strategy)
        checkpoint.save(out_here, best.weights, vocab, model_cfg, cfg, metrics)  # final metrics: the whole history
    where = f"weights in {out}" if distribute.is_chief(strategy) else "the chief wrote the weights"
    print(
        f"done: best val loss {state['best_val_score']:.4f} nats/char (each tune from a fresh state) "
        f"at epoch {state['best_epoch']}; "
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


def _run_config(model_cfg: ModelConfig, cfg: TrainConfig, vocab: Vocab, init: str | Path | None) -> dict[str, Any]:
    init_name = None if init is None else str(Path(init).resolve())
    return {"model": model_cfg.to_dict(), "train": cfg.to_dict(), "vocab": vocab.chars, "init": init_name}


def _resumable(run_config: dict[str, Any]) -> dict[str, Any]:
    """What must not change on --resume: all but the stopping rules (epochs, patience may grow).
    Fields a run folder's config lacks take their defaults (it was written before they existed)."""
    train = TrainConfig.from_dict(run_config["train"]).to_dict()
    train = {k: v for k, v in train.items() if k not in ("epochs", "patience")}
    return dict(run_config, train=train, init=run_config.get("init"))


def _metrics(state: dict[str, Any], data_info: dict[str, Any], strategy: Any) -> dict[str, Any]:
    return {
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "best_val_score": state.get("best_val_score"),
        "averaged": state.get("averaged"),
        "epochs_run": state["epoch"],
        "history": state["history"],
        "train_seconds": round(state["seconds"], 1),
        "hardware": f"{platform.processor() or platform.machine()}, {runstate.cpu_count()} CPU cores",
        "distribution": distribute.describe(strategy),
        "weights_sha256": state.get("weights_sha256"),
        "data": data_info,
    }
