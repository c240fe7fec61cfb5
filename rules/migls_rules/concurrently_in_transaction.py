"""MG304 concurrently-in-transaction."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix, autocommit_fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import name_of, sites

_STATEMENT = {"create_index": "CREATE INDEX CONCURRENTLY", "drop_index": "DROP INDEX CONCURRENTLY"}


class ConcurrentlyInTransaction(LintRule):
    """``postgresql_concurrently=True`` on ``create_index``/``drop_index`` outside
    ``op.get_context().autocommit_block()``.

    **Why**: Alembic runs a revision inside a transaction, and PostgreSQL refuses
    ``CREATE INDEX CONCURRENTLY`` and ``DROP INDEX CONCURRENTLY`` there:
    ``cannot run inside a transaction block`` (SQLSTATE 25001). The migration fails at that
    statement on every PostgreSQL version, whether the table is new or not, so this is
    reported even for a table created earlier in the same revision.

    **Safe alternative**: ``autocommit_block()`` commits the migration's transaction, runs
    its body without one, and starts a new transaction after it:

    ```python
    with op.get_context().autocommit_block():
        op.create_index("ix_users_email", "users", ["email"], postgresql_concurrently=True)
    ```

    **Fix**: move the call into ``with op.get_context().autocommit_block():``. Everything
    before the block is committed first, so a failure inside it does not roll that back.
    """

    CODE = "MG304"
    NAME = "concurrently-in-transaction"
    SEVERITY = Severity.ERROR
    SUMMARY = ("`postgresql_concurrently=True` outside `autocommit_block()`: PostgreSQL rejects "
               "it inside a transaction")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"],
                                    postgresql_concurrently=True)
                    op.drop_index("ix_users_name", table_name="users",
                                  postgresql_concurrently=True)
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_index("ix_users_email", "users", ["email"])

            def downgrade():
                op.drop_index("ix_users_email", table_name="users", postgresql_concurrently=True)
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_index("ix_users_email", "users", ["email"],
                                postgresql_concurrently=True)
        ''', settings={"dialect": "mysql"}),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_index("ix_users_email", "users", ["email"],
                                postgresql_concurrently=True)
        ''', range=(6, 21, 6, 49),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.create_index("ix_users_email", "users", ["email"],
                                    postgresql_concurrently=True)
        ''', message="SQLSTATE 25001"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_index("ix_users_email", table_name="users", postgresql_concurrently=True)
        ''', range=(5, 57, 5, 85),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.drop_index("ix_users_email", table_name="users", postgresql_concurrently=True)
        ''', message="DROP INDEX CONCURRENTLY ix_users_email"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                op.create_index("ix_tags_name", "tags", ["name"], postgresql_concurrently=True)
        ''', range=(6, 55, 6, 83),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("tags", sa.Column("name", sa.Text()))
                with op.get_context().autocommit_block():
                    op.create_index("ix_tags_name", "tags", ["name"], postgresql_concurrently=True)
        '''),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.get_context().autocommit_block():
                    op.execute("VACUUM users")
                with op.batch_alter_table("users") as batch_op:
                    batch_op.create_index("ix_users_email", ["email"],
                                          postgresql_concurrently=True)
        ''', range=(9, 31, 9, 59)),
    ]

    FIX_SAFETY = "safe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        return autocommit_fix(file, span, "the concurrent index operation")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        for site in sites(ctx, file):
            op = site.op
            arg = op.arg("postgresql_concurrently")
            if op.name not in _STATEMENT or op.autocommit or arg is None or arg.value is not True:
                continue
            index = name_of(op.arg("index_name"), "the index")
            yield (file, arg.span,
                   (f"{_STATEMENT[op.name]} {index} fails inside the migration's transaction "
                    "(SQLSTATE 25001: cannot run inside a transaction block); run it in "
                    "op.get_context().autocommit_block()"))
