"""The shape of what training measured: a checkpoint's ``metrics.json`` and a run's loss history.

Metrics are informative only (the model runs without them), so :func:`usable` turns a
file that is not what training writes into no metrics at all, never an error; the
model card and ``musicgen score`` then say what they lack. Only fields that are there
are checked: checkpoints from older versions hold fewer.

>>> usable({"best_epoch": 3, "data": {"paths": ["a.abc"], "tunes": 10}})["best_epoch"]
3
>>> usable({"data": 5}), usable({"history": [{"epoch": "one"}]}), usable([1, 2])
({}, {}, {})
"""

from __future__ import annotations

import math
from typing import Any

HISTORY_FIELDS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "learning_rate")
_NUMBER = (int, float)
FIELDS: dict[str, Any] = {
    "best_epoch": int,
    "best_val_loss": _NUMBER,
    "epochs_run": int,
    "history": list,
    "train_seconds": _NUMBER,
    "hardware": str,
    "distribution": str,
    "weights_sha256": (str, type(None)),
    "data": dict,
}
DATA_FIELDS: dict[str, Any] = {
    "paths": list,
    "tunes": int,
    "train_tunes": int,
    "val_tunes": int,
    "train_chars": int,
    "val_chars": int,
}


def usable(value: Any) -> dict[str, Any]:
    """``value`` (metrics.json as read) if it has the shape training writes, else ``{}``."""
    if not isinstance(value, dict) or not _typed(value, FIELDS):
        return {}
    data = value.get("data", {})
    if not _typed(data, DATA_FIELDS) or not all(isinstance(p, str) for p in data.get("paths", [])):
        return {}
    return value if history_ok(value.get("history", [])) else {}


def history_ok(history: Any, epochs: int | None = None) -> bool:
    """A list of epoch records 1, 2, ... (``epochs`` of them, when given), each with every field a number.

    >>> history_ok([dict.fromkeys(HISTORY_FIELDS, 1)]), history_ok([{"epoch": 1}]), history_ok([], epochs=1)
    (True, False, False)
    """
    if not isinstance(history, list) or (epochs is not None and len(history) != epochs):
        return False
    return all(
        isinstance(h, dict)
        and h.get("epoch") == i + 1
        and all(_is(h.get(k), _NUMBER) for k in HISTORY_FIELDS)
        and math.isfinite(h["learning_rate"])
        for i, h in enumerate(history)
    )


def _typed(record: dict[str, Any], fields: dict[str, Any]) -> bool:
    return all(_is(record[k], kind) for k, kind in fields.items() if k in record)


def _is(value: Any, kind: Any) -> bool:
    """isinstance, except that JSON's true and false are no numbers."""
    return isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
