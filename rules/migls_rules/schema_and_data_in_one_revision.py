"""MG502 schema-and-data-in-one-revision."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from migls.model import NON_SCHEMA_OPS, RevisionFile
from migls.ops import Operation
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import op_sites

#: Where Alembic runs DDL inside the migration's transaction (its dialect implementations'
#: ``transactional_ddl``), so a DDL lock is held until COMMIT. MySQL, MariaDB and Oracle
#: commit implicitly around every DDL statement; SQLite locks the whole database for any
#: write transaction, with or without DDL.
TRANSACTIONAL_DDL = frozenset({"postgresql", "mssql"})

#: Operations whose lock blocks writes but not reads (PostgreSQL: SHARE for CREATE INDEX,
#: SHARE ROW EXCLUSIVE for a foreign key); every other ALTER blocks both.
_WRITES_ONLY = frozenset({"create_index", "create_foreign_key"})
#: Schema operations that take no lock worth reporting here (COMMENT: SHARE UPDATE
#: EXCLUSIVE), or that leave no table behind to change data in.
_NOT_LOCKING = frozenset({"create_table_comment", "drop_table_comment", "drop_table",
                          "create_table"})

_NAME = r"(?:\"[^\"]+\"|\[[^\]]+\]|`[^`]+`|[A-Za-z_][\w$]*)"
_TABLE = rf"(?P<name>{_NAME}(?:\s*\.\s*{_NAME})?)"
#: The statement-keyword check used when PostgreSQL's parser is not available or rejects
#: the SQL (another dialect).
_KEYWORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("UPDATE", re.compile(rf"^UPDATE\s+(?:ONLY\s+)?{_TABLE}", re.I)),
    ("DELETE", re.compile(rf"^DELETE\s+FROM\s+(?:ONLY\s+)?{_TABLE}", re.I)),
    ("INSERT ... SELECT",
     re.compile(rf"^INSERT\s+INTO\s+{_TABLE}\s*(?:\([^)]*\))?\s*(?:SELECT|WITH)\b", re.I)),
    ("ALTER TABLE", re.compile(rf"^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?{_TABLE}", re.I)),
    ("CREATE INDEX", re.compile(
        rf"^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!CONCURRENTLY\b)[^;]*?\bON\s+(?:ONLY\s+)?{_TABLE}", re.I)),
    ("COMMIT", re.compile(r"^(?:COMMIT|END)\b", re.I)),
)
_LEADING_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.S)
_DATA = frozenset({"UPDATE", "DELETE", "INSERT ... SELECT", "MERGE"})


@dataclass(frozen=True, slots=True)
class _Effect:
    """What one statement or operation does to one table."""

    kind: str  # "data", "ddl", "created" (a new table), "commit"
    what: str  # "UPDATE", "add_column", ...
    table: str = ""
    schema: str | None = None
    blocks_reads: bool = True


class SchemaAndDataInOneRevision(LintRule):
    """A data change (``UPDATE``, ``DELETE``, ``INSERT ... SELECT``, ``bulk_insert``) after
    DDL on the same table in the same transaction.

    **Why**: Alembic runs a revision in one transaction, and a DDL statement keeps its table
    lock until that transaction commits. A data change that follows it on the same table
    therefore runs entirely under the DDL's lock: after ``add_column``, ``alter_column``,
    ``drop_column`` and almost every ``ALTER TABLE`` (ACCESS EXCLUSIVE on PostgreSQL) reads
    and writes of the table wait for the whole backfill; after ``create_index`` or
    ``create_foreign_key``, writes do. A backfill of a large table takes minutes. A data
    change before the DDL, in ``autocommit_block()``, on another table, or on a table
    created in the same revision is not reported, nor is ``downgrade()`` unless
    ``lint-downgrade = true``. Only tables named in the code count: the target of the SQL
    given to ``op.execute`` (parsed with PostgreSQL's parser, else by its leading keywords)
    and ``bulk_insert(sa.table("name", ...), ...)``; a table held in a variable is not
    followed. Applies on PostgreSQL and SQL Server, where Alembic runs DDL inside the
    transaction (``transactional_ddl``); MySQL, MariaDB and Oracle commit around every DDL
    statement, and SQLite locks the whole database for any write transaction anyway.

    **Safe alternative**: the schema change in one revision, the data change in the next
    (or after the DDL's transaction is committed, in ``autocommit_block()``, in batches on a
    large table):

    ```python
    def upgrade():
        op.add_column("users", sa.Column("active", sa.Boolean()))

    # The next revision:
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("UPDATE users SET active = true WHERE active IS NULL")
    ```

    **Fix**: move the data change into its own revision, or into ``autocommit_block()``
    (which commits the DDL first: the revision is then no longer atomic).
    """

    CODE = "MG502"
    NAME = "schema-and-data-in-one-revision"
    SEVERITY = Severity.WARNING
    SUMMARY = "a data change after DDL on the same table in the same transaction"
    VALID = [
        Valid('''
            def upgrade():
                op.execute("UPDATE users SET email = lower(email)")
                op.add_column("users", sa.Column("active", sa.Boolean()))
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("active", sa.Boolean()))
                with op.get_context().autocommit_block():
                    op.execute("UPDATE users SET active = true WHERE active IS NULL")
        '''),
        Valid('''
            def upgrade():
                op.create_table("roles", sa.Column("name", sa.Text(), primary_key=True))
                op.bulk_insert(sa.table("roles", sa.column("name")), [{"name": "admin"}])
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("active", sa.Boolean()))
                op.execute("UPDATE orders SET total = 0 WHERE total IS NULL")
                op.execute("INSERT INTO users (name) VALUES ('admin')")
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("active", sa.Boolean()))

            def downgrade():
                op.execute("UPDATE users SET active = NULL")
                op.drop_column("users", "active")
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("active", sa.Boolean()))
                op.execute("UPDATE users SET active = true")
        ''', settings={"dialect": "mysql"}),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.add_column("users", sa.Column("active", sa.Boolean()))
                op.execute("UPDATE users SET active = true WHERE active IS NULL")
        ''', range=(3, 5, 3, 70), message="reads and writes of users are blocked for the whole UPDATE"),
        Invalid('''
            def upgrade():
                op.create_index("ix_roles_name", "roles", ["name"])
                op.bulk_insert(sa.table("roles", sa.column("name")), [{"name": "admin"}])
        ''', range=(3, 5, 3, 78), message="writes to roles are blocked for the whole bulk_insert"),
        Invalid('''
            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("email", type_=sa.Text())
                op.execute(
                    """
                    INSERT INTO users (email)
                    SELECT email FROM legacy_users
                    """
                )
        ''', range=(4, 5, 9, 6), message="INSERT ... SELECT"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        if (ctx.settings.dialect or "postgresql") not in TRANSACTIONAL_DDL:
            return
        function = None
        held: dict[str, tuple[_Effect, Operation]] = {}  # table -> the DDL that locked it
        created: set[str] = set()
        for site in op_sites(ctx, file):
            op = site.op
            if site.function != function:
                function, held, created = site.function, {}, set()
            if op.autocommit:  # the block commits the open transaction first
                held = {}
                continue
            created.update(name.lower() for name in site.new_tables)
            for effect in _effects(op):
                table = effect.table.lower()
                if effect.kind == "commit":
                    held = {}
                elif effect.kind == "created":
                    created.add(table)
                elif table in created:
                    continue
                elif effect.kind == "ddl":
                    held.setdefault(table, (effect, op))
                elif table in held and _same_schema(held[table][0], effect):
                    ddl, ddl_op = held[table]
                    blocked = (f"reads and writes of {effect.table} are" if ddl.blocks_reads
                               else f"writes to {effect.table} are")
                    yield (file, op.span,
                           f"{effect.what} on {effect.table} runs after {ddl.what} on "
                           f"{ddl.table} (line {ddl_op.span.line}) in the same transaction: "
                           f"the lock of the {ddl.what} is held until the revision commits, so "
                           f"{blocked} blocked for the whole {effect.what}; move it to its own "
                           "revision or into autocommit_block()")
                    break


def _same_schema(a: _Effect, b: _Effect) -> bool:
    return a.schema is None or b.schema is None or a.schema.lower() == b.schema.lower()


def _effects(op: Operation) -> list[_Effect]:
    """What an operation does to which tables, in order."""
    schema = op.literal("schema")
    schema = schema if isinstance(schema, str) else None
    if op.name == "execute":
        return _sql_effects(op.sql) if op.sql else []
    if op.name == "bulk_insert":
        arg = op.arg("table")
        if arg is not None and arg.call_name in ("table", "Table") and arg.call_args:
            name = arg.call_args[0]
            if isinstance(name, str):
                target_schema = arg.kwarg("schema")
                return [_Effect("data", "bulk_insert", name,
                                target_schema if isinstance(target_schema, str) else None)]
        return []
    if op.name == "create_table" and op.table is not None:
        return [_Effect("created", op.name, op.table)]
    if op.name in NON_SCHEMA_OPS or op.name in _NOT_LOCKING or op.table is None:
        return []
    if op.name in ("create_index", "drop_index") and op.flag("postgresql_concurrently"):
        return []  # fails inside a transaction anyway (MG304)
    reads = op.name not in _WRITES_ONLY
    out = [_Effect("ddl", op.name, op.table, schema, reads)]
    if op.name == "rename_table":
        new = op.literal("new_table_name")
        if isinstance(new, str):
            out.append(_Effect("ddl", op.name, new, schema, reads))
    elif op.name == "create_foreign_key":
        referent = op.literal("referent_table")
        if isinstance(referent, str):
            referent_schema = op.literal("referent_schema")
            out.append(_Effect("ddl", op.name, referent,
                               referent_schema if isinstance(referent_schema, str) else None,
                               False))
    return out


def _sql_effects(sql: str) -> list[_Effect]:
    """The data changes, DDL and COMMITs of an ``op.execute`` literal, statement by statement:
    through PostgreSQL's parser when it accepts the SQL, else by leading keywords."""
    try:
        from migls.sql import parse
        parsed = parse(sql)
    except ImportError:  # pragma: no cover - pglast is a dependency
        parsed = None
    if parsed is None:
        return [effect for statement in sql.split(";")
                if (effect := _keyword_effect(statement)) is not None]
    return [effect for statement in parsed
            if (effect := _parsed_effect(statement.kind, statement.node)) is not None]


def _parsed_effect(kind: str, node: Any) -> _Effect | None:
    from pglast import enums

    relation = getattr(node, "relation", None)
    table = getattr(relation, "relname", None)
    schema = getattr(relation, "schemaname", None)
    if kind == "TransactionStmt" and node.kind in (enums.TransactionStmtKind.TRANS_STMT_COMMIT,
                                                   enums.TransactionStmtKind.TRANS_STMT_ROLLBACK):
        return _Effect("commit", "COMMIT")
    if table is None:
        return None
    if kind == "CreateStmt":
        return _Effect("created", "CREATE TABLE", table, schema)
    if kind == "UpdateStmt":
        return _Effect("data", "UPDATE", table, schema)
    if kind == "DeleteStmt":
        return _Effect("data", "DELETE", table, schema)
    if kind == "MergeStmt":
        return _Effect("data", "MERGE", table, schema)
    if kind == "InsertStmt":
        select = node.selectStmt
        if select is not None and not getattr(select, "valuesLists", None):
            return _Effect("data", "INSERT ... SELECT", table, schema)
        return None
    if kind == "AlterTableStmt":
        commands = node.cmds or ()
        validating = {enums.AlterTableType.AT_ValidateConstraint}
        if not commands or all(c.subtype in validating for c in commands):
            return None  # VALIDATE CONSTRAINT blocks neither reads nor writes
        foreign_keys_only = all(
            c.subtype == enums.AlterTableType.AT_AddConstraint and c.def_ is not None
            and c.def_.contype == enums.ConstrType.CONSTR_FOREIGN for c in commands)
        return _Effect("ddl", "ALTER TABLE", table, schema, blocks_reads=not foreign_keys_only)
    if kind == "RenameStmt":
        return _Effect("ddl", "ALTER TABLE ... RENAME", table, schema)
    if kind == "IndexStmt" and not node.concurrent:
        return _Effect("ddl", "CREATE INDEX", table, schema, blocks_reads=False)
    return None


def _keyword_effect(statement: str) -> _Effect | None:
    text = _LEADING_COMMENTS.sub("", statement, count=1)
    for what, pattern in _KEYWORDS:
        match = pattern.match(text)
        if match is None:
            continue
        if what == "COMMIT":
            return _Effect("commit", what)
        parts = [_unquote(p) for p in re.split(r"\s*\.\s*", match.group("name"))]
        schema = parts[0] if len(parts) == 2 else None
        if what in _DATA:
            return _Effect("data", what, parts[-1], schema)
        if what == "ALTER TABLE" and re.search(r"\bVALIDATE\s+CONSTRAINT\b", text, re.I):
            return None
        return _Effect("ddl", what, parts[-1], schema, blocks_reads=what != "CREATE INDEX")
    return None


def _unquote(name: str) -> str:
    if name[:1] in "\"[`":
        return name[1:-1]
    return name.lower()
