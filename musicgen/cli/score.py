"""``musicgen score``: nats per character of a checkpoint on ABC files, beside a 5-gram baseline
(see musicgen.judge.score).

    musicgen score held_out.abc [--weights weights/nottingham] [--train-data DIR] [--order 5]
"""

from __future__ import annotations

import argparse

from musicgen.cli import WEIGHTS_HELP
from musicgen.data import corpus
from musicgen.data.vocab import UnknownCharacterError
from musicgen.judge.score import model_fit, ngram_fit, recorded_split, report
from musicgen.model import checkpoint
from musicgen.model.engine import Engine


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", help="ABC files or folders to score")
    p.add_argument("--weights", help=WEIGHTS_HELP)
    p.add_argument("--train-data", nargs="+", help="the checkpoint's training ABC, if not where it was trained")
    p.add_argument("--order", type=int, default=5, help="n-gram order of the baseline (default 5)")


def run(args: argparse.Namespace) -> int:
    ckpt = checkpoint.load(args.weights)
    tunes = corpus.read_tunes(args.files)
    for t in tunes:
        try:
            ckpt.vocab.check(t)
        except UnknownCharacterError as e:  # say which tune: the position counts from its X: line
            raise UnknownCharacterError(t, e.unknown, where=f"tune {t.split(chr(10), 1)[0]}") from e
    lstm = model_fit(Engine(ckpt), tunes)
    base = ngram_fit(recorded_split(ckpt, args.train_data)[0], tunes, len(ckpt.vocab), args.order)
    print(report([lstm, base], len(tunes)))
    return 0
