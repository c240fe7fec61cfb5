"""Alembic operations as data: each ``op.*``/``batch_op.*`` call read into plain, picklable
values (literal arguments, ``sa.Column`` definitions, types), so rules never walk syntax
trees and files parsed in worker processes keep everything the rules need."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from migls._pickling import pickled_by_fields
from migls.lazy import LazyModule
from migls.signatures import BATCH_OPERATIONS, OPERATIONS, TABLE_PARAMETER
from migls.span import Span

if TYPE_CHECKING:
    import libcst as cst
else:  # imported when a file is read with LibCST
    cst = LazyModule("libcst", globals(), "cst")


class _Dynamic:
    """The value of an expression that needs running code to know."""

    _instance: _Dynamic | None = None

    def __new__(cls) -> _Dynamic:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DYNAMIC"

    def __reduce__(self) -> str:
        return "DYNAMIC"


DYNAMIC = _Dynamic()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Arg:
    """One argument: where it is, its literal value (or :data:`DYNAMIC`), its source text."""

    span: Span
    value: object
    code: str
    #: For a call such as ``sa.text("now()")`` or ``sa.Identity()``: the callee's last name.
    call_name: str | None = None
    call_args: tuple[object, ...] = ()
    call_kwargs: tuple[tuple[str, object], ...] = ()

    @property
    def is_static(self) -> bool:
        """Whether the value is known without running code."""
        return self.value is not DYNAMIC

    def kwarg(self, name: str, default: object = None) -> object:
        """A keyword argument of the call this argument is."""
        return dict(self.call_kwargs).get(name, default)

    @property
    def literal_name(self) -> str | None:
        """The name the database gets from this argument: a string literal, or one given
        to ``op.f()``/``conv()`` (which only mark it as final for naming conventions)."""
        if isinstance(self.value, str):
            return self.value
        if self.call_name in ("f", "conv") and self.call_args and isinstance(
                self.call_args[0], str):
            return self.call_args[0]
        return None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class TypeRef:
    """A column type written in a migration: ``sa.String(50)`` -> ``TypeRef("String", (50,))``."""

    name: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()
    code: str = ""

    def kwarg(self, name: str, default: object = None) -> object:
        """A keyword argument of the type."""
        return dict(self.kwargs).get(name, default)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ColumnDef:
    """An ``sa.Column(...)`` given to ``add_column`` or ``create_table``."""

    span: Span
    name: str | None
    type: TypeRef | None
    #: ``None`` when not written (SQLAlchemy's default: nullable unless primary key).
    nullable: bool | None
    nullable_arg: Arg | None
    primary_key: bool
    server_default: Arg | None
    index: bool
    unique: bool
    #: Target columns of ``sa.ForeignKey("table.col")`` arguments.
    foreign_keys: tuple[str, ...]
    foreign_key_spans: tuple[Span, ...]
    identity: Arg | None
    computed: Arg | None

    @property
    def is_not_null(self) -> bool:
        """NOT NULL as SQLAlchemy renders it."""
        return self.nullable is False or (self.nullable is None and self.primary_key)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Operation:
    """One Alembic operation call inside ``upgrade()``/``downgrade()``."""

    name: str
    span: Span
    args: dict[str, Arg] = field(default_factory=dict)
    #: ``*args`` (the columns and constraints of ``create_table``).
    rest: tuple[Arg, ...] = ()
    columns: tuple[ColumnDef, ...] = ()
    table: str | None = None
    #: Inside ``with op.batch_alter_table(...) as batch_op``.
    batch: bool = False
    #: Inside ``with op.get_context().autocommit_block():`` (no transaction).
    autocommit: bool = False
    #: The SQL of ``op.execute`` given a string literal (or ``sa.text`` of one).
    sql: str | None = None
    #: The literal's pieces as (evaluated text, line, column of its first character), so a
    #: position inside the SQL maps back to the file; ``None`` when escapes make it inexact.
    sql_pieces: tuple[tuple[str, int, int], ...] | None = None
    #: Types given as ``type_=``/``existing_type=`` (``alter_column``).
    types: dict[str, TypeRef] = field(default_factory=dict)
    #: Under ``if dialect == "...":``: the dialects the call runs on (``None``: any) and
    #: those it never runs on.
    only_dialects: frozenset[str] | None = None
    never_dialects: frozenset[str] = frozenset()

    def runs_on(self, dialect: str) -> bool:
        """Whether the operation can run on ``dialect`` as far as its ``if`` guards say."""
        return (self.only_dialects is None or dialect in self.only_dialects) and (
            dialect not in self.never_dialects)

    def arg(self, name: str) -> Arg | None:
        """A bound argument by Alembic's parameter name."""
        return self.args.get(name)

    def literal(self, name: str, default: object = None) -> object:
        """The literal value of an argument (``default`` when absent, ``DYNAMIC`` if unknown)."""
        arg = self.args.get(name)
        return default if arg is None else arg.value

    def flag(self, name: str) -> bool:
        """Whether a boolean keyword argument is literally ``True``."""
        return self.literal(name) is True


SpanOf = Callable[["cst.CSTNode"], Span]


def read_operation(call: cst.Call, name: str, batch_table: str | None, autocommit: bool,
                   span_of: SpanOf) -> Operation:
    """Bind a call's arguments the way Alembic's signature does and read them as data."""
    table_signatures = BATCH_OPERATIONS if batch_table is not None else OPERATIONS
    positional, star = table_signatures.get(name, ((), None))
    args: dict[str, Arg] = {}
    rest: list[Arg] = []
    types: dict[str, TypeRef] = {}
    index = 0
    for arg in call.args:
        if arg.star:
            continue
        value = read_arg(arg, span_of)
        if arg.keyword is not None:
            args[arg.keyword.value] = value
            if arg.keyword.value in ("type_", "existing_type"):
                type_ref = read_type(arg.value)
                if type_ref is not None:
                    types[arg.keyword.value] = type_ref
        elif index < len(positional):
            args[positional[index]] = value
            index += 1
        elif star is not None:
            rest.append(value)
    columns: list[ColumnDef] = []
    if name == "add_column":
        node = _positional_or_keyword(call, positional, "column")
        if node is not None:
            column = read_column(node, span_of)
            if column is not None:
                columns.append(column)
    elif name == "create_table":
        for arg in call.args:
            if arg.keyword is None and not arg.star:
                column = read_column(arg.value, span_of)
                if column is not None:
                    columns.append(column)
    table: str | None
    if batch_table is not None:
        table = None if batch_table == "?" else batch_table
    else:
        table_arg = args.get(TABLE_PARAMETER.get(name, "table_name"))
        table = table_arg.value if table_arg is not None and isinstance(table_arg.value, str) else None
    sql, pieces = _sql_of(call, span_of) if name == "execute" else (None, None)
    return Operation(name, span_of(call), args, tuple(rest), tuple(columns), table,
                     batch_table is not None, autocommit, sql, pieces, types)


def _positional_or_keyword(call: cst.Call, positional: Sequence[str], name: str) -> cst.BaseExpression | None:
    index = 0
    for arg in call.args:
        if arg.star:
            continue
        if arg.keyword is not None:
            if arg.keyword.value == name:
                return arg.value
        else:
            if index < len(positional) and positional[index] == name:
                return arg.value
            index += 1
    return None


def read_arg(arg: cst.Arg, span_of: SpanOf) -> Arg:
    """An argument as data."""
    node = arg.value
    code = _code(node)
    if isinstance(node, cst.Call):
        callee = _last_name(node.func)
        call_args = tuple(literal(a.value) for a in node.args if a.keyword is None and not a.star)
        call_kwargs = tuple((a.keyword.value, literal(a.value)) for a in node.args if a.keyword is not None)
        return Arg(span_of(arg), DYNAMIC, code, callee, call_args, call_kwargs)
    return Arg(span_of(arg), literal(node), code)


def literal(node: cst.BaseExpression) -> object:
    """A Python literal (str, int, float, bool, None, tuple/list of literals) or DYNAMIC."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else DYNAMIC
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            number = node.value.replace("_", "")
            return int(number, 0) if isinstance(node, cst.Integer) else float(number)
        except ValueError:  # more digits than int() converts (CPython refuses the file too)
            return DYNAMIC
    if isinstance(node, cst.Name):
        return {"True": True, "False": False, "None": None}.get(node.value, DYNAMIC)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else DYNAMIC
    if isinstance(node, (cst.Tuple, cst.List)):
        items = [literal(e.value) for e in node.elements if isinstance(e, cst.Element)]
        if len(items) == len(node.elements) and DYNAMIC not in items:
            return tuple(items)
    return DYNAMIC


def read_column(node: cst.BaseExpression, span_of: SpanOf) -> ColumnDef | None:
    """An ``sa.Column(...)`` (or ``Column(...)``) call as data; ``None`` for anything else."""
    if not (isinstance(node, cst.Call) and _last_name(node.func) == "Column"):
        return None
    name: str | None = None
    type_ref: TypeRef | None = None
    foreign_keys: list[str] = []
    fk_spans: list[Span] = []
    identity: Arg | None = None
    computed: Arg | None = None
    keywords: dict[str, Arg] = {}
    for arg in node.args:
        if arg.star:
            continue
        if arg.keyword is not None:
            keywords[arg.keyword.value] = read_arg(arg, span_of)
            if arg.keyword.value == "type_":
                type_ref = read_type(arg.value)
            continue
        value = arg.value
        if name is None and type_ref is None and isinstance(literal(value), str):
            name = str(literal(value))
            continue
        callee = _last_name(value.func) if isinstance(value, cst.Call) else _last_name(value)
        if callee == "ForeignKey" and isinstance(value, cst.Call) and value.args:
            target = literal(value.args[0].value)
            foreign_keys.append(target if isinstance(target, str) else "?")
            fk_spans.append(span_of(arg))
        elif callee == "Identity":
            identity = read_arg(arg, span_of)
        elif callee == "Computed":
            computed = read_arg(arg, span_of)
        elif type_ref is None and callee is not None and callee[:1].isupper():
            type_ref = read_type(value)
    nullable_arg = keywords.get("nullable")
    nullable = nullable_arg.value if nullable_arg is not None and isinstance(nullable_arg.value, bool) else None
    return ColumnDef(
        span=span_of(node), name=name, type=type_ref, nullable=nullable,
        nullable_arg=nullable_arg, primary_key=keywords.get("primary_key", _FALSE).value is True,
        server_default=keywords.get("server_default"),
        index=keywords.get("index", _FALSE).value is True,
        unique=keywords.get("unique", _FALSE).value is True,
        foreign_keys=tuple(foreign_keys), foreign_key_spans=tuple(fk_spans),
        identity=identity, computed=computed)


_FALSE = Arg(Span(0, 0, 0, 0), False, "False")


def read_type(node: cst.BaseExpression) -> TypeRef | None:
    """``sa.String(50)``, ``sa.Text``, ``postgresql.JSONB()``... as a :class:`TypeRef`."""
    if isinstance(node, cst.Call):
        name = _last_name(node.func)
        if name is None:
            return None
        args = tuple(literal(a.value) if not isinstance(a.value, cst.Call) else read_type(a.value)
                     for a in node.args if a.keyword is None and not a.star)
        kwargs = tuple((a.keyword.value, literal(a.value)) for a in node.args if a.keyword is not None)
        return TypeRef(name, args, kwargs, _code(node))
    name = _last_name(node)
    return TypeRef(name, (), (), _code(node)) if name is not None else None


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _code(node: cst.CSTNode) -> str:
    return _empty_module().code_for_node(node)


@functools.cache
def _empty_module() -> cst.Module:
    return cst.Module(body=[])


def _sql_of(call: cst.Call, span_of: SpanOf
            ) -> tuple[str | None, tuple[tuple[str, int, int], ...] | None]:
    """The SQL of ``op.execute("...")``/``op.execute(sa.text("..."))`` and where each piece
    of the literal starts in the file (``None`` when escapes make positions inexact)."""
    if not call.args:
        return None, None
    node = call.args[0].value
    if isinstance(node, cst.Call) and _last_name(node.func) == "text" and node.args:
        node = node.args[0].value
    value = literal(node)
    if not isinstance(value, str):
        return None, None
    parts: list[cst.SimpleString] = []
    stack: list[cst.BaseExpression] = [node]
    while stack:  # a ConcatenatedString is a left-leaning pair tree
        current = stack.pop()
        if isinstance(current, cst.ConcatenatedString):
            stack.extend([current.right, current.left])
        elif isinstance(current, cst.SimpleString):
            parts.append(current)
        else:
            return value, None
    pieces: list[tuple[str, int, int]] = []
    for part in parts:
        text = part.evaluated_value
        raw = part.raw_value
        if not isinstance(text, str) or text != raw:  # escapes: offsets would drift
            return value, None
        span = span_of(part)
        pieces.append((text, span.line, span.column + len(part.prefix) + len(part.quote)))
    return value, tuple(pieces)
