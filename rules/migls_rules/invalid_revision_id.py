"""MG107 invalid-revision-id."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span

#: Alembic's ``_revision_illegal_chars``: they collide with its ``label@rev`` and ``+1``
#: syntax.
ILLEGAL = "@-+:"


class InvalidRevisionId(LintRule):
    """A revision id that is empty or contains a character Alembic forbids (``@ - + :``).

    **Why**: Alembic raises "Character(s) '-' not allowed in revision identifier" when it
    loads the history; those characters are its syntax for ``branch@rev`` and relative
    revisions such as ``head-1``.

    **Fix**: use letters, digits and underscores.
    """

    CODE = "MG107"
    NAME = "invalid-revision-id"
    SEVERITY = Severity.ERROR
    SUMMARY = "a revision id that is empty or has `@ - + :`"
    VALID = [Valid('revision = "2024_01_add_users"\ndown_revision = None\n')]
    INVALID = [
        Invalid('revision = "add-users"\ndown_revision = None\n', range=(1, 12, 1, 23)),
        Invalid('revision = ""\ndown_revision = None\n', range=(1, 12, 1, 14), message="empty"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        rev = file.revision_id
        if rev is None:
            return
        span = file.metadata["revision"].span
        if not rev.strip():
            yield file, span, "the revision id is empty"
            return
        bad = sorted(set(rev) & set(ILLEGAL))
        if bad:
            chars = " ".join(f"'{c}'" for c in bad)
            yield file, span, f"revision id '{rev}' contains {chars}, which Alembic does not allow"
