"""MG108 docstring-mismatch."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Edit, Fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span

#: What the header says for a base revision, depending on the template that wrote it.
_NO_PARENT = {"", "None", "<base>"}


class DocstringMismatch(LintRule):
    """The header's ``Revision ID:`` / ``Revises:`` lines disagree with ``revision`` /
    ``down_revision``.

    **Why**: reviewers and ``alembic history`` readers trust the header; after a rebase that
    changed ``down_revision`` only, the header lies about where the revision sits.

    **Fix**: rewrite the header lines from the variables.
    """

    CODE = "MG108"
    NAME = "docstring-mismatch"
    SEVERITY = Severity.WARNING
    SUMMARY = "the header's `Revision ID:`/`Revises:` disagree with the variables"
    VALID = [Valid('''
        """Add users.

        Revision ID: b2
        Revises: a1, a0
        Create Date: 2024-01-01 00:00:00

        """
        revision = "b2"
        down_revision = ("a1", "a0")
    ''')]
    INVALID = [Invalid('''
        """Add users.

        Revision ID: b2
        Revises: a0
        Create Date: 2024-01-01 00:00:00

        """
        revision = "b2"
        down_revision = "a1"
    ''', range=(4, 10, 4, 12),
    fixed='''
        """Add users.

        Revision ID: b2
        Revises: a1
        Create Date: 2024-01-01 00:00:00

        """
        revision = "b2"
        down_revision = "a1"
    ''', message="down_revision is 'a1'")]

    FIX_SAFETY = "safe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        if file.docstring_id is not None and span == file.docstring_id.span and file.revision_id:
            return Fix("Rewrite the header's Revision ID", True, (Edit(span, file.revision_id),))
        parents = file.parents()
        if file.docstring_revises is not None and span == file.docstring_revises.span and parents is not None:
            return Fix("Rewrite the header's Revises line", True, (Edit(span, ", ".join(parents)),))
        return None

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        rev = file.revision_id
        header = file.docstring_id
        if rev is not None and header is not None and header.values != (rev,):
            said = ", ".join(header.values) or "nothing"
            yield (file, header.span,
                   f"the header says 'Revision ID: {said}' but revision is '{rev}'")
        parents = file.parents()
        revises = file.docstring_revises
        if parents is None or revises is None:
            return
        said_parents = {v for v in revises.values if v not in _NO_PARENT}
        if said_parents != set(parents):
            said = ", ".join(revises.values) or "nothing"
            actual = ", ".join(f"'{p}'" for p in parents) or "None"
            yield (file, revises.span,
                   f"the header says 'Revises: {said}' but down_revision is {actual}")
