"""The sounds the app's server keeps, within a budget of bytes: the most recently played first, shared by every
session and thread.

    shelf = Shelf(max_bytes=64_000_000, max_entries=8)
    sound = shelf.get(key, lambda wanted: make_sound(abc, ..., wanted=wanted))   # made once, then kept while it fits
    sound = shelf.get(key, make, wanted=still_going)                              # dropped when no one waits for it

Why a shelf and not ``st.cache_data(max_entries=...)``: a count of entries does not bound memory when one
tune's audio can be 100 times another's (a 98-bar slow air was a 113 MB WAV; audio now stops at
``musicgen.sound.budget.MAX_AUDIO_BYTES``), and ``st.cache_data`` hands each reader its own unpickled copy
of the bytes, so every rerun of every session allocated the WAV again. The shelf hands out the one kept
object (a frozen :class:`~musicgen.app.render.Sound`: safe to share) and drops the least recently used
sounds while the bytes it holds are over its budget; a sound over the whole budget is made and returned but
never kept. Sessions keep no audio of their own (their history keeps ABC), so after a hostile session the
server holds at most this budget of sounds, whoever made them.

**A sound under way.** A second caller of a key being made waits for it instead of making it again (a rerun of
the page while its sound is made asks for the same sound). ``make`` is given a ``wanted()`` to ask while it
works: True while its own caller's ``wanted`` says so or another caller waits. Streamlit starts a new run of
the script at each change of a widget and leaves the old one to stop at its next call, so without this a
tempo slider pressed three times made three sounds at once, the last one waiting for the first two.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar


class Sized(Protocol):
    midi: bytes | None
    audio: bytes | None


# The app's shelf: five minutes of recent WAV (a minute is 11 MB), or one tune at the audio ceiling (46 MB)
SOUND_BYTES = 64_000_000
SOUND_ENTRIES = 16  # sounds kept: a few recent tunes of each of a classroom's sessions, and their sound options

K = TypeVar("K", bound=Hashable)
S = TypeVar("S", bound=Sized)


def size(sound: Sized) -> int:
    """The bytes a sound holds: its MIDI and its audio."""
    return len(sound.midi or b"") + len(sound.audio or b"")


MAX_WAITS = 3  # sounds under way a caller waits for, each made by another caller that failed, before making its own
WAIT_S = 120.0  # the longest wait for one (a sound's making has a deadline of its own, TUNE_S: far less)


class _Making(Generic[S]):
    """A sound under way: set once made (None if its maker failed), and how many callers wait for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.sound: S | None = None
        self.waiting = 0


class Shelf(Generic[K, S]):
    """At most ``max_entries`` sounds of at most ``max_bytes`` in all, by key; least recently used go first.

    >>> from musicgen.app.render import Sound
    >>> shelf = Shelf(max_bytes=10, max_entries=2)
    >>> a = shelf.get("a", lambda wanted: Sound(audio=b"aaaa"))
    >>> shelf.get("a", lambda wanted: Sound(audio=b"other")) is a        # kept: the same object again
    True
    >>> _ = shelf.get("b", lambda wanted: Sound(audio=b"bbbb")); _ = shelf.get("a", lambda wanted: a)  # "a" last
    >>> _ = shelf.get("c", lambda wanted: Sound(audio=b"cccc"))          # 12 bytes: "b" goes
    >>> shelf.keys(), shelf.bytes
    (['a', 'c'], 8)
    >>> big = shelf.get("big", lambda wanted: Sound(audio=b"x" * 11))    # over the whole budget: returned, not kept
    >>> len(big.audio), shelf.keys()
    (11, ['a', 'c'])
    >>> shelf.get("d", lambda wanted: Sound(audio=bytes(wanted())), wanted=lambda: False).audio  # no one waits
    b''
    >>> Shelf(max_bytes=0, max_entries=1)
    Traceback (most recent call last):
    ...
    ValueError: a shelf needs a positive budget of bytes and entries (got 0 bytes, 1 entries)
    """

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        if max_bytes < 1 or max_entries < 1:
            raise ValueError(
                f"a shelf needs a positive budget of bytes and entries (got {max_bytes} bytes, {max_entries} entries)"
            )
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._items: OrderedDict[K, S] = OrderedDict()
        self._making: dict[K, _Making[S]] = {}  # the sounds under way, by key
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[Callable[[], bool]], S], wanted: Callable[[], bool] | None = None) -> S:
        """The sound kept for ``key``; else the one under way for it, once made; else ``make(still_wanted)``'s,
        kept while it fits (made outside the lock). ``still_wanted()``: ``wanted()`` (default: True) or another
        caller waits for this sound. Whatever ``make`` raises reaches its own caller; one waiting makes the
        sound itself then."""
        for _ in range(MAX_WAITS):
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                making = self._making.get(key)
                if making is None:
                    making = self._making[key] = _Making()
                    break
                making.waiting += 1
            making.done.wait(WAIT_S)
            with self._lock:
                making.waiting -= 1
            if making.sound is not None:
                return making.sound
        else:  # (each maker failed, was dropped or took too long: make one here, shared with no one)
            making = _Making()
        try:
            sound = make(lambda: making.waiting > 0 or wanted is None or wanted())
            making.sound = sound
        finally:
            with self._lock:
                if self._making.get(key) is making:
                    del self._making[key]
            making.done.set()
        with self._lock:
            if key in self._items:  # another caller made it meanwhile: keep one
                self._items.move_to_end(key)
                return self._items[key]
            if size(sound) <= self.max_bytes:
                self._items[key] = sound
                self.bytes += size(sound)
                while self.bytes > self.max_bytes or len(self._items) > self.max_entries:
                    _, dropped = self._items.popitem(last=False)
                    self.bytes -= size(dropped)
        return sound

    def peek(self, key: K) -> S | None:
        """The sound kept for ``key`` (now the most recently used), or None: nothing is made.

        >>> from musicgen.app.render import Sound
        >>> shelf = Shelf(max_bytes=10, max_entries=2)
        >>> shelf.peek("a") is None, shelf.get("a", lambda wanted: Sound(audio=b"a")) is shelf.peek("a")
        (True, True)
        """
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def keys(self) -> list[K]:
        """The keys kept, least recently used first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
