"""Lists shown in error messages: cut short, but never silently."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def format_items(items: Iterable, limit: int = 5) -> str:
    """A list literal of ``items``, cut to ``limit`` entries with the total if longer.

    Parameters
    ----------
    items : iterable
        Values to show (numpy scalars are shown as plain Python values).
    limit : int, default=5
        Entries shown before the "…".

    Returns
    -------
    str

    Examples
    --------
    >>> format_items(["a", "b", "c", "d", "e", "f", "g"])
    "['a', 'b', 'c', 'd', 'e', … (7 in all)]"
    >>> format_items(np.array([3, 1]))
    '[3, 1]'
    """
    values = [v.item() if isinstance(v, np.generic) else v for v in items]
    shown = ", ".join(repr(v) for v in values[:limit])
    if len(values) > limit:
        shown += f", … ({len(values)} in all)"
    return f"[{shown}]"
