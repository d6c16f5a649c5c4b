"""The character vocabulary: built sorted and deterministic, encode/decode, JSON.

The vocabulary is every character of the training text plus printable ASCII and
newline, so a checkpoint can score or continue any plain-ASCII ABC even when the
training tunes never used some character (the model gives those a low
probability). Characters outside it raise :class:`UnknownCharacterError`, which
names them.

>>> v = Vocab.from_text("X:1\\nK:G\\n")
>>> v.decode(v.encode("K:G"))
'K:G'
>>> v.encode("K:G é")
Traceback (most recent call last):
...
musicgen.data.vocab.UnknownCharacterError: 1 character(s) the model does not know: 'é' (U+00E9) at position 4; remove or replace them
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BASE_CHARS = frozenset(string.printable) - frozenset("\t\r\x0b\x0c")  # printable ASCII + space + \n


class UnknownCharacterError(ValueError):
    """Text holds characters outside the vocabulary."""

    def __init__(self, text: str, unknown: Sequence[str], where: str = "") -> None:
        first = {c: text.index(c) for c in unknown}
        shown = ", ".join(f"{c!r} (U+{ord(c):04X}) at position {first[c]}" for c in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        prefix = f"{where}: " if where else ""  # which text, when the caller checks several
        super().__init__(
            f"{prefix}{len(unknown)} character(s) the model does not know: {shown}{more}; remove or replace them"
        )
        self.unknown = list(unknown)


class Vocab:
    """A fixed, ordered set of characters with integer ids."""

    def __init__(self, chars: Sequence[str]) -> None:
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("a vocabulary is a list of distinct single characters")
        self.chars: list[str] = list(chars)
        self.index: dict[str, int] = {c: i for i, c in enumerate(self.chars)}
        self._lookup = np.array(self.chars)
        # Code points sorted, with the id of each: encode is then one vectorised binary search.
        points = np.array([ord(c) for c in self.chars], dtype=np.uint32)
        order = np.argsort(points)
        self._points, self._point_ids = points[order], order.astype(np.int32)

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        return cls(sorted(set(text) | BASE_CHARS))

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self.index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.chars == other.chars

    def unknown(self, text: str) -> list[str]:
        """The distinct characters of ``text`` outside the vocabulary, in order of first use."""
        return list(dict.fromkeys(c for c in text if c not in self.index))

    def check(self, text: str) -> None:
        """Raise :class:`UnknownCharacterError` if ``text`` has characters outside the vocabulary."""
        missing = self.unknown(text)
        if missing:
            raise UnknownCharacterError(text, missing)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text`` (int32); UnknownCharacterError names any character outside the vocabulary."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        if not len(self._points):
            self.check(text)
            return np.zeros(0, dtype=np.int32)
        where = np.minimum(np.searchsorted(self._points, points), len(self._points) - 1)
        if not np.array_equal(self._points[where], points):
            self.check(text)
        return self._point_ids[where]

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return "".join(self._lookup[np.asarray(ids, dtype=np.int64)])

    def to_json(self) -> str:
        return json.dumps({"chars": self.chars}, ensure_ascii=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Vocab:
        return cls(json.loads(text)["chars"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))
