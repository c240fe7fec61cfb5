"""The "ignore this finding" edit: a ``# migls: ignore[MGxxx] -- reason`` comment placed where
:mod:`migls.suppress` will match it, so that the next lint no longer reports the finding.

The editor's "Ignore MGxxx on this line" code action and any CLI helper share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from migls.fixes import Edit, Fix, apply_fixes, statement_lines
from migls.model import RevisionFile, read_revision
from migls.rule import Diagnostic
from migls.span import Span
from migls.suppress import Suppression, find_suppressions

#: The reason written into a new suppression: a visible placeholder for the author to replace
#: (``require-reason = true`` accepts it, a reviewer will not).
REASON_PLACEHOLDER = "TODO: why this is safe"

#: Codes a line comment cannot suppress: MG004 judges the suppression comments themselves.
UNSUPPRESSIBLE = frozenset({"MG004"})


def ignore_fix(file: RevisionFile, diagnostic: Diagnostic,
               reason: str = REASON_PLACEHOLDER) -> Fix | None:
    """The edit that suppresses ``diagnostic`` in ``file``, or ``None`` when no comment can.

    - A ``# migls: ignore[...]`` that already covers the line gets the code added to it.
    - A finding inside a multi-line statement gets a comment on a line of its own above the
      statement (a comment there covers the whole statement).
    - Otherwise the comment goes at the end of the reported line (after any other comment,
      e.g. ``# type: ignore  # migls: ignore[MG401] -- ...``).
    """
    if diagnostic.code in UNSUPPRESSIBLE or file.source is None:
        return None
    code = diagnostic.code
    line = diagnostic.span.line
    text = file.source.text
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    title = f"Ignore {code} on this line"
    covering = _covering_suppression(text, file.statements, line)
    if covering is not None:
        if not covering.selectors:
            return None  # "# migls: ignore" already covers everything on this line
        return Fix(title, False, (_extended(covering, code, reason),))
    comment = f"# migls: ignore[{code}] -- {reason}"
    statement = statement_lines(file, line)
    if statement is not None and statement[0] != statement[1]:
        first = statement[0]
        head = lines[first - 1]
        indent = head[:len(head) - len(head.lstrip())]
        return Fix(title, False, (Edit(Span(first, 0, first, 0), f"{indent}{comment}\n"),))
    current = lines[line - 1]
    end = len(current.rstrip())
    if end == 0:
        return None  # a blank line: nothing to attach a comment to
    return Fix(title, False, (Edit(Span(line, end, line, len(current)), f"  {comment}"),))


def _covering_suppression(text: str, statements: list[tuple[int, int]],
                          line: int) -> Suppression | None:
    """The line (not file-level) suppression whose reach includes ``line``."""
    for suppression in find_suppressions(text, statements):
        if not suppression.file_level and line in suppression.lines:
            return suppression
    return None


def _extended(suppression: Suppression, code: str, reason: str) -> Edit:
    """Rewrite an existing suppression with ``code`` added to its selectors."""
    selectors = list(suppression.selectors)
    if code not in selectors:
        selectors.append(code)
    kept_reason = suppression.reason or reason
    text = f"# migls: ignore[{', '.join(selectors)}] -- {kept_reason}"
    return Edit(suppression.span, text)


def add_ignores(files: Sequence[RevisionFile],
                lint: Callable[[list[RevisionFile]], Iterable[Diagnostic]],
                reason: str = REASON_PLACEHOLDER, rounds: int = 8) -> tuple[dict[str, str], int]:
    """Suppress every finding ``lint`` reports in ``files`` (``migls lint --add-ignore``).

    Works in rounds like ``--fix``: findings on one line share one comment, so the second
    code extends the comment the first one wrote. Returns the changed texts by path and how
    many codes were added.
    """
    current = {file.path: file for file in files}
    texts: dict[str, str] = {}
    added = 0
    for _ in range(rounds):
        by_path: dict[str, list[Diagnostic]] = {}
        for diagnostic in lint(list(current.values())):
            by_path.setdefault(diagnostic.path, []).append(diagnostic)
        progressed = False
        for path, diagnostics in by_path.items():
            file = current.get(path)
            if file is None or file.source is None:
                continue
            fixes = [fix for fix in (ignore_fix(file, d, reason) for d in diagnostics) if fix]
            text, applied = apply_fixes(file.source.text, fixes)
            if applied:
                texts[path] = text
                current[path] = read_revision(path, replace(file.source, text=text))
                added += applied
                progressed = True
        if not progressed:
            break
    return texts, added
