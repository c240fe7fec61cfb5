"""Output formats of ``migls lint``: text, json, sarif, github, junit."""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from migls import __version__
from migls.rule import Diagnostic, LintRule, Severity

FORMATS = ("text", "json", "sarif", "github", "junit")
_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD, _RESET = "\033[1m", "\033[0m"
#: What must not reach a terminal or an XML file raw: control characters (a revision id
#: such as "\x1b[2J" would drive the terminal; most of them are illegal in XML 1.0) and lone
#: surrogates (from a "\ud800" literal or an undecodable file name: they cannot be encoded).
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _printable(text: str) -> str:
    """``text`` with unprintable characters written as Python escapes (``\\x1b``)."""
    def escape_char(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    return _UNPRINTABLE.sub(escape_char, text).replace("\r", "\\r").replace("\n", "\\n")


def display_path(path: str) -> str:
    """``path`` relative to the current directory, ``/``-separated."""
    head, name = os.path.split(path)
    cwd = os.getcwd()
    directory = _relative(head or os.curdir, cwd)
    if not name or set(directory.split("/")) == {".."}:  # "../main" may be "."
        return _relative(path, cwd)
    return name if directory == "." else f"{directory}/{name}"


@functools.lru_cache(maxsize=1024)
def _relative(path: str, cwd: str) -> str:
    # Cached (per directory, in display_path): relpath normalises both paths on every call.
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        relative = path
    return Path(relative).as_posix()


def _path(d: Diagnostic) -> str:
    return _printable(display_path(d.path))


def _uri(path: str) -> str:
    """A relative URI reference for SARIF: the path's bytes percent-encoded."""
    from urllib.parse import quote

    text = display_path(path)
    try:
        data = text.encode("utf-8", "surrogateescape")  # undecodable file names: their bytes
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return quote(data, safe="/")


def render(diagnostics: Sequence[Diagnostic], fmt: str, *, color: bool = False,
           statistics: bool = False, files_checked: int = 0) -> str:
    """The whole report in one format."""
    if fmt == "json":
        return json.dumps([_json(d) for d in diagnostics], indent=2, ensure_ascii=False) + "\n"
    if fmt == "sarif":
        return json.dumps(sarif(diagnostics), indent=2, ensure_ascii=False) + "\n"
    if fmt == "github":
        return "".join(_github(d) + "\n" for d in diagnostics)
    if fmt == "junit":
        return junit(diagnostics)
    return text(diagnostics, color=color, statistics=statistics, files_checked=files_checked)


def _json(d: Diagnostic) -> dict[str, object]:
    return {
        "code": d.code,
        "name": d.name,
        "severity": d.severity.label,
        "message": _printable(d.message),
        "path": _path(d),
        "line": d.span.line,
        "column": d.span.column + 1,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column + 1,
        "url": d.url,
        "fix": None if d.fix is None else {
            "title": d.fix.title,
            "safety": d.fix.safety,
            "edits": [{"line": e.span.line, "column": e.span.column + 1,
                       "end_line": e.span.end_line, "end_column": e.span.end_column + 1,
                       "content": e.content} for e in d.fix.edits],
        },
    }


def text(diagnostics: Sequence[Diagnostic], *, color: bool, statistics: bool,
         files_checked: int) -> str:
    """``path:line:column: CODE name  message`` lines and a summary (ruff's shape)."""
    lines: list[str] = []
    if statistics:
        counts = Counter((d.code, d.name) for d in diagnostics)
        for (code, name), count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"{count:>5}  {code}  {name}")
    else:
        for d in diagnostics:
            where = f"{_path(d)}:{d.span.line}:{d.span.column + 1}:"
            code = f"{d.code} {d.name}"
            if color:
                where = f"{_BOLD}{where}{_RESET}"
                code = f"{_COLORS[d.severity]}{code}{_RESET}"
            lines.append(f"{where} {code}  {_printable(d.message)}")
    by_severity = Counter(d.severity for d in diagnostics)
    if diagnostics:
        parts = [f"{by_severity[s]} {s.label}{'s' if by_severity[s] != 1 else ''}"
                 for s in (Severity.ERROR, Severity.WARNING, Severity.INFO) if by_severity[s]]
        noun = "problem" if len(diagnostics) == 1 else "problems"
        lines.append(f"Found {len(diagnostics)} {noun} ({', '.join(parts)}) "
                     f"in {files_checked} revision file{'s' if files_checked != 1 else ''}.")
    else:
        lines.append(f"All checks passed ({files_checked} revision file"
                     f"{'s' if files_checked != 1 else ''}).")
    return "\n".join(lines) + "\n"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command (``::error file=...::message``)."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}[d.severity]
    props = {
        "file": _path(d),
        "line": str(d.span.line),
        "col": str(d.span.column + 1),
        "endLine": str(d.span.end_line),
        "endColumn": str(d.span.end_column + 1),
        "title": f"{d.code} {d.name}",
    }
    joined = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
    return f"::{level} {joined}::{_escape_data(_printable(d.message))}"


def _description(rule: type[LintRule]) -> str:
    """The first paragraph of the rule's docstring, on one line, in Markdown quoting."""
    import inspect

    first = inspect.cleandoc(rule.__doc__ or rule.SUMMARY).split("\n\n")[0]
    return " ".join(first.split()).replace("``", "`")


def sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, object]:
    """A SARIF 2.1.0 log that GitHub code scanning accepts."""
    from migls.docs import rule_page  # the formats below load only when asked for
    from migls.registry import all_rules

    rules = list(all_rules())
    index = {rule.CODE: i for i, rule in enumerate(rules)}
    level = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "migls",
                "version": __version__,
                "informationUri": "https://github.com/migls/migls",
                "rules": [{
                    "id": rule.CODE,
                    "name": rule.NAME,
                    "shortDescription": {"text": rule.SUMMARY},
                    "fullDescription": {"text": _description(rule)},
                    "helpUri": rule.url(),
                    "help": {"text": _description(rule), "markdown": rule_page(rule)},
                    "defaultConfiguration": {"level": level[rule.SEVERITY]},
                } for rule in rules],
            }},
            # Columns count code points (LibCST's positions), not SARIF's default UTF-16 units.
            "columnKind": "unicodeCodePoints",
            "results": [{
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": level[d.severity],
                "message": {"text": _printable(d.message)},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": _uri(d.path)},
                    "region": {
                        "startLine": d.span.line,
                        "startColumn": d.span.column + 1,
                        "endLine": d.span.end_line,
                        "endColumn": d.span.end_column + 1,
                    },
                }}],
            } for d in diagnostics],
        }],
    }


def junit(diagnostics: Sequence[Diagnostic]) -> str:
    """A JUnit XML report: one test case per file with findings, one failure per finding."""
    from xml.sax.saxutils import escape, quoteattr

    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(_path(d), []).append(d)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites name="migls" tests="{len(by_file)}" failures="{len(diagnostics)}">',
           f'  <testsuite name="migls" tests="{len(by_file)}" failures="{len(diagnostics)}">']
    for path, found in by_file.items():
        out.append(f"    <testcase name={quoteattr(path)} classname=\"migls\">")
        for d in found:
            message = f"{d.code} {d.name}: {_printable(d.message)}"
            out.append(f"      <failure message={quoteattr(message)} type={quoteattr(d.code)}>"
                       f"{escape(f'{path}:{d.span.line}:{d.span.column + 1}: {message}')}</failure>")
        out.append("    </testcase>")
    out += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(out)
