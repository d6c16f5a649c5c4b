"""``musicgen card``: write a checkpoint's model card (MODEL_CARD.md) and loss plot (see musicgen.judge.card).

musicgen card --weights weights/mymodel [--notes NOTES.md [KEYS.md ...]]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from musicgen.cli import WEIGHTS_HELP
from musicgen.judge.card import write_card


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", help=WEIGHTS_HELP)
    p.add_argument(
        "--notes",
        nargs="+",
        default=[],
        metavar="FILE",
        help="Markdown files to append, in order (what was tried and why; benchmarks/keys.md's per-key table)",
    )


def run(args: argparse.Namespace) -> int:
    notes = "\n".join(Path(f).read_text(encoding="utf-8").strip() + "\n" for f in args.notes)
    print(f"wrote {write_card(args.weights, notes)}")
    return 0
