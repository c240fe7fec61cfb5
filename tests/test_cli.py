"""The command line, run as a user runs it (``python -m migls`` in a subprocess): options,
exit codes, discovery of environments, what explicit paths and ``--since`` report, and
snapshots of every output format on ``examples/blog``.

``UPDATE_SNAPSHOTS=1 python -m pytest tests/test_cli.py`` rewrites ``tests/snapshots/``.
"""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from migls import __version__
from migls.cli import main
from migls.docs import rule_page
from migls.registry import all_rules, rule_by_selector

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "blog"
VERSIONS = EXAMPLE / "migrations" / "versions"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

#: The findings of examples/blog (examples/blog/README.md explains them).
EXAMPLE_FINDINGS = [
    ("3a9d8c6e2f14_add_users_display_name.py", 26, "MG202"),
    ("6e8b3d5f2a97_create_comments_table.py", 4, "MG108"),
    ("6e8b3d5f2a97_create_comments_table.py", 15, "MG103"),
    ("7f4a6c2e9b18_create_tags_tables.py", 15, "MG103"),
]


def migls(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None,
          ) -> subprocess.CompletedProcess[str]:
    """``python -m migls ARGS`` as a user runs it; never a traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "migls", *map(str, args)], cwd=cwd, capture_output=True,
        text=True, encoding="utf-8", errors="replace", timeout=120,
        env={**os.environ, **(env or {})})
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), (result.returncode, result.stderr)
    return result


def findings(result: subprocess.CompletedProcess[str]) -> list[tuple[str, int, str]]:
    """(file name, line, code) of each finding in JSON output."""
    return [(Path(d["path"]).name, d["line"], d["code"]) for d in json.loads(result.stdout)]


def codes(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [d["code"] for d in json.loads(result.stdout)]


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def rev(revision: str, parent: str | None, body: str = "") -> str:
    """A minimal revision file."""
    return (f'revision = "{revision}"\ndown_revision = {parent and repr(parent)}\n\n\n'
            f"def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n{body}")


INI = "[alembic]\nscript_location = migrations\n"


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with a single ``migls: error:`` line that mentions ``words``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("migls"), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


# -- version, help ---------------------------------------------------------------------------

def test_version() -> None:
    result = migls("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"migls {__version__}"


def test_help_lists_the_commands() -> None:
    result = migls("--help")
    assert result.returncode == 0
    for command in ("lint", "rules", "rule"):
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


@pytest.mark.parametrize("command", ["lint", "rules", "rule"])
def test_command_help(command: str) -> None:
    result = migls(command, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: migls {command}")


LINT_OPTIONS = ["--format", "--select", "--ignore", "--since", "--alembic-config",
                "--fail-on", "--fix", "--unsafe-fixes", "--diff", "--exit-zero", "--statistics",
                "--color", "--no-cache", "--add-ignore", "--reason"]


def test_lint_help_lists_every_option_and_the_readme_documents_them() -> None:
    shown = set(re.findall(r"^\s+(--[a-z-]+)", migls("lint", "--help").stdout, re.MULTILINE))
    shown.discard("--help")
    assert shown == set(LINT_OPTIONS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for option in shown:
        assert f"`{option}" in readme, f"README does not document {option}"


def test_no_command_prints_help_and_exits_2() -> None:
    result = migls()
    assert result.returncode == 2
    assert "usage: migls" in result.stdout


# -- exit codes --------------------------------------------------------------------------------

def test_clean_project_exits_0(tmp_path: Path) -> None:
    write(tmp_path, {"alembic.ini": INI,
                     "migrations/versions/0001_a.py": rev("a1", None),
                     "migrations/versions/0002_b.py": rev("b2", "a1")})
    result = migls("lint", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout == "All checks passed (2 revision files).\n"


def test_findings_exit_1() -> None:
    result = migls("lint", "examples/blog")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (
        "Found 4 problems (2 errors, 2 warnings) in 7 revision files.")


def test_usage_error_exits_2() -> None:
    result = migls("lint", "--no-such-option")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_exit_zero_still_reports() -> None:
    result = migls("lint", "examples/blog", "--exit-zero", "--format", "json")
    assert result.returncode == 0
    assert len(json.loads(result.stdout)) == len(EXAMPLE_FINDINGS)


def test_exit_zero_does_not_hide_usage_errors(tmp_path: Path) -> None:
    one_line_error(migls("lint", "--exit-zero", tmp_path / "missing"), "missing")


def test_fail_on(tmp_path: Path) -> None:
    write(tmp_path, {"alembic.ini": INI,
                     "migrations/versions/0001_a.py": rev("a1", None).replace(
                         "def downgrade():\n    pass\n", "")
                     .replace("    pass", "    op.create_table('x', sa.Column('id', sa.Integer()))")})
    assert codes(migls("lint", "--format", "json", cwd=tmp_path)) == ["MG201"]  # a warning
    assert migls("lint", cwd=tmp_path).returncode == 1
    assert migls("lint", "--fail-on", "error", cwd=tmp_path).returncode == 0
    assert migls("lint", "--fail-on", "info", cwd=tmp_path).returncode == 1
    # examples/blog has errors: it fails at every threshold
    assert migls("lint", "examples/blog", "--fail-on", "error").returncode == 1


# -- selection --------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "expected"), [
    (["--select", "MG103"], ["MG103", "MG103"]),
    (["--select", "multiple-heads"], ["MG103", "MG103"]),
    (["--select", "MG1"], ["MG108", "MG103", "MG103"]),
    (["--select", "MG2,docstring-mismatch"], ["MG202", "MG108"]),
    (["--ignore", "MG1"], ["MG202"]),
    (["--ignore", "empty-downgrade,MG103"], ["MG108"]),
    (["--ignore", "MG"], []),
    (["--select", "ALL", "--ignore", "MG2"], ["MG108", "MG103", "MG103"]),
    # the most specific selector wins; an ignore beats a select of equal specificity
    (["--select", "MG103", "--ignore", "MG1"], ["MG103", "MG103"]),
    (["--select", "MG1", "--ignore", "MG103"], ["MG108"]),
    (["--select", "MG1", "--ignore", "MG1"], []),
    (["--select", "MG10", "--ignore", "MG1"], ["MG108", "MG103", "MG103"]),
])
def test_select_and_ignore(options: list[str], expected: list[str]) -> None:
    result = migls("lint", "examples/blog", "--format", "json", *options)
    assert codes(result) == expected
    assert result.returncode == (1 if expected else 0)


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_unknown_selector_is_a_usage_error(option: str) -> None:
    one_line_error(migls("lint", "examples/blog", option, "MG1,no-such-rule"), "no-such-rule")


def test_statistics() -> None:
    result = migls("lint", "examples/blog", "--statistics")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "    2  MG103  multiple-heads",
        "    1  MG108  docstring-mismatch",
        "    1  MG202  empty-downgrade",
        "Found 4 problems (2 errors, 2 warnings) in 7 revision files.",
    ]


# -- rules, rule ------------------------------------------------------------------------------

def test_rules_lists_every_rule() -> None:
    result = migls("rules")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(all_rules())
    for line, rule in zip(lines, all_rules()):
        assert line.split()[:3] == [rule.CODE, rule.NAME, rule.SEVERITY.label], line
        assert line.rstrip().endswith(rule.SUMMARY)


@pytest.mark.parametrize("selector", ["MG101", "mg101", "dangling-down-revision"])
def test_rule_prints_its_page(selector: str) -> None:
    result = migls("rule", selector)
    assert result.returncode == 0
    rule = rule_by_selector("MG101")
    assert rule is not None
    assert result.stdout == rule_page(rule)
    assert result.stdout.startswith("# MG101 dangling-down-revision\n")


def test_unknown_rule() -> None:
    result = migls("rule", "MG999")
    one_line_error(result, "MG999")
    assert result.stdout == ""


# -- explicit files (pre-commit) ----------------------------------------------------------------

def test_an_explicit_file_limits_what_is_reported() -> None:
    result = migls("lint", "--format", "json", VERSIONS / "7f4a6c2e9b18_create_tags_tables.py")
    assert findings(result) == [("7f4a6c2e9b18_create_tags_tables.py", 15, "MG103")]
    # ... but the graph is the whole environment's: the other head is named
    assert "6e8b3d5f2a97" in json.loads(result.stdout)[0]["message"]
    assert result.returncode == 1
    text = migls("lint", VERSIONS / "7f4a6c2e9b18_create_tags_tables.py")
    assert text.stdout.splitlines()[-1] == "Found 1 problem (1 error) in 1 revision file."


def test_explicit_files_without_findings_pass() -> None:
    result = migls("lint", VERSIONS / "1f0c2a9b7d31_create_users_table.py",
                   VERSIONS / "2b7e4d1c9a05_create_posts_table.py")
    assert result.returncode == 0
    assert result.stdout == "All checks passed (2 revision files).\n"


def test_several_explicit_files() -> None:
    result = migls("lint", "--format", "json", VERSIONS / "3a9d8c6e2f14_add_users_display_name.py",
                   VERSIONS / "7f4a6c2e9b18_create_tags_tables.py")
    assert findings(result) == [EXAMPLE_FINDINGS[0], EXAMPLE_FINDINGS[3]]


def test_explicit_file_with_a_dangling_parent(tmp_path: Path) -> None:
    write(tmp_path, {"alembic.ini": INI,
                     "migrations/versions/0001_a.py": rev("a1", None),
                     "migrations/versions/0002_b.py": rev("b2", "a1"),
                     "migrations/versions/0003_c.py": rev("c3", "b2_typo")})
    versions = tmp_path / "migrations" / "versions"
    result = migls("lint", "--format", "json", versions / "0003_c.py", cwd=tmp_path)
    assert findings(result) == [("0003_c.py", 2, "MG101")]
    assert "'b2_typo'" in json.loads(result.stdout)[0]["message"]
    # a file that is fine is fine, even though its environment is not
    assert migls("lint", versions / "0002_b.py", cwd=tmp_path).returncode == 0


def test_python_files_outside_versions_are_ignored(tmp_path: Path) -> None:
    """pre-commit passes every changed Python file."""
    write(tmp_path, {"alembic.ini": INI,
                     "migrations/versions/0001_a.py": rev("a1", "zz"),
                     "app/models.py": "x = 1\n",
                     "migrations/env.py": "from alembic import context\n"})
    result = migls("lint", "app/models.py", "migrations/env.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout == "All checks passed (0 revision files).\n"


# -- --since ---------------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_since_reports_only_new_and_changed_revisions(tmp_path: Path) -> None:
    write(tmp_path, {"alembic.ini": INI,
                     "migrations/versions/0001_a.py": rev("a1", None),
                     "migrations/versions/0002_b.py": rev("b2", "a1"),
                     # an old fault, already on the main branch
                     "migrations/versions/0003_old.py": rev("c3", "gone")})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "initial")
    # the branch adds a revision on b2 (and so a second head) ...
    write(tmp_path, {"migrations/versions/0004_new.py": rev("d4", "a1")})

    everything = migls("lint", "--format", "json", cwd=tmp_path)
    assert sorted(findings(everything)) == [("0002_b.py", 1, "MG103"), ("0003_old.py", 2, "MG101"),
                                            ("0004_new.py", 1, "MG103")]
    result = migls("lint", "--format", "json", "--since", "HEAD", cwd=tmp_path)
    assert findings(result) == [("0004_new.py", 1, "MG103")]
    # ... committed or not
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "new revision")
    assert findings(migls("lint", "--format", "json", "--since", "HEAD~1", cwd=tmp_path)) == [
        ("0004_new.py", 1, "MG103")]
    assert findings(migls("lint", "--format", "json", "--since", "HEAD", cwd=tmp_path)) == []
    # a changed file counts as well
    old = tmp_path / "migrations/versions/0003_old.py"
    old.write_text(old.read_text() + "# touched\n")
    assert findings(migls("lint", "--format", "json", "--since", "HEAD", cwd=tmp_path)) == [
        ("0003_old.py", 2, "MG101")]


def test_since_with_a_bad_ref(tmp_path: Path) -> None:
    write(tmp_path, {"alembic.ini": INI, "migrations/versions/0001_a.py": rev("a1", None)})
    git(tmp_path, "init", "-q")
    one_line_error(migls("lint", "--since", "no-such-ref", cwd=tmp_path), "no-such-ref")


# -- discovery --------------------------------------------------------------------------------

def test_alembic_config_with_another_name(tmp_path: Path) -> None:
    write(tmp_path, {"deploy/other.ini": "[alembic]\nscript_location = %(here)s/../db\n",
                     "db/versions/0001_a.py": rev("a1", None),
                     "db/versions/0002_b.py": rev("b2", "zz")})
    # without it there is no environment here
    one_line_error(migls("lint", cwd=tmp_path), "no Alembic environment")
    result = migls("lint", "--format", "json", "--alembic-config", "deploy/other.ini", cwd=tmp_path)
    assert findings(result) == [("0002_b.py", 2, "MG101")]
    one_line_error(migls("lint", "--alembic-config", "deploy/missing.ini", cwd=tmp_path),
                   "missing.ini")


def test_alembic_config_in_pyproject_only(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": '[tool.alembic]\nscript_location = "%(here)s/alembic"\n',
                     "alembic/versions/0001_a.py": rev("a1", None),
                     "alembic/versions/0002_b.py": rev("b2", "a1"),
                     "alembic/versions/0003_c.py": rev("c3", "a1")})
    result = migls("lint", "--format", "json", cwd=tmp_path)
    assert findings(result) == [("0002_b.py", 1, "MG103"), ("0003_c.py", 1, "MG103")]


def test_a_bare_versions_directory(tmp_path: Path) -> None:
    write(tmp_path, {"versions/0001_a.py": rev("a1", None),
                     "versions/0002_b.py": rev("b2", "a0")})
    result = migls("lint", "--format", "json", "versions", cwd=tmp_path)
    assert findings(result) == [("0002_b.py", 2, "MG101")]


def test_two_environments_in_one_tree_are_linted_separately(tmp_path: Path) -> None:
    # the same ids in both: no duplicate across environments, no dangling parent
    write(tmp_path, {
        "billing/alembic.ini": INI,
        "billing/migrations/versions/0001_a.py": rev("a1", None),
        "billing/migrations/versions/0002_b.py": rev("b2", "a1"),
        "users/alembic.ini": INI,
        "users/migrations/versions/0001_a.py": rev("a1", None),
        "users/migrations/versions/0002_x.py": rev("x2", "a1"),
        "users/migrations/versions/0003_y.py": rev("y3", "a1"),
        # settings are per environment too
        "users/pyproject.toml": "[tool.migls]\nseverity = { MG103 = \"warning\" }\n",
    })
    result = migls("lint", "--format", "json", cwd=tmp_path)
    found = json.loads(result.stdout)
    assert [(d["path"], d["code"], d["severity"]) for d in found] == [
        ("users/migrations/versions/0002_x.py", "MG103", "warning"),
        ("users/migrations/versions/0003_y.py", "MG103", "warning"),
    ]
    assert migls("lint", "billing", cwd=tmp_path).returncode == 0
    assert migls("lint", "users", cwd=tmp_path).returncode == 1
    text = migls("lint", cwd=tmp_path).stdout
    assert text.splitlines()[-1] == "Found 2 problems (2 warnings) in 5 revision files."


def test_lint_from_inside_the_project(tmp_path: Path) -> None:
    """A directory inside an environment lints that environment."""
    write(tmp_path, {"alembic.ini": INI, "migrations/versions/0001_a.py": rev("a1", "zz")})
    result = migls("lint", "--format", "json", ".", cwd=tmp_path / "migrations" / "versions")
    assert json.loads(result.stdout)[0]["path"] == "0001_a.py"


def test_example_agrees_with_alembic() -> None:
    """Alembic itself (which runs the files) sees the two heads that MG103 reports."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no __pycache__ in examples/
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            script = ScriptDirectory.from_config(Config(str(EXAMPLE / "alembic.ini")))
            heads = set(script.get_heads())
            revisions = {r.revision for r in script.walk_revisions()}
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    assert heads == {"6e8b3d5f2a97", "7f4a6c2e9b18"}
    assert len(revisions) == 7
    reported = migls("lint", "examples/blog", "--select", "MG103", "--format", "json")
    assert {Path(d["path"]).name.split("_")[0] for d in json.loads(reported.stdout)} == heads


# -- output formats -----------------------------------------------------------------------------

def assert_snapshot(name: str, actual: str) -> None:
    """Compare with ``tests/snapshots/NAME``; ``UPDATE_SNAPSHOTS=1`` rewrites it."""
    path = SNAPSHOTS / name
    actual = actual.replace(f'"{__version__}"', '"{VERSION}"')  # SARIF's tool version
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert path.is_file(), f"{path} is missing: run with UPDATE_SNAPSHOTS=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed: review, then run with UPDATE_SNAPSHOTS=1"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_example_output_snapshot(fmt: str) -> None:
    result = migls("lint", "examples/blog", "--format", fmt)
    assert result.returncode == 1
    assert result.stderr == ""
    name = {"text": "blog.txt", "json": "blog.json", "sarif": "blog.sarif",
            "github": "blog.github.txt", "junit": "blog.junit.xml"}[fmt]
    output = result.stdout
    if fmt == "sarif":
        # The rule descriptions embed every rule's page, which changes with any rule's
        # documentation; tests/test_reporters.py checks them. The snapshot keeps their ids.
        log = json.loads(output)
        driver = log["runs"][0]["tool"]["driver"]
        driver["rules"] = [rule["id"] for rule in driver["rules"]]
        output = json.dumps(log, indent=2, ensure_ascii=False) + "\n"
    assert_snapshot(name, output)


def test_example_statistics_snapshot() -> None:
    assert_snapshot("blog.statistics.txt", migls("lint", "examples/blog", "--statistics").stdout)


def test_readme_shows_the_real_example_output() -> None:
    output = migls("lint", "examples/blog").stdout
    assert output in (ROOT / "README.md").read_text(encoding="utf-8")
    assert output in (EXAMPLE / "README.md").read_text(encoding="utf-8")


def test_colour_only_when_asked() -> None:
    plain = migls("lint", "examples/blog").stdout  # stdout is a pipe: no colour
    assert "\033[" not in plain
    assert migls("lint", "examples/blog", "--color", "never").stdout == plain
    coloured = migls("lint", "examples/blog", "--color", "always").stdout
    assert "\033[31mMG103 multiple-heads\033[0m" in coloured
    assert "\033[33mMG202 empty-downgrade\033[0m" in coloured
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == plain
    for fmt in ("json", "github"):  # machine formats are never coloured
        assert "\033[" not in migls("lint", "examples/blog", "--format", fmt,
                                    "--color", "always").stdout


def test_lint_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path) -> None:
    # The CLI turns the cyclic collector off while it lints; a program (or test run) that
    # calls main() keeps collecting afterwards.
    assert gc.isenabled()
    assert main(["lint", str(EXAMPLE), "--exit-zero"]) == 0
    assert gc.isenabled()
