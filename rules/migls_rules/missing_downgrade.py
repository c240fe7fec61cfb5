"""MG201 missing-downgrade."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class MissingDowngrade(LintRule):
    """A revision with ``upgrade()`` but no ``downgrade()`` function.

    **Why**: ``alembic downgrade`` past this revision fails with an ``AttributeError``, in
    the middle of a rollback. Projects that never downgrade set ``downgrade = "optional"``,
    which turns this rule off.

    **Fix**: write the inverse of ``upgrade()``, or a ``downgrade()`` that raises to say the
    revision is irreversible.
    """

    CODE = "MG201"
    NAME = "missing-downgrade"
    SEVERITY = Severity.WARNING
    SUMMARY = "no `downgrade()` function"
    VALID = [
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))

            def downgrade():
                op.drop_column("users", "email")
        '''),
        Valid('''
            revision = "a1"
            down_revision = None

            def upgrade():
                op.add_column("users", sa.Column("email", sa.Text()))
        ''', settings={"downgrade": "optional"}),
    ]
    INVALID = [Invalid('''
        revision = "a1"
        down_revision = None

        def upgrade():
            op.add_column("users", sa.Column("email", sa.Text()))
    ''', range=(4, 5, 4, 12))]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if file.upgrade is not None and file.downgrade is None:
            yield (file, file.upgrade.name_span,
                   "no downgrade() function: `alembic downgrade` past this revision fails")
