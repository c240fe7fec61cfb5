"""The engine: one parse per file, every rule in one pass, suppressions applied once.

The CLI and the language server both call :func:`lint_environment`; neither has lint logic
of its own.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

from migls.config import Settings
from migls.fixes import Edit, Fix, apply_fixes, remove_comment
from migls.graph import Graph, build_graph
from migls.model import RevisionFile, read_revision
from migls.registry import matches, rule_by_selector, select_rules
from migls.rule import Context, Diagnostic, Finding, LintRule, Severity
from migls.source import UndecodableSource, decode
from migls.span import Span
from migls.suppress import Suppression, find_suppressions

UNUSED_SUPPRESSION = "MG004"


def read_file(path: str, data: bytes) -> RevisionFile:
    """Decode and parse one file; undecodable bytes become a syntax error at their place."""
    try:
        source = decode(data)
    except UndecodableSource as exc:
        return RevisionFile(path=path, syntax_error=(
            f"cannot read the file: {exc.reason}", Span.point(exc.line, exc.column)))
    return read_revision(path, source)


def _read_path(path: Path) -> RevisionFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return RevisionFile(path=str(path), syntax_error=(
            f"cannot read the file: {exc.strerror}", Span.point(1)))
    return read_file(str(path), data)


def _read_paths_stripped(paths: list[Path]) -> list[RevisionFile]:
    return [_read_path(path).without_syntax_tree() for path in paths]


#: Below this many files a process pool costs more than it saves.
PARALLEL_THRESHOLD = 64


def read_paths(paths: list[Path], jobs: int | None = None) -> list[RevisionFile]:
    """Read and parse many files, on every core when there are enough of them.

    Files parsed in worker processes come back without their syntax tree (LibCST trees are
    slow to pickle); linting does not need it.
    """
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(paths) < PARALLEL_THRESHOLD:
        return [_read_path(path) for path in paths]
    chunk = max(16, len(paths) // (jobs * 4))
    chunks = [paths[i:i + chunk] for i in range(0, len(paths), chunk)]
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            return [file for part in pool.map(_read_paths_stripped, chunks) for file in part]
    except (BrokenProcessPool, OSError):
        # A worker died (out of memory, a crash in a native parser): read in this process.
        return [_read_path(path) for path in paths]


@dataclass
class LintResult:
    """The diagnostics of one environment, and what they were computed from."""

    diagnostics: list[Diagnostic]
    files: list[RevisionFile]
    graph: Graph
    rules: list[type[LintRule]] = field(default_factory=list)


def lint_files(files: list[RevisionFile], settings: Settings, *,
               report: Callable[[RevisionFile], bool] = lambda file: True,
               select: list[str] | None = None, ignore: Iterable[str] = (),
               rules: list[type[LintRule]] | None = None,
               lock_timeout_in_env: bool = False) -> LintResult:
    """Lint the parsed files of one environment (sorted by path).

    ``report`` says which files diagnostics are wanted for; the graph is always built from
    every file.
    """
    if rules is None:
        rules = select_rules(settings, select, list(ignore))
    graph = build_graph(files)
    ctx = Context(files, graph, settings, lock_timeout_in_env)
    instances = [rule() for rule in rules if rule.CODE != UNUSED_SUPPRESSION]
    wanted = [file for file in files if report(file)]
    raw: dict[str, list[tuple[type[LintRule], Span, str, Severity | None]]] = {
        file.path: [] for file in wanted}
    for rule in instances:
        for file in wanted:
            for finding in rule.check_file(ctx, file):
                raw[finding[0].path].append((type(rule), finding[1], finding[2], _severity_of(finding)))
        for finding in rule.check_graph(ctx):
            if finding[0].path in raw:
                raw[finding[0].path].append((type(rule), finding[1], finding[2], _severity_of(finding)))
    enabled_codes = {rule.CODE for rule in rules}
    by_code = {type(rule).CODE: rule for rule in instances}
    diagnostics: list[Diagnostic] = []
    for file in wanted:
        for diagnostic in _finish_file(file, raw[file.path], settings, enabled_codes):
            fixer = by_code.get(diagnostic.code)
            fix = fixer.fix(ctx, file, diagnostic.span, diagnostic.message) if fixer else None
            diagnostics.append(replace(diagnostic, fix=fix) if fix is not None else diagnostic)
    diagnostics.sort(key=Diagnostic.sort_key)
    return LintResult(diagnostics, files, graph, rules)


def _severity_of(finding: Finding) -> Severity | None:
    """A rule may give one finding its own default severity (MG311: error or info)."""
    return finding[3] if len(finding) > 3 else None


def _finish_file(file: RevisionFile, found: list[tuple[type[LintRule], Span, str, Severity | None]],
                 settings: Settings, enabled: set[str]) -> list[Diagnostic]:
    """Apply suppressions, per-file ignores and severities; add unused-suppression findings."""
    suppressions = (find_suppressions(file.source.text, file.statements)
                    if file.source is not None else [])
    ignored_here = _per_file_ignores(file.path, settings)
    out: list[Diagnostic] = []
    for rule, span, message, severity in found:
        if any(matches([selector], rule.CODE) for selector in ignored_here):
            continue
        if _suppressed(rule, span, suppressions):
            continue
        out.append(_diagnostic(rule, file.path, span, message, settings, default=severity))
    if UNUSED_SUPPRESSION in enabled:
        out.extend(_suppression_findings(file, suppressions, settings, enabled))
    return out


def _diagnostic(rule: type[LintRule], path: str, span: Span, message: str,
                settings: Settings, unnecessary: bool = False,
                default: Severity | None = None) -> Diagnostic:
    severity = settings.severity.get(rule.CODE, settings.severity.get(
        rule.NAME, default or rule.SEVERITY))
    return Diagnostic(rule.CODE, rule.NAME, severity, message, path, span, unnecessary)


def _suppressed(rule: type[LintRule], span: Span, suppressions: list[Suppression]) -> bool:
    for suppression in suppressions:
        if not suppression.file_level and span.line not in suppression.lines:
            continue
        if not suppression.selectors:
            suppression.used.add(rule.CODE)
            return True
        for selector in suppression.selectors:
            if matches([selector], rule.CODE):
                suppression.used.add(selector)
                return True
    return False


def _suppression_findings(file: RevisionFile, suppressions: list[Suppression],
                          settings: Settings, enabled: set[str]) -> list[Diagnostic]:
    rule = rule_by_selector(UNUSED_SUPPRESSION)
    assert rule is not None
    out: list[Diagnostic] = []
    for suppression in suppressions:
        selectors = suppression.selectors
        unknown = [s for s in selectors if not any(matches([s], code) for code in _all_codes())]
        if unknown:
            out.append(_diagnostic(rule, file.path, suppression.span,
                                   f"suppression names unknown rule(s): {', '.join(unknown)}",
                                   settings, unnecessary=True))
            continue
        if selectors:
            # Only judge selectors whose rules all ran: a disabled rule cannot prove it unused.
            unused = [s for s in selectors if s not in suppression.used
                      and all(code in enabled for code in _all_codes() if matches([s], code))]
        else:
            unused = [] if suppression.used else ["everything"]
        if unused:
            what = ", ".join(unused)
            diagnostic = _diagnostic(rule, file.path, suppression.span,
                                     f"unused suppression: nothing to ignore for {what} here",
                                     settings, unnecessary=True)
            out.append(replace(diagnostic, fix=_unused_suppression_fix(file, suppression, unused)))
        elif settings.require_reason and not suppression.reason:
            out.append(_diagnostic(rule, file.path, suppression.span,
                                   "suppression without a reason (require-reason = true): "
                                   "add one after ' -- '", settings))
    return out


def _unused_suppression_fix(file: RevisionFile, suppression: Suppression,
                             unused: list[str]) -> Fix | None:
    """Remove the comment, or only the selectors that suppress nothing."""
    kept = [s for s in suppression.selectors if s not in unused]
    if not kept:
        edit = remove_comment(file, suppression.span)
        return Fix("Remove the unused suppression", True, (edit,)) if edit else None
    kind = "file-ignore" if suppression.file_level else "ignore"
    reason = f" -- {suppression.reason}" if suppression.reason else ""
    text = f"# migls: {kind}[{', '.join(kept)}]{reason}"
    return Fix(f"Remove {', '.join(unused)} from the suppression", True,
               (Edit(suppression.span, text),))


def _all_codes() -> list[str]:
    from migls.registry import all_rules
    return [rule.CODE for rule in all_rules()]


def _per_file_ignores(path: str, settings: Settings) -> list[str]:
    if not settings.per_file_ignores:
        return []
    absolute = Path(path).resolve()
    relative = absolute.as_posix()
    if settings.root is not None:
        try:
            relative = absolute.relative_to(settings.root.resolve()).as_posix()
        except ValueError:
            pass
    out: list[str] = []
    for pattern, selectors in settings.per_file_ignores.items():
        if (fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(absolute.name, pattern)
                or fnmatch.fnmatch(relative, pattern.rstrip("/") + "/*")):
            out.extend(selectors)
    return out


def lint_sources(sources: Mapping[str, str], settings: Settings | None = None,
                 select: list[str] | None = None) -> LintResult:
    """Lint in-memory files as one bare versions directory (rule examples, tests)."""
    files = [read_file(path, text.encode("utf-8")) for path, text in sorted(sources.items())]
    return lint_files(files, settings or Settings(), select=select)


def failing(diagnostics: Iterable[Diagnostic], threshold: Severity) -> bool:
    """Whether anything is at or above the failing severity."""
    return any(d.severity >= threshold for d in diagnostics)


@dataclass
class FixResult:
    """What ``--fix`` did to one environment: the new texts and the final lint."""

    texts: dict[str, str]
    applied: int
    result: LintResult


def fix_files(files: list[RevisionFile], settings: Settings, *, rules: list[type[LintRule]],
              report: Callable[[RevisionFile], bool], unsafe: bool = False,
              lock_timeout_in_env: bool = False, rounds: int = 5) -> FixResult:
    """Apply every eligible fix of the reported files, re-linting between rounds (a fix may
    make room for another), until nothing changes. Nothing is written here."""
    current = list(files)
    texts: dict[str, str] = {}
    applied = 0
    result = lint_files(current, settings, report=report, rules=rules,
                        lock_timeout_in_env=lock_timeout_in_env)
    for _ in range(rounds):
        by_path: dict[str, list[Fix]] = {}
        for diagnostic in result.diagnostics:
            if diagnostic.fix is not None and (diagnostic.fix.safe or unsafe):
                by_path.setdefault(diagnostic.path, []).append(diagnostic.fix)
        changed = False
        for index, file in enumerate(current):
            fixes = by_path.get(file.path)
            if not fixes or file.source is None:
                continue
            new_text, count = apply_fixes(file.source.text, fixes)
            if new_text == file.source.text:
                continue
            applied += count
            texts[file.path] = new_text
            current[index] = read_revision(file.path, replace(file.source, text=new_text))
            changed = True
        if not changed:
            break
        result = lint_files(current, settings, report=report, rules=rules,
                            lock_timeout_in_env=lock_timeout_in_env)
    return FixResult(texts, applied, result)
