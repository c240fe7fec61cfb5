"""What the MG30x lock rules of ``_locks_a`` share: the operations they look at, the
PostgreSQL facts behind them (``shared/pg-locks.md``, measured on PostgreSQL 15), and
exact ranges for ``sa.Column`` keywords."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Sequence
from typing import Any

from migls.model import RevisionFile
from migls.ops import Arg, ColumnDef, Operation
from migls.rule import Context
from migls.rulekit import OpSite, is_postgresql, op_sites
from migls.span import Span
from migls.sql import parse as parse_sql

#: Operations measured to take ACCESS EXCLUSIVE on their table (pg-locks.md rows 1, 9a,
#: 9f/9g, 10a, 12a), held until the transaction ends; ``alter_column`` too when it changes
#: what :data:`ALTER_COLUMN_EXCLUSIVE` lists (rows 5-7, 11a), and ``drop_index`` (10d)
#: without CONCURRENTLY. DROP CONSTRAINT and ADD ... EXCLUDE are ALTER TABLE forms that
#: PostgreSQL runs under ACCESS EXCLUSIVE as well.
ACCESS_EXCLUSIVE_OPS = frozenset({
    "add_column", "drop_column", "create_check_constraint", "create_unique_constraint",
    "create_primary_key", "drop_constraint", "create_exclude_constraint",
})
ALTER_COLUMN_EXCLUSIVE = frozenset({"nullable", "type_", "server_default", "new_column_name"})
#: ALTER TABLE subcommands that take less than ACCESS EXCLUSIVE (PostgreSQL's
#: ``AlterTableGetLockLevel``); every other one takes ACCESS EXCLUSIVE.
_WEAK_ALTER_TABLE = frozenset({
    "AT_ValidateConstraint", "AT_SetStatistics", "AT_SetOptions", "AT_ResetOptions",
    "AT_ClusterOn", "AT_DropCluster", "AT_EnableTrig", "AT_EnableAlwaysTrig",
    "AT_EnableReplicaTrig", "AT_DisableTrig", "AT_EnableTrigAll", "AT_DisableTrigAll",
    "AT_EnableTrigUser", "AT_DisableTrigUser", "AT_AttachPartition", "AT_AddForeignKey",
})
#: Subcommands whose lock depends on their details (reloptions): not judged either way.
_UNKNOWN_ALTER_TABLE = frozenset({"AT_SetRelOptions", "AT_ResetRelOptions", "AT_ReplaceRelOptions"})
_LOCK_ACCESS_EXCLUSIVE = 8  # LockStmt.mode of ``LOCK TABLE ... IN ACCESS EXCLUSIVE MODE``
#: :func:`earlier_lock` when an earlier statement of the transaction cannot be read (dynamic
#: or unparsable SQL): it may or may not hold ACCESS EXCLUSIVE.
UNKNOWN = "?"


def sites(ctx: Context, file: RevisionFile) -> list[OpSite]:
    """The linted operations of ``file`` (none when the dialect is not PostgreSQL)."""
    return list(op_sites(ctx, file)) if is_postgresql(ctx) else []


def table_of(op: Operation) -> str:
    """The table as the message names it: ``schema.table`` when a literal schema is given."""
    schema = op.literal("schema")
    table = op.table or "?"
    return f"{schema}.{table}" if isinstance(schema, str) else table


def name_of(arg: Arg | None, fallback: str) -> str:
    """A literal name, ``op.f("name")``'s name, or ``fallback``."""
    name = arg.literal_name if arg is not None else None
    return fallback if name is None else name


def earlier_lock(all_sites: Sequence[OpSite], site: OpSite) -> str | None:
    """What still holds ACCESS EXCLUSIVE on the operation's table when it runs: an earlier
    operation or statement of the same transaction (locks last until COMMIT) -- its name,
    :data:`UNKNOWN` when an earlier statement cannot be read, ``None`` when nothing does.

    ``autocommit_block()`` ends the transaction before it and starts a new one after it."""
    if site.op.autocommit or site.op.table is None:
        return None
    unknown = False
    for earlier in reversed(all_sites[:all_sites.index(site)]):
        if earlier.function != site.function:
            continue
        if earlier.op.autocommit:
            break
        held = access_exclusive_by(earlier.op, site.op.table)
        if held == UNKNOWN:
            unknown = True
        elif held is not None:
            return held
    return UNKNOWN if unknown else None


def access_exclusive_by(op: Operation, table: str) -> str | None:
    """Whether ``op`` takes ACCESS EXCLUSIVE on ``table``: its name (``add_column``,
    ``ALTER TABLE`` for SQL), :data:`UNKNOWN` for SQL that cannot be read, else ``None``."""
    if op.name == "execute":
        return _sql_access_exclusive(op, table)
    if op.name == "rename_table":
        renamed = op.table == table or op.literal("new_table_name") == table
        return "rename_table" if renamed else None
    if op.table != table:
        return None
    if op.name == "alter_column":
        return None if ALTER_COLUMN_EXCLUSIVE.isdisjoint(op.args) else op.name
    if op.name == "drop_index":
        return None if op.flag("postgresql_concurrently") else op.name
    return op.name if op.name in ACCESS_EXCLUSIVE_OPS else None


def _sql_access_exclusive(op: Operation, table: str) -> str | None:
    if op.sql is None:
        return UNKNOWN
    parsed = parse_sql(op.sql)
    if parsed is None:
        return UNKNOWN
    for statement in parsed:
        node, kind = statement.node, statement.kind
        if kind == "AlterTableStmt" and _relname(node.relation) == table:
            subtypes = [_alter_table_subtype(cmd) for cmd in node.cmds or ()]
            if any(subtype in _UNKNOWN_ALTER_TABLE for subtype in subtypes):
                return UNKNOWN
            if any(subtype not in _WEAK_ALTER_TABLE for subtype in subtypes):
                return "ALTER TABLE"
        elif kind == "RenameStmt" and _relname(node.relation) == table:
            return "ALTER TABLE"
        elif kind == "TruncateStmt" and table in {_relname(r) for r in node.relations or ()}:
            return "TRUNCATE"
        elif (kind == "LockStmt" and node.mode == _LOCK_ACCESS_EXCLUSIVE
              and table in {_relname(r) for r in node.relations or ()}):
            return "LOCK TABLE"
    return None


def _relname(relation: Any) -> str | None:
    name = getattr(relation, "relname", None)
    return str(name) if name is not None else None


def _alter_table_subtype(cmd: Any) -> str:
    """The subcommand's name; an ADD FOREIGN KEY takes SHARE ROW EXCLUSIVE only."""
    subtype = getattr(cmd.subtype, "name", str(cmd.subtype))
    constraint = getattr(cmd, "def_", None)
    if subtype == "AT_AddConstraint" and getattr(getattr(constraint, "contype", None), "name",
                                                 "") == "CONSTR_FOREIGN":
        return "AT_AddForeignKey"
    return subtype


#: Functions PostgreSQL marks VOLATILE that appear as column defaults: a default calling one
#: must be computed for every existing row, so ADD COLUMN rewrites the table (pg-locks 4b/4c).
VOLATILE_FUNCTIONS = frozenset({
    "clock_timestamp", "random", "random_normal", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "gen_random_bytes",
    "nextval", "timeofday",
})
_SQL_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_$]*)\s*\(")
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")
#: SQLAlchemy callables whose argument is SQL text.
_SQL_TEXT_CALLS = frozenset({"text", "literal_column"})
#: Integer types SQLAlchemy renders as SERIAL/SMALLSERIAL/BIGSERIAL for a lone primary key.
SERIAL_TYPES = frozenset({"Integer", "INTEGER", "INT", "SmallInteger", "SMALLINT",
                          "BigInteger", "BIGINT"})


def is_volatile_sql(sql: str) -> str | None:
    """The first volatile function called in ``sql`` (string literals ignored), else ``None``."""
    for match in _SQL_CALL.finditer(_SQL_STRING.sub("''", sql)):
        if match.group(1).lower() in VOLATILE_FUNCTIONS:
            return match.group(1)
    return None


def volatile_default(default: Arg) -> str | None:
    """The volatile function a ``server_default`` calls, else ``None``.

    A plain string is rendered as a quoted constant (``DEFAULT 'now()'``), never as a call;
    ``sa.text(...)``/``sa.literal_column(...)`` are SQL; ``sa.func.<name>(...)`` calls
    ``<name>``."""
    if default.call_name is None:
        return None
    if default.call_name in _SQL_TEXT_CALLS:
        sql = default.call_args[0] if default.call_args else None
        return is_volatile_sql(sql) if isinstance(sql, str) else None
    if default.call_name.lower() in VOLATILE_FUNCTIONS and ".func." in f".{default.code}":
        return default.call_name
    if default.call_name == "next_value":  # sa.Sequence(...).next_value()
        return "nextval"
    return None


def has_default(column: ColumnDef) -> bool:
    """Whether the column is given a ``server_default`` other than ``None``."""
    return column.server_default is not None and column.server_default.value is not None


def is_serial(column: ColumnDef, column_arg: Arg | None) -> bool:
    """Whether SQLAlchemy renders this ``add_column`` column as SERIAL: a lone integer
    primary key without a default, an identity or ``autoincrement=False``."""
    autoincrement = column_arg.kwarg("autoincrement", "auto") if column_arg is not None else "auto"
    return (column.primary_key and column.type is not None and column.type.name in SERIAL_TYPES
            and not has_default(column) and column.identity is None and column.computed is None
            and autoincrement in ("auto", True))


def is_stored_computed(column: ColumnDef, postgres_version: int) -> bool:
    """Whether ``sa.Computed`` is rendered ``STORED``: ``persisted=True``, or unset before
    PostgreSQL 18 (which made VIRTUAL the default)."""
    if column.computed is None:
        return False
    persisted = column.computed.kwarg("persisted")
    return persisted is True or (persisted is None and postgres_version < 18)


def keyword_span(file: RevisionFile, column: ColumnDef, name: str) -> Span:
    """The exact range of ``name=...`` written directly in the ``sa.Column(...)`` call
    (the column's own range when it cannot be found)."""
    found = getattr(column, f"{name}_arg", None)  # when ops.py records it
    if isinstance(found, Arg):
        return found.span
    if file.source is None:
        return column.span
    lines = file.source.text.split("\n")
    span = column.span
    if span.line == span.end_line:
        segment = lines[span.line - 1][span.column:span.end_column]
    else:
        segment = "\n".join([lines[span.line - 1][span.column:], *lines[span.line:span.end_line - 1],
                             lines[span.end_line - 1][:span.end_column]])

    def position(row: int, col: int) -> tuple[int, int]:
        return span.line + row - 1, col + (span.column if row == 1 else 0)

    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(segment).readline)
                  if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                    tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, SyntaxError):
        return column.span
    depth = 0
    for i, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif (depth == 1 and token.type == tokenize.NAME and token.string == name
              and i + 1 < len(tokens) and tokens[i + 1].string == "="
              and tokens[i - 1].string in ("(", ",")):
            inner, end = 0, tokens[i + 1].end
            for value in tokens[i + 2:]:
                if value.string in ("(", "[", "{"):
                    inner += 1
                elif value.string in (")", "]", "}"):
                    if inner == 0:
                        break
                    inner -= 1
                elif value.string == "," and inner == 0:
                    break
                end = value.end
            return Span(*position(*token.start), *position(*end))
    return column.span


def _bare(name: str) -> str:
    """A name as compared here: unquoted, lower-case (lenient: this only removes findings)."""
    return name.strip('"').lower()


def not_null_columns(condition: str) -> frozenset[str]:
    """The columns a CHECK condition proves NOT NULL, as PostgreSQL sees it when SET NOT NULL
    looks for a validated CHECK: ``col IS NOT NULL``, ``NOT (col IS NULL)``, or a conjunct of
    an AND (``col IS NOT NULL AND col > 0``). ``col > 0`` alone proves nothing (a CHECK
    passes when it is NULL)."""
    parsed = parse_sql(f"SELECT 1 WHERE {condition}")
    if parsed is None or len(parsed) != 1:
        return frozenset()
    return _not_null_in(getattr(parsed[0].node, "whereClause", None))


def _not_null_in(node: Any) -> frozenset[str]:
    kind = type(node).__name__
    if kind == "NullTest" and type(node.arg).__name__ == "ColumnRef":
        name = getattr(node.arg.fields[-1], "sval", None)
        if name is not None and node.nulltesttype.name == "IS_NOT_NULL":
            return frozenset({_bare(str(name))})
    elif kind == "BoolExpr" and node.boolop.name == "AND_EXPR":
        return frozenset().union(*(_not_null_in(arg) for arg in node.args))
    elif kind == "BoolExpr" and node.boolop.name == "NOT_EXPR" and len(node.args) == 1:
        inner = node.args[0]
        if (type(inner).__name__ == "NullTest" and inner.nulltesttype.name == "IS_NULL"
                and type(inner.arg).__name__ == "ColumnRef"):
            name = getattr(inner.arg.fields[-1], "sval", None)
            return frozenset({_bare(str(name))}) if name is not None else frozenset()
    return frozenset()


class NotNullChecks:
    """The CHECK constraints that prove columns NOT NULL, and whether each is validated,
    followed operation by operation (Alembic calls and the SQL of ``op.execute``)."""

    def __init__(self) -> None:
        #: constraint name -> (table, columns it proves NOT NULL, validated)
        self._checks: dict[str, tuple[str, frozenset[str], bool]] = {}

    def validated(self, table: str, column: str) -> bool:
        """Whether a validated CHECK on ``table`` proves ``column`` NOT NULL."""
        return any(t == _bare(table) and _bare(column) in c and ok
                   for t, c, ok in self._checks.values())

    def not_valid(self, table: str, column: str) -> str | None:
        """The name of a ``NOT VALID`` (not yet validated) CHECK that would prove it."""
        return next((name for name, (t, c, ok) in self._checks.items()
                     if t == _bare(table) and _bare(column) in c and not ok
                     and not name.startswith("?")), None)

    def feed(self, op: Operation) -> None:
        """Account for one operation."""
        if op.name == "create_check_constraint" and op.table is not None:
            condition = op.arg("condition")
            text = None
            if condition is not None:
                text = condition.value if isinstance(condition.value, str) else (
                    condition.call_args[0] if condition.call_name == "text" and condition.call_args
                    and isinstance(condition.call_args[0], str) else None)
            columns = not_null_columns(text) if text is not None else frozenset()
            if columns:
                self._add(name_of(op.arg("constraint_name"), ""), op.table, columns,
                          not op.flag("postgresql_not_valid"))
        elif op.name == "drop_constraint":
            self._checks.pop(_bare(name_of(op.arg("constraint_name"), "?")), None)
        elif op.name == "execute" and op.sql:
            for statement in parse_sql(op.sql) or ():
                if statement.kind == "AlterTableStmt":
                    self._feed_alter_table(statement.node)

    def _add(self, name: str, table: str, columns: frozenset[str], validated: bool) -> None:
        self._checks[_bare(name) if name else f"?{len(self._checks)}"] = (
            _bare(table), columns, validated)

    def _feed_alter_table(self, node: Any) -> None:
        table = _relname(node.relation)
        for cmd in node.cmds or ():
            subtype = _alter_table_subtype(cmd)
            name = _bare(str(cmd.name)) if getattr(cmd, "name", None) else None
            if subtype == "AT_AddConstraint" and table is not None:
                constraint = cmd.def_
                if constraint.contype.name == "CONSTR_CHECK":
                    columns = _not_null_in(constraint.raw_expr)
                    if columns:
                        self._add(str(constraint.conname or ""), table, columns,
                                  not constraint.skip_validation)
            elif subtype == "AT_ValidateConstraint" and name in self._checks:
                table_name, columns, _ = self._checks[name]
                self._checks[name] = (table_name, columns, True)
            elif subtype == "AT_DropConstraint" and name is not None:
                self._checks.pop(name, None)


def ancestor_files(ctx: Context, file: RevisionFile) -> list[RevisionFile]:
    """The files of every ancestor revision, parents before children."""
    rev = file.revision_id
    graph = ctx.graph
    if rev is None or rev not in graph.nodes or graph.nodes[rev].file is not file:
        return []
    order: list[RevisionFile] = []
    seen = {rev}
    stack = [(rev, iter(graph.nodes[rev].parents))]
    while stack:
        current, parents = stack[-1]
        parent = next(parents, None)
        if parent is None:
            stack.pop()
            if current != rev:
                order.append(graph.nodes[current].file)
        elif parent in graph.nodes and parent not in seen:
            seen.add(parent)
            stack.append((parent, iter(graph.nodes[parent].parents)))
    return order
