"""The static model of one revision file, read with LibCST and never imported.

One parse gives everything the rules read: the revision metadata with exact positions, the
header docstring, ``upgrade()``/``downgrade()`` and the ``op.*`` calls they make, the
statement spans that suppression comments attach to.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from migls._pickling import pickled_by_fields
from migls.lazy import LazyModule
from migls.ops import Operation, read_operation
from migls.source import SourceText
from migls.span import Span

if TYPE_CHECKING:
    import libcst as cst
else:  # LibCST reads only the files the fast reader declines
    cst = LazyModule("libcst", globals(), "cst")

METADATA_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")

#: ``op`` methods that do not change the schema (data, introspection, plumbing).
NON_SCHEMA_OPS = frozenset(
    {"execute", "bulk_insert", "get_bind", "get_context", "f", "inline_literal",
     "invoke", "run_async", "implementation_for", "register_operation"}
)
_DDL_SQL = re.compile(r"^\s*(CREATE|ALTER|DROP|COMMENT|TRUNCATE|RENAME)\b", re.IGNORECASE)
_LEGACY_REVISION_FILENAME = re.compile(r"([a-f0-9]+)\.py$")
_HEADER_ID = re.compile(r"^([ \t]*)Revision ID:[ \t]*(?P<value>[^\n]*?)[ \t]*$", re.MULTILINE)
_HEADER_REVISES = re.compile(r"^([ \t]*)Revises:[ \t]*(?P<value>[^\n]*?)[ \t]*$", re.MULTILINE)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class MetadataValue:
    """A module-level ``revision``/``down_revision``/... assignment, read statically.

    ``kind`` is ``"none"`` (``None`` or an empty tuple), ``"str"``, ``"tuple"`` (a tuple or
    list of strings) or ``"dynamic"`` (anything that needs running code to know).
    """

    kind: Literal["none", "str", "tuple", "dynamic"]
    items: tuple[str, ...]
    item_spans: tuple[Span, ...]
    span: Span
    statement_line: int

    @property
    def is_static(self) -> bool:
        """Whether the value is known without running code."""
        return self.kind != "dynamic"

    def span_of(self, item: str) -> Span:
        """The span of one element (for a tuple), else of the whole value."""
        for value, span in zip(self.items, self.item_spans):
            if value == item:
                return span
        return self.span


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class HeaderLine:
    """A ``Revision ID:`` or ``Revises:`` line of the header docstring."""

    values: tuple[str, ...]
    span: Span


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Import:
    """One module imported by ``import x`` or ``from x import y``, at module level or in a
    function (``import a, b`` gives two)."""

    #: The dotted module name as written, without leading dots (``""`` for ``from . import x``).
    module: str
    #: The number of leading dots (0: an absolute import).
    level: int
    #: What ``from ... import`` takes from the module (``("*",)`` for a star import); ``()``
    #: for a plain ``import``.
    names: tuple[str, ...]
    #: The whole statement.
    span: Span
    #: The module name in the statement, leading dots included.
    name_span: Span
    #: Under ``if TYPE_CHECKING:``: never runs.
    type_checking: bool = False

    @property
    def top(self) -> str:
        """The top-level package or module (``""`` for ``from . import x``)."""
        return self.module.split(".", 1)[0]

    @property
    def relative(self) -> bool:
        """Whether the import is relative (``from .x import y``)."""
        return self.level > 0


@pickled_by_fields
@dataclass(slots=True)
class Function:
    """A module-level ``upgrade()`` or ``downgrade()``."""

    name_span: Span
    body: Literal["empty", "raises", "code"]
    #: The operations in source order, including those of module-level helper functions
    #: the function calls.
    ops: list[Operation] = field(default_factory=list)

    def changes_schema(self) -> bool:
        """Whether any operation changes the schema (data-only code does not)."""
        for call in self.ops:
            if call.name not in NON_SCHEMA_OPS:
                return True
            if call.name == "execute" and _DDL_SQL.match(call.sql or ""):
                return True
        return False


@dataclass(slots=True)
class RevisionFile:
    """Everything migls knows about one revision file without running it."""

    path: str
    source: SourceText | None = None
    module: cst.Module | None = None
    syntax_error: tuple[str, Span] | None = None
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    docstring_id: HeaderLine | None = None
    docstring_revises: HeaderLine | None = None
    message: str | None = None
    upgrade: Function | None = None
    downgrade: Function | None = None
    #: (first line, last line) of every statement, for suppression comments.
    statements: list[tuple[int, int]] = field(default_factory=list)
    #: Every import statement's modules, in source order.
    imports: list[Import] = field(default_factory=list)
    #: The hash of the bytes the file was read from (keys the cache; ``None``: not from disk).
    content_hash: str | None = field(default=None, compare=False, repr=False)
    #: For a file read lazily (:meth:`lazy`): what gives the rest of its model.
    _loader: Callable[[], RevisionFile] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def lazy(cls, path: str, source: SourceText, content_hash: str,
             loader: Callable[[], RevisionFile]) -> RevisionFile:
        """A file whose model is read on first use of any field but its path, text and hash
        (a run whose results come from the cache never needs it)."""
        file = cls.__new__(cls)
        file.path = path
        file.source = source
        file.content_hash = content_hash
        file._loader = loader
        return file

    def __getattr__(self, name: str) -> Any:
        # Only reached for a field not set yet, that is, in a lazy file.
        try:
            loader = object.__getattribute__(self, "_loader")
        except AttributeError:
            loader = None
        if loader is None or name not in _LAZY_FIELDS:
            raise AttributeError(name)
        self._loader = None
        full = loader()
        for field_name in _LAZY_FIELDS:
            try:
                object.__getattribute__(self, field_name)
            except AttributeError:
                object.__setattr__(self, field_name, getattr(full, field_name))
        return object.__getattribute__(self, name)

    @property
    def revision_id(self) -> str | None:
        """The revision id when it is a literal string, else ``None``."""
        value = self.metadata.get("revision")
        if value is not None and value.kind == "str":
            return value.items[0]
        return None

    def parents(self) -> tuple[str, ...] | None:
        """``down_revision`` as a tuple (``()`` for a base); ``None`` when not static."""
        return self._tuple("down_revision")

    def dependencies(self) -> tuple[str, ...] | None:
        """``depends_on`` as a tuple; ``None`` when not static."""
        return self._tuple("depends_on")

    def branch_labels(self) -> tuple[str, ...] | None:
        """``branch_labels`` as a tuple; ``None`` when not static."""
        return self._tuple("branch_labels")

    def _tuple(self, name: str) -> tuple[str, ...] | None:
        value = self.metadata.get(name)
        if value is None:
            return ()
        return value.items if value.is_static else None

    def without_syntax_tree(self) -> RevisionFile:
        """A copy without LibCST nodes: small and cheap to send between processes. The tree
        is re-parsed from ``source`` when a fix needs it."""
        return RevisionFile(
            path=self.path, source=self.source, module=None, syntax_error=self.syntax_error,
            metadata=self.metadata, docstring_id=self.docstring_id,
            docstring_revises=self.docstring_revises, message=self.message,
            upgrade=self.upgrade, downgrade=self.downgrade,
            statements=self.statements, imports=self.imports, content_hash=self.content_hash)

    @property
    def is_readable(self) -> bool:
        """Whether the graph facts of this file are all known."""
        return self.revision_id is not None and all(
            value.is_static for value in self.metadata.values()
        )


#: The fields a lazy :class:`RevisionFile` reads from its loader.
_LAZY_FIELDS = ("module", "syntax_error", "metadata", "docstring_id", "docstring_revises",
                "message", "upgrade", "downgrade", "statements", "imports")


#: ``MIGLS_READER=libcst`` reads every file with LibCST (the reference the fast reader is
#: compared with); the default reads with ``ast`` where it can (see :mod:`migls.ast_model`).
READER_VARIABLE = "MIGLS_READER"


def read_revision(path: str, source: SourceText, reader: str | None = None,
                  bodies: bool = True) -> RevisionFile:
    """Read one revision file. Never raises for bad Python: it records a syntax error
    and recovers the metadata lines it can read.

    ``reader`` is ``"fast"`` (``ast``, falling back to LibCST where it cannot give the same
    model) or ``"libcst"``; ``None`` takes ``$MIGLS_READER`` (default ``"fast"``).
    ``bodies=False`` may leave ``upgrade``/``downgrade`` unread (``None``) and the
    ``statements``/``imports`` inside functions and classes uncollected, to save time.
    """
    if (reader or os.environ.get(READER_VARIABLE) or "fast") != "libcst":
        from migls.ast_model import read_fast
        fast = read_fast(path, source, bodies)
        if fast is not None:
            _legacy_revision(fast, path)
            return fast
    return read_revision_libcst(path, source)


def read_revision_libcst(path: str, source: SourceText) -> RevisionFile:
    """Parse one revision file with LibCST (keeping the syntax tree in ``module``)."""
    result = RevisionFile(path=path, source=source)
    # CPython judges first, and a file it refuses is a syntax error (Alembic, importing it
    # with the same interpreter, would fail too), read no further. LibCST is not asked: its
    # native parser overflows the C stack (a crash, not an exception) on nesting CPython
    # refuses, and takes minutes on a broken file with a few thousand operators in a row.
    error = _cpython_syntax_error(source.text)
    if error is not None:
        result.syntax_error = error
        _recover_metadata(result, source.text)
        return result
    try:
        module = cst.parse_module(source.text)
    except cst.ParserSyntaxError as exc:  # Python CPython parses, LibCST does not
        result.syntax_error = _describe_syntax_error(source.text, exc)
        _recover_metadata(result, source.text)
        return result
    except (RecursionError, MemoryError):
        result.syntax_error = ("too deeply nested to parse", Span.point(1))
        return result
    result.module = module
    with _deep_recursion():  # very deep but valid expressions (long `a + b + ...` chains)
        from migls.positions import compute_positions

        positions, nodes = compute_positions(module, _module_level_names(module))
        _ModelReader(result, positions, nodes).read(module)
    _legacy_revision(result, path)
    return result


def _legacy_revision(result: RevisionFile, path: str) -> None:
    if "revision" not in result.metadata:
        match = _LEGACY_REVISION_FILENAME.match(path.rsplit("/", 1)[-1])
        if match:  # Alembic's legacy fallback: the file name is the id.
            result.metadata["revision"] = MetadataValue(
                "str", (match.group(1),), (Span.point(1),), Span.point(1), 1)


def read_header(result: RevisionFile, text: str, raw: str, start: Span) -> None:
    """Read the message and the ``Revision ID:``/``Revises:`` lines of the header docstring
    (``text`` evaluated, ``raw`` as written starting at ``start``) into ``result``."""
    lines = [line.strip() for line in text.strip().splitlines()]
    result.message = lines[0] if lines else None
    for pattern, attr in ((_HEADER_ID, "docstring_id"), (_HEADER_REVISES, "docstring_revises")):
        match = pattern.search(raw)
        if match is None:
            continue
        value = match.group("value")
        # Old templates wrote a merge's parents as a tuple repr: "('a', 'b')".
        values = tuple(v.strip().strip("'\"") for v in value.strip("()[]").split(",")
                       if v.strip().strip("'\""))
        begin, end = match.start("value"), match.end("value")
        if begin == end:  # empty "Revises:": point just after the colon
            begin = end = match.start("value")
        line = start.line + raw.count("\n", 0, begin)
        col = (begin - raw.rfind("\n", 0, begin) - 1) if "\n" in raw[:begin] else start.column + begin
        setattr(result, attr, HeaderLine(values, Span(line, col, line, col + (end - begin))))


#: Bracket depth above which CPython is asked first (it refuses more than 200).
_NESTING_CHECK_DEPTH = 100
_BRACKETS = re.compile(r"[()\[\]{}]")


def _deeply_nested(text: str) -> bool:
    """Whether brackets nest deeper than a real revision file ever does (an over-estimate:
    brackets inside strings count too)."""
    if text.count("(") + text.count("[") + text.count("{") < _NESTING_CHECK_DEPTH:
        return False
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "([{" else -1
        if depth > _NESTING_CHECK_DEPTH:
            return True
    return False


@contextmanager
def _deep_recursion(limit: int = 20_000) -> Iterator[None]:
    """LibCST's code generation recurses once per tree level; allow deep valid trees."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _cpython_syntax_error(text: str) -> tuple[str, Span] | None:
    """CPython's verdict on ``text``: its message and range, or ``None`` if it compiles."""
    try:
        with warnings.catch_warnings():
            # invalid escapes and the like: a warning on the server's stderr, not a finding
            warnings.simplefilter("ignore")
            compile(text, "<revision>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        line = error.lineno or 1
        column = max((error.offset or 1) - 1, 0)
        end_line = error.end_lineno or line
        end_column = max((error.end_offset or error.offset or 1) - 1, column if end_line == line else 0)
        return error.msg, Span(line, column, end_line, end_column)
    except ValueError:
        return "cannot be compiled", Span.point(1)
    except (RecursionError, MemoryError):
        return "too deeply nested to compile", Span.point(1)
    return None


def _describe_syntax_error(text: str, exc: cst.ParserSyntaxError) -> tuple[str, Span]:
    """The error as CPython words and places it (more precise than LibCST's), falling back
    to LibCST's own."""
    error = _cpython_syntax_error(text)
    if error is not None:
        return error
    message = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
    return message, Span.point(exc.raw_line, max(exc.raw_column, 0))


class _ModelReader:
    """Walks the module once, filling a :class:`RevisionFile`."""

    def __init__(self, result: RevisionFile,
                 positions: dict[cst.CSTNode, tuple[tuple[int, int], tuple[int, int]]],
                 nodes: list[cst.CSTNode]) -> None:
        self.result = result
        self.positions = positions
        self.nodes = nodes
        self.functions: dict[str, cst.FunctionDef] = {}
        self.op_names: set[str] = {"op"}
        #: id(call) -> (dialects it is restricted to or None, dialects it never runs on)
        self.guards: dict[int, tuple[frozenset[str] | None, frozenset[str]]] = {}

    def span(self, node: cst.CSTNode) -> Span:
        (line, column), (end_line, end_column) = self.positions[node]
        return Span(line, column, end_line, end_column)

    def read(self, module: cst.Module) -> None:
        body = module.body
        self._read_docstring(module)
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    self._read_module_statement(small, statement)
            elif isinstance(statement, cst.FunctionDef):
                self.functions[statement.name.value] = statement
            elif isinstance(statement, (cst.If, cst.Try)):
                self._read_guarded_metadata(statement)
        self._collect_statements(module)
        if "upgrade" in self.functions:
            self.result.upgrade = self._read_function(self.functions["upgrade"])
        if "downgrade" in self.functions:
            self.result.downgrade = self._read_function(self.functions["downgrade"])

    # -- metadata ---------------------------------------------------------------------------

    def _read_module_statement(self, small: cst.BaseSmallStatement,
                               line: cst.SimpleStatementLine) -> None:
        if isinstance(small, cst.ImportFrom):
            self._read_op_alias(small)
            return
        targets: list[cst.BaseExpression] = []
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets = [target.target for target in small.targets]
            value = small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets = [small.target]
            value = small.value
        if value is None:
            return
        for target in targets:
            if isinstance(target, cst.Name) and target.value in METADATA_NAMES:
                self.result.metadata[target.value] = self._read_value(value, line)

    def _read_guarded_metadata(self, statement: cst.If | cst.Try) -> None:
        """Metadata assigned under ``if``/``try`` depends on running code."""
        for node in _walk(statement):
            if isinstance(node, (cst.Assign, cst.AnnAssign)):
                targets = ([t.target for t in node.targets] if isinstance(node, cst.Assign)
                           else [node.target])
                for target in targets:
                    if isinstance(target, cst.Name) and target.value in METADATA_NAMES:
                        span = self.span(target)
                        self.result.metadata[target.value] = MetadataValue(
                            "dynamic", (), (), span, span.line)

    def _read_value(self, node: cst.BaseExpression, line: cst.SimpleStatementLine) -> MetadataValue:
        span = self.span(node)
        statement_line = self.span(line).line
        if isinstance(node, cst.Name) and node.value == "None":
            return MetadataValue("none", (), (), span, statement_line)
        text = _static_string(node)
        if text is not None:
            return MetadataValue("str", (text,), (span,), span, statement_line)
        if isinstance(node, (cst.Tuple, cst.List)):
            items: list[str] = []
            spans: list[Span] = []
            for element in node.elements:
                if not isinstance(element, cst.Element):
                    break
                value = _static_string(element.value)
                if value is None:
                    break
                items.append(value)
                spans.append(self.span(element.value))
            else:
                kind: Literal["none", "tuple"] = "tuple" if items else "none"
                return MetadataValue(kind, tuple(items), tuple(spans), span, statement_line)
        return MetadataValue("dynamic", (), (), span, statement_line)

    def _read_op_alias(self, node: cst.ImportFrom) -> None:
        module = node.module
        if (isinstance(module, cst.Name) and module.value == "alembic"
                and not isinstance(node.names, cst.ImportStar)):
            for alias in node.names:
                if isinstance(alias.name, cst.Name) and alias.name.value == "op":
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        self.op_names.add(alias.asname.name.value)

    def _read_docstring(self, module: cst.Module) -> None:
        if not module.body:
            return
        first = module.body[0]
        if not (isinstance(first, cst.SimpleStatementLine) and first.body
                and isinstance(first.body[0], cst.Expr)):
            return
        node = first.body[0].value
        if not isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            return
        text = node.evaluated_value if isinstance(node, cst.SimpleString) else None
        if not isinstance(text, str):
            return
        read_header(self.result, text, _raw_source(node), self.span(node))

    # -- functions -------------------------------------------------------------------------

    def _read_function(self, node: cst.FunctionDef) -> Function:
        function = Function(name_span=self.span(node.name), body=_body_kind(node))
        seen: set[str] = {node.name.value}
        pending = [node]
        while pending:
            current = pending.pop()
            for call, batch_table, autocommit in self._op_calls(current):
                if isinstance(call.func, cst.Attribute):
                    operation = read_operation(call, call.func.attr.value, batch_table,
                                               autocommit, self.span)
                    guard = self.guards.get(id(call))
                    if guard is not None:
                        operation = replace(operation, only_dialects=guard[0],
                                            never_dialects=guard[1])
                    function.ops.append(operation)
                elif isinstance(call.func, cst.Name):
                    name = call.func.value
                    if name in self.functions and name not in seen:
                        seen.add(name)
                        pending.append(self.functions[name])
        function.ops.sort(key=lambda op: (op.span.line, op.span.column))
        return function

    def _read_dialect_guard(self, node: cst.If) -> None:
        """Record which dialects the calls under ``if <dialect> == "mysql":`` (and its
        ``else``) run on, so that operations for another database are not judged."""
        guard = _dialect_test(node.test)
        if guard is None:
            return
        dialects, positive = guard
        branches: list[tuple[cst.CSTNode, bool]] = [(node.body, positive)]
        if node.orelse is not None:
            branches.append((node.orelse, not positive))
        for branch, runs_there in branches:
            for inner in _walk(branch):
                if not isinstance(inner, cst.Call):
                    continue
                only, never = self.guards.get(id(inner), (None, frozenset()))
                if runs_there:
                    only = dialects if only is None else only & dialects
                else:
                    never = never | dialects
                self.guards[id(inner)] = (only, never)

    def _inside(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The recorded nodes within ``node``'s lines, in source order."""
        start, end = self.positions[node]
        lines = (start[0], end[0])
        return [n for n in self.nodes
                if lines[0] <= self.positions[n][0][0] <= lines[1] and n is not node]

    def _op_calls(self, function: cst.FunctionDef) -> list[tuple[cst.Call, str | None, bool]]:
        """The ``op.x(...)`` calls of a function, ``batch_op.x(...)`` with their table, and
        calls of plain names (helpers the function delegates to); each with whether it runs
        inside ``autocommit_block()``."""
        calls: list[tuple[cst.Call, str | None, bool]] = []
        batches: list[tuple[str, str | None, int, int]] = []  # alias, table, first/last line
        autocommit: list[tuple[int, int]] = []
        for node in self._inside(function):
            if isinstance(node, cst.If):
                self._read_dialect_guard(node)
            elif isinstance(node, cst.With):
                (first, _), (last, _) = self.positions[node]
                for item in node.items:
                    call = item.item
                    if not isinstance(call, cst.Call):
                        continue
                    if (_is_op_method(call, self.op_names, "batch_alter_table")
                            and item.asname is not None and isinstance(item.asname.name, cst.Name)):
                        table = _static_string(call.args[0].value) if call.args else None
                        batches.append((item.asname.name.value, table, first, last))
                    elif (isinstance(call.func, cst.Attribute)
                          and call.func.attr.value == "autocommit_block"):
                        autocommit.append((first, last))
            elif isinstance(node, cst.Call):
                func = node.func
                line = self.positions[node][0][0]
                in_autocommit = any(first <= line <= last for first, last in autocommit)
                if isinstance(func, cst.Name):
                    calls.append((node, None, in_autocommit))
                elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                    base = func.value.value
                    if base in self.op_names:
                        calls.append((node, None, in_autocommit))
                        continue
                    for alias, table, first, last in reversed(batches):
                        if alias == base and first <= line <= last:
                            calls.append((node, table or "?", in_autocommit))
                            break
        return calls

    def _collect_statements(self, module: cst.Module) -> None:
        spans = self.result.statements
        type_checking: set[int] = set()  # id() of the imports under `if TYPE_CHECKING:`
        for node in self.nodes:
            if isinstance(node, cst.SimpleStatementLine):
                span = self.span(node)
                spans.append((span.line, span.end_line))
            elif isinstance(node, cst.BaseCompoundStatement):
                line = self.span(node).line
                spans.append((line, line))
                if isinstance(node, cst.If) and _is_type_checking(node.test):
                    type_checking.update(id(n) for n in _walk(node.body)
                                         if isinstance(n, (cst.Import, cst.ImportFrom)))
            elif isinstance(node, (cst.Import, cst.ImportFrom)):
                self._read_import(node, id(node) in type_checking)
        spans.sort()

    def _read_import(self, node: cst.Import | cst.ImportFrom, type_checking: bool) -> None:
        span = self.span(node)
        if isinstance(node, cst.Import):
            for alias in node.names:
                self.result.imports.append(Import(
                    _dotted(alias.name), 0, (), span,
                    _span_within(node, span, alias.name, alias.name), type_checking))
            return
        names = (("*",) if isinstance(node.names, cst.ImportStar)
                 else tuple(_dotted(alias.name) for alias in node.names))
        first: cst.CSTNode | None = node.relative[0] if node.relative else node.module
        last: cst.CSTNode | None = node.module if node.module is not None else (
            node.relative[-1] if node.relative else None)
        name_span = span if first is None or last is None else _span_within(node, span, first, last)
        self.result.imports.append(Import(
            _dotted(node.module) if node.module is not None else "", len(node.relative), names,
            span, name_span, type_checking))


def _is_type_checking(test: cst.BaseExpression) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``."""
    return ((isinstance(test, cst.Name) and test.value == "TYPE_CHECKING")
            or (isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING"))


def _dotted(node: cst.BaseExpression) -> str:
    """``a.b.c`` as written in an import."""
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return node.value if isinstance(node, cst.Name) else ""


def _span_within(statement: cst.Import | cst.ImportFrom, span: Span, first: cst.CSTNode,
                 last: cst.CSTNode) -> Span:
    """The span from ``first`` to ``last`` inside an import statement at ``span``: the small
    statement is laid out alone, and its relative positions shifted to the statement's. Exact,
    because nothing before the module name of an import can be re-indented by layout (only
    parenthesized names, after it, can)."""
    alone = cst.Module(body=[cst.SimpleStatementLine(body=[statement])])
    from migls.positions import compute_positions

    positions, _ = compute_positions(alone, {first, last})
    (line, column), _ = positions[first]
    _, (end_line, end_column) = positions[last]

    def shift(at_line: int, at_column: int) -> tuple[int, int]:
        return span.line + at_line - 1, at_column + (span.column if at_line == 1 else 0)

    return Span(*shift(line, column), *shift(end_line, end_column))


_DIALECTS = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql",
             "mariadb": "mariadb", "sqlite": "sqlite", "mssql": "mssql", "oracle": "oracle"}


def _dialect_test(test: cst.BaseExpression) -> tuple[frozenset[str], bool] | None:
    """``dialect.name == "mysql"`` -> ({"mysql"}, True); ``!= "sqlite"`` -> ({"sqlite"},
    False); ``in ("mysql", "sqlite")`` -> both, True. ``None`` for any other condition."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1):
        return None
    left_code = cst.Module(body=[]).code_for_node(test.left).lower()
    target = test.comparisons[0]
    right = target.comparator
    if "dialect" not in left_code and "engine" not in left_code:
        return None
    values: list[str] = []
    if isinstance(right, (cst.Tuple, cst.List, cst.Set)):
        values = [v for e in right.elements if (v := _static_string(e.value)) is not None]
    elif (value := _static_string(right)) is not None:
        values = [value]
    dialects = frozenset(_DIALECTS[v.lower()] for v in values if v.lower() in _DIALECTS)
    if not dialects:
        return None
    operator = target.operator
    if isinstance(operator, (cst.Equal, cst.In, cst.Is)):
        return dialects, True
    if isinstance(operator, (cst.NotEqual, cst.NotIn, cst.IsNot)):
        return dialects, False
    return None


def _module_level_names(module: cst.Module) -> set[cst.CSTNode]:
    """The nodes outside the always-recorded types whose positions the model reports:
    metadata targets and values (``None``, names) and function names."""
    wanted: set[cst.CSTNode] = set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            wanted.add(statement.name)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    wanted.add(small.value)
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    wanted.add(small.value)
        elif isinstance(statement, (cst.If, cst.Try)):
            for node in _walk(statement):
                if isinstance(node, cst.Assign):
                    wanted.update(target.target for target in node.targets)
                elif isinstance(node, cst.AnnAssign):
                    wanted.add(node.target)
    return wanted


def _walk(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Every node under ``node`` (pre-order), without a visitor's overhead."""
    out: list[cst.CSTNode] = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out


def _is_op_method(call: cst.Call, op_names: set[str], name: str) -> bool:
    func = call.func
    return (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)
            and func.value.value in op_names and func.attr.value == name)


def _body_kind(node: cst.FunctionDef) -> Literal["empty", "raises", "code"]:
    body = node.body
    statements: list[cst.BaseSmallStatement | cst.BaseStatement] = []
    if isinstance(body, cst.SimpleStatementSuite):
        statements.extend(body.body)
    else:
        for statement in body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                statements.extend(statement.body)
            else:
                statements.append(statement)
    meaningful = [
        s for s in statements
        if not isinstance(s, cst.Pass)
        and not (isinstance(s, cst.Expr) and isinstance(
            s.value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)))
    ]
    if not meaningful:
        return "empty"
    if isinstance(meaningful[0], cst.Raise):
        return "raises"
    return "code"


def _static_string(node: cst.BaseExpression) -> str | None:
    """The value of a string literal (plain or implicitly concatenated), else ``None``."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _raw_source(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


_RECOVER = re.compile(
    r"^(?P<name>revision|down_revision|branch_labels|depends_on)\s*(?::[^=\n]*)?=\s*(?P<value>.+?)\s*(?:#.*)?$",
    re.MULTILINE,
)
_STRING_ITEM = re.compile(r"""(?P<q>['"])(?P<s>[^'"\\\n]*)(?P=q)""")


def _recover_metadata(result: RevisionFile, text: str) -> None:
    """Read metadata lines from a file that does not parse, so one syntax error does not
    also break the revision graph for every file around it."""
    for match in _RECOVER.finditer(text):
        name, value = match.group("name"), match.group("value")
        line = text.count("\n", 0, match.start()) + 1
        col = match.start("value") - match.start()
        span = Span(line, col, line, col + len(value))
        if value == "None" or value in ("()", "[]"):
            result.metadata[name] = MetadataValue("none", (), (), span, line)
            continue
        items = list(_STRING_ITEM.finditer(value))
        rest = _STRING_ITEM.sub("", value).strip("()[], \t")
        if items and not rest.replace(",", "").strip():
            spans = tuple(Span(line, col + m.start(), line, col + m.end()) for m in items)
            kind: Literal["str", "tuple"] = "str" if value[0] in "'\"" and len(items) == 1 else "tuple"
            result.metadata[name] = MetadataValue(kind, tuple(m.group("s") for m in items), spans, span, line)
        else:
            result.metadata[name] = MetadataValue("dynamic", (), (), span, line)
