"""Fixes: what a rule proposes as text edits, and applying them to a file safely.

A fix is a titled set of non-overlapping edits marked *safe* (keeps behaviour: ``--fix`` and
fix-all on save apply it) or *unsafe* (changes behaviour or needs a decision: only with
``--unsafe-fixes``, or one at a time in the editor). Edits are ranges in the file as the
rules see it (1-based lines, 0-based code-point columns), so the CLI and the editor apply
the same ones.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from migls._pickling import pickled_by_fields
from migls.model import RevisionFile
from migls.ops import Operation
from migls.source import SourceText
from migls.span import Span


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Edit:
    """Replace ``span`` with ``content``."""

    span: Span
    content: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Fix:
    """A titled change that resolves one finding."""

    title: str
    safe: bool
    edits: tuple[Edit, ...]

    @property
    def safety(self) -> str:
        """``"safe"`` or ``"unsafe"``, as in the JSON output."""
        return "safe" if self.safe else "unsafe"


def quote_identifier(name: str) -> str:
    """``name`` as PostgreSQL needs it written in SQL (quoted only when it must be)."""
    from pglast.stream import maybe_double_quote_name  # pglast loads only for a fix

    return maybe_double_quote_name(name)


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with the edits applied; overlapping edits after the first are dropped."""
    offsets = _line_offsets(text)
    chosen: list[tuple[int, int, str]] = []
    for edit in sorted(edits, key=lambda e: (e.span.line, e.span.column, e.span.end_line, e.span.end_column)):
        start = _offset(offsets, text, edit.span.line, edit.span.column)
        end = _offset(offsets, text, edit.span.end_line, edit.span.end_column)
        if chosen and start < chosen[-1][1]:
            continue  # overlaps an earlier edit: the next run picks it up
        chosen.append((start, end, edit.content))
    for start, end, content in reversed(chosen):
        text = text[:start] + content + text[end:]
    return text


def apply_fixes(text: str, fixes: Sequence[Fix]) -> tuple[str, int]:
    """Apply whole fixes in order, skipping any fix that overlaps one already taken (the next
    round picks it up); returns the new text and how many fixes were applied."""
    taken: list[Edit] = []
    applied = 0
    offsets = _line_offsets(text)

    def bounds(edit: Edit) -> tuple[int, int]:
        return (_offset(offsets, text, edit.span.line, edit.span.column),
                _offset(offsets, text, edit.span.end_line, edit.span.end_column))

    for fix in fixes:
        ranges = [bounds(edit) for edit in fix.edits]
        if any(start < b_end and b_start < end or (start == end == b_start)
               for start, end in ranges for b_start, b_end in map(bounds, taken)):
            continue
        taken.extend(fix.edits)
        applied += 1
    return apply_edits(text, taken), applied


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    for index, char in enumerate(text):
        if char == "\n":
            offsets.append(index + 1)
    return offsets


def _offset(offsets: list[int], text: str, line: int, column: int) -> int:
    if line - 1 >= len(offsets):
        return len(text)
    return min(offsets[line - 1] + column, len(text))


def write_atomically(path: Path, source: SourceText, text: str) -> None:
    """Write ``text`` over ``path`` in its original encoding and line endings: a temporary
    file in the same directory, then a rename, so a reader (or an interruption) sees the old
    file or the new one, never a mix. A symlink is replaced where it points, not followed out
    of its directory."""
    data = source.encode(text)
    directory = path.parent
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".migls", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(temporary, path.stat().st_mode & 0o7777)
        except OSError:
            pass
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# -- edits the rules share -----------------------------------------------------------------


def statement_lines(file: RevisionFile, line: int) -> tuple[int, int] | None:
    """The (first, last) lines of the innermost simple statement on ``line``."""
    containing = [(first, last) for first, last in file.statements if first <= line <= last]
    return max(containing, default=None)  # the innermost starts last


def wrap_in_autocommit_block(file: RevisionFile, span: Span) -> Edit | None:
    """Wrap the statement at ``span`` in ``with op.get_context().autocommit_block():``."""
    if file.source is None:
        return None
    lines = file.source.text.split("\n")
    found = statement_lines(file, span.line)
    if found is None:
        return None
    first, last = found
    block = lines[first - 1:last]
    indent = block[0][:len(block[0]) - len(block[0].lstrip())]
    step = _indent_unit(lines)
    body = "\n".join((step + line) if line.strip() else line for line in block)
    content = f"{indent}with op.get_context().autocommit_block():\n{body}"
    return Edit(Span(first, 0, last, len(lines[last - 1])), content)


def _indent_unit(lines: Sequence[str]) -> str:
    """The file's indentation step: that of its first indented line."""
    for line in lines:
        if line[:1] in (" ", "\t") and line.strip():
            return line[:len(line) - len(line.lstrip())]
    return "    "


def autocommit_fix(file: RevisionFile, span: Span, what: str) -> Fix | None:
    """Wrap the ``op.*`` statement holding ``span`` in ``autocommit_block()`` (not for
    ``batch_op`` calls, whose block must stay whole, nor when ``op`` is imported under
    another name)."""
    functions = [f for f in (file.upgrade, file.downgrade) if f is not None]
    for op in (op for function in functions for op in function.ops):
        inside = (op.span.line, op.span.column) <= (span.line, span.column) and (
            (span.end_line, span.end_column) <= (op.span.end_line, op.span.end_column))
        if inside:
            if op.batch or op.autocommit or file.source is None or "op." not in file.source.text:
                return None
            edit = wrap_in_autocommit_block(file, op.span)
            return Fix(f"Run {what} in op.get_context().autocommit_block()", True,
                       (edit,)) if edit else None
    return None


def keyword_argument_edit(op: Operation, lines: list[str], keyword: str, value: str) -> Edit | None:
    """The edit that makes the call say ``keyword=value``: rewriting an existing argument, or
    adding one before the ``)``, after a trailing comma, or on a line of its own when the call
    has one argument a line."""
    argument = f"{keyword}={value}"
    existing = op.arg(keyword)
    if existing is not None:
        return Edit(existing.span, argument)
    close_line, close_column = op.span.end_line, op.span.end_column - 1
    if lines[close_line - 1][close_column:close_column + 1] != ")":
        return None
    args = [*op.args.values(), *op.rest]
    if not args:
        return Edit(Span(close_line, close_column, close_line, close_column), argument)
    last_arg = max(args, key=lambda a: (a.span.end_line, a.span.end_column)).span
    line, column = last_arg.end_line, last_arg.end_column
    after = lines[line - 1][column:]
    if not after.lstrip().startswith(","):
        return Edit(Span(line, column, line, column), f", {argument}")
    if close_line > line:  # one argument a line: a new line before the ")"
        text = lines[line - 1]
        indent = text[:len(text) - len(text.lstrip())]
        return Edit(Span(line, len(text), line, len(text)), f"\n{indent}{argument},")
    comma = column + len(after) - len(after.lstrip())
    return Edit(Span(line, comma + 1, line, comma + 1), f" {argument},")


def own_statement(file: RevisionFile, op: Operation) -> tuple[int, int] | None:
    """The (first, last) lines of the statement that is exactly the call ``op``."""
    if file.source is None:
        return None
    lines = file.source.text.split("\n")
    found = statement_lines(file, op.span.line)
    if found is None:
        return None
    first, last = found
    if (first, last) != (op.span.line, op.span.end_line) or lines[first - 1][:op.span.column].strip() or (
            lines[last - 1][op.span.end_column:].strip()[:1] not in ("", "#")):
        return None
    return found


def not_valid_then_validate_fix(file: RevisionFile, span: Span, name: str) -> Fix | None:
    """``postgresql_not_valid=True`` on the ``op.<name>(...)`` call at ``span``, and a
    ``VALIDATE CONSTRAINT`` right after it in ``autocommit_block()`` (which commits the ADD
    first, so the validation scan runs without its lock)."""
    functions = [f for f in (file.upgrade, file.downgrade) if f is not None]
    op = next((o for f in functions for o in f.ops if o.span == span and o.name == name), None)
    if op is None or op.batch or op.autocommit or file.source is None or op.table is None:
        return None
    given = op.arg("constraint_name")
    constraint = given.literal_name if given is not None else None  # op.f("fk_x") too
    found = own_statement(file, op)
    if not isinstance(constraint, str) or found is None or "op." not in file.source.text:
        return None
    lines = file.source.text.split("\n")
    first, last = found
    insert = keyword_argument_edit(op, lines, "postgresql_not_valid", "True")
    if insert is None:
        return None
    head = lines[first - 1]
    indent = head[:len(head) - len(head.lstrip())]
    step = _indent_unit(lines)
    statement = "\n".join(lines[first - 1:last])
    shifted = Edit(Span(insert.span.line - first + 1, insert.span.column,
                        insert.span.end_line - first + 1, insert.span.end_column), insert.content)
    schema = op.literal("source_schema" if name == "create_foreign_key" else "schema")
    # Quoted the way PostgreSQL needs them: `order` or a mixed-case name must be "quoted".
    target = ".".join(quote_identifier(part) for part in (schema, op.table)
                      if isinstance(part, str))
    sql = f"ALTER TABLE {target} VALIDATE CONSTRAINT {quote_identifier(constraint)}"
    validate = (f"{indent}with op.get_context().autocommit_block():\n"
                f"{indent}{step}op.execute({python_string(sql)})")
    content = apply_edits(statement, [shifted]) + "\n" + validate
    return Fix(f"Add {constraint} NOT VALID, then VALIDATE it outside the transaction", False,
               (Edit(Span(first, 0, last, len(lines[last - 1])), content),))


def remove_comment(file: RevisionFile, span: Span) -> Edit | None:
    """Remove a comment; the whole line when the comment stands alone on it."""
    if file.source is None:
        return None
    line = file.source.text.split("\n")[span.line - 1]
    before = line[:span.column]
    if not before.strip():
        return Edit(Span(span.line, 0, span.line + 1, 0), "")
    kept = before.rstrip()
    return Edit(Span(span.line, len(kept), span.line, len(line)), "")


def python_string(text: str) -> str:
    """``text`` as a Python string literal, double-quoted unless it holds a double quote
    (SQL with quoted identifiers), escapes as ``repr`` writes them."""
    literal = repr(text)  # single-quoted unless the text holds a single quote
    if literal.startswith("'") and "'" not in text and '"' not in text:
        return '"' + literal[1:-1] + '"'
    return literal


def line_indent(line: str) -> str:
    """The leading whitespace of ``line``."""
    return line[:len(line) - len(line.lstrip())]


def indent_unit(lines: Sequence[str]) -> str:
    """The file's indentation step (public name of the helper the fixes share)."""
    return _indent_unit(lines)
