"""Turn a musician's choices (key, meter, unit length, tune type, primer ABC) into the text the model continues.

The model learnt tunes that start ``X:``, ``T:``, a few header fields in the
order ``M:``, ``L:``, ``R:`` and end their header with ``K:``. So "a jig in D"
becomes the prompt ``X:1 / T:<title> / M:6/8 / R:Jig / K:D`` and the model
writes the music. The title is left for the model to write (a *title slot*):
the prompt is cut in two around it, :attr:`Prompt.head` before and
:attr:`Prompt.tail` after.

A primer is any ABC to continue: header lines, first bars, or both. Its own
header lines are kept in their order; the chosen fields it lacks are added
before its ``K:``; a field given both ways with different values is an error.

>>> build_prompt(SampleConfig(tune_type="jig", key="D"))
Prompt(head='X:1\\nT:', title_slot=True, tail='M:6/8\\nR:Jig\\nK:D\\n', random_start=False)
>>> build_prompt(SampleConfig(primer="X:3\\nT:Mine\\nK:G\\n|:GAB"))
Prompt(head='X:3\\nT:Mine\\nK:G\\n|:GAB', title_slot=False, tail='', random_start=False)
>>> build_prompt(SampleConfig(seed_char=None)).random_start
True
>>> build_prompt(SampleConfig())  # the default seed character "X" starts a tune with a model-written title
Prompt(head='X:1\\nT:', title_slot=True, tail='', random_start=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from musicgen.abcnotation.tunetypes import usual
from musicgen.config import SampleConfig
from musicgen.data.corpus import normalise_tune

UNTITLED = "Untitled"  # the title of a tune that has none
MAX_TITLE = 60  # characters of a model-written title; Nottingham's longest is 49

FIELD_LINE = re.compile(r"^[A-Za-z]:")  # a header field line (music lines may hold "|:" but start otherwise)


class PrimerError(ValueError):
    """The primer cannot start a tune as given (several tunes, music without a key, a clash)."""


@dataclass(frozen=True)
class Prompt:
    """The text every stream starts from (after the blank line that ends the previous tune)."""

    head: str  # fed first; when random_start is set it is empty and each stream starts with a random character
    title_slot: bool  # after head the model writes the title line (up to MAX_TITLE characters)
    tail: str  # fed after the title line
    random_start: bool = False


def build_prompt(cfg: SampleConfig) -> Prompt:
    """The prompt for ``cfg``: raises :class:`PrimerError` or ValueError with a sentence when it cannot be built."""
    fields = chosen_fields(cfg)
    if cfg.constrained and "K" in fields and "M" not in fields and not cfg.primer and cfg.seed_char == "X":
        del fields["K"]  # meter-aware decoding needs M: before K:: the model writes both, held to this key
    if not cfg.primer and not fields:
        if cfg.seed_char is None:
            return Prompt("", False, "", random_start=True)
        if cfg.seed_char == "X":  # the start of a tune: every Nottingham tune goes on ":<number>", then a title
            return Prompt("X:1\nT:", True, "")
        return Prompt(cfg.seed_char, False, "")
    if cfg.seed_char not in (None, "X"):
        raise ValueError(
            f"seed_char {cfg.seed_char!r} cannot start a tune whose header or primer you gave: such a tune "
            "starts with its X: line; leave seed_char at 'X' (or None)"
        )
    header, body, open_line = _split_primer(cfg.primer)
    present = {line[0]: line for line in header}
    for field, value in fields.items():
        if field in present and present[field][2:].strip() != value:
            raise PrimerError(
                f"the primer says {present[field]!r} but the settings say {field}:{value}: "
                "give it once, or make them agree"
            )
    missing = [f"{field}:{value}" for field, value in fields.items() if field not in present]
    at = next((i for i, line in enumerate(header) if line.startswith("K:")), len(header))
    header[at:at] = missing  # chosen fields go before K:, which must end the header
    closed = any(line.startswith("K:") for line in header)
    if body and not closed:
        raise PrimerError(
            "the primer has music but no K: line before it: choose a key, "
            "or start the primer with a header ending in K:"
        )
    if "X" not in present:
        header.insert(0, "X:1")
    ends_open = open_line and not missing and not body  # the primer's last header line is unfinished: continue it
    if "T" in present or (len(header) == 1 and not body):  # a title, or nothing after X: for the model to follow
        return Prompt(_join(header, ends_open) + body, False, "")
    return Prompt(header[0] + "\nT:", True, _join(header[1:], ends_open) + body)


def _join(lines: list[str], ends_open: bool) -> str:
    """Header lines as text, each ended by a newline unless the last one is left open for the model."""
    text = "\n".join(lines)
    return text if ends_open or not lines else text + "\n"


def chosen_fields(cfg: SampleConfig) -> dict[str, str]:
    """The header fields the settings ask for, in the order the model learnt them (K: last)."""
    kind = usual(cfg.tune_type) if cfg.tune_type else None
    meter = cfg.meter or (kind.meter if kind else None)  # a type chosen without a meter: its usual one
    tune_type = cfg.tune_type[0].upper() + cfg.tune_type[1:] if cfg.tune_type else None  # as Nottingham: R:Hornpipe
    chosen = {"M": meter, "L": cfg.unit_length, "R": tune_type, "K": cfg.key}
    return {field: value for field, value in chosen.items() if value}


def _split_primer(primer: str) -> tuple[list[str], str, bool]:
    """Split primer ABC into its header lines, the music after them, and whether its last line is unfinished.

    >>> _split_primer("X: 2\\r\\nT:A\\nK:G\\n% comment\\n|:GAB|\\n")
    (['X:2', 'T:A', 'K:G'], '|:GAB|\\n', False)
    >>> _split_primer("X:1\\nT:The")
    (['X:1', 'T:The'], '', True)
    >>> _split_primer("X:1\\nK:G\\nabc|\\nX:2\\n")
    Traceback (most recent call last):
    ...
    musicgen.compose.prompt.PrimerError: the primer holds 2 tunes (X: lines): give the one tune to continue
    """
    if not primer.strip():
        return [], "", False
    text = normalise_tune(primer)
    if primer.replace("\r", "\n").rstrip(" \t").endswith("\n"):
        text += "\n"
    lines = text.split("\n")
    xs = [i for i, line in enumerate(lines) if line.startswith("X:")]
    if len(xs) > 1:
        raise PrimerError(f"the primer holds {len(xs)} tunes (X: lines): give the one tune to continue")
    if xs and xs[0] != 0:
        raise PrimerError("the primer's X: line must be its first line (X: starts a tune)")
    header: list[str] = []
    for line in lines:
        if not FIELD_LINE.match(line) or any(h.startswith("K:") for h in header):
            break
        header.append(line)
    body = "\n".join(lines[len(header) :])
    unfinished = not body and not text.endswith("\n")
    return header, body, unfinished


def tidy(text: str, number: int = 1, keep: str = "") -> str:
    """One clean tune: an ``X:`` line first, a non-empty ``T:`` line, no trailing blank lines.

    Header ``S:`` (source) lines the model wrote are dropped: it imitates the
    collectors' credits of its training tunes, and a new tune must not name a real
    person as its source. Lines of ``keep`` (the prompt) stay.

    >>> tidy("X:5\\nT:\\nK:G\\nabc|\\n\\n")
    'X:5\\nT:Untitled\\nK:G\\nabc|\\n'
    >>> tidy("ga|bag|", number=3)
    'X:3\\nT:Untitled\\nga|bag|\\n'
    >>> tidy("X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|")
    'X:1\\nM:6/8\\nT:Late title\\nK:D\\nd|\\n'
    >>> tidy("X:1/8\\nT:A\\nK:G\\nG|", number=2)  # music21 cannot read an X: that is not a number
    'X:2\\nT:A\\nK:G\\nG|\\n'
    >>> tidy("X:1\\nT:A\\nS:Trad, via EF\\nS:Mine\\nK:G\\nG|", keep="X:1\\nS:Mine\\n")
    'X:1\\nT:A\\nS:Mine\\nK:G\\nG|\\n'
    """
    lines = text.rstrip().split("\n")
    if not lines[0].startswith("X:"):
        lines.insert(0, f"X:{number}")
    elif not lines[0][2:].strip().isdigit():
        lines[0] = f"X:{number}"
    in_header = (i for i, line in enumerate(lines) if line.startswith("K:") or not FIELD_LINE.match(line))
    header_end = next(in_header, len(lines))
    kept = set(keep.split("\n"))
    dropped = [i for i in range(header_end) if lines[i].startswith("S:") and lines[i] not in kept]
    lines = [line for i, line in enumerate(lines) if i not in dropped]
    header_end -= len(dropped)
    titles = [i for i in range(1, header_end) if lines[i].startswith("T:")]
    if not titles:
        lines.insert(1, f"T:{UNTITLED}")
    elif not lines[titles[0]][2:].strip():
        lines[titles[0]] = f"T:{UNTITLED}"
    return "\n".join(lines) + "\n"
