"""MG312 missing-lock-timeout."""

from __future__ import annotations

import re
from collections.abc import Iterator

from migls.fixes import Edit, Fix
from migls.model import RevisionFile
from migls.ops import Operation
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, op_sites
from migls.span import Span
from migls.sql import (created_table, lock_timeout_setting, span_in_file, statements,
                       takes_access_exclusive)

_STRING_START = re.compile(r"""[rRbBuUfF]{0,2}['"]""")
SET_LOCK_TIMEOUT = "op.execute(\"SET LOCAL lock_timeout = '5s'\")"

#: Operations that take ACCESS EXCLUSIVE on their table (pg-locks.md: every "instant" ALTER
#: TABLE does). create_index (SHARE) and create_foreign_key (SHARE ROW EXCLUSIVE) do not.
ACCESS_EXCLUSIVE_OPS = frozenset({
    "add_column", "drop_column", "alter_column", "rename_table", "drop_table",
    "create_check_constraint", "create_unique_constraint", "create_primary_key",
    "drop_constraint", "create_exclude_constraint",
})


class MissingLockTimeout(LintRule):
    """A revision takes ACCESS EXCLUSIVE on an existing table while neither the revision nor
    ``env.py`` sets ``lock_timeout``.

    **Why**: almost every ``ALTER TABLE`` — even the "instant" ones: adding a nullable
    column, dropping a column, renaming, ``SET DEFAULT`` — takes ACCESS EXCLUSIVE. It is brief,
    but it has to wait for every transaction already touching the table, and while it waits
    every new query on the table, reads included, queues behind it. Measured on PostgreSQL 15:
    behind one open transaction, reads of the table were blocked for as long as that
    transaction lived — a full outage from a 1 ms operation. With ``lock_timeout`` the
    migration fails after the timeout (SQLSTATE 55P03) instead, and can be retried.

    It is reported once per revision, on the first such operation. ``env.py`` counts when it
    sets ``lock_timeout`` for every revision (``SET lock_timeout``, ``connect_args`` options,
    or ``SET LOCAL`` without ``transaction_per_migration``).

    **Safe alternative**:

    ```python
    def upgrade():
        op.execute("SET LOCAL lock_timeout = '5s'")
        op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
    ```

    **Fix**: add ``op.execute("SET LOCAL lock_timeout = '5s'")`` at the top of ``upgrade()``,
    or set it once in ``env.py``.
    """

    CODE = "MG312"
    NAME = "missing-lock-timeout"
    SEVERITY = Severity.WARNING
    SUMMARY = "ACCESS EXCLUSIVE on an existing table without `lock_timeout`"
    VALID = [
        Valid('''
            def upgrade():
                op.execute("SET LOCAL lock_timeout = '5s'")
                op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
        '''),
        Valid('''
            def upgrade():
                op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("audit", sa.Column("note", sa.Text(), nullable=True))
        '''),
        Valid('''
            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
                op.drop_column("users", "legacy")
        ''', range=(2, 5, 2, 72), message="users", fixed='''
            def upgrade():
                op.execute("SET LOCAL lock_timeout = '5s'")
                op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
                op.drop_column("users", "legacy")
        '''),
        Invalid('''
            def upgrade():
                """Drop the legacy column."""
                op.drop_column("users", "legacy")
        ''', range=(3, 5, 3, 38), fixed='''
            def upgrade():
                """Drop the legacy column."""
                op.execute("SET LOCAL lock_timeout = '5s'")
                op.drop_column("users", "legacy")
        '''),
        Invalid('''
            def upgrade():
                op.execute("ALTER TABLE users ALTER COLUMN note SET DEFAULT ''")
                op.execute("SET LOCAL lock_timeout = '5s'")
        ''', range=(2, 17, 2, 67), fixed='''
            def upgrade():
                op.execute("SET LOCAL lock_timeout = '5s'")
                op.execute("ALTER TABLE users ALTER COLUMN note SET DEFAULT ''")
                op.execute("SET LOCAL lock_timeout = '5s'")
        '''),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: the upgrade now fails (SQLSTATE 55P03) where it used to wait for the lock.
        upgrade = file.upgrade
        if upgrade is None or file.source is None or "op." not in file.source.text:
            return None
        before = [op for op in upgrade.ops if (op.span.line, op.span.column) <= (span.line, span.column)]
        if not before or any(op.autocommit for op in before):
            return None  # autocommit_block() would end the SET LOCAL's transaction first
        lines = file.source.text.split("\n")
        define = upgrade.name_span.line
        body = [(first, last) for first, last in file.statements if first > define]
        if body and _STRING_START.match(lines[body[0][0] - 1].lstrip()):
            body = [(first, last) for first, last in body if first > body[0][1]]  # a docstring
        if not body:
            return None
        line = lines[body[0][0] - 1]
        indent = line[:len(line) - len(line.lstrip())]
        outer = lines[define - 1]
        if len(indent) <= len(outer) - len(outer.lstrip()):
            return None  # not in upgrade's body (a one-line def)
        if any(op.span.line < body[0][0] for op in before):
            return None  # a helper defined above upgrade(): the SET would come after its ops
        return Fix("Set lock_timeout at the top of upgrade()", False,
                   (Edit(Span(body[0][0], 0, body[0][0], 0), f"{indent}{SET_LOCK_TIMEOUT}\n"),))

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        if not is_postgresql(ctx) or ctx.lock_timeout_in_env:
            return
        created: set[str] = set()
        # SET LOCAL lasts until the transaction ends (an autocommit_block() commits it) and does
        # nothing outside one; a session SET lasts; "= 0" turns the timeout off.
        local = session = False
        in_block = False
        for site in op_sites(ctx, file):
            op = site.op
            if op.autocommit and not in_block:
                local = False
            in_block = op.autocommit
            if op.name == "execute":
                for statement in statements(op):
                    setting = lock_timeout_setting(statement)
                    if setting is not None:
                        is_local, enabled = setting
                        if not is_local:
                            session = enabled
                        elif not op.autocommit:
                            local = enabled
                        continue
                    if local or session:
                        continue
                    table = takes_access_exclusive(statement, site.new_tables | created)
                    if table is not None:
                        yield file, span_in_file(op, statement.start, statement.end), _message(table)
                        return
                    name = created_table(statement)
                    if name:
                        created.add(name)
            elif (_access_exclusive(op) and site.on_existing_table and op.table not in created
                  and not (local or session)):
                assert op.table is not None
                yield file, op.span, _message(op.table)
                return


def _access_exclusive(op: Operation) -> bool:
    if op.name in ACCESS_EXCLUSIVE_OPS:
        return True
    # DROP INDEX (not concurrently) locks its table in ACCESS EXCLUSIVE mode.
    return op.name == "drop_index" and not op.flag("postgresql_concurrently") and op.table is not None


def _message(table: str) -> str:
    return (f"this revision takes ACCESS EXCLUSIVE on {table} without a lock_timeout: behind "
            f"any open transaction it waits, and every new query on {table} queues behind it; "
            "start upgrade() with SET LOCAL lock_timeout")

