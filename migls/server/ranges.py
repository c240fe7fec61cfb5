"""The one place where migls positions and LSP positions are converted.

migls counts 1-based lines and 0-based code-point columns (:class:`migls.span.Span`); LSP
counts 0-based lines and columns in the negotiated encoding's code units: UTF-16 unless the
client and server agreed on UTF-32 (code points) or UTF-8 (bytes).
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from migls.span import Span

UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value


def _units(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def column_to_client(text: str, column: int, encoding: str) -> int:
    """A code-point column of the line ``text`` in the client's code units."""
    column = max(0, min(column, len(text)))
    if encoding == UTF32 or text.isascii():
        return column
    return sum(_units(char, encoding) for char in text[:column])


def column_from_client(text: str, character: int, encoding: str) -> int:
    """The code-point column of a client column in the line ``text`` (a column inside a
    character, or past the end of the line, is clamped)."""
    if encoding == UTF32 or text.isascii():
        return max(0, min(character, len(text)))
    units = 0
    for index, char in enumerate(text):
        if units >= character:
            return index
        units += _units(char, encoding)
        if units > character:  # inside a surrogate pair or a multi-byte character
            return index
    return len(text)


def to_position(lines: Sequence[str], line: int, column: int, encoding: str) -> types.Position:
    """LSP position of a 1-based ``line`` and code-point ``column``; past the end of the
    text it is the end of the last line."""
    if not lines:
        return types.Position(line=0, character=0)
    if line > len(lines):
        last = len(lines) - 1
        return types.Position(line=last, character=column_to_client(
            lines[last], len(lines[last]), encoding))
    index = max(line - 1, 0)
    return types.Position(line=index, character=column_to_client(lines[index], column, encoding))


def to_range(lines: Sequence[str], span: Span, encoding: str) -> types.Range:
    """The LSP range of a span of the text split into ``lines``."""
    return types.Range(start=to_position(lines, span.line, span.column, encoding),
                       end=to_position(lines, span.end_line, span.end_column, encoding))


def from_position(lines: Sequence[str], position: types.Position,
                  encoding: str) -> tuple[int, int]:
    """``(1-based line, code-point column)`` of an LSP position."""
    if not lines:
        return 1, 0
    if position.line >= len(lines):
        return len(lines), len(lines[-1])
    text = lines[position.line]
    return position.line + 1, column_from_client(text, position.character, encoding)


def contains(span: Span, line: int, column: int) -> bool:
    """Whether the position is inside ``span`` (both ends included, so that a cursor just
    after a token still counts)."""
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)
