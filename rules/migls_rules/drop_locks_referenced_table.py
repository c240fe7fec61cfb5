"""MG314 drop-locks-referenced-table."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.ops import Operation
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, linted_functions
from migls.schema import schemas_along
from migls.span import Span
from migls_rules.column_type_change import for_other_dialect

_HISTORY = '''
    revision = "a1"
    down_revision = None

    def upgrade():
        op.create_table("orgs", sa.Column("id", sa.Integer(), primary_key=True))
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id")),
            sa.Column("name", sa.Text()),
        )
'''


class DropLocksReferencedTable(LintRule):
    """``drop_column`` of a foreign-key column, or ``drop_table`` of a table with foreign
    keys: the *referenced* table is locked too, against reads.

    **Why**: dropping a foreign key removes its triggers from the referenced table, so
    PostgreSQL takes ACCESS EXCLUSIVE on that table as well. Measured on PostgreSQL 15
    (`pg-locks.md` rows 10b, 10c): `ALTER TABLE t DROP COLUMN parent_id` and `DROP TABLE t`,
    where `t` has a foreign key to `p`, both hold ACCESS EXCLUSIVE on `p` until the migration
    commits: a plain `SELECT` on `p` waits. The drop itself takes a millisecond, but behind any
    open transaction on `p` it queues, and every new query on `p` queues behind it. The
    referenced table is usually the busier one (`users`, `organizations`). Only foreign keys
    that the history shows (created by earlier revisions' operations) are reported.

    **Safe alternative**: drop the foreign key first, in its own short transaction with a
    `lock_timeout` (it still locks both tables, but only for an instant, and fails instead of
    queueing), then drop the column or table in a later step:

    ```python
    def upgrade():
        op.execute("SET LOCAL lock_timeout = '2s'")
        op.drop_constraint("users_org_id_fkey", "users", type_="foreignkey")
        # next revision (or after a commit):
        # op.drop_column("users", "org_id")
    ```

    **Fix**: move the `drop_constraint` of the foreign key into its own revision (or an
    `autocommit_block()` of its own) with a `lock_timeout`, then drop the column or table.
    """

    CODE = "MG314"
    NAME = "drop-locks-referenced-table"
    SEVERITY = Severity.WARNING
    SUMMARY = "dropping a foreign-key column or a table with foreign keys locks the referenced table against reads"
    VALID = [
        Valid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.drop_column("users", "name")
        '''}),
        Valid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.drop_constraint("users_org_id_fkey", "users", type_="foreignkey")
                op.drop_column("users", "org_id")
        '''}),
        Valid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.create_table(
                    "invites",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id")),
                )
                op.drop_table("invites")
        '''}),
        Valid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.drop_column("users", "org_id")
        '''}, settings={"dialect": "sqlite"}),
    ]
    INVALID = [
        Invalid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.drop_column("users", "org_id")
        '''}, path="0002_b.py", range=(5, 29, 5, 37),
            message="takes ACCESS EXCLUSIVE on orgs too"),
        Invalid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.drop_table("users")
        '''}, path="0002_b.py", range=(5, 5, 5, 27)),
        Invalid({"0001_a.py": _HISTORY, "0002_b.py": '''
            revision = "b2"
            down_revision = "a1"

            def upgrade():
                op.create_table("events", sa.Column("id", sa.Integer(), primary_key=True))
                op.add_column("events", sa.Column("org_id", sa.Integer()))
                op.create_foreign_key("fk_events_org", "events", "orgs", ["org_id"], ["id"])
        ''', "0003_c.py": '''
            revision = "c3"
            down_revision = "b2"

            def upgrade():
                with op.batch_alter_table("events") as batch_op:
                    batch_op.drop_column("org_id")
        '''}, path="0003_c.py", range=(6, 30, 6, 38)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if not is_postgresql(ctx):
            return
        dialect = ctx.settings.dialect or "postgresql"
        for function_name, function in linted_functions(ctx, file):
            # A referenced table that the same function drops is going away: its lock is moot.
            dropped = {op.table for op in function.ops
                       if op.name == "drop_table" and op.table and op.runs_on(dialect)}
            created: set[str] = set()
            for op, schema in schemas_along(ctx.graph, file.revision_id, function_name, function.ops,
                                             dialect):
                if op.name == "create_table" and op.table is not None:
                    created.add(op.table)
                elif op.name == "rename_table" and op.table in created:
                    created.add(str(op.literal("new_table_name")))
                if op.name not in ("drop_column", "drop_table") or op.table is None:
                    continue
                table = schema.tables.get(op.table)
                if table is None or op.table in created or for_other_dialect(file, op.span.line):
                    continue
                column = op.literal("column_name")
                if op.name == "drop_column":
                    if not isinstance(column, str):
                        continue
                    keys = [fk for fk in table.foreign_keys if column in fk.columns]
                else:
                    keys = list(table.foreign_keys)
                referents = sorted({fk.referent for fk in keys} - {op.table} - created - dropped)
                if referents:
                    yield file, *_finding(op, column, referents)


def _finding(op: Operation, column: object, referents: list[str]) -> tuple[Span, str]:
    names = " and ".join(", ".join(referents).rsplit(", ", 1))
    them = "them" if len(referents) > 1 else "it"
    if op.name == "drop_column":
        arg = op.arg("column_name")
        span = arg.span if arg is not None else op.span
        what = f"dropping {op.table}.{column} drops its foreign key to {names}"
    else:
        span = op.span
        what = f"dropping table {op.table} drops its foreign key{'s' if len(referents) > 1 else ''} to {names}"
    return span, (f"{what}, so PostgreSQL takes ACCESS EXCLUSIVE on {names} too: reads of {them} "
                  "wait until the migration commits; drop the foreign key first, in a short "
                  "transaction with lock_timeout")
