"""MG307 set-not-null."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import NotNullChecks, ancestor_files, name_of, sites, table_of


class SetNotNull(LintRule):
    """``alter_column(..., nullable=False)`` on an existing table.

    **Why**: ``ALTER COLUMN ... SET NOT NULL`` takes ACCESS EXCLUSIVE and scans every row to
    prove there is no NULL: reads and writes are blocked for the whole scan (measured: 0.1 s
    at 2M rows, growing with the table). From PostgreSQL 12 on, a **validated**
    ``CHECK (col IS NOT NULL)`` lets SET NOT NULL skip the scan (measured: under 1 ms at 2M
    rows); a ``NOT VALID`` one does not help until it is validated. A CHECK proves NOT NULL
    when it is ``col IS NOT NULL``, ``NOT (col IS NULL)`` or an AND with one of them as a
    term; ``CHECK (col > 0)`` does not (a CHECK passes on NULL) and the scan still happens.
    So this is not reported when such a CHECK was added and validated earlier in the revision
    or in an ancestor revision (by ``create_check_constraint`` or in ``op.execute`` SQL), nor
    when
    ``existing_nullable=False`` says the column is already NOT NULL, nor for tables created
    earlier in the same revision.

    **Safe alternative**: add the CHECK ``NOT VALID`` (no scan), ``VALIDATE`` it in a separate
    transaction (scans without blocking reads or writes), then SET NOT NULL (no scan) and drop
    the helper CHECK:

    ```python
    op.create_check_constraint("ck_users_email_not_null", "users", "email IS NOT NULL",
                               postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_not_null")
    op.alter_column("users", "email", nullable=False)
    op.drop_constraint("ck_users_email_not_null", "users", type_="check")
    ```

    **Fix**: precede the ``alter_column`` with the validated CHECK as above (PostgreSQL 12+),
    or run it when a full scan under ACCESS EXCLUSIVE is acceptable.
    """

    CODE = "MG307"
    NAME = "set-not-null"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`alter_column(..., nullable=False)` on an existing table: full scan under "
               "ACCESS EXCLUSIVE")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_users_email_not_null", "users",
                                           "email IS NOT NULL", postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_email_not_null")
                op.alter_column("users", "email", nullable=False)
                op.drop_constraint("ck_users_email_not_null", "users", type_="check")
        '''),
        Valid({
            "0001_check.py": '''
                revision = "a1"
                down_revision = None

                def upgrade():
                    op.execute("ALTER TABLE users ADD CONSTRAINT ck_email "
                               "CHECK (email IS NOT NULL) NOT VALID")
                    op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_email")
            ''',
            "0002_not_null.py": '''
                revision = "b2"
                down_revision = "a1"

                def upgrade():
                    op.alter_column("users", "email", nullable=False)
            ''',
        }),
        Valid({
            "0001_check.py": '''
                revision = "a1"
                down_revision = None

                def upgrade():
                    op.create_check_constraint("ck_age", "users", "age IS NOT NULL AND age >= 0")
            ''',
            "0002_not_null.py": '''
                revision = "b2"
                down_revision = "a1"

                def upgrade():
                    op.alter_column("users", "age", nullable=False)
            ''',
        }),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("accounts", sa.Column("owner", sa.Text()))
                op.alter_column("accounts", "owner", nullable=False)
                op.alter_column("users", "email", nullable=True)
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.alter_column("users", "email", nullable=True)

            def downgrade():
                op.alter_column("users", "email", nullable=False)
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.alter_column("users", "email", nullable=False)
        ''', range=(5, 39, 5, 53), message="CHECK (email IS NOT NULL) NOT VALID"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_users_email_not_null", "users",
                                           "email IS NOT NULL", postgresql_not_valid=True)
                op.alter_column("users", "email", nullable=False)
        ''', range=(7, 39, 7, 53), message="ck_users_email_not_null is NOT VALID"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("email", existing_type=sa.Text(), nullable=False)
        ''', range=(6, 65, 6, 79)),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_users_email_not_null", "users",
                                           "email IS NOT NULL")
                op.alter_column("users", "email", nullable=False)
        ''', settings={"postgres-version": 11}, range=(7, 39, 7, 53),
            message="before PostgreSQL 12"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        targets = {(s.function, s.index): s for s in sites(ctx, file)
                   if s.op.name == "alter_column" and s.on_existing_table
                   and s.op.literal("nullable") is False
                   and s.op.literal("existing_nullable") is not False}
        if not targets:
            return
        version = ctx.settings.postgres_version
        checks = NotNullChecks()
        for ancestor in ancestor_files(ctx, file):
            for op in ancestor.upgrade.ops if ancestor.upgrade is not None else ():
                if op.runs_on("postgresql"):
                    checks.feed(op)
        # downgrade() runs after this revision's upgrade(): its state follows on.
        for name, function in (("upgrade", file.upgrade), ("downgrade", file.downgrade)):
            for index, op in enumerate(function.ops if function is not None else ()):
                site = targets.get((name, index))
                nullable = op.arg("nullable")
                if site is not None and nullable is not None:
                    column = name_of(op.arg("column_name"), "?")
                    if version < 12 or not checks.validated(op.table or "", column):
                        yield (file, nullable.span, _message(
                            table_of(op), column, version, checks.not_valid(op.table or "", column)))
                if op.runs_on("postgresql"):
                    checks.feed(op)


def _message(table: str, column: str, version: int, not_valid: str | None) -> str:
    scan = (f"SET NOT NULL on {table}.{column} scans {table} under ACCESS EXCLUSIVE: reads and "
            f"writes of {table} are blocked for the scan")
    if version >= 12 and not_valid is not None:
        return (f"{scan}; CHECK constraint {not_valid} is NOT VALID and does not help until it is "
                "validated: VALIDATE it in a separate transaction first")
    if version >= 12:
        return (f"{scan}; first add CHECK ({column} IS NOT NULL) NOT VALID and VALIDATE it in a "
                "separate transaction, then SET NOT NULL skips the scan")
    return (f"{scan} (before PostgreSQL 12 a CHECK constraint does not let it skip the scan; "
            f"postgres-version = {version})")
