"""SQL in ``op.execute`` literals, parsed with PostgreSQL's own parser (pglast = libpg_query)
and mapped back to positions in the revision file."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from migls.ops import Operation
from migls.span import Span


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a literal: its parse node and its character range in the SQL."""

    node: Any
    start: int
    end: int

    @property
    def kind(self) -> str:
        """The parse node's type, e.g. ``IndexStmt``, ``AlterTableStmt``."""
        return type(self.node).__name__


@lru_cache(maxsize=4096)
def parse(sql: str) -> tuple[Statement, ...] | None:
    """The statements of ``sql``; ``None`` when PostgreSQL's parser rejects it (a template,
    another dialect): then nothing is claimed about it."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        raw = parse_sql(sql)
    except ParseError:
        return None
    data = sql.encode("utf-8")
    out: list[Statement] = []
    for item in raw:
        begin = item.stmt_location or 0
        length = item.stmt_len or (len(data) - begin)
        # libpg_query counts bytes; rules and editors count characters.
        start = len(data[:begin].decode("utf-8", errors="ignore"))
        end = start + len(data[begin:begin + length].decode("utf-8", errors="ignore"))
        while start < end and sql[start].isspace():
            start += 1
        out.append(Statement(item.stmt, start, end))
    return tuple(out)


def statements(op: Operation) -> tuple[Statement, ...]:
    """The parsed statements of an ``op.execute`` literal (empty when not literal SQL)."""
    if op.sql is None:
        return ()
    return parse(op.sql) or ()


def span_in_file(op: Operation, start: int, end: int) -> Span:
    """Where characters ``start:end`` of ``op.sql`` are in the file; the whole call when the
    literal's pieces cannot be mapped exactly (escapes)."""
    if not op.sql_pieces:
        return op.span
    first = _position(op.sql_pieces, start)
    last = _position(op.sql_pieces, max(start, end))
    if first is None or last is None:
        return op.span
    return Span(first[0], first[1], last[0], last[1])


def _position(pieces: tuple[tuple[str, int, int], ...], offset: int) -> tuple[int, int] | None:
    consumed = 0
    for text, line, column in pieces:
        if offset <= consumed + len(text):
            inside = text[:offset - consumed]
            newlines = inside.count("\n")
            if newlines:
                return line + newlines, len(inside) - inside.rfind("\n") - 1
            return line, column + len(inside)
        consumed += len(text)
    return None
