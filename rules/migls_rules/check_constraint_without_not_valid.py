"""MG306 check-constraint-without-not-valid."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix, not_valid_then_validate_fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import name_of, sites, table_of


class CheckConstraintWithoutNotValid(LintRule):
    """``create_check_constraint`` on an existing table without ``postgresql_not_valid=True``.

    **Why**: ``ADD CONSTRAINT ... CHECK`` takes ACCESS EXCLUSIVE on the table and validates
    the constraint by scanning every row under it: reads and writes are blocked for the whole
    scan (measured: about 0.1 s at 2M rows for ``n > 0``, growing with the table). With
    ``NOT VALID`` the ADD is catalog-only (about 1 ms, still ACCESS EXCLUSIVE, so set a
    ``lock_timeout``), and ``VALIDATE CONSTRAINT`` scans under SHARE UPDATE EXCLUSIVE, which
    blocks neither reads nor writes. Constraints of tables created earlier in the same
    revision are not reported.

    **Safe alternative**: add it ``NOT VALID``, then validate it in a separate transaction (an
    ``autocommit_block()`` or the next revision), so the ADD's lock is released first:

    ```python
    op.create_check_constraint("ck_orders_qty_positive", "orders", "qty > 0",
                               postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty_positive")
    ```

    **Fix**: add ``postgresql_not_valid=True`` and a ``VALIDATE CONSTRAINT`` step.
    """

    CODE = "MG306"
    NAME = "check-constraint-without-not-valid"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`create_check_constraint` on an existing table without "
               "`postgresql_not_valid=True`: scans the table under ACCESS EXCLUSIVE")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_orders_qty_positive", "orders", "qty > 0",
                                           postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty_positive")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("invoices", sa.Column("total", sa.Integer()))
                op.create_check_constraint("ck_invoices_total", "invoices", "total >= 0")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_constraint("ck_orders_qty_positive", "orders", type_="check")

            def downgrade():
                op.create_check_constraint("ck_orders_qty_positive", "orders", "qty > 0")
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_orders_qty_positive", "orders", "qty > 0")
        ''', range=(5, 5, 5, 78),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_check_constraint("ck_orders_qty_positive", "orders", "qty > 0", postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT ck_orders_qty_positive")
        ''', message="reads and writes of orders are blocked"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("orders") as batch_op:
                    batch_op.create_check_constraint("ck_orders_qty_positive",
                                                     sa.text("qty > 0"))
        ''', range=(6, 9, 7, 61), message="ck_orders_qty_positive"),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: rows that violate the constraint now fail the VALIDATE step, after the ADD
        # has been committed.
        return not_valid_then_validate_fix(file, span, "create_check_constraint")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        for site in sites(ctx, file):
            op = site.op
            if (op.name != "create_check_constraint" or not site.on_existing_table
                    or op.literal("postgresql_not_valid", False) is not False):
                continue
            table = table_of(op)
            name = name_of(op.arg("constraint_name"), "")
            check = f"CHECK constraint {name}" if name else "the CHECK constraint"
            yield (file, op.span,
                   (f"{check} is validated by scanning {table} under ACCESS EXCLUSIVE: reads and "
                    f"writes of {table} are blocked for the scan; add it with "
                    "postgresql_not_valid=True and VALIDATE it separately"))
