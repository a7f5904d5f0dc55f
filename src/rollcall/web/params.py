"""Numbers from a request (JSON body, form or query string), checked the same way everywhere."""

from __future__ import annotations

import math

from flask import abort


def number(
    name: str, value: object, kind: type, low: float | None = None, high: float | None = None
) -> float:
    """``value`` as ``kind`` (int or float) within [low, high], or a 400 naming the field."""
    try:
        got = kind(value)
    except (TypeError, ValueError, OverflowError):  # int(Infinity) overflows (was a 500)
        abort(400, description=f"{name} must be {'an integer' if kind is int else 'a number'}")
    if isinstance(got, float) and not math.isfinite(got):
        abort(400, description=f"{name} must be finite")
    if low is not None and got < low:
        abort(400, description=f"{name} must be at least {_shown(low)}")
    if high is not None and got > high:
        abort(400, description=f"{name} must be at most {_shown(high)}")
    return got


def _shown(bound: float) -> str:
    # An integer bound in full: 2147483647, not 2.14748e+09.
    return str(bound) if isinstance(bound, int) else f"{bound:g}"
