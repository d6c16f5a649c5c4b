"""A bounded memo table shared between threads: what the package remembers of answers it worked out.

>>> squares = Memo(bound=2)
>>> squares.compute(3, lambda: 9), squares.compute(3, lambda: -1)  # the second call finds the first's answer
(9, 9)
>>> squares.get(4) is None, squares.get(4, "absent")
(True, 'absent')
>>> squares.set(4, 16)
16
>>> squares.set(5, 25)  # the table was full: it starts again from this answer
25
>>> len(squares), 5 in squares, 3 in squares
(1, True, False)
>>> squares.clear(); len(squares)
0
>>> Memo(bound=0)
Traceback (most recent call last):
...
ValueError: a memo table holds at least one entry (got a bound of 0)

Full, a table clears rather than evicting entry by entry: an answer costs a dictionary look-up
to find, and what the current work meets comes back within a few calls. Reading takes no lock
(a dictionary look-up is atomic); writing does, so two threads that work out the same key keep
one answer. ``compute`` works the answer out outside the lock: it may read and fill the same
table (a recursive search does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class Memo(Generic[K, V]):
    """At most ``bound`` answers by key; cleared when full (see the module docstring).

    ``get(key, default=None)``: the answer kept for ``key``, or ``default``.
    """

    def __init__(self, bound: int) -> None:
        if bound < 1:
            raise ValueError(f"a memo table holds at least one entry (got a bound of {bound})")
        self.bound = bound
        self._data: dict[K, V] = {}
        self._lock = threading.Lock()
        # the dictionary's own look-up: the hot path of every caller pays no extra Python call
        self.get = self._data.get

    def set(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` (clearing the table first if it is full); return the value kept,
        which is an earlier one if another thread set ``key`` meanwhile."""
        with self._lock:
            data = self._data
            if key not in data and len(data) >= self.bound:
                data.clear()
            return data.setdefault(key, value)

    def compute(self, key: K, work: Callable[[], V]) -> V:
        """The answer kept for ``key``, or ``work()`` kept and returned."""
        value = self._data.get(key, _MISSING)  # one look-up: another thread may clear the table meanwhile
        return self.set(key, work()) if value is _MISSING else value  # type: ignore[return-value]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data
