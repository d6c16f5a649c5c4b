"""``musicgen generate``: compose tunes from the command line and write one .abc file per tune.

    musicgen generate --n 10 --length 600 --temperature 0.9 --key G --meter 6/8 --rng 7 --out tunes/
    musicgen generate --tune-type jig --key D            # one jig in D, printed
    musicgen generate --form AB --n 4 --out tunes/       # two 16-bar parts each
    musicgen generate --primer start.abc --out tunes/    # continue a tune of your own
    musicgen generate --out tunes/ --sound wav           # tune_01.abc, tune_01.mid, tune_01.wav, ...

The same options and --rng give byte-identical files. Without --out the tunes
are printed, separated by blank lines (a tunebook on standard output).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol

from musicgen.abcnotation.tunetypes import FORMS, NO_FORM
from musicgen.cli import WEIGHTS_HELP
from musicgen.compose.sample import Generator, Tune
from musicgen.config import MAX_CANDIDATES, MAX_LENGTH, MAX_PRIMER, MAX_TEMPERATURE, SampleConfig
from musicgen.model.checkpoint import write_atomic

_D = SampleConfig()  # the defaults shown in --help


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Compose new folk tunes in ABC notation. Every option has a sensible default: try it bare."
    add_writing_options(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        help="folder to write the tunes into, one file each (tune_01.abc, tune_02.abc, ...; files "
        "of those names are replaced). Default: print the tunes",
    )
    p.add_argument(
        "--sound",
        choices=["ogg", "wav", "mp3", "mid", "none"],
        default="ogg",
        help="with --out, also write each tune as MIDI (.mid) and as audio in this format (default "
        "ogg); 'mid' writes MIDI only, 'none' only the .abc files",
    )
    p.add_argument("--weights", metavar="DIR", help=WEIGHTS_HELP)


class Options(Protocol):
    """A parser or an argument group: what takes options."""

    def add_argument(self, *flags: str, **kwargs: Any) -> Any: ...


def add_writing_options(p: Options, only: Collection[str] = ()) -> None:
    """The options that shape the tunes written (all of them, or those whose names are in ``only``), with
    their help and defaults: ``musicgen explain`` and ``musicgen rewrite`` take theirs from here."""

    def add(flag: str, **kwargs: Any) -> None:
        if not only or flag.lstrip("-").replace("-", "_") in only:
            p.add_argument(flag, **kwargs)

    add(
        "--n",
        type=int,
        default=_D.n,
        metavar="N",
        help=f"how many tunes to compose at once (1 to {MAX_CANDIDATES}; default {_D.n})",
    )
    add(
        "--length",
        type=int,
        default=_D.length,
        metavar="CHARS",
        help=f"the longest a tune may grow, in characters of ABC (1 to {MAX_LENGTH}; default "
        f"{_D.length}). A tune usually ends by itself well before: most folk tunes take 300-600. "
        "A tune that reaches the limit is cut off there",
    )
    add(
        "--temperature",
        type=float,
        default=_D.temperature,
        metavar="T",
        help=f"how adventurous the tunes are (above 0, at most {MAX_TEMPERATURE}; default "
        f"{_D.temperature}). Lower (0.5) gives plainer, safer, more repetitive tunes; 1 plays as "
        "the model learnt; higher (1.3) is wilder and makes more mistakes",
    )
    add(
        "--top-k",
        type=int,
        default=_D.top_k,
        metavar="K",
        help="at each step, choose only among the K likeliest next characters (0, the default, "
        "means no limit; 1 always takes the likeliest, giving one tune whatever --rng)",
    )
    add(
        "--top-p",
        type=float,
        default=_D.top_p,
        metavar="P",
        help="at each step, choose only among the likeliest next characters that together "
        "make up this share of the chances (e.g. 0.9 drops the unlikely tail; 1, the default, keeps all)",
    )
    add(
        "--key",
        help="the key, as an ABC K: field: G, D, Em, F#m, Bb, Ador, Dmix ... (default: with a form, drawn as "
        "often as the training tunes have each key, mostly G and D; else the model chooses)",
    )
    add(
        "--meter",
        help="the time signature, as an ABC M: field: 6/8, 4/4, 3/4, 9/8, C, C| ... "
        "(default: the tune type's usual meter, or the model chooses)",
    )
    add(
        "--unit-length",
        metavar="L",
        help="the default note length, as an ABC L: field: 1/8, 1/4, 1/16 (default: the model chooses)",
    )
    add(
        "--tune-type",
        metavar="TYPE",
        help="the kind of tune, written as an R: field: jig, reel, "
        "hornpipe, waltz, polka, slip jig ... It also sets the usual meter when --meter is not given "
        "(a jig is in 6/8)",
    )
    add(
        "--form",
        choices=[*FORMS, NO_FORM],
        help="the shape of the tune's parts (with meter-aware writing): "
        + "; ".join(f"{f.name}: {f.words}" for f in FORMS.values())
        + f"; {NO_FORM}: bars only, parts of any length. Every form ends on the tonic of the key. Default: the "
        "tune type's usual form, else model",
    )
    add(
        "--primer",
        type=Path,
        metavar="FILE",
        help=f"an ABC file holding the start of one tune (header lines, first bars, or both; at most "
        f"{MAX_PRIMER:,} characters) for the model to carry on from. --key/--meter/... add the header "
        "lines it lacks and must agree with those it has",
    )
    add(
        "--seed-char",
        default=_D.seed_char,
        metavar="C",
        help="the very first character of each tune when no header options or primer are given. "
        "'X' (the default) starts a tune with its header, as tunes are written; any other character "
        "starts mid-music; 'random' picks one at random for each tune",
    )
    add(
        "--rng",
        type=int,
        default=_D.rng,
        metavar="SEED",
        help=f"the random seed (a whole number, default {_D.rng}): the same seed and options give the "
        "very same tunes; change it for new ones",
    )
    add(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="meter-aware writing (the default): every bar adds up to the meter and every tune ends "
        "with its section finished; --no-constrained lets the model write freely",
    )


def config_from(args: argparse.Namespace) -> SampleConfig:
    """The sampling config the command line asks for (ValueError with a sentence when out of range)."""
    primer = ""
    if args.primer is not None:
        if args.primer.stat().st_size > 4 * MAX_PRIMER:  # refuse before reading a huge file
            raise ValueError(f"{args.primer}: too large for a primer (at most {MAX_PRIMER:,} characters)")
        data = args.primer.read_bytes()
        try:
            primer = data.decode("utf-8")
        except UnicodeDecodeError:
            primer = data.decode("latin-1")  # old ABC files are often Latin-1
    seed_char = None if args.seed_char == "random" else args.seed_char
    return SampleConfig(
        length=args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed_char=seed_char,
        rng=args.rng,
        key=args.key,
        meter=args.meter,
        unit_length=args.unit_length,
        tune_type=args.tune_type,
        primer=primer,
        n=args.n,
        constrained=args.constrained,
        form=args.form,
    )


def write_tunes(tunes: list[Tune], out: Path) -> list[Path]:
    """Write each tune as ``tune_NN.abc`` in ``out`` (created if needed); return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(tunes))))
    paths = []
    for i, tune in enumerate(tunes, start=1):
        path = out / f"tune_{i:0{width}d}.abc"
        write_atomic(path, tune.abc.encode("utf-8"))
        paths.append(path)
    return paths


def write_sound(path: Path, abc: str, sound: str) -> str:
    """Write ``path`` as .mid (and audio unless ``sound`` is "mid") beside it; say what was written.

    A tune music21 cannot read gets no sound files, and the reason is returned instead.
    """
    from musicgen.sound.audio import AudioError, render
    from musicgen.sound.convert import InvalidABCError, parse
    from musicgen.sound.export import to_midi

    try:
        parsed = parse(abc)
        midi = to_midi(parsed)
        write_atomic(path.with_suffix(".mid"), midi)
        if sound != "mid":
            write_atomic(path.with_suffix(f".{sound}"), render(midi, sound))
    except (InvalidABCError, AudioError) as e:
        return f"no sound: {e}"
    written = ".mid" + ("" if sound == "mid" else f", .{sound}")
    return written + (f"; repaired: {'; '.join(parsed.repairs)}" if parsed.repairs else "")


def check_out(text: str | None) -> Path | None:
    """The --out folder, checked before any tune is composed: named, and a folder (there or to be made)
    that can be written in. None (print the tunes) when not given."""
    if text is None:
        return None
    if not text.strip():  # Path("") is the working directory: never write there unasked
        raise ValueError("--out is empty: give a folder to write the tunes into, or leave --out out to print them")
    out = Path(text)
    existing = next(p for p in (out, *out.parents) if p.exists())  # the folder that would hold it
    if not existing.is_dir():
        raise ValueError(f"--out {out}: {existing} is a file, not a folder; give a folder to write the tunes into")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as e:
        raise ValueError(f"--out {out}: cannot write in {existing} ({e.strerror or e}); give another folder") from e
    return out


def run(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    out = check_out(args.out)
    if cfg.free_writing:  # said before the model starts: these settings are written freely
        print(f"note: {cfg.free_writing}", file=sys.stderr)
    tunes = Generator.load(args.weights).generate(cfg)
    if cfg.constrained and not cfg.free_writing and not all(t.meter_aware for t in tunes):
        from musicgen.compose.constrain import FREE_WRITING  # then the primer left it off

        print(f"note: {FREE_WRITING}", file=sys.stderr)
    if out is None:
        print("\n".join(t.abc for t in tunes), end="")
        return 0
    for path, tune in zip(write_tunes(tunes, out), tunes):
        how = "ended by itself" if tune.ended else f"cut at {cfg.length} characters"
        sound = "" if args.sound == "none" else f"; {write_sound(path, tune.abc, args.sound)}"
        print(f"{path}  ({tune.n_chars} characters, {how}, {tune.nats_per_char:.2f} nats/char{sound})", file=sys.stderr)
    return 0
