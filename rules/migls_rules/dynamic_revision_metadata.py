"""MG003 dynamic-revision-metadata."""

from __future__ import annotations

from collections.abc import Iterator

from migls.model import METADATA_NAMES, RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span


class DynamicRevisionMetadata(LintRule):
    """``revision``, ``down_revision``, ``branch_labels`` or ``depends_on`` is not a literal.

    **Why**: a value computed at import time (a function call, a variable, a condition)
    cannot be read without running the file, so no static tool — migls, code review, a merge
    tool — can tell where the revision sits in the graph. migls skips the graph checks that
    depend on it rather than guess.

    **Fix**: write the value as a string, a tuple of strings or ``None``.
    """

    CODE = "MG003"
    NAME = "dynamic-revision-metadata"
    SEVERITY = Severity.WARNING
    SUMMARY = "revision metadata that is not a literal"
    VALID = [Valid('''
        revision: str = "b2"
        down_revision: str | None = "a1"
        branch_labels = ("expand",)
        depends_on = None
    ''')]
    INVALID = [Invalid('''
        import os
        revision = "b2"
        down_revision = os.environ["PARENT"]
    ''', range=(3, 17, 3, 37))]

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        if file.syntax_error is not None:
            return  # MG001 is the cause; recovered values are guesses
        for name in METADATA_NAMES:
            value = file.metadata.get(name)
            if value is not None and not value.is_static:
                yield (file, value.span, f"`{name}` is not a literal: it cannot be read without "
                       "running the file")
