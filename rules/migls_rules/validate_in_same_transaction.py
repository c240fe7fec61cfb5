"""MG315 validate-in-same-transaction."""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator

from migls.fixes import (
    Edit,
    Fix,
    indent_unit,
    line_indent,
    own_statement,
    python_string,
    wrap_in_autocommit_block,
)
from migls.model import RevisionFile
from migls.ops import Operation
from migls.rule import Context, Finding, Invalid, LintRule, Severity, Valid
from migls.rulekit import is_postgresql, op_sites
from migls.span import Span
from migls.sql import (
    Statement,
    not_valid_constraint,
    span_in_file,
    statements,
    validated_constraint,
)


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

    **Fix** (unsafe): the ``op.execute`` of the ``VALIDATE CONSTRAINT`` is wrapped in
    ``op.get_context().autocommit_block()``, which commits the ADD first; a literal holding
    several statements is split so that only the VALIDATE runs in the block (the statements
    before it stay before, those after it run after it, in a new transaction). Unsafe because
    the ADD and everything before it are committed before the scan: rows that break the
    constraint now fail the upgrade with the constraint left ``NOT VALID``. The next revision
    is the other place for the VALIDATE; that move is left to you.
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
        ''', range=(4, 17, 4, 70), message="fk_orders_user", fixed='''
            def upgrade():
                op.create_foreign_key("fk_orders_user", "orders", "users", ["user_id"], ["id"],
                                      postgresql_not_valid=True)
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE orders VALIDATE CONSTRAINT fk_orders_user")
        '''),
        Invalid('''
            def upgrade():
                op.execute("ALTER TABLE t ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID;"
                           " ALTER TABLE t VALIDATE CONSTRAINT ck_n")
        ''', range=(3, 18, 3, 56), fixed='''
            def upgrade():
                op.execute("ALTER TABLE t ADD CONSTRAINT ck_n CHECK (n > 0) NOT VALID")
                with op.get_context().autocommit_block():
                    op.execute("ALTER TABLE t VALIDATE CONSTRAINT ck_n")
        '''),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: the ADD (and everything before it) is committed before the VALIDATE runs,
        # so rows that violate the constraint now fail the upgrade after the constraint
        # exists NOT VALID, and what follows the block runs in a new transaction.
        found = self._validate_at(ctx, file, span)
        if found is None or file.source is None or "op." not in file.source.text:
            return None
        op, parsed, index = found
        title = "Run the VALIDATE CONSTRAINT in op.get_context().autocommit_block()"
        if len(parsed) == 1:
            edit = wrap_in_autocommit_block(file, op.span)
            return Fix(title, False, (edit,)) if edit else None
        edit = _split_out(file, op, parsed, index)
        return Fix(title, False, (edit,)) if edit else None

    def _validate_at(self, ctx: Context, file: RevisionFile, span: Span
                     ) -> tuple[Operation, tuple[Statement, ...], int] | None:
        """The plain ``op.execute`` statement holding the reported VALIDATE, its SQL
        statements, and which one the VALIDATE is."""
        for site in op_sites(ctx, file):
            op = site.op
            if op.name != "execute" or op.batch or op.autocommit or own_statement(file, op) is None:
                continue
            parsed = statements(op)
            for index, statement in enumerate(parsed):
                if span_in_file(op, statement.start, statement.end) == span:
                    return op, parsed, index
        return None

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


def _split_out(file: RevisionFile, op: Operation, parsed: tuple[Statement, ...],
               index: int) -> Edit | None:
    """One ``op.execute`` of several statements rewritten as three: the statements before the
    VALIDATE, the VALIDATE in ``autocommit_block()``, the statements after it (each only when
    there is one). Only for ``op.execute("...")`` / ``op.execute(sa.text("..."))`` with
    nothing else in the call."""
    assert file.source is not None and op.sql is not None
    sql, argument = op.sql, op.arg("sqltext")
    if argument is None or len(op.args) != 1 or op.rest:
        return None
    if argument.call_name is None:
        wrapper = "{}"
    elif argument.call_name == "text" and len(argument.call_args) == 1 and not argument.call_kwargs:
        wrapper = argument.code[:argument.code.index("(") + 1] + "{})"
    else:
        return None
    lines = file.source.text.split("\n")
    first, last = op.span.line, op.span.end_line
    call = lines[first - 1][op.span.column:]
    callee = call[:call.index("(")] if "(" in call else ""
    if not callee.endswith("execute"):
        return None
    indent, step = line_indent(lines[first - 1]), indent_unit(lines)

    def execute(part: tuple[Statement, ...], prefix: str) -> str:
        text = sql[part[0].start:part[-1].end]
        return f"{prefix}{callee}({wrapper.format(python_string(text))})"

    trailing = lines[last - 1][op.span.end_column:]
    if _has_comment("\n".join(lines[first - 1:last])[:-len(trailing) or None]):
        return None  # a comment between the pieces of the literal: it has no place to go
    before, validate, after = parsed[:index], parsed[index:index + 1], parsed[index + 1:]
    out = [execute(before, indent)] if before else []
    out += [f"{indent}with op.get_context().autocommit_block():", execute(validate, indent + step)]
    out += [execute(after, indent)] if after else []
    return Edit(Span(first, 0, last, len(lines[last - 1])), "\n".join(out) + trailing)


def _has_comment(code: str) -> bool:
    """Whether Python code holds a comment (``#`` inside a string is not one)."""
    try:
        return any(token.type == tokenize.COMMENT
                   for token in tokenize.generate_tokens(io.StringIO(code.lstrip()).readline))
    except (tokenize.TokenError, SyntaxError):
        return True
