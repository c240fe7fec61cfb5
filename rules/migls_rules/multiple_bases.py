"""MG110 multiple-bases."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Edit, Fix
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
    }, path="0003_x.py", range=(2, 17, 2, 21), message="'a1'", fixed='''
        revision = "x3"
        down_revision = "b2"
    ''')]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: the revision now runs after the whole main history, which may not be what
        # it was written for.
        graph = ctx.graph
        analysis = analyse_branches(graph)
        value = file.metadata.get("down_revision")
        base = file.revision_id
        if (analysis.main_base is None or value is None or value.kind != "none"
                or value.span != span or base is None or base not in analysis.accidental_bases):
            return None
        main = graph.descendants([analysis.main_base])
        own = graph.descendants([base])
        heads = [h for h in graph.heads
                 if h in main and h not in own and not graph.inherited_labels.get(h)]
        if len(heads) != 1:
            return None  # no single current head to follow
        revision = file.metadata.get("revision")
        quote = "'" if revision is not None and file.source is not None and file.source.text.split(
            "\n")[revision.span.line - 1][revision.span.column:].startswith("'") else '"'
        return Fix(f"Set down_revision to the current head '{heads[0]}'", False,
                   (Edit(span, f"{quote}{heads[0]}{quote}"),))

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
