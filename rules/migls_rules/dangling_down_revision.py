"""MG101 dangling-down-revision."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from migls.fixes import Edit, Fix
from migls.model import RevisionFile
from migls.rule import Context, Invalid, LintRule, Severity, Valid
from migls.span import Span

_SUGGESTION = re.compile(r"; did you mean '([^']+)'\?$")


class DanglingDownRevision(LintRule):
    """``down_revision`` (or one parent of a merge) names a revision that does not exist.

    **Why**: Alembic warns "Revision zz referenced from ... is not present" and then fails
    with a bare ``KeyError`` on every command. It usually comes from a typo, a deleted or
    renamed file, or a revision that exists only on another branch.

    **Fix**: point ``down_revision`` at the revision it was created on; migls suggests the
    closest existing id.
    """

    CODE = "MG101"
    NAME = "dangling-down-revision"
    SEVERITY = Severity.ERROR
    SUMMARY = "`down_revision` names a revision that does not exist"
    VALID = [Valid({
        "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
        "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
    })]
    INVALID = [
        Invalid({
            "0001_a.py": 'revision = "a1c3"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1c4"\n',
        }, path="0002_b.py", range=(2, 17, 2, 23), message="did you mean 'a1c3'",
            fixed='''
                revision = "b2"
                down_revision = "a1c3"
            '''),
        Invalid({
            "0001_a.py": 'revision = "a1"\ndown_revision = None\n',
            "0002_b.py": 'revision = "b2"\ndown_revision = "a1"\n',
            "0003_m.py": 'revision = "m3"\ndown_revision = ("b2", "zz9")\n',
        }, path="0003_m.py", range=(2, 24, 2, 29)),
    ]

    FIX_SAFETY = "unsafe"

    def fix(self, ctx: Context, file: RevisionFile, span: Span, message: str) -> Fix | None:
        # Unsafe: the suggestion is only the closest id; the revision may follow another one.
        found = _SUGGESTION.search(message)
        if found is None or file.source is None or found.group(1) not in ctx.graph.nodes:
            return None
        line = file.source.text.split("\n")[span.line - 1]
        quote = line[span.column:span.column + 1]
        if quote not in ("'", '"'):
            return None
        return Fix(f"Replace with the closest existing revision '{found.group(1)}'", False,
                   (Edit(span, f"{quote}{found.group(1)}{quote}"),))

    def check_file(self, ctx: Context, file: RevisionFile) -> Iterator[tuple[RevisionFile, Span, str]]:
        graph = ctx.graph
        if any(f.revision_id is None for f in graph.unreadable):
            return  # the missing parent may be the file whose id cannot be read
        for source, parent in graph.dangling:
            if source is not file:
                continue
            owners = graph.label_owners.get(parent)
            if owners:  # Alembic resolves it in some places only: KeyError, or a false cycle
                message = (f"down_revision names '{parent}', which is a branch label (declared by "
                           f"revision '{owners[0]}'), not a revision id")
                yield file, file.metadata["down_revision"].span_of(parent), message
                continue
            message = f"down_revision names '{parent}', which is not a revision of this environment"
            close = difflib.get_close_matches(parent, list(graph.nodes), n=1, cutoff=0.6)
            if close:
                message += f"; did you mean '{close[0]}'?"
            yield file, file.metadata["down_revision"].span_of(parent), message
