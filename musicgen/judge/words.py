"""What a character of ABC means where it stands, in a musician's words: "note D", "bar line", "chord symbol".

The classroom views (:mod:`musicgen.app.inside`) and ``musicgen explain`` name the model's next-character
choices this way. A character's meaning depends on what comes before it: a ``D`` is a note in the music,
a chord's root inside a chord symbol (``"D7"``) and text in a title; a newline after a newline is the blank
line that ends the tune. :func:`words` reads just enough of the text before it to tell these apart; it does
not judge whether the ABC is right (the tracker in :mod:`musicgen.compose.tracker` does that).

>>> words("D", "X:1\\nT:A\\nK:G\\n|:G")
'note D'
>>> words("\\n", "X:1\\nK:G\\nGABc|\\n"), words("|", "X:1\\nK:G\\nGAB")
('end of tune', 'bar line')
>>> words('"', "X:1\\nK:G\\n"), words("D", 'X:1\\nK:G\\n"'), words('"', 'X:1\\nK:G\\n"D7')
('chord symbol', 'chord D', 'end of chord symbol')
>>> words("e", "X:1\\nT:Th"), words("K", "X:1\\nT:The Lark\\n"), words("D", "X:1\\nT:A\\nK:"), words(" ", "X:1\\nT:A")
('title: e', 'header line K:', 'key: D', 'title: space')
"""

from __future__ import annotations

import re

FIELDS = {  # header fields the Nottingham tunes use, as a class would name them
    "X": "tune number",
    "T": "title",
    "M": "meter",
    "L": "note length",
    "K": "key",
    "R": "tune type",
    "Q": "tempo",
    "C": "composer",
    "S": "source",
    "Z": "transcriber",
    "N": "notes",
    "O": "origin",
    "P": "parts",
    "Y": "header",
}
MUSIC = {  # a character of the music, outside a chord symbol
    "|": "bar line",
    ":": "repeat sign",
    "]": "end of chord",
    "[": "chord or ending",
    "^": "sharp",
    "_": "flat",
    "=": "natural",
    ",": "octave down",
    "'": "octave up",
    " ": "space",
    "/": "shorter note",
    "-": "tie",
    "(": "slur or triplet",
    ")": "end of slur",
    "~": "roll",
    ">": "broken rhythm",
    "<": "broken rhythm",
    ".": "staccato",
    "z": "rest",
    "x": "rest",
    '"': "chord symbol",
}
_FIELD_LINE = re.compile(r"[A-Za-z]:")


def words(char: str, before: str) -> str:
    """What ``char`` means after the tune's text ``before`` (from its ``X:`` line), in a few plain words.

    >>> words("2", "X:1\\nK:D\\nA"), words("3", "X:1\\nK:D\\n("), words("]", "X:1\\nK:D\\n|")
    ('length 2', 'triplet', 'end bar')
    >>> words("1", "X:1\\nK:D\\n|["), words("X", "")
    ('ending 1', 'header line X:')
    >>> words("\\n", "X:1\\nT:A"), words("@", "X:1\\nK:D\\n")
    ('new line', "character '@'")
    """
    line = before.rsplit("\n", 1)[-1]
    in_header = not any(x.startswith("K:") for x in before.split("\n")[:-1])
    if char == "\n":
        return "end of tune" if before.endswith("\n") or not before else "new line"
    if _FIELD_LINE.match(line):  # a header line (or an inline field in the music): its value
        return f"{FIELDS.get(line[0], f'field {line[0]}:')}: {'space' if char == ' ' else char}"
    if not line and char.isalpha() and (in_header or char not in "ABCDEFGabcdefgzx"):
        return f"header line {char}:"
    if line.count('"') % 2:  # inside a chord symbol
        return "end of chord symbol" if char == '"' else f"chord {char}" if char.isalnum() else f"chord symbol {char}"
    if in_header and line:
        return f"header: {'space' if char == ' ' else char}"
    if char.upper() in "ABCDEFG":
        return f"note {char}"
    if char.isdigit():
        last = line[-1:]
        if last == "(":
            return "triplet" if char == "3" else f"group of {char}"
        if last in ("[", "|") or line.endswith(":|"):
            return f"ending {char}"
        return f"length {char}"
    if char == "]" and line.endswith("|"):
        return "end bar"
    return MUSIC.get(char, f"character {char!r}")


def shown(char: str) -> str:
    r"""A character as a table prints it: a newline as ``\n``, a space as ``␣``.

    >>> [shown(c) for c in "\n a"]
    ['\\n', '␣', 'a']
    """
    return {"\n": "\\n", " ": "␣", "\t": "\\t"}.get(char, char)
