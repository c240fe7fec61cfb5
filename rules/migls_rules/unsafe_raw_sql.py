"""MG313 unsafe-raw-sql."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import OpSite, is_postgresql, op_sites
from migls.sql import checks, created_table, span_in_file, statements, takes_access_exclusive
from migls_rules._locks_a_kit import UNKNOWN, access_exclusive_by


class UnsafeRawSql(LintRule):
    """The MG3/MG4 checks applied to SQL in a string literal given to ``op.execute``.

    **Why**: SQL written by hand takes the same locks as the operations Alembic renders:
    ``CREATE INDEX`` without ``CONCURRENTLY`` takes SHARE on the table (blocks writes for the
    whole build), ``ADD CONSTRAINT ... FOREIGN KEY`` without ``NOT VALID`` scans the table
    while writes to both tables are blocked, ``SET NOT NULL`` scans under ACCESS EXCLUSIVE,
    and so on — see the rule each message names. migls parses the literal with PostgreSQL's
    own parser (libpg_query, through pglast), statement by statement, and points at the
    statement inside the literal. SQL that PostgreSQL's parser rejects (templates, another
    dialect) is not judged.

    **Safe alternative**: the one on the page of the rule named in the message, e.g.

    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY ix_users_email ON users (email)")
    ```

    **Fix**: rewrite the statement as the named rule's page shows.
    """

    CODE = "MG313"
    NAME = "unsafe-raw-sql"
    SEVERITY = Severity.WARNING
    SUMMARY = "an MG3/MG4 check failed by SQL in an `op.execute` literal"
    VALID = [
        Valid('''
            def upgrade():
                with op.get_context().autocommit_block():
                    op.execute("CREATE INDEX CONCURRENTLY ix_users_email ON users (email)")
        '''),
        Valid('''
            def upgrade():
                op.execute("CREATE TABLE audit (id int, at timestamptz)")
                op.execute("CREATE INDEX ix_audit_at ON audit (at)")
        '''),
        Valid('''
            def upgrade():
                op.execute("UPDATE users SET active = true WHERE active IS NULL")
        '''),
        Valid('''
            def upgrade():
                if op.get_context().dialect.name == "mysql":
                    op.execute("CREATE INDEX ix_users_email ON users (email)")
                else:
                    with op.get_context().autocommit_block():
                        op.execute("CREATE INDEX CONCURRENTLY ix_users_email ON users (email)")
        '''),
    ]
    INVALID = [
        Invalid('''
            def upgrade():
                op.execute(
                    "ALTER TABLE users ADD COLUMN note text;"
                    " CREATE INDEX ix_users_note ON users (note)"
                )
        ''', range=(4, 11, 4, 53), message="CREATE INDEX on users without CONCURRENTLY"),
        Invalid('''
            def upgrade():
                op.execute(sa.text("""
                    ALTER TABLE orders
                        ADD CONSTRAINT fk_orders_user FOREIGN KEY (user_id) REFERENCES users (id)
                """))
        ''', range=(3, 9, 4, 86), message="(MG305)"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        if not is_postgresql(ctx):
            return
        created: set[str] = set()
        sites = list(op_sites(ctx, file))
        for position, site in enumerate(sites):
            held: set[str] = set()
            for statement in statements(site.op):
                new_tables = frozenset(site.new_tables | created)
                table = getattr(getattr(statement.node, "relation", None), "relname", None)
                if table and table not in held and _held_before(sites, position, str(table)):
                    held.add(str(table))
                for check in checks(statement, new_tables, site.op.autocommit,
                                    ctx.settings.postgres_version, frozenset(held)):
                    span = span_in_file(site.op, statement.start, statement.end)
                    yield file, span, f"{check.what} ({check.code})"
                locked = takes_access_exclusive(statement, frozenset())
                if locked and not site.op.autocommit:
                    held.add(locked)
                name = created_table(statement)
                if name:
                    created.add(name)


def _held_before(sites: Sequence[OpSite], position: int, table: str) -> bool:
    """Whether an earlier operation of the same transaction still holds ACCESS EXCLUSIVE on
    ``table`` (locks last until COMMIT; ``autocommit_block()`` ends the transaction)."""
    site = sites[position]
    if site.op.autocommit:
        return False
    for earlier in reversed(sites[:position]):
        if earlier.function != site.function:
            continue
        if earlier.op.autocommit:
            return False
        held = access_exclusive_by(earlier.op, table)
        if held is not None and held != UNKNOWN:
            return True
    return False
