"""The ``musicgen`` command: one sub-command per capability of the package.

    musicgen generate --out DIR     compose tunes, one .abc file each        (musicgen.cli.generate)
    musicgen data download DIR      fetch and verify the Nottingham ABC files (musicgen.cli.data)
    musicgen train DATA --out DIR   train a model                             (musicgen.cli.train)
    musicgen score FILES            nats/char beside an n-gram baseline       (musicgen.cli.score)
    musicgen explain [FILES]        each character's surprise and the choices (musicgen.cli.explain)
    musicgen card                   a checkpoint's model card and loss plot   (musicgen.cli.card)
    musicgen evaluate               how good the generated tunes are          (musicgen.cli.evaluate)
    musicgen transpose FILE --key Bb  move tunes to a key; an instrument's range (musicgen.cli.transpose)
    musicgen app                    the Streamlit app in the browser          (musicgen.cli.app)
    musicgen rewrite FILE --bars N-M  new music for some bars of a tune      (musicgen.cli.rewrite)
    python -m musicgen ...          the same, without the installed script

Each sub-command lives in its own module here, which provides ``add_arguments(parser)``
and ``run(args) -> exit code`` and leaves the work to the library (argparse stays in
this folder). Errors the user can fix are printed as one line (``error: ...``) with
exit code 2, never as a traceback. The top layer: it may import every layer below it
(judge, compose, sound, model, data, abcnotation, config); nothing else imports it.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# sub-command -> (module, one-line help). Modules are imported only when needed,
# so `musicgen generate` never pays for TensorFlow.
COMMANDS: dict[str, tuple[str, str]] = {
    "generate": ("musicgen.cli.generate", "compose new tunes and write them as ABC files"),
    "data": ("musicgen.cli.data", "download the Nottingham Music Database (ABC) and verify it"),
    "train": ("musicgen.cli.train", "train a model on ABC files"),
    "score": ("musicgen.cli.score", "nats/char of a model on ABC files, beside a 5-gram baseline"),
    "explain": ("musicgen.cli.explain", "each character's surprise, the model's likeliest choices and the rules"),
    "card": ("musicgen.cli.card", "write a checkpoint's model card and loss plot from its metrics"),
    "evaluate": ("musicgen.cli.evaluate", "quality of generated tunes (or ABC files): parse, bars, novelty, closeness"),
    "transpose": (
        "musicgen.cli.transpose",
        "move ABC tunes to another key or octave; the notes an instrument cannot play",
    ),
    "app": ("musicgen.cli.app", "start the app in the browser (Streamlit) on the shipped or chosen weights"),
    "rewrite": ("musicgen.cli.rewrite", "new music for bars N to M of a tune (or from bar N on), the rest kept"),
}
# The --weights help of every command that reads a model: where musicgen.model.checkpoint looks without it.
WEIGHTS_HELP = (
    "the trained model's folder (default: $MUSICGEN_WEIGHTS if set, else ./weights/nottingham if there, "
    "else the model shipped with musicgen)"
)


def user_errors() -> tuple[type[BaseException], ...]:
    """The errors that mean bad input or a missing file, not a bug: shown as one line."""
    from musicgen.data.corpus import CorpusError
    from musicgen.model.checkpoint import CheckpointError

    errors: list[type[BaseException]] = [CheckpointError, CorpusError, ValueError, OSError]
    for module, name in (
        ("musicgen.model.train", "TrainError"),
        ("musicgen.data.download", "DownloadError"),
        ("musicgen.sound.convert", "InvalidABCError"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="musicgen", description="Compose folk tunes in ABC notation with a character LSTM."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # import only the module of the command being run
            importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except user_errors() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
