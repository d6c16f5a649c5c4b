"""Write a checkpoint's model card (MODEL_CARD.md) and its loss plot (loss.png).

    musicgen card --weights weights/nottingham [--notes NOTES.md ...]   (the command: musicgen.cli.card)

Everything in the card is read from the checkpoint (config.json, metrics.json)
or measured here: the val tunes are re-derived from the recorded data and split,
scored by the model and by the 5-gram baseline trained on the same train tunes.
``--notes`` appends hand-written sections (what was tried, and why) and tables such as benchmarks/keys.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from musicgen.judge.score import Fit, model_fit, ngram_fit, recorded_split, report
from musicgen.model import checkpoint
from musicgen.model.checkpoint import Checkpoint
from musicgen.model.engine import Engine
from musicgen.model.recipe import EPOCHS_DIR


def train_command(ckpt: Checkpoint) -> str:
    """The `musicgen train` command line that reproduces this checkpoint's recipe."""
    m, t = ckpt.model, ckpt.train
    paths = " ".join(ckpt.metrics.get("data", {}).get("paths", ["DATA"]))
    out = f"weights/{ckpt.path.name}" if ckpt.path else "weights/NAME"
    parts = [f"musicgen train {paths} --out {out}"]
    if t is not None:
        parts.append(
            f"--batch-size {t.batch_size} --seq-len {t.seq_len} --learning-rate {t.learning_rate} "
            f"--epochs {t.epochs} --patience {t.patience} --val-fraction {t.val_fraction} --seed {t.seed}"
        )
        recipe = f"--windows {t.windows} --schedule {t.schedule}"
        recipe += f" --warmup-steps {t.warmup_steps}" if t.warmup_steps else ""
        recipe += f" --augment {t.augment} --augment-share {t.augment_share}" if t.augment else ""
        kept = kept_epochs(ckpt)
        recipe += f" --keep-epochs {','.join(map(str, kept))}" if kept else ""
        mean = ckpt.metrics.get("averaged")
        recipe += f" --average-last {len(mean['epochs'])}" if mean else ""
        parts.append(recipe)
    parts.append(
        f"--embedding-dim {m.embedding_dim} --lstm-units {m.lstm_units} "
        f"--lstm-layers {m.lstm_layers} --dropout {m.dropout}"
    )
    return " \\\n    ".join(parts)


def kept_epochs(ckpt: Checkpoint) -> list[int]:
    """The epochs whose weights the checkpoint keeps in ``epochs/`` (``musicgen train --keep-epochs``)."""
    folder = ckpt.path / EPOCHS_DIR if ckpt.path else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(int(p.name.split("-")[1]) for p in folder.glob("epoch-[0-9][0-9][0-9]") if p.is_dir())


def recipe_words(ckpt: Checkpoint) -> str:
    """The training recipe of a checkpoint in words (its TrainConfig)."""
    t = ckpt.train
    if t is None:
        return "The training recipe was not recorded."
    if t.windows == "chunks":
        layout = (
            f"the train tunes (reshuffled each epoch) joined into one text, cut each epoch into windows of "
            f"{t.seq_len} characters from a random offset, shuffled, {t.batch_size} to a batch, the state zeroed "
            "before each batch"
        )
    else:
        layout = (
            f"stateful truncated back-propagation: the train tunes (reshuffled each epoch) joined into one text, "
            f"cut into {t.batch_size} parallel streams, {t.seq_len} characters per window, the state carried"
        )
    if t.schedule == "cosine":
        rate = f"learning rate {t.learning_rate} with {t.warmup_steps} batches of warm-up, then a cosine decay to 0"
    else:
        rate = f"learning rate {t.learning_rate}, multiplied by {t.lr_decay} after an epoch without a better val loss"
    moved = (
        f" Each epoch {t.augment_share:.0%} of the train tunes were transposed by 1 to {t.augment} semitones "
        "either way (the rest stayed in their key)."
        if t.augment
        else " No transposition."
    )
    return (
        f"{layout[0].upper()}{layout[1:]}; Adam (gradient norm clipped at 5), {rate}; early stopping after "
        f"{t.patience} epochs without a better val loss; the best epoch is kept.{moved}"
    )


def _fresh(h: dict[str, Any]) -> str:
    return f"{h['val_score']:.4f}" if "val_score" in h else "-"


def plot_losses(history: list[dict[str, Any]], baseline: Fit, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax.plot(epochs, [h["val_loss"] for h in history], "o-", label="val (as trained)")
    if all("val_score" in h for h in history):
        ax.plot(epochs, [h["val_score"] for h in history], "o-", label="val (each tune from a fresh state)")
    ax.axhline(baseline.nats, color="grey", ls="--", label=f"{baseline.name} (val tunes)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per character)")
    ax.set_title("Character LSTM on Nottingham ABC")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def best_val(metrics: dict[str, Any]) -> tuple[float, str]:
    """The shipped weights' val loss (each val tune from a fresh state, else as trained) and which weights
    they are: (0.933, ", the mean of the weights of epochs 25, 26, 27") or (0.92, ", epoch 24 of 24").

    >>> best_val({"best_val_loss": 0.95, "best_epoch": 9, "epochs_run": 12})
    (0.95, ', epoch 9 of 12')
    """
    best = metrics.get("best_val_score") or metrics.get("best_val_loss") or float("nan")
    mean = metrics.get("averaged") or {}
    if mean.get("used"):
        return best, f", the mean of the weights of epochs {', '.join(map(str, mean['epochs']))}"
    return best, f", epoch {metrics.get('best_epoch')} of {metrics.get('epochs_run')}"


def write_card(weights: str | Path | None = None, notes: str = "") -> Path:
    """Write MODEL_CARD.md and loss.png into the checkpoint folder (default: the one ``checkpoint.load`` finds)."""
    ckpt = checkpoint.load(weights)
    assert ckpt.path is not None
    metrics, data = ckpt.metrics, ckpt.metrics.get("data", {})
    train_tunes, val_tunes = recorded_split(ckpt)
    lstm = model_fit(Engine(ckpt), val_tunes)
    base = ngram_fit(train_tunes, val_tunes, len(ckpt.vocab))
    history = metrics.get("history", [])
    plot_losses(history, base, ckpt.path / "loss.png")
    rows = "\n".join(
        f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_loss']:.4f} | {_fresh(h)} | {h['val_acc']:.3f} | "
        f"{h['learning_rate']:.2e} |"
        for h in history
    )
    m = ckpt.model
    best, at = best_val(metrics)
    text = f"""# Model card: {ckpt.path.name}

A character-level LSTM that writes folk tunes in ABC notation, one character at a time.

## Network
Embedding({len(ckpt.vocab)}, {m.embedding_dim}) -> {m.lstm_layers} x [LSTM({m.lstm_units}, stateful) + Dropout({m.dropout})]
-> Dense({len(ckpt.vocab)}) softmax; {ckpt.n_params:,} parameters; vocabulary of {len(ckpt.vocab)} characters
(every character of the training text, plus printable ASCII and newline).

## Data
{", ".join(data.get("paths", []))}: {data.get("tunes")} tunes, normalised by `musicgen.data.corpus` (comments and `S:`
lines dropped, continuations joined, trailing spaces and blank lines inside tunes removed). Split by whole tune, by the hash of
the tune's text: {data.get("train_tunes")} train tunes ({data.get("train_chars", 0):,} characters),
{data.get("val_tunes")} val tunes ({data.get("val_chars", 0):,} characters).

## Training
Trained by the project's own command:

```
{train_command(ckpt)}
```

{recipe_words(ckpt)} Best val loss **{best:.4f} nats/char** (each val tune from a fresh state){at}. Training
time {metrics.get("train_seconds", 0) / 60:.1f} minutes on {metrics.get("hardware", "unknown hardware")}.

![train and val loss per epoch](loss.png)

| epoch | train loss | val loss (as trained) | val loss (fresh state) | val accuracy | learning rate |
|---|---|---|---|---|---|
{rows}

## Against a 5-gram baseline, on the same val tunes

Each tune scored from a fresh state after a blank line, counting its ending (`musicgen score`):

```
{report([lstm, base], len(val_tunes))}
```
"""
    if notes:
        text += "\n" + notes.strip() + "\n"
    path = ckpt.path / "MODEL_CARD.md"
    path.write_text(text, encoding="utf-8")
    return path
