"""Generated downgrades: the inverse of ``upgrade()``, operation by operation, in reverse.

Only inverses that are exact are written (MG201, MG202, MG203 fixes):

* what ``upgrade()`` creates is dropped (``add_column``, ``create_table``, ``create_index``,
  ``create_*_constraint``, an enum type made by ``CREATE TYPE ... AS ENUM``);
* what it drops is re-created from the definition the history gave it (:class:`Catalog`,
  the upgrades of every ancestor replayed statically): a column with its type, default and
  the indexes and constraints that went with it, a table with its columns, constraints and
  indexes, an index, a constraint;
* ``alter_column`` swaps new and old values (``type_``/``existing_type``, ``nullable``,
  ``server_default``, ``comment``, ``new_column_name``), old values coming from the
  ``existing_*`` arguments or the history; ``rename_table`` renames back;
* ``batch_alter_table`` blocks are inverted inside a batch block.

Everything else (``op.execute`` of anything but ``SET`` or ``CREATE TYPE``, ``bulk_insert``,
code that is not an operation, an operation in a loop or under ``if``, a definition the
history does not know or that cannot be built without running code) gets a
``# migls: cannot invert ...`` comment at its place, and the generated function starts with
``raise NotImplementedError(...)``: an incomplete downgrade must fail loudly rather than run
and silently do less.

Op code is rendered by Alembic (``alembic.autogenerate.render_python_code``) from
``alembic.operations.ops`` objects built with SQLAlchemy objects made from the literal
arguments written in the revisions (:class:`Evaluator`: only SQLAlchemy's own constructors,
only literal data; a revision file is never imported or run). Alembic and SQLAlchemy are
imported only when a fix is built.
"""

from __future__ import annotations

import ast
import importlib
import re
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from migls.fixes import Edit, Fix, _indent_unit
from migls.model import RevisionFile
from migls.ops import DYNAMIC, Arg, ColumnDef, Operation
from migls.span import Span

if TYPE_CHECKING:
    from migls.rule import Context

#: The first line of a generated downgrade that misses an inverse.
INCOMPLETE = "raise NotImplementedError(\"migls: incomplete, see the 'cannot invert' comments\")"
#: The comment that marks a missing inverse (followed by what and why).
CANNOT_INVERT = "# migls: cannot invert"

_CREATE_TYPE = re.compile(r"^\s*CREATE\s+TYPE\s+((?:\"?\w+\"?\.)?\"?\w+\"?)\s+AS\s+ENUM\b",
                          re.IGNORECASE)
_SET = re.compile(r"^\s*SET\s", re.IGNORECASE)
_SELECT = re.compile(r"^\s*(SELECT|SHOW)\b", re.IGNORECASE)
_DDL_WORD = re.compile(r"\b(CREATE|ALTER|DROP|RENAME|TRUNCATE|COMMENT)\b", re.IGNORECASE)
#: Calls that only build objects or read the catalog (no effect on the database) in a
#: statement of ``upgrade()`` (``insp = sa.inspect(bind)``).
_HARMLESS_CALLS = frozenset({"get_bind", "get_context", "table", "column", "text", "select",
                             "literal_column", "bindparam", "and_", "or_", "not_", "func",
                             "inline_literal", "f", "MetaData", "Table", "Column", "inspect",
                             "from_engine", "reflect", "get_table_names", "get_view_names",
                             "get_columns", "get_indexes", "get_foreign_keys", "get_pk_constraint",
                             "get_unique_constraints", "get_check_constraints", "get_enums",
                             "get_schema_names", "has_table", "has_index"})
_CONSTRAINT_TYPES = {"create_unique_constraint": "unique", "create_primary_key": "primary",
                     "create_foreign_key": "foreignkey", "create_check_constraint": "check",
                     "create_exclude_constraint": "exclude"}
#: Arguments of the ops that are not passed on as keyword arguments of a re-created object.
_OP_PARAMETERS = frozenset({"index_name", "table_name", "columns", "schema", "unique",
                            "constraint_name", "source_table", "referent_table", "local_cols",
                            "remote_cols", "condition", "if_not_exists", "if_exists",
                            "postgresql_concurrently", "postgresql_not_valid", "type_"})


# ---------------------------------------------------------------------------------------------
# what a fix writes
# ---------------------------------------------------------------------------------------------


@dataclass
class Generated:
    """Rendered inverse code: lines at indentation level 0 (four spaces a level), the import
    lines it needs, and what could not be inverted."""

    lines: list[str]
    imports: set[str]
    missing: list[str]

    @property
    def complete(self) -> bool:
        """Whether every operation got an exact inverse."""
        return not self.missing


def missing_downgrade_fix(ctx: Context, file: RevisionFile) -> Fix | None:
    """MG201: a ``downgrade()`` after ``upgrade()``, inverting it."""
    layout = _Layout.of(file)
    if layout is None or layout.upgrade is None or layout.downgrade is not None:
        return None
    upgrade = layout.upgrade
    if upgrade.params:
        return None  # a multi-database template (upgrade(engine_name)): not ours to guess
    generated = _generate(ctx, file, layout)
    if generated is None:
        return None
    unit = layout.indent_unit
    body = _body_lines(generated, layout, with_markers=upgrade.has_alembic_markers)
    header = f"def downgrade(){' -> None' if upgrade.returns_none else ''}:"
    text = "\n".join([header, *(_indent(line, unit) for line in body)])
    line = layout.lines[upgrade.last_line - 1]
    edits = [Edit(Span(upgrade.last_line, len(line), upgrade.last_line, len(line)), "\n\n\n" + text)]
    edits += _import_edits(layout, generated)
    title = "Generate downgrade() from upgrade()" + ("" if generated.complete else " (incomplete: see the comments)")
    return Fix(title, False, tuple(edits))


def empty_downgrade_fix(ctx: Context, file: RevisionFile) -> Fix | None:
    """MG202: the empty body of ``downgrade()`` replaced with the inverse of ``upgrade()``
    (its docstring and comments stay)."""
    layout = _Layout.of(file)
    if layout is None or layout.upgrade is None or layout.downgrade is None:
        return None
    downgrade = layout.downgrade
    generated = _generate(ctx, file, layout)
    if generated is None:
        return None
    body = _body_lines(generated, layout, with_markers=False)
    unit = layout.indent_unit
    if downgrade.one_line is not None:  # def downgrade(): pass
        line_no, column = downgrade.one_line
        line = layout.lines[line_no - 1]
        text = "\n".join(_indent(line, unit, downgrade.indent) for line in body)
        edits = [Edit(Span(line_no, column, line_no, len(line)), "\n" + text)]
    elif downgrade.placeholders:
        first, *rest = downgrade.placeholders
        indent = layout.lines[first - 1][:len(layout.lines[first - 1]) - len(layout.lines[first - 1].lstrip())]
        text = "\n".join(_indent(line, unit, indent) for line in body)
        edits = [Edit(Span(first, 0, first, len(layout.lines[first - 1])), text)]
        edits += [Edit(Span(other, 0, other + 1, 0), "") for other in rest]
    else:  # only a docstring (and comments): the code goes after them
        after = downgrade.last_line
        line = layout.lines[after - 1]
        text = "\n".join(_indent(line, unit, downgrade.indent) for line in body)
        edits = [Edit(Span(after, len(line), after, len(line)), "\n" + text)]
    edits += _import_edits(layout, generated)
    title = "Write the inverse of upgrade() in downgrade()" + ("" if generated.complete else " (incomplete: see the comments)")
    return Fix(title, False, tuple(edits))


def append_inverse_fix(ctx: Context, file: RevisionFile, span: Span) -> Fix | None:
    """MG203: the inverse of the ``upgrade()`` operation at ``span``, inserted into
    ``downgrade()`` where reverse order puts it: before the inverse of any earlier
    operation, else at the end. Only exact inverses are offered."""
    layout = _Layout.of(file)
    if (layout is None or layout.upgrade is None or layout.downgrade is None or file.upgrade is None
            or layout.downgrade.one_line is not None):
        return None  # (a one-line downgrade cannot take another statement below it)
    steps = read_steps(file, layout, "upgrade")
    index = next((i for i, step in enumerate(steps) if step.op is not None and step.op.span == span), None)
    if index is None:
        return None
    inverter = _Inverter(ctx, file, steps)
    items = inverter.inverse(index)
    if not items or any(isinstance(item, _Missing) for item in items):
        return None
    generated = _render(ctx, layout, [_Group(steps[index].batch, items)])
    if generated is None:
        return None
    downgrade = layout.downgrade
    where = _insertion_line(file, layout, steps, index)
    unit = layout.indent_unit
    text = "\n".join(_indent(line, unit, downgrade.indent) for line in generated.lines)
    if where is None:  # at the end of the body
        last = downgrade.last_statement
        line = layout.lines[last - 1]
        edits = [Edit(Span(last, len(line), last, len(line)), "\n" + text)]
    else:
        edits = [Edit(Span(where, 0, where, 0), text + "\n")]
    edits += _import_edits(layout, generated)
    return Fix("Add the missing inverse to downgrade()", False, tuple(edits))


def _generate(ctx: Context, file: RevisionFile, layout: _Layout) -> Generated | None:
    steps = read_steps(file, layout, "upgrade")
    inverter = _Inverter(ctx, file, steps)
    groups: list[_Group] = []
    setup: list[object] = []
    for index in range(len(steps)):
        items = inverter.inverse(index)
        setup += [item for item in items if isinstance(item, _Setup)]
        items = [item for item in items if not isinstance(item, _Setup)]
        if items:
            groups.append(_Group(steps[index].batch, items))
    groups.reverse()
    merged: list[_Group] = [_Group(None, setup)] if setup else []
    for group in groups:  # the inverses of one batch block stay in one block
        if merged and group.batch is not None and merged[-1].batch == group.batch:
            merged[-1].items.extend(group.items)
        else:
            merged.append(group)
    return _render(ctx, layout, merged)


def _body_lines(generated: Generated, layout: _Layout, with_markers: bool) -> list[str]:
    lines = list(generated.lines) or ["pass"]
    if with_markers:
        lines = ["# ### commands auto generated by Alembic - please adjust! ###", *lines,
                 "# ### end Alembic commands ###"]
    if not generated.complete:
        lines.insert(0, INCOMPLETE)
    return lines


def _indent(line: str, unit: str, base: str | None = None) -> str:
    """A level-0 line (four spaces a level) in the file's indentation, one level in (or at
    ``base``)."""
    if not line.strip():
        return ""
    stripped = line.lstrip(" ")
    spaces = len(line) - len(stripped)
    levels, rest = divmod(spaces, 4)
    if unit == "    ":
        inner = line
    else:
        inner = unit * levels + " " * rest + stripped
    return (unit if base is None else base) + inner


# ---------------------------------------------------------------------------------------------
# the layout of the file: where upgrade() and downgrade() are
# ---------------------------------------------------------------------------------------------
# Python's own parser is enough here (and ten times faster than LibCST): only statement lines
# and the start of calls are needed, matched to the model's operations by position.


@dataclass
class _FunctionLayout:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    #: The last line of the body, trailing comments included.
    last_line: int
    #: The last line of the last statement (trailing comments excluded).
    last_statement: int
    indent: str
    params: bool
    returns_none: bool
    has_alembic_markers: bool
    #: Lines of the ``pass``/``...`` statements of an empty body.
    placeholders: list[int]
    #: ``def f(): pass`` on one line: (line, column just after the colon).
    one_line: tuple[int, int] | None


@dataclass
class _Layout:
    file: RevisionFile
    tree: ast.Module
    lines: list[str]
    upgrade: _FunctionLayout | None
    downgrade: _FunctionLayout | None
    indent_unit: str

    @classmethod
    def of(cls, file: RevisionFile) -> _Layout | None:
        if file.source is None or file.syntax_error is not None:
            return None
        try:
            tree = ast.parse(file.source.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        lines = file.source.text.split("\n")
        layout = cls(file, tree, lines, None, None, _indent_unit(lines))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in ("upgrade", "downgrade"):
                setattr(layout, node.name, layout._function(node))
        return layout

    def column(self, line: int, byte_offset: int) -> int:
        """A code-point column from ``ast``'s UTF-8 byte offset."""
        text = self.lines[line - 1]
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> _FunctionLayout:
        def_line = self.lines[node.lineno - 1]
        def_indent = def_line[:len(def_line) - len(def_line.lstrip())]
        arguments = node.args
        params = bool(arguments.args or arguments.posonlyargs or arguments.kwonlyargs
                      or arguments.vararg or arguments.kwarg)
        returns_none = isinstance(node.returns, ast.Constant) and node.returns.value is None
        placeholders = [s.lineno for s in node.body if isinstance(s, ast.Pass) or (
            isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis)]
        last_statement = node.body[-1].end_lineno or node.body[-1].lineno
        one_line = None
        first = node.body[0]
        if first.lineno == node.lineno:  # def downgrade(): pass
            start = self.column(first.lineno, first.col_offset)
            header = def_line[:start].rstrip()
            one_line = (node.lineno, len(header)) if header.endswith(":") else None
            indent = def_indent + self.indent_unit
        else:
            text = self.lines[first.lineno - 1]
            indent = text[:len(text) - len(text.lstrip())]
        last_line = last_statement
        for number in range(last_statement + 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if not text.strip():
                continue
            if text.lstrip().startswith("#") and len(text) - len(text.lstrip()) >= len(indent) > len(def_indent):
                last_line = number
                continue
            break
        text = "\n".join(self.lines[node.lineno - 1:last_line])
        return _FunctionLayout(node, last_line, last_statement, indent, params, returns_none,
                               "# ### commands auto generated by Alembic" in text,
                               placeholders, one_line)


# ---------------------------------------------------------------------------------------------
# the statements of upgrade()
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Batch:
    """A ``with op.batch_alter_table(...)`` block."""

    line: int
    table: str
    schema: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of ``upgrade()``: an operation, or code migls cannot invert."""

    line: int
    code: str
    op: Operation | None = None
    reason: str = ""
    batch: Batch | None = None


def read_steps(file: RevisionFile, layout: _Layout, function: str) -> list[Step]:
    """The statements of ``upgrade()`` (or ``downgrade()``) in order, each an operation (at
    the top level, or directly in a ``batch_alter_table``/``autocommit_block`` block) or
    code that cannot be inverted."""
    target = getattr(layout, function)
    model = file.upgrade if function == "upgrade" else file.downgrade
    if target is None or model is None:
        return []
    by_span = {op.span: op for op in model.ops}
    steps: list[Step] = []
    for statement in target.node.body:
        steps += _statement_steps(layout, statement, by_span, None)
    return steps


def _first_line(layout: _Layout, node: ast.stmt) -> tuple[int, str]:
    text = layout.lines[node.lineno - 1].strip()
    if "  #" in text:
        text = text[:text.index("  #")]
    if (node.end_lineno or node.lineno) > node.lineno:
        text += " ..."
    return node.lineno, text


def _statement_steps(layout: _Layout, statement: ast.stmt, by_span: dict[Span, Operation],
                     batch: Batch | None) -> list[Step]:
    line, code = _first_line(layout, statement)
    if isinstance(statement, (ast.Pass, ast.Import, ast.ImportFrom)):
        return []
    if isinstance(statement, ast.With) and batch is None and len(statement.items) == 1:
        item = statement.items[0].context_expr
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute):
            name = item.func.attr
            if name == "autocommit_block":
                return [s for child in statement.body for s in _statement_steps(layout, child, by_span, None)]
            if name == "batch_alter_table":
                block = _batch_of(item, line)
                if block is None:
                    return [Step(line, code, reason="the batch block's table is not a literal")]
                return [s for child in statement.body for s in _statement_steps(layout, child, by_span, block)]
    value: ast.expr | None = None
    if isinstance(statement, ast.Expr):
        value = statement.value
        if isinstance(value, ast.Constant) and (isinstance(value.value, str) or value.value is Ellipsis):
            return []
    elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
        value = statement.value
    else:
        kind = type(statement).__name__.lower()
        return [Step(line, code, reason=f"code in a `{kind}` statement runs as written, not as one operation")]
    if isinstance(value, ast.Call):
        end_line = value.end_lineno or value.lineno
        op = by_span.get(Span(value.lineno, layout.column(value.lineno, value.col_offset), end_line,
                              layout.column(end_line, value.end_col_offset or 0)))
        if op is not None:
            if op.name in ("get_bind", "get_context", "f", "inline_literal"):
                return []
            return [Step(line, code, op=op, batch=batch if op.batch else None)]
    if value is None or _harmless(value):
        return []
    return [Step(line, code, reason="it is not an Alembic operation migls can read")]


def _batch_of(call: ast.Call, line: int) -> Batch | None:
    table: object = None
    schema: object = None
    for index, arg in enumerate(call.args[:2]):
        if index == 0:
            table = _literal(arg)
        else:
            schema = _literal(arg)
    for keyword in call.keywords:
        if keyword.arg == "table_name":
            table = _literal(keyword.value)
        elif keyword.arg == "schema":
            schema = _literal(keyword.value)
    if not isinstance(table, str) or not (schema is None or isinstance(schema, str)):
        return None
    return Batch(line, table, schema)


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return DYNAMIC


def _harmless(node: ast.expr) -> bool:
    """Whether an expression only builds objects (``sa.table(...)``, ``op.get_bind()``)."""
    for current in ast.walk(node):
        if isinstance(current, ast.Call):
            name = _last(current.func)
            if name is None or not (name in _HARMLESS_CALLS or name[:1].isupper()):
                return False
        if isinstance(current, (ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# expressions as written, and building SQLAlchemy objects from them
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expr:
    """An expression as written in a revision file, evaluated only when a fix needs it."""

    code: str
    path: str


class CannotBuild(Exception):
    """An expression that cannot be built from literal data and SQLAlchemy's constructors."""


class _Unknown(CannotBuild):
    """What an inverse needs and neither the operation nor the history gives (the message
    says what, in full)."""


#: Names a revision may use without importing them (rule examples, snippets).
_DEFAULT_ALIASES = {
    "sa": "sqlalchemy", "sqlalchemy": "sqlalchemy", "op": "alembic.op",
    "postgresql": "sqlalchemy.dialects.postgresql", "mysql": "sqlalchemy.dialects.mysql",
    "sqlite": "sqlalchemy.dialects.sqlite", "mssql": "sqlalchemy.dialects.mssql",
    "oracle": "sqlalchemy.dialects.oracle",
}


_IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]", re.MULTILINE)


def imported_names(text: str) -> dict[str, str]:
    """Local name -> the dotted name the file imports it as (relative imports: ``"?"``).
    Only the import statements are parsed (whole files are long)."""
    out: dict[str, str] = {}
    for match in _IMPORT_LINE.finditer(text):
        start = match.start()
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if "(" in text[start:end] and ")" not in text[start:end]:
            close = text.find(")", end)
            end = len(text) if close < 0 else close + 1
        try:
            tree = ast.parse(text[start:end].strip())
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        out[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        out[top] = top
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    out[alias.asname or alias.name] = "?" if node.level else f"{node.module}.{alias.name}"
    return out


def aliases_of(text: str) -> dict[str, str]:
    """The names a revision's expressions are read with: its imports, and the usual
    ``sa``/``op``/dialect names where it does not import them."""
    return {**_DEFAULT_ALIASES, **imported_names(text)}


class Evaluator:
    """Builds SQLAlchemy objects from expressions as written: literals, and calls of
    SQLAlchemy's own types, schema constructs and SQL functions (resolved through the file's
    imports). Anything else raises :class:`CannotBuild`; nothing of the project is run."""

    def __init__(self, text_of: Callable[[str], str | None]) -> None:
        self._text_of = text_of
        self._aliases: dict[str, dict[str, str]] = {}

    def aliases(self, path: str) -> dict[str, str]:
        """The import aliases of the file at ``path``."""
        if path not in self._aliases:
            text = self._text_of(path)
            self._aliases[path] = aliases_of(text) if text is not None else dict(_DEFAULT_ALIASES)
        return self._aliases[path]

    def value(self, expr: Expr) -> Any:
        """The object ``expr`` builds."""
        return self._eval(_parse(expr.code), self.aliases(expr.path))

    def call(self, expr: Expr) -> tuple[Any, list[Any], dict[str, Any]]:
        """A call's callee (``None`` when it is not a SQLAlchemy construct, as ``op.x``)
        and its evaluated arguments."""
        node = _parse(expr.code)
        if not isinstance(node, ast.Call):
            raise CannotBuild(f"not a call: {expr.code}")
        aliases = self.aliases(expr.path)
        try:
            callee = self._eval(node.func, aliases)
        except CannotBuild:
            callee = None
        args = [self._eval(arg, aliases) for arg in node.args]
        kwargs = {kw.arg: self._eval(kw.value, aliases) for kw in node.keywords if kw.arg is not None}
        if any(kw.arg is None for kw in node.keywords):
            raise CannotBuild("**kwargs")
        return callee, args, kwargs

    def call_nodes(self, expr: Expr) -> tuple[ast.Call, dict[str, str]]:
        """A call's syntax tree and the aliases to evaluate its parts with."""
        node = _parse(expr.code)
        if not isinstance(node, ast.Call):
            raise CannotBuild(f"not a call: {expr.code}")
        return node, self.aliases(expr.path)

    def eval_node(self, node: ast.expr, aliases: dict[str, str]) -> Any:
        """The object one sub-expression builds."""
        return self._eval(node, aliases)

    def _eval(self, node: ast.expr, aliases: dict[str, str]) -> Any:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (str, int, float, bool, type(None))):
                return node.value
            raise CannotBuild(repr(node.value))
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self._eval(element, aliases) for element in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):
                raise CannotBuild("**mapping")
            return {self._eval(k, aliases): self._eval(v, aliases)  # type: ignore[arg-type]
                    for k, v in zip(node.keys, node.values)}
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self._eval(node.operand, aliases)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
            raise CannotBuild("unary operator")
        if isinstance(node, (ast.Name, ast.Attribute)):
            dotted = _dotted(node)
            if dotted is None:
                if isinstance(node, ast.Attribute):
                    base = self._eval(node.value, aliases)
                    return _method(base, node.attr)
                raise CannotBuild("expression")
            return _resolve(dotted, aliases)
        if isinstance(node, ast.Call):
            func = self._eval(node.func, aliases)
            if not callable(func):
                raise CannotBuild("not callable")
            if any(isinstance(arg, ast.Starred) for arg in node.args) or any(
                    kw.arg is None for kw in node.keywords):
                raise CannotBuild("*args")
            args = [self._eval(arg, aliases) for arg in node.args]
            kwargs = {str(kw.arg): self._eval(kw.value, aliases) for kw in node.keywords}
            return construct(func, args, kwargs)
        raise CannotBuild(type(node).__name__)


def construct(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Call an allowed SQLAlchemy constructor; any error means "cannot build"."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return func(*args, **{str(k): v for k, v in kwargs.items()})
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy rejecting the data: cannot build
        raise CannotBuild(f"{getattr(func, '__name__', func)}: {exc}") from None


def _parse(code: str) -> ast.expr:
    try:
        return ast.parse(code.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CannotBuild(code) from None


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _method(base: Any, name: str) -> Any:
    """The few methods of built objects that only build more (``sa.JSON().with_variant``)."""
    from sqlalchemy.types import TypeEngine

    if isinstance(base, TypeEngine) and name == "with_variant":
        return base.with_variant
    raise CannotBuild(f".{name}")


def _resolve(dotted: str, aliases: dict[str, str]) -> Any:
    head, _, rest = dotted.partition(".")
    target = aliases.get(head)
    if target is None and rest == "f":
        target = "alembic.op"  # batch_op.f(...): the batch block's alias
    if target is None or target == "?":
        raise CannotBuild(dotted)
    full = f"{target}.{rest}" if rest else target
    if full == "alembic.op.f":
        from sqlalchemy.sql.elements import conv

        return conv
    parts = full.split(".")
    if parts[0] != "sqlalchemy" or any(part.startswith("_") for part in parts):
        raise CannotBuild(dotted)
    obj: Any = importlib.import_module("sqlalchemy")
    for index, part in enumerate(parts[1:], 1):
        if isinstance(obj, types.ModuleType) and not hasattr(obj, part):
            module = ".".join(parts[:index + 1])
            if module not in _DIALECT_MODULES:  # nothing else of SQLAlchemy is loaded for this
                raise CannotBuild(dotted)
            obj = importlib.import_module(module)
        elif hasattr(obj, part) and (isinstance(obj, types.ModuleType) or _is_generator(obj)):
            obj = getattr(obj, part)
        else:
            raise CannotBuild(dotted)
    if not _allowed(obj):
        raise CannotBuild(dotted)
    return obj


_DIALECT_MODULES = frozenset(f"sqlalchemy.dialects.{name}"
                             for name in ("postgresql", "mysql", "sqlite", "mssql", "oracle"))


def _is_generator(obj: Any) -> bool:
    from sqlalchemy.sql.functions import _FunctionGenerator

    return isinstance(obj, _FunctionGenerator)


def _allowed(obj: Any) -> bool:
    """SQLAlchemy types, schema constructs, and functions that only build SQL."""
    import sqlalchemy as sa
    from sqlalchemy.schema import SchemaItem
    from sqlalchemy.sql.elements import conv
    from sqlalchemy.types import TypeEngine

    if isinstance(obj, types.ModuleType):
        return obj.__name__.split(".")[0] == "sqlalchemy"
    if isinstance(obj, type):
        return issubclass(obj, (TypeEngine, SchemaItem)) or obj is conv
    if _is_generator(obj):
        return True
    return any(obj is f for f in (sa.text, sa.literal_column, sa.true, sa.false, sa.null,
                                  sa.column, sa.literal))


# ---------------------------------------------------------------------------------------------
# what the history says the schema holds (definitions, not just names)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A column as history made it: its ``sa.Column(...)`` call and the changes since."""

    name: str
    column: Expr
    #: ``alter_column`` changes since: ``type`` (Expr), ``nullable`` (bool),
    #: ``server_default``/``comment`` (Expr or None), ``name`` (str).
    patches: tuple[tuple[str, object], ...] = ()
    exact: bool = True

    def patched(self, key: str, value: object) -> ColumnSpec:
        """With one more change."""
        return replace(self, patches=(*[p for p in self.patches if p[0] != key], (key, value)))


@dataclass(frozen=True, slots=True)
class Named:
    """An index or constraint as history made it."""

    #: ``index``, ``unique``, ``primary``, ``foreignkey``, ``check`` or ``exclude``.
    kind: str
    #: ``None``: named by the database or a naming convention.
    name: str | None
    #: The local columns it involves (``None`` when not all are plain column names).
    columns: tuple[str, ...] | None
    #: Where it came from: ``op`` (a ``create_*`` call), ``item`` (an argument of
    #: ``create_table``), ``fk`` (an ``sa.ForeignKey`` in a column), ``flag`` (a column's
    #: ``index=True``/``unique=True``).
    origin: str
    source: Expr
    op: Operation | None = None
    referent: str | None = None
    remote: tuple[str, ...] | None = None
    exact: bool = True


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table as history made it."""

    name: str
    schema: str | None
    columns: tuple[ColumnSpec, ...] = ()
    named: tuple[Named, ...] = ()
    #: ``create_table``'s keyword arguments (``comment``, ``postgresql_partition_by``...).
    options: tuple[tuple[str, Expr], ...] = ()
    #: Whether every column and constraint is known (created in the history, and nothing
    #: history cannot follow changed it since).
    complete: bool = False

    def column(self, name: str) -> ColumnSpec | None:
        """A column by name."""
        return next((c for c in self.columns if c.name == name), None)

    def find(self, name: str) -> Named | None:
        """An index or constraint by name."""
        return next((n for n in self.named if n.name == name), None)


@dataclass(slots=True)
class Catalog:
    """Table definitions by name, replayed from ``upgrade()`` operations."""

    tables: dict[str, TableSpec] = field(default_factory=dict)

    def copy(self) -> Catalog:
        """A copy sharing the immutable table specs."""
        return Catalog(dict(self.tables))

    def index_table(self, name: str) -> str | None:
        """The table of an index (or constraint) by name."""
        return next((t.name for t in self.tables.values() if t.find(name) is not None), None)

    def taint(self, predicate: Callable[[TableSpec], bool] = lambda t: True) -> None:
        """Forget that the tables matching ``predicate`` are completely known."""
        for name, table in list(self.tables.items()):
            if predicate(table):
                self.tables[name] = replace(table, complete=False)

    def apply(self, op: Operation, file: RevisionFile) -> None:
        """Replay one operation of ``file``."""
        handler = _REPLAY.get(op.name)
        if handler is None:
            return
        handler(self, op, file.path)
        if op.table in self.tables and op.name in ("create_table", "add_column", "alter_column") and (
                _unpacks(op, file)):
            # arguments unpacked from a variable (``*COLUMNS``, ``**changes``): not known
            table = self.tables[op.table]
            changed = op.literal("column_name")
            self.tables[op.table] = replace(table, complete=False, columns=tuple(
                replace(c, exact=False) if c.name == changed else c for c in table.columns))


def _unpacks(op: Operation, file: RevisionFile) -> bool:
    """Whether the call passes ``*args`` or ``**kwargs`` (the model does not read them)."""
    if file.source is None:
        return True
    lines = file.source.text.split("\n")[op.span.line - 1:op.span.end_line]
    if not lines:
        return True
    lines[-1] = lines[-1][:op.span.end_column]
    lines[0] = lines[0][op.span.column:]
    code = "\n".join(lines)
    if "*" not in code:
        return False
    try:
        call = ast.parse(code.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return isinstance(call, ast.Call) and (any(isinstance(a, ast.Starred) for a in call.args)
                                           or any(k.arg is None for k in call.keywords))


def _name_of(arg: Arg | None) -> object:
    """A literal name, the name in ``op.f("...")``, ``None``, or :data:`DYNAMIC`."""
    if arg is None or arg.value is None:
        return None
    if isinstance(arg.value, str):
        return arg.value
    if arg.call_name == "f" and len(arg.call_args) == 1 and isinstance(arg.call_args[0], str):
        return arg.call_args[0]
    return DYNAMIC


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    return None


def _column_named(table: str, column: ColumnDef, arg: Arg, path: str) -> list[Named]:
    """The indexes and constraints a column's own arguments make (``sa.ForeignKey(...)``,
    ``index=True``, ``unique=True``)."""
    name = str(column.name)
    expr = Expr(arg.code, path)
    out: list[Named] = []
    for target in column.foreign_keys:
        parts = target.split(".")
        known = target != "?" and len(parts) >= 2
        out.append(Named("foreignkey", None, (name,), "fk", expr,
                         referent=parts[-2] if known else None,
                         remote=(parts[-1],) if known else None, exact=known))
    if column.index:
        out.append(Named("index", f"ix_{table}_{name}", (name,), "flag", expr))
    elif column.unique:
        out.append(Named("unique", None, (name,), "flag", expr))
    return out


def _literal_kwargs(code: str) -> dict[str, object]:
    try:
        node = _parse(code)
    except CannotBuild:
        return {}
    if not isinstance(node, ast.Call):
        return {}
    out: dict[str, object] = {}
    for kw in node.keywords:
        if kw.arg is not None:
            out[kw.arg] = kw.value.value if isinstance(kw.value, ast.Constant) else DYNAMIC
    return out


def _last(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


_ITEM_KINDS = {"PrimaryKeyConstraint": "primary", "ForeignKeyConstraint": "foreignkey",
               "UniqueConstraint": "unique", "CheckConstraint": "check", "Index": "index",
               "ExcludeConstraint": "exclude"}


def _replay_create_table(catalog: Catalog, op: Operation, path: str) -> None:
    table = op.table
    schema = op.literal("schema")
    if table is None:
        catalog.taint()
        return
    complete = schema is None or isinstance(schema, str)
    columns: list[ColumnSpec] = []
    named: list[Named] = []
    definitions = iter(op.columns)  # the model's reading of each sa.Column, in order
    for arg in op.rest:
        if arg.call_name == "Column":
            column = next(definitions, None)
            if column is None or column.name is None:
                complete = False
                continue
            columns.append(ColumnSpec(column.name, Expr(arg.code, path)))
            named += _column_named(table, column, arg, path)
        elif arg.call_name in _ITEM_KINDS:
            named.append(_item_named(arg, path))
        else:
            complete = False
    options = tuple((key, Expr(value.code, path)) for key, value in op.args.items()
                    if key not in ("table_name", "schema", "if_not_exists"))
    catalog.tables[table] = TableSpec(table, schema if isinstance(schema, str) else None,
                                      tuple(columns), tuple(named), options, complete)


def _item_named(arg: Arg, path: str) -> Named:
    kind = _ITEM_KINDS[str(arg.call_name)]
    name = arg.kwarg("name")
    args = arg.call_args
    columns: tuple[str, ...] | None
    referent = remote = None
    if kind == "foreignkey":
        columns = _strings(args[0]) if args else None
        targets = _strings(args[1]) if len(args) > 1 else None
        if targets and all("." in t for t in targets):
            referent = targets[0].rsplit(".", 1)[0].split(".")[-1]
            remote = tuple(t.rsplit(".", 1)[1] for t in targets)
    elif kind == "index":
        columns = _strings(tuple(args[1:])) if args else None
        name = args[0] if args else None
    elif kind == "check":
        columns = None
    else:
        columns = _strings(tuple(args))
    exact = (name is None or isinstance(name, str)) and (kind != "foreignkey" or referent is not None)
    return Named(kind, name if isinstance(name, str) else None, columns, "item", Expr(arg.code, path),
                 referent=referent, remote=remote, exact=exact)


def _replay_drop_table(catalog: Catalog, op: Operation, path: str) -> None:
    if op.table is None:
        catalog.tables.clear()
    else:
        catalog.tables.pop(op.table, None)


def _replay_rename_table(catalog: Catalog, op: Operation, path: str) -> None:
    new = op.literal("new_table_name")
    if op.table is None or not isinstance(new, str):
        catalog.taint()
        return
    old = op.table
    for name, table in list(catalog.tables.items()):
        if any(n.referent == old for n in table.named):
            catalog.tables[name] = replace(table, named=tuple(
                replace(n, referent=new) if n.referent == old else n for n in table.named))
    spec = catalog.tables.pop(old, None)
    if spec is not None:
        # unnamed constraints keep the names the database gave them under the old name
        catalog.tables[new] = replace(spec, name=new, named=tuple(
            n if n.name is not None else replace(n, exact=False) for n in spec.named))


def _table_for(catalog: Catalog, op: Operation) -> TableSpec | None:
    if op.table is None:
        return None
    if op.table not in catalog.tables:
        schema = op.literal("schema")
        catalog.tables[op.table] = TableSpec(op.table, schema if isinstance(schema, str) else None)
    return catalog.tables[op.table]


def _replay_add_column(catalog: Catalog, op: Operation, path: str) -> None:
    arg = op.arg("column")
    table = _table_for(catalog, op)
    if table is None:
        catalog.taint()
        return
    column = op.columns[0] if op.columns else None
    if arg is None or column is None or column.name is None:
        catalog.tables[table.name] = replace(table, complete=False)
        return
    name = column.name
    kept = tuple(c for c in table.columns if c.name != name)
    catalog.tables[table.name] = replace(
        table, columns=(*kept, ColumnSpec(name, Expr(arg.code, path))),
        named=table.named + tuple(_column_named(table.name, column, arg, path)))


def _involves(named: Named, column: str) -> bool:
    if named.columns is not None:
        return column in named.columns
    return re.search(rf"(?<![\w.]){re.escape(column)}(?!\w)", named.source.code) is not None


def _replay_drop_column(catalog: Catalog, op: Operation, path: str) -> None:
    name = op.literal("column_name")
    if op.table is None or not isinstance(name, str):
        catalog.taint()
        return
    table = catalog.tables.get(op.table)
    if table is not None:
        catalog.tables[op.table] = replace(
            table, columns=tuple(c for c in table.columns if c.name != name),
            named=tuple(n for n in table.named if not _involves(n, name)))


def _replay_alter_column(catalog: Catalog, op: Operation, path: str) -> None:
    name = op.literal("column_name")
    if op.table is None or not isinstance(name, str):
        catalog.taint()
        return
    table = catalog.tables.get(op.table)
    column = table.column(name) if table is not None else None
    if table is None or column is None:
        return
    for key, patch in (("type_", "type"), ("server_default", "server_default"), ("comment", "comment")):
        arg = op.arg(key)
        if arg is not None:
            column = column.patched(patch, None if arg.value is None else Expr(arg.code, path))
    nullable = op.arg("nullable")
    if nullable is not None:
        if isinstance(nullable.value, bool):
            column = column.patched("nullable", nullable.value)
        else:
            column = replace(column, exact=False)
    if any(key in op.args for key in ("autoincrement", "existing_autoincrement")):
        column = replace(column, exact=False)
    named = table.named
    new_name = op.arg("new_column_name")
    if new_name is not None:
        if not isinstance(new_name.value, str):
            catalog.taint(lambda t: t.name == table.name)
            column = replace(column, exact=False)
        else:
            new = new_name.value
            column = replace(column.patched("name", new), name=new)
            named = tuple(_renamed_column(n, name, new) for n in named)
            _rename_remote(catalog, table.name, name, new)
    catalog.tables[table.name] = replace(
        catalog.tables[table.name], named=named,
        columns=tuple(column if c.name == name else c for c in table.columns))


def _renamed_column(named: Named, old: str, new: str) -> Named:
    if named.columns is None:
        return replace(named, exact=named.exact and not _involves(named, old))
    if old not in named.columns:
        return named
    return replace(named, columns=tuple(new if c == old else c for c in named.columns),
                   exact=named.exact and named.name is not None)


def _rename_remote(catalog: Catalog, table: str, old: str, new: str) -> None:
    for name, spec in list(catalog.tables.items()):
        changed = tuple(
            replace(n, remote=tuple(new if r == old else r for r in n.remote))
            if n.referent == table and n.remote is not None and old in n.remote else n
            for n in spec.named)
        if changed != spec.named:
            catalog.tables[name] = replace(spec, named=changed)


def _replay_create_named(catalog: Catalog, op: Operation, path: str) -> None:
    table = _table_for(catalog, op)
    if table is None:
        catalog.taint()
        return
    kind = "index" if op.name == "create_index" else _CONSTRAINT_TYPES[op.name]
    name = _name_of(op.arg("index_name" if kind == "index" else "constraint_name"))
    columns_arg = {"index": "columns", "foreignkey": "local_cols"}.get(kind, "columns")
    columns = _strings(op.literal(columns_arg)) if kind not in ("check", "exclude") else None
    referent = op.literal("referent_table") if kind == "foreignkey" else None
    remote = _strings(op.literal("remote_cols")) if kind == "foreignkey" else None
    exact = name is None or isinstance(name, str)
    if kind == "foreignkey" and (not isinstance(referent, str) or remote is None):
        exact = False
    written = op.arg("condition" if kind == "check" else columns_arg)
    named = Named(kind, name if isinstance(name, str) else None, columns, "op",
                  Expr(written.code if written is not None else "", path), op=op, referent=referent if isinstance(referent, str) else None,
                  remote=remote, exact=exact)
    kept = tuple(n for n in table.named if n.name is None or n.name != named.name)
    catalog.tables[table.name] = replace(table, named=(*kept, named))


def _replay_drop_named(catalog: Catalog, op: Operation, path: str) -> None:
    key = "index_name" if op.name == "drop_index" else "constraint_name"
    name = _name_of(op.arg(key))
    if not isinstance(name, str):
        catalog.taint(lambda t: op.table is None or t.name == op.table)
        return
    owner = op.table if op.table in catalog.tables else catalog.index_table(name)
    if owner is None:
        return
    table = catalog.tables[owner]
    kept = tuple(n for n in table.named if n.name != name)
    if len(kept) == len(table.named) and op.name == "drop_constraint":
        # a name the database gave an unnamed constraint: which one is not known
        kept = tuple(n for n in kept if n.name is not None)
        table = replace(table, complete=False)
    catalog.tables[owner] = replace(table, named=kept)


def _replay_execute(catalog: Catalog, op: Operation, path: str) -> None:
    """SQL that changes the schema: the tables it names are no longer completely known."""
    if op.sql is not None:
        text = op.sql
    else:
        arg = op.arg("sqltext")
        text = arg.code if arg is not None else ""
        if not _DDL_WORD.search(text):
            return  # a query, or SQL held in a variable (assumed to change data only)
    if not _DDL_WORD.search(text) or _SET.match(text) or _CREATE_TYPE.match(text):
        return
    words = {w.lower() for w in re.findall(r"\w+", text)}
    named = [t for t in catalog.tables.values() if t.name.lower() in words]
    if not named:
        return
    for table in named:
        catalog.tables[table.name] = replace(
            table, complete=False, columns=tuple(
                replace(c, exact=False) if c.name.lower() in words or table.name.lower() in words else c
                for c in table.columns),
            named=tuple(replace(n, exact=False) for n in table.named))


_REPLAY: dict[str, Callable[[Catalog, Operation, str], None]] = {
    "create_table": _replay_create_table, "drop_table": _replay_drop_table,
    "rename_table": _replay_rename_table, "add_column": _replay_add_column,
    "drop_column": _replay_drop_column, "alter_column": _replay_alter_column,
    "create_index": _replay_create_named, "drop_index": _replay_drop_named,
    "create_unique_constraint": _replay_create_named, "create_primary_key": _replay_create_named,
    "create_foreign_key": _replay_create_named, "create_check_constraint": _replay_create_named,
    "create_exclude_constraint": _replay_create_named, "drop_constraint": _replay_drop_named,
    "execute": _replay_execute,
}


def catalog_before(ctx: Context, file: RevisionFile) -> Catalog:
    """The definitions history gives when ``file``'s ``upgrade()`` starts: every ancestor's
    upgrade replayed, parents before children."""
    graph = ctx.graph
    revision = file.revision_id
    dialect = ctx.settings.dialect or "postgresql"
    key = (id(graph), revision, dialect)
    cached = _CATALOGS.get(key)
    if cached is not None and cached[0] is graph:
        return cached[1].copy()
    catalog = Catalog()
    if revision is not None and revision in graph.nodes:
        for ancestor in _topological(graph, graph.ancestors(revision)):
            node = graph.nodes[ancestor]
            upgrade = node.file.upgrade
            for op in upgrade.ops if upgrade is not None else ():
                if op.runs_on(dialect):
                    catalog.apply(op, node.file)
    if any(other is not graph for other, _ in _CATALOGS.values()):
        _CATALOGS.clear()
    _CATALOGS[key] = (graph, catalog)
    return catalog.copy()


_CATALOGS: dict[tuple[int, str | None, str], tuple[Any, Catalog]] = {}


def _topological(graph: Any, revisions: set[str]) -> list[str]:
    """``revisions`` with every parent before its children (ties by id, so runs agree)."""
    waiting = {r: sum(1 for p in set(graph.nodes[r].parents) if p in revisions) for r in revisions}
    ready = sorted(r for r, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for child in sorted(set(graph.nodes[current].children)):
            if child in waiting:
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
    return order  # revisions on a cycle are left out: their order is unknowable


# ---------------------------------------------------------------------------------------------
# inverting one statement
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Missing:
    """No exact inverse: where and why."""

    line: int
    code: str
    reason: str

    def comment(self) -> str:
        code = self.code if len(self.code) <= 60 else self.code[:57] + "..."
        return f"{CANNOT_INVERT} line {self.line}, {code}: {self.reason}"


@dataclass(frozen=True, slots=True)
class _Setup:
    """A session setting (``SET ...``) ``upgrade()`` makes: the downgrade makes it first."""

    sql: str


@dataclass
class _Group:
    batch: Batch | None
    items: list[object]


class _Inverter:
    """The inverse of each statement of one ``upgrade()``, in the schema each runs on."""

    def __init__(self, ctx: Context, file: RevisionFile, steps: list[Step]) -> None:
        self.ctx = ctx
        self.file = file
        self.steps = steps
        self.dialect = ctx.settings.dialect or "postgresql"
        texts = {f.path: f.source.text for f in ctx.files if f.source is not None}
        if file.source is not None:
            texts[file.path] = file.source.text
        self.evaluator = Evaluator(texts.get)
        self._catalog: Catalog | None = None
        self._applied = 0

    def state(self, index: int) -> Catalog:
        """The definitions just before step ``index``."""
        if self._catalog is None or self._applied > index:
            self._catalog = catalog_before(self.ctx, self.file)
            self._applied = 0
        while self._applied < index:
            op = self.steps[self._applied].op
            if op is not None and op.runs_on(self.dialect):
                self._catalog.apply(op, self.file)
            self._applied += 1
        return self._catalog

    def inverse(self, index: int) -> list[object]:
        """The inverse items of step ``index``: Alembic operations, :class:`_Missing`
        or :class:`_Setup`."""
        step = self.steps[index]
        op = step.op
        if op is None:
            return [_Missing(step.line, step.code, step.reason)]
        try:
            return _INVERSES.get(op.name, _no_inverse)(self, step, op, index)
        except _Unknown as exc:
            return [_Missing(step.line, step.code, str(exc))]
        except CannotBuild as exc:
            return [_Missing(step.line, step.code, f"`{exc}` cannot be built without running code")]
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy or Alembic refusing what was built
            return [_Missing(step.line, step.code, f"its inverse could not be built ({type(exc).__name__})")]

    def missing(self, step: Step, reason: str) -> list[object]:
        """A :class:`_Missing` for ``step``."""
        return [_Missing(step.line, step.code, reason)]

    def schema(self, op: Operation) -> str | None:
        """The literal ``schema=`` of an operation (``CannotBuild`` when not literal)."""
        value = op.literal("schema")
        if value is DYNAMIC or not (value is None or isinstance(value, str)):
            raise _Unknown("the schema is not a literal")
        return value if isinstance(value, str) else None

    def value(self, op: Operation, name: str) -> Any:
        """An argument of the operation, built."""
        arg = op.arg(name)
        if arg is None:
            raise CannotBuild(name)
        return self.evaluator.value(Expr(arg.code, self.file.path))


def _no_inverse(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    return inv.missing(step, f"Alembic's {op.name}() has no exact inverse")


def _literal_table(op: Operation) -> str:
    if op.table is None:
        raise _Unknown("the table name is not a literal")
    return op.table


def _inverse_add_column(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    table = _literal_table(op)
    arg = op.arg("column")
    name = arg.call_args[0] if arg is not None and arg.call_name == "Column" and arg.call_args else None
    if not isinstance(name, str):
        return inv.missing(step, "the column's name is not a literal")
    if op.literal("if_not_exists") is True:
        return inv.missing(step, "if_not_exists: the column may have existed before")
    return [ops.DropColumnOp(table, name, schema=inv.schema(op))]


def _inverse_drop_column(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    table_name = _literal_table(op)
    name = op.literal("column_name")
    if not isinstance(name, str):
        return inv.missing(step, "the column's name is not a literal")
    table = inv.state(index).tables.get(table_name)
    column = table.column(name) if table is not None else None
    if table is None or column is None:
        return inv.missing(step, f"the history does not show how {table_name}.{name} was defined")
    if not column.exact:
        return inv.missing(step, f"{table_name}.{name} was changed in a way the history cannot follow")
    involved = [n for n in table.named if _involves(n, name)]
    if any(not n.exact for n in involved):
        return inv.missing(step, f"an index or constraint on {table_name}.{name} is not known exactly")
    if op.batch and any(n.name is None and n.kind != "index" for n in involved):
        return inv.missing(step, _UNNAMED_IN_BATCH)
    builder = _Builder(inv)
    sa_table = builder.table(table, [column], involved, with_others=True)
    schema = inv.schema(op)
    out: list[object] = [ops.AddColumnOp(table_name, sa_table.c[name], schema=schema)]
    out += builder.named_ops(sa_table, involved)
    return out


_UNNAMED_IN_BATCH = "a batch block cannot re-create an unnamed constraint (Alembic needs its name)"


def _inverse_create_table(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    table = _literal_table(op)
    out: list[object] = [ops.DropTableOp(table, schema=inv.schema(op))]
    if inv.dialect == "postgresql":
        types = {name for arg in op.rest if arg.call_name == "Column"
                 for name in _enum_types(inv, Expr(arg.code, inv.file.path))}
        out += [ops.ExecuteSQLOp(f"DROP TYPE {name}") for name in sorted(types)]
    return out


def _enum_types(inv: _Inverter, column: Expr) -> list[str]:
    """The PostgreSQL enum type a column's ``create_table`` creates (``op.drop_table`` does
    not drop it, so the inverse must)."""
    from sqlalchemy import Enum

    try:
        type_ = _Builder(inv).plain_column(ColumnSpec("?", column)).type
    except CannotBuild:
        if re.search(r"enum", column.code, re.IGNORECASE):  # sa.Enum(PythonEnum, ...)
            raise _Unknown("the enum type it may create cannot be read without running code") from None
        return []
    if isinstance(type_, Enum) and type_.native_enum and type_.name and getattr(type_, "create_type", True):
        return [f"{type_.schema}.{type_.name}" if type_.schema else type_.name]
    return []


def _inverse_drop_table(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    name = _literal_table(op)
    table = inv.state(index).tables.get(name)
    if table is None:
        return inv.missing(step, f"the history does not show how table {name} was defined")
    if not table.complete or any(not c.exact for c in table.columns) or any(not n.exact for n in table.named):
        return inv.missing(step, f"table {name} was changed in a way the history cannot follow")
    builder = _Builder(inv)
    sa_table = builder.table(table, list(table.columns), list(table.named), with_others=False)
    return [ops.CreateTableOp.from_table(sa_table), *builder.index_ops(sa_table, list(table.named))]


def _inverse_rename_table(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    new = op.literal("new_table_name")
    old = _literal_table(op)
    if not isinstance(new, str):
        return inv.missing(step, "the new name is not a literal")
    return [_rename_table_op()(new, old, schema=inv.schema(op))]


def _inverse_create_index(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    name = op.arg("index_name")
    if name is None or _name_of(name) is None or _name_of(name) is DYNAMIC:
        return inv.missing(step, "the index has no literal name")
    if op.literal("if_not_exists") is True:
        return inv.missing(step, "if_not_exists: the index may have existed before")
    table = _literal_table(op)
    return [ops.DropIndexOp(inv.value(op, "index_name"), table_name=table, schema=inv.schema(op))]


def _inverse_create_constraint(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    name = _name_of(op.arg("constraint_name"))
    if not isinstance(name, str):
        return inv.missing(step, "the constraint has no literal name (its name comes from the "
                           "database or a naming convention)")
    table = _literal_table(op)
    type_ = _CONSTRAINT_TYPES[op.name]
    return [ops.DropConstraintOp(inv.value(op, "constraint_name"), table,
                                 type_=None if type_ == "exclude" else type_,
                                 schema=inv.schema(op))]


def _inverse_drop_named(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    key = "index_name" if op.name == "drop_index" else "constraint_name"
    name = _name_of(op.arg(key))
    if not isinstance(name, str):
        return inv.missing(step, "the name is not a literal")
    catalog = inv.state(index)
    owner = op.table if op.table in catalog.tables else catalog.index_table(name)
    table = catalog.tables.get(owner) if owner is not None else None
    named = table.find(name) if table is not None else None
    what = "index" if op.name == "drop_index" else "constraint"
    if table is None or named is None:
        return inv.missing(step, f"the history does not show how {what} {name} was defined")
    if not named.exact or named.kind == "exclude":
        return inv.missing(step, f"{what} {name} is not known exactly")
    builder = _Builder(inv)
    sa_table = builder.table(table, [], [named], with_others=True)
    return builder.named_ops(sa_table, [named])


def _inverse_alter_column(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    table = _literal_table(op)
    name = op.literal("column_name")
    new_name = op.literal("new_column_name") if op.arg("new_column_name") is not None else None
    if not isinstance(name, str) or (op.arg("new_column_name") is not None and not isinstance(new_name, str)):
        return inv.missing(step, "the column's name is not a literal")
    for unsupported in ("autoincrement", "existing_autoincrement"):
        if op.arg(unsupported) is not None:
            return inv.missing(step, f"{unsupported}= has no known inverse")
    known = _ColumnNow(inv, index, table, name)
    kw: dict[str, Any] = {}
    if op.arg("type_") is not None:
        kw["modify_type"] = known.old("type", op, "existing_type")
        kw["existing_type"] = inv.value(op, "type_")
    elif op.arg("existing_type") is not None:
        kw["existing_type"] = inv.value(op, "existing_type")
    if op.arg("nullable") is not None:
        nullable = op.literal("nullable")
        if not isinstance(nullable, bool):
            raise CannotBuild("a computed nullable")
        kw["modify_nullable"] = known.old("nullable", op, "existing_nullable")
        kw["existing_nullable"] = nullable
    elif isinstance(op.literal("existing_nullable"), bool):
        kw["existing_nullable"] = op.literal("existing_nullable")
    if op.arg("server_default") is not None:
        kw["modify_server_default"] = _default_of(known.old("server_default", op, "existing_server_default"))
        kw["existing_server_default"] = _default_of(inv.value(op, "server_default"))
    elif op.arg("existing_server_default") is not None:
        kw["existing_server_default"] = _default_of(inv.value(op, "existing_server_default"))
    if op.arg("comment") is not None:
        kw["modify_comment"] = known.old("comment", op, "existing_comment")
        kw["existing_comment"] = inv.value(op, "comment")
    elif op.arg("existing_comment") is not None:
        kw["existing_comment"] = inv.value(op, "existing_comment")
    if isinstance(new_name, str):
        kw["modify_name"] = name
    if not any(k.startswith("modify_") for k in kw):
        return []  # changes nothing: nothing to undo
    if "existing_type" not in kw:
        try:
            kw["existing_type"] = known.old("type", op, "existing_type")
        except CannotBuild:
            pass  # not needed on PostgreSQL; Alembic asks for it on MySQL only
    if kw.get("existing_server_default") is None:
        kw["existing_server_default"] = False
    return [ops.AlterColumnOp(table, new_name if isinstance(new_name, str) else name,
                              schema=inv.schema(op), **kw)]


def _default_of(value: Any) -> Any:
    """A ``server_default`` as Alembic renders it in ``alter_column``: a string, ``None``,
    or SQL in a ``DefaultClause`` (a bare ``sa.text`` would be written unquoted)."""
    import sqlalchemy as sa

    if isinstance(value, sa.sql.ClauseElement):
        return sa.DefaultClause(value)
    return value


class _ColumnNow:
    """The values a column has before an ``alter_column``: its ``existing_*`` arguments,
    else what the history says."""

    def __init__(self, inv: _Inverter, index: int, table: str, name: str) -> None:
        self.inv = inv
        self.index = index
        self.table = table
        self.name = name

    def old(self, attribute: str, op: Operation, existing: str) -> Any:
        if op.arg(existing) is not None:
            if attribute == "nullable":
                value = op.literal(existing)
                if not isinstance(value, bool):
                    raise CannotBuild(f"a computed {existing}")
                return value
            value = self.inv.value(op, existing)
            return value
        spec = self.inv.state(self.index).tables.get(self.table)
        column = spec.column(self.name) if spec is not None else None
        if column is None or not column.exact:
            raise _Unknown(f"the old {attribute.replace('_', ' ')} of {self.table}.{self.name} is "
                           f"unknown (no {existing}=, and the history does not show it)")
        built = _Builder(self.inv).plain_column(column)
        if attribute == "type":
            from sqlalchemy.types import NullType

            if isinstance(built.type, NullType):
                raise _Unknown(f"the old type of {self.table}.{self.name} is unknown")
            return built.type
        if attribute == "nullable":
            return built.nullable
        if attribute == "server_default":
            return built.server_default  # a DefaultClause, or None
        return built.comment


def _inverse_execute(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    sql = op.sql
    if sql is None:
        return inv.missing(step, "SQL that is not a literal has no known inverse")
    if _SET.match(sql) and ";" not in sql.strip().rstrip(";"):
        return [_Setup(sql)]
    if _SELECT.match(sql) and ";" not in sql.strip().rstrip(";"):
        return []
    match = _CREATE_TYPE.match(sql)
    if match and ";" not in sql.strip().rstrip(";"):
        return [ops.ExecuteSQLOp(f"DROP TYPE {match.group(1)}")]
    return inv.missing(step, "SQL has no known inverse")


def _inverse_comment(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    from alembic.operations import ops

    table = _literal_table(op)
    if op.arg("existing_comment") is None:
        return inv.missing(step, "the old comment is not known (give existing_comment=)")
    old = inv.value(op, "existing_comment")
    if op.name == "drop_table_comment" or old is not None:
        new = inv.value(op, "comment") if op.name == "create_table_comment" else None
        return [ops.CreateTableCommentOp(table, old, existing_comment=new, schema=inv.schema(op))]
    return [ops.DropTableCommentOp(table, existing_comment=inv.value(op, "comment"),
                                   schema=inv.schema(op))]


def _no_op(inv: _Inverter, step: Step, op: Operation, index: int) -> list[object]:
    return []


_INVERSES: dict[str, Callable[[_Inverter, Step, Operation, int], list[object]]] = {
    "add_column": _inverse_add_column, "drop_column": _inverse_drop_column,
    "create_table": _inverse_create_table, "drop_table": _inverse_drop_table,
    "rename_table": _inverse_rename_table, "create_index": _inverse_create_index,
    "drop_index": _inverse_drop_named, "drop_constraint": _inverse_drop_named,
    "create_unique_constraint": _inverse_create_constraint,
    "create_primary_key": _inverse_create_constraint,
    "create_foreign_key": _inverse_create_constraint,
    "create_check_constraint": _inverse_create_constraint,
    "create_exclude_constraint": _inverse_create_constraint,
    "alter_column": _inverse_alter_column, "execute": _inverse_execute,
    "create_table_comment": _inverse_comment, "drop_table_comment": _inverse_comment,
    "get_bind": _no_op, "get_context": _no_op,
}


# ---------------------------------------------------------------------------------------------
# building SQLAlchemy tables, columns, indexes and constraints from definitions
# ---------------------------------------------------------------------------------------------


class _Builder:
    """SQLAlchemy objects for catalog definitions."""

    def __init__(self, inv: _Inverter) -> None:
        self.inv = inv
        self.evaluator = inv.evaluator

    def plain_column(self, spec: ColumnSpec, recreate: bool = False) -> Any:
        """The column with its changes applied, without the foreign keys, indexes and unique
        constraints of its arguments (those are rebuilt from :class:`Named`). To ``recreate``
        a dropped column on PostgreSQL, a named enum type is used, not created: dropping the
        column or table left the type in place."""
        import sqlalchemy as sa
        from sqlalchemy.types import TypeEngine

        callee, args, kwargs = self._column_parts(spec.column)
        if callee is not sa.Column:
            raise CannotBuild("a column that is not sa.Column(...)")
        patches = dict(spec.patches)
        args = [a for a in args if not isinstance(a, sa.ForeignKey)]
        kwargs.pop("index", None)
        kwargs.pop("unique", None)
        if "name" in patches and args and isinstance(args[0], str):
            args[0] = patches["name"]
        if "type" in patches:
            new_type = self.evaluator.value(patches["type"]) if patches["type"] is not None else None  # type: ignore[arg-type]
            if new_type is None:
                raise CannotBuild("a type changed to a computed one")
            at = next((i for i, a in enumerate(args) if isinstance(a, TypeEngine) or (
                isinstance(a, type) and issubclass(a, TypeEngine))), None)
            if at is None:
                args.insert(1 if args and isinstance(args[0], str) else 0, new_type)
            else:
                args[at] = new_type
        if "nullable" in patches:
            kwargs["nullable"] = patches["nullable"]
        for key in ("server_default", "comment"):
            if key in patches:
                kwargs[key] = (self.evaluator.value(patches[key])  # type: ignore[arg-type]
                               if patches[key] is not None else None)
        column = construct(sa.Column, args, kwargs)
        type_ = column.type
        if (recreate and self.inv.dialect == "postgresql" and isinstance(type_, sa.Enum)
                and type_.native_enum and type_.name and getattr(type_, "create_type", True)):
            from sqlalchemy.dialects import postgresql

            column.type = postgresql.ENUM(*type_.enums, name=type_.name, schema=type_.schema,
                                          create_type=False)
        return column

    def _column_parts(self, expr: Expr) -> tuple[Any, list[Any], dict[str, Any]]:
        return self.evaluator.call(expr)

    def table(self, spec: TableSpec, columns: list[ColumnSpec], named: list[Named], *,
              with_others: bool) -> Any:
        """An ``sa.Table`` with ``columns`` (plus a placeholder for any other column the
        ``named`` items refer to when ``with_others``) and the ``named`` items attached."""
        import sqlalchemy as sa

        metadata = sa.MetaData()
        built = [self.plain_column(c, recreate=True) for c in columns]
        names = {c.name for c in built}
        if with_others:
            for item in named:
                for column in item.columns or ():
                    if column not in names:
                        names.add(column)
                        built.append(sa.Column(column, sa.types.NullType()))
        kwargs = {key: self.evaluator.value(value) for key, value in spec.options} if not with_others else {}
        table = construct(sa.Table, [spec.name, metadata, *built], {"schema": spec.schema, **kwargs})
        for item in named:
            self.attach(table, item)
        return table

    def attach(self, table: Any, item: Named) -> None:
        """Build ``item`` on ``table``."""
        import sqlalchemy as sa

        kwargs = self._options(item)
        columns = list(item.columns) if item.columns is not None else None
        if item.kind == "index":
            return  # made by its own create_index (see index_op)
        if item.kind == "unique":
            table.append_constraint(construct(sa.UniqueConstraint, self._column_list(columns), kwargs))
        elif item.kind == "primary":
            table.append_constraint(construct(sa.PrimaryKeyConstraint, self._column_list(columns), kwargs))
        elif item.kind == "foreignkey":
            if item.referent is None or item.remote is None or columns is None:
                raise CannotBuild("a foreign key whose target is not a literal")
            target = f"{item.referent}.{{}}"
            referent_schema = kwargs.pop("referent_schema", None)
            kwargs.pop("source_schema", None)
            if referent_schema:
                target = f"{referent_schema}.{target}"
            _stub(table.metadata, item.referent, referent_schema, item.remote)
            table.append_constraint(construct(
                sa.ForeignKeyConstraint, [columns, [target.format(r) for r in item.remote]], kwargs))
        elif item.kind == "check":
            condition = kwargs.pop("sqltext", None)
            if condition is None:
                raise CannotBuild("a check constraint's condition")
            if isinstance(condition, str):
                condition = sa.text(condition)
            table.append_constraint(construct(sa.CheckConstraint, [condition], kwargs))
        else:
            raise CannotBuild(f"a {item.kind} constraint")

    @staticmethod
    def _column_list(columns: list[str] | None) -> list[str]:
        if columns is None:
            raise CannotBuild("columns that are not plain names")
        return columns

    def index_op(self, item: Named, table: str, schema: str | None) -> Any:
        """The ``create_index`` that makes an index."""
        from alembic.operations import ops

        kwargs = self._options(item)
        name = kwargs.pop("name", item.name)
        unique = bool(kwargs.pop("unique", False))
        elements = list(item.columns) if item.columns is not None else self._raw_elements(item)
        try:
            return ops.CreateIndexOp(name, table, elements, schema=schema, unique=unique, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Alembic rejecting the data: cannot build
            raise CannotBuild(f"index {name}: {exc}") from None

    def _raw_elements(self, item: Named) -> list[Any]:
        if item.origin == "op" and item.op is not None:
            arg = item.op.arg("columns")
            if arg is None:
                raise CannotBuild("an index without columns")
            value = self.evaluator.value(Expr(arg.code, item.source.path))
            return list(value) if isinstance(value, (list, tuple)) else [value]
        if item.origin == "item":
            _, args, _ = self.evaluator.call(item.source)
            return list(args[1:])
        raise CannotBuild("index elements")

    def _options(self, item: Named) -> dict[str, Any]:
        """The keyword arguments an index or constraint was made with (and the condition of
        a check, as ``sqltext``)."""
        if item.origin == "flag":
            kwargs: dict[str, Any] = {}
            if item.kind == "index":
                flags = _literal_kwargs(item.source.code)
                kwargs = {"name": item.name, "unique": flags.get("unique") is True}
            return kwargs
        if item.origin == "fk":
            return self._fk_options(item)
        if item.origin == "item":
            _, args, kwargs = self.evaluator.call(item.source)
            if item.kind == "check":
                kwargs["sqltext"] = args[0] if args else None
            if item.kind != "index":
                kwargs.setdefault("name", item.name)
            return kwargs
        op = item.op
        assert op is not None
        out: dict[str, Any] = {}
        for key, arg in op.args.items():
            if key in _OP_PARAMETERS and key not in ("unique", "condition", "referent_schema", "source_schema"):
                continue
            out[key] = self.evaluator.value(Expr(arg.code, item.source.path))
        if item.kind == "check":
            out["sqltext"] = out.pop("condition", None)
        name_arg = op.arg("index_name" if item.kind == "index" else "constraint_name")
        out["name"] = (self.evaluator.value(Expr(name_arg.code, item.source.path))
                       if name_arg is not None else None)
        return out

    def _fk_options(self, item: Named) -> dict[str, Any]:
        import sqlalchemy as sa

        node, aliases = self.evaluator.call_nodes(item.source)
        for arg in node.args:
            if isinstance(arg, ast.Call) and _last(arg.func) == "ForeignKey":
                target = arg.args[0] if arg.args else None
                if isinstance(target, ast.Constant) and isinstance(target.value, str) and (
                        target.value.rsplit(".", 1)[-1] == (item.remote or ("",))[0]):
                    callee = self.evaluator.eval_node(arg.func, aliases)
                    if callee is not sa.ForeignKey:
                        raise CannotBuild("a foreign key that is not sa.ForeignKey(...)")
                    kwargs = {kw.arg: self.evaluator.eval_node(kw.value, aliases)
                              for kw in arg.keywords if kw.arg is not None}
                    schema = target.value.rsplit(".", 2)[0] if target.value.count(".") >= 2 else None
                    if schema:
                        kwargs["referent_schema"] = schema
                    return kwargs
        raise CannotBuild("a column's foreign key")

    def named_ops(self, table: Any, named: list[Named]) -> list[object]:
        """The operations that make ``named`` (its constraints already attached to
        ``table``): constraints first, then indexes."""
        import sqlalchemy as sa
        from alembic.operations import ops

        out: list[object] = []
        for constraint in sorted(table.constraints, key=_constraint_order):
            if isinstance(constraint, sa.PrimaryKeyConstraint):
                if constraint.columns:
                    out.append(_primary_key_op().from_constraint(constraint))
            elif isinstance(constraint, sa.ForeignKeyConstraint):
                out.append(ops.CreateForeignKeyOp.from_constraint(constraint))
            elif isinstance(constraint, sa.UniqueConstraint):
                out.append(ops.CreateUniqueConstraintOp.from_constraint(constraint))
            elif isinstance(constraint, sa.CheckConstraint):
                out.append(ops.CreateCheckConstraintOp.from_constraint(constraint))
        return out + self.index_ops(table, named)

    def index_ops(self, table: Any, named: list[Named]) -> list[object]:
        """The ``create_index`` operations of the indexes among ``named``."""
        indexes = sorted((n for n in named if n.kind == "index"), key=lambda n: str(n.name))
        return [self.index_op(n, table.name, table.schema) for n in indexes]


def _stub(metadata: Any, name: str, schema: str | None, columns: Iterable[str]) -> None:
    """A referenced table with the referenced columns, so that SQLAlchemy (and Alembic's
    rendering) can resolve a foreign key to it; it is never rendered."""
    import sqlalchemy as sa

    key = f"{schema}.{name}" if schema else name
    table = metadata.tables.get(key)
    if table is None:
        table = sa.Table(name, metadata, schema=schema)
    for column in columns:
        if column not in table.c:
            table.append_column(sa.Column(column, sa.types.NullType()))


def _constraint_order(constraint: Any) -> tuple[int, str]:
    order = ("PrimaryKeyConstraint", "UniqueConstraint", "CheckConstraint", "ForeignKeyConstraint")
    kind = type(constraint).__name__
    return (order.index(kind) if kind in order else 9, str(constraint.name))


# ---------------------------------------------------------------------------------------------
# rendering with Alembic
# ---------------------------------------------------------------------------------------------


_CLASSES: dict[str, Any] = {}


def _register() -> None:
    """Renderers, through Alembic's own extension point, for what Alembic does not render:
    ``rename_table`` and ``create_primary_key`` (Alembic has none), and the
    "cannot invert" comment. They are registered on migls' own subclasses, so Alembic's
    behaviour for its own classes is untouched."""
    if _CLASSES:
        return
    from alembic.autogenerate import renderers
    from alembic.autogenerate.render import _ident  # the identifier repr Alembic renders with
    from alembic.operations import ops

    class RenameTable(ops.RenameTableOp):
        """``op.rename_table`` as Alembic writes its other table operations."""

    class CreatePrimaryKey(ops.CreatePrimaryKeyOp):
        """``op.create_primary_key``."""

    class CannotInvert(ops.MigrateOperation):
        """The place of a missing inverse."""

        def __init__(self, comment: str) -> None:
            self.comment = comment

    def prefix(autogen_context: Any) -> str:
        return str(autogen_context.opts["alembic_module_prefix"]) if not autogen_context._has_batch else "batch_op."

    @renderers.dispatch_for(RenameTable)
    def _render_rename(autogen_context: Any, op: Any) -> str:
        schema = f", schema={_ident(op.schema)!r}" if op.schema else ""
        return (f"{prefix(autogen_context)}rename_table({_ident(op.table_name)!r}, "
                f"{_ident(op.new_table_name)!r}{schema})")

    @renderers.dispatch_for(CreatePrimaryKey)
    def _render_primary_key(autogen_context: Any, op: Any) -> str:
        args = [repr(_ident(op.constraint_name))]
        if not autogen_context._has_batch:
            args.append(repr(_ident(op.table_name)))
        args.append(repr([_ident(c) for c in op.columns]))
        if op.schema and not autogen_context._has_batch:
            args.append(f"schema={_ident(op.schema)!r}")
        return f"{prefix(autogen_context)}create_primary_key({', '.join(args)})"

    @renderers.dispatch_for(CannotInvert)
    def _render_missing(autogen_context: Any, op: Any) -> list[str]:
        return [op.comment]

    _CLASSES.update(rename=RenameTable, primary=CreatePrimaryKey, missing=CannotInvert)


def _rename_table_op() -> Any:
    _register()
    return _CLASSES["rename"]


def _primary_key_op() -> Any:
    _register()
    return _CLASSES["primary"]


def _render(ctx: Context, layout: _Layout, groups: list[_Group]) -> Generated | None:
    """Alembic's rendering of the groups (batch groups in ``batch_alter_table`` blocks),
    with the file's own names for ``op`` and ``sqlalchemy``."""
    from alembic.autogenerate import render_python_code
    from alembic.operations import ops
    from alembic.runtime.migration import MigrationContext

    _register()
    text = layout.file.source.text if layout.file.source else ""
    imported = imported_names(text)
    op_name = _name_for(imported, text, "alembic.op", "op", "from alembic import op")
    sa_name = _name_for(imported, text, "sqlalchemy", "sa", "import sqlalchemy as sa")
    if op_name is None or sa_name is None:
        return None
    missing: list[str] = []
    top: list[Any] = []
    for group in groups:
        items: list[Any] = []
        for item in group.items:
            if isinstance(item, _Missing):
                missing.append(item.comment())
                items.append(_CLASSES["missing"](item.comment()))
            elif isinstance(item, _Setup):
                items.append(ops.ExecuteSQLOp(item.sql))
            else:
                items.append(item)
        if group.batch is not None and any(not isinstance(i, _Missing) for i in group.items):
            top.append(ops.ModifyTableOps(group.batch.table, items, schema=group.batch.schema))
        else:
            top.extend(items)
    dialect = _dialect(ctx.settings.dialect or "postgresql")
    context = MigrationContext.configure(dialect=dialect)
    seen: list[Any] = []

    def remember(kind: str, obj: Any, autogen_context: Any) -> Literal[False]:
        seen.append(autogen_context)  # Alembic's context: it collects the imports needed
        return False

    try:
        rendered = render_python_code(ops.DowngradeOps(ops=top), sqlalchemy_module_prefix=f"{sa_name[0]}.",
                                  alembic_module_prefix=f"{op_name[0]}.", render_as_batch=True,
                                  render_item=remember, migration_context=context)
    except Exception:  # noqa: BLE001 - Alembic cannot render what was built: no fix
        return None
    lines = rendered.split("\n")
    lines = [line.removeprefix("    ") for line in lines[1:-1]]
    while lines and not lines[-1].strip():
        lines.pop()
    needed: set[str] = set()
    for line in set(seen[0].imports) if seen else set():
        match = re.match(r"from (\S+) import (\w+)$", line)
        if match is None:
            return None
        # Alembic writes dialect types as ``postgresql.X``: that name must mean the dialect
        name, target = match.group(2), f"{match.group(1)}.{match.group(2)}"
        if name in imported and imported[name] != target:
            return None  # the name means something else in this file
        if name not in imported and not re.search(rf"(?<![\w.]){name}\.", text):
            needed.add(line)
    for name, line in (op_name, sa_name):
        if line is not None and any(re.search(rf"(?<![\w.]){name}\.", code) for code in lines):
            needed.add(line)
    return Generated(lines, needed, missing)


def _dialect(name: str) -> Any:
    module = importlib.import_module(f"sqlalchemy.dialects.{name if name != 'mariadb' else 'mysql'}")
    return module.dialect()


def _name_for(imported: dict[str, str], text: str, target: str, default: str,
              line: str) -> tuple[str, str | None] | None:
    """The name the file uses for ``target`` and the import line to add (``None``: none
    needed); ``None`` when ``default`` means something else in the file."""
    for name, value in imported.items():
        if value == target:
            return name, None
    if default in imported:
        return None
    used = re.search(rf"(?<![\w.]){re.escape(default)}\.", text) is not None
    return default, None if used else line


def _import_edits(layout: _Layout, generated: Generated) -> list[Edit]:
    """Insert the imports the generated code needs after the file's last top-level import
    (or its docstring)."""
    if not generated.imports:
        return []
    text = layout.file.source.text if layout.file.source else ""
    wanted = sorted(line for line in generated.imports if line not in text.split("\n"))
    if not wanted:
        return []
    after = 0
    body = layout.tree.body
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            after = statement.end_lineno or statement.lineno
    if after == 0 and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and (
            isinstance(body[0].value.value, str)):
        after = body[0].end_lineno or body[0].lineno
    content = "\n".join(wanted) + "\n"
    return [Edit(Span(after + 1, 0, after + 1, 0), content)]


# ---------------------------------------------------------------------------------------------
# where MG203 puts an inverse
# ---------------------------------------------------------------------------------------------


def _insertion_line(file: RevisionFile, layout: _Layout, steps: list[Step], index: int) -> int | None:
    """The line of the first top-level statement of ``downgrade()`` that undoes an operation
    ``upgrade()`` runs before step ``index`` (the inverse goes before it), or ``None``."""
    earlier = {key for step in steps[:index] if step.op is not None for key in _creates(step.op)}
    earlier |= {key for step in steps[:index] if step.op is not None for key in _removes(step.op, up=True)}
    if not earlier:
        return None
    down = read_steps(file, layout, "downgrade")
    downgrade = layout.downgrade
    assert downgrade is not None
    top_lines = _top_level_lines(layout, downgrade)
    for step in down:
        if step.op is None:
            continue
        undone = set(_removes(step.op, up=False)) | set(_creates(step.op))
        if undone & earlier:
            return max((line for line in top_lines if line <= step.line), default=step.line)
    return None


def _top_level_lines(layout: _Layout, function: _FunctionLayout) -> list[int]:
    return [statement.lineno for statement in function.node.body]


def _creates(op: Operation) -> list[tuple[str, ...]]:
    table = (op.table or "").lower()
    if op.name == "create_table":
        return [("table", table)]
    if op.name == "add_column":
        arg = op.arg("column")
        name = arg.call_args[0] if arg is not None and arg.call_args else None
        return [("column", table, name.lower())] if isinstance(name, str) else []
    if op.name in ("create_index", *_CONSTRAINT_TYPES):
        name = _name_of(op.arg("index_name" if op.name == "create_index" else "constraint_name"))
        return [("named", name.lower())] if isinstance(name, str) else []
    if op.name == "rename_table":
        new = op.literal("new_table_name")
        return [("table", new.lower())] if isinstance(new, str) else []
    if op.name == "alter_column":
        new = op.literal("new_column_name")
        return [("column", table, new.lower())] if isinstance(new, str) else []
    if op.name == "execute" and op.sql is not None:
        match = _CREATE_TYPE.match(op.sql)
        return [("type", match.group(1).split(".")[-1].strip('"').lower())] if match else []
    return []


def _removes(op: Operation, up: bool) -> list[tuple[str, ...]]:
    table = (op.table or "").lower()
    if op.name == "drop_table":
        return [("table", table)]
    if op.name == "drop_column":
        name = op.literal("column_name")
        return [("column", table, name.lower())] if isinstance(name, str) else []
    if op.name in ("drop_index", "drop_constraint"):
        name = _name_of(op.arg("index_name" if op.name == "drop_index" else "constraint_name"))
        return [("named", name.lower())] if isinstance(name, str) else []
    if op.name == "rename_table":
        return [("table", table)]
    if op.name == "alter_column" and op.arg("new_column_name") is not None:
        name = op.literal("column_name")
        return [("column", table, name.lower())] if isinstance(name, str) else []
    if op.name == "execute" and op.sql is not None:
        match = re.match(r"^\s*DROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?((?:\"?\w+\"?\.)?\"?\w+\"?)", op.sql, re.IGNORECASE)
        return [("type", match.group(1).split(".")[-1].strip('"').lower())] if match else []
    return []
