"""How a bad value appears in an error message: quoted, and cut when it is long."""

from __future__ import annotations

SHOWN_CHARACTERS = 60


def shown(value: object, limit: int = SHOWN_CHARACTERS) -> str:
    """``repr`` of a string (of ``str(value)`` otherwise), its first ``limit`` characters and an ellipsis when longer."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text)} characters)"
