"""MG105 unknown-dependency."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class UnknownDependency(LintRule):
    """``depends_on`` names a revision or branch label that does not exist.

    **Why**: Alembic resolves ``depends_on`` through revision ids and branch labels when it
    loads the history, and fails with a ``KeyError`` on every command when one is missing.

    **Fix**: name an existing revision id or branch label, or remove the dependency.
    """

    CODE = "MG105"
    NAME = "unknown-dependency"
    SEVERITY = Severity.ERROR
    SUMMARY = "`depends_on` names a revision or label that does not exist"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\nbranch_labels = ("core",)\n',
        "0002_p.py": 'revision = "p2"\ndown_revision = None\nbranch_labels = ("plugin",)\ndepends_on = "core"\n',
    })]
    INVALID = [Invalid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\nbranch_labels = ("core",)\n',
        "0002_p.py": 'revision = "p2"\ndown_revision = None\nbranch_labels = ("plugin",)\ndepends_on = ("a1", "cor")\n',
    }, path="0002_p.py", range=(4, 21, 4, 26))]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if any(f.revision_id is None for f in ctx.graph.unreadable):
            return
        for source, name in ctx.graph.unknown_dependencies:
            if source is file:
                yield (file, file.metadata["depends_on"].span_of(name),
                       f"depends_on names '{name}', which is neither a revision nor a branch label")
