"""MG002 missing-revision-id."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class MissingRevisionId(LintRule):
    """A ``.py`` file in a versions directory without a module-level ``revision``.

    **Why**: Alembic treats every ``.py`` file of a versions directory (except
    ``__init__.py``) as a revision and refuses to load the history when one has no
    ``revision`` variable ("Could not determine revision id from filename").

    **Fix**: add the revision identifiers, or move helper modules out of the versions
    directory.
    """

    CODE = "MG002"
    NAME = "missing-revision-id"
    SEVERITY = Severity.ERROR
    SUMMARY = "a file in a versions directory with no module-level `revision`"
    VALID = [Valid('''
        """Add a table."""
        revision = "a1"
        down_revision = None
    ''')]
    INVALID = [Invalid('''
        """Shared helpers."""
        def helper():
            return 1
    ''', range=(1, 1, 1, 1))]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if file.syntax_error is None and "revision" not in file.metadata:
            yield (file, Span.point(1), "no module-level `revision`: Alembic cannot load this "
                   "file as a revision")
