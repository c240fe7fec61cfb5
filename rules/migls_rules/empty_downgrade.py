"""MG202 empty-downgrade."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class EmptyDowngrade(LintRule):
    """``downgrade()`` does nothing (``pass``, ``...`` or a docstring) while ``upgrade()``
    changes the schema.

    **Why**: ``alembic downgrade`` reports success and moves the version table back while
    the schema stays as it was; the next ``upgrade`` then fails on objects that already
    exist. A data-only upgrade is not reported, nor a ``downgrade()`` that raises (an
    explicit "irreversible").

    **Fix**: write the inverse of ``upgrade()``, or ``raise NotImplementedError`` with the
    reason.
    """

    CODE = "MG202"
    NAME = "empty-downgrade"
    SEVERITY = Severity.WARNING
    SUMMARY = "`downgrade()` is empty while `upgrade()` changes the schema"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.execute("UPDATE users SET active = true")

            def downgrade():
                pass
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.drop_table("audit")

            def downgrade():
                raise RuntimeError("irreversible: the audit rows are gone")
        '''),
    ]
    INVALID = [
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))

            def downgrade():
                pass
        ''', range=(7, 5, 7, 14)),
        Invalid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                with op.batch_alter_table("users") as batch_op:
                    batch_op.drop_column("email")

            def downgrade():
                """Nothing to do."""
        ''', range=(8, 5, 8, 14)),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        upgrade, downgrade = file.upgrade, file.downgrade
        if upgrade is None or downgrade is None or downgrade.body != "empty":
            return
        if upgrade.changes_schema():
            yield (file, downgrade.name_span,
                   "downgrade() does nothing although upgrade() changes the schema")
