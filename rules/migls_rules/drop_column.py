"""MG401 drop-column."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import op_sites


class DropColumn(LintRule):
    """``drop_column`` (plain or in ``batch_alter_table``): the previous release still reads
    the column during a rolling deploy.

    **Why**: while the migration runs, and until the last process of the previous release is
    replaced, that release keeps serving. SQLAlchemy's ORM selects every mapped column, so as
    soon as the column is gone every query of that model fails with "column ... does not
    exist"; rolling the code back no longer helps either. This holds on every database.
    Reported on the column-name argument (the column the running code still reads). Not
    reported: a column of a table created earlier in the same revision, or a column added
    earlier in the same revision (no released code knows them); ``downgrade()`` unless
    ``lint-downgrade = true``. ``DROP COLUMN`` in ``op.execute`` SQL is MG313's.

    **Safe alternative** (expand/contract): stop using the column in one release, drop it in
    the next. If the column is ``NOT NULL`` without a default, make it nullable first, so the
    code that no longer writes it can still insert rows:

    ```python
    # Release N: the model no longer maps users.email; the column may still be NOT NULL.
    def upgrade():
        op.alter_column("users", "email", existing_type=sa.Text(), nullable=True)

    # Release N+1, once no running code reads users.email:
    def upgrade():
        op.drop_column("users", "email")  # migls: ignore[MG401] -- unused since release N
    ```

    **Fix**: ship the code that neither reads nor writes the column first; drop it in a
    revision of a later release, and say so in a suppression comment with the reason.
    """

    CODE = "MG401"
    NAME = "drop-column"
    SEVERITY = Severity.WARNING
    SUMMARY = "`drop_column`: the previous release still reads it during a rolling deploy"
    VALID = [
        Valid('''
            def upgrade():
                op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True),
                                sa.Column("note", sa.Text()))
                op.drop_column("audit", "note")
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("tmp", sa.Text()))
                op.drop_column("users", "tmp")
        '''),
        Valid('''
            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))

            def downgrade():
                op.drop_column("users", "email")
        '''),
        Valid('''
            def upgrade():
                op.drop_column("users", "email")  # migls: ignore[MG401] -- unused since 4.2
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.drop_column("users", "email")
        ''', range=(2, 29, 2, 36),
            message="drops users.email, which the previous release still selects"),
        Invalid('''
            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_column(column_name="email")
        ''', range=(3, 30, 3, 49), message="users.email"),
        Invalid('''
            def upgrade():
                pass

            def downgrade():
                op.drop_column("users", "email")
        ''', settings={"lint-downgrade": True}, range=(5, 29, 5, 36)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        added: set[tuple[str, str, str | None]] = set()  # (function, column, table)
        for site in op_sites(ctx, file):
            op = site.op
            if op.name == "add_column" and op.columns and op.columns[0].name is not None:
                added.add((site.function, op.columns[0].name, op.table))
            if op.name != "drop_column" or op.table in site.new_tables:
                continue
            column = op.literal("column_name")
            if isinstance(column, str) and (site.function, column, op.table) in added:
                continue
            name = column if isinstance(column, str) else "a column"
            where = f"{op.table}.{name}" if op.table and isinstance(column, str) else name
            arg = op.arg("column_name")
            yield (file, arg.span if arg is not None else op.span,
                   f"drops {where}, which the previous release still selects while it runs "
                   "during the deploy, so its queries fail; drop it in a later release, after "
                   "the code stops using it")
