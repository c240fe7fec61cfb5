"""MG403 rename-column."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import op_sites


class RenameColumn(LintRule):
    """``alter_column(..., new_column_name=...)`` (plain or in ``batch_alter_table``): the
    previous release still uses the old name during a rolling deploy.

    **Why**: the rename itself is instant, but while the migration runs, and until the last
    process of the previous release is replaced, that release keeps serving with the old
    name. SQLAlchemy's ORM selects every mapped column, so every query of that model fails
    with "column ... does not exist"; and the new release, if it is deployed first, fails the
    same way on the new name. No deploy order avoids the gap. This holds on every database.
    Reported on the ``new_column_name`` argument. Not reported: a column of a table created
    earlier in the same revision or added earlier in the same revision; ``downgrade()``
    unless ``lint-downgrade = true``. ``RENAME COLUMN`` in ``op.execute`` SQL is MG313's.

    **Safe alternative** (expand/contract): add the new column, have the code write both and
    read the new one, backfill outside the DDL's transaction, and drop the old column once no
    running code uses it:

    ```python
    # Release N (expand): the code writes both columns.
    def upgrade():
        op.add_column("users", sa.Column("email_address", sa.Text()))

    # Next revision: backfill (in batches on a large table), outside the DDL's transaction.
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("UPDATE users SET email_address = email WHERE email_address IS NULL")

    # Release N+1 (contract), once no running code reads users.email:
    def upgrade():
        op.drop_column("users", "email")  # migls: ignore[MG401] -- unused since release N
    ```

    **Fix**: replace the rename with the expand/contract steps above.
    """

    CODE = "MG403"
    NAME = "rename-column"
    SEVERITY = Severity.WARNING
    SUMMARY = "`alter_column(..., new_column_name=...)` renames a column the running release uses"
    VALID = [
        Valid('''
            def upgrade():
                op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True),
                                sa.Column("note", sa.Text()))
                op.alter_column("audit", "note", new_column_name="comment")
        '''),
        Valid('''
            def upgrade():
                op.alter_column("users", "email", nullable=True, new_column_name=None)
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("email_address", sa.Text()))

            def downgrade():
                op.alter_column("users", "email", new_column_name="email_address")
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.alter_column("users", "email", new_column_name="email_address")
        ''', range=(2, 39, 2, 70), message="renames users.email to email_address"),
        Invalid('''
            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.alter_column("email", new_column_name="email_address")
        ''', range=(3, 40, 3, 71), message="users.email"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        added: set[tuple[str, str, str | None]] = set()  # (function, column, table)
        for site in op_sites(ctx, file):
            op = site.op
            if op.name == "add_column" and op.columns and op.columns[0].name is not None:
                added.add((site.function, op.columns[0].name, op.table))
            arg = op.arg("new_column_name")
            if (op.name != "alter_column" or arg is None or arg.value is None
                    or op.table in site.new_tables):
                continue
            column = op.literal("column_name")
            if isinstance(column, str) and (site.function, column, op.table) in added:
                continue
            old = column if isinstance(column, str) else "a column"
            where = f"{op.table}.{old}" if op.table and isinstance(column, str) else old
            new = f" to {arg.value}" if isinstance(arg.value, str) else ""
            yield (file, arg.span,
                   f"renames {where}{new}: the previous release, still running during the "
                   f"deploy, uses {where} and its queries fail; add the new column and drop "
                   "the old one in a later release (expand/contract)")
