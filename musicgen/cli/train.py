"""``musicgen train``: train a model on ABC files and write its checkpoint (see musicgen.model.train).

musicgen train DATA... --out weights/mymodel [--resume] [--epochs N] [--batch-size B] ...
musicgen train DATA... --out weights/mymodel --strategy {default,mirrored,multiworker}
musicgen train DATA... --out weights/chunks --windows chunks --seq-len 128 --schedule cosine --augment 5
musicgen train MY_TUNES --out weights/mine --init weights/nottingham    # fine-tune the shipped model
python -m musicgen train DATA... --out weights/mymodel      # the same, without the installed script
"""

from __future__ import annotations

import argparse

from musicgen.config import SCHEDULES, WINDOWS, ModelConfig, TrainConfig
from musicgen.model import distribute
from musicgen.model.train import train

FINE_TUNE_RATE = 3e-4  # with --init: a fifth of the default, so a few epochs adapt the model without wiping it


def add_arguments(p: argparse.ArgumentParser) -> None:
    m, t = ModelConfig(), TrainConfig()
    p.add_argument("data", nargs="+", help="ABC files or folders of .abc files (folders are not recursed)")
    p.add_argument("--out", required=True, help="folder for the trained checkpoint, e.g. weights/mymodel")
    p.add_argument("--run-dir", help="folder for resumable training state (default: runs/<name of --out>)")
    p.add_argument("--resume", action="store_true", help="continue a killed or finished run from its last epoch")
    p.add_argument("--epochs", type=int, default=t.epochs, help=f"most epochs to train (default {t.epochs})")
    p.add_argument("--batch-size", type=int, default=t.batch_size, help=f"parallel streams (default {t.batch_size})")
    p.add_argument("--seq-len", type=int, default=t.seq_len, help=f"characters per window (default {t.seq_len})")
    p.add_argument(
        "--learning-rate",
        type=float,
        help=f"Adam's peak rate (default {t.learning_rate}; {FINE_TUNE_RATE} with --init)",
    )
    p.add_argument(
        "--windows", choices=WINDOWS, default=t.windows, help="stateful streams (default) or shuffled chunks"
    )
    p.add_argument("--schedule", choices=SCHEDULES, default=t.schedule, help=f"learning rate (default {t.schedule})")
    p.add_argument("--warmup-steps", type=int, default=t.warmup_steps, help="cosine: batches of warm-up")
    p.add_argument(
        "--augment", type=int, default=t.augment, help="transpose each tune by up to this many semitones (default 0)"
    )
    p.add_argument(
        "--augment-share",
        type=float,
        default=t.augment_share,
        help=f"with --augment: the share of tunes moved each epoch (default {t.augment_share})",
    )
    p.add_argument(
        "--keep-epochs",
        default="",
        help="also keep the weights after these epochs (e.g. 1,3,10), float16, in OUT/epochs/epoch-NNN",
    )
    p.add_argument("--init", help="fine-tune: start from this checkpoint's weights and vocabulary")
    p.add_argument(
        "--average-last",
        type=int,
        default=0,
        help="at the end, try the mean of the last N epochs' weights; kept if its val loss is better",
    )
    p.add_argument("--patience", type=int, default=t.patience, help=f"early stopping (default {t.patience})")
    p.add_argument("--val-fraction", type=float, default=t.val_fraction, help=f"default {t.val_fraction}")
    p.add_argument("--seed", type=int, default=t.seed, help="random seed for weights and shuffling")
    p.add_argument("--embedding-dim", type=int, default=m.embedding_dim, help=f"default {m.embedding_dim}")
    p.add_argument("--lstm-units", type=int, default=m.lstm_units, help=f"default {m.lstm_units}")
    p.add_argument("--lstm-layers", type=int, default=m.lstm_layers, help=f"default {m.lstm_layers}")
    p.add_argument("--dropout", type=float, default=m.dropout, help=f"default {m.dropout}")
    p.add_argument(
        "--strategy",
        choices=distribute.STRATEGIES,
        default="default",
        help="default: one device; mirrored: every GPU of this machine; multiworker: every machine "
        "in TF_CONFIG (see musicgen.model.distribute)",
    )


def run(args: argparse.Namespace) -> int:
    model_cfg = ModelConfig(args.embedding_dim, args.lstm_units, args.lstm_layers, args.dropout)
    rate = args.learning_rate if args.learning_rate is not None else FINE_TUNE_RATE if args.init else None
    cfg = TrainConfig(
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        learning_rate=rate if rate is not None else TrainConfig().learning_rate,
        windows=args.windows,
        schedule=args.schedule,
        warmup_steps=args.warmup_steps,
        augment=args.augment,
        augment_share=args.augment_share,
        epochs=args.epochs,
        patience=args.patience,
        val_fraction=args.val_fraction,
        seed=args.seed,
    )
    train(
        args.data,
        args.out,
        model_cfg,
        cfg,
        run_dir=args.run_dir,
        resume=args.resume,
        strategy=args.strategy,
        keep_epochs=epoch_list(args.keep_epochs),
        init=args.init,
        average_last=args.average_last,
    )
    return 0


def epoch_list(text: str) -> tuple[int, ...]:
    """``--keep-epochs 1,3,10`` as (1, 3, 10).

    >>> epoch_list("1, 3,10"), epoch_list("")
    ((1, 3, 10), ())
    >>> epoch_list("3,x")
    Traceback (most recent call last):
    ...
    ValueError: --keep-epochs takes epoch numbers from 1, separated by commas (e.g. 1,3,10); got '3,x'
    """
    try:
        epochs = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        epochs = (0,)
    if any(e < 1 for e in epochs):
        raise ValueError(f"--keep-epochs takes epoch numbers from 1, separated by commas (e.g. 1,3,10); got {text!r}")
    return epochs
