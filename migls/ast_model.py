"""The fast reader: the model of a revision file built from CPython's ``ast``.

LibCST builds a lossless tree that fixes could edit, about fifteen times slower than ``ast``
(measured on the corpus: ~4.7 ms against ~0.3 ms a file). The model (:mod:`migls.model`)
keeps only values, spans and the source text of a few nodes, which ``ast`` gives as well:
positions (columns in UTF-8 bytes, turned into code points here) and the text between them.
This module builds exactly the :class:`~migls.model.RevisionFile` the LibCST reader builds;
where it cannot be sure of that (a layout whose LibCST spans it does not reproduce, syntax
CPython and LibCST may judge differently), it declines with :class:`Unsupported` and
:func:`migls.model.read_revision` reads the file with LibCST. ``tests/test_fast_model.py``
compares both readers node for node on the corpus, the rule examples and generated files.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import unicodedata
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Literal

from migls.model import (
    METADATA_NAMES,
    Function,
    Import,
    MetadataValue,
    RevisionFile,
    _deeply_nested,
    read_header,
)
from migls.ops import DYNAMIC, Arg, ColumnDef, Operation, TypeRef
from migls.signatures import BATCH_OPERATIONS, OPERATIONS, TABLE_PARAMETER
from migls.source import SourceText
from migls.span import Span


class Unsupported(Exception):
    """The file has something whose LibCST model this reader does not reproduce exactly."""


def read_fast(path: str, source: SourceText, bodies: bool = True) -> RevisionFile | None:
    """The model of one file, or ``None`` when LibCST must read it (a syntax error, whose
    report and metadata recovery are LibCST's; or a layout this reader declines).

    ``bodies=False`` leaves ``upgrade``/``downgrade`` unread (``None``), and the statements
    and imports of function and class bodies uncollected: their operations are two thirds of
    the reading, and the revision graph does not need them.
    """
    text = source.text
    if "\r" in text or "\x0c" in text or _deeply_nested(text):
        return None  # line breaks and form feeds LibCST may count differently
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        return None  # ast normalizes identifiers (NFKC), LibCST keeps them as written
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes: LibCST does not warn either
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    try:
        return _Reader(path, source, tree).read(bodies)
    except (Unsupported, RecursionError):
        return None


# -- text and positions ---------------------------------------------------------------------

_WHITESPACE = " \t\n"


class _Text:
    """The source with its line starts: ast positions to code points and offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *accumulate(len(line) + 1 for line in text.split("\n"))]
        self.ascii = text.isascii()
        self._encoded: dict[int, bytes] = {}

    def col(self, line: int, byte_col: int) -> int:
        """A UTF-8 byte column of ``line`` as a code-point column."""
        if self.ascii or byte_col == 0:
            return byte_col
        data = self._encoded.get(line)
        if data is None:
            data = self.text[self.starts[line - 1]:self.starts[line]].encode("utf-8")
            self._encoded[line] = data
        return len(data[:byte_col].decode("utf-8"))

    def byte_col(self, line: int, col: int) -> int:
        """A code-point column of ``line`` as a UTF-8 byte column."""
        if self.ascii or col == 0:
            return col
        start = self.starts[line - 1]
        return len(self.text[start:start + col].encode("utf-8"))

    def start(self, node: ast.AST) -> int:
        """The offset in the text where ``node`` starts."""
        line: int = node.lineno  # type: ignore[attr-defined]
        return self.starts[line - 1] + self.col(line, node.col_offset)  # type: ignore[attr-defined]

    def end(self, node: ast.AST) -> int:
        """The offset in the text where ``node`` ends."""
        line: int = node.end_lineno  # type: ignore[attr-defined]
        return self.starts[line - 1] + self.col(line, node.end_col_offset)  # type: ignore[attr-defined]

    def node_span(self, node: ast.AST) -> Span:
        """``ast``'s own range of ``node`` (LibCST's too for every node but tuples)."""
        line: int = node.lineno  # type: ignore[attr-defined]
        end_line: int = node.end_lineno  # type: ignore[attr-defined]
        return Span(line, self.col(line, node.col_offset),  # type: ignore[attr-defined]
                    end_line, self.col(end_line, node.end_col_offset))  # type: ignore[attr-defined]

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of an offset."""
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1]

    def span(self, start: int, end: int) -> Span:
        """The span between two offsets."""
        return Span(*self.position(start), *self.position(end))

    def skip(self, index: int, limit: int | None = None) -> int:
        """The first offset from ``index`` that is not whitespace, a comment or a line
        continuation."""
        text = self.text
        size = len(text) if limit is None else limit
        while index < size:
            char = text[index]
            if char in _WHITESPACE:
                index += 1
            elif char == "#":
                newline = text.find("\n", index)
                index = size if newline < 0 else newline
            elif char == "\\" and text.startswith("\\\n", index):
                index += 2
            else:
                break
        return index

    def preceding(self, index: int) -> str:
        """The character before ``index`` on its logical line, skipping blanks and line
        continuations (``"\\n"`` at the start of a line, ``""`` at the start of the file)."""
        text = self.text
        while index > 0:
            char = text[index - 1]
            if char in " \t":
                index -= 1
            elif char == "\n" and index > 1 and text[index - 2] == "\\":
                index -= 2
            else:
                return char
        return ""

    def indent(self, line: int) -> str:
        """The leading blanks of a line."""
        text = self.text[self.starts[line - 1]:self.starts[line] - 1]
        return text[:len(text) - len(text.lstrip(" \t"))]

    def code(self, start: int, end: int, indent: str) -> str:
        """The text between two offsets as LibCST's ``code_for_node`` gives it: lines inside
        brackets lose the indentation of the block the statement is in (string contents
        keep theirs)."""
        text = self.text[start:end]
        if not indent or "\n" not in text:
            return text
        out: list[str] = []
        index = 0
        size = len(text)
        piece = 0
        while index < size:
            char = text[index]
            if char == "\n":
                out.append(text[piece:index + 1])
                index += 1
                piece = index
                if text.startswith(indent, index):
                    piece = index = index + len(indent)
            elif char == "#":
                newline = text.find("\n", index)
                index = size if newline < 0 else newline
            elif char in "'\"":
                if _F_STRINGS_NEST and _is_f_string(text, index):
                    raise Unsupported("an f-string this reader does not scan")
                index = _string_end(text, index)
            elif char == "\\":
                raise Unsupported("a line continuation inside brackets")
            else:
                index += 1
        out.append(text[piece:])
        return "".join(out)

    def parens(self, floor: int, node: ast.AST) -> tuple[int, int]:
        """``node``'s range including its own parentheses, which open between ``floor``
        (after the preceding delimiter) and the node."""
        return self.around(floor, self.start(node), self.end(node))

    def around(self, floor: int, start: int, end: int) -> tuple[int, int]:
        """The range ``start``-``end`` widened to the parentheses that open between
        ``floor`` and ``start`` (and must close right after ``end``)."""
        index = self.skip(floor, start)
        if index == start:
            return start, end
        opened: list[int] = []
        while index < start:
            if self.text[index] != "(":
                raise Unsupported("unexpected text before an expression")
            opened.append(index)
            index = self.skip(index + 1, start)
        for _ in opened:
            index = self.skip(end)
            if not self.text.startswith(")", index):
                raise Unsupported("unbalanced parentheses around an expression")
            end = index + 1
        return opened[0], end

    def line_span(self, line: int, start: int, end_line: int, end: int) -> Span:
        """The span between two offsets whose lines are known."""
        starts = self.starts
        return Span(line, start - starts[line - 1], end_line, end - starts[end_line - 1])


# -- string literals ------------------------------------------------------------------------

#: Python 3.12 lets f-strings nest quotes of their own kind; quote scanning cannot follow.
_F_STRINGS_NEST = sys.version_info >= (3, 12)


def _is_f_string(text: str, quote_at: int) -> bool:
    return "f" in text[max(quote_at - 2, 0):quote_at].lower()


def _string_end(text: str, quote_at: int) -> int:
    """The offset after the string literal whose quote is at ``quote_at``."""
    char = text[quote_at]
    quote = char * 3 if text.startswith(char * 3, quote_at) else char
    cursor = quote_at + len(quote)
    size = len(text)
    while cursor < size and not text.startswith(quote, cursor):
        cursor += 2 if text[cursor] == "\\" else 1
    return cursor + len(quote)


_STRING_START = re.compile(r"([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


@dataclass(frozen=True, slots=True)
class _StringToken:
    start: int
    end: int
    prefix: str
    quote: str

    def body(self, text: str) -> str:
        """The characters between the quotes."""
        return text[self.start + len(self.prefix) + len(self.quote):self.end - len(self.quote)]


def _string_tokens(source: _Text, start: int, end: int) -> list[_StringToken]:
    """The string literals between two offsets (an implicit concatenation has several)."""
    text = source.text
    tokens: list[_StringToken] = []
    index = start
    while True:
        index = source.skip(index, end)
        if index >= end:
            return tokens
        match = _STRING_START.match(text, index, end)
        if match is None:
            raise Unsupported("not a string literal")
        prefix, quote = match.groups()
        cursor = match.end()
        while True:
            if cursor >= end:
                raise Unsupported("unterminated string literal")
            if text[cursor] == "\\":
                cursor += 2
            elif text.startswith(quote, cursor):
                cursor += len(quote)
                break
            else:
                cursor += 1
        tokens.append(_StringToken(index, cursor, prefix, quote))
        index = cursor


# -- values -------------------------------------------------------------------------------

def _literal(node: ast.expr) -> object:
    """What ``migls.ops.literal`` reads from the same expression."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (str, int, float)) or value is None:
            return value  # bool is an int: True/False/None are LibCST names read as such
        return DYNAMIC
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else DYNAMIC
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_literal(e) for e in node.elts if not isinstance(e, ast.Starred)]
        if len(items) == len(node.elts) and DYNAMIC not in items:
            return tuple(items)
    return DYNAMIC


def _static_string(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@dataclass(slots=True)
class _Arg:
    """One argument of a call in source order, with LibCST's ranges."""

    keyword: str | None
    star: str
    value: ast.expr
    #: The argument (keyword and parentheses included), as LibCST's ``Arg``.
    span: Span
    #: The value with its own parentheses, as LibCST's ``code_for_node(arg.value)``.
    code: str


# -- the reader -----------------------------------------------------------------------------

_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith,
             ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try)
#: Compound statements LibCST's model does not record, whose bodies still count.
_CONTAINERS = (*_COMPOUND, ast.Match, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_TRY = (ast.Try, *((ast.TryStar,) if hasattr(ast, "TryStar") else ()))
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_DEFINITIONS = (*_FUNCTIONS, ast.ClassDef)
_DEF = re.compile(r"(?:async[ \t]+)?def[ \t]+")
_FROM = re.compile(r"from[ \t]+((?:\.[ \t]*)*)(?!import\b)([^\W\d][\w]*(?:[ \t]*\.[ \t]*[^\W\d]\w*)*)?")
_DIALECTS = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
             "mariadb": "mariadb", "sqlite": "sqlite", "mssql": "mssql", "oracle": "oracle"}


class _Reader:
    """Fills a :class:`RevisionFile` from an ``ast.Module`` the way ``model._ModelReader``
    does from a LibCST module."""

    def __init__(self, path: str, source: SourceText, tree: ast.Module) -> None:
        self.result = RevisionFile(path=path, source=source)
        self.tree = tree
        self.text = _Text(source.text)
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.op_names: set[str] = {"op"}
        self.guards: dict[int, tuple[frozenset[str] | None, frozenset[str]]] = {}
        #: id(simple statement) -> first line of its LibCST ``SimpleStatementLine``.
        self.line_of: dict[int, int] = {}
        self._args: dict[int, list[_Arg]] = {}
        #: id(call) -> the indentation of the block its statement is in.
        self._indents: dict[int, str] = {}
        #: Whether statements and imports are collected in function and class bodies too.
        self.whole = True

    def read(self, bodies: bool = True) -> RevisionFile:
        body = self.tree.body
        # Without bodies, the statements and imports inside functions and classes are not
        # collected (the engine then leaves both fields to the whole read).
        self.whole = bodies
        self._collect(body, False)
        self.result.statements.sort()
        self._read_docstring(body)
        for statement in body:
            if isinstance(statement, _FUNCTIONS):
                self.functions[statement.name] = statement
            elif isinstance(statement, (ast.If, ast.Try)):
                self._read_guarded_metadata(statement)
            elif not isinstance(statement, _COMPOUND) and id(statement) in self.line_of:
                self._read_module_statement(statement)
        if not bodies:
            return self.result
        if "upgrade" in self.functions:
            self.result.upgrade = self._read_function(self.functions["upgrade"])
        if "downgrade" in self.functions:
            self.result.downgrade = self._read_function(self.functions["downgrade"])
        return self.result

    # -- statements and imports -------------------------------------------------------------

    def _collect(self, body: list[ast.stmt], type_checking: bool, wanted: bool = False) -> None:
        """Statement lines (for suppressions) and imports, in source order.

        ``wanted``: LibCST's position pass records the first and last statements of this
        block (the end of a recorded statement), so a ``match`` or ``try``/``except*`` there
        counts as a statement line too, which it does nowhere else.
        """
        if not body:
            return
        suite = self.text.preceding(self.text.start(body[0])) == ":"
        group: list[int] | None = None  # [first line, last line] of the current line
        last = len(body) - 1
        for index, statement in enumerate(body):
            if isinstance(statement, _CONTAINERS):
                group = None
                recorded = isinstance(statement, _COMPOUND) or (
                    wanted and not suite and index in (0, last))
                if recorded:
                    self.result.statements.append((statement.lineno, statement.lineno))
                if self.whole or not isinstance(statement, _DEFINITIONS):
                    self._collect_inner(statement, type_checking, recorded)
                continue
            if not suite:
                before = self.text.preceding(self.text.start(statement))
                if before == ";" and group is not None:
                    group[1] = statement.end_lineno or statement.lineno
                elif before in ("\n", ""):
                    group = [statement.lineno, statement.end_lineno or statement.lineno]
                    self.result.statements.append((0, 0))  # replaced when the line is done
                else:
                    raise Unsupported("a statement where LibCST's line is unclear")
                self.result.statements[-1] = (group[0], group[1])
                self.line_of[id(statement)] = group[0]
            if isinstance(statement, ast.Import):
                self._read_import(statement, type_checking)
            elif isinstance(statement, ast.ImportFrom):
                self._read_import_from(statement, type_checking)

    def _collect_inner(self, statement: ast.stmt, type_checking: bool, recorded: bool) -> None:
        """The blocks of a compound statement; the block LibCST ends the statement's span
        with is wanted when the statement is recorded."""
        if isinstance(statement, ast.If):
            has_else = bool(statement.orelse) and not self._is_elif(statement)
            self._collect(statement.body, type_checking or _is_type_checking(statement.test),
                          recorded and not statement.orelse)
            self._collect(statement.orelse, type_checking, recorded and has_else)
        elif isinstance(statement, _TRY):
            clauses = [handler.body for handler in statement.handlers]
            clauses += [statement.orelse, statement.finalbody]
            ending = [clause for clause in clauses if clause][-1]
            self._collect(statement.body, type_checking)
            for handler in statement.handlers:
                self._collect(handler.body, type_checking, recorded and handler.body is ending)
            self._collect(statement.orelse, type_checking, recorded and statement.orelse is ending)
            self._collect(statement.finalbody, type_checking,
                          recorded and statement.finalbody is ending)
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                self._collect(case.body, type_checking, recorded and case is statement.cases[-1])
        else:
            orelse = getattr(statement, "orelse", [])
            self._collect(statement.body, type_checking,  # type: ignore[attr-defined]
                          recorded and not orelse)
            self._collect(orelse, type_checking, recorded and bool(orelse))

    def _is_elif(self, statement: ast.If) -> bool:
        """Whether ``statement``'s ``orelse`` is an ``elif`` (LibCST: an ``If``, not an
        ``Else`` block)."""
        orelse = statement.orelse
        return (len(orelse) == 1 and isinstance(orelse[0], ast.If)
                and self.text.text.startswith("elif", self.text.start(orelse[0])))

    def _read_import(self, node: ast.Import, type_checking: bool) -> None:
        span = self.text.node_span(node)
        for alias in node.names:
            start = self.text.start(alias)
            if not self.text.text.startswith(alias.name, start):
                raise Unsupported("a dotted name with blanks")
            self.result.imports.append(Import(
                alias.name, 0, (), span, self.text.span(start, start + len(alias.name)),
                type_checking))

    def _read_import_from(self, node: ast.ImportFrom, type_checking: bool) -> None:
        span = self.text.node_span(node)
        start = self.text.start(node)
        match = _FROM.match(self.text.text, start)
        module = node.module or ""
        if match is None or (match.group(2) or "").replace(" ", "").replace("\t", "") != module:
            raise Unsupported("an import layout this reader does not place")
        dots = match.group(1)
        if dots.count(".") != node.level:
            raise Unsupported("relative dots not read")
        if dots:
            first = match.start(1)
            last = match.end(2) if module else match.start(1) + len(dots.rstrip(" \t"))
        else:
            first, last = match.start(2), match.end(2)
        names = (("*",) if node.names and node.names[0].name == "*"
                 else tuple(alias.name for alias in node.names))
        self.result.imports.append(Import(
            module, node.level, names, span, self.text.span(first, last), type_checking))

    # -- metadata ---------------------------------------------------------------------------

    def _read_module_statement(self, small: ast.stmt) -> None:
        if isinstance(small, ast.ImportFrom):
            if small.module == "alembic":
                for alias in small.names:
                    if alias.name == "op" and alias.asname is not None:
                        self.op_names.add(alias.asname)
            return
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(small, ast.Assign):
            targets, value = small.targets, small.value
        elif isinstance(small, ast.AnnAssign) and small.value is not None:
            targets, value = [small.target], small.value
        if value is None:
            return
        for target in targets:
            if isinstance(target, ast.Name) and target.id in METADATA_NAMES:
                self.result.metadata[target.id] = self._read_value(value, self.line_of[id(small)])

    def _read_guarded_metadata(self, statement: ast.If | ast.Try) -> None:
        """Metadata assigned under ``if``/``try`` depends on running code."""
        names: list[ast.Name] = []
        for node in ast.walk(statement):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            names.extend(t for t in targets if isinstance(t, ast.Name) and t.id in METADATA_NAMES)
        names.sort(key=lambda name: (name.lineno, name.col_offset))
        for name in names:
            span = self.text.node_span(name)
            self.result.metadata[name.id] = MetadataValue("dynamic", (), (), span, span.line)

    def _read_value(self, node: ast.expr, statement_line: int) -> MetadataValue:
        span = self._expression_span(node)
        if isinstance(node, ast.Constant) and node.value is None:
            return MetadataValue("none", (), (), span, statement_line)
        text = _static_string(node)
        if text is not None:
            return MetadataValue("str", (text,), (span,), span, statement_line)
        if isinstance(node, (ast.Tuple, ast.List)):
            items: list[str] = []
            spans: list[Span] = []
            for element in node.elts:
                value = None if isinstance(element, ast.Starred) else _static_string(element)
                if value is None:
                    break
                items.append(value)
                spans.append(self.text.node_span(element))
            else:
                kind: Literal["none", "tuple"] = "tuple" if items else "none"
                return MetadataValue(kind, tuple(items), tuple(spans), span, statement_line)
        return MetadataValue("dynamic", (), (), span, statement_line)

    def _expression_span(self, node: ast.expr) -> Span:
        """LibCST's span of an expression: ast's, except that a parenthesized tuple's span
        is inside its parentheses (from its first element to its trailing comma)."""
        if isinstance(node, ast.GeneratorExp):
            raise Unsupported("a generator expression's parentheses")
        if not isinstance(node, ast.Tuple):
            return self.text.node_span(node)
        start, end = self.text.start(node), self.text.end(node)
        text = self.text.text
        if not (text[start] == "(" and text[end - 1] == ")"
                and _matching_paren(self.text, start) == end - 1):
            return self.text.node_span(node)
        if not node.elts:
            inner = start + 1
            while text[inner] in " \t":
                inner += 1
            if inner != end - 1:
                raise Unsupported("an empty tuple with a comment or line break inside")
            return self.text.span(inner, inner)
        first, _ = self.text.parens(start + 1, node.elts[0])
        _, last = self._element_end(node.elts[-1], end - 1)
        return self.text.span(first, last)

    def _element_end(self, element: ast.expr, limit: int) -> tuple[int, int]:
        """The end of the last element of a parenthesized tuple, after its trailing comma
        (which LibCST's span includes)."""
        end = self.text.end(element)
        index = self.text.skip(end, limit)
        # The element's own closing parentheses come first.
        while index < limit and self.text.text[index] == ")":
            end = index + 1
            index = self.text.skip(end, limit)
        if index < limit and self.text.text[index] == ",":
            return end, index + 1
        return end, end

    def _read_docstring(self, body: list[ast.stmt]) -> None:
        if not body or not isinstance(body[0], ast.Expr):
            return
        node = body[0].value
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            return  # f-strings, bytes: LibCST's evaluated value is not a str either
        start, end = self.text.start(node), self.text.end(node)
        if self.text.start(body[0]) != start:
            raise Unsupported("a parenthesized docstring")
        if len(_string_tokens(self.text, start, end)) != 1:
            return  # an implicit concatenation: LibCST does not read it as the docstring
        read_header(self.result, node.value, self.text.text[start:end],
                    self.text.node_span(node))

    # -- functions -------------------------------------------------------------------------

    def _read_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> Function:
        start = self.text.start(node)
        match = _DEF.match(self.text.text, start)
        if match is None or not self.text.text.startswith(node.name, match.end()):
            raise Unsupported("a def this reader does not place")
        name_span = self.text.span(match.end(), match.end() + len(node.name))
        function = Function(name_span=name_span, body=_body_kind(node))
        seen: set[str] = {node.name}
        pending = [node]
        while pending:
            current = pending.pop()
            for call, batch_table, autocommit in self._op_calls(current):
                if isinstance(call.func, ast.Attribute):
                    operation = self._operation(call, call.func.attr, batch_table, autocommit)
                    guard = self.guards.get(id(call))
                    if guard is not None:
                        operation = _with_guard(operation, guard)
                    function.ops.append(operation)
                elif isinstance(call.func, ast.Name):
                    name = call.func.id
                    if name in self.functions and name not in seen:
                        seen.add(name)
                        pending.append(self.functions[name])
        function.ops.sort(key=lambda op: (op.span.line, op.span.column))
        return function

    def _op_calls(self, function: ast.FunctionDef | ast.AsyncFunctionDef
                  ) -> list[tuple[ast.Call, str | None, bool]]:
        """As ``model._ModelReader._op_calls``: op calls, batch calls with their table, calls
        of plain names, each with whether it runs inside ``autocommit_block()``."""
        calls: list[tuple[ast.Call, str | None, bool]] = []
        batches: list[tuple[str, str | None, int, int]] = []
        autocommit: list[tuple[int, int]] = []
        nodes = _preorder(function, self.text, self._candidates(function))
        for node, indent in nodes:
            if isinstance(node, ast.Call):
                self._indents[id(node)] = indent
        for node, _ in nodes:
            if isinstance(node, ast.If):
                self._read_dialect_guard(node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                first, last = node.lineno, node.end_lineno or node.lineno
                for item in node.items:
                    call = item.context_expr
                    if not isinstance(call, ast.Call):
                        continue
                    func = call.func
                    if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                            and func.value.id in self.op_names and func.attr == "batch_alter_table"
                            and isinstance(item.optional_vars, ast.Name)):
                        args = self._call_args(call)
                        table = _static_string(args[0].value) if args else None
                        batches.append((item.optional_vars.id, table, first, last))
                    elif isinstance(func, ast.Attribute) and func.attr == "autocommit_block":
                        autocommit.append((first, last))
            elif isinstance(node, ast.Call):
                func = node.func
                line = node.lineno
                in_autocommit = any(first <= line <= last for first, last in autocommit)
                if isinstance(func, ast.Name):
                    calls.append((node, None, in_autocommit))
                elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                    base = func.value.id
                    if base in self.op_names:
                        calls.append((node, None, in_autocommit))
                        continue
                    for alias, table, first, last in reversed(batches):
                        if alias == base and first <= line <= last:
                            calls.append((node, table or "?", in_autocommit))
                            break
        return calls

    def _candidates(self, function: ast.FunctionDef | ast.AsyncFunctionDef
                    ) -> list[tuple[int, int]]:
        """Where the names that make a call matter occur in ``function`` (op names, helper
        functions, ``with ... as`` aliases, ``autocommit_block``), as (line, byte column):
        a subtree without any holds no call :meth:`_op_calls` keeps, and is skipped."""
        names = frozenset((*self.op_names, *self.functions, "autocommit_block"))
        aliases: set[str] = set()
        for statement in _statements(function.body):
            if isinstance(statement, (ast.With, ast.AsyncWith)):
                aliases.update(item.optional_vars.id for item in statement.items
                               if isinstance(item.optional_vars, ast.Name))
        # Two patterns, not one of every name: the sets repeat from file to file, so each
        # is compiled once (a pattern per function cost a tenth of reading).
        patterns = [_names_pattern(names)]
        if aliases - names:
            patterns.append(_names_pattern(frozenset(aliases - names)))
        text = self.text
        start, end = text.start(function), text.end(function)
        found: list[tuple[int, int]] = []
        for pattern in patterns:
            for match in pattern.finditer(text.text, start, end):
                line, column = text.position(match.start())
                found.append((line, text.byte_col(line, column)))
        if len(patterns) > 1:
            found.sort()
        return found

    def _read_dialect_guard(self, node: ast.If) -> None:
        guard = self._dialect_test(node.test)
        if guard is None:
            return
        dialects, positive = guard
        for branch, runs_there in ((node.body, positive), (node.orelse, not positive)):
            for statement in branch:
                for inner in ast.walk(statement):
                    if not isinstance(inner, ast.Call):
                        continue
                    only, never = self.guards.get(id(inner), (None, frozenset()))
                    if runs_there:
                        only = dialects if only is None else only & dialects
                    else:
                        never = never | dialects
                    self.guards[id(inner)] = (only, never)

    def _dialect_test(self, test: ast.expr) -> tuple[frozenset[str], bool] | None:
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
            return None
        start, end = self.text.parens(self.text.start(test), test.left)
        left_code = self.text.text[start:end].lower()
        right = test.comparators[0]
        if "dialect" not in left_code and "engine" not in left_code:
            return None
        values: list[str] = []
        if isinstance(right, (ast.Tuple, ast.List, ast.Set)):
            values = [v for e in right.elts if (v := _static_string(
                e.value if isinstance(e, ast.Starred) else e)) is not None]
        elif (value := _static_string(right)) is not None:
            values = [value]
        dialects = frozenset(_DIALECTS[v.lower()] for v in values if v.lower() in _DIALECTS)
        if not dialects:
            return None
        operator = test.ops[0]
        if isinstance(operator, (ast.Eq, ast.In, ast.Is)):
            return dialects, True
        if isinstance(operator, (ast.NotEq, ast.NotIn, ast.IsNot)):
            return dialects, False
        return None

    # -- operations (as migls.ops reads them from LibCST) ------------------------------------

    def _call_args(self, call: ast.Call) -> list[_Arg]:
        """The arguments of ``call`` in source order, with LibCST's spans and code."""
        cached = self._args.get(id(call))
        if cached is not None:
            return cached
        text = self.text
        indent = self._indents.get(id(call), "")
        items: list[ast.expr | ast.keyword] = [*call.args, *call.keywords]
        if call.keywords and any(isinstance(a, ast.Starred) for a in call.args):
            items.sort(key=lambda item: (item.lineno, item.col_offset))  # f(k=1, *rest)
        # The call's own "(": after the callee and the callee's closing parentheses.
        index = text.skip(text.end(call.func))
        while text.text.startswith(")", index):
            index = text.skip(index + 1)
        if not text.text.startswith("(", index):
            raise Unsupported("a call whose parenthesis is not found")
        floor = index + 1
        out: list[_Arg] = []
        source = text.text
        for item in items:
            keyword: str | None = None
            start, end = text.start(item), text.end(item)
            if isinstance(item, ast.keyword):
                value = item.value
                if item.arg is None:
                    star = "**"
                    code_start, code_end = text.parens(start + 2, value)
                else:
                    keyword, star = item.arg, ""
                    equal = text.skip(start + len(keyword))
                    if not (source.startswith(keyword, start) and source.startswith("=", equal)):
                        raise Unsupported("a keyword argument this reader does not place")
                    code_start, code_end = text.parens(equal + 1, value)
                if code_end != end:
                    raise Unsupported("a keyword argument's end")
                span = text.line_span(item.lineno, start, item.end_lineno or item.lineno, end)
            elif isinstance(item, ast.Starred):
                star, value = "*", item.value
                if text.skip(floor, start) != start:
                    raise Unsupported("a starred argument in parentheses")
                code_start, code_end = text.parens(start + 1, value)
                span = text.span(start, code_end)
            else:
                if isinstance(item, ast.GeneratorExp):
                    raise Unsupported("a generator argument")
                star, value = "", item
                code_start, code_end = text.around(floor, start, end)
                span = (text.line_span(item.lineno, start, item.end_lineno or item.lineno, end)
                        if code_start == start else text.span(code_start, code_end))
            if isinstance(value, ast.Call):
                self._indents.setdefault(id(value), indent)  # walked or not: same block
            code = source[code_start:code_end]
            if indent and "\n" in code:
                code = text.code(code_start, code_end, indent)
            out.append(_Arg(keyword, star, value, span, code))
            comma = text.skip(code_end)
            floor = comma + 1 if source.startswith(",", comma) else comma
        self._args[id(call)] = out
        return out

    def _operation(self, call: ast.Call, name: str, batch_table: str | None,
                   autocommit: bool) -> Operation:
        table_signatures = BATCH_OPERATIONS if batch_table is not None else OPERATIONS
        positional, star = table_signatures.get(name, ((), None))
        args: dict[str, Arg] = {}
        rest: list[Arg] = []
        types: dict[str, TypeRef] = {}
        index = 0
        call_args = self._call_args(call)
        for arg in call_args:
            if arg.star:
                continue
            value = self._read_arg(arg)
            if arg.keyword is not None:
                args[arg.keyword] = value
                if arg.keyword in ("type_", "existing_type"):
                    type_ref = self._read_type(arg.value, arg.code)
                    if type_ref is not None:
                        types[arg.keyword] = type_ref
            elif index < len(positional):
                args[positional[index]] = value
                index += 1
            elif star is not None:
                rest.append(value)
        columns: list[ColumnDef] = []
        if name == "add_column":
            node = _positional_or_keyword(call_args, positional, "column")
            if node is not None:
                column = self._read_column(node.value)
                if column is not None:
                    columns.append(column)
        elif name == "create_table":
            for arg in call_args:
                if arg.keyword is None and not arg.star:
                    column = self._read_column(arg.value)
                    if column is not None:
                        columns.append(column)
        table: str | None
        if batch_table is not None:
            table = None if batch_table == "?" else batch_table
        else:
            table_arg = args.get(TABLE_PARAMETER.get(name, "table_name"))
            table = table_arg.value if table_arg is not None and isinstance(table_arg.value, str) else None
        sql, pieces = self._sql_of(call_args) if name == "execute" else (None, None)
        return Operation(name, self.text.node_span(call), args, tuple(rest), tuple(columns), table,
                         batch_table is not None, autocommit, sql, pieces, types)

    def _read_arg(self, arg: _Arg) -> Arg:
        node = arg.value
        if isinstance(node, ast.Call):
            inner = self._call_args(node)
            return Arg(arg.span, DYNAMIC, arg.code, _last_name(node.func),
                       tuple(_literal(a.value) for a in inner if a.keyword is None and not a.star),
                       tuple((a.keyword, _literal(a.value)) for a in inner if a.keyword is not None))
        return Arg(arg.span, _literal(node), arg.code)

    def _read_column(self, node: ast.expr) -> ColumnDef | None:
        if not (isinstance(node, ast.Call) and _last_name(node.func) == "Column"):
            return None
        name: str | None = None
        type_ref: TypeRef | None = None
        foreign_keys: list[str] = []
        fk_spans: list[Span] = []
        identity: Arg | None = None
        computed: Arg | None = None
        keywords: dict[str, Arg] = {}
        for arg in self._call_args(node):
            if arg.star:
                continue
            if arg.keyword is not None:
                keywords[arg.keyword] = self._read_arg(arg)
                if arg.keyword == "type_":
                    type_ref = self._read_type(arg.value, arg.code)
                continue
            value = arg.value
            if name is None and type_ref is None and isinstance(_literal(value), str):
                name = str(_literal(value))
                continue
            callee = _last_name(value.func) if isinstance(value, ast.Call) else _last_name(value)
            if callee == "ForeignKey" and isinstance(value, ast.Call) and self._call_args(value):
                target = _literal(self._call_args(value)[0].value)
                foreign_keys.append(target if isinstance(target, str) else "?")
                fk_spans.append(arg.span)
            elif callee == "Identity":
                identity = self._read_arg(arg)
            elif callee == "Computed":
                computed = self._read_arg(arg)
            elif type_ref is None and callee is not None and callee[:1].isupper():
                type_ref = self._read_type(value, arg.code)
        nullable_arg = keywords.get("nullable")
        nullable = nullable_arg.value if nullable_arg is not None and isinstance(nullable_arg.value, bool) else None

        def flag(key: str) -> bool:
            found = keywords.get(key)
            return found is not None and found.value is True

        return ColumnDef(
            span=self.text.node_span(node), name=name, type=type_ref, nullable=nullable,
            nullable_arg=nullable_arg, primary_key=flag("primary_key"),
            server_default=keywords.get("server_default"), index=flag("index"),
            unique=flag("unique"), foreign_keys=tuple(foreign_keys),
            foreign_key_spans=tuple(fk_spans), identity=identity, computed=computed)

    def _read_type(self, node: ast.expr, code: str) -> TypeRef | None:
        if isinstance(node, ast.Call):
            name = _last_name(node.func)
            if name is None:
                return None
            inner = self._call_args(node)
            args = tuple(_literal(a.value) if not isinstance(a.value, ast.Call)
                         else self._read_type(a.value, a.code)
                         for a in inner if a.keyword is None and not a.star)
            kwargs = tuple((a.keyword, _literal(a.value)) for a in inner if a.keyword is not None)
            return TypeRef(name, args, kwargs, code)
        name = _last_name(node)
        return TypeRef(name, (), (), code) if name is not None else None

    def _sql_of(self, call_args: list[_Arg]
                ) -> tuple[str | None, tuple[tuple[str, int, int], ...] | None]:
        if not call_args:
            return None, None
        node = call_args[0].value
        if isinstance(node, ast.Call) and _last_name(node.func) == "text":
            inner = self._call_args(node)
            if inner:
                node = inner[0].value
        value = _literal(node)
        if not isinstance(value, str):
            return None, None
        pieces: list[tuple[str, int, int]] = []
        for token in _string_tokens(self.text, self.text.start(node), self.text.end(node)):
            body = token.body(self.text.text)
            if "\\" in body:
                raw = self.text.text[token.start:token.end]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    evaluated = ast.literal_eval(raw)
            else:
                evaluated = body  # no backslash: the literal is its characters
            if not isinstance(evaluated, str) or evaluated != body:
                return value, None  # escapes: offsets would drift
            line, column = self.text.position(token.start)
            pieces.append((evaluated, line, column + len(token.prefix) + len(token.quote)))
        return value, tuple(pieces)


@functools.lru_cache(maxsize=256)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str]:
    """A pattern matching any of ``names`` as a whole word."""
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b")


def _with_guard(operation: Operation,
                guard: tuple[frozenset[str] | None, frozenset[str]]) -> Operation:
    return replace(operation, only_dialects=guard[0], never_dialects=guard[1])


def _positional_or_keyword(args: list[_Arg], positional: tuple[str, ...] | list[str],
                           name: str) -> _Arg | None:
    index = 0
    for arg in args:
        if arg.star:
            continue
        if arg.keyword is not None:
            if arg.keyword == name:
                return arg
        else:
            if index < len(positional) and positional[index] == name:
                return arg
            index += 1
    return None


#: Nodes that hold no call (leaves and contexts): not descended into.
_NO_CALLS = (ast.Name, ast.Constant, ast.expr_context, ast.alias, ast.operator, ast.cmpop,
             ast.unaryop, ast.boolop, ast.Pass, ast.Break, ast.Continue, ast.Global,
             ast.Nonlocal, ast.Import, ast.ImportFrom)
#: The node types :meth:`_Reader._op_calls` looks at.
_WANTED = (ast.If, ast.With, ast.AsyncWith, ast.Call)
_NOT_CHILDREN = frozenset({"ctx", "id", "attr", "arg", "name", "names", "module", "level",
                           "kind", "type_comment", "conversion", "is_async", "simple", "op"})
#: Per node type: (skipped, a statement, wanted, the fields that may hold nodes).
_KINDS: dict[type, tuple[bool, bool, bool, tuple[str, ...]]] = {}


def _kind(cls: type) -> tuple[bool, bool, bool, tuple[str, ...]]:
    kind = _KINDS.get(cls)
    if kind is None:
        kind = (issubclass(cls, _NO_CALLS), issubclass(cls, ast.stmt), issubclass(cls, _WANTED),
                tuple(n for n in cls._fields if n not in _NOT_CHILDREN))  # type: ignore[attr-defined]
        _KINDS[cls] = kind
    return kind


def _preorder(function: ast.FunctionDef | ast.AsyncFunctionDef, text: _Text,
              candidates: list[tuple[int, int]]) -> list[tuple[ast.AST, str]]:
    """The ``if``/``with`` statements and the calls of a function (its decorators
    excepted: LibCST places them before the ``def`` line), parents before children, each
    with the indentation of the block its statement is in. Subtrees holding none of the
    ``candidates`` positions are left out."""
    out: list[tuple[ast.AST, str]] = []
    indent = text.indent(function.lineno)
    roots: list[ast.AST] = [function.args]
    if function.returns is not None:
        roots.append(function.returns)
    roots.extend(function.body)
    stack = [(node, indent) for node in reversed(roots)]
    pop, push = stack.pop, stack.append
    kinds = _KINDS
    count = len(candidates)
    while stack:
        node, indent = pop()
        cls = type(node)
        kind = kinds.get(cls) or _kind(cls)
        if kind[0]:
            continue
        lineno = getattr(node, "lineno", None)
        if lineno is not None:
            index = bisect_left(candidates, (lineno, node.col_offset))  # type: ignore[attr-defined]
            if index == count or candidates[index] >= (
                    node.end_lineno, node.end_col_offset):  # type: ignore[attr-defined]
                continue
        if kind[1]:
            indent = text.indent(lineno)  # type: ignore[arg-type]
        if kind[2]:
            out.append((node, indent))
        children: list[ast.AST] = []
        for name in kind[3]:
            value = getattr(node, name, None)
            if value.__class__ is list:
                children.extend(value)
            elif value is not None:
                children.append(value)
        for child in reversed(children):
            if child is not None and not isinstance(child, str):
                push((child, indent))
    return out


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Every statement in ``body``, nested ones included."""
    out: list[ast.stmt] = []
    stack = list(body)
    while stack:
        statement = stack.pop()
        out.append(statement)
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(statement, name, None)
            if inner:
                stack.extend(inner)
    return out


def _body_kind(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Literal["empty", "raises", "code"]:
    meaningful = [
        s for s in node.body
        if not isinstance(s, ast.Pass)
        and not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                 and (isinstance(s.value.value, (str, bytes)) or s.value.value is Ellipsis))
    ]
    if not meaningful:
        return "empty"
    if isinstance(meaningful[0], ast.Raise):
        return "raises"
    return "code"


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _matching_paren(text: _Text, start: int) -> int:
    """The offset of the ``)`` closing the ``(`` at ``start`` (strings and comments
    skipped); -1 when not found."""
    source = text.text
    size = len(source)
    depth = 0
    index = start
    while index < size:
        char = source[index]
        if char == "#":
            newline = source.find("\n", index)
            index = size if newline < 0 else newline
            continue
        if char in "'\"":
            index = _string_end(source, index)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


def read_type_code(code: str, unwrap: str = "") -> tuple[bool, TypeRef | None]:
    """``(parsed, type)``: the type a column type's code gives (as ``migls.ops.read_type``
    reads ``libcst.parse_expression(code)``), after peeling off calls of the method
    ``unwrap`` (``sa.Text().with_variant(LONGTEXT, "mysql")`` -> ``sa.Text()``). ``parsed``
    is false when the code is not an expression (or not one this reader places)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False, None
    module = ast.Module(body=[], type_ignores=[])
    reader = _Reader("", SourceText(code, "utf-8", "\n", False), module)
    node: ast.expr = tree.body
    floor = reader.text.start(node)
    try:
        while (unwrap and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
               and node.func.attr == unwrap):
            floor = reader.text.start(node.func)
            node = node.func.value
        start, end = reader.text.parens(floor, node)
        return True, reader._read_type(node, code[start:end])
    except (Unsupported, RecursionError):
        return False, None
