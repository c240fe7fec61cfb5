"""MG001 syntax-error."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class SyntaxErrorRule(LintRule):
    """A revision file that does not parse (or cannot be decoded).

    **Why**: Alembic imports every revision file when it loads the history, so one file
    that does not parse stops every ``alembic`` command, not only this revision. migls still
    reads the revision metadata it can recover from the file, so the rest of the graph keeps
    being checked.

    **Fix**: correct the syntax at the reported position.
    """

    CODE = "MG001"
    NAME = "syntax-error"
    SEVERITY = Severity.ERROR
    SUMMARY = "a revision file that does not parse"
    VALID = [Valid('''
        revision = "a1"
        down_revision = None

        def upgrade():
            pass

        def downgrade():
            pass
    ''')]
    INVALID = [Invalid('''
        revision = "a1"
        down_revision = None

        def upgrade(:
            pass
    ''', range=(4, 13, 4, 14))]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if file.syntax_error is not None:
            message, span = file.syntax_error
            yield file, span, f"syntax error: {message}"
