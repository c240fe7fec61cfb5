"""MG103 multiple-heads."""

from __future__ import annotations

from collections.abc import Iterator

from migls.graph import analyse_branches
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class MultipleHeads(LintRule):
    """More than one head on the same branch.

    **Why**: two branches of the code each added a revision on the same parent; after the
    merge ``alembic upgrade head`` fails with "Multiple head revisions are present". Heads
    on different labelled branches (expand/contract layouts, independent labelled histories)
    are deliberate and not reported. A head that only exists because of another fault (a
    missing parent, a revision created without a parent) is not reported either: the fault
    is.

    **Fix**: rebase the newer revision onto the other head (change its ``down_revision``), or
    create a merge revision (``alembic merge heads``).
    """

    CODE = "MG103"
    NAME = "multiple-heads"
    SEVERITY = Severity.ERROR
    SUMMARY = "more than one head on the same branch"
    VALID = [
        Valid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
            "0003_c.py": 'revision = "c3"\ndown_revision = "a1"\n',
            "0004_m.py": 'revision = "m4"\ndown_revision = ("b2", "c3")\n',
        }),
        Valid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_e.py": 'revision = "e2"\ndown_revision = "a1"\nbranch_labels = ("expand",)\n',
            "0003_c.py": 'revision = "c3"\ndown_revision = "a1"\nbranch_labels = ("contract",)\n',
        }),
    ]
    INVALID = [
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
            "0003_c.py": 'revision = "c3"\ndown_revision = "a1"\n',
        }, path="0003_c.py", range=(1, 12, 1, 16), message="'b2'"),
    ]

    def check_graph(self, ctx: Context) -> Iterator[tuple[RevisionFile, Span, str]]:
        analysis = analyse_branches(ctx.graph)
        if not analysis.complete:
            return
        for head, others in analysis.conflicting_heads.items():
            node = ctx.graph.nodes[head]
            labels = sorted(ctx.graph.inherited_labels[head])
            branch = f" of branch {', '.join(labels)}" if labels else ""
            names = ", ".join(f"'{o}'" for o in others)
            yield (node.file, node.file.metadata["revision"].span,
                   f"'{head}' is one of several heads{branch} (also {names}): "
                   "`alembic upgrade head` fails; rebase onto the other head or merge them")
