"""MG404 rename-table."""

from __future__ import annotations

import re
from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import op_sites, unnamed_table

#: ``CREATE [OR REPLACE] VIEW name``: the compatibility view that keeps the old name working.
_CREATE_VIEW = re.compile(
    r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*"  # leading comments
    r"CREATE\s+(?:OR\s+(?:REPLACE|ALTER)\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?:[\w\"`\[\]]+\s*\.\s*)?[\"`\[]?(?P<name>\w+)", re.IGNORECASE | re.DOTALL)


class RenameTable(LintRule):
    """``rename_table`` of a table that the previous release still uses during a rolling
    deploy.

    **Why**: the rename itself is instant, but while the migration runs, and until the last
    process of the previous release is replaced, that release keeps querying the old name and
    fails with "relation ... does not exist"; the new release, if deployed first, fails the
    same way on the new name. This holds on every database. Reported on the
    ``new_table_name`` argument. Not reported: a table created earlier in the same revision;
    a rename followed in the same revision by a view with the old name (``CREATE VIEW old AS
    SELECT * FROM new``), which keeps the old name working; ``downgrade()`` unless
    ``lint-downgrade = true``. ``ALTER TABLE ... RENAME TO`` in ``op.execute`` SQL is MG313's.

    **Safe alternative**: rename and leave a compatibility view under the old name in the
    same revision. Simple views are updatable on PostgreSQL, MySQL and SQL Server, so the
    previous release keeps reading and writing through it (on PostgreSQL 15, an ``INSERT ...
    RETURNING`` through the view gets the table's defaults and serial ids). SQLite's views
    are read-only: there, copy the table instead. Drop the view once no running code uses
    the old name:

    ```python
    def upgrade():
        op.rename_table("users", "accounts")
        op.execute("CREATE VIEW users AS SELECT * FROM accounts")

    # A later release, once no running code uses the name users:
    def upgrade():
        op.execute("DROP VIEW users")
    ```

    **Fix**: add the compatibility view after the rename, or rename in expand/contract steps
    (new table, write both, backfill, switch reads, drop the old table).
    """

    CODE = "MG404"
    NAME = "rename-table"
    SEVERITY = Severity.WARNING
    SUMMARY = "`rename_table` of a table the running release uses"
    VALID = [
        Valid('''
            def upgrade():
                op.rename_table("users", "accounts")
                op.execute("CREATE VIEW users AS SELECT * FROM accounts")
        '''),
        Valid('''
            def upgrade():
                op.create_table("accounts_new", sa.Column("id", sa.Integer(), primary_key=True))
                op.rename_table("accounts_new", "accounts")
        '''),
        Valid('''
            def upgrade():
                op.execute("DROP VIEW users")

            def downgrade():
                op.rename_table("accounts", "users")
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.rename_table("users", "accounts")
        ''', range=(2, 30, 2, 40), message="renames table users to accounts"),
        Invalid('''
            def upgrade():
                op.rename_table("users", "accounts")
                op.execute("CREATE VIEW users_v AS SELECT * FROM accounts")
        ''', range=(2, 30, 2, 40), message="users"),
        Invalid('''
            def upgrade():
                op.rename_table(OLD_NAME, "accounts")
        ''', range=(2, 31, 2, 41),
            message="renames the table named by `OLD_NAME` to accounts: the previous release"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        sites = list(op_sites(ctx, file))
        for index, site in enumerate(sites):
            op = site.op
            if op.name != "rename_table" or op.table in site.new_tables:
                continue
            if op.table is not None and any(
                    later.function == site.function and _creates_view(later.op.sql, op.table)
                    for later in sites[index + 1:]):
                continue
            new = op.literal("new_table_name")
            renamed = f" to {new}" if isinstance(new, str) else ""
            arg = op.arg("new_table_name")
            if op.table is None:
                message = (f"renames {unnamed_table(op, 'old_table_name')}{renamed}: the "
                           "previous release, still running during the deploy, queries it by "
                           "its old name and fails; keep a view with the old name until the "
                           "code stops using it")
            else:
                message = (f"renames table {op.table}{renamed}: the previous release, still "
                           f"running during the deploy, queries {op.table} and fails; keep a "
                           f"view named {op.table} until the code stops using it")
            yield (file, arg.span if arg is not None else op.span, message)


def _creates_view(sql: str | None, name: str) -> bool:
    """Whether ``sql`` creates a view called ``name`` (in any of its statements)."""
    if not sql:
        return False
    for statement in sql.split(";"):
        match = _CREATE_VIEW.match(statement)
        if match is not None and match.group("name").lower() == name.lower():
            return True
    return False
