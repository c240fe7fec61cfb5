"""MG305 foreign-key-without-not-valid."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix, not_valid_then_validate_fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span
from migls_rules._locks_a_kit import UNKNOWN, earlier_lock, name_of, sites, table_of


class ForeignKeyWithoutNotValid(LintRule):
    """``create_foreign_key`` on an existing table without ``postgresql_not_valid=True``, and
    the foreign key that ``add_column(sa.Column(..., sa.ForeignKey(...)))`` adds.

    **Why**: adding a foreign key validates it by scanning the whole referencing table while
    SHARE ROW EXCLUSIVE is held on **both** tables: writes to the table and to the referenced
    table are blocked for the scan (measured: 0.2 s at 2M rows, growing with the table).
    When an earlier operation of the same transaction holds ACCESS EXCLUSIVE on the table,
    reads are blocked for the scan too. That is always the case for ``sa.ForeignKey`` in
    ``add_column``: Alembic emits ``ADD COLUMN`` and then a separate ``ADD FOREIGN KEY``, whose
    scan runs while the ADD COLUMN's ACCESS EXCLUSIVE lock is held, even though the new
    column is empty. ``NOT VALID`` takes the same locks but skips the scan (about 1 ms);
    ``VALIDATE CONSTRAINT`` then scans under SHARE UPDATE EXCLUSIVE on the table and ROW
    SHARE on the referenced table, blocking neither reads nor writes. Foreign keys of tables
    created earlier in the same revision are not reported.

    **Safe alternative**: add the constraint ``NOT VALID``, then validate it in a separate
    transaction (an ``autocommit_block()``, or the next revision), so the short lock of the
    ADD is released before the scan starts:

    ```python
    op.add_column("orders", sa.Column("customer_id", sa.Integer(), nullable=True))
    op.create_foreign_key("fk_orders_customer", "orders", "customers",
                          ["customer_id"], ["id"], postgresql_not_valid=True)
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
    ```

    **Fix**: add ``postgresql_not_valid=True`` (for ``add_column``: drop the ``sa.ForeignKey``
    and call ``create_foreign_key`` as above) and validate in a separate step.
    """

    CODE = "MG305"
    NAME = "foreign-key-without-not-valid"
    SEVERITY = Severity.WARNING
    SUMMARY = ("`create_foreign_key` on an existing table without `postgresql_not_valid=True`: "
               "scans the table while writes to both tables are blocked")
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_foreign_key("fk_orders_customer", "orders", "customers",
                                      ["customer_id"], ["id"], postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_table("invoices", sa.Column("order_id", sa.Integer()))
                op.create_foreign_key("fk_invoices_order", "invoices", "orders",
                                      ["order_id"], ["id"])
                op.add_column("invoices", sa.Column("customer_id", sa.Integer(),
                                                    sa.ForeignKey("customers.id")))
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_constraint("fk_orders_customer", "orders", type_="foreignkey")

            def downgrade():
                op.create_foreign_key("fk_orders_customer", "orders", "customers",
                                      ["customer_id"], ["id"])
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_foreign_key("fk_orders_customer", "orders", "customers",
                                      ["customer_id"], ["id"])
        ''', range=(5, 5, 6, 51),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_foreign_key("fk_orders_customer", "orders", "customers",
                                      ["customer_id"], ["id"], postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
        ''', message="writes to orders and customers are blocked"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_foreign_key(op.f("fk_orders_customer"), "orders", "customers",
                                      ["customer_id"], ["id"])
        ''', range=(5, 5, 6, 51),
        fixed='''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.create_foreign_key(op.f("fk_orders_customer"), "orders", "customers",
                                      ["customer_id"], ["id"], postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_customer")
        ''', message="foreign key fk_orders_customer"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("orders", sa.Column("customer_id", sa.Integer(),
                                                  sa.ForeignKey("customers.id")))
        ''', range=(6, 39, 6, 68), message="reads and writes of orders"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("orders", sa.Column("customer_id", sa.Integer(), nullable=True))
                op.create_foreign_key(None, "orders", "customers", ["customer_id"], ["id"])
        ''', range=(6, 5, 6, 80), message="earlier add_column"),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("orders") as batch_op:
                    batch_op.create_foreign_key("fk_orders_customer", "customers",
                                                ["customer_id"], ["id"])
        ''', range=(6, 9, 7, 61)),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: rows that violate the constraint now fail the VALIDATE step, after the ADD
        # has been committed.
        return not_valid_then_validate_fix(file, span, "create_foreign_key")

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        all_sites = sites(ctx, file)
        for site in all_sites:
            op = site.op
            if not site.on_existing_table:
                continue
            table = table_of(op)
            if op.name == "create_foreign_key" and op.literal("postgresql_not_valid", False) is False:
                name = name_of(op.arg("constraint_name"), "")
                fk = f"foreign key {name}" if name else "the foreign key"
                referent = name_of(op.arg("referent_table"), "the referenced table")
                held = earlier_lock(all_sites, site)
                if held is not None and held != UNKNOWN:
                    yield (file, op.span,
                           (f"{fk} is validated by scanning {table} while the ACCESS EXCLUSIVE "
                            f"lock of the earlier {held} on {table} is still held: reads and "
                            f"writes of {table}, and writes to {referent}, are blocked for the "
                            "scan; add it with postgresql_not_valid=True and VALIDATE it "
                            "separately"))
                else:
                    yield (file, op.span,
                           (f"{fk} is validated by scanning {table} under SHARE ROW EXCLUSIVE on "
                            f"{table} and {referent}: writes to {table} and {referent} are "
                            "blocked for the scan; add it with postgresql_not_valid=True and "
                            "VALIDATE it separately"))
            elif op.name == "add_column" and op.columns:
                column = op.columns[0]
                for target, span in zip(column.foreign_keys, column.foreign_key_spans):
                    referent = target.rsplit(".", 1)[0] if "." in target else "the referenced table"
                    yield (file, span,
                           (f"the foreign key {table}.{column.name or '?'} -> {target} is added "
                            f"after ADD COLUMN and validated by scanning {table} while ADD "
                            f"COLUMN's ACCESS EXCLUSIVE lock is held: reads and writes of {table}, "
                            f"and writes to {referent}, are blocked for the scan"))
