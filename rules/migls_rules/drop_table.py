"""MG402 drop-table."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import op_sites, unnamed_table


class DropTable(LintRule):
    """``drop_table`` of a table not created in this revision: the previous release still
    uses it during a rolling deploy.

    **Why**: while the migration runs, and until the last process of the previous release is
    replaced, that release keeps serving, and every query it makes on the table (a model
    still mapped to it, a relationship loading through it) fails with "relation ... does not
    exist"; rolling the code back no longer helps, and the rows are gone. This holds on every
    database. Reported on the table-name argument. Not reported: a table created earlier in
    the same revision (a scratch table nobody else can see), ``downgrade()`` unless
    ``lint-downgrade = true``. ``DROP TABLE`` in ``op.execute`` SQL is MG313's.

    **Safe alternative** (expand/contract): remove every use of the table from the code in
    one release, drop it in the next:

    ```python
    # Release N: the code no longer maps or queries the audit table.
    # Release N+1, once no running code uses it:
    def upgrade():
        op.drop_table("audit")  # migls: ignore[MG402] -- unused since release N
    ```

    **Fix**: ship the code that no longer uses the table first; drop it in a revision of a
    later release, and say so in a suppression comment with the reason.
    """

    CODE = "MG402"
    NAME = "drop-table"
    SEVERITY = Severity.WARNING
    SUMMARY = "`drop_table` of a table not created in this revision"
    VALID = [
        Valid('''
            def upgrade():
                op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))
                op.execute("INSERT INTO scratch (id) SELECT id FROM users")
                op.drop_table("scratch")
        '''),
        Valid('''
            def upgrade():
                op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True))

            def downgrade():
                op.drop_table("audit")
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.drop_table("audit")
        ''', range=(2, 19, 2, 26), message="drops table audit"),
        Invalid('''
            def upgrade():
                op.drop_table(table_name="audit", schema="archive")
        ''', range=(2, 19, 2, 37), message="archive.audit"),
        Invalid('''
            table_name = "audit"

            def upgrade():
                op.drop_table(table_name)
        ''', range=(4, 19, 4, 29), message="drops the table named by `table_name`, which"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        for site in op_sites(ctx, file):
            op = site.op
            if op.name != "drop_table" or op.table in site.new_tables:
                continue
            schema = op.literal("schema")
            if op.table is None:
                what = unnamed_table(op, "table_name")
            else:
                what = "table " + (f"{schema}.{op.table}" if isinstance(schema, str) else op.table)
            arg = op.arg("table_name")
            yield (file, arg.span if arg is not None else op.span,
                   f"drops {what}, which the previous release still queries while it "
                   "runs during the deploy, so its queries fail; drop it in a later release, "
                   "after the code stops using it")
