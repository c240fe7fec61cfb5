"""What an Alembic operation does to a PostgreSQL table: the lock it takes, what that lock
blocks, and whether it scans or rewrites the table.

The facts are those measured on PostgreSQL 15 (``shared/pg-locks.md``; the row of each fact is
named in a comment) and stated by the MG3 rules; the language server shows them on hover.
Reading an operation needs no database and no import of the revision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migls.ops import Arg, Operation

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
SHARE = "SHARE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"

#: What other sessions cannot do while each table lock is held (PostgreSQL's conflict table).
BLOCKS: dict[str, str] = {
    ACCESS_EXCLUSIVE: "blocks reads and writes",
    EXCLUSIVE: "blocks writes (plain reads still run)",
    SHARE_ROW_EXCLUSIVE: "blocks writes, not reads",
    SHARE: "blocks writes, not reads",
    SHARE_UPDATE_EXCLUSIVE: "blocks neither reads nor writes (only other DDL, VACUUM, ANALYZE)",
    ROW_EXCLUSIVE: "blocks neither reads nor inserts; updates and deletes of the rows it "
                   "changes wait until COMMIT",
}

#: Functions PostgreSQL marks VOLATILE that appear as column defaults: ADD COLUMN then
#: computes the default for every existing row, rewriting the table (rows 4b/4c).
VOLATILE_FUNCTIONS = frozenset({
    "clock_timestamp", "random", "random_normal", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "gen_random_bytes",
    "nextval", "timeofday",
})

NO_SCAN = "catalog only: instant, whatever the table's size"
SCAN = "scans the whole table (no rewrite): the time grows with the rows"
REWRITE = "rewrites the table and rebuilds every index: the time grows with the rows"
INDEX_BUILD = "builds the index by scanning the table: the time grows with the rows"


@dataclass(frozen=True, slots=True)
class LockFact:
    """One thing an operation does to one table."""

    table: str
    lock: str
    work: str
    notes: tuple[str, ...] = ()

    @property
    def blocks(self) -> str:
        """What the lock blocks, in words."""
        return BLOCKS.get(self.lock, "")


@dataclass(frozen=True, slots=True)
class OperationFacts:
    """Everything known about an operation's effect on PostgreSQL."""

    facts: tuple[LockFact, ...]
    #: Said once about the whole operation (it fails, it breaks running code, ...).
    notes: tuple[str, ...] = ()

    @property
    def access_exclusive(self) -> bool:
        """Whether any table is locked against reads (the lock queue then matters)."""
        return any(fact.lock == ACCESS_EXCLUSIVE for fact in self.facts)


LOCK_QUEUE = ("behind any open transaction on the table it waits, and every new query queues "
              "behind it: set `lock_timeout` (e.g. `SET LOCAL lock_timeout = '5s'`)")


def operation_facts(op: Operation, *, new_tables: frozenset[str] = frozenset(),
                    postgres_version: int = 14) -> OperationFacts | None:
    """The facts of ``op`` (``None`` for operations that touch no table, such as
    ``op.get_bind()``). ``new_tables`` are the tables created earlier in the same revision:
    nobody else can see them, so their locks block nobody."""
    table = _table(op)
    if op.name != "create_table" and op.table is not None and op.table in new_tables:
        note = (f"`{table}` is created earlier in this revision: no other session sees it "
                "yet, so its locks block nobody")
        return OperationFacts((), (note,))
    reader = _READERS.get(op.name)
    if reader is None:
        return None
    return reader(op, table, postgres_version)


def _table(op: Operation) -> str:
    schema = op.literal("schema")
    name = op.table or "?"
    return f"{schema}.{name}" if isinstance(schema, str) else name


def _add_column(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    work = NO_SCAN  # rows 1, 3a, 4a: constant and STABLE defaults are stored in the catalog
    notes: list[str] = []
    facts: list[LockFact] = []
    column = op.columns[0] if op.columns else None
    if column is not None:
        default = column.server_default
        has_default = default is not None and default.value is not None
        if column.identity is not None or column.computed is not None:
            work = REWRITE  # row 4d
        elif has_default and default is not None and _volatile(default):
            work = REWRITE  # rows 4b, 4c
            notes.append("a VOLATILE default is computed for every existing row")
        elif has_default and postgres_version < 11:
            work = REWRITE
            notes.append("before PostgreSQL 11 any default rewrites the table")
        if column.is_not_null and not has_default and column.identity is None and not (
                column.primary_key):
            notes.append("NOT NULL without a server_default fails on a non-empty table "
                         "(SQLSTATE 23502)")  # row 2a
        if column.unique:
            work = INDEX_BUILD  # the UNIQUE constraint's index is built under the same lock
        for target in column.foreign_keys:
            referenced = target.rsplit(".", 1)[0] if "." in target else target
            # row 15c: the ADD FOREIGN KEY validates by scanning while ACCESS EXCLUSIVE is held
            work = SCAN if work == NO_SCAN else work
            facts.append(LockFact(referenced, SHARE_ROW_EXCLUSIVE, "referenced by the new "
                                  "foreign key (no scan of its own)"))
        if column.index:
            notes.append(f"`index=True` also runs CREATE INDEX, which holds SHARE on "
                         f"`{table}` for the whole build")
    facts.insert(0, LockFact(table, ACCESS_EXCLUSIVE, work))
    return OperationFacts(tuple(facts), tuple(notes))


def _volatile(default: Arg) -> bool:
    """Whether a ``server_default`` calls a VOLATILE function. A plain string is rendered
    as a quoted constant, never as a call; ``sa.text``/``literal_column`` are SQL."""
    if default.call_name in ("text", "literal_column"):
        sql = default.call_args[0] if default.call_args else None
        return isinstance(sql, str) and any(
            name in VOLATILE_FUNCTIONS for name in _SQL_CALL.findall(sql.lower()))
    if default.call_name is None:
        return False
    return (default.call_name.lower() in VOLATILE_FUNCTIONS and ".func." in f".{default.code}"
            ) or default.call_name == "next_value"


_SQL_CALL = re.compile(r"([a-z_][a-z0-9_$]*)\s*\(")


def _drop_column(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    # rows 10a, 10b
    foreign_key = ("if the column has a foreign key, the referenced table is locked ACCESS "
                   "EXCLUSIVE too")
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN, (foreign_key,)),),
                          ("the release still running may read the column",))


def _alter_column(op: Operation, table: str, postgres_version: int) -> OperationFacts | None:
    works: list[str] = []
    notes: list[str] = []
    if "type_" in op.args:
        # rows 5a-5h
        works.append(REWRITE + ", unless the change is binary-coercible (varchar widened, "
                     "varchar to text)")
        notes.append("timestamp to timestamptz rewrites unless the session TimeZone is UTC")
    if op.literal("nullable") is False:
        works.append(SCAN + ", unless a validated CHECK (col IS NOT NULL) exists")  # 6a/6b
    if "server_default" in op.args or op.literal("nullable") is True:
        works.append(NO_SCAN)  # row 7
    if "new_column_name" in op.args:
        works.append(NO_SCAN)  # row 11a
        notes.append("the release still running uses the old column name")
    if not works:
        return None
    work = next((w for w in works if w.startswith(REWRITE)), None) or next(
        (w for w in works if w.startswith(SCAN)), works[0])
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, work),), tuple(notes))


def _create_index(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    if op.flag("postgresql_concurrently"):
        if not op.autocommit:  # row 8b
            note = ("CREATE INDEX CONCURRENTLY cannot run inside a transaction block "
                    "(SQLSTATE 25001): wrap it in `op.get_context().autocommit_block()`")
            return OperationFacts((), (note,))
        return OperationFacts((LockFact(table, SHARE_UPDATE_EXCLUSIVE, INDEX_BUILD, (
            "it first waits for every transaction writing to the table",)),))  # row 8c
    return OperationFacts((LockFact(table, SHARE, INDEX_BUILD),))  # row 8a


def _drop_index(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    if op.flag("postgresql_concurrently"):
        if not op.autocommit:  # row 10e
            note = ("DROP INDEX CONCURRENTLY cannot run inside a transaction block "
                    "(SQLSTATE 25001)")
            return OperationFacts((), (note,))
        return OperationFacts((LockFact(table, SHARE_UPDATE_EXCLUSIVE, NO_SCAN, (
            "it waits for every transaction that touched the table",)),))  # row 10f
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN),))  # row 10d


def _create_foreign_key(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    referent = op.literal("referent_table")
    referenced = referent if isinstance(referent, str) else "the referenced table"
    source = op.literal("source_table")
    source_table = table if op.batch else (source if isinstance(source, str) else table)
    if op.flag("postgresql_not_valid"):  # row 9d
        work = "no scan (NOT VALID): run VALIDATE CONSTRAINT later, which blocks nothing"
    else:  # row 9c
        work = "scans the table to validate every row: the time grows with the rows"
    return OperationFacts((LockFact(source_table, SHARE_ROW_EXCLUSIVE, work),
                           LockFact(referenced, SHARE_ROW_EXCLUSIVE, "referenced table")))


def _create_check_constraint(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    if op.flag("postgresql_not_valid"):  # row 9g
        return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN + " (NOT VALID: "
                                        "VALIDATE CONSTRAINT later blocks nothing)"),))
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, SCAN),))  # row 9f


def _index_constraint(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    # rows 9a, 12a: the index is built while ACCESS EXCLUSIVE is held
    safer = ("a unique index built CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX, "
             "takes the lock only for an instant")
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, INDEX_BUILD, (safer,)),))


def _instant_exclusive(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN),))


def _drop_table(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    # row 10c
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN, (
        "every table it references by a foreign key is locked ACCESS EXCLUSIVE too",)),),
        ("the release still running may use the table",))


def _rename_table(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    # row 11b
    return OperationFacts((LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN),),
                          ("the release still running uses the old name",))


def _create_table(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    # rows 15a, 15b
    referenced = sorted({target.rsplit(".", 1)[0] for column in op.columns
                         for target in column.foreign_keys if "." in target})
    facts = tuple(LockFact(name, SHARE_ROW_EXCLUSIVE, "referenced by a foreign key of the "
                           "new table") for name in referenced)
    return OperationFacts(facts, (f"`{table}` is new: no other session sees it yet",))


def _bulk_insert(op: Operation, table: str, postgres_version: int) -> OperationFacts:
    return OperationFacts((LockFact(table, ROW_EXCLUSIVE, "inserts rows"),))


def _execute(op: Operation, table: str, postgres_version: int) -> OperationFacts | None:
    if op.sql is None:
        return OperationFacts((), ("the SQL is not a literal: its locks cannot be read",))
    from migls.sql import parse  # pglast loads only when SQL is hovered

    statements = parse(op.sql)
    if statements is None:
        note = "PostgreSQL's parser does not accept this SQL: its locks cannot be read"
        return OperationFacts((), (note,))
    facts: list[LockFact] = []
    notes: list[str] = []
    for statement in statements:
        fact = _statement_fact(statement.kind, statement.node)
        if isinstance(fact, LockFact):
            facts.append(fact)
        elif fact:
            notes.append(fact)
    return OperationFacts(tuple(facts), tuple(notes)) if facts or notes else None


def _relname(relation: object) -> str:
    name = getattr(relation, "relname", None)
    schema = getattr(relation, "schemaname", None)
    if name is None:
        return "?"
    return f"{schema}.{name}" if schema else str(name)


def _statement_fact(kind: str, node: object) -> LockFact | str | None:
    """A fact (or a note) for one parsed SQL statement."""
    if kind in ("UpdateStmt", "DeleteStmt", "InsertStmt"):  # rows 14a, 14b
        work = ("changes rows and row-locks each one until COMMIT; a full-table UPDATE "
                "doubles the table's size until VACUUM")
        return LockFact(_relname(getattr(node, "relation", None)), ROW_EXCLUSIVE, work)
    if kind == "IndexStmt":
        table = _relname(getattr(node, "relation", None))
        if getattr(node, "concurrent", False):
            return LockFact(table, SHARE_UPDATE_EXCLUSIVE, INDEX_BUILD + " (outside a "
                            "transaction only)")
        return LockFact(table, SHARE, INDEX_BUILD)
    if kind == "AlterTableStmt":
        table = _relname(getattr(node, "relation", None))
        subtypes = {getattr(getattr(cmd, "subtype", None), "name", "") for cmd in
                    getattr(node, "cmds", None) or ()}
        if subtypes == {"AT_ValidateConstraint"}:  # rows 9e, 9h
            return LockFact(table, SHARE_UPDATE_EXCLUSIVE, SCAN.replace(" (no rewrite)", ""))
        return LockFact(table, ACCESS_EXCLUSIVE, "most ALTER TABLE forms: see the operation's "
                        "own hover for the scan or rewrite it implies")
    if kind in ("RenameStmt", "TruncateStmt"):
        relation = getattr(node, "relation", None)
        relations = getattr(node, "relations", None)
        table = _relname(relation if relation is not None else (relations or [None])[0])
        return LockFact(table, ACCESS_EXCLUSIVE, NO_SCAN)
    if kind == "AlterEnumStmt":  # row 13a
        return ("ALTER TYPE ... ADD VALUE locks only the type (blocks no table); the new value "
                "cannot be used before COMMIT (SQLSTATE 55P04)")
    if kind == "VariableSetStmt" and (getattr(node, "name", "") or "").lower() == "lock_timeout":
        return "sets `lock_timeout`: a blocked ALTER fails after it instead of queueing queries"
    return None


_READERS = {
    "add_column": _add_column,
    "drop_column": _drop_column,
    "alter_column": _alter_column,
    "create_index": _create_index,
    "drop_index": _drop_index,
    "create_foreign_key": _create_foreign_key,
    "create_check_constraint": _create_check_constraint,
    "create_unique_constraint": _index_constraint,
    "create_primary_key": _index_constraint,
    "create_exclude_constraint": _index_constraint,
    "drop_constraint": _instant_exclusive,
    "drop_table": _drop_table,
    "rename_table": _rename_table,
    "create_table": _create_table,
    "bulk_insert": _bulk_insert,
    "execute": _execute,
}
