"""MG315 validate-in-same-transaction."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, op_sites
from migls.sql import not_valid_constraint, span_in_file, statements, validated_constraint


class ValidateInSameTransaction(LintRule):
    """``VALIDATE CONSTRAINT`` in the same transaction as the ``NOT VALID`` constraint it
    validates.

    **Why**: the two-step form exists so the long scan runs without the strong lock:
    ``ADD CONSTRAINT ... NOT VALID`` takes its lock only briefly (ACCESS EXCLUSIVE for a
    CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key), and ``VALIDATE CONSTRAINT``
    then scans under SHARE UPDATE EXCLUSIVE, which blocks neither reads nor writes. In one
    transaction the first lock is still held during the scan, so the split gains nothing.

    **Safe alternative**:

    ```python
    def upgrade():
        op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                              postgresql_not_valid=True)
        with op.get_context().autocommit_block():
            op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
    ```

    **Fix**: move the ``VALIDATE CONSTRAINT`` into ``autocommit_block()`` or the next revision.
    """

    CODE = "MG315"
    NAME = "validate-in-same-transaction"
    SEVERITY = Severity.WARNING
    SUMMARY = "`VALIDATE CONSTRAINT` in the transaction that added it `NOT VALID`"
    VALID = [Valid('''
        def upgrade():
            op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                                  postgresql_not_valid=True)
            with op.get_context().autocommit_block():
                op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
    ''')]
    INVALID = [
        Invalid('''
            def upgrade():
                op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                                      postgresql_not_valid=True)
                op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
        ''', range=(4, 17, 4, 70), message="fk_orders_user"),
        Invalid('''
            def upgrade():
                op.execute("ALTER TABLE t ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID;"
                           " ALTER TABLE t VALIDATE CONSTRAINT ck_n")
        ''', range=(3, 18, 3, 56)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[Finding]:
        if not is_postgresql(ctx):
            return
        pending: set[tuple[str, str]] = set()  # NOT VALID constraints in the open transaction
        for site in op_sites(ctx, file):
            op = site.op
            if op.autocommit:
                continue
            if op.name in ("create_foreign_key", "create_check_constraint") and op.flag("postgresql_not_valid"):
                name = op.literal("constraint_name")
                if isinstance(name, str) and op.table:
                    pending.add((op.table, name))
            for statement in statements(op):
                added = not_valid_constraint(statement)
                if added is not None:
                    pending.add(added)
                validated = validated_constraint(statement)
                if validated is not None and validated in pending:
                    table, name = validated
                    yield (file, span_in_file(op, statement.start, statement.end),
                           f"{table}.{name} is validated in the transaction that added it NOT "
                           "VALID: the ADD's lock is still held during the validation scan")
