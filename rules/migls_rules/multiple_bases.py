"""MG110 multiple-bases."""

from __future__ import annotations

from collections.abc import Iterator

from migls.graph import analyse_branches
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class MultipleBases(LintRule):
    """More than one base (``down_revision = None``) in one unlabelled history.

    **Why**: a revision file created by hand or copied from another project often keeps
    ``down_revision = None``; Alembic then sees a second, unrelated history, and the new
    revision is a second head as well. Several bases are deliberate only for independent
    branches with their own ``branch_labels``, which are not reported. The base with the most
    revisions after it is taken as the real one; the others are reported.

    **Fix**: set ``down_revision`` to the head the revision was meant to follow.
    """

    CODE = "MG110"
    NAME = "multiple-bases"
    SEVERITY = Severity.WARNING
    SUMMARY = "more than one base in one unlabelled history"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
        "0002_p.py": 'revision = "p2"\ndown_revision = None\nbranch_labels = ("plugin",)\n',
    })]
    INVALID = [Invalid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
        "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
        "0003_x.py": 'revision = "x3"\ndown_revision = None\n',
    }, path="0003_x.py", range=(2, 17, 2, 21), message="'a1'")]

    def check_graph(self, ctx: Context) -> Iterator[tuple[RevisionFile, Span, str]]:
        analysis = analyse_branches(ctx.graph)
        if not analysis.complete:
            return
        for base in analysis.accidental_bases:
            node = ctx.graph.nodes[base]
            value = node.file.metadata.get("down_revision")
            span = value.span if value is not None else node.file.metadata["revision"].span
            yield (node.file, span,
                   f"'{base}' is a second base of this history (the first is "
                   f"'{analysis.main_base}'): set down_revision to the revision it follows")
