"""Suppression comments: ``# migls: ignore[MG401] -- reason`` and ``# migls: file-ignore[MG3]``."""

from __future__ import annotations

import io
import re
import tokenize
from bisect import bisect_right
from dataclasses import dataclass, field

from migls.span import Span

_COMMENT = re.compile(
    r"#\s*migls:\s*(?P<kind>file-ignore|ignore)\b"
    r"(?:\[(?P<codes>[^\]]*)\])?"
    r"(?:\s*(?:--|:|—)\s*(?P<reason>.*\S))?"
)


@dataclass(slots=True)
class Suppression:
    """One suppression comment."""

    span: Span
    #: Selectors (codes, prefixes, names); empty means "everything".
    selectors: tuple[str, ...]
    reason: str | None
    file_level: bool
    #: Lines whose diagnostics it covers (empty for file-level).
    lines: frozenset[int] = frozenset()
    used: set[str] = field(default_factory=set)


def find_suppressions(text: str, statements: list[tuple[int, int]]) -> list[Suppression]:
    """Every suppression comment in ``text``; ``statements`` are the (first, last) lines of
    each statement, so that a comment can cover a whole multi-line call."""
    found: list[Suppression] = []
    if "migls" not in text:
        return found  # the tokenizer is the slow part; most files have no suppression
    for line, column, comment, standalone in _comments(text):
        # Our pragma may follow another tool's in the same comment: "# type: ignore  # migls: ..."
        match = _COMMENT.search(comment)
        if match is None:
            continue
        column += match.start()
        comment = comment[match.start():]
        codes = match.group("codes")
        selectors = tuple(c.strip() for c in codes.split(",") if c.strip()) if codes else ()
        span = Span(line, column, line, column + len(comment))
        file_level = match.group("kind") == "file-ignore"
        lines = frozenset() if file_level else _covered_lines(line, standalone, statements)
        found.append(Suppression(span, selectors, match.group("reason"), file_level, lines))
    return found


def _covered_lines(line: int, standalone: bool, statements: list[tuple[int, int]]) -> frozenset[int]:
    """A trailing comment covers its line and, on the first line of a multi-line statement,
    the whole statement; a comment on a line of its own covers the next statement."""
    starts = [first for first, _ in statements]
    if standalone:
        index = bisect_right(starts, line)
        if index < len(statements):
            first, last = statements[index]
            return frozenset(range(first, last + 1))
        return frozenset({line + 1})
    covered = {line}
    index = bisect_right(starts, line) - 1
    while index >= 0 and statements[index][0] == line:
        first, last = statements[index]
        covered.update(range(first, last + 1))
        index -= 1
    return frozenset(covered)


def _comments(text: str) -> list[tuple[int, int, str, bool]]:
    """(line, column, text, on a line of its own) of each comment."""
    out: list[tuple[int, int, str, bool]] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                line, column = token.start
                standalone = not token.line[:column].strip()
                out.append((line, column, token.string, standalone))
        return out
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    # A file that does not tokenize: look for our comments line by line.
    out.clear()
    # Lines as Python counts them (LF only; splitlines would also break at form feeds, \x85,
    # \u2028... and shift every line after them).
    for number, line_text in enumerate(text.split("\n"), start=1):
        index = line_text.find("# migls:")
        if index < 0:
            index = line_text.find("#migls:")
        if index >= 0:
            out.append((number, index, line_text[index:].rstrip(), not line_text[:index].strip()))
    return out
