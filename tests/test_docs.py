"""The generated documentation is up to date (``python -m migls.docs .`` rewrites it) and
agrees with the rule catalogue ``RULES.md`` (in ``shared/`` beside the repository, or
``$MIGLS_RULES_MD``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from migls.config import KEYS
from migls.docs import TABLE_END, TABLE_START, readme_with_table, rule_page, rules_table
from migls.registry import all_rules

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = ROOT / "rules" / "docs"
REGENERATE = "out of date: run `python -m migls.docs .`"


CATALOGUE = ROOT / "tests" / "snapshots" / "rules-catalogue.txt"
RULES_MD = Path(os.environ.get("MIGLS_RULES_MD", ROOT.parent / "shared" / "RULES.md"))


def catalogue() -> dict[str, tuple[str, str]]:
    """code -> (name, severity column) of every rule in the catalogue kept in the repository
    (a copy of RULES.md's tables, so the check runs wherever the repository is cloned)."""
    rows = [line.split(" | ") for line in CATALOGUE.read_text("utf-8").splitlines()
            if line and not line.startswith("#")]
    assert len(rows) > 30, "the catalogue has no rules"
    return {code: (name, severity) for code, name, severity in rows}


def test_catalogue_copy_is_current_where_rules_md_is_available() -> None:
    if not RULES_MD.is_file():  # a clone without shared/: the copy is the contract
        assert catalogue()
        return
    rows = re.findall(r"^\| (MG\d{3}) \| ([a-z0-9-]+) \| ([^|]+) \|",
                      RULES_MD.read_text("utf-8"), re.MULTILINE)
    assert {code: (name, severity.strip()) for code, name, severity in rows} == catalogue()


def test_readme_rule_table_is_current() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme.count(TABLE_START) == 1 and readme.count(TABLE_END) == 1
    table = readme.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip("\n")
    assert table == rules_table(), REGENERATE
    assert readme_with_table(readme) == readme, REGENERATE


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.CODE)
def test_rule_page_is_current(rule: type) -> None:
    page = PAGES / f"{rule.CODE}.md"
    assert page.is_file(), f"{page} is missing: run `python -m migls.docs .`"
    assert page.read_text(encoding="utf-8") == rule_page(rule), REGENERATE


def test_no_stale_rule_pages() -> None:
    codes = {rule.CODE for rule in all_rules()}
    assert {page.stem for page in PAGES.glob("*.md")} == codes


def test_every_rule_is_in_the_table_with_a_link() -> None:
    table = rules_table()
    for rule in all_rules():
        assert f"| [{rule.CODE}](rules/docs/{rule.CODE}.md) | `{rule.NAME}` |" in table


def test_implemented_rules_match_the_catalogue() -> None:
    """Codes, names and default severities are the contract of RULES.md."""
    rules_md = catalogue()
    readme = README.read_text(encoding="utf-8")
    for rule in all_rules():
        assert rule.CODE in rules_md, f"{rule.CODE} is not in RULES.md"
        name, severity = rules_md[rule.CODE]
        assert rule.NAME == name, (rule.CODE, rule.NAME, name)
        if severity in ("error", "warning", "info"):
            assert rule.SEVERITY.label == severity, (rule.CODE, rule.SEVERITY.label, severity)
        if "off by default" in severity:
            assert not rule.DEFAULT_ENABLED, rule.CODE
        assert f"[{rule.CODE}](rules/docs/{rule.CODE}.md)" in readme
        assert (PAGES / f"{rule.CODE}.md").is_file()


def test_readme_documents_every_configuration_key() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE))
    assert documented == set(KEYS)


def test_readme_quick_start_matches_ci() -> None:
    """.ci/run runs exactly the README's test command."""
    readme = README.read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.+?)\n```", quick)
    assert commands == ["pip install -e . && migls lint examples/blog",
                        "python -m pip install -e '.[test]' && python -m pytest"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci.splitlines()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_pre_commit_hook() -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^\s*-?\s*([a-z_]+):\s*(.+)$", text, re.MULTILINE))
    assert fields["id"] == "migls"
    assert fields["entry"] == "migls lint"
    assert fields["language"] == "python"
    assert fields["types"] == "[python]"
    assert fields["pass_filenames"] == "true"
    assert fields["require_serial"] == "true"
    assert "id: migls" in README.read_text(encoding="utf-8")
