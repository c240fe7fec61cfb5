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
        while end > start and (sql[end - 1].isspace() or sql[end - 1] == ";"):
            end -= 1
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


# -- what a statement does, in the terms of the MG3/MG4 rules -----------------------------

VOLATILE_FUNCTIONS = frozenset({"clock_timestamp", "random", "gen_random_uuid",
                                "uuid_generate_v4", "nextval", "timeofday"})


def _relname(node: Any) -> str | None:
    relation = getattr(node, "relation", None)
    return getattr(relation, "relname", None)


def _function_names(node: Any) -> set[str]:
    """Names of the functions called anywhere in an expression node."""
    from pglast import ast
    from pglast.visitors import Visitor

    names: set[str] = set()

    class Collect(Visitor):
        def visit_FuncCall(self, ancestors: Any, call: ast.FuncCall) -> None:
            if call.funcname:
                names.add(str(call.funcname[-1].sval).lower())

    Collect()(node)
    return names


@dataclass(frozen=True, slots=True)
class Check:
    """One MG3/MG4 check that a raw SQL statement fails."""

    code: str
    what: str
    table: str | None


def checks(statement: Statement, new_tables: frozenset[str], autocommit: bool,
           postgres_version: int, held: frozenset[str] = frozenset()) -> list[Check]:
    """The lock and breaking-change checks a statement fails (tables in ``new_tables`` were
    created earlier in the same revision and are never flagged; ``held`` are tables an
    earlier statement of the same transaction already locked in ACCESS EXCLUSIVE mode)."""
    from pglast import enums

    node = statement.node
    kind = statement.kind
    out: list[Check] = []
    table = _relname(node)
    existing = table is not None and table not in new_tables
    if kind == "IndexStmt":
        if node.concurrent and not autocommit:
            out.append(Check("MG304", "CREATE INDEX CONCURRENTLY inside the migration's "
                             "transaction, which PostgreSQL rejects", table))
        elif not node.concurrent and existing and table in held:
            out.append(Check("MG303", f"CREATE INDEX on {table} without CONCURRENTLY while this "
                             f"transaction already holds ACCESS EXCLUSIVE on {table}: reads and "
                             "writes are blocked for the whole build", table))
        elif not node.concurrent and existing:
            out.append(Check("MG303", f"CREATE INDEX on {table} without CONCURRENTLY, which "
                             "blocks writes (not reads) for the whole build", table))
    elif kind == "DropStmt" and node.removeType == enums.ObjectType.OBJECT_INDEX:
        if node.concurrent and not autocommit:
            out.append(Check("MG304", "DROP INDEX CONCURRENTLY inside the migration's "
                             "transaction, which PostgreSQL rejects", None))
    elif kind == "DropStmt" and node.removeType == enums.ObjectType.OBJECT_TABLE:
        for names in node.objects or ():
            name = names[-1].sval
            if name not in new_tables:
                out.append(Check("MG402", f"DROP TABLE {name}, which the running release may "
                                 "still use", name))
    elif kind == "RenameStmt" and existing:
        if node.renameType == enums.ObjectType.OBJECT_COLUMN:
            out.append(Check("MG403", f"RENAME COLUMN {table}.{node.subname}, which breaks the "
                             "running release", table))
        elif node.renameType == enums.ObjectType.OBJECT_TABLE:
            out.append(Check("MG404", f"RENAME of table {table}, which breaks the running "
                             "release", table))
    elif kind == "AlterTableStmt" and existing:
        for command in node.cmds or ():
            out.extend(_alter_table_checks(command, table, postgres_version))
    return out


def _alter_table_checks(command: Any, table: str | None, postgres_version: int) -> list[Check]:
    from pglast import enums

    kinds = enums.AlterTableType
    constr = enums.ConstrType
    subtype = command.subtype
    definition = command.def_
    column = command.name
    if subtype == kinds.AT_AddColumn and definition is not None:
        name = f"{table}.{definition.colname}"
        constraints = definition.constraints or ()
        not_null = any(c.contype in (constr.CONSTR_NOTNULL, constr.CONSTR_PRIMARY) for c in constraints)
        defaults = [c for c in constraints if c.contype == constr.CONSTR_DEFAULT]
        identity = any(c.contype in (constr.CONSTR_IDENTITY, constr.CONSTR_GENERATED) for c in constraints)
        found: list[Check] = []
        if not_null and not defaults and not identity:
            found.append(Check("MG301", f"ADD COLUMN {name} NOT NULL without a DEFAULT, which "
                               f"fails when {table} has rows", table))
        volatile = defaults and _function_names(defaults[0].raw_expr) & VOLATILE_FUNCTIONS
        if identity or volatile or (defaults and postgres_version < 11):
            found.append(Check("MG302", f"ADD COLUMN {name} with a volatile default or identity, "
                               "which rewrites the table and its indexes under ACCESS EXCLUSIVE",
                               table))
        return found
    if subtype == kinds.AT_SetNotNull:
        return [Check("MG307", f"SET NOT NULL on {table}.{column}, which scans the whole table "
                      "under ACCESS EXCLUSIVE", table)]
    if subtype == kinds.AT_AlterColumnType:
        return [Check("MG308", f"ALTER COLUMN {table}.{column} TYPE, which rewrites the table and "
                      "its indexes under ACCESS EXCLUSIVE unless the change is binary-coercible",
                      table)]
    if subtype == kinds.AT_DropColumn:
        return [Check("MG401", f"DROP COLUMN {table}.{column}, which the running release may "
                      "still read", table)]
    if subtype == kinds.AT_AddConstraint and definition is not None:
        if definition.contype == constr.CONSTR_FOREIGN and not definition.skip_validation:
            return [Check("MG305", f"FOREIGN KEY on {table} without NOT VALID, which scans {table} "
                          "while writes to both tables are blocked", table)]
        if definition.contype == constr.CONSTR_CHECK and not definition.skip_validation:
            return [Check("MG306", f"CHECK constraint on {table} without NOT VALID, which scans "
                          "the table under ACCESS EXCLUSIVE", table)]
        if definition.contype in (constr.CONSTR_UNIQUE, constr.CONSTR_PRIMARY) and not definition.indexname:
            return [Check("MG309", f"UNIQUE/PRIMARY KEY constraint on {table} without USING INDEX, "
                          "which builds the index under ACCESS EXCLUSIVE, blocking reads and "
                          "writes", table)]
    return []


def takes_access_exclusive(statement: Statement, new_tables: frozenset[str]) -> str | None:
    """The existing table a statement locks in ACCESS EXCLUSIVE mode, if any."""
    from pglast import enums

    node, kind = statement.node, statement.kind
    table = _relname(node)
    if kind == "AlterTableStmt":
        commands = node.cmds or ()
        only_validate = all(c.subtype == enums.AlterTableType.AT_ValidateConstraint for c in commands)
        if table and table not in new_tables and commands and not only_validate:
            return table
    if kind == "RenameStmt" and table and table not in new_tables:
        return table
    if kind == "DropStmt" and node.removeType == enums.ObjectType.OBJECT_TABLE:
        for names in node.objects or ():
            if names[-1].sval not in new_tables:
                return str(names[-1].sval)
    if kind in ("TruncateStmt", "LockStmt"):
        relations = getattr(node, "relations", None) or ()
        for relation in relations:
            name = getattr(relation, "relname", None)
            if name and name not in new_tables:
                return str(name)
    return None


def sets_lock_timeout(statement: Statement) -> bool:
    """``SET [LOCAL] lock_timeout = ...``."""
    return statement.kind == "VariableSetStmt" and (statement.node.name or "").lower() == "lock_timeout"


def lock_timeout_setting(statement: Statement) -> tuple[bool, bool] | None:
    """``(is SET LOCAL, turns a timeout on)`` for ``SET [LOCAL] lock_timeout`` / ``RESET``;
    ``None`` for other statements. ``= 0`` (any unit) turns the timeout off."""
    if not sets_lock_timeout(statement):
        return None
    node = statement.node
    values: list[object] = []
    for arg in node.args or ():
        constant = getattr(arg, "val", None)
        for attribute in ("ival", "fval", "sval"):
            if getattr(constant, attribute, None) is not None:
                values.append(getattr(constant, attribute))
                break
    if not values:  # RESET / SET ... TO DEFAULT: the server default, 0
        return bool(node.is_local), False
    text = str(values[0]).strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz ")
    try:
        enabled = float(number) > 0
    except ValueError:
        enabled = True
    return bool(node.is_local), enabled


def created_table(statement: Statement) -> str | None:
    """The table a ``CREATE TABLE`` statement creates."""
    return _relname(statement.node) if statement.kind == "CreateStmt" else None


def enum_new_value(statement: Statement) -> tuple[str, str] | None:
    """(type, value) of ``ALTER TYPE ... ADD VALUE``."""
    node = statement.node
    if statement.kind == "AlterEnumStmt" and node.newVal and not node.oldVal:
        return node.typeName[-1].sval, node.newVal
    return None


def not_valid_constraint(statement: Statement) -> tuple[str, str] | None:
    """(table, constraint) added ``NOT VALID`` by an ``ALTER TABLE``."""
    from pglast import enums

    if statement.kind != "AlterTableStmt":
        return None
    for command in statement.node.cmds or ():
        definition = command.def_
        if (command.subtype == enums.AlterTableType.AT_AddConstraint and definition is not None
                and definition.skip_validation and definition.conname):
            return _relname(statement.node) or "", definition.conname
    return None


def validated_constraint(statement: Statement) -> tuple[str, str] | None:
    """(table, constraint) of ``ALTER TABLE ... VALIDATE CONSTRAINT``."""
    from pglast import enums

    if statement.kind != "AlterTableStmt":
        return None
    for command in statement.node.cmds or ():
        if command.subtype == enums.AlterTableType.AT_ValidateConstraint:
            return _relname(statement.node) or "", command.name
    return None
