r"""Header values that set the rhythm: ``M:`` (meter) and ``L:`` (unit note length), and ABC's default unit.

Durations are :class:`~fractions.Fraction` s of a whole note. Meters and unit
lengths count in note values, so their denominators are powers of two.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple


class Meter(NamedTuple):
    """A time signature as written (6/8 and 3/4 differ in tuplets, not in length)."""

    beats: int
    unit: int

    @property
    def length(self) -> Fraction:
        return Fraction(self.beats, self.unit)

    @property
    def compound(self) -> bool:
        return self.beats % 3 == 0 and self.beats > 3


def parse_meter(value: str) -> Meter | None:
    """An ``M:`` value as a :class:`Meter`; ``None`` for free meter.

    >>> parse_meter("6/8"), parse_meter("C"), parse_meter("C|"), parse_meter("2+3/8"), parse_meter(" none ")
    (Meter(beats=6, unit=8), Meter(beats=4, unit=4), Meter(beats=2, unit=2), Meter(beats=5, unit=8), None)
    >>> parse_meter("6/0")
    Traceback (most recent call last):
    ...
    ValueError: not a meter: '6/0'
    >>> parse_meter("3/9")  # a meter counts in note values: halves, quarters, eighths...
    Traceback (most recent call last):
    ...
    ValueError: not a meter: '3/9'
    """
    v = value.split("%")[0].strip()
    if v.lower() in ("", "none"):
        return None
    if v in ("C", "C|"):
        return Meter(4, 4) if v == "C" else Meter(2, 2)
    top, _, bottom = v.partition("/")
    try:
        beats, unit = sum(int(x) for x in top.strip("()").split("+")), int(bottom)
    except ValueError:
        raise ValueError(f"not a meter: {value!r}") from None
    if beats <= 0 or not _power_of_two(unit):
        raise ValueError(f"not a meter: {value!r}")
    return Meter(beats, unit)


def parse_unit(value: str) -> Fraction:
    """An ``L:`` value: the unit note length.

    >>> str(parse_unit("1/8")), str(parse_unit(" 1/4 ")), str(parse_unit("1"))
    ('1/8', '1/4', '1')
    >>> parse_unit("eighth")
    Traceback (most recent call last):
    ...
    ValueError: not a unit note length: 'eighth'
    >>> parse_unit("1/6")
    Traceback (most recent call last):
    ...
    ValueError: not a unit note length: '1/6'
    """
    try:
        unit = Fraction(value.split("%")[0].strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a unit note length: {value!r}") from None
    if unit <= 0 or not _power_of_two(unit.denominator):
        raise ValueError(f"not a unit note length: {value!r}")
    return unit


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def default_unit(meter: Meter | None) -> Fraction:
    """The unit note length when no ``L:`` is given: 1/16 below 3/4, else 1/8.

    >>> [str(default_unit(m)) for m in [Meter(2, 4), Meter(3, 4), Meter(6, 8), Meter(2, 2), None]]
    ['1/16', '1/8', '1/8', '1/8', '1/8']
    """
    return Fraction(1, 16) if meter is not None and meter.length < Fraction(3, 4) else Fraction(1, 8)
