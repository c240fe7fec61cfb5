"""MG109 suspicious-branch-label."""

from __future__ import annotations

from collections.abc import Iterator

from migls.fixes import Edit, Fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class SuspiciousBranchLabel(LintRule):
    """A branch label that is the string ``"None"``, empty, equal to a revision id, or not
    a valid identifier.

    **Why**: ``branch_labels = "None"`` (a string, not ``None``) creates a branch called
    "None" — usually a template rendered with ``str()`` instead of ``repr()``; Apache Airflow
    ships one. A label equal to a revision id makes Alembic refuse the history, and a label
    with ``-`` or ``@`` cannot be used in ``label@head``.

    **Fix**: ``branch_labels = None`` when no branch was meant; otherwise an identifier such
    as ``expand``.
    """

    CODE = "MG109"
    NAME = "suspicious-branch-label"
    SEVERITY = Severity.WARNING
    SUMMARY = "a branch label that is \"None\", empty, a revision id or not an identifier"
    VALID = [Valid('revision = "a1"\ndown_revision = None\nbranch_labels = ("expand",)\n')]
    INVALID = [
        Invalid('revision = "a1"\ndown_revision = None\nbranch_labels = "None"\n',
                range=(3, 17, 3, 23),
                fixed='''
                    revision = "a1"
                    down_revision = None
                    branch_labels = None
                ''', message="the string \"None\""),
        Invalid('revision = "a1"\ndown_revision = None\nbranch_labels = ("expand-1",)\n',
                range=(3, 18, 3, 28)),
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\nbranch_labels = ("a1",)\n',
        }, path="0002_b.py", range=(3, 18, 3, 22), message="revision id"),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        value = file.metadata.get("branch_labels")
        if value is None or value.items != ("None",) or "string \"None\"" not in message:
            return None
        # Unsafe: revisions that name the "None" branch (None@head) stop resolving.
        return Fix("Replace the label \"None\" with None", False, (Edit(value.span, "None"),))

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        labels = file.branch_labels()
        if not labels:
            return
        value = file.metadata["branch_labels"]
        for label in labels:
            span = value.span_of(label)
            if label == "None":
                yield (file, span, "branch label is the string \"None\", which creates a branch "
                       "named None; use branch_labels = None for no label")
            elif not label.strip():
                yield file, span, "branch label is empty"
            elif label in ctx.graph.nodes:
                yield (file, span, f"branch label '{label}' is also a revision id: Alembic "
                       "cannot tell them apart and refuses the history")
            elif not label.isidentifier():
                yield (file, span, f"branch label '{label}' is not an identifier; it cannot be "
                       "used as '{label}@head'")
