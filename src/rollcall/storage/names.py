"""The names people, courses and sessions are known by: also the portal's addresses for them."""

from __future__ import annotations

import unicodedata

from rollcall.errors import RollcallError


def check_name(kind: str, name: str) -> str:
    """The name without surrounding spaces, or RollcallError saying why it cannot be used.

    A "/" would split the portal's address of the thing in two (/sessions/CS101/2024 is not the
    page of session "CS101/2024"), and control characters cannot be typed back."""
    name = name.strip()
    if not name:
        raise RollcallError(f"a {kind} name cannot be empty")
    if "/" in name:
        raise RollcallError(
            f"a {kind} name cannot contain '/' ({name!r}); the portal addresses {kind}s by name "
            "(use '-' instead)"
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise RollcallError(f"a {kind} name cannot contain control characters ({name!r})")
    return name


def check_exact_name(kind: str, name: str) -> str:
    """check_name for names that are looked up as given (sessions, courses): no trimming."""
    if check_name(kind, name) != name:
        raise RollcallError(f"a {kind} name cannot start or end with spaces ({name!r})")
    return name
