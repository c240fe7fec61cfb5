"""MG311 enum-add-value-in-transaction."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix, autocommit_fix
from migls.model import RevisionFile
from migls.span import Span
from migls.ops import Operation
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, op_sites
from migls.sql import enum_new_value, span_in_file, statements


class EnumAddValueInTransaction(LintRule):
    """``ALTER TYPE ... ADD VALUE`` inside the migration's transaction.

    **Why**: before PostgreSQL 12 the statement cannot run inside a transaction block at all
    (error). From 12 on it runs, holding only a lock on the type (it blocks no reads or writes
    of the tables using it), but the new value cannot be used until the transaction commits:
    using it in the same revision fails with "unsafe use of new value" (SQLSTATE 55P04) —
    an error on any version. On 12+ without such a use it is reported as info only.

    **Safe alternative**:

    ```python
    def upgrade():
        with op.get_context().autocommit_block():
            op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        op.execute("UPDATE person SET mood = 'happy' WHERE mood IS NULL")
    ```

    **Fix**: wrap the ``ADD VALUE`` in ``op.get_context().autocommit_block()``, or use the
    value in a later revision.
    """

    CODE = "MG311"
    NAME = "enum-add-value-in-transaction"
    SEVERITY = Severity.ERROR
    SUMMARY = "`ALTER TYPE ... ADD VALUE` in a transaction (error before PG 12 or when used)"
    VALID = [Valid('''
        def upgrade():
            with op.get_context().autocommit_block():
                op.execute("ALTER TYPE mood ADD VALUE 'happy'")
            op.execute("UPDATE person SET mood = 'happy' WHERE mood IS NULL")
    ''')]
    INVALID = [
        Invalid('''
            def upgrade():
                op.execute("ALTER TYPE mood ADD VALUE 'happy'")
                op.execute("UPDATE person SET mood = 'happy' WHERE mood IS NULL")
        ''', range=(2, 17, 2, 50),
        fixed='''
            def upgrade():
                with op.get_context().autocommit_block():
                    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
                op.execute("UPDATE person SET mood = 'happy' WHERE mood IS NULL")
        ''', message="55P04"),
        Invalid('''
            def upgrade():
                op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        ''', settings={"postgres-version": 11}, range=(2, 17, 2, 50),
        fixed='''
            def upgrade():
                with op.get_context().autocommit_block():
                    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        ''', message="before PostgreSQL 12"),
        Invalid('''
            def upgrade():
                op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        ''', range=(2, 17, 2, 50),
        fixed='''
            def upgrade():
                with op.get_context().autocommit_block():
                    op.execute("ALTER TYPE mood ADD VALUE 'happy'")
        ''', message="cannot be used until"),
    ]

    FIX_SAFETY = "safe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        return autocommit_fix(file, span, "ALTER TYPE ... ADD VALUE")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        if not is_postgresql(ctx):
            return
        sites = list(op_sites(ctx, file))
        for position, site in enumerate(sites):
            if site.op.autocommit:
                continue
            for statement in statements(site.op):
                added = enum_new_value(statement)
                if added is None:
                    continue
                type_name, value = added
                span = span_in_file(site.op, statement.start, statement.end)
                used = False
                for later in sites[position + 1:]:
                    if later.function != site.function:
                        continue
                    if later.op.autocommit:
                        break  # autocommit_block() commits the ADD VALUE before what follows
                    if _uses(later.op, value):
                        used = True
                        break
                if used or statement.end < len(site.op.sql or "") and f"'{value}'" in (site.op.sql or "")[statement.end:]:
                    yield (file, span, f"'{value}' is added to {type_name} and used in the same "
                           "transaction: PostgreSQL rejects the use (55P04) until the ADD VALUE "
                           "commits", Severity.ERROR)
                elif ctx.settings.postgres_version < 12:
                    yield (file, span, f"ALTER TYPE {type_name} ADD VALUE cannot run inside a "
                           "transaction block before PostgreSQL 12", Severity.ERROR)
                else:
                    yield (file, span, f"'{value}' is added to {type_name} inside the migration's "
                           "transaction: it cannot be used until the revision commits",
                           Severity.INFO)


def _uses(op: Operation, value: str) -> bool:
    """Whether an operation writes the enum value: in SQL text, or in the rows (or any other
    argument) of ``bulk_insert`` and friends."""
    quoted = (f"'{value}'", f'"{value}"')
    if op.sql is not None:
        return quoted[0] in op.sql
    codes = [arg.code for arg in op.args.values()] + [arg.code for arg in op.rest]
    return any(q in code for code in codes for q in quoted)
