"""MG103 multiple-heads."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Fix
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

    **Fix**: rebase the newer branch onto the other head (change its ``down_revision`` and
    the header's ``Revises:`` line; ``migls rebase REVISION --onto HEAD``), or create a merge
    revision (``migls merge``, or ``alembic merge heads``).

    **Fix safety**: unsafe (the revision then runs after the other head's). As ``git rebase``
    does, the branch created first stays and the later one moves: a branch's age is the
    ``Create Date`` of its first revision since the fork (when every branch has one), else
    its file path (date- or sequence-prefixed names sort by age). Only the head that moves
    gets the fix, so applying every fix never rebases two heads onto each other; with three
    or more heads each later branch moves onto the head of the one before it, and one run
    leaves a single chain. A branch of several revisions is moved at its first revision,
    which is another file: that is ``migls rebase``, not a fix of the head's line.
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
        }, path="0003_c.py", range=(1, 12, 1, 16), message="'b2'", fixed='''
            revision = "c3"
            down_revision = "b2"
        '''),
        # The older branch (by Create Date) stays: it is reported, with no fix.
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": '''
                """Add b.

                Revision ID: b2
                Revises: a1
                Create Date: 2024-03-02 10:00:00

                """
                revision = "b2"
                down_revision = "a1"
            ''',
            "0003_c.py": '''
                """Add c.

                Revision ID: c3
                Revises: a1
                Create Date: 2024-03-01 09:00:00

                """
                revision = 'c3'
                down_revision = 'a1'
            ''',
        }, path="0003_c.py", range=(8, 12, 8, 16), message="'b2'"),
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": '''
                """Add b.

                Revision ID: b2
                Revises: a1
                Create Date: 2024-03-02 10:00:00

                """
                revision = "b2"
                down_revision = "a1"
            ''',
            "0003_c.py": '''
                """Add c.

                Revision ID: c3
                Revises: a1
                Create Date: 2024-03-01 09:00:00

                """
                revision = 'c3'
                down_revision = 'a1'
            ''',
        }, path="0002_b.py", range=(8, 12, 8, 16), message="'c3'", fixed='''
            """Add b.

            Revision ID: b2
            Revises: c3
            Create Date: 2024-03-02 10:00:00

            """
            revision = "b2"
            down_revision = "c3"
        '''),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        from migls.revisions import head_moves, rebase_edits  # only for a fix

        head = file.revision_id
        move = next((m for m in head_moves(ctx.graph) if m.head == head), None)
        if move is None or move.revision != head:
            return None  # this branch stays, or moves at a revision in another file
        edits = rebase_edits(file, move.parents)
        if edits is None:
            return None
        return Fix(f"Rebase '{head}' onto the other head '{move.onto}'", False, edits)

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
