"""MG102 duplicate-revision-id."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class DuplicateRevisionId(LintRule):
    """Two files declare the same ``revision``.

    **Why**: Alembic only warns ("Revision x is present more than once") and silently keeps
    one of the files; the other one's operations never run. It usually comes from copying a
    revision file as a starting point.

    **Fix**: give the newer file a fresh id (``uuid.uuid4().hex[-12:]``) and re-point its
    children.
    """

    CODE = "MG102"
    NAME = "duplicate-revision-id"
    SEVERITY = Severity.ERROR
    SUMMARY = "two files declare the same `revision`"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
        "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
    })]
    INVALID = [
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
            "0003_c.py": 'revision = "b2"\ndown_revision = "a1"\n',
        }, path="0003_c.py", range=(1, 12, 1, 16), message="also declared in 0002_b.py"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        rev = file.revision_id
        if rev is None:
            return
        files = ctx.graph.files_by_id.get(rev, [])
        if len(files) > 1:
            others = ", ".join(f.path.rsplit("/", 1)[-1] for f in files if f is not file)
            yield (file, file.metadata["revision"].span,
                   f"revision id '{rev}' is also declared in {others}; Alembic keeps only one")
