"""MG106 duplicate-branch-label."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class DuplicateBranchLabel(LintRule):
    """A branch label declared by two revisions.

    **Why**: Alembic refuses to load the history ("Branch name 'x' in revision b already
    used by revision a"). A label is declared once, on the first revision of its branch, and
    every later revision of the branch carries it automatically.

    **Fix**: remove the label from the later revision.
    """

    CODE = "MG106"
    NAME = "duplicate-branch-label"
    SEVERITY = Severity.ERROR
    SUMMARY = "a branch label declared by two revisions"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\nbranch_labels = ("core",)\n',
        "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
    })]
    INVALID = [
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\nbranch_labels = ("core",)\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\nbranch_labels = ["core"]\n',
        }, path="0002_b.py", range=(3, 18, 3, 24), message="already declared by revision 'a1'"),
        Invalid('revision = "a1"\ndown_revision = None\nbranch_labels = ("core", "core")\n',
                range=(3, 26, 3, 32), message="declared twice in this revision"),
    ]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        rev = file.revision_id
        if rev is None or ctx.graph.nodes.get(rev) is None or ctx.graph.nodes[rev].file is not file:
            return
        labels = ctx.graph.nodes[rev].labels
        if not labels:
            return
        value = file.metadata["branch_labels"]
        for index, label in enumerate(labels):
            owners = ctx.graph.label_owners.get(label, [])
            if label in labels[:index]:  # Alembic refuses this too ("already used by" itself)
                yield (file, value.item_spans[index],
                       f"branch label '{label}' is declared twice in this revision")
            elif len(owners) > 1 and owners[0] != rev:
                yield (file, value.span_of(label),
                       f"branch label '{label}' is already declared by revision '{owners[0]}'")
