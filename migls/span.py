"""Ranges in a file."""

from __future__ import annotations

from dataclasses import dataclass

from migls._pickling import pickled_by_fields


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Span:
    """A range in a file: 1-based lines, 0-based code-point columns, exclusive end."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, line: int, column: int = 0) -> Span:
        """An empty span at one position."""
        return cls(line, column, line, column)
